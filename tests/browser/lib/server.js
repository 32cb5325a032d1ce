// Starts a real `veet dev` on a free loopback port serving the built web app.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const VEET_BIN = process.env.VEET_BIN ?? resolve(ROOT, "target/debug/veet");
export const WEB_DIR = process.env.VEET_WEB_DIR ?? resolve(ROOT, "web/dist");

/** `env` is added to the server's environment (e.g. TURN settings). */
export async function startVeet({ env = {} } = {}) {
  if (!existsSync(VEET_BIN)) throw new Error(`${VEET_BIN} is missing: run cargo build -p veet`);
  if (!existsSync(resolve(WEB_DIR, "index.html"))) throw new Error(`${WEB_DIR} has no build: run npm run build in web/`);
  // --public-rooms: the tests open meetings at codes of their own choosing, as guests.
  const args = ["dev", "--bind", "127.0.0.1", "--port", "0", "--apigw-jitter-ms", "50", "--public-rooms"];
  const child = spawn(VEET_BIN, args, {
    env: { ...process.env, VEET_WEB_DIR: WEB_DIR, RUST_LOG: process.env.RUST_LOG ?? "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs = [];
  const keep = (chunk) => {
    logs.push(chunk.toString());
    if (logs.length > 2000) logs.splice(0, logs.length - 2000);
  };
  child.stderr.on("data", keep);
  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`veet dev did not start:\n${logs.join("")}`)), 30_000);
    let out = "";
    child.stdout.on("data", (d) => {
      keep(d);
      out += d.toString();
      const m = out.match(/running at (http:\/\/[\d.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`veet dev exited with ${code}:\n${logs.join("")}`));
    });
  });
  return {
    url,
    logs: () => logs.join(""),
    /** The dev server's test hook: closes every client's WebSocket. */
    async dropConnections() {
      const res = await fetch(`${url}/api/dev/drop-connections`, { method: "POST" });
      if (!res.ok) throw new Error(`drop-connections: HTTP ${res.status}`);
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await new Promise((r) => {
        const t = setTimeout(() => {
          child.kill("SIGKILL");
          r();
        }, 5000);
        child.on("exit", () => {
          clearTimeout(t);
          r();
        });
      });
    },
  };
}
