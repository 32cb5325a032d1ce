import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { loadConfig, parseWebhookUrls } from '../lib/config';
import { VeetStack } from '../lib/veet-stack';
import { logicalId, resourceOf, resourcesOfType, synth } from './helpers';

const URLS = 'https://hooks.example.com/veet, https://audit.example.org:8443/in?src=veet';
const JOINED = 'https://hooks.example.com/veet,https://audit.example.org:8443/in?src=veet';

/** `VEET_WEBHOOK_URLS` as the signaling Lambda, the room API Lambda and the SFU task see it. */
function webhookUrlsOf(stack: VeetStack, template: ReturnType<typeof synth>['template']) {
  const resources = template.toJSON().Resources;
  const lambdaEnv = (fn: { node: { defaultChild?: unknown } }) =>
    resources[logicalId(stack, fn as any)].Properties.Environment.Variables;
  const container = resourceOf(stack, template, stack.sfu.service.taskDefinition).Properties
    .ContainerDefinitions[0];
  const sfuEnv = Object.fromEntries(container.Environment.map((e: any) => [e.Name, e.Value]));
  return {
    signaling: lambdaEnv(stack.signaling.function.fn).VEET_WEBHOOK_URLS,
    roomApi: lambdaEnv(stack.roomApi.function.fn).VEET_WEBHOOK_URLS,
    sfu: sfuEnv.VEET_WEBHOOK_URLS,
    secretArns: [
      lambdaEnv(stack.signaling.function.fn).VEET_WEBHOOK_SECRET_ARN,
      lambdaEnv(stack.roomApi.function.fn).VEET_WEBHOOK_SECRET_ARN,
      sfuEnv.VEET_WEBHOOK_SECRET_ARN,
    ],
  };
}

test('webhookUrls context reaches the signaling Lambda, the room API Lambda and the SFU task', () => {
  const { stack, template } = synth({ webhookUrls: URLS });
  const seen = webhookUrlsOf(stack, template);
  assert.deepEqual(
    { signaling: seen.signaling, roomApi: seen.roomApi, sfu: seen.sfu },
    { signaling: JOINED, roomApi: JOINED, sfu: JOINED },
  );
  // All three sign or queue with the one webhook key.
  const webhookSecret = logicalId(stack, stack.secrets.webhook);
  assert.deepEqual(seen.secretArns, [{ Ref: webhookSecret }, { Ref: webhookSecret }, { Ref: webhookSecret }]);
});

test('without webhookUrls no component is given VEET_WEBHOOK_URLS', () => {
  const { stack, template } = synth();
  const seen = webhookUrlsOf(stack, template);
  assert.deepEqual([seen.signaling, seen.roomApi, seen.sfu], [undefined, undefined, undefined]);
  assert.ok(!JSON.stringify(template.toJSON()).includes('VEET_WEBHOOK_URLS'));
  // Empty values mean none, as in the Rust binaries.
  for (const webhookUrls of ['', ' , ']) {
    assert.deepEqual(loadConfig(new App({ context: { webhookUrls } }).node, {}).webhookUrls, []);
  }
});

test('webhookUrls may be a list in cdk.json', () => {
  const config = loadConfig(
    new App({ context: { webhookUrls: ['https://a.example.com/x', 'https://b.example.com/y'] } }).node,
    {},
  );
  assert.deepEqual(config.webhookUrls, ['https://a.example.com/x', 'https://b.example.com/y']);
});

test('invalid webhookUrls context is refused with the key and the URL named', () => {
  for (const [raw, message] of [
    [
      'http://hooks.example.com/veet',
      /webhookUrls: http:\/\/hooks\.example\.com\/veet: expected an https:\/\/ URL/,
    ],
    ['hooks.example.com/veet', /webhookUrls: hooks\.example\.com\/veet: not a URL/],
    [
      'https://ok.example.com, ftp://x.example.com',
      /webhookUrls: ftp:\/\/x\.example\.com: expected an https/,
    ],
    ['https://user:pw@hooks.example.com/', /webhookUrls: .*credentials in the URL/],
    ['https://hooks.example.com/a b', /webhookUrls: .*whitespace/],
    [
      'https://a.example.com/x,https://a.example.com/x',
      /webhookUrls: https:\/\/a\.example\.com\/x: listed twice/,
    ],
  ] as const) {
    assert.throws(() => parseWebhookUrls(raw), message, raw);
  }
  // Through the app as `-c webhookUrls=…` gives it: synthesis stops before building anything.
  assert.throws(
    () => synth({ webhookUrls: 'http://hooks.example.com/veet' }),
    /context webhookUrls: .*https/,
  );
  assert.deepEqual(parseWebhookUrls(URLS), JOINED.split(','));
});

test('SFU nodes can deliver webhooks: HTTPS out to the internet is allowed', () => {
  const { stack, template } = synth();
  const sg = resourcesOfType(template, 'AWS::EC2::SecurityGroup')[logicalId(stack, stack.sfu.securityGroup)];
  const egress: any[] = sg.Properties.SecurityGroupEgress ?? [];
  const allowsHttps = egress.some(
    (r) =>
      r.CidrIp === '0.0.0.0/0' &&
      (r.IpProtocol === '-1' || (r.IpProtocol === 'tcp' && r.FromPort <= 443 && r.ToPort >= 443)),
  );
  assert.ok(allowsHttps, JSON.stringify(egress));
  // Their subnets route to the internet directly (public IPs, no NAT in the way).
  const asg = resourceOf(stack, template, stack.sfu.autoScalingGroup).Properties;
  assert.deepEqual(
    asg.VPCZoneIdentifier,
    stack.network.vpc.publicSubnets.map((s) => stack.resolve(s.subnetId)),
  );
});
