// Large meetings end to end: simulcast publish, adaptive stream (the node forwards each
// subscriber the layer that fits the tile) and dynacast (layers nobody receives are paused
// at the publisher). Real `veet dev` and three Chromiums with fake 720p cameras.

import assert from "node:assert/strict";
import { after, before, describe } from "node:test";
import { launchParticipant } from "./lib/browser.js";
import { saveArtifacts, steps } from "./lib/steps.js";
import {
  inboundVideo,
  joinAs,
  outboundVideo,
  pollUntil,
  tile,
  tileTrackId,
  waitForVideo,
} from "./lib/meeting.js";
import { startVeet } from "./lib/server.js";

const NAMES = ["Alice", "Bob", "Carol"];

describe("a large meeting: simulcast, adaptive stream, dynacast", () => {
  let server;
  const people = {};
  let aliceCam;

  before(async () => {
    server = await startVeet();
    for (const name of NAMES) {
      people[name] = await launchParticipant(server.url);
      // Keep the `view` frames the page sends: what it told the node about each track.
      await people[name].context.addInitScript(() => {
        const send = WebSocket.prototype.send;
        window.__veetViews = {};
        WebSocket.prototype.send = function (data) {
          try {
            const f = JSON.parse(data);
            if (f.action === "view") for (const v of f.tracks) window.__veetViews[v.track_id] = v;
          } catch {}
          return send.call(this, data);
        };
      });
    }
  });

  after(async () => {
    if (process.env.VEET_E2E_ARTIFACTS && !failed()) await saveArtifacts("e2e-large", server, people);
    for (const p of Object.values(people)) await p.close();
    await server?.stop();
  });

  const page = (name) => people[name].page;

  const { step, failed } = steps("e2e-large", () => server, () => people);

  /** Alice's camera as `who` receives it. */
  const aliceOn = (who) => inboundVideo(page(who), aliceCam);
  /** What `who` last told the node about Alice's camera. */
  const viewOfAlice = (who) => page(who).evaluate((id) => window.__veetViews?.[id] ?? null, aliceCam);
  /** Waits until `who`'s last view of Alice's camera satisfies `ok`. */
  const waitForView = (who, ok, what) => pollUntil(() => viewOfAlice(who), (v) => !!v && ok(v), { what, timeout: 10_000, interval: 300 });

  step("three people meet and see each other", async () => {
    const alice = page("Alice");
    await alice.goto("/");
    await alice.getByRole("button", { name: "New meeting" }).click();
    await alice.waitForURL(/\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
    const url = alice.url();
    for (const n of NAMES) await joinAs(page(n), url, n);
    for (const n of NAMES) {
      for (const other of NAMES) if (other !== n) await waitForVideo(page(n), other, 45_000);
    }
    aliceCam = await tileTrackId(page("Bob"), "Alice");
    assert.ok(aliceCam, "Alice's tile on Bob's screen shows a track");
    assert.equal(await tileTrackId(page("Carol"), "Alice"), aliceCam);
  });

  step("the publisher sends its camera as three simulcast encodings", async (t) => {
    const rids = await pollUntil(
      async () => (await outboundVideo(page("Alice"))).map((s) => s.rid).sort(),
      (cur) => ["f", "h", "q"].every((r) => cur.includes(r)),
      { what: "Alice's q/h/f encodings", timeout: 30_000 },
    );
    t.diagnostic(`Alice's encodings: ${JSON.stringify(rids)}`);
  });

  step("shown small Alice's camera arrives smaller than where it is pinned large; unpinned it goes back down", async (t) => {
    // Both show the grid: three 16:9 tiles in 1280×720, about 550 px wide each.
    await tile(page("Bob"), "Alice").getByRole("button", { name: "Pin" }).click();
    const pin = tile(page("Bob"), "Alice").getByRole("button", { name: "Unpin" });
    assert.equal(await pin.getAttribute("aria-pressed"), "true");
    await page("Bob").locator('[data-testid="spotlight"] [data-name="Alice"]').waitFor();
    const large = await waitForView("Bob", (v) => v.pinned && v.width > 900, "Bob reports Alice pinned and large");
    const small = await waitForView("Carol", (v) => !v.pinned && v.width > 0 && v.width < 700, "Carol reports Alice small");
    t.diagnostic(`views: Bob ${large.width}x${large.height} pinned, Carol ${small.width}x${small.height}`);

    const both = async () => ({ bob: await aliceOn("Bob"), carol: await aliceOn("Carol") });
    const pinned = await pollUntil(both, (c) => c.carol.frameWidth > 0 && c.bob.frameWidth > c.carol.frameWidth, {
      what: "pinned (Bob) receives Alice larger than grid (Carol)",
      timeout: 60_000,
    });
    t.diagnostic(`pinned: Bob ${pinned.bob.frameWidth}x${pinned.bob.frameHeight}, Carol ${pinned.carol.frameWidth}x${pinned.carol.frameHeight}`);
    // Two subscribers wanting two sizes: the publisher sends (at least) those two layers.
    const sending = await pollUntil(
      () => outboundVideo(page("Alice")),
      (cur, prev) => {
        const growing = cur.filter((s) => s.rid && s.bytesSent > (prev.find((p) => p.rid === s.rid)?.bytesSent ?? 0));
        return new Set(growing.map((s) => s.rid)).size >= 2;
      },
      { what: "two simulcast layers sending", timeout: 30_000 },
    );
    t.diagnostic(`Alice's layers: ${JSON.stringify(sending.map(({ rid, frameWidth, bytesSent, active }) => ({ rid, frameWidth, bytesSent, active })))}`);

    await pin.click();
    await tile(page("Bob"), "Alice").getByRole("button", { name: "Pin" }).waitFor();
    await waitForView("Bob", (v) => !v.pinned && v.width < 700, "Bob reports Alice small again");
    const unpinned = await pollUntil(both, (c) => c.bob.frameWidth > 0 && c.bob.frameWidth < pinned.bob.frameWidth, {
      what: "Bob receives Alice smaller again after unpinning",
      timeout: 60_000,
    });
    t.diagnostic(`unpinned: Bob ${unpinned.bob.frameWidth}x${unpinned.bob.frameHeight}, Carol ${unpinned.carol.frameWidth}`);
  });

  step("nobody shows Alice large: her full-resolution layer is paused (dynacast)", async (t) => {
    const f = async () => (await outboundVideo(page("Alice"))).find((s) => s.rid === "f");
    const paused = await pollUntil(f, (cur, prev) => !!cur && !!prev && cur.bytesSent === prev.bytesSent, {
      what: "Alice's 'f' layer stops sending",
      timeout: 30_000,
      interval: 2000,
    });
    t.diagnostic(`'f' bytesSent stays at ${paused.bytesSent}; sender active=${paused.active}`);
    assert.equal(paused.active, false, "the 'f' encoding is switched off in the sender's parameters");
    // The smaller layers keep going for the grid tiles.
    const before = await outboundVideo(page("Alice"));
    await pollUntil(
      () => outboundVideo(page("Alice")),
      (cur) => cur.some((s) => s.rid !== "f" && s.bytesSent > (before.find((b) => b.rid === s.rid)?.bytesSent ?? 0)),
      { what: "a smaller layer keeps sending", timeout: 15_000 },
    );
  });
});
