// The session through fleet changes: the room moving to another SFU node (`migrate`), dead
// sockets, lost joins and offers, and the server forgetting us.

import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ClientFrame, TrackInfo } from "../src/protocol.gen";
import { MOVE_TIMEOUT_MS } from "../src/session/move";
import {
  JOIN_TIMEOUT_MS,
  OFFER_TIMEOUT_MS,
  PING_INTERVAL_MS,
  PONG_TIMEOUT_MS,
} from "../src/session/options";
import { EndScreen } from "../src/ui/EndScreen";
import { FakeTrack, flush, harness, joined, participant, type FakePeer, type Harness, startJoined } from "./fakes";

type SignalFrame = Extract<ClientFrame, { action: "signal" }>;
const signals = (sent: ClientFrame[]) =>
  sent.filter((f): f is SignalFrame => f.action === "signal");
const offers = (sent: ClientFrame[]) =>
  signals(sent).filter((s) => s.role === "publisher" && s.signal.kind === "offer");

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const video = (id: string): TrackInfo => ({ id, kind: "video", source: "camera", muted: false });
const audio = (id: string): TrackInfo => ({ id, kind: "audio", source: "microphone", muted: false });
const bob = () => ({ ...participant("PA_bob", "Bob"), tracks: [video("TR_bobcam"), audio("TR_bobmic")] });

const connected = (pc: FakePeer) => pc.onstatechange?.("connected");

/** Joined with mic and camera, Bob publishing both; the first pair fully up. */
async function inCall(others = [bob()]) {
  const h = harness({ log: (m) => process.env.DEBUG_SESSION && console.log(m) });
  h.session.setLocalTrack("microphone", new FakeTrack("mic-1", "audio"));
  h.session.setLocalTrack("camera", new FakeTrack("cam-1", "video"));
  h.session.start();
  h.socket().open();
  h.socket().receive(joined("PA_me", others));
  await flush();
  const [pub, sub] = h.pcs();
  h.socket().receive({ type: "answer", role: "publisher", sdp: "old-answer" });
  h.socket().receive({ type: "offer", role: "subscriber", sdp: "old-offer" });
  await flush();
  const oldCam = new FakeTrack("TR_bobcam", "video");
  const oldMic = new FakeTrack("TR_bobmic", "audio");
  if (others.length) {
    sub.ontrack?.(oldCam, "PA_bob");
    sub.ontrack?.(oldMic, "PA_bob");
  }
  connected(pub);
  connected(sub);
  return { h, old: { pub, sub, cam: oldCam, mic: oldMic } };
}

/** Receives `migrate` and returns the new pair. */
async function migrate(h: Harness, reason: "node_draining" | "node_failed" = "node_draining") {
  const before = h.peers.length;
  h.socket().receive({ type: "migrate", reason });
  await flush();
  expect(h.peers.length).toBe(before + 2);
  const [pub, sub] = h.pcs();
  return { pub, sub };
}

describe("migrate: moving to another node", () => {
  it("builds a new pair, offers our tracks again on it and closes the old pair only once the new one carries media", async () => {
    const { h, old } = await inCall();
    const sentBefore = h.socket().sent.length;
    const { pub, sub } = await migrate(h);

    // Same socket, same participant, still in the call; the move shows.
    let st = h.session.getState();
    expect(h.sockets).toHaveLength(1);
    expect(st.status).toBe("joined");
    expect(st.moving).toBe(true);
    expect(st.self?.id).toBe("PA_me");
    expect(st.participants.map((p) => p.id)).toEqual(["PA_bob"]);
    // Our tracks are offered again, exactly as after joined.
    expect(pub.senders.map((s) => s.track?.id)).toEqual(["mic-1", "cam-1"]);
    const fresh = offers(h.socket().sent.slice(sentBefore));
    expect(fresh).toHaveLength(1);
    expect(fresh[0].signal).toMatchObject({
      kind: "offer",
      tracks: [
        { id: "mic-1", source: "microphone" },
        { id: "cam-1", source: "camera" },
      ],
    });
    // The old pair still carries the call.
    expect(old.pub.closed || old.sub.closed).toBe(false);
    expect(st.media["TR_bobcam"].track).toBe(old.cam);

    // The new node's subscriber offer and answer go to the new pair.
    h.socket().receive({ type: "offer", role: "subscriber", sdp: "new-offer" });
    h.socket().receive({ type: "answer", role: "publisher", sdp: "new-answer" });
    await flush();
    expect(sub.remoteDescriptions).toEqual([{ type: "offer", sdp: "new-offer" }]);
    expect(pub.remoteDescriptions).toEqual([{ type: "answer", sdp: "new-answer" }]);
    expect(old.sub.remoteDescriptions).toEqual([{ type: "offer", sdp: "old-offer" }]);
    expect(old.pub.remoteDescriptions).toEqual([{ type: "answer", sdp: "old-answer" }]);

    // A track arrives but the new subscriber is not connected yet: the old one still plays.
    const newCam = new FakeTrack("TR_bobcam", "video");
    const newMic = new FakeTrack("TR_bobmic", "audio");
    sub.ontrack?.(newCam, "PA_bob");
    expect(h.session.getState().media["TR_bobcam"].track).toBe(old.cam);
    expect(old.sub.closed).toBe(false);

    // Connected: the new tracks replace the old ones (same ids), but Bob's mic has not come
    // through yet and our own publisher is not connected: the old pair stays.
    connected(sub);
    st = h.session.getState();
    expect(st.media["TR_bobcam"].track).toBe(newCam);
    expect(st.media["TR_bobmic"].track).toBe(old.mic);
    expect(old.sub.closed).toBe(false);
    sub.ontrack?.(newMic, "PA_bob");
    expect(h.session.getState().media["TR_bobmic"].track).toBe(newMic);
    expect(old.pub.closed || old.sub.closed).toBe(false);
    expect(h.session.getState().moving).toBe(true);

    connected(pub);
    st = h.session.getState();
    expect(old.pub.closed && old.sub.closed).toBe(true);
    expect(pub.closed || sub.closed).toBe(false);
    expect(st.moving).toBe(false);
    expect(st.status).toBe("joined");
    expect(Object.keys(st.media).sort()).toEqual(["TR_bobcam", "TR_bobmic"]);
    expect(st.media["TR_bobcam"]).toEqual({ track: newCam, participantId: "PA_bob" });

    // The safety timer went with the move: the new pair stays.
    vi.advanceTimersByTime(MOVE_TIMEOUT_MS);
    h.socket().receive({ type: "pong" });
    vi.advanceTimersByTime(1000);
    expect(pub.closed || sub.closed).toBe(false);
    expect(h.session.getState().status).toBe("joined");
    expect(h.sockets).toHaveLength(1);
  });

  it("sends ICE candidates for the new pair and applies the node's to it", async () => {
    const { h, old } = await inCall();
    const { pub, sub } = await migrate(h);
    const c = { candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0 };

    // The retired pair no longer trickles.
    const n = signals(h.socket().sent).length;
    old.pub.onicecandidate?.(c);
    expect(signals(h.socket().sent)).toHaveLength(n);
    pub.onicecandidate?.(c);
    sub.onicecandidate?.(c);
    expect(signals(h.socket().sent).slice(n).map((s) => [s.role, s.signal.kind])).toEqual([
      ["publisher", "candidate"],
      ["subscriber", "candidate"],
    ]);

    h.socket().receive({ type: "answer", role: "publisher", sdp: "new-answer" });
    h.socket().receive({ type: "offer", role: "subscriber", sdp: "new-offer" });
    h.socket().receive({ type: "candidate", role: "publisher", candidate: c });
    h.socket().receive({ type: "candidate", role: "subscriber", candidate: c });
    await flush();
    expect(pub.candidates).toEqual([c]);
    expect(sub.candidates).toEqual([c]);
    expect(old.pub.candidates).toEqual([]);
    expect(old.sub.candidates).toEqual([]);
  });

  it("a second migrate mid-move abandons the half-built pair and keeps the old one", async () => {
    const { h, old } = await inCall();
    const first = await migrate(h, "node_draining");
    h.socket().receive({ type: "offer", role: "subscriber", sdp: "offer-2" });
    await flush();
    const halfCam = new FakeTrack("TR_bobcam", "video");
    first.sub.ontrack?.(halfCam, "PA_bob");
    connected(first.sub);
    expect(h.session.getState().media["TR_bobcam"].track).toBe(halfCam);

    const second = await migrate(h, "node_failed");
    let st = h.session.getState();
    expect(first.pub.closed && first.sub.closed).toBe(true);
    expect(old.pub.closed || old.sub.closed).toBe(false);
    expect(st.moving).toBe(true);
    // The abandoned pair's track is no longer shown: the old one is back.
    expect(st.media["TR_bobcam"].track).toBe(old.cam);
    expect(offers(h.socket().sent).at(-1)?.signal).toMatchObject({ kind: "offer" });
    expect(second.pub.senders.map((s) => s.track?.id)).toEqual(["mic-1", "cam-1"]);

    // Only the latest pair hears the node now.
    h.socket().receive({ type: "offer", role: "subscriber", sdp: "offer-3" });
    h.socket().receive({ type: "answer", role: "publisher", sdp: "answer-3" });
    await flush();
    expect(second.sub.remoteDescriptions).toEqual([{ type: "offer", sdp: "offer-3" }]);
    expect(first.sub.remoteDescriptions).toEqual([{ type: "offer", sdp: "offer-2" }]);

    // The restarted move gets its own full safety window.
    vi.advanceTimersByTime(MOVE_TIMEOUT_MS - 1);
    expect(old.sub.closed).toBe(false);

    second.sub.ontrack?.(new FakeTrack("TR_bobcam", "video"), "PA_bob");
    second.sub.ontrack?.(new FakeTrack("TR_bobmic", "audio"), "PA_bob");
    connected(second.sub);
    connected(second.pub);
    st = h.session.getState();
    expect(old.pub.closed && old.sub.closed).toBe(true);
    expect(st.moving).toBe(false);
    expect(Object.values(st.media).every((m) => m.track !== old.cam && m.track !== halfCam)).toBe(true);
  });

  it("drops the old pair after a safety timeout when the new one never carries media", async () => {
    const { h, old } = await inCall();
    await migrate(h);
    h.socket().receive({ type: "answer", role: "publisher", sdp: "new-answer" });
    await flush();
    vi.advanceTimersByTime(MOVE_TIMEOUT_MS - 1);
    expect(old.sub.closed).toBe(false);
    vi.advanceTimersByTime(1);
    const st = h.session.getState();
    expect(old.pub.closed && old.sub.closed).toBe(true);
    expect(st.moving).toBe(false);
    expect(st.status).toBe("joined");
    // The old tracks ended with their connection.
    expect(st.media).toEqual({});
  });

  it("alone in the room: the old pair goes once the new publisher is answered", async () => {
    const { h, old } = await inCall([]);
    const { pub } = await migrate(h);
    expect(old.pub.closed).toBe(false);
    h.socket().receive({ type: "answer", role: "publisher", sdp: "new-answer" });
    await flush();
    expect(pub.remoteDescriptions).toHaveLength(1);
    expect(old.pub.closed && old.sub.closed).toBe(true);
    expect(h.session.getState().moving).toBe(false);
  });

  it("listen-only and alone: nothing to move, the old pair goes at once", async () => {
    const h = harness();
    h.session.start();
    h.socket().open();
    h.socket().receive(joined("PA_me", []));
    await flush();
    const [oldPub, oldSub] = h.pcs();
    h.socket().receive({ type: "migrate", reason: "node_draining" });
    await flush();
    expect(h.peers).toHaveLength(4);
    expect(oldPub.closed && oldSub.closed).toBe(true);
    expect(h.session.getState().moving).toBe(false);
    expect(offers(h.socket().sent)).toEqual([]);
  });

  it("the old pair failing during the move (its node died) is no reason to re-join", async () => {
    const { h, old } = await inCall();
    await migrate(h, "node_failed");
    old.sub.onstatechange?.("failed");
    old.pub.onstatechange?.("failed");
    expect(h.session.getState().status).toBe("joined");
    expect(h.sockets[0].closed).toBe(false);
  });

  it("the new pair failing re-joins", async () => {
    const { h, old } = await inCall();
    const { sub } = await migrate(h);
    sub.onstatechange?.("failed");
    expect(h.session.getState().status).toBe("reconnecting");
    expect(h.session.getState().moving).toBe(false);
    expect(old.sub.closed && old.pub.closed).toBe(true);
  });

  it("a socket drop mid-move closes both pairs and re-joins as usual", async () => {
    const { h, old } = await inCall();
    const fresh = await migrate(h);
    h.socket().drop();
    const st = h.session.getState();
    expect(st.status).toBe("reconnecting");
    expect(st.moving).toBe(false);
    expect([old.pub, old.sub, fresh.pub, fresh.sub].every((p) => p.closed)).toBe(true);
    vi.advanceTimersByTime(500);
    expect(h.sockets).toHaveLength(2);
  });

  it("a migrate before joined is ignored", async () => {
    const h = harness();
    h.session.start();
    h.socket().open();
    h.socket().receive({ type: "migrate", reason: "node_draining" });
    expect(h.peers).toHaveLength(0);
    expect(h.session.getState().moving).toBe(false);
  });

  it("chat and mutes keep working during the move (same socket)", async () => {
    const { h } = await inCall();
    await migrate(h);
    expect(h.session.sendChat("still here")).toBe(true);
    h.session.setMuted("microphone", true);
    expect(h.socket().sent.slice(-2)).toEqual([
      { action: "chat", text: "still here" },
      { action: "mute", track_id: "mic-1", muted: true },
    ]);
  });

  it("a retired publisher's pending offer is never sent to the new node", async () => {
    const { h, old } = await inCall();
    // A screen share renegotiates; the offer is being made when the room moves.
    h.session.setLocalTrack("screen_share", new FakeTrack("screen-1", "video"));
    h.socket().receive({ type: "migrate", reason: "node_draining" });
    await flush();
    const [pub] = h.pcs();
    expect(pub).not.toBe(old.pub);
    const all = offers(h.socket().sent);
    // The initial offer, then only the new publisher's (with the share).
    expect(all).toHaveLength(2);
    expect(all[1].signal).toMatchObject({
      tracks: [
        { id: "mic-1", source: "microphone" },
        { id: "cam-1", source: "camera" },
        { id: "screen-1", source: "screen_share" },
      ],
    });
  });
});

describe("dead sockets", () => {
  it("pings every ten seconds", () => {
    const h = harness();
    startJoined(h);
    expect(PING_INTERVAL_MS).toBe(10_000);
    expect(PONG_TIMEOUT_MS).toBe(5_000);
    vi.advanceTimersByTime(PING_INTERVAL_MS);
    expect(h.socket().actions().filter((a) => a === "ping")).toHaveLength(1);
    h.socket().receive({ type: "pong" });
    vi.advanceTimersByTime(PING_INTERVAL_MS);
    expect(h.socket().actions().filter((a) => a === "ping")).toHaveLength(2);
  });

  it("a ping unanswered for five seconds re-joins within seconds", () => {
    const h = harness();
    startJoined(h);
    vi.advanceTimersByTime(PING_INTERVAL_MS + PONG_TIMEOUT_MS - 1);
    expect(h.session.getState().status).toBe("joined");
    vi.advanceTimersByTime(1);
    expect(h.sockets[0].closed).toBe(true);
    expect(h.session.getState().status).toBe("reconnecting");
    vi.advanceTimersByTime(500);
    expect(h.sockets).toHaveLength(2);
    expect(h.socket().url).toBe("ws://veet.test/ws?token=tok-0");
  });

  it("any frame counts as an answer: an error (Redis down) is not a dead socket", () => {
    const h = harness();
    startJoined(h);
    vi.advanceTimersByTime(PING_INTERVAL_MS);
    h.socket().receive({ type: "error", code: "unavailable", message: "state store unreachable" });
    vi.advanceTimersByTime(PONG_TIMEOUT_MS * 2);
    expect(h.session.getState().status).toBe("joined");
    expect(h.sockets).toHaveLength(1);
  });
});

describe("lost joins and offers", () => {
  it("re-joins when no joined comes within eight seconds of join", () => {
    const h = harness();
    h.session.start();
    h.socket().open();
    expect(h.socket().sent).toEqual([{ action: "join" }]);
    vi.advanceTimersByTime(JOIN_TIMEOUT_MS - 1);
    expect(h.sockets[0].closed).toBe(false);
    vi.advanceTimersByTime(1);
    expect(h.sockets[0].closed).toBe(true);
    expect(h.session.getState().status).toBe("reconnecting");
    vi.advanceTimersByTime(500);
    expect(h.sockets).toHaveLength(2);
    h.socket().open();
    expect(h.socket().sent).toEqual([{ action: "join" }]);
    h.socket().receive(joined());
    vi.advanceTimersByTime(JOIN_TIMEOUT_MS + 1);
    expect(h.session.getState().status).toBe("joined");
  });

  it("re-joins when the publisher's offer gets no answer within six seconds", async () => {
    const h = harness();
    h.session.setLocalTrack("microphone", new FakeTrack("mic-1", "audio"));
    startJoined(h);
    await flush();
    expect(offers(h.socket().sent)).toHaveLength(1);
    vi.advanceTimersByTime(OFFER_TIMEOUT_MS - 1);
    expect(h.session.getState().status).toBe("joined");
    vi.advanceTimersByTime(1);
    expect(h.sockets[0].closed).toBe(true);
    expect(h.session.getState().status).toBe("reconnecting");

    vi.advanceTimersByTime(500);
    h.socket().open();
    h.socket().receive(joined("PA_me2"));
    await flush();
    expect(offers(h.socket().sent)).toHaveLength(1);
    h.socket().receive({ type: "answer", role: "publisher", sdp: "a" });
    await flush();
    vi.advanceTimersByTime(OFFER_TIMEOUT_MS * 2);
    expect(h.session.getState().status).toBe("joined");
    expect(h.sockets).toHaveLength(2);
  });

  it("each renegotiation has its own deadline", async () => {
    const h = harness();
    h.session.setLocalTrack("microphone", new FakeTrack("mic-1", "audio"));
    startJoined(h);
    await flush();
    vi.advanceTimersByTime(OFFER_TIMEOUT_MS - 1000);
    h.socket().receive({ type: "answer", role: "publisher", sdp: "a1" });
    await flush();
    h.session.setLocalTrack("screen_share", new FakeTrack("screen-1", "video"));
    await flush();
    expect(offers(h.socket().sent)).toHaveLength(2);
    vi.advanceTimersByTime(OFFER_TIMEOUT_MS - 1);
    expect(h.session.getState().status).toBe("joined");
    vi.advanceTimersByTime(1);
    expect(h.session.getState().status).toBe("reconnecting");
  });

  it("the new publisher's offer unanswered after a migrate re-joins too", async () => {
    const { h } = await inCall();
    await migrate(h);
    vi.advanceTimersByTime(OFFER_TIMEOUT_MS);
    expect(h.sockets[0].closed).toBe(true);
    expect(h.session.getState().status).toBe("reconnecting");
  });
});

describe("server errors", () => {
  it("unknown_connection (the server lost us, e.g. a Redis restart) re-joins on a new socket", async () => {
    const { h, old } = await inCall();
    h.socket().receive({ type: "error", code: "unknown_connection", message: "reconnect" });
    expect(h.sockets[0].closed).toBe(true);
    expect(old.pub.closed && old.sub.closed).toBe(true);
    expect(h.session.getState().status).toBe("reconnecting");
    vi.advanceTimersByTime(500);
    expect(h.sockets).toHaveLength(2);
    h.socket().open();
    expect(h.socket().sent).toEqual([{ action: "join" }]);
  });

  it("not_joined while in the call re-joins as well", async () => {
    const { h } = await inCall();
    h.socket().receive({ type: "error", code: "not_joined", message: "join again" });
    expect(h.session.getState().status).toBe("reconnecting");
  });

  it("unavailable or internal before joined retries with backoff", async () => {
    for (const code of ["unavailable", "internal"] as const) {
      const h = harness();
      h.session.start();
      h.socket().open();
      h.socket().receive({ type: "error", code, message: "try again" });
      expect(h.sockets[0].closed).toBe(true);
      expect(h.session.getState().status).toBe("reconnecting");
      vi.advanceTimersByTime(499);
      expect(h.sockets).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(h.sockets).toHaveLength(2);
      // Still failing: the next wait is longer.
      h.socket().open();
      h.socket().receive({ type: "error", code, message: "try again" });
      expect(h.session.getState().reconnectAttempt).toBe(2);
      vi.advanceTimersByTime(999);
      expect(h.sockets).toHaveLength(2);
      vi.advanceTimersByTime(1);
      expect(h.sockets).toHaveLength(3);
      h.socket().open();
      h.socket().receive(joined());
      expect(h.session.getState().status).toBe("joined");
    }
  });

  it("unavailable or internal while joined is only logged", async () => {
    const logs: string[] = [];
    const h = harness({ log: (m) => logs.push(m) });
    startJoined(h);
    h.socket().receive({ type: "error", code: "unavailable", message: "redis down" });
    h.socket().receive({ type: "error", code: "internal", message: "oops" });
    expect(h.session.getState().status).toBe("joined");
    expect(h.sockets[0].closed).toBe(false);
    expect(logs.filter((l) => l.startsWith("server error"))).toHaveLength(2);
  });
});

describe("room_closed", () => {
  const end = (closeReason: "deleted" | "node_draining" | "node_failed") =>
    renderToStaticMarkup(
      createElement(EndScreen, {
        info: { kind: "room_closed", closeReason },
        onRejoin: () => {},
        onHome: () => {},
      }),
    );

  it("node_draining with no other node ends the meeting, saying no media server is available", async () => {
    const { h } = await inCall();
    h.socket().receive({ type: "room_closed", reason: "node_draining" });
    const st = h.session.getState();
    expect(st.status).toBe("failed");
    expect(st.fatal).toEqual({
      kind: "room_closed",
      closeReason: "node_draining",
      message: "The meeting ended: no media server is available right now.",
    });
    expect(end("node_draining")).toContain("The meeting ended: no media server is available right now.");
    expect(end("node_failed")).toContain("no media server is available right now");
  });

  it("deleted says the host ended it", async () => {
    const { h } = await inCall();
    h.socket().receive({ type: "room_closed", reason: "deleted" });
    expect(h.session.getState().fatal?.message).toBe("The meeting was ended by its host.");
    const html = end("deleted");
    expect(html).toContain("The host ended this meeting.");
    expect(html).not.toContain("media server");
  });
});
