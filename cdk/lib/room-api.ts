import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { VeetConfig, webhookEnvironment } from './config';
import { acknowledgeWildcardResources } from './nag';
import { RustFunction } from './rust-function';
import { Secrets } from './secrets';
import { CONNECTIONS_WILDCARD_REASON } from './signaling';

export const ROOM_API_ROUTES = ['/rooms', '/rooms/{proxy+}', '/api/{proxy+}'] as const;

export interface RoomApiProps {
  readonly config: VeetConfig;
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly redisUrl: string;
  readonly secrets: Secrets;
  /** The signaling API's `wss://` URL, handed out with join tokens. */
  readonly wsUrl: string;
  /** The web app's origins: the base of join links and the only CORS origins allowed. */
  readonly webOrigins: string[];
  /**
   * The signaling API's management endpoint: closing a room and removing a participant post
   * to and disconnect their WebSocket connections.
   */
  readonly apigwEndpoint: string;
  /** `execute-api:ManageConnections` on the signaling API's connections. */
  readonly manageConnections: iam.PolicyStatement;
}

/** The room API: an HTTP API whose routes all run the `veet-room-api` Lambda. */
export class RoomApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly function: RustFunction;

  constructor(scope: Construct, id: string, props: RoomApiProps) {
    super(scope, id);

    this.function = new RustFunction(this, 'Handler', {
      config: props.config,
      binary: 'veet-room-api',
      description: 'Veet room API',
      vpc: props.vpc,
      subnets: props.subnets,
      securityGroup: props.securityGroup,
      environment: {
        VEET_REDIS_URL: props.redisUrl,
        VEET_PUBLIC_URL: props.webOrigins[0],
        VEET_WS_URL: props.wsUrl,
        VEET_APIGW_ENDPOINT: props.apigwEndpoint,
        ...webhookEnvironment(props.config),
      },
    });
    props.secrets.exposeTo(this.function.fn, ['token', 'redisAuth', 'webhook', 'api']);
    this.function.fn.addToRolePolicy(props.manageConnections);
    acknowledgeWildcardResources(this.function.fn, props.manageConnections, CONNECTIONS_WILDCARD_REASON);

    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: `${Stack.of(this).stackName}-rooms`,
      description: 'Veet room API',
      createDefaultStage: false,
      // The web app (another origin) creates rooms and guest tokens from the browser.
      corsPreflight: {
        allowOrigins: props.webOrigins,
        allowMethods: [apigwv2.CorsHttpMethod.ANY],
        allowHeaders: ['content-type', 'authorization'],
        maxAge: Duration.hours(1),
      },
    });
    const integration = new integrations.HttpLambdaIntegration('Handler', this.function.fn);
    for (const path of ROOM_API_ROUTES) {
      this.api.addRoutes({ path, methods: [apigwv2.HttpMethod.ANY], integration });
    }

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 100, burstLimit: 200 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            path: '$context.path',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });

    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'The handler authenticates itself: management calls carry an HMAC signature over ' +
        'the API secret; the public endpoints (new room, guest token) are open by design.',
    });
  }

  /** The API's base URL (`https://{apiId}.execute-api.{region}.amazonaws.com/`). */
  get url(): string {
    return this.stage.url;
  }

  /** Base of the public endpoints the web app calls (`…/api`, as `veet dev` serves them). */
  get publicUrl(): string {
    return `${this.stage.url}api`;
  }
}
