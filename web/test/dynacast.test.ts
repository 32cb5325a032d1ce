// Simulcast publishing and dynacast: the encodings each source is published with, and the
// node's `publisher_layers` turning encodings off and on at the right sender.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { activateEncodings } from "../src/session/dynacast";
import { CAMERA_ENCODINGS, preferCodec, publishOptions } from "../src/session/encodings";
import { FakeTrack, flush, harness, startJoined, type FakeSender, type Harness } from "./fakes";

describe("activateEncodings", () => {
  const sim = [{ rid: "q" }, { rid: "h" }, { rid: "f" }];
  it("keeps the requested layers on and the others off", () => {
    expect(activateEncodings(sim, ["q", "h"])).toEqual([
      { rid: "q", active: true },
      { rid: "h", active: true },
      { rid: "f", active: false },
    ]);
  });
  it("an empty list pauses every encoding", () => {
    expect(activateEncodings(sim, [])?.map((e) => e.active)).toEqual([false, false, false]);
    expect(activateEncodings([{}], [])).toEqual([{ active: false }]);
  });
  it("says when nothing changes, so no setParameters is needed", () => {
    expect(activateEncodings(sim, ["q", "h", "f"])).toBeNull();
    expect(activateEncodings([{ rid: "q", active: true }, { rid: "f", active: false }], ["q"])).toBeNull();
  });
  it("turns a paused layer back on", () => {
    const paused = [{ rid: "q", active: true }, { rid: "f", active: false }];
    expect(activateEncodings(paused, ["q", "f"])?.map((e) => e.active)).toEqual([true, true]);
  });
  it("a track without simulcast stays on for any non-empty request", () => {
    expect(activateEncodings([{ active: false }], ["f"])).toEqual([{ active: true }]);
  });
  it("layers we do not send are no reason to switch ours off", () => {
    expect(activateEncodings(sim, ["x"])).toBeNull();
  });
});

describe("publish options", () => {
  it("camera: three simulcast layers, quarter/half/full, VP8 first", () => {
    const o = publishOptions("camera", "video");
    expect(o.encodings).toEqual([
      { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
      { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
      { rid: "f", maxBitrate: 1_500_000 },
    ]);
    expect(o.preferredCodec).toBe("video/VP8");
    // A copy: a browser writing into it cannot change the next publication's.
    expect(o.encodings).not.toBe(CAMERA_ENCODINGS);
  });
  it("screen share: one encoding at about 2.5 Mbps; audio: the browser's defaults", () => {
    expect(publishOptions("screen_share", "video").encodings).toEqual([{ maxBitrate: 2_500_000 }]);
    expect(publishOptions("microphone", "audio")).toEqual({});
  });
  it("preferCodec moves the codec first and keeps the rest in order", () => {
    const codecs = [{ mimeType: "video/VP9" }, { mimeType: "video/rtx" }, { mimeType: "video/VP8" }, { mimeType: "video/H264" }];
    expect(preferCodec(codecs, "video/vp8").map((c) => c.mimeType)).toEqual([
      "video/VP8",
      "video/VP9",
      "video/rtx",
      "video/H264",
    ]);
    expect(preferCodec(codecs, "video/AV1")).toBe(codecs);
  });
});

describe("dynacast in the session", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const senderOf = (h: Harness, trackId: string): FakeSender =>
    h.pcs()[0].senders.find((s) => s.track?.id === trackId)!;

  async function publishing() {
    const h = harness();
    h.session.setLocalTrack("microphone", new FakeTrack("mic-1", "audio"));
    h.session.setLocalTrack("camera", new FakeTrack("cam-1", "video"));
    startJoined(h);
    await flush();
    h.socket().receive({ type: "answer", role: "publisher", sdp: "a1" });
    await flush();
    return h;
  }

  it("publishes the camera with simulcast encodings and the mic without", async () => {
    const h = await publishing();
    expect(senderOf(h, "cam-1").options.encodings?.map((e) => e.rid)).toEqual(["q", "h", "f"]);
    expect(senderOf(h, "mic-1").options).toEqual({});
  });

  it("applies publisher_layers to the sender of that track only", async () => {
    const h = await publishing();
    h.socket().receive({ type: "publisher_layers", track_id: "cam-1", rids: ["q", "h"] });
    h.socket().receive({ type: "publisher_layers", track_id: "unknown", rids: [] });
    await flush();
    expect(senderOf(h, "cam-1").layers).toEqual([["q", "h"]]);
    expect(senderOf(h, "mic-1").layers).toEqual([]);
  });

  it("applies them again after a replaceTrack and after a renegotiation", async () => {
    const h = await publishing();
    h.socket().receive({ type: "publisher_layers", track_id: "cam-1", rids: ["q"] });
    await flush();
    const sender = senderOf(h, "cam-1");
    // A new camera (device change) goes out under the published id.
    h.session.setLocalTrack("camera", new FakeTrack("cam-2", "video"));
    await flush();
    expect(sender.track?.id).toBe("cam-2");
    expect(sender.layers).toEqual([["q"], ["q"]]);
    h.session.setLocalTrack("screen_share", new FakeTrack("scr-1", "video"));
    await flush();
    h.socket().receive({ type: "answer", role: "publisher", sdp: "a2" });
    await flush();
    expect(sender.layers).toEqual([["q"], ["q"], ["q"]]);
  });

  it("after a move the new publisher starts with every layer on and follows the new node", async () => {
    const h = await publishing();
    h.socket().receive({ type: "publisher_layers", track_id: "cam-1", rids: [] });
    await flush();
    const old = senderOf(h, "cam-1");
    h.socket().receive({ type: "migrate", reason: "node_draining" });
    await flush();
    const moved = senderOf(h, "cam-1");
    expect(moved).not.toBe(old);
    expect(moved.options.encodings?.map((e) => e.rid)).toEqual(["q", "h", "f"]);
    expect(moved.layers).toEqual([]);
    h.socket().receive({ type: "publisher_layers", track_id: "cam-1", rids: ["h"] });
    await flush();
    expect(moved.layers).toEqual([["h"]]);
    // The new publisher's first answer applies what the new node asked for again.
    h.socket().receive({ type: "answer", role: "publisher", sdp: "new-answer" });
    await flush();
    expect(moved.layers).toEqual([["h"], ["h"]]);
  });
});
