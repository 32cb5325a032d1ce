import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CDK_DIR, synth } from './helpers';

function cfnLint(context: Record<string, unknown> = {}) {
  const { stack, outdir } = synth(context);
  const template = path.join(outdir, stack.templateFile);
  assert.ok(fs.existsSync(template));
  return spawnSync('cfn-lint', ['--config-file', path.join(CDK_DIR, '.cfnlintrc.yaml'), '--', template], {
    encoding: 'utf8',
  });
}

test('the synthesized template passes cfn-lint', () => {
  const run = cfnLint();
  assert.equal(run.error, undefined, 'cfn-lint must be installed (pip install cfn-lint)');
  assert.equal(run.status, 0, run.stdout + run.stderr);
});

test('the template with a custom domain and arm64 Lambdas passes cfn-lint', () => {
  const run = cfnLint({
    domainName: 'meet.example.com',
    hostedZoneId: 'Z0123456789ABC',
    hostedZoneName: 'example.com',
    lambdaArch: 'arm64',
    sfuInstanceType: 'c7g.large',
  });
  assert.equal(run.status, 0, run.stdout + run.stderr);
});
