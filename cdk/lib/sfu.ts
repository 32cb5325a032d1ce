import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { REPO_ROOT, VeetConfig, webhookEnvironment } from './config';
import { publicEcsInstances } from './instances';
import { acknowledgeCdkManagedWildcards, acknowledgeWildcardResources } from './nag';
import { SecretName, Secrets } from './secrets';
import { CONNECTIONS_WILDCARD_REASON } from './signaling';

export interface SfuProps {
  readonly config: VeetConfig;
  readonly vpc: ec2.IVpc;
  readonly redisUrl: string;
  readonly secrets: Secrets;
  /** The WebSocket API's management endpoint, where nodes send offers and candidates. */
  readonly apigwEndpoint: string;
  /** `execute-api:ManageConnections` on the signaling API's connections. */
  readonly manageConnections: iam.PolicyStatement;
}

/** CPU the fleet aims for: leaves headroom for a room's burst before new nodes are warm. */
const TARGET_CPU_PERCENT = 60;

/**
 * The SFU fleet: one `veet sfu` task per EC2 instance, with host networking so the WebRTC
 * media ports are the instance's own ports on its public IP (no NAT, no load balancer in the
 * media path). Each node reads that IP from the instance metadata and announces it in Redis.
 */
export class Sfu extends Construct {
  readonly cluster: ecs.Cluster;
  readonly service: ecs.Ec2Service;
  readonly securityGroup: ec2.SecurityGroup;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;

  constructor(scope: Construct, id: string, props: SfuProps) {
    super(scope, id);
    const { config, vpc } = props;

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'Veet SFU nodes: WebRTC media from anywhere, health and metrics from the VPC',
      // Media to participants, Redis, Secrets Manager, the management API, and webhook
      // deliveries (HTTPS to receivers anywhere on the internet).
      allowAllOutbound: true,
    });
    this.securityGroup.addIngressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.udpRange(config.sfuUdpPortMin, config.sfuUdpPortMax),
      'WebRTC media (ICE, DTLS-SRTP) from participants',
    );
    this.securityGroup.addIngressRule(
      ec2.Peer.ipv4(vpc.vpcCidrBlock),
      ec2.Port.tcp(config.sfuHttpPort),
      'Health and metrics from inside the VPC',
    );

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    this.autoScalingGroup = publicEcsInstances(this, 'Instances', {
      vpc,
      instanceType: config.sfuInstanceType,
      securityGroup: this.securityGroup,
      minCapacity: 1,
      // One task per instance, plus one spare so a rolling deploy can start a new task
      // before the old one drains.
      maxCapacity: config.sfuMaxCount + 1,
    });

    // Host-network tasks get their task role's credentials only when the agent is told so.
    this.autoScalingGroup.addUserData(
      'echo ECS_ENABLE_TASK_IAM_ROLE=true >> /etc/ecs/ecs.config',
      'echo ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST=true >> /etc/ecs/ecs.config',
    );

    const capacityProvider = new ecs.AsgCapacityProvider(this, 'Capacity', {
      autoScalingGroup: this.autoScalingGroup,
      enableManagedScaling: true,
      // Instances running a task are not terminated by scale-in; ECS drains them first.
      enableManagedTerminationProtection: true,
      enableManagedDraining: true,
      targetCapacityPercent: 100,
    });
    this.cluster.addAsgCapacityProvider(capacityProvider);

    const taskDefinition = new ecs.Ec2TaskDefinition(this, 'Task', {
      networkMode: ecs.NetworkMode.HOST,
    });
    taskDefinition.addToTaskRolePolicy(props.manageConnections);
    // Nodes emit track events and run the webhook dispatchers, which sign with the webhook key.
    const secretNames: SecretName[] = ['redisAuth', 'token', 'webhook'];
    taskDefinition.addToTaskRolePolicy(props.secrets.readPolicy(secretNames));

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const healthUrl = `http://127.0.0.1:${config.sfuHttpPort}/healthz`;
    // The image is built for the instances' architecture.
    const arm = new ec2.InstanceType(config.sfuInstanceType).architecture === ec2.InstanceArchitecture.ARM_64;
    taskDefinition.addContainer('sfu', {
      image: ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: 'Dockerfile',
        platform: arm ? ecrAssets.Platform.LINUX_ARM64 : ecrAssets.Platform.LINUX_AMD64,
      }),
      command: ['sfu'],
      // Never root on the host's network namespace, whatever the image says.
      user: '65532:65532',
      // A soft limit: the node is alone on its instance and may use what the instance has.
      memoryReservationMiB: 1024,
      environment: {
        AWS_REGION: Stack.of(this).region,
        RUST_LOG: 'info',
        VEET_REDIS_URL: props.redisUrl,
        VEET_APIGW_ENDPOINT: props.apigwEndpoint,
        VEET_SFU_PUBLIC_IP_FROM_METADATA: '1',
        VEET_SFU_UDP_PORT_MIN: String(config.sfuUdpPortMin),
        VEET_SFU_UDP_PORT_MAX: String(config.sfuUdpPortMax),
        VEET_SFU_HTTP_PORT: String(config.sfuHttpPort),
        // The same port in the form `veet sfu` reads today.
        VEET_SFU_HTTP_ADDR: `0.0.0.0:${config.sfuHttpPort}`,
        ...webhookEnvironment(config),
        ...props.secrets.environment(secretNames),
      },
      // Declaring the HTTP port makes ECS refuse to place two nodes on one instance.
      portMappings: [{ containerPort: config.sfuHttpPort, protocol: ecs.Protocol.TCP }],
      healthCheck: {
        command: ['CMD-SHELL', `curl -fsS ${healthUrl} || exit 1`],
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(30),
      },
      // SIGTERM makes the node tell its rooms to move; give that its time before SIGKILL.
      stopTimeout: Duration.seconds(120),
      linuxParameters: new ecs.LinuxParameters(this, 'LinuxParameters', { initProcessEnabled: true }),
      ulimits: [{ name: ecs.UlimitName.NOFILE, softLimit: 65536, hardLimit: 65536 }],
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'sfu', logGroup }),
    });

    this.service = new ecs.Ec2Service(this, 'Service', {
      cluster: this.cluster,
      taskDefinition,
      desiredCount: config.sfuDesiredCount,
      capacityProviderStrategies: [{ capacityProvider: capacityProvider.capacityProviderName, weight: 1 }],
      placementConstraints: [ecs.PlacementConstraint.distinctInstances()],
      // Start the replacement first, then drain the old node: meetings keep a node to move to.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      enableECSManagedTags: true,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });

    // With one node per instance, the instances' CPU is the nodes' CPU, whatever the
    // instance size (a task-level CPU reservation would tie the target to one size).
    const scaling = this.service.autoScaleTaskCount({
      minCapacity: config.sfuDesiredCount,
      maxCapacity: config.sfuMaxCount,
    });
    scaling.scaleToTrackCustomMetric('Cpu', {
      metric: new cloudwatch.Metric({
        namespace: 'AWS/EC2',
        metricName: 'CPUUtilization',
        dimensionsMap: { AutoScalingGroupName: this.autoScalingGroup.autoScalingGroupName },
        statistic: 'Average',
        period: Duration.minutes(1),
      }),
      targetValue: TARGET_CPU_PERCENT,
      scaleOutCooldown: Duration.minutes(2),
      // Scale-in ends meetings' stay on a node (they move); do it unhurriedly.
      scaleInCooldown: Duration.minutes(15),
    });

    this.acknowledgeNagFindings(taskDefinition, props.manageConnections);
  }

  private acknowledgeNagFindings(
    taskDefinition: ecs.Ec2TaskDefinition,
    manageConnections: iam.PolicyStatement,
  ): void {
    acknowledgeWildcardResources(taskDefinition, manageConnections, CONNECTIONS_WILDCARD_REASON);
    acknowledgeCdkManagedWildcards(
      this.autoScalingGroup.role,
      'The ECS agent policy CDK attaches to container instances; ECS documents these actions as resource-wide.',
    );
    acknowledgeCdkManagedWildcards(
      taskDefinition.obtainExecutionRole(),
      'ecr:GetAuthorizationToken has no resource-level permissions; the rest is scoped by CDK.',
    );
    Validations.of(this.securityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        'WebRTC media must reach the SFU from any participant; only the UDP media port range ' +
        'is open to the internet.',
    });
    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds only non-secret settings; secrets are referenced by ARN and ' +
        'read at run time with the task role.',
    });
    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions-AS3',
      reason: 'Scaling is driven by ECS; its events are in the service events and the ASG activity history.',
    });
  }
}
