// A Veet fleet in processes, for the browser: a private redis-server, the signaling emulator
// (`veet dev --no-sfu --redis`, serving the web app, with API Gateway jitter on) and SFU nodes
// (`veet sfu`), all on loopback. The JavaScript twin of tests/src/cluster.rs.

import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, connect } from "node:net";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { VEET_BIN, WEB_DIR } from "./server.js";

const run = promisify(execFile);

export const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? "redis-server";
export const REDIS_CLI = process.env.REDIS_CLI_BIN ?? "redis-cli";
/** The token secret every process of the cluster shares. */
export const SECRET = "browser-cluster-test-secret";

/** A TCP port nothing listens on right now. */
export async function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

function canConnect(port) {
  return new Promise((res) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      res(true);
    });
    s.once("error", () => res(false));
  });
}

/** Polls `check` until it returns a truthy value; fails with `what` (and `detail()`) at the deadline. */
export async function waitFor(check, { what, timeout = 20_000, interval = 100, detail = () => "" }) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A child process with its output kept (the last ~2000 chunks). */
export class Proc {
  constructor(name, cmd, args, env = {}) {
    this.name = name;
    this.lines = [];
    this.child = spawn(cmd, args, {
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "info", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.exited = new Promise((res) => this.child.on("exit", (code, signal) => res({ code, signal })));
    const keep = (d) => {
      this.lines.push(d.toString());
      if (this.lines.length > 2000) this.lines.splice(0, this.lines.length - 2000);
    };
    this.child.stdout.on("data", keep);
    this.child.stderr.on("data", keep);
    this.child.on("error", (e) => keep(`spawn error: ${e.message}\n`));
  }

  get running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  log() {
    return this.lines.join("");
  }

  async waitListening(port, timeout = 30_000) {
    await waitFor(
      async () => {
        if (!this.running) throw new Error(`${this.name} exited early:\n${this.log()}`);
        return canConnect(port);
      },
      { what: `${this.name} to listen on ${port}`, timeout, detail: () => this.log() },
    );
  }

  /** Sends `signal`; resolves once the process is gone (SIGKILL after `graceMs`). */
  async kill(signal = "SIGTERM", graceMs = 10_000) {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }
}

/**
 * Starts redis, signaling and `nodes` SFU nodes (ids node-0, node-1, …), each node registered
 * before this resolves.
 */
export async function startCluster({ nodes = 2, jitterMs = 50, drainSecs = 5 } = {}) {
  if (!existsSync(VEET_BIN)) throw new Error(`${VEET_BIN} is missing: run cargo build -p veet`);
  if (!existsSync(resolve(WEB_DIR, "index.html"))) throw new Error(`${WEB_DIR} has no build: run npm run build in web/`);

  const redisPort = await freePort();
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const devPort = await freePort();
  const procs = [];
  const cluster = {
    redisPort,
    redisUrl,
    url: `http://127.0.0.1:${devPort}`,
    redis: null,
    signaling: null,
    /** Every node started, live or not: { id, httpPort, proc }. */
    nodes: [],
    nextNode: 0,

    /** redis-cli against the cluster's Redis; resolves with trimmed stdout. */
    async redisCli(...args) {
      const { stdout } = await run(REDIS_CLI, ["-p", String(redisPort), "--raw", ...args]);
      return stdout.trim();
    },

    async startRedis() {
      const proc = new Proc("redis", REDIS_SERVER, [
        "--port", String(redisPort),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
      ]);
      procs.push(proc);
      this.redis = proc;
      await proc.waitListening(redisPort);
      await waitFor(async () => (await this.redisCli("PING").catch(() => "")) === "PONG", {
        what: "redis to answer PING",
        detail: () => proc.log(),
      });
    },

    /** Restarts Redis on the same port, empty (no persistence): what a failover without replicas loses. */
    async restartRedis({ signal = "SIGKILL" } = {}) {
      await this.redis.kill(signal);
      await this.startRedis();
    },

    /** Starts one more SFU node and waits until it is in the registry. */
    async startNode(id = `node-${this.nextNode}`) {
      this.nextNode += 1;
      const httpPort = await freePort();
      const proc = new Proc(
        id,
        VEET_BIN,
        [
          "sfu",
          "--redis", redisUrl,
          "--apigw-endpoint", `http://127.0.0.1:${devPort}`,
          "--http", `127.0.0.1:${httpPort}`,
          "--bind-ip", "127.0.0.1",
          "--drain-secs", String(drainSecs),
        ],
        {
          VEET_SFU_NODE_ID: id,
          VEET_SFU_HEARTBEAT_MS: "300",
          VEET_SFU_TTL_MS: "1500",
          VEET_TOKEN_SECRET: SECRET,
        },
      );
      procs.push(proc);
      const node = { id, httpPort, proc, stopping: false };
      this.nodes.push(node);
      await proc.waitListening(httpPort);
      await waitFor(async () => (await this.redisCli("EXISTS", `veet:node:${id}`).catch(() => "0")) === "1", {
        what: `${id} to register in redis`,
        detail: () => proc.log(),
      });
      return node;
    },

    node(id) {
      const n = this.nodes.find((x) => x.id === id);
      if (!n) throw new Error(`no node ${id}; nodes: ${this.nodes.map((x) => x.id).join(", ")}`);
      return n;
    },

    /** Nodes running and not told to stop. */
    liveNodes() {
      return this.nodes.filter((n) => n.proc.running && !n.stopping);
    },

    /** Starts nodes until `count` are live. */
    async ensureNodes(count) {
      while (this.liveNodes().length < count) await this.startNode();
    },

    /** SIGTERM (drain: the node moves its rooms, then exits) or SIGKILL (dies on the spot). */
    async killNode(id, signal = "SIGTERM") {
      const n = this.node(id);
      n.stopping = true;
      return n.proc.kill(signal, (drainSecs + 10) * 1000);
    },

    /** Sends a signal without waiting for the exit (a draining node takes drainSecs). */
    signalNode(id, signal) {
      const n = this.node(id);
      n.stopping = true;
      n.proc.child.kill(signal);
    },

    /** The node the room is assigned to, from Redis ("" when none). */
    async roomNode(code) {
      return this.redisCli("HGET", `veet:room:{${code}}`, "node").catch(() => "");
    },

    /** Every process's log, for failure reports. */
    logs() {
      return procs.map((p) => `===== ${p.name}${p.running ? "" : " (exited)"} =====\n${p.log()}`).join("\n");
    },

    async stop() {
      await Promise.all(procs.map((p) => p.kill("SIGKILL")));
    },
  };

  try {
    await cluster.startRedis();
    const signaling = new Proc(
      "veet-dev",
      VEET_BIN,
      [
        "dev",
        "--no-sfu",
        "--bind", "127.0.0.1",
        "--port", String(devPort),
        "--redis", redisUrl,
        "--apigw-jitter-ms", String(jitterMs),
        // The tests open meetings at codes of their own choosing, as guests.
        "--public-rooms",
      ],
      { VEET_TOKEN_SECRET: SECRET, VEET_WEB_DIR: WEB_DIR },
    );
    procs.push(signaling);
    cluster.signaling = signaling;
    await signaling.waitListening(devPort);
    for (let i = 0; i < nodes; i++) await cluster.startNode();
  } catch (e) {
    const logs = cluster.logs();
    await cluster.stop();
    throw new Error(`${e.message}\n${logs}`);
  }
  return cluster;
}
