import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { VeetConfig, webhookEnvironment } from './config';
import { acknowledgeWildcardResources, managedPolicyFinding } from './nag';
import { RustFunction } from './rust-function';
import { Secrets } from './secrets';

/** The client → server actions; each gets its own route so metrics and logs split by action. */
export const ACTIONS = [
  'join',
  'leave',
  'signal',
  'mute',
  'chat',
  'ping',
  'view',
  'mute_participant',
  'remove_participant',
  'lock_meeting',
  'end_meeting',
  'set_lobby',
  'admit_guest',
  'deny_guest',
  'raise_hand',
  'lower_hand',
  'react',
] as const;

export const STAGE_NAME = 'prod';

/** Why `@connections/*` is as narrow as ManageConnections gets. */
export const CONNECTIONS_WILDCARD_REASON =
  'The wildcard is the connection id, unknown until clients connect; the ARN is fixed to ' +
  'this API, this stage and the @connections path.';

export interface SignalingProps {
  readonly config: VeetConfig;
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly redisUrl: string;
  readonly secrets: Secrets;
  /** TURN servers for joining clients (`VEET_TURN_URLS`); none when empty. */
  readonly turnUrls: string[];
}

/**
 * The signaling plane: an API Gateway WebSocket API whose every route runs the
 * `veet-signaling` Lambda, which may post back only to this API's connections.
 */
export class Signaling extends Construct {
  readonly api: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly function: RustFunction;

  constructor(scope: Construct, id: string, props: SignalingProps) {
    super(scope, id);

    this.api = new apigwv2.WebSocketApi(this, 'Api', {
      apiName: `${Stack.of(this).stackName}-signaling`,
      description: 'Veet signaling (JSON frames, route by action)',
      routeSelectionExpression: '$request.body.action',
    });

    this.function = new RustFunction(this, 'Handler', {
      config: props.config,
      binary: 'veet-signaling',
      description: 'Veet signaling: every WebSocket route',
      vpc: props.vpc,
      subnets: props.subnets,
      securityGroup: props.securityGroup,
      environment: {
        VEET_REDIS_URL: props.redisUrl,
        VEET_APIGW_ENDPOINT: this.managementEndpoint,
        ...webhookEnvironment(props.config),
        ...(props.turnUrls.length > 0 ? { VEET_TURN_URLS: props.turnUrls.join(',') } : {}),
      },
    });
    const fn = this.function.fn;
    props.secrets.exposeTo(fn, [
      'token',
      'redisAuth',
      'webhook',
      ...(props.turnUrls.length > 0 ? (['turn'] as const) : []),
    ]);
    const manageConnections = this.manageConnectionsPolicy();
    fn.addToRolePolicy(manageConnections);
    acknowledgeWildcardResources(fn, manageConnections, CONNECTIONS_WILDCARD_REASON);

    const integration = new integrations.WebSocketLambdaIntegration('Handler', fn);
    for (const routeKey of ['$connect', '$disconnect', '$default', ...ACTIONS]) {
      this.api.addRoute(routeKey, { integration });
    }

    const accessLogs = this.accessLogging();
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: STAGE_NAME,
      autoDeploy: true,
      // Per-stage message limits, well under the account's, so a misbehaving client fleet
      // cannot exhaust the region's API Gateway quota.
      throttle: { rateLimit: 500, burstLimit: 1000 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs.logGroup),
        format: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            connectionId: '$context.connectionId',
            eventType: '$context.eventType',
            routeKey: '$context.routeKey',
            status: '$context.status',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    this.stage.node.addDependency(accessLogs.account);

    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'The $connect handler verifies the signed join token itself (401 otherwise); later ' +
        'routes only act on connections that $connect accepted.',
    });
  }

  /** `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`: where PostToConnection goes. */
  get managementEndpoint(): string {
    const stack = Stack.of(this);
    return `https://${this.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}/${STAGE_NAME}`;
  }

  /** The `wss://` URL clients connect to. */
  get url(): string {
    return this.stage.url;
  }

  /** `execute-api:ManageConnections` on this API's stage's connections, nothing else. */
  manageConnectionsPolicy(): iam.PolicyStatement {
    const stack = Stack.of(this);
    return new iam.PolicyStatement({
      actions: ['execute-api:ManageConnections'],
      resources: ['POST', 'GET', 'DELETE'].map((method) =>
        stack.formatArn({
          service: 'execute-api',
          resource: this.api.apiId,
          resourceName: `${STAGE_NAME}/${method}/@connections/*`,
        }),
      ),
    });
  }

  /**
   * A log group for the stage's access logs. WebSocket APIs (unlike HTTP APIs) log through the
   * account-wide API Gateway CloudWatch role, which must be set before the stage.
   */
  private accessLogging(): { logGroup: logs.LogGroup; account: apigw.CfnAccount } {
    const role = new iam.Role(this, 'ApiGatewayLogsRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      ],
    });
    const account = new apigw.CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
    Validations.of(role).acknowledge({
      id: managedPolicyFinding('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      reason: 'The AWS-maintained policy made for exactly this role.',
    });
    const logGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    return { logGroup, account };
  }
}
