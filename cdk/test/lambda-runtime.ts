import { ChildProcess, spawn } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { AddressInfo } from 'node:net';

/** A port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A throwaway redis-server on its own port, without persistence. */
export async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await answersPing(port)) break;
    if (Date.now() > deadline || proc.exitCode !== null) {
      proc.kill();
      throw new Error(`redis-server did not start on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => proc.kill() };
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('error', () => resolve(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
  });
}

export interface Invocation {
  /** The handler's response, as posted to the Runtime API. */
  readonly response: any;
  /** What the process printed, for diagnosing failures. */
  readonly output: string;
}

/**
 * Runs a Lambda `bootstrap` the way the `provided.al2023` runtime does: a local Lambda
 * Runtime API serves one event at `/invocation/next`, and the handler's answer comes back on
 * `/invocation/{id}/response` (or an error on `/error`).
 */
export async function invoke(
  bootstrap: string,
  event: unknown,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<Invocation> {
  const requestId = 'c0ffee00-0000-4000-8000-000000000001';
  let served = false;
  let settle!: { resolve: (v: any) => void; reject: (e: Error) => void };
  const result = new Promise<any>((resolve, reject) => (settle = { resolve, reject }));
  const parked: http.ServerResponse[] = [];

  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const url = req.url ?? '';
      if (req.method === 'GET' && url === '/2018-06-01/runtime/invocation/next') {
        // One event only; later polls wait until the test is over.
        if (served) return void parked.push(res);
        served = true;
        res.writeHead(200, {
          'Content-Type': 'application/json',
          'Lambda-Runtime-Aws-Request-Id': requestId,
          'Lambda-Runtime-Deadline-Ms': String(Date.now() + 30_000),
          'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:us-east-1:123456789012:function:veet-test',
          'Lambda-Runtime-Trace-Id': 'Root=1-00000000-000000000000000000000000',
        });
        return void res.end(JSON.stringify(event));
      }
      if (req.method === 'POST' && url === `/2018-06-01/runtime/invocation/${requestId}/response`) {
        res.writeHead(202).end();
        return settle.resolve(JSON.parse(body));
      }
      if (req.method === 'POST' && url.endsWith('/error')) {
        res.writeHead(202).end();
        return settle.reject(new Error(`handler reported an error at ${url}: ${body}`));
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  let output = '';
  const proc: ChildProcess = spawn(bootstrap, [], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}`,
      AWS_LAMBDA_FUNCTION_NAME: 'veet-test',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_STREAM_NAME: 'test',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/veet-test',
      AWS_REGION: 'us-east-1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => (output += d));
  proc.stderr!.on('data', (d) => (output += d));
  proc.on('exit', (code) =>
    settle.reject(new Error(`bootstrap exited (${code}) before answering:\n${output}`)),
  );
  const timer = setTimeout(
    () => settle.reject(new Error(`no response in ${timeoutMs} ms:\n${output}`)),
    timeoutMs,
  );

  try {
    const response = await result;
    return { response, output };
  } finally {
    clearTimeout(timer);
    proc.removeAllListeners('exit');
    proc.kill('SIGKILL');
    parked.forEach((res) => res.destroy());
    server.close();
  }
}
