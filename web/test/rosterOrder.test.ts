import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { remoteView } from "../src/ui/model";
import { FakeTrack, flush, harness, joined, participant, startJoined } from "./fakes";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

// API Gateway runs every invocation concurrently: other people's joins and leaves can reach
// us before our own `joined`, and a leave can overtake the join it ends.
describe("roster frames out of order", () => {
  it("keeps someone whose participant_joined overtook our joined", () => {
    const h = harness();
    h.session.start();
    h.socket().open();
    h.socket().receive({ type: "participant_joined", participant: participant("PA_cy", "Cy") });
    // Our joined snapshot was read before Cy arrived.
    h.socket().receive(joined());
    expect(h.session.getState().participants.map((p) => p.id)).toEqual(["PA_bob", "PA_cy"]);
  });

  it("drops someone whose participant_left overtook our joined", () => {
    const h = harness();
    h.session.start();
    h.socket().open();
    h.socket().receive({ type: "participant_left", participant_id: "PA_bob" });
    h.socket().receive(joined("PA_me", [participant("PA_bob", "Bob"), participant("PA_cy", "Cy")]));
    expect(h.session.getState().participants.map((p) => p.id)).toEqual(["PA_cy"]);
  });

  it("applies a track published before our joined to the snapshot", () => {
    const h = harness();
    h.session.start();
    h.socket().open();
    const track = { id: "TR_cam", kind: "video" as const, source: "camera" as const, muted: false };
    h.socket().receive({ type: "track_published", participant_id: "PA_bob", track });
    h.socket().receive(joined());
    expect(h.session.getState().participants[0].tracks).toEqual([track]);
  });

  it("ignores a participant_joined that arrives after that participant left", () => {
    const h = harness();
    startJoined(h);
    h.socket().receive({ type: "participant_left", participant_id: "PA_cy" });
    h.socket().receive({ type: "participant_joined", participant: participant("PA_cy", "Cy") });
    expect(h.session.getState().participants.map((p) => p.id)).toEqual(["PA_bob"]);
  });

  it("waits again on a new socket after a reconnect", async () => {
    const h = harness();
    startJoined(h);
    const first = h.socket();
    first.drop();
    await vi.runOnlyPendingTimersAsync();
    expect(h.socket()).not.toBe(first);
    h.socket().open();
    // Bob re-joined under a new id while our re-join ran; his old id left.
    h.socket().receive({ type: "participant_joined", participant: participant("PA_bob2", "Bob") });
    h.socket().receive({ type: "participant_left", participant_id: "PA_bob" });
    h.socket().receive(joined("PA_me2", [participant("PA_bob", "Bob")]));
    expect(h.session.getState().participants.map((p) => p.id)).toEqual(["PA_bob2"]);
  });

  it("keeps a re-joined publisher's media when its old session's track_unpublished comes late", async () => {
    const h = harness();
    startJoined(h, joined("PA_me", [participant("PA_bob2", "Bob")]));
    await flush();
    const [, sub] = h.pcs();
    // The same browser track id, published again by Bob's new session.
    const cam = new FakeTrack("TR_cam", "video");
    sub.ontrack?.(cam, "PA_bob2");
    h.socket().receive({ type: "track_unpublished", participant_id: "PA_bob", track_id: "TR_cam" });
    expect(h.session.getState().media["TR_cam"]?.participantId).toBe("PA_bob2");
    h.socket().receive({ type: "track_unpublished", participant_id: "PA_bob2", track_id: "TR_cam" });
    expect(h.session.getState().media).toEqual({});
  });
});

describe("remoteView", () => {
  it("does not show another participant's track under a reused id", () => {
    const cam = new FakeTrack("TR_cam", "video");
    const bob = {
      ...participant("PA_bob2", "Bob"),
      tracks: [{ id: "TR_cam", kind: "video" as const, source: "camera" as const, muted: false }],
    };
    const ghost = { ...participant("PA_bob", "Bob"), tracks: bob.tracks };
    const view = remoteView([ghost, bob], { TR_cam: { track: cam, participantId: "PA_bob2" } });
    expect(view.tiles.map((t) => [t.id, t.video?.id ?? null])).toEqual([
      ["PA_bob", null],
      ["PA_bob2", "TR_cam"],
    ]);
  });
});
