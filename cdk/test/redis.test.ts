import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { logicalId, only, resourcesOfType, synth } from './helpers';

test('Redis: primary + replica, Multi-AZ, automatic failover, encrypted in transit and at rest', () => {
  const { template } = synth();
  const group = only(template, 'AWS::ElastiCache::ReplicationGroup').Properties;
  assert.ok(['redis', 'valkey'].includes(group.Engine));
  assert.ok(group.NumCacheClusters >= 2, 'a primary and at least one replica');
  assert.equal(group.MultiAZEnabled, true);
  assert.equal(group.AutomaticFailoverEnabled, true);
  assert.equal(group.TransitEncryptionEnabled, true);
  assert.equal(group.AtRestEncryptionEnabled, true);
});

test('Redis AUTH token is a dynamic reference to the generated secret', () => {
  const { stack, template } = synth();
  const group = only(template, 'AWS::ElastiCache::ReplicationGroup').Properties;
  assert.deepEqual(group.AuthToken, {
    'Fn::Join': [
      '',
      ['{{resolve:secretsmanager:', { Ref: logicalId(stack, stack.secrets.redisAuth) }, ':SecretString:::}}'],
    ],
  });
});

test('Redis lives in the private subnets, reachable only from the Lambdas and SFU nodes', () => {
  const { stack, template } = synth();
  const subnetGroup = only(template, 'AWS::ElastiCache::SubnetGroup').Properties;
  assert.deepEqual(
    subnetGroup.SubnetIds,
    stack.network.vpc.privateSubnets.map((s) => stack.resolve(s.subnetId)),
  );

  const redisSg = logicalId(stack, stack.redis.securityGroup);
  const sg = template.toJSON().Resources[redisSg].Properties;
  assert.equal(sg.SecurityGroupIngress, undefined);
  const ingress = Object.values(resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress'))
    .map((r) => r.Properties)
    .filter((p) => p.GroupId['Fn::GetAtt']?.[0] === redisSg);
  assert.deepEqual(
    ingress.map((p) => p.SourceSecurityGroupId['Fn::GetAtt'][0]).sort(),
    [logicalId(stack, stack.sfu.securityGroup), logicalId(stack, stack.lambdaSecurityGroup)].sort(),
  );
  for (const p of ingress) {
    assert.equal(p.IpProtocol, 'tcp');
    assert.equal(p.FromPort, 6379);
    assert.equal(p.ToPort, 6379);
    assert.equal(p.CidrIp, undefined);
  }
});
