import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../lib/app';
import { webDistForTests, synth } from './helpers';

test('cdk-nag AwsSolutions: no unacknowledged finding', () => {
  const { stack } = synth();
  const report = new AwsSolutionsChecks().validateScope(stack);
  const findings = report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`),
  );
  assert.deepEqual(findings, []);
});

test('cdk-nag AwsSolutions with a custom domain: no unacknowledged finding', () => {
  const { stack } = synth({
    domainName: 'meet.example.com',
    hostedZoneId: 'Z0123456789ABC',
    hostedZoneName: 'example.com',
  });
  assert.deepEqual(new AwsSolutionsChecks().validateScope(stack).violations, []);
});

test('every acknowledged finding says why', () => {
  const { stack } = synth();
  const acknowledged: [string, string][] = [];
  for (const c of stack.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>))
        acknowledged.push([id, reason]);
    }
  }
  assert.ok(acknowledged.length > 0);
  for (const [id, reason] of acknowledged) {
    assert.ok(reason.trim().length >= 30, `${id}: "${reason}" is not a reason`);
  }
});

test('synthesis fails on a new unacknowledged finding', () => {
  const { app, stack } = buildApp({ context: { webDist: webDistForTests() } });
  const sg = new ec2.SecurityGroup(stack, 'Oops', { vpc: stack.network.vpc });
  sg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(22));
  const errors: string[] = [];
  const log = console.error;
  console.error = (...args: unknown[]) => void errors.push(args.join(' '));
  try {
    assert.throws(() => app.synth(), /Validation failed/);
  } finally {
    console.error = log;
  }
  assert.match(errors.join('\n'), /AwsSolutions-EC23[\s\S]*Veet\/Oops/);
});
