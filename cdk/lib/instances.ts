import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Construct } from 'constructs';

export interface PublicEcsInstancesProps {
  readonly vpc: ec2.IVpc;
  readonly instanceType: string;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly minCapacity: number;
  readonly maxCapacity: number;
}

/**
 * The instances of a media fleet (SFU nodes, TURN relays): ECS-optimized Amazon Linux 2023
 * for the instance type's architecture, in public subnets with public IPs (participants send
 * media straight to them), IMDSv2 only, an encrypted 30 GiB gp3 root volume.
 */
export function publicEcsInstances(
  scope: Construct,
  id: string,
  props: PublicEcsInstancesProps,
): autoscaling.AutoScalingGroup {
  const instanceType = new ec2.InstanceType(props.instanceType);
  const arm = instanceType.architecture === ec2.InstanceArchitecture.ARM_64;
  return new autoscaling.AutoScalingGroup(scope, id, {
    vpc: props.vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    associatePublicIpAddress: true,
    instanceType,
    machineImage: ecs.EcsOptimizedImage.amazonLinux2023(
      arm ? ecs.AmiHardwareType.ARM : ecs.AmiHardwareType.STANDARD,
    ),
    securityGroup: props.securityGroup,
    requireImdsv2: true,
    blockDevices: [
      {
        deviceName: '/dev/xvda',
        volume: autoscaling.BlockDeviceVolume.ebs(30, {
          encrypted: true,
          volumeType: autoscaling.EbsDeviceVolumeType.GP3,
        }),
      },
    ],
    minCapacity: props.minCapacity,
    maxCapacity: props.maxCapacity,
  });
}
