import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ClientFrame } from "../src/protocol.gen";
import { PING_INTERVAL_MS, PONG_TIMEOUT_MS } from "../src/session/options";
import { FakeTrack, flush, harness, joined, participant, startJoined } from "./fakes";

type SignalFrame = Extract<ClientFrame, { action: "signal" }>;
const signals = (sent: ClientFrame[]) =>
  sent.filter((f): f is SignalFrame => f.action === "signal");

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("join", () => {
  it("connects with the token, joins on open and publishes local tracks in one offer", async () => {
    const h = harness();
    const mic = new FakeTrack("mic-1", "audio");
    const cam = new FakeTrack("cam-1", "video");
    h.session.setLocalTrack("microphone", mic);
    h.session.setLocalTrack("camera", cam);
    h.session.start();
    expect(h.session.getState().status).toBe("connecting");
    expect(h.socket().url).toBe("ws://veet.test/ws?token=tok-0");

    h.socket().open();
    expect(h.socket().sent).toEqual([{ action: "join" }]);

    h.socket().receive(joined());
    await flush();
    const st = h.session.getState();
    expect(st.status).toBe("joined");
    expect(st.self?.id).toBe("PA_me");
    expect(st.participants.map((p) => p.name)).toEqual(["Bob"]);
    expect(h.peers).toHaveLength(2);

    const [pub] = h.pcs();
    expect(pub.senders.map((s) => s.track?.id)).toEqual(["mic-1", "cam-1"]);
    const offers = signals(h.socket().sent);
    expect(offers).toHaveLength(1);
    expect(offers[0].role).toBe("publisher");
    expect(offers[0].signal).toMatchObject({
      kind: "offer",
      tracks: [
        { id: "mic-1", source: "microphone" },
        { id: "cam-1", source: "camera" },
      ],
    });
    // Both tracks were in that offer: the answer needs no second round.
    h.socket().receive({ type: "answer", role: "publisher", sdp: "a1" });
    await flush();
    expect(signals(h.socket().sent)).toHaveLength(1);
  });

  it("listen-only: joins without a publisher offer and still answers the SFU", async () => {
    const h = harness();
    startJoined(h);
    await flush();
    expect(signals(h.socket().sent)).toHaveLength(0);

    h.socket().receive({ type: "offer", role: "subscriber", sdp: "sfu-offer-1" });
    await flush();
    const [, sub] = h.pcs();
    expect(sub.remoteDescriptions).toEqual([{ type: "offer", sdp: "sfu-offer-1" }]);
    expect(signals(h.socket().sent)).toEqual([
      {
        action: "signal",
        role: "subscriber",
        signal: { kind: "answer", sdp: "answer-to-sfu-offer-1" },
      },
    ]);
  });

  it("tracks remote media by track id and participant, and drops it when they leave", async () => {
    const h = harness();
    startJoined(h);
    await flush();
    const [, sub] = h.pcs();
    const remote = new FakeTrack("TR_bobcam", "video");
    sub.ontrack?.(remote, "PA_bob");
    expect(h.session.getState().media["TR_bobcam"]).toEqual({
      track: remote,
      participantId: "PA_bob",
    });
    h.socket().receive({ type: "participant_left", participant_id: "PA_bob" });
    expect(h.session.getState().media).toEqual({});
    expect(h.session.getState().participants).toEqual([]);
  });

  it("keeps the roster live: joins, tracks, mutes, chat (de-duplicated)", () => {
    const h = harness();
    startJoined(h);
    h.socket().receive({ type: "participant_joined", participant: participant("PA_cy", "Cy") });
    h.socket().receive({
      type: "track_published",
      participant_id: "PA_cy",
      track: { id: "TR_1", kind: "audio", source: "microphone", muted: false },
    });
    h.socket().receive({
      type: "mute_changed",
      participant_id: "PA_cy",
      track_id: "TR_1",
      muted: true,
    });
    const chat = {
      type: "chat" as const,
      id: "CH_1",
      participant_id: "PA_cy",
      name: "Cy",
      text: "hello",
      sent_at: 5,
    };
    h.socket().receive(chat);
    h.socket().receive(chat);
    const st = h.session.getState();
    expect(st.participants.map((p) => p.name)).toEqual(["Bob", "Cy"]);
    expect(st.participants[1].tracks).toEqual([
      { id: "TR_1", kind: "audio", source: "microphone", muted: true },
    ]);
    expect(st.chat).toEqual([
      { id: "CH_1", participantId: "PA_cy", name: "Cy", text: "hello", sentAt: 5 },
    ]);

    h.socket().receive({ type: "track_unpublished", participant_id: "PA_cy", track_id: "TR_1" });
    expect(h.session.getState().participants[1].tracks).toEqual([]);
  });

  it("sends chat text trimmed, only while joined", () => {
    const h = harness();
    h.session.start();
    h.socket().open();
    expect(h.session.sendChat("early")).toBe(false);
    h.socket().receive(joined());
    expect(h.session.sendChat("   ")).toBe(false);
    expect(h.session.sendChat("  hi there ")).toBe(true);
    expect(h.socket().sent.at(-1)).toEqual({ action: "chat", text: "hi there" });
  });
});

describe("ICE candidates", () => {
  it("trickles local candidates per role and buffers remote ones until the remote description", async () => {
    const h = harness();
    h.session.setLocalTrack("microphone", new FakeTrack("mic-1", "audio"));
    startJoined(h);
    await flush();
    const [pub, sub] = h.pcs();

    const c = { candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0 };
    pub.onicecandidate?.(c);
    sub.onicecandidate?.(c);
    const cands = signals(h.socket().sent).filter((s) => s.signal.kind === "candidate");
    expect(cands.map((s) => s.role)).toEqual(["publisher", "subscriber"]);

    // Arrive before any remote description: held back.
    h.socket().receive({ type: "candidate", role: "publisher", candidate: c });
    h.socket().receive({ type: "candidate", role: "subscriber", candidate: c });
    await flush();
    expect(pub.candidates).toEqual([]);
    expect(sub.candidates).toEqual([]);

    h.socket().receive({ type: "answer", role: "publisher", sdp: "sfu-answer" });
    h.socket().receive({ type: "offer", role: "subscriber", sdp: "sfu-offer" });
    await flush();
    expect(pub.candidates).toEqual([c]);
    expect(sub.candidates).toEqual([c]);

    // Later ones go straight in.
    h.socket().receive({ type: "candidate", role: "subscriber", candidate: c });
    await flush();
    expect(sub.candidates).toHaveLength(2);
  });
});

describe("renegotiation", () => {
  async function joinedWithMic() {
    const h = harness();
    h.session.setLocalTrack("microphone", new FakeTrack("mic-1", "audio"));
    startJoined(h);
    await flush();
    return h;
  }

  it("answers every subscriber offer, in order", async () => {
    const h = await joinedWithMic();
    h.socket().receive({ type: "offer", role: "subscriber", sdp: "o1" });
    h.socket().receive({ type: "offer", role: "subscriber", sdp: "o2" });
    await flush();
    const answers = signals(h.socket().sent).filter(
      (s) => s.role === "subscriber" && s.signal.kind === "answer",
    );
    expect(answers.map((a) => (a.signal as { sdp: string }).sdp)).toEqual([
      "answer-to-o1",
      "answer-to-o2",
    ]);
  });

  it("re-offers on the publisher when a screen share starts and stops", async () => {
    const h = await joinedWithMic();
    const [pub] = h.pcs();
    h.socket().receive({ type: "answer", role: "publisher", sdp: "a1" });
    await flush();

    h.session.setLocalTrack("screen_share", new FakeTrack("screen-1", "video"));
    await flush();
    let offers = signals(h.socket().sent).filter((s) => s.signal.kind === "offer");
    expect(offers).toHaveLength(2);
    expect(offers[1].signal).toMatchObject({
      tracks: [
        { id: "mic-1", source: "microphone" },
        { id: "screen-1", source: "screen_share" },
      ],
    });
    h.socket().receive({ type: "answer", role: "publisher", sdp: "a2" });
    await flush();

    h.session.removeLocalTrack("screen_share");
    await flush();
    expect(pub.removed.map((s) => s.track?.id)).toEqual(["screen-1"]);
    offers = signals(h.socket().sent).filter((s) => s.signal.kind === "offer");
    expect(offers).toHaveLength(3);
    expect(offers[2].signal).toMatchObject({ tracks: [{ id: "mic-1", source: "microphone" }] });
  });

  it("waits for the outstanding answer before offering again", async () => {
    const h = await joinedWithMic();
    // First offer still unanswered: the change is queued.
    h.session.setLocalTrack("screen_share", new FakeTrack("screen-1", "video"));
    await flush();
    expect(signals(h.socket().sent).filter((s) => s.signal.kind === "offer")).toHaveLength(1);
    h.socket().receive({ type: "answer", role: "publisher", sdp: "a1" });
    await flush();
    expect(signals(h.socket().sent).filter((s) => s.signal.kind === "offer")).toHaveLength(2);
  });

  it("turns the camera on later with a new offer, and off/on again without one", async () => {
    const h = await joinedWithMic();
    h.socket().receive({ type: "answer", role: "publisher", sdp: "a1" });
    await flush();
    const [pub] = h.pcs();

    h.session.setLocalTrack("camera", new FakeTrack("cam-1", "video"));
    await flush();
    h.socket().receive({ type: "answer", role: "publisher", sdp: "a2" });
    await flush();
    const offerCount = () => signals(h.socket().sent).filter((s) => s.signal.kind === "offer").length;
    expect(offerCount()).toBe(2);

    h.session.setLocalTrack("camera", null);
    h.session.setMuted("camera", true);
    h.session.setLocalTrack("camera", new FakeTrack("cam-2", "video"));
    h.session.setMuted("camera", false);
    await flush();
    expect(offerCount()).toBe(2);
    expect(pub.senders[1].track?.id).toBe("cam-2");
    // Mute frames name the id the offer announced.
    const mutes = h.socket().sent.filter((f) => f.action === "mute");
    expect(mutes).toEqual([
      { action: "mute", track_id: "cam-1", muted: true },
      { action: "mute", track_id: "cam-1", muted: false },
    ]);
  });

  it("mutes the mic by disabling the track and telling the room", async () => {
    const h = await joinedWithMic();
    const mic = h.pcs()[0].senders[0].track!;
    h.session.setMuted("microphone", true);
    expect(mic.enabled).toBe(false);
    expect(h.socket().sent.at(-1)).toEqual({ action: "mute", track_id: "mic-1", muted: true });
  });

  it("announces tracks that start muted once the publisher is negotiated", async () => {
    const h = harness();
    const mic = new FakeTrack("mic-1", "audio");
    h.session.setLocalTrack("microphone", mic);
    h.session.setMuted("microphone", true);
    expect(mic.enabled).toBe(false);
    startJoined(h);
    await flush();
    expect(h.socket().sent.filter((f) => f.action === "mute")).toEqual([]);
    h.socket().receive({ type: "answer", role: "publisher", sdp: "a1" });
    await flush();
    expect(h.socket().sent.filter((f) => f.action === "mute")).toEqual([
      { action: "mute", track_id: "mic-1", muted: true },
    ]);
    // The node then reports it unmuted: we correct it.
    h.socket().receive({
      type: "track_published",
      participant_id: "PA_me",
      track: { id: "mic-1", kind: "audio", source: "microphone", muted: false },
    });
    expect(h.socket().sent.filter((f) => f.action === "mute")).toHaveLength(2);
  });
});

describe("keepalive", () => {
  it("pings on an interval while connected", () => {
    const h = harness();
    startJoined(h);
    vi.advanceTimersByTime(PING_INTERVAL_MS - 1);
    expect(h.socket().actions()).not.toContain("ping");
    vi.advanceTimersByTime(1);
    expect(h.socket().actions().filter((a) => a === "ping")).toHaveLength(1);
    h.socket().receive({ type: "pong" });
    vi.advanceTimersByTime(PING_INTERVAL_MS);
    expect(h.socket().actions().filter((a) => a === "ping")).toHaveLength(2);
    expect(PING_INTERVAL_MS).toBeLessThan(10 * 60 * 1000);
  });
});

describe("keepalive failure", () => {
  it("re-joins when a ping goes unanswered (a dead connection the browser missed)", () => {
    const h = harness();
    startJoined(h);
    vi.advanceTimersByTime(PING_INTERVAL_MS);
    h.socket().receive({ type: "pong" });
    vi.advanceTimersByTime(PONG_TIMEOUT_MS);
    expect(h.session.getState().status).toBe("joined");

    vi.advanceTimersByTime(PING_INTERVAL_MS - PONG_TIMEOUT_MS);
    vi.advanceTimersByTime(PONG_TIMEOUT_MS - 1);
    expect(h.session.getState().status).toBe("joined");
    vi.advanceTimersByTime(1);
    expect(h.sockets[0].closed).toBe(true);
    expect(h.session.getState().status).toBe("reconnecting");
    vi.advanceTimersByTime(500);
    expect(h.sockets).toHaveLength(2);
  });
});

describe("reconnect", () => {
  it("re-joins with the same token after a drop, with backoff, and renegotiates", async () => {
    const h = harness();
    h.session.setLocalTrack("microphone", new FakeTrack("mic-1", "audio"));
    startJoined(h);
    await flush();
    const [oldPub, oldSub] = h.pcs();
    oldSub.ontrack?.(new FakeTrack("TR_x", "video"), "PA_bob");

    h.socket().drop();
    let st = h.session.getState();
    expect(st.status).toBe("reconnecting");
    expect(st.reconnectAttempt).toBe(1);
    expect(st.media).toEqual({});
    expect(st.participants.map((p) => p.name)).toEqual(["Bob"]); // still shown
    expect(oldPub.closed && oldSub.closed).toBe(true);
    expect(h.sockets).toHaveLength(1);

    vi.advanceTimersByTime(499);
    expect(h.sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(h.sockets).toHaveLength(2);
    expect(h.socket().url).toBe("ws://veet.test/ws?token=tok-0");

    h.socket().open();
    expect(h.socket().sent).toEqual([{ action: "join" }]);
    h.socket().receive(joined("PA_me2"));
    await flush();
    st = h.session.getState();
    expect(st.status).toBe("joined");
    expect(st.reconnectAttempt).toBe(0);
    expect(st.self?.id).toBe("PA_me2");
    expect(h.peers).toHaveLength(4);
    expect(signals(h.socket().sent)[0].signal).toMatchObject({
      kind: "offer",
      tracks: [{ id: "mic-1", source: "microphone" }],
    });
  });

  it("backs off exponentially while the server stays away, then gives up", async () => {
    const h = harness({ maxReconnectAttempts: 4 });
    startJoined(h);
    h.socket().drop();
    // Delays 500, 1000, 2000, 4000: each socket fails before opening.
    const delays = [500, 1000, 2000, 4000];
    for (const [i, d] of delays.entries()) {
      const before = h.sockets.length;
      vi.advanceTimersByTime(d - 1);
      expect(h.sockets.length).toBe(before);
      vi.advanceTimersByTime(1);
      await flush();
      expect(h.sockets.length).toBe(before + 1);
      expect(h.session.getState().status).toBe("reconnecting");
      h.socket().drop();
      await flush();
      if (i === 0) {
        // The first refused attempt tries a fresh token, straight away.
        expect(h.tokens).toEqual(["tok-1"]);
        expect(h.socket().url).toContain("tok-1");
        h.socket().drop();
        await flush();
      }
      if (i < delays.length - 1) expect(h.session.getState().reconnectAttempt).toBe(i + 2);
    }
    const st = h.session.getState();
    expect(st.status).toBe("failed");
    expect(st.fatal?.kind).toBe("connection_lost");
  });

  it("caps the delay and resets the attempt count after a successful re-join", async () => {
    const { backoffDelay } = await import("../src/session/backoff");
    const noJitter = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 7, 10].map((a) => backoffDelay(a, undefined, noJitter))).toEqual([
      500, 1000, 2000, 4000, 8000, 10000, 10000, 10000,
    ]);
    expect(backoffDelay(3, undefined, () => 0)).toBe(1600);
    expect(backoffDelay(3, undefined, () => 0.999999)).toBe(2400);

    const h = harness();
    startJoined(h);
    h.socket().drop();
    vi.advanceTimersByTime(500);
    h.socket().open();
    h.socket().receive(joined("PA_2"));
    h.socket().drop();
    expect(h.session.getState().reconnectAttempt).toBe(1);
  });

  it("re-joins when a peer connection fails", async () => {
    const h = harness();
    startJoined(h);
    await flush();
    const first = h.socket();
    h.pcs()[1].onstatechange?.("failed");
    expect(first.closed).toBe(true);
    expect(h.session.getState().status).toBe("reconnecting");
    vi.advanceTimersByTime(500);
    expect(h.sockets).toHaveLength(2);
  });

  it("does not reconnect after leaving", () => {
    const h = harness();
    startJoined(h);
    h.session.leave();
    expect(h.socket().sent.at(-1)).toEqual({ action: "leave" });
    expect(h.socket().closed).toBe(true);
    h.socket().drop();
    vi.advanceTimersByTime(60_000);
    expect(h.sockets).toHaveLength(1);
    expect(h.session.getState().status).toBe("left");
  });
});

describe("errors", () => {
  async function joining() {
    const h = harness();
    h.session.start();
    h.socket().open();
    return h;
  }

  it("room_full ends the session with its own screen", async () => {
    const h = await joining();
    h.socket().receive({ type: "error", code: "room_full", message: "the room is full" });
    const st = h.session.getState();
    expect(st.status).toBe("failed");
    expect(st.fatal).toEqual({ kind: "room_full", message: "the room is full" });
    expect(h.socket().closed).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(h.sockets).toHaveLength(1);
  });

  it("a socket refused before opening retries once with a fresh token, then reports an invalid token", async () => {
    const h = harness();
    h.session.start();
    h.socket().drop(); // 401 on the upgrade
    await flush();
    expect(h.tokens).toEqual(["tok-1"]);
    expect(h.sockets).toHaveLength(2);
    expect(h.socket().url).toBe("ws://veet.test/ws?token=tok-1");
    h.socket().drop();
    await flush();
    const st = h.session.getState();
    expect(st.status).toBe("failed");
    expect(st.fatal?.kind).toBe("invalid_token");
  });

  it("token errors from the server are fatal", async () => {
    const h = await joining();
    h.socket().receive({ type: "error", code: "token_expired", message: "expired" });
    expect(h.session.getState().fatal?.kind).toBe("invalid_token");
  });

  it("room_closed ends the meeting and keeps the reason", async () => {
    const h = await joining();
    h.socket().receive(joined());
    await flush();
    const [pub, sub] = h.pcs();
    h.socket().receive({ type: "room_closed", reason: "deleted" });
    const st = h.session.getState();
    expect(st.status).toBe("failed");
    expect(st.fatal).toMatchObject({ kind: "room_closed", closeReason: "deleted" });
    expect(pub.closed && sub.closed).toBe(true);
    h.socket().drop();
    vi.advanceTimersByTime(60_000);
    expect(h.sockets).toHaveLength(1);
  });

  it("being replaced by another tab is fatal; a no-node error can be retried", async () => {
    const h = await joining();
    h.socket().receive({ type: "error", code: "replaced", message: "joined elsewhere" });
    expect(h.session.getState().fatal?.kind).toBe("replaced");

    const g = await joining();
    g.socket().receive({ type: "error", code: "no_node_available", message: "no SFU" });
    expect(g.session.getState().fatal?.kind).toBe("no_node");
    g.session.retry();
    expect(g.session.getState().status).toBe("connecting");
    expect(g.sockets).toHaveLength(2);
    g.socket().open();
    g.socket().receive(joined());
    expect(g.session.getState().status).toBe("joined");
  });

  it("non-fatal errors (e.g. rate_limited) keep the call going", async () => {
    const h = await joining();
    h.socket().receive(joined());
    h.socket().receive({ type: "error", code: "rate_limited", message: "slow down" });
    expect(h.session.getState().status).toBe("joined");
  });
});

describe("remote mute", () => {
  async function joinedWithMicAndCamera() {
    const h = harness();
    const mic = new FakeTrack("mic-1", "audio");
    const cam = new FakeTrack("cam-1", "video");
    h.session.setLocalTrack("microphone", mic);
    h.session.setLocalTrack("camera", cam);
    startJoined(h);
    await flush();
    const remoteMutes: string[] = [];
    h.session.onRemoteMute((source) => remoteMutes.push(source));
    return { h, mic, cam, remoteMutes };
  }
  const mutes = (sent: ClientFrame[]) => sent.filter((f) => f.action === "mute");
  const serverMute = (trackId: string, muted: boolean, participantId = "PA_me") => ({
    type: "mute_changed" as const,
    participant_id: participantId,
    track_id: trackId,
    muted,
  });

  it("a server mute turns our mic off as if we had, and tells the UI", async () => {
    const { h, mic, cam, remoteMutes } = await joinedWithMicAndCamera();
    h.socket().receive(serverMute("mic-1", true));
    expect(mic.enabled).toBe(false);
    expect(cam.enabled).toBe(true);
    expect(remoteMutes).toEqual(["microphone"]);
    expect(mutes(h.socket().sent)).toEqual([{ action: "mute", track_id: "mic-1", muted: true }]);
    // Our later publications keep it muted, as after a user toggle.
    h.session.setLocalTrack("microphone", new FakeTrack("mic-2", "audio"));
    expect(h.pcs()[0].senders[0].track?.enabled).toBe(false);
  });

  it("a server mute of our camera turns the camera off", async () => {
    const { h, mic, cam, remoteMutes } = await joinedWithMicAndCamera();
    h.socket().receive(serverMute("cam-1", true));
    expect(cam.enabled).toBe(false);
    expect(mic.enabled).toBe(true);
    expect(remoteMutes).toEqual(["camera"]);
  });

  it("a server unmute leaves our mic off and re-asserts the mute", async () => {
    const { h, mic, remoteMutes } = await joinedWithMicAndCamera();
    h.socket().receive(serverMute("mic-1", true));
    h.socket().receive(serverMute("mic-1", false));
    expect(mic.enabled).toBe(false);
    expect(remoteMutes).toEqual(["microphone"]);
    expect(mutes(h.socket().sent)).toEqual([
      { action: "mute", track_id: "mic-1", muted: true },
      { action: "mute", track_id: "mic-1", muted: true },
    ]);
    // Only the user turns it back on.
    h.session.setMuted("microphone", false);
    expect(mic.enabled).toBe(true);
  });

  it("a server unmute while we are unmuted changes nothing", async () => {
    const { h, mic, remoteMutes } = await joinedWithMicAndCamera();
    h.socket().receive(serverMute("mic-1", false));
    expect(mic.enabled).toBe(true);
    expect(remoteMutes).toEqual([]);
    expect(mutes(h.socket().sent)).toEqual([]);
  });

  it("a mute_changed for someone else does not touch our tracks", async () => {
    const { h, mic, cam, remoteMutes } = await joinedWithMicAndCamera();
    h.socket().receive(serverMute("mic-1", true, "PA_bob"));
    h.socket().receive(serverMute("cam-1", true, "PA_bob"));
    expect(mic.enabled).toBe(true);
    expect(cam.enabled).toBe(true);
    expect(remoteMutes).toEqual([]);
    expect(mutes(h.socket().sent)).toEqual([]);
  });

  it("ignores a server mute before we have joined as that participant", async () => {
    const h = harness();
    const mic = new FakeTrack("mic-1", "audio");
    h.session.setLocalTrack("microphone", mic);
    h.session.start();
    h.socket().open();
    h.socket().receive(serverMute("mic-1", true));
    expect(mic.enabled).toBe(true);
  });
});
