import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';

export interface RedisProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly nodeType: string;
  readonly authToken: secretsmanager.ISecret;
}

const PORT = 6379;

/**
 * The routing store: a Valkey (Redis-compatible) replication group of a primary and one
 * replica in different AZs, failing over automatically, TLS-only and AUTH-protected.
 * Nothing reaches it unless `allowFrom` names it.
 */
export class Redis extends Construct {
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  readonly securityGroup: ec2.SecurityGroup;
  /** `rediss://host:port` of the primary; the AUTH token is read separately from its secret. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: RedisProps) {
    super(scope, id);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Veet Redis: reachable only from the Lambdas and SFU nodes',
      allowAllOutbound: false,
    });

    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: 'Veet Redis private subnets',
      subnetIds: props.vpc.selectSubnets(props.subnets).subnetIds,
    });

    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupDescription: 'Veet routing state (rooms, nodes, connections)',
      engine: 'valkey',
      engineVersion: '8.0',
      cacheNodeType: props.nodeType,
      numCacheClusters: 2,
      multiAzEnabled: true,
      automaticFailoverEnabled: true,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      // A dynamic reference, resolved by CloudFormation: the token never enters the template.
      authToken: props.authToken.secretValue.unsafeUnwrap(),
      port: PORT,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      snapshotRetentionLimit: 1,
    });

    const rg = this.replicationGroup;
    this.url = `rediss://${rg.attrPrimaryEndPointAddress}:${rg.attrPrimaryEndPointPort}`;

    Validations.of(this.replicationGroup).acknowledge({
      id: 'AwsSolutions-AEC5',
      reason:
        'A non-default port is obscurity, not protection: the security group admits only ' +
        'the Lambdas and SFU nodes, and TLS plus AUTH are required.',
    });
  }

  /** Lets a security group's members connect to Redis. */
  allowFrom(peer: ec2.ISecurityGroup, description: string): void {
    this.securityGroup.addIngressRule(peer, ec2.Port.tcp(PORT), description);
  }
}
