import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { logicalId, synth } from './helpers';
import { invoke, startRedis } from './lambda-runtime';

let redis: Awaited<ReturnType<typeof startRedis>>;
before(async () => (redis = await startRedis()));
after(() => redis?.stop());

/** The staged code asset of a function in the cloud assembly: its `bootstrap` path. */
function bootstrapOf(fnLogicalId: string): string {
  const { stack, template, outdir } = synth();
  const key: string = template.toJSON().Resources[fnLogicalId].Properties.Code.S3Key;
  const assets = JSON.parse(fs.readFileSync(path.join(outdir, `${stack.artifactId}.assets.json`), 'utf8'));
  const source = assets.files[key.replace(/\.zip$/, '')].source;
  assert.equal(source.packaging, 'zip');
  return path.join(outdir, source.path, 'bootstrap');
}

/** An x86-64 Linux executable, as Lambda's x86_64 architecture runs. */
function assertLinuxX86Executable(file: string): void {
  const stat = fs.statSync(file);
  assert.ok(stat.mode & 0o111, `${file} is executable`);
  const header = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, header, 0, 20, 0);
  fs.closeSync(fd);
  assert.deepEqual([...header.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], 'ELF');
  assert.equal(header.readUInt16LE(18), 0x3e, 'x86-64');
}

test('signaling asset is the veet-signaling handler: $connect without a token gets 401', async () => {
  const { stack } = synth();
  const bootstrap = bootstrapOf(logicalId(stack, stack.signaling.function.fn));
  assertLinuxX86Executable(bootstrap);
  const event = {
    requestContext: {
      routeKey: '$connect',
      eventType: 'CONNECT',
      connectionId: 'abc=',
      connectedAt: 1,
      requestTimeEpoch: 1,
      domainName: 'x.execute-api.us-east-1.amazonaws.com',
      stage: 'prod',
      apiId: 'x',
      identity: { sourceIp: '1.2.3.4' },
    },
    isBase64Encoded: false,
  };
  const { response } = await invoke(bootstrap, event, {
    VEET_REDIS_URL: redis.url,
    VEET_TOKEN_SECRET: 'test',
  });
  assert.equal(response.statusCode, 401);
});

test('room API asset is the veet-room-api handler: POST /api/rooms creates a room', async () => {
  const { stack } = synth();
  const bootstrap = bootstrapOf(logicalId(stack, stack.roomApi.function.fn));
  assertLinuxX86Executable(bootstrap);
  const event = {
    version: '2.0',
    routeKey: 'ANY /api/{proxy+}',
    rawPath: '/api/rooms',
    rawQueryString: '',
    headers: { host: 'x.execute-api.us-east-1.amazonaws.com', 'content-type': 'application/json' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'x',
      domainName: 'x.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'x',
      http: {
        method: 'POST',
        path: '/api/rooms',
        protocol: 'HTTP/1.1',
        sourceIp: '1.2.3.4',
        userAgent: 'test',
      },
      requestId: 'r',
      routeKey: 'ANY /api/{proxy+}',
      stage: '$default',
      time: '25/Nov/2026:00:00:00 +0000',
      timeEpoch: 1,
    },
    body: '{}',
    isBase64Encoded: false,
  };
  const { response } = await invoke(bootstrap, event, {
    VEET_REDIS_URL: redis.url,
    VEET_TOKEN_SECRET: 'test',
    VEET_PUBLIC_URL: 'https://meet.example.com',
    VEET_WS_URL: 'wss://x.execute-api.us-east-1.amazonaws.com/prod',
  });
  assert.equal(response.statusCode, 201, JSON.stringify(response));
  const room = JSON.parse(response.body);
  assert.ok(room.url.startsWith('https://meet.example.com/'), room.url);
});
