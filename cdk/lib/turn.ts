import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { VeetConfig } from './config';
import { publicEcsInstances } from './instances';
import { acknowledgeCdkManagedWildcards } from './nag';

export interface TurnProps {
  readonly config: VeetConfig;
  readonly vpc: ec2.IVpc;
  /** The shared secret of the TURN REST API scheme (coturn `static-auth-secret`). */
  readonly secret: secretsmanager.ISecret;
}

/** Where coturn listens for clients (behind the load balancer) on every TURN instance. */
export const TURN_PORT = 3478;
/** Where clients reach TURN over TLS, or over plain TCP without a custom domain. */
export const TURN_TLS_PORT = 443;

/** Where user data leaves the instance's addresses for the coturn container. */
const ADDRESS_DIR = '/run/veet-turn';

/**
 * Peers a relay may never reach: the VPC and other private ranges, link-local (the instance
 * metadata service), loopback and multicast. Relays only ever talk to SFU nodes, which media
 * reaches on their public addresses.
 */
export const DENIED_PEER_RANGES = [
  '0.0.0.0-0.255.255.255',
  '10.0.0.0-10.255.255.255',
  '100.64.0.0-100.127.255.255',
  '127.0.0.0-127.255.255.255',
  '169.254.0.0-169.254.255.255',
  '172.16.0.0-172.31.255.255',
  '192.168.0.0-192.168.255.255',
  '224.0.0.0-255.255.255.255',
];

/**
 * TURN for participants whose networks block UDP to the SFU: coturn (the standard server, its
 * official image) on a small fleet of instances with public IPs, behind a network load
 * balancer that gives clients one stable name. Clients reach it on UDP and TCP 3478 and on 443
 * (TLS, terminated at the load balancer, with a custom domain; plain TCP without one); the
 * relayed media leaves from the instance's own public IP and relay ports, never through the
 * load balancer. Credentials are the TURN REST API's: signaling signs them with `secret`, and
 * coturn checks them with the same secret without asking anyone.
 */
export class Turn extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly loadBalancer: elbv2.NetworkLoadBalancer;
  readonly service: ecs.Ec2Service;
  /** The host name clients use: `turn.<domain>` with a custom domain, else the load balancer's. */
  readonly hostName: string;
  /** Whether 443 is TLS (`turns:`) or plain TCP (`turn:…:443?transport=tcp`). */
  readonly tls: boolean;

  constructor(scope: Construct, id: string, props: TurnProps) {
    super(scope, id);
    const { config, vpc } = props;

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'Veet TURN: client ports behind the load balancer, relay ports from SFU nodes anywhere',
      // Relays send to SFU nodes' public addresses; coturn itself denies private peers.
      allowAllOutbound: true,
    });
    // The load balancer keeps client source addresses, so the client ports must be open to all.
    this.securityGroup.addIngressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.udp(TURN_PORT),
      'TURN over UDP from participants',
    );
    this.securityGroup.addIngressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(TURN_PORT),
      'TURN over TCP from participants',
    );
    this.securityGroup.addIngressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.udpRange(config.turnRelayPortMin, config.turnRelayPortMax),
      'Relayed media from SFU nodes (coturn only lets in peers a client gave permission to)',
    );

    this.autoScalingGroup = publicEcsInstances(this, 'Instances', {
      vpc,
      instanceType: config.turnInstanceType,
      securityGroup: this.securityGroup,
      minCapacity: config.turnCount,
      maxCapacity: config.turnCount,
    });
    // coturn must announce the public address its relays answer on, and bind the private one
    // the instance really has (`external-ip=<public>/<private>`); both come from metadata.
    const imds = 'http://169.254.169.254/latest';
    this.autoScalingGroup.addUserData(
      `TOKEN=$(curl -fsS -X PUT ${imds}/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')`,
      `mkdir -p ${ADDRESS_DIR}`,
      `curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" ${imds}/meta-data/public-ipv4 > ${ADDRESS_DIR}/public-ipv4`,
      `curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" ${imds}/meta-data/local-ipv4 > ${ADDRESS_DIR}/local-ipv4`,
    );

    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    cluster.addAsgCapacityProvider(
      new ecs.AsgCapacityProvider(this, 'Capacity', {
        autoScalingGroup: this.autoScalingGroup,
        enableManagedTerminationProtection: false,
        // ECS drains the instance itself, without CDK's drain-hook Lambda and topic.
        enableManagedDraining: true,
      }),
    );

    const taskDefinition = new ecs.Ec2TaskDefinition(this, 'Task', { networkMode: ecs.NetworkMode.HOST });
    taskDefinition.addVolume({ name: 'addresses', host: { sourcePath: ADDRESS_DIR } });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const container = taskDefinition.addContainer('coturn', {
      image: ecs.ContainerImage.fromRegistry(config.turnImage),
      entryPoint: ['sh', '-c'],
      command: [coturnCommand(config)],
      memoryReservationMiB: 256,
      secrets: { TURN_SECRET: ecs.Secret.fromSecretsManager(props.secret) },
      portMappings: [
        { containerPort: TURN_PORT, protocol: ecs.Protocol.UDP },
        { containerPort: TURN_PORT, protocol: ecs.Protocol.TCP },
      ],
      ulimits: [{ name: ecs.UlimitName.NOFILE, softLimit: 65536, hardLimit: 65536 }],
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'turn', logGroup }),
    });
    container.addMountPoints({ sourceVolume: 'addresses', containerPath: ADDRESS_DIR, readOnly: true });

    // One coturn per instance: it owns the instance's relay ports.
    this.service = new ecs.Ec2Service(this, 'Service', {
      cluster,
      taskDefinition,
      daemon: true,
      circuitBreaker: { enable: true, rollback: true },
      enableECSManagedTags: true,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });

    this.loadBalancer = new elbv2.NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      crossZoneEnabled: true,
    });
    const targetGroup = (name: string, protocol: elbv2.Protocol) => {
      const group = new elbv2.NetworkTargetGroup(this, name, {
        vpc,
        port: TURN_PORT,
        protocol,
        targetType: elbv2.TargetType.INSTANCE,
        // TURN over UDP has no connection to health-check; coturn answering on TCP says it is up.
        healthCheck: {
          protocol: elbv2.Protocol.TCP,
          port: String(TURN_PORT),
          interval: Duration.seconds(10),
        },
        // Allocations are per 5-tuple: keep a client on one instance for as long as it sends.
        deregistrationDelay: Duration.seconds(30),
      });
      this.service.attachToNetworkTargetGroup(group);
      return group;
    };
    this.loadBalancer.addListener('Turn', {
      port: TURN_PORT,
      protocol: elbv2.Protocol.TCP_UDP,
      defaultTargetGroups: [targetGroup('TurnTargets', elbv2.Protocol.TCP_UDP)],
    });

    const domain = config.domain;
    this.tls = domain !== undefined;
    if (domain) {
      this.hostName = `turn.${domain.domainName}`;
      const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
        hostedZoneId: domain.hostedZoneId,
        zoneName: domain.hostedZoneName,
      });
      const certificate = new acm.Certificate(this, 'Certificate', {
        domainName: this.hostName,
        validation: acm.CertificateValidation.fromDns(zone),
      });
      this.loadBalancer.addListener('TurnTls', {
        port: TURN_TLS_PORT,
        protocol: elbv2.Protocol.TLS,
        certificates: [elbv2.ListenerCertificate.fromCertificateManager(certificate)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        defaultTargetGroups: [targetGroup('TlsTargets', elbv2.Protocol.TCP)],
      });
      new route53.ARecord(this, 'Alias', {
        zone,
        recordName: this.hostName,
        target: route53.RecordTarget.fromAlias(new targets.LoadBalancerTarget(this.loadBalancer)),
      });
    } else {
      this.hostName = this.loadBalancer.loadBalancerDnsName;
      // Firewalls that allow only 443 out still let plain TCP through more often than not.
      this.loadBalancer.addListener('Turn443', {
        port: TURN_TLS_PORT,
        protocol: elbv2.Protocol.TCP,
        defaultTargetGroups: [targetGroup('Tcp443Targets', elbv2.Protocol.TCP)],
      });
    }

    this.acknowledgeNagFindings(taskDefinition);
  }

  /** `VEET_TURN_URLS` for signaling: UDP, TCP, and 443 (TLS when there is a certificate). */
  get urls(): string[] {
    const host = this.hostName;
    return [
      `turn:${host}:${TURN_PORT}`,
      `turn:${host}:${TURN_PORT}?transport=tcp`,
      this.tls
        ? `turns:${host}:${TURN_TLS_PORT}?transport=tcp`
        : `turn:${host}:${TURN_TLS_PORT}?transport=tcp`,
    ];
  }

  private acknowledgeNagFindings(taskDefinition: ecs.Ec2TaskDefinition): void {
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
        'TURN exists for participants on any network: its client ports and relay ports must be ' +
        'reachable from the internet; coturn authenticates every allocation.',
    });
    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions-AS3',
      reason: 'A fixed-size fleet run by ECS; instance changes are in the ASG activity history.',
    });
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'NLB access logs cover only TLS listeners; coturn logs every allocation and session to ' +
        'CloudWatch instead.',
    });
  }
}

/**
 * coturn's command line: REST API credentials only (`use-auth-secret`), no CLI or admin
 * interface, TLS left to the load balancer, relays kept away from private addresses, and
 * per-user quotas so one credential cannot exhaust the relay ports.
 */
export function coturnCommand(config: VeetConfig, addressDir: string = ADDRESS_DIR): string {
  const args = [
    'exec turnserver',
    '--log-file=stdout',
    '--no-cli',
    '--fingerprint',
    '--use-auth-secret',
    '--static-auth-secret="$TURN_SECRET"',
    '--realm=veet',
    `--listening-port=${TURN_PORT}`,
    `--external-ip="$(cat ${addressDir}/public-ipv4)/$(cat ${addressDir}/local-ipv4)"`,
    `--min-port=${config.turnRelayPortMin}`,
    `--max-port=${config.turnRelayPortMax}`,
    '--no-tls',
    '--no-dtls',
    '--no-multicast-peers',
    ...DENIED_PEER_RANGES.map((r) => `--denied-peer-ip=${r}`),
    '--user-quota=12',
    '--total-quota=2400',
    '--stale-nonce=600',
  ];
  return args.join(' ');
}
