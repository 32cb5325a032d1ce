import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import {
  REPO_ROOT,
  asArray,
  logicalId,
  only,
  resourceOf,
  resourcesOfType,
  statementsOfRole,
  synth,
} from './helpers';

/** The SFU instances' launch template. */
function sfuLaunchTemplate(
  stack: ReturnType<typeof synth>['stack'],
  template: ReturnType<typeof synth>['template'],
) {
  const asg = resourceOf(stack, template, stack.sfu.autoScalingGroup).Properties;
  return template.toJSON().Resources[asg.LaunchTemplate.LaunchTemplateId.Ref].Properties.LaunchTemplateData;
}

/** Every ingress rule of the stack, inline or separate, with the group it belongs to. */
function ingressRules(template: ReturnType<typeof synth>['template']) {
  const rules: { group: string; rule: any }[] = [];
  for (const [id, sg] of Object.entries(resourcesOfType(template, 'AWS::EC2::SecurityGroup'))) {
    for (const rule of sg.Properties.SecurityGroupIngress ?? []) rules.push({ group: id, rule });
  }
  for (const r of Object.values(resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress'))) {
    rules.push({ group: r.Properties.GroupId['Fn::GetAtt'][0], rule: r.Properties });
  }
  return rules;
}

test('SFU security group: UDP media ports from anywhere, health port from the VPC, nothing else', () => {
  const { stack, template } = synth();
  const sfuSg = logicalId(stack, stack.sfu.securityGroup);
  const rules = ingressRules(template)
    .filter((r) => r.group === sfuSg)
    .map((r) => r.rule);
  const vpcCidr = { 'Fn::GetAtt': [logicalId(stack, stack.network.vpc), 'CidrBlock'] };
  assert.deepEqual(
    rules.map(({ IpProtocol, FromPort, ToPort, CidrIp }) => ({ IpProtocol, FromPort, ToPort, CidrIp })),
    [
      { IpProtocol: 'udp', FromPort: 50000, ToPort: 60000, CidrIp: '0.0.0.0/0' },
      { IpProtocol: 'tcp', FromPort: 9090, ToPort: 9090, CidrIp: vpcCidr },
    ],
  );
});

test("nothing but the SFU media ports and TURN's ports is open to the internet", () => {
  const { stack, template } = synth();
  const groups = {
    [logicalId(stack, stack.sfu.securityGroup)]: 'sfu',
    [logicalId(stack, stack.turn!.securityGroup)]: 'turn',
  };
  const open = ingressRules(template).filter(
    ({ rule }) => rule.CidrIp === '0.0.0.0/0' || rule.CidrIpv6 === '::/0',
  );
  assert.deepEqual(
    open
      .map(
        ({ group, rule }) => `${groups[group] ?? group} ${rule.IpProtocol} ${rule.FromPort}-${rule.ToPort}`,
      )
      .sort(),
    ['sfu udp 50000-60000', 'turn tcp 3478-3478', 'turn udp 3478-3478', 'turn udp 49152-65535'],
  );
});

test('media port range and health port come from context and reach the container', () => {
  const { stack, template } = synth({ sfuUdpPortMin: 40000, sfuUdpPortMax: 40999, sfuHttpPort: 8081 });
  const sfuSg = logicalId(stack, stack.sfu.securityGroup);
  const open = ingressRules(template).filter(
    ({ group, rule }) => group === sfuSg && rule.CidrIp === '0.0.0.0/0',
  );
  assert.deepEqual(
    open.map(({ rule }) => [rule.FromPort, rule.ToPort]),
    [[40000, 40999]],
  );
  const container = resourceOf(stack, template, stack.sfu.service.taskDefinition).Properties
    .ContainerDefinitions[0];
  const env = Object.fromEntries(container.Environment.map((e: any) => [e.Name, e.Value]));
  assert.equal(env.VEET_SFU_UDP_PORT_MIN, '40000');
  assert.equal(env.VEET_SFU_UDP_PORT_MAX, '40999');
  assert.equal(env.VEET_SFU_HTTP_PORT, '8081');
  assert.equal(env.VEET_SFU_HTTP_ADDR, '0.0.0.0:8081');
  assert.match(container.HealthCheck.Command[1], /127\.0\.0\.1:8081\/healthz/);
});

test('SFU task: host networking, `veet sfu`, public IP from instance metadata, drains on stop', () => {
  const { stack, template } = synth();
  const task = resourceOf(stack, template, stack.sfu.service.taskDefinition).Properties;
  assert.equal(task.NetworkMode, 'host');
  assert.deepEqual(task.RequiresCompatibilities, ['EC2']);
  const [container] = task.ContainerDefinitions;
  assert.deepEqual(container.Command, ['sfu']);
  assert.equal(container.User, '65532:65532', 'not root in the host network namespace');
  const env = Object.fromEntries(container.Environment.map((e: any) => [e.Name, e.Value]));
  assert.equal(env.VEET_SFU_PUBLIC_IP_FROM_METADATA, '1');
  assert.equal(env.VEET_SFU_UDP_PORT_MIN, '50000');
  assert.equal(env.VEET_SFU_UDP_PORT_MAX, '60000');
  assert.equal(env.VEET_SFU_HTTP_PORT, '9090');
  assert.match(JSON.stringify(env.VEET_REDIS_URL), /rediss:\/\//);
  assert.equal(env.VEET_REDIS_AUTH_SECRET_ARN.Ref, logicalId(stack, stack.secrets.redisAuth));
  assert.deepEqual(stack.resolve(env.VEET_APIGW_ENDPOINT), stack.resolve(stack.signaling.managementEndpoint));
  assert.match(JSON.stringify(env.VEET_APIGW_ENDPOINT), /https:\/\/.*\.execute-api\.us-east-1\..*\/prod/);
  assert.match(container.HealthCheck.Command.join(' '), /curl -fsS http:\/\/127\.0\.0\.1:9090\/healthz/);
  assert.equal(container.StopTimeout, 120);
  assert.equal(container.LinuxParameters.InitProcessEnabled, true);
});

test('SFU service: rolling deploys start the new node before draining the old, one node per instance', () => {
  const { stack, template } = synth();
  const service = resourceOf(stack, template, stack.sfu.service).Properties;
  assert.equal(service.DeploymentConfiguration.MinimumHealthyPercent, 100);
  assert.equal(service.DeploymentConfiguration.MaximumPercent, 200);
  assert.deepEqual(service.DeploymentConfiguration.DeploymentCircuitBreaker, {
    Enable: true,
    Rollback: true,
  });
  assert.deepEqual(service.PlacementConstraints, [{ Type: 'distinctInstance' }]);
  assert.equal(service.DesiredCount, 2);
  assert.equal(service.CapacityProviderStrategy.length, 1);
  template.hasResourceProperties('AWS::ECS::CapacityProvider', {
    AutoScalingGroupProvider: {
      ManagedScaling: { Status: 'ENABLED', TargetCapacity: 100 },
      ManagedTerminationProtection: 'ENABLED',
      ManagedDraining: 'ENABLED',
    },
  });
});

test('SFU instances: public subnets with public IPs, IMDSv2, encrypted disks', () => {
  const { stack, template } = synth();
  const asg = resourceOf(stack, template, stack.sfu.autoScalingGroup).Properties;
  const publicSubnets = stack.network.vpc.publicSubnets.map((s) => stack.resolve(s.subnetId));
  assert.deepEqual(asg.VPCZoneIdentifier, publicSubnets);
  assert.equal(asg.MaxSize, '7', 'max tasks + one spare instance for rolling deploys');
  const lt = sfuLaunchTemplate(stack, template);
  assert.equal(lt.InstanceType, 'c6i.large');
  assert.equal(lt.NetworkInterfaces[0].AssociatePublicIpAddress, true);
  assert.equal(lt.MetadataOptions.HttpTokens, 'required');
  assert.equal(lt.BlockDeviceMappings[0].Ebs.Encrypted, true);
  // Without this the host-network SFU task would get no task-role credentials.
  assert.match(JSON.stringify(lt.UserData), /ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST=true/);
});

test('SFU instance type and fleet size come from context; Graviton types get arm64 AMI and image', () => {
  const { stack, template, outdir } = synth({
    sfuInstanceType: 'c7g.xlarge',
    sfuDesiredCount: 3,
    sfuMaxCount: 10,
  });
  const lt = sfuLaunchTemplate(stack, template);
  assert.equal(lt.InstanceType, 'c7g.xlarge');
  assert.match(JSON.stringify(template.toJSON().Parameters), /amazon-linux-2023\/arm64/);
  const target = only(template, 'AWS::ApplicationAutoScaling::ScalableTarget').Properties;
  assert.equal(target.MinCapacity, 3);
  assert.equal(target.MaxCapacity, 10);
  const assets = JSON.parse(fs.readFileSync(path.join(outdir, `${stack.artifactId}.assets.json`), 'utf8'));
  const image = Object.values<any>(assets.dockerImages)[0];
  assert.equal(image.source.platform, 'linux/arm64');
});

test('SFU autoscaling tracks CPU', () => {
  const { stack, template } = synth();
  const policy = only(template, 'AWS::ApplicationAutoScaling::ScalingPolicy').Properties;
  assert.equal(policy.PolicyType, 'TargetTrackingScaling');
  const config = policy.TargetTrackingScalingPolicyConfiguration;
  assert.equal(config.TargetValue, 60);
  assert.equal(config.CustomizedMetricSpecification.MetricName, 'CPUUtilization');
  assert.deepEqual(config.CustomizedMetricSpecification.Dimensions, [
    { Name: 'AutoScalingGroupName', Value: { Ref: logicalId(stack, stack.sfu.autoScalingGroup) } },
  ]);
});

test('SFU task role: ManageConnections on the WebSocket API and the Redis auth, token and webhook secrets, nothing else', () => {
  const { stack, template } = synth();
  const task = resourceOf(stack, template, stack.sfu.service.taskDefinition).Properties;
  const statements = statementsOfRole(template, task.TaskRoleArn['Fn::GetAtt'][0]);
  assert.deepEqual(statements.map((s) => asArray(s.Action)).sort(), [
    ['execute-api:ManageConnections'],
    ['secretsmanager:GetSecretValue'],
  ]);
  const secrets = statements.find((s) => s.Action === 'secretsmanager:GetSecretValue');
  assert.deepEqual(
    asArray(secrets.Resource)
      .map((r: any) => r.Ref)
      .sort(),
    [stack.secrets.redisAuth, stack.secrets.token, stack.secrets.webhook]
      .map((s) => logicalId(stack, s))
      .sort(),
  );
  // The environment names the same secrets the role may read.
  const env = Object.fromEntries(task.ContainerDefinitions[0].Environment.map((e: any) => [e.Name, e.Value]));
  assert.deepEqual(
    Object.keys(env)
      .filter((k) => k.endsWith('_SECRET_ARN'))
      .map((k) => env[k].Ref)
      .sort(),
    asArray(secrets.Resource)
      .map((r: any) => r.Ref)
      .sort(),
  );
  assert.equal(env.VEET_WEBHOOK_SECRET_ARN.Ref, logicalId(stack, stack.secrets.webhook));
  template.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: Match.objectLike({
      Statement: [Match.objectLike({ Principal: { Service: 'ecs-tasks.amazonaws.com' } })],
    }),
  });
});

test('SFU image: the Dockerfile builds the workspace `veet` binary and runs `veet sfu`', () => {
  const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const cli = fs.readFileSync(path.join(REPO_ROOT, 'cli', 'Cargo.toml'), 'utf8');
  assert.match(cli, /^name = "veet"$/m, 'the cli crate is the `veet` package');
  assert.match(cli, /\[\[bin\]\]\s*name = "veet"/, 'with a `veet` binary');
  assert.match(dockerfile, /cargo build --release --locked -p veet --bin veet/);
  assert.match(dockerfile, /^ENTRYPOINT \["veet"\]$/m);
  assert.match(dockerfile, /^CMD \["sfu"\]$/m);
  assert.match(dockerfile, /curl/, 'the health check runs curl in the container');
});

test('SFU image build context is the workspace sources, without build output or other apps', () => {
  const { stack, outdir } = synth();
  const assets = JSON.parse(fs.readFileSync(path.join(outdir, `${stack.artifactId}.assets.json`), 'utf8'));
  const images = Object.values<any>(assets.dockerImages);
  assert.equal(images.length, 1);
  const context = path.join(outdir, images[0].source.directory);
  const entries = fs.readdirSync(context).sort();
  for (const required of ['Cargo.toml', 'Cargo.lock', 'Dockerfile', 'cli', 'core', 'lambdas']) {
    assert.ok(entries.includes(required), `${required} is in the build context`);
  }
  for (const excluded of ['target', 'cdk', 'web', '.git']) {
    assert.ok(!entries.includes(excluded), `${excluded} is not in the build context`);
  }
  assert.equal(images[0].source.platform, 'linux/amd64');
});
