import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { VeetConfig } from './config';
import { Network } from './network';
import { Redis } from './redis';
import { RoomApi } from './room-api';
import { Secrets } from './secrets';
import { Sfu } from './sfu';
import { Signaling } from './signaling';
import { Turn } from './turn';
import { Web } from './web';

export interface VeetStackProps extends StackProps {
  readonly config: VeetConfig;
}

/** The whole Veet deployment in one account and region. */
export class VeetStack extends Stack {
  readonly network: Network;
  readonly secrets: Secrets;
  readonly redis: Redis;
  readonly signaling: Signaling;
  readonly roomApi: RoomApi;
  readonly sfu: Sfu;
  readonly web: Web;
  /** Absent with `-c turnCount=0`. */
  readonly turn?: Turn;
  readonly lambdaSecurityGroup: ec2.SecurityGroup;
  private readonly zones: string[];

  constructor(scope: Construct, id: string, props: VeetStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.zones = config.availabilityZones;

    this.network = new Network(this, 'Network', { natGateways: config.natGateways });
    const { vpc, privateSubnets } = this.network;
    this.secrets = new Secrets(this, 'Secrets');
    this.redis = new Redis(this, 'Redis', {
      vpc,
      subnets: privateSubnets,
      nodeType: config.redisNodeType,
      authToken: this.secrets.redisAuth,
    });

    const lambdaSecurityGroup = (this.lambdaSecurityGroup = new ec2.SecurityGroup(
      this,
      'LambdaSecurityGroup',
      {
        vpc,
        description: 'Veet Lambdas: no inbound; out to Redis, Secrets Manager and API Gateway',
        allowAllOutbound: true,
      },
    ));
    this.redis.allowFrom(lambdaSecurityGroup, 'Lambdas');
    this.network.secretsManagerEndpoint.connections.allowDefaultPortFrom(lambdaSecurityGroup, 'Lambdas');

    if (config.turnCount > 0) {
      this.turn = new Turn(this, 'Turn', { config, vpc, secret: this.secrets.turn });
    }

    this.signaling = new Signaling(this, 'Signaling', {
      config,
      vpc,
      subnets: privateSubnets,
      securityGroup: lambdaSecurityGroup,
      redisUrl: this.redis.url,
      secrets: this.secrets,
      turnUrls: this.turn?.urls ?? [],
    });

    this.web = new Web(this, 'Web', { distDir: config.webDist, domain: config.domain });

    this.roomApi = new RoomApi(this, 'RoomApi', {
      config,
      vpc,
      subnets: privateSubnets,
      securityGroup: lambdaSecurityGroup,
      redisUrl: this.redis.url,
      secrets: this.secrets,
      wsUrl: this.signaling.url,
      webOrigins: this.web.origins,
      apigwEndpoint: this.signaling.managementEndpoint,
      manageConnections: this.signaling.manageConnectionsPolicy(),
    });
    this.web.publish({ wsUrl: this.signaling.url, apiUrl: this.roomApi.publicUrl });

    this.sfu = new Sfu(this, 'Sfu', {
      config,
      vpc,
      redisUrl: this.redis.url,
      secrets: this.secrets,
      apigwEndpoint: this.signaling.managementEndpoint,
      manageConnections: this.signaling.manageConnectionsPolicy(),
    });
    this.redis.allowFrom(this.sfu.securityGroup, 'SFU nodes');
    this.network.secretsManagerEndpoint.connections.allowDefaultPortFrom(this.sfu.securityGroup, 'SFU nodes');

    new CfnOutput(this, 'WebUrl', { value: this.web.url, description: 'Open this to start a meeting' });
    new CfnOutput(this, 'WebSocketUrl', { value: this.signaling.url, description: 'Signaling WebSocket' });
    new CfnOutput(this, 'RoomApiUrl', { value: this.roomApi.url, description: 'Room API base URL' });
  }

  /** The configured zones: CDK would otherwise look them up, which needs credentials. */
  override get availabilityZones(): string[] {
    return this.zones;
  }
}
