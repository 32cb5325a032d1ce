import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { logicalId, resourcesOfType, synth } from './helpers';

test('VPC: public and private subnets in two AZs', () => {
  const { template } = synth();
  template.resourceCountIs('AWS::EC2::VPC', 1);
  const subnets = Object.values(resourcesOfType(template, 'AWS::EC2::Subnet')).map((s) => s.Properties);
  const publicAzs = subnets.filter((s) => s.MapPublicIpOnLaunch).map((s) => s.AvailabilityZone);
  const privateAzs = subnets.filter((s) => !s.MapPublicIpOnLaunch).map((s) => s.AvailabilityZone);
  assert.deepEqual(publicAzs.sort(), ['us-east-1a', 'us-east-1b']);
  assert.deepEqual(privateAzs.sort(), ['us-east-1a', 'us-east-1b']);
});

test('availability zones follow the region and context, never a lookup', () => {
  const { template } = synth({ region: 'eu-west-1', availabilityZones: 'eu-west-1b,eu-west-1c' });
  const azs = Object.values(resourcesOfType(template, 'AWS::EC2::Subnet')).map(
    (s) => s.Properties.AvailabilityZone,
  );
  assert.deepEqual([...new Set(azs)].sort(), ['eu-west-1b', 'eu-west-1c']);
});

test('private subnets reach API Gateway through NAT and Secrets Manager through an endpoint', () => {
  const { stack, template } = synth();
  template.resourceCountIs('AWS::EC2::NatGateway', 2);
  const routeTables = stack.network.vpc.privateSubnets.map((s) => stack.resolve(s.routeTable.routeTableId));
  for (const rt of routeTables) {
    template.hasResourceProperties('AWS::EC2::Route', {
      RouteTableId: rt,
      DestinationCidrBlock: '0.0.0.0/0',
      NatGatewayId: Match.objectLike({ Ref: Match.anyValue() }),
    });
  }
  const endpoint =
    template.toJSON().Resources[logicalId(stack, stack.network.secretsManagerEndpoint)].Properties;
  assert.equal(endpoint.VpcEndpointType, 'Interface');
  assert.equal(endpoint.PrivateDnsEnabled, true);
  assert.match(JSON.stringify(endpoint.ServiceName), /secretsmanager/);
});

test('NAT gateway count is a cost knob', () => {
  synth({ natGateways: 1 }).template.resourceCountIs('AWS::EC2::NatGateway', 1);
});
