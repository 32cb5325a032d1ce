import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';

export interface NetworkProps {
  /** One per AZ survives an AZ outage; one in total halves the NAT bill. */
  readonly natGateways: number;
}

/**
 * The VPC: public subnets for the SFU instances (they need public IPs for UDP media) and
 * private subnets for Redis and the Lambdas.
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  readonly secretsManagerEndpoint: ec2.InterfaceVpcEndpoint;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      // Every zone of the stack (configured, see VeetStack.availabilityZones).
      maxAzs: 99,
      natGateways: props.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: true },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      flowLogs: {
        rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, 'FlowLogs', {
              retention: logs.RetentionDays.ONE_MONTH,
              removalPolicy: RemovalPolicy.DESTROY,
            }),
          ),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });

    Validations.of(this.vpc).acknowledge({
      id: 'CloudFormation-Validate::W3010',
      reason:
        'Zones are configured (-c availabilityZones), not looked up, so synthesis needs no credentials.',
    });

    // The Lambdas post to the WebSocket management API through the NAT: an execute-api
    // interface endpoint only serves private REST APIs, and with private DNS it would hijack
    // the public execute-api names. Secrets stay off the NAT path through their own endpoint.
    this.secretsManagerEndpoint = this.vpc.addInterfaceEndpoint('SecretsManager', {
      service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      privateDnsEnabled: true,
      // Private DNS sends every secret read in the VPC here; callers are let in one by one.
      open: false,
    });
  }

  /** The private subnets, where Redis and the Lambdas live. */
  get privateSubnets(): ec2.SubnetSelection {
    return { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  }
}
