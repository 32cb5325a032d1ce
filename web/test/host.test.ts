// Host controls and what the server enforces: the frames a host sends (and a non-host does
// not), the meeting lock, being removed or locked out, rate limits, a host muting us, a
// meeting ended for everyone.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ParticipantInfo, ServerFrame, TrackInfo } from "../src/protocol.gen";
import { ApiError } from "../src/lib/api";
import { closedMessage } from "../src/session/errors";
import { cameraTracks, micTracks } from "../src/session/host";
import { RATE_LIMITED_TEXT, RATE_NOTICE_INTERVAL_MS, type Notice } from "../src/session/notices";
import { FakeTrack, flush, grants, harness, joined, participant, startJoined, type Harness } from "./fakes";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const hostInfo = (id: string, name: string): ParticipantInfo => ({
  ...participant(id, name),
  grants: { ...grants, room_admin: true },
});
const track = (id: string, kind: "audio" | "video", source: TrackInfo["source"], muted = false): TrackInfo => ({
  id,
  kind,
  source,
  muted,
});
const bob = (tracks: TrackInfo[] = []): ParticipantInfo => ({ ...participant("PA_bob", "Bob"), tracks });
const bobLive = () =>
  bob([
    track("TR_bmic", "audio", "microphone"),
    track("TR_bcam", "video", "camera"),
    track("TR_bscr", "video", "screen_share"),
    track("TR_bscra", "audio", "screen_share_audio"),
  ]);

const joinedFrame = (self: ParticipantInfo, others: ParticipantInfo[]): ServerFrame => ({
  type: "joined",
  room: "abc-defg-hij",
  participant: self,
  participants: others,
  ice_servers: [],
});

/** A session joined as `self` with `others`, collecting its notices. */
function joinedAs(self: ParticipantInfo, others: ParticipantInfo[]) {
  const h = harness();
  const notices: Notice[] = [];
  h.session.onNotice((n) => notices.push(n));
  startJoined(h, joinedFrame(self, others));
  h.socket().sent = [];
  return { h, notices };
}
const asHost = (others = [bobLive(), hostInfo("PA_hana", "Hana")]) => joinedAs(hostInfo("PA_me", "Me"), others);
const asGuest = (others = [bobLive(), hostInfo("PA_hana", "Hana")]) => joinedAs(participant("PA_me", "Me"), others);

describe("host actions", () => {
  it("send exactly the host frames", () => {
    const { h } = asHost();
    expect(h.session.host.allowed).toBe(true);
    expect(h.session.host.muteMic("PA_bob")).toBe(true);
    expect(h.session.host.stopVideo("PA_bob")).toBe(true);
    expect(h.session.host.remove("PA_bob")).toBe(true);
    expect(h.session.host.setLocked(true)).toBe(true);
    expect(h.session.host.setLocked(false)).toBe(true);
    expect(h.session.host.endMeeting()).toBe(true);
    expect(h.socket().sent).toEqual([
      // Mute: every audio track still on; the screen share's video is left alone.
      { action: "mute_participant", participant_id: "PA_bob", track_id: "TR_bmic" },
      { action: "mute_participant", participant_id: "PA_bob", track_id: "TR_bscra" },
      { action: "mute_participant", participant_id: "PA_bob", track_id: "TR_bcam" },
      { action: "remove_participant", participant_id: "PA_bob" },
      { action: "lock_meeting", locked: true },
      { action: "lock_meeting", locked: false },
      { action: "end_meeting" },
    ]);
  });

  it("send nothing for what is already off, or for someone not here", () => {
    const muted = bob([track("TR_bmic", "audio", "microphone", true), track("TR_bcam", "video", "camera", true)]);
    const { h } = asHost([muted]);
    expect(micTracks(muted)).toEqual([]);
    expect(cameraTracks(muted)).toEqual([]);
    expect(h.session.host.muteMic("PA_bob")).toBe(false);
    expect(h.session.host.stopVideo("PA_bob")).toBe(false);
    expect(h.session.host.remove("PA_gone")).toBe(false);
    // Ourselves: the server refuses that; the UI offers leaving instead.
    expect(h.session.host.remove("PA_me")).toBe(false);
    expect(h.socket().sent).toEqual([]);
  });

  it("a participant who is not a host has none: nothing is sent", () => {
    const { h } = asGuest();
    const host = h.session.host;
    expect(host.allowed).toBe(false);
    expect([
      host.muteMic("PA_bob"),
      host.stopVideo("PA_bob"),
      host.remove("PA_bob"),
      host.setLocked(true),
      host.endMeeting(),
    ]).toEqual([false, false, false, false, false]);
    expect(h.socket().sent).toEqual([]);
  });

  it("nor does a host before the join completes", () => {
    const h = harness();
    h.session.start();
    h.socket().open();
    expect(h.session.host.setLocked(true)).toBe(false);
    expect(h.session.host.endMeeting()).toBe(false);
    expect(h.socket().actions()).toEqual(["join"]);
  });
});

describe("meeting lock", () => {
  const lockFrame = (locked: boolean, by?: string): ServerFrame => ({ type: "meeting_locked", locked, by });

  it("meeting_locked updates the state, with a notice naming the host", () => {
    const { h, notices } = asGuest();
    expect(h.session.getState().locked).toBe(false);
    h.socket().receive(lockFrame(true, "PA_hana"));
    expect(h.session.getState().locked).toBe(true);
    h.socket().receive(lockFrame(false, "PA_hana"));
    expect(h.session.getState().locked).toBe(false);
    h.socket().receive(lockFrame(true));
    expect(notices.map((n) => [n.kind, n.text])).toEqual([
      ["meeting_locked", "Hana locked the meeting"],
      ["meeting_unlocked", "Hana unlocked the meeting"],
      ["meeting_locked", "The meeting was locked"],
    ]);
  });

  it("a host's own lock says so, and the lock outlasts a re-join", () => {
    const { h, notices } = asHost();
    h.socket().receive(lockFrame(true, "PA_me"));
    expect(notices.at(-1)?.text).toBe("You locked the meeting");
    h.socket().drop();
    vi.advanceTimersByTime(500);
    h.socket().open();
    h.socket().receive(joinedFrame(hostInfo("PA_me2", "Me"), [bobLive()]));
    expect(h.session.getState().locked).toBe(true);
  });
});

describe("removed, locked out, rate limited", () => {
  function joining(opts: Parameters<typeof harness>[0] = {}): Harness {
    const h = harness(opts);
    h.session.start();
    h.socket().open();
    return h;
  }
  const expectEnded = (h: Harness, kind: string) => {
    const st = h.session.getState();
    expect(st.status).toBe("failed");
    expect(st.fatal?.kind).toBe(kind);
    expect(h.socket().closed).toBe(true);
    h.socket().drop();
    vi.advanceTimersByTime(60_000);
    expect(h.sockets).toHaveLength(1);
  };

  it("error removed ends the session for good", async () => {
    const h = joining();
    h.socket().receive(joined());
    await flush();
    const [pub, sub] = h.pcs();
    h.socket().receive({ type: "error", code: "removed", message: "a host removed you from the meeting" });
    expectEnded(h, "removed");
    expect(pub.closed && sub.closed).toBe(true);
  });

  it("error meeting_locked refuses our join with its own screen, without retrying", () => {
    const h = joining();
    h.socket().receive({ type: "error", code: "meeting_locked", message: "a host locked this meeting" });
    expectEnded(h, "meeting_locked");
    // "Try again" on the end screen starts over.
    h.session.retry();
    expect(h.sockets).toHaveLength(2);
  });

  it("a removed guest's socket is refused and the token endpoint says why", async () => {
    const refused = new ApiError(403, "removed", "a host removed you from this meeting");
    const h = harness({ refreshToken: () => Promise.reject(refused) });
    h.session.start();
    h.socket().drop(); // 403 on the upgrade
    await flush();
    expect(h.session.getState().fatal).toEqual({ kind: "removed", message: refused.message });
    vi.advanceTimersByTime(60_000);
    expect(h.sockets).toHaveLength(1);
  });

  it("rate_limited keeps the call going, with one notice per burst", () => {
    const { h, notices } = asGuest();
    const limited: ServerFrame = { type: "error", code: "rate_limited", message: "slow down", retry_after_ms: 800 };
    h.socket().receive(limited);
    h.socket().receive(limited);
    vi.advanceTimersByTime(RATE_NOTICE_INTERVAL_MS - 1);
    h.socket().receive(limited);
    expect(h.session.getState().status).toBe("joined");
    expect(notices).toEqual([{ kind: "rate_limited", text: RATE_LIMITED_TEXT }]);
    vi.advanceTimersByTime(1);
    h.socket().receive(limited);
    expect(notices).toHaveLength(2);
  });

  it("forbidden is a notice, not the end", () => {
    const { h, notices } = asGuest();
    h.socket().receive({ type: "error", code: "forbidden", message: "only the meeting's hosts can do this" });
    expect(h.session.getState().status).toBe("joined");
    expect(notices).toEqual([{ kind: "forbidden", text: "Only the meeting's hosts can do this" }]);
  });
});

describe("a host mutes us", () => {
  async function withMicAndCamera() {
    const h = harness();
    const mic = new FakeTrack("mic-1", "audio");
    const cam = new FakeTrack("cam-1", "video");
    h.session.setLocalTrack("microphone", mic);
    h.session.setLocalTrack("camera", cam);
    const notices: Notice[] = [];
    h.session.onNotice((n) => notices.push(n));
    startJoined(h, joined("PA_me", [participant("PA_bob", "Bob"), hostInfo("PA_hana", "Hana")]));
    await flush();
    return { h, mic, cam, notices };
  }
  const mutedBy = (track_id: string, by?: string): ServerFrame => ({
    type: "mute_changed",
    participant_id: "PA_me",
    track_id,
    muted: true,
    by,
  });

  it("turns our mic off and says who did", async () => {
    const { h, mic, notices } = await withMicAndCamera();
    h.socket().receive(mutedBy("mic-1", "PA_hana"));
    expect(mic.enabled).toBe(false);
    expect(h.socket().sent.filter((f) => f.action === "mute")).toEqual([
      { action: "mute", track_id: "mic-1", muted: true },
    ]);
    expect(notices).toEqual([{ kind: "muted_by_host", text: "Hana muted you" }]);
    // Again while already muted: nothing new to say.
    h.socket().receive(mutedBy("mic-1", "PA_hana"));
    expect(notices).toHaveLength(1);
  });

  it("names the camera, and falls back to 'A host' for someone we do not know", async () => {
    const { h, cam, notices } = await withMicAndCamera();
    h.socket().receive(mutedBy("cam-1", "PA_unknown"));
    expect(cam.enabled).toBe(false);
    expect(notices.map((n) => n.text)).toEqual(["A host turned off your camera"]);
  });

  it("our own mute, echoed without `by`, is no news", async () => {
    const { h, mic, notices } = await withMicAndCamera();
    h.socket().receive(mutedBy("mic-1"));
    expect(mic.enabled).toBe(false);
    expect(notices).toEqual([]);
  });
});

describe("ended for everyone", () => {
  it("room_closed with `ended` gives the ended message", () => {
    const h = harness();
    startJoined(h);
    h.socket().receive({ type: "room_closed", reason: "ended" });
    expect(h.session.getState().fatal).toEqual({
      kind: "room_closed",
      message: "The host ended the meeting for everyone.",
      closeReason: "ended",
    });
    expect(closedMessage("deleted")).toBe("The meeting was ended by its host.");
  });
});
