import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { loadConfig } from '../lib/config';
import { CDK_DIR, synth, tempDir, webDistForTests } from './helpers';

test('`cdk synth` runs offline with no AWS credentials and produces the stack', () => {
  const home = tempDir('veet-cdk-home-');
  const out = tempDir('veet-cdk-cli-');
  // No credentials, no AWS config files, and any attempt to reach the network fails fast;
  // CARGO_TARGET_DIR, if set, says where the Lambda binaries were built.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    AWS_EC2_METADATA_DISABLED: 'true',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    HTTP_PROXY: 'http://127.0.0.1:9',
    ...(process.env.CARGO_TARGET_DIR && { CARGO_TARGET_DIR: process.env.CARGO_TARGET_DIR }),
  };
  const run = spawnSync(
    process.execPath,
    [
      require.resolve('aws-cdk/bin/cdk'),
      'synth',
      '--quiet',
      '--output',
      out,
      '-c',
      `webDist=${webDistForTests()}`,
    ],
    { cwd: CDK_DIR, env, encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(run.status, 0, run.stdout + run.stderr);

  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  assert.equal(manifest.missing, undefined, 'no context lookups');
  assert.equal(manifest.artifacts.Veet.environment, 'aws://123456789012/us-east-1');
  const template = JSON.parse(fs.readFileSync(path.join(out, 'Veet.template.json'), 'utf8'));
  const types = new Set(Object.values<any>(template.Resources).map((r) => r.Type));
  for (const type of [
    'AWS::EC2::VPC',
    'AWS::ElastiCache::ReplicationGroup',
    'AWS::ApiGatewayV2::Api',
    'AWS::Lambda::Function',
    'AWS::ECS::Service',
    'AWS::CloudFront::Distribution',
    'AWS::SecretsManager::Secret',
  ]) {
    assert.ok(types.has(type), `${type} in the template`);
  }
});

test('account and region come from the CDK environment, the region also from context', () => {
  const config = (context: Record<string, unknown>, env: NodeJS.ProcessEnv) =>
    loadConfig(new App({ context }).node, env);
  assert.deepEqual(
    [config({}, {}).account, config({}, {}).region],
    ['123456789012', 'us-east-1'],
    'offline defaults',
  );
  const env = { CDK_DEFAULT_ACCOUNT: '210987654321', CDK_DEFAULT_REGION: 'eu-central-1' };
  assert.equal(config({}, env).account, '210987654321');
  assert.equal(config({}, env).region, 'eu-central-1');
  assert.deepEqual(config({}, env).availabilityZones, ['eu-central-1a', 'eu-central-1b']);
  assert.equal(config({ region: 'ap-southeast-2' }, env).region, 'ap-southeast-2');
});

test('bad context values are rejected with the key named', () => {
  assert.throws(
    () => synth({ sfuMaxCount: 1, sfuDesiredCount: 2 }),
    /sfuMaxCount=1 is below sfuDesiredCount=2/,
  );
  assert.throws(() => synth({ sfuUdpPortMin: 'lots' }), /sfuUdpPortMin=lots/);
  assert.throws(() => synth({ lambdaArch: 'riscv' }), /lambdaArch=riscv/);
  assert.throws(() => synth({ availabilityZones: 'us-east-1a' }), /at least two zones/);
});

test('a missing Lambda binary is a clear error naming the build command', () => {
  assert.throws(
    () => synth({ lambdaAssets: '/nonexistent/lambda' }),
    /\/nonexistent\/lambda\/veet-signaling\/bootstrap is missing: build it first with `cargo lambda build --release -p veet-lambdas --bin veet-signaling`/,
  );
});
