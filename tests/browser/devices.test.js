// Switching devices mid-call from the Settings dialog. Ann has three fake cameras and picks
// another one: her publisher keeps the same transceiver (same mid) with a new track, no new
// offer is made (no `answer` comes back), and Bob keeps decoding her video.
//
// Chromium's second fake camera (fake_device_1) is a depth camera: it captures Y16, which
// plays in a <video> but which WebRTC's encoders drop, so a sender given it goes quiet. The
// third (fake_device_2) is an ordinary camera (MJPEG), so that is the one Ann switches to.
// DEBUG_DEVICES=1 prints the sender's and receiver's stats.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { inboundVideo, outboundVideo, tile, tileTrackId } from "./lib/meeting.js";
import { annAndBob } from "./lib/pair.js";

const CODE = "dev-swch-abc";

/** Ann's sending video: its transceiver's mid, track id and label, and how many there are. */
const sendingVideo = (page) =>
  page.evaluate(() => {
    for (const pc of window.__veetPcs ?? []) {
      if (pc.connectionState === "closed") continue;
      const t = pc.getTransceivers().filter((x) => x.sender.track?.kind === "video" || (x.direction === "sendonly" && x.receiver.track.kind === "video"));
      if (t.length === 0) continue;
      return {
        mids: t.map((x) => x.mid),
        trackId: t[0].sender.track?.id ?? null,
        label: t[0].sender.track?.label ?? null,
        transceivers: pc.getTransceivers().length,
      };
    }
    return null;
  });

const answers = (page) => page.evaluate(() => window.__veetFrames.filter((f) => f.type === "answer").length);

/** Frames Bob has decoded of Ann's video so far. */
const decoded = (page) =>
  page.evaluate(() => {
    const v = document.querySelector('[data-testid="participant-tile"][data-name="Ann"] video');
    return v ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
  });

describe("devices in the call", () => {
  let meeting;
  let people;

  before(async () => {
    meeting = await annAndBob(CODE, { ann: { cameras: 3 } });
    people = meeting.people;
  });

  after(async () => meeting?.close());

  test("switching the camera keeps the transceiver, makes no offer, and Bob keeps decoding", async () => {
    const ann = people.Ann.page;
    const bob = people.Bob.page;
    if (process.env.DEBUG_DEVICES) {
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 1500));
        console.log("pre ann out", JSON.stringify((await outboundVideo(ann)).map((o) => [o.rid, o.framesEncoded])), "bob", await decoded(bob));
      }
    }
    const before = await sendingVideo(ann);
    assert.ok(before?.trackId, `Ann sends video: ${JSON.stringify(before)}`);
    const answersBefore = await answers(ann);

    await ann.getByRole("button", { name: "Settings" }).click();
    const dialog = ann.getByRole("dialog", { name: "Settings" });
    await dialog.waitFor();
    const camera = dialog.getByLabel("Camera");
    const options = await camera.locator("option").allTextContents();
    assert.equal(options.length, 3, `three fake cameras: ${options}`);
    const other = options.find((o) => o !== before.label && o.includes("fake_device_2"));
    assert.ok(other, `an ordinary second camera: ${options}`);
    await camera.selectOption({ label: other });
    // The speaker picker is there (Chromium has setSinkId) and the mic shows its level.
    await dialog.getByLabel("Speaker").waitFor();
    await dialog.getByRole("meter", { name: "Microphone level" }).waitFor();
    await ann.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });

    await ann.waitForFunction(
      (old) => (window.__veetPcs ?? []).some((pc) => pc.getSenders().some((s) => s.track?.kind === "video" && s.track.id !== old && s.track.readyState === "live")),
      before.trackId,
      { timeout: 10_000 },
    );
    const after = await sendingVideo(ann);
    assert.notEqual(after.trackId, before.trackId, "a new track");
    assert.equal(after.label, other, "from the other camera");
    assert.deepEqual(after.mids, before.mids, "on the same transceiver");
    assert.equal(after.transceivers, before.transceivers);
    // Nothing renegotiated: no further offer was answered.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await answers(ann), answersBefore, "no renegotiation");

    const start = await decoded(bob);
    if (process.env.DEBUG_DEVICES) {
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 1500));
        console.log("ann out", JSON.stringify(await outboundVideo(ann)));
        console.log("ann senders", JSON.stringify(await ann.evaluate(() => (window.__veetPcs ?? []).filter((pc) => pc.connectionState !== "closed").map((pc) => pc.getSenders().map((x) => x.track && [x.track.kind, x.track.label, x.track.readyState, x.track.enabled, x.track.muted, JSON.stringify(x.getParameters().encodings.map((e) => [e.rid, e.active, e.scaleResolutionDownBy]))])))));
        console.log("bob in", JSON.stringify(await inboundVideo(bob, await tileTrackId(bob, "Ann"))), await decoded(bob));
      }
    }
    await bob.waitForFunction(
      (n) => {
        const v = document.querySelector('[data-testid="participant-tile"][data-name="Ann"] video');
        return v && v.getVideoPlaybackQuality().totalVideoFrames > n + 30;
      },
      start,
      { timeout: 15_000 },
    );
    assert.equal(await tile(bob, "Ann").getAttribute("data-video"), "on");
  });
});
