// The lobby ("knock to join"): a guest waiting for a host (no join retry meanwhile), given up
// on after the lobby timeout, turned away, or let in; a host's list of knocks and the frames
// that answer them; the lobby switch.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ParticipantInfo, ServerFrame } from "../src/protocol.gen";
import { JOIN_TIMEOUT_MS, LOBBY_TIMEOUT_MS } from "../src/session/options";
import type { Notice } from "../src/session/notices";
import { flush, grants, harness, joined, participant, startJoined, type Harness } from "./fakes";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const hostInfo = (id: string, name: string): ParticipantInfo => ({
  ...participant(id, name),
  grants: { ...grants, room_admin: true },
});
const joinedAs = (self: ParticipantInfo, others: ParticipantInfo[] = []): ServerFrame => ({
  type: "joined",
  room: "abc-defg-hij",
  participant: self,
  participants: others,
  ice_servers: [],
});
const knock = (knock_id: string, name: string): ServerFrame => ({ type: "knock", knock_id, name });
const resolved = (knock_id: string, admitted = true): ServerFrame => ({ type: "knock_resolved", knock_id, admitted });
const lobbyChanged = (enabled: boolean, by?: string): ServerFrame => ({ type: "lobby_changed", enabled, by });

/** Lets `ms` pass, the server answering every ping (a quiet but live socket). */
function pass(h: Harness, ms: number) {
  for (let left = ms; left > 0; left -= 1_000) {
    vi.advanceTimersByTime(Math.min(left, 1_000));
    if (h.socket().sent.at(-1)?.action === "ping") h.socket().receive({ type: "pong" });
  }
}

/** A guest whose join went to the lobby. */
function waiting(opts: Parameters<typeof harness>[0] = {}): Harness {
  const h = harness(opts);
  h.session.start();
  h.socket().open();
  h.socket().receive({ type: "waiting_in_lobby" });
  return h;
}

describe("a guest in the lobby", () => {
  it("waits for a host: no join retry or timeout, no reconnect", () => {
    const h = waiting();
    expect(h.session.getState().status).toBe("lobby");
    vi.advanceTimersByTime(JOIN_TIMEOUT_MS + 1);
    expect(h.session.getState().status).toBe("lobby");
    pass(h, 4 * 60_000);
    expect(h.session.getState().status).toBe("lobby");
    expect(h.sockets).toHaveLength(1);
    expect(h.socket().closed).toBe(false);
    // The socket is kept alive meanwhile; joins are not sent again.
    expect(h.socket().actions().filter((a) => a === "join")).toEqual(["join"]);
    expect(h.socket().actions()).toContain("ping");
  });

  it("gives up after the lobby timeout with its own screen", () => {
    const h = waiting({ lobbyTimeoutMs: 60_000 });
    pass(h, 60_000 - 1);
    expect(h.session.getState().status).toBe("lobby");
    vi.advanceTimersByTime(1);
    const st = h.session.getState();
    expect(st.status).toBe("failed");
    expect(st.fatal?.kind).toBe("lobby_timeout");
    expect(h.socket().closed).toBe(true);
    vi.advanceTimersByTime(LOBBY_TIMEOUT_MS);
    expect(h.sockets).toHaveLength(1);
  });

  it("waits five minutes by default", () => {
    const h = waiting();
    pass(h, LOBBY_TIMEOUT_MS - 1);
    expect(h.session.getState().status).toBe("lobby");
    vi.advanceTimersByTime(1);
    expect(h.session.getState().fatal?.kind).toBe("lobby_timeout");
  });

  it("knock_denied ends the session without reconnecting", () => {
    const h = waiting();
    h.socket().receive({ type: "error", code: "knock_denied", message: "a host did not let you in" });
    const st = h.session.getState();
    expect(st.status).toBe("failed");
    expect(st.fatal).toEqual({ kind: "knock_denied", message: "a host did not let you in" });
    expect(h.socket().closed).toBe(true);
    h.socket().drop(); // the server closes it too
    vi.advanceTimersByTime(LOBBY_TIMEOUT_MS * 2);
    expect(h.sockets).toHaveLength(1);
    expect(h.session.getState().fatal?.kind).toBe("knock_denied");
  });

  it("is joined normally once a host admits it, with no lobby deadline left", async () => {
    const h = waiting({ lobbyTimeoutMs: 60_000 });
    pass(h, 30_000);
    h.socket().receive(joined());
    await flush();
    const st = h.session.getState();
    expect(st.status).toBe("joined");
    expect(st.self?.id).toBe("PA_me");
    expect(st.participants.map((p) => p.name)).toEqual(["Bob"]);
    expect(h.peers).toHaveLength(2);
    pass(h, 60_000);
    expect(h.session.getState().status).toBe("joined");
    expect(h.sockets).toHaveLength(1);
  });

  it("knocks again after a dropped socket, the deadline still counting from the first knock", () => {
    const h = waiting({ lobbyTimeoutMs: 60_000 });
    pass(h, 40_000);
    h.socket().drop();
    expect(h.session.getState().status).toBe("reconnecting");
    vi.advanceTimersByTime(500);
    expect(h.sockets).toHaveLength(2);
    h.socket().open();
    expect(h.socket().sent).toEqual([{ action: "join" }]);
    h.socket().receive({ type: "waiting_in_lobby" });
    expect(h.session.getState().status).toBe("lobby");
    pass(h, 20_000 - 500 - 1);
    expect(h.session.getState().status).toBe("lobby");
    vi.advanceTimersByTime(1);
    expect(h.session.getState().fatal?.kind).toBe("lobby_timeout");
  });

  it("Cancel (leave) ends the wait", () => {
    const h = waiting();
    h.session.leave();
    expect(h.session.getState().status).toBe("left");
    expect(h.socket().closed).toBe(true);
    vi.advanceTimersByTime(LOBBY_TIMEOUT_MS);
    expect(h.session.getState().status).toBe("left");
    expect(h.sockets).toHaveLength(1);
  });

  it("a join answered by neither joined nor the lobby is still retried", () => {
    const h = harness();
    h.session.start();
    h.socket().open();
    vi.advanceTimersByTime(JOIN_TIMEOUT_MS);
    expect(h.session.getState().status).toBe("reconnecting");
  });
});

describe("a host's lobby", () => {
  function asHost(): { h: Harness; notices: Notice[] } {
    const h = harness();
    const notices: Notice[] = [];
    h.session.onNotice((n) => notices.push(n));
    startJoined(h, joinedAs(hostInfo("PA_me", "Me"), [participant("PA_bob", "Bob"), hostInfo("PA_hana", "Hana")]));
    h.socket().sent = [];
    return { h, notices };
  }
  const knocks = (h: Harness) => h.session.getState().knocks;

  it("lists knocks in order, once each, until they are resolved", () => {
    const { h, notices } = asHost();
    h.socket().receive(knock("KN_gus", "Gus"));
    h.socket().receive(knock("KN_ida", "Ida"));
    h.socket().receive(knock("KN_gus", "Gus"));
    expect(knocks(h)).toEqual([
      { knockId: "KN_gus", name: "Gus" },
      { knockId: "KN_ida", name: "Ida" },
    ]);
    expect(notices).toEqual([
      { kind: "knock", text: "Gus wants to join" },
      { kind: "knock", text: "Ida wants to join" },
    ]);
    h.socket().receive(resolved("KN_gus"));
    expect(knocks(h)).toEqual([{ knockId: "KN_ida", name: "Ida" }]);
    h.socket().receive(resolved("KN_unknown", false));
    h.socket().receive(resolved("KN_ida", false));
    expect(knocks(h)).toEqual([]);
  });

  it("admit and deny send exactly the answering frames", () => {
    const { h } = asHost();
    h.socket().receive(knock("KN_gus", "Gus"));
    h.socket().receive(knock("KN_ida", "Ida"));
    expect(h.session.lobby.admit("KN_gus")).toBe(true);
    expect(h.session.lobby.deny("KN_ida")).toBe(true);
    // Not (or no longer) waiting: nothing to answer.
    expect(h.session.lobby.admit("KN_gone")).toBe(false);
    expect(h.session.lobby.setEnabled(true)).toBe(true);
    expect(h.session.lobby.setEnabled(false)).toBe(true);
    expect(h.socket().sent).toEqual([
      { action: "admit_guest", knock_id: "KN_gus" },
      { action: "deny_guest", knock_id: "KN_ida" },
      { action: "set_lobby", enabled: true },
      { action: "set_lobby", enabled: false },
    ]);
  });

  it("a re-join starts the list over: the new connection is shown who still waits", () => {
    const { h } = asHost();
    h.socket().receive(knock("KN_gus", "Gus"));
    h.socket().receive(lobbyChanged(true));
    h.socket().drop();
    vi.advanceTimersByTime(500);
    h.socket().open();
    expect(knocks(h)).toEqual([]);
    h.socket().receive(joinedAs(hostInfo("PA_me2", "Me")));
    expect(h.session.getState().lobby).toBe(false);
    h.socket().receive(lobbyChanged(true));
    h.socket().receive(knock("KN_ida", "Ida"));
    expect(knocks(h)).toEqual([{ knockId: "KN_ida", name: "Ida" }]);
    expect(h.session.getState().lobby).toBe(true);
  });

  it("a participant who is not a host sends nothing", () => {
    const h = harness();
    startJoined(h, joinedAs(participant("PA_me", "Me"), [hostInfo("PA_hana", "Hana")]));
    h.socket().sent = [];
    expect(h.session.lobby.allowed).toBe(false);
    expect([h.session.lobby.setEnabled(true), h.session.lobby.admit("KN_gus"), h.session.lobby.deny("KN_gus")]).toEqual([
      false,
      false,
      false,
    ]);
    expect(h.socket().sent).toEqual([]);
  });

  it("nor does a host before the join completes", () => {
    const h = harness();
    h.session.start();
    h.socket().open();
    expect(h.session.lobby.setEnabled(true)).toBe(false);
    expect(h.socket().actions()).toEqual(["join"]);
  });
});

describe("lobby_changed", () => {
  function joinedWithNotices(self: ParticipantInfo) {
    const h = harness();
    const notices: Notice[] = [];
    h.session.onNotice((n) => notices.push(n));
    startJoined(h, joinedAs(self, [hostInfo("PA_hana", "Hana")]));
    return { h, notices };
  }

  it("updates the lobby state, with a notice naming the host", () => {
    const { h, notices } = joinedWithNotices(participant("PA_me", "Me"));
    expect(h.session.getState().lobby).toBe(false);
    h.socket().receive(lobbyChanged(true, "PA_hana"));
    expect(h.session.getState().lobby).toBe(true);
    h.socket().receive(lobbyChanged(false, "PA_hana"));
    expect(h.session.getState().lobby).toBe(false);
    expect(notices.map((n) => [n.kind, n.text])).toEqual([
      ["lobby_on", "Hana turned on the lobby"],
      ["lobby_off", "Hana turned off the lobby"],
    ]);
  });

  it("a host's own change says so; what a host is shown on joining is no news", () => {
    const { h, notices } = joinedWithNotices(hostInfo("PA_me", "Me"));
    h.socket().receive(lobbyChanged(true));
    expect(h.session.getState().lobby).toBe(true);
    expect(notices).toEqual([]);
    h.socket().receive(lobbyChanged(false, "PA_me"));
    expect(notices.map((n) => n.text)).toEqual(["You turned off the lobby"]);
  });
});
