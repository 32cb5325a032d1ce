// A meeting survives fleet changes: a real cluster (redis-server, `veet dev --no-sfu --redis`
// with API Gateway jitter, two `veet sfu` nodes) and two Chromiums per test. The hosting node
// drains (SIGTERM) or dies (kill -9), or Redis restarts empty, mid-call: the call goes on,
// without a reload and without the end screen.

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { launchParticipant } from "./lib/browser.js";
import { startCluster, waitFor } from "./lib/cluster.js";
import { assertMediaFlowing, joinAs, logTail, pageSummary, pcCount, statsDump, tile, waitForAudioPlaying, waitForVideo } from "./lib/meeting.js";

describe("a meeting through fleet changes", () => {
  let cluster;
  let people = {};

  before(async () => {
    cluster = await startCluster({ nodes: 2, jitterMs: 50 });
  });

  after(async () => {
    await closeAll();
    await cluster?.stop();
  });

  async function closeAll() {
    for (const p of Object.values(people)) await p.close();
    people = {};
  }

  const page = (name) => people[name].page;

  async function saveArtifacts(label) {
    const dir = process.env.VEET_E2E_ARTIFACTS ?? join(tmpdir(), `veet-fleet-${Date.now()}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${label}-cluster.log`), cluster?.logs() ?? "");
    for (const [who, p] of Object.entries(people)) {
      writeFileSync(join(dir, `${label}-${who}-console.log`), p.consoleLines.join("\n"));
      const frames = await p.page.evaluate(() => window.__veetFrames).catch((e) => String(e));
      writeFileSync(join(dir, `${label}-${who}-frames.json`), JSON.stringify(frames ?? null, null, 1));
      await p.page.screenshot({ path: join(dir, `${label}-${who}.png`) }).catch(() => {});
      writeFileSync(join(dir, `${label}-${who}-webrtc.txt`), await statsDump(p.page, { sdp: true }).catch((e) => String(e)));
    }
    return dir;
  }

  /** Each test gets fresh browsers and a fresh room; on failure, everything to debug it. */
  const scenario = (name, fn) =>
    test(name, async (t) => {
      try {
        await fn(t);
        if (process.env.VEET_E2E_ARTIFACTS) await saveArtifacts(name.split(" ")[0]);
      } catch (e) {
        const dir = await saveArtifacts(name.split(" ")[0]).catch((err) => `(could not save: ${err})`);
        t.diagnostic(`artifacts (cluster log, consoles, frames, WebRTC stats): ${dir}`);
        for (const [who, p] of Object.entries(people)) {
          for (const line of await pageSummary(p)) t.diagnostic(`${who}: ${line}`);
        }
        // One diagnostic per line: TAP escapes newlines inside one.
        for (const line of logTail(cluster.logs(), 60).split("\n")) t.diagnostic(`cluster: ${line}`);
        throw e;
      } finally {
        await closeAll();
        // The next scenario starts from two live nodes again, whatever this one did.
        await cluster.ensureNodes(2);
      }
    });

  /** Watches a page for what must not happen: a reload, or the end screen even for a moment. */
  async function watch(p) {
    await p.evaluate(() => {
      window.__noReload = true;
      window.__endSeen = false;
      window.__moves = [];
      const look = () => {
        if (document.querySelector('[data-testid="end-screen"]')) window.__endSeen = true;
        const moving = document.querySelector(".meeting")?.getAttribute("data-moving") ?? null;
        if (moving !== (window.__moves.at(-1)?.moving ?? "false")) window.__moves.push({ at: Date.now(), moving });
      };
      new MutationObserver(look).observe(document.body, { childList: true, subtree: true, attributes: true });
    });
  }

  async function assertStillInCall(p, who) {
    const s = await p.evaluate(() => ({ noReload: window.__noReload, endSeen: window.__endSeen }));
    assert.equal(s.noReload, true, `${who}'s page was reloaded`);
    assert.equal(s.endSeen, false, `${who} saw the end screen`);
  }

  const frames = (p) => p.evaluate(() => window.__veetFrames);
  const sockets = (p) => p.evaluate(() => window.__veetSockets);

  /** Alice opens a new meeting, Bob joins it; both see and hear each other. */
  async function meetingOfTwo() {
    for (const name of ["Alice", "Bob"]) people[name] = await launchParticipant(cluster.url);
    const alice = page("Alice");
    await alice.goto("/");
    await alice.getByRole("button", { name: "New meeting" }).click();
    await alice.waitForURL(/\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
    const url = alice.url();
    const code = new URL(url).pathname.slice(1);
    await joinAs(alice, url, "Alice");
    await joinAs(page("Bob"), url, "Bob");
    await waitForVideo(page("Alice"), "Bob");
    await waitForVideo(page("Bob"), "Alice");
    for (const n of ["Alice", "Bob"]) {
      await assertMediaFlowing(page(n), n);
      await waitForAudioPlaying(page(n), 1);
      await watch(page(n));
    }
    const host = await waitFor(() => cluster.roomNode(code), { what: `room ${code} to have a node` });
    return { url, code, host };
  }

  /**
   * After the hosting node went: the room is on another live node, and each participant moved
   * there on the same socket (a `migrate`), decodes the other's video and hears them again on
   * the new connections.
   */
  async function assertMoved(code, from, before) {
    const to = await waitFor(
      async () => {
        const n = await cluster.roomNode(code);
        return n && n !== from ? n : null;
      },
      { what: `room ${code} to move off ${from}`, timeout: 30_000, detail: () => cluster.logs() },
    );
    assert.ok(cluster.liveNodes().some((n) => n.id === to), `room moved to ${to}, which is not a live node`);
    for (const [who, other] of [["Alice", "Bob"], ["Bob", "Alice"]]) {
      const p = page(who);
      await p.locator('.meeting[data-status="joined"][data-moving="false"]').waitFor({ timeout: 30_000 });
      const got = await frames(p);
      assert.ok(
        got.some((f) => f.type === "migrate"),
        `${who} never got a migrate frame; frames: ${JSON.stringify(got.map((f) => f.type ?? f.code))}`,
      );
      assert.equal(await sockets(p), before[who].sockets, `${who} needed a new WebSocket`);
      await assertMediaFlowing(p, `${who} after the move`, { since: before[who].pcs });
      await waitForVideo(p, other);
      await waitForAudioPlaying(p, 1);
      await assertStillInCall(p, who);
    }
    return to;
  }

  /** From each page's migrate frame to the end of its move (old connections closed). */
  async function moveTimes() {
    const out = {};
    for (const n of ["Alice", "Bob"]) {
      out[n] = await page(n).evaluate(() => {
        const m = window.__veetFrames.find((f) => f.type === "migrate");
        const done = window.__moves.find((x) => x.moving === "false" && m && x.at >= m.at);
        return m && done ? `${done.at - m.at} ms` : "?";
      });
    }
    return JSON.stringify(out);
  }

  async function snapshot() {
    const out = {};
    for (const n of Object.keys(people)) out[n] = { pcs: await pcCount(page(n)), sockets: await sockets(page(n)) };
    return out;
  }

  scenario("drain: SIGTERM to the hosting node moves the call to the other node", async (t) => {
    const { code, host } = await meetingOfTwo();
    const before = await snapshot();
    const started = Date.now();
    cluster.signalNode(host, "SIGTERM");
    const to = await assertMoved(code, host, before);
    t.diagnostic(`room ${code}: ${host} → ${to}; migrate frame → move complete ${await moveTimes()}; media checked flowing on the new connections ${Date.now() - started} ms after the signal`);
    // The drained node finishes and exits on its own, within its drain time.
    const proc = cluster.node(host).proc;
    await waitFor(() => !proc.running, { what: `${host} to exit after draining`, timeout: 15_000, detail: () => proc.log() });
    t.diagnostic(`${host} exited: ${JSON.stringify(await proc.exited)}`);
  });

  scenario("node death: kill -9 of the hosting node moves the call to the other node", async (t) => {
    const { code, host } = await meetingOfTwo();
    const before = await snapshot();
    const started = Date.now();
    await cluster.killNode(host, "SIGKILL");
    const to = await assertMoved(code, host, before);
    t.diagnostic(`room ${code}: ${host} → ${to}; migrate frame → move complete ${await moveTimes()}; media checked flowing on the new connections ${Date.now() - started} ms after the signal`);
  });

  scenario("Redis restarts mid-call: the two keep talking, and a third who joins later sees and hears both", async (t) => {
    const { url, code, host } = await meetingOfTwo();
    const before = await snapshot();
    await cluster.restartRedis();
    const restarted = Date.now();
    for (const n of ["Alice", "Bob"]) await assertMediaFlowing(page(n), `${n} right after the Redis restart`);

    // Let every client's keepalive reach the new Redis (a ping answered after the restart), so
    // what the server does with connections it has forgotten has happened.
    for (const n of ["Alice", "Bob"]) {
      await waitFor(async () => (await frames(page(n))).some((f) => f.at > restarted && f.type === "pong"), {
        what: `${n} to get a pong after the restart`,
        timeout: 40_000,
      });
      await page(n).locator('.meeting[data-status="joined"]').waitFor({ timeout: 30_000 });
      await assertMediaFlowing(page(n), `${n} after the Redis restart`);
      await assertStillInCall(page(n), n);
    }
    const after = await snapshot();
    t.diagnostic(`sockets/peer connections before ${JSON.stringify(before)} after ${JSON.stringify(after)}`);

    people.Carol = await launchParticipant(cluster.url);
    const carol = page("Carol");
    await joinAs(carol, url, "Carol");
    await waitForVideo(carol, "Alice");
    await waitForVideo(carol, "Bob");
    await assertMediaFlowing(carol, "Carol", { minVideoStreams: 2 });
    await waitForAudioPlaying(carol, 2);
    for (const n of ["Alice", "Bob"]) {
      await tile(page(n), "Carol").waitFor({ timeout: 15_000 });
      await waitForVideo(page(n), "Carol");
      await assertStillInCall(page(n), n);
    }
    // One room, on one node (the state Redis lost was rebuilt).
    const node = await waitFor(() => cluster.roomNode(code), { what: `room ${code} to be known again` });
    t.diagnostic(`room ${code} was on ${host}, is on ${node} after the restart`);
  });
});
