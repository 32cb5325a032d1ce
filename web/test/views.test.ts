// Adaptive stream: the `view` frames the session sends for what the UI displays, coalesced,
// only what changed, the whole set again for a new node; and the node's active speakers and
// unsupported-track notices in the session state.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ClientFrame, TrackView } from "../src/protocol.gen";
import { changedViews, VIEW_DELAY_MS, viewFrames, viewsFor, type DisplayedSize } from "../src/session/views";
import { remoteView } from "../src/ui/model";
import { FakeTrack, flush, harness, joined, participant, startJoined, type Harness } from "./fakes";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

type ViewFrame = Extract<ClientFrame, { action: "view" }>;
const viewFramesSent = (h: Harness) =>
  h.sockets.flatMap((s) => s.sent).filter((f): f is ViewFrame => f.action === "view");
const size = (width: number, height: number, pinned = false): DisplayedSize => ({ width, height, pinned });
const shown = (entries: [string, DisplayedSize][]) => new Map(entries);
const view = (track_id: string, width: number, height: number, pinned = false): TrackView => ({
  track_id,
  width,
  height,
  pinned,
});

describe("view diffing", () => {
  it("every received track gets a view; undisplayed ones are 0 × 0", () => {
    expect(viewsFor(["a", "b"], shown([["a", size(640, 360)]]))).toEqual([view("a", 640, 360), view("b", 0, 0)]);
  });
  it("only views the node has not heard like that are sent", () => {
    const sent = new Map([["a", view("a", 640, 360)], ["b", view("b", 0, 0)]]);
    expect(changedViews(sent, [view("a", 640, 360), view("b", 320, 180), view("c", 0, 0)])).toEqual([
      view("b", 320, 180),
      view("c", 0, 0),
    ]);
    expect(changedViews(sent, [view("a", 640, 360, true)])).toEqual([view("a", 640, 360, true)]);
  });
  it("splits into frames of at most 64", () => {
    const many = Array.from({ length: 130 }, (_, i) => view(`t${i}`, 1, 1));
    expect(viewFrames(many).map((f) => f.length)).toEqual([64, 64, 2]);
    expect(viewFrames([])).toEqual([]);
  });
});

const cam = (id: string) => ({ id, kind: "video" as const, source: "camera" as const, muted: false });
const mic = (id: string) => ({ id, kind: "audio" as const, source: "microphone" as const, muted: false });

/** Joined, receiving Bob's camera and mic, and Cy's camera. */
async function receiving() {
  const h = harness();
  const bob = { ...participant("PA_bob", "Bob"), tracks: [cam("TR_bobcam"), mic("TR_bobmic")] };
  const cy = { ...participant("PA_cy", "Cy"), tracks: [cam("TR_cycam")] };
  startJoined(h, joined("PA_me", [bob, cy]));
  await flush();
  const [, sub] = h.pcs();
  sub.ontrack?.(new FakeTrack("TR_bobcam", "video"), "PA_bob");
  sub.ontrack?.(new FakeTrack("TR_bobmic", "audio"), "PA_bob");
  sub.ontrack?.(new FakeTrack("TR_cycam", "video"), "PA_cy");
  return h;
}

describe("view frames from the session", () => {
  it("says nothing until the UI reports what it shows", async () => {
    const h = await receiving();
    vi.advanceTimersByTime(5 * VIEW_DELAY_MS);
    expect(viewFramesSent(h)).toEqual([]);
  });

  it("coalesces reports over the delay into one frame with every video track, audio left out", async () => {
    const h = await receiving();
    h.session.setTrackViews(shown([["TR_bobcam", size(400, 225)]]));
    h.session.setTrackViews(shown([["TR_bobcam", size(552, 310, true)]]));
    vi.advanceTimersByTime(VIEW_DELAY_MS - 1);
    expect(viewFramesSent(h)).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(viewFramesSent(h)).toEqual([
      { action: "view", tracks: [view("TR_bobcam", 552, 310, true), view("TR_cycam", 0, 0)] },
    ]);
  });

  it("then only what changed, and nothing when nothing did", async () => {
    const h = await receiving();
    h.session.setTrackViews(shown([["TR_bobcam", size(552, 310)], ["TR_cycam", size(552, 310)]]));
    vi.advanceTimersByTime(VIEW_DELAY_MS);
    h.session.setTrackViews(shown([["TR_bobcam", size(552, 310)]])); // Cy's tile went off screen
    vi.advanceTimersByTime(VIEW_DELAY_MS);
    h.session.setTrackViews(shown([["TR_bobcam", size(552, 310)]]));
    vi.advanceTimersByTime(VIEW_DELAY_MS);
    expect(viewFramesSent(h).map((f) => f.tracks)).toEqual([
      [view("TR_bobcam", 552, 310), view("TR_cycam", 552, 310)],
      [view("TR_cycam", 0, 0)],
    ]);
  });

  it("a newly received track is reported; a track that went is not", async () => {
    const h = await receiving();
    h.session.setTrackViews(shown([["TR_bobcam", size(552, 310)]]));
    vi.advanceTimersByTime(VIEW_DELAY_MS);
    h.socket().receive({ type: "participant_left", participant_id: "PA_cy" });
    h.pcs()[1].ontrack?.(new FakeTrack("TR_dancam", "video"), "PA_dan");
    vi.advanceTimersByTime(VIEW_DELAY_MS);
    expect(viewFramesSent(h).map((f) => f.tracks)[1]).toEqual([view("TR_dancam", 0, 0)]);
  });

  it("after a re-join the new connection hears the full set again", async () => {
    const h = await receiving();
    h.session.setTrackViews(shown([["TR_bobcam", size(552, 310)]]));
    vi.advanceTimersByTime(VIEW_DELAY_MS);
    h.socket().drop();
    vi.advanceTimersByTime(VIEW_DELAY_MS); // not joined: nothing to send to
    await vi.advanceTimersByTimeAsync(60_000);
    h.socket().open();
    h.socket().receive(joined("PA_me2", [participant("PA_bob", "Bob")]));
    await flush();
    h.pcs()[1].ontrack?.(new FakeTrack("TR_bobcam", "video"), "PA_bob");
    vi.advanceTimersByTime(VIEW_DELAY_MS);
    const frames = viewFramesSent(h);
    expect(frames).toHaveLength(2);
    expect(frames[1].tracks).toEqual([view("TR_bobcam", 552, 310)]);
  });

  it("after a move the new node hears the full set at once, and again once the move is done", async () => {
    const h = await receiving();
    h.session.setTrackViews(shown([["TR_bobcam", size(552, 310)]]));
    vi.advanceTimersByTime(VIEW_DELAY_MS);
    h.socket().receive({ type: "migrate", reason: "node_draining" });
    await flush();
    vi.advanceTimersByTime(VIEW_DELAY_MS);
    const full = [view("TR_bobcam", 552, 310), view("TR_cycam", 0, 0)];
    expect(viewFramesSent(h).map((f) => f.tracks)).toEqual([full, full]);
    // The new pair brings the same tracks: the move completes.
    const [, sub] = h.pcs();
    sub.onstatechange?.("connected");
    for (const id of ["TR_bobcam", "TR_bobmic"]) sub.ontrack?.(new FakeTrack(id, id.endsWith("cam") ? "video" : "audio"), "PA_bob");
    sub.ontrack?.(new FakeTrack("TR_cycam", "video"), "PA_cy");
    expect(h.session.getState().moving).toBe(false);
    vi.advanceTimersByTime(VIEW_DELAY_MS);
    expect(viewFramesSent(h).map((f) => f.tracks)).toEqual([full, full, full]);
  });
});

describe("active speakers and unsupported tracks", () => {
  it("keeps the node's speakers, loudest first, and drops one who leaves", () => {
    const h = harness();
    startJoined(h, joined("PA_me", [participant("PA_bob", "Bob"), participant("PA_cy", "Cy")]));
    const speakers = [
      { participant_id: "PA_cy", level: 80 },
      { participant_id: "PA_bob", level: 30 },
    ];
    h.socket().receive({ type: "active_speakers", speakers });
    expect(h.session.getState().speakers).toEqual(speakers);
    h.socket().receive({ type: "participant_left", participant_id: "PA_cy" });
    expect(h.session.getState().speakers).toEqual([speakers[1]]);
    h.socket().receive({ type: "active_speakers", speakers: [] });
    expect(h.session.getState().speakers).toEqual([]);
  });

  it("notes a track we cannot decode and shows it on the tile until it is unpublished", () => {
    const h = harness();
    const bob = {
      ...participant("PA_bob", "Bob"),
      tracks: [{ id: "TR_cam", kind: "video" as const, source: "camera" as const, muted: false }],
    };
    startJoined(h, joined("PA_me", [bob]));
    h.socket().receive({
      type: "track_unsupported",
      participant_id: "PA_bob",
      track_id: "TR_cam",
      codec: "video/VP9",
      message: "this browser cannot decode video/VP9",
    });
    const s = h.session.getState();
    expect(s.unsupported.TR_cam).toMatchObject({ participantId: "PA_bob", codec: "video/VP9" });
    const tile = remoteView(s.participants, s.media, s.unsupported).tiles[0];
    expect(tile.notice).toBe("Can't show Bob's video: this browser can't decode VP9");
    h.socket().receive({ type: "track_unpublished", participant_id: "PA_bob", track_id: "TR_cam" });
    expect(h.session.getState().unsupported).toEqual({});
  });
});
