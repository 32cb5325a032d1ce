import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import { coturnCommand, DENIED_PEER_RANGES } from '../lib/turn';
import { loadConfig } from '../lib/config';
import { App } from 'aws-cdk-lib';
import { logicalId, resourceOf, resourcesOfType, statementsOfRole, synth, tempDir } from './helpers';

const DOMAIN = {
  domainName: 'meet.example.com',
  hostedZoneId: 'Z0123456789ABC',
  hostedZoneName: 'example.com',
};

function signalingEnv(
  stack: ReturnType<typeof synth>['stack'],
  template: ReturnType<typeof synth>['template'],
) {
  const fn = resourceOf(stack, template, stack.signaling.function.fn);
  return { fn, env: fn.Properties.Environment.Variables };
}

test('TURN: coturn on its own instances with host networking, one per instance, secret from Secrets Manager', () => {
  const { stack, template } = synth();
  const turn = stack.turn!;
  const task = resourceOf(stack, template, turn.service.taskDefinition).Properties;
  assert.equal(task.NetworkMode, 'host');
  const [container] = task.ContainerDefinitions;
  assert.equal(container.Image, 'coturn/coturn:4.6');
  assert.deepEqual(container.EntryPoint, ['sh', '-c']);
  const command: string = container.Command[0];
  for (const flag of ['--use-auth-secret', '--static-auth-secret="$TURN_SECRET"', '--no-cli', '--no-tls']) {
    assert.ok(command.includes(flag), `${flag} in ${command}`);
  }
  assert.match(
    command,
    /--external-ip="\$\(cat \/run\/veet-turn\/public-ipv4\)\/\$\(cat \/run\/veet-turn\/local-ipv4\)"/,
  );
  assert.match(
    command,
    /--denied-peer-ip=169\.254\.0\.0-169\.254\.255\.255/,
    'relays never reach instance metadata',
  );
  assert.deepEqual(container.Secrets, [
    { Name: 'TURN_SECRET', ValueFrom: { Ref: logicalId(stack, stack.secrets.turn) } },
  ]);
  // No secret value in the template: only the reference.
  assert.ok(!JSON.stringify(container.Environment ?? []).includes('TURN_SECRET'));

  const service = resourceOf(stack, template, turn.service).Properties;
  assert.equal(service.SchedulingStrategy, 'DAEMON');
  const asg = resourceOf(stack, template, turn.autoScalingGroup).Properties;
  assert.equal(asg.MinSize, '2');
  assert.equal(asg.MaxSize, '2');
  const userData = JSON.stringify(template.toJSON().Resources);
  assert.match(userData, /meta-data\/public-ipv4 > \/run\/veet-turn\/public-ipv4/);
});

test('TURN load balancer: 3478 TCP+UDP and 443 plain TCP without a domain; signaling hands out all three', () => {
  const { stack, template } = synth();
  const lbId = logicalId(stack, stack.turn!.loadBalancer);
  const lb = resourceOf(stack, template, stack.turn!.loadBalancer).Properties;
  assert.equal(lb.Type, 'network');
  assert.equal(lb.Scheme, 'internet-facing');
  const listeners = Object.values(resourcesOfType(template, 'AWS::ElasticLoadBalancingV2::Listener'))
    .filter((l) => l.Properties.LoadBalancerArn.Ref === lbId)
    .map((l) => `${l.Properties.Protocol} ${l.Properties.Port}`)
    .sort();
  assert.deepEqual(listeners, ['TCP 443', 'TCP_UDP 3478']);
  for (const group of Object.values(resourcesOfType(template, 'AWS::ElasticLoadBalancingV2::TargetGroup'))) {
    assert.equal(group.Properties.Port, 3478, 'every listener reaches coturn on 3478');
  }

  const { fn, env } = signalingEnv(stack, template);
  const urls = JSON.stringify(stack.resolve(env.VEET_TURN_URLS));
  const host = JSON.stringify({ 'Fn::GetAtt': [lbId, 'DNSName'] });
  assert.ok(urls.includes(host), urls);
  assert.match(urls, /turn:.*:3478,turn:.*:3478\?transport=tcp,turn:.*:443\?transport=tcp/);
  assert.deepEqual(env.VEET_TURN_SECRET_ARN, { Ref: logicalId(stack, stack.secrets.turn) });
  const reads = statementsOfRole(template, fn.Properties.Role['Fn::GetAtt'][0])
    .filter((s) => s.Action === 'secretsmanager:GetSecretValue')
    .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
  assert.ok(
    reads.some((r: any) => r.Ref === logicalId(stack, stack.secrets.turn)),
    'signaling may read the TURN secret',
  );
});

test('TURN with a custom domain: TLS on 443 with a certificate for turn.<domain>, offered as turns:', () => {
  const { stack, template } = synth(DOMAIN);
  const lbId = logicalId(stack, stack.turn!.loadBalancer);
  const tls = Object.values(resourcesOfType(template, 'AWS::ElasticLoadBalancingV2::Listener')).find(
    (l) => l.Properties.LoadBalancerArn.Ref === lbId && l.Properties.Port === 443,
  )!;
  assert.equal(tls.Properties.Protocol, 'TLS');
  assert.equal(tls.Properties.Certificates.length, 1);
  const certs = Object.values(resourcesOfType(template, 'AWS::CertificateManager::Certificate')).map(
    (c) => c.Properties.DomainName,
  );
  assert.ok(certs.includes('turn.meet.example.com'), JSON.stringify(certs));
  const records = Object.values(resourcesOfType(template, 'AWS::Route53::RecordSet')).map(
    (r) => r.Properties.Name,
  );
  assert.ok(records.includes('turn.meet.example.com.'), JSON.stringify(records));
  const { env } = signalingEnv(stack, template);
  assert.equal(
    env.VEET_TURN_URLS,
    'turn:turn.meet.example.com:3478,turn:turn.meet.example.com:3478?transport=tcp,turns:turn.meet.example.com:443?transport=tcp',
  );
});

test('-c turnCount=0 deploys no TURN and gives signaling none', () => {
  const { stack, template } = synth({ turnCount: 0 });
  assert.equal(stack.turn, undefined);
  assert.deepEqual(resourcesOfType(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer'), {});
  const { env } = signalingEnv(stack, template);
  assert.equal(env.VEET_TURN_URLS, undefined);
  assert.equal(env.VEET_TURN_SECRET_ARN, undefined);
});

test('TURN relay ports are checked: in range and clear of the TURN port', () => {
  const config = (context: Record<string, unknown>) => loadConfig(new App({ context }).node, {});
  assert.throws(
    () => config({ turnRelayPortMin: 3000, turnRelayPortMax: 4000 }),
    /includes the TURN port 3478/,
  );
  assert.throws(() => config({ turnRelayPortMin: 60000, turnRelayPortMax: 50000 }), /below turnRelayPortMin/);
  assert.throws(() => config({ turnCount: 99 }), /turnCount=99/);
});

/** A TCP port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** `turnutils_uclient` (shipped with coturn) against a server: what it printed. */
function uclient(port: number, username: string, password: string): string {
  const run = spawnSync(
    'turnutils_uclient',
    ['-y', '-n', '1', '-m', '1', '-u', username, '-w', password, '-p', String(port), '127.0.0.1'],
    { timeout: 8000, encoding: 'utf8' },
  );
  return `${run.stdout}${run.stderr}`;
}

test('the coturn command line runs on real coturn: REST credentials allocate, others do not, private peers are refused', async (t) => {
  const port = await freePort();
  const dir = tempDir('veet-turn-');
  fs.writeFileSync(path.join(dir, 'public-ipv4'), '127.0.0.1');
  fs.writeFileSync(path.join(dir, 'local-ipv4'), '127.0.0.1');
  const config = {
    turnRelayPortMin: 42000 + (port % 1000) * 10,
    turnRelayPortMax: 42009 + (port % 1000) * 10,
  };
  // The deployed command, on loopback and a free port instead of every interface's 3478.
  const command = coturnCommand(config as any, dir).replace(
    '--listening-port=3478',
    `--listening-port=${port} --listening-ip=127.0.0.1`,
  );
  assert.notEqual(command, coturnCommand(config as any, dir), 'the port was replaced');
  const secret = 'north-wind';
  const server = spawn('sh', ['-c', command], { env: { ...process.env, TURN_SECRET: secret } });
  let log = '';
  server.stdout.on('data', (d) => (log += d));
  server.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => server.on('exit', resolve));
  t.after(() => server.kill());

  // Up when it accepts TCP on its port (or gone, with its log saying why).
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (server.exitCode !== null || i > 100) assert.fail(`coturn did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  // Credentials exactly as veet_core::turn issues them.
  const username = `${Math.floor(Date.now() / 1000) + 600}:alice`;
  const password = createHmac('sha1', secret).update(username).digest('base64');
  const good = uclient(port, username, password);
  assert.doesNotMatch(good, /Cannot complete Allocation/, good);
  // Allocated; the relay to a loopback peer is then refused by the denied-peer policy.
  assert.match(good, /403 \(Forbidden IP\)/, good);

  const bad = uclient(port, username, createHmac('sha1', 'another').update(username).digest('base64'));
  assert.match(bad, /Cannot complete Allocation/, bad);

  server.kill();
  await exited;
  assert.ok(DENIED_PEER_RANGES.includes('127.0.0.0-127.255.255.255'));
});
