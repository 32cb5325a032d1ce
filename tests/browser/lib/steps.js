// Test steps that build on each other, and what a failed one leaves behind to debug it.

import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { logTail, pageSummary, statsDump } from "./meeting.js";

/**
 * Everything needed to debug a failure, in one directory: the server log, and per person
 * their console, a screenshot and WebRTC stats with SDP.
 */
export async function saveArtifacts(label, server, people) {
  const dir = process.env.VEET_E2E_ARTIFACTS ?? join(tmpdir(), `veet-${label}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "veet-dev.log"), server.logs());
  for (const [who, p] of Object.entries(people)) {
    writeFileSync(join(dir, `${who}-console.log`), p.consoleLines.join("\n"));
    await p.page.screenshot({ path: join(dir, `${who}.png`) }).catch(() => {});
    writeFileSync(join(dir, `${who}-webrtc.txt`), await statsDump(p.page, { sdp: true }).catch((e) => String(e)));
  }
  return dir;
}

/**
 * `step(name, fn)` defines a test that is skipped once an earlier one failed (rather than
 * waiting out every timeout); a failure saves artifacts and prints, one diagnostic per line
 * (TAP escapes newlines inside one), each page's summary and the server log's tail — CI
 * keeps only the output. `failed()` names the failed step, if any.
 */
export function steps(label, server, people) {
  let broken = null;
  const step = (name, fn) =>
    test(name, async (t) => {
      if (broken) return t.skip(`an earlier step failed: ${broken}`);
      try {
        await fn(t);
      } catch (e) {
        broken = name;
        t.diagnostic(`artifacts (screenshots, console, WebRTC stats and SDP, server log): ${await saveArtifacts(label, server(), people())}`);
        for (const [who, p] of Object.entries(people())) {
          for (const line of await pageSummary(p)) t.diagnostic(`${who}: ${line}`);
        }
        for (const line of logTail(server().logs()).split("\n")) t.diagnostic(`server: ${line}`);
        throw e;
      }
    });
  return { step, failed: () => broken };
}
