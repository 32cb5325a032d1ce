// Raised hands (the line in the order hands went up, a host lowering one, what is announced),
// reactions (float for a few seconds, a few per tile), and connection quality (the
// thresholds, the node's grades, our own uplink from getStats).

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ParticipantInfo, ServerFrame } from "../src/protocol.gen";
import { liveReactions, MAX_REACTIONS_PER_TILE, raisedHands, REACTION_MS, type Reaction } from "../src/session/gestures";
import type { Notice } from "../src/session/notices";
import { describeQuality, gradeQuality, gradeUplink, remoteInboundOf, UplinkMonitor, worse } from "../src/session/quality";
import { grants, harness, participant, startJoined } from "./fakes";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const host = (id: string, name: string): ParticipantInfo => ({ ...participant(id, name), grants: { ...grants, room_admin: true } });
const joinedFrame = (self: ParticipantInfo, others: ParticipantInfo[]): ServerFrame => ({
  type: "joined",
  room: "abc-defg-hij",
  participant: self,
  participants: others,
  ice_servers: [],
});
const hand = (participant_id: string, raised_at?: number, by?: string): ServerFrame => ({
  type: "hand_changed",
  participant_id,
  raised_at,
  by,
});

describe("raised hands", () => {
  it("line up in the order they went up, late joiners' view included", () => {
    const h = harness();
    const carol = { ...participant("PA_carol", "Carol"), hand_raised_at: 500 };
    startJoined(h, joinedFrame(participant("PA_me", "Me"), [participant("PA_bob", "Bob"), carol]));
    h.socket().receive(hand("PA_bob", 900));
    h.socket().receive(hand("PA_me", 700));
    expect(raisedHands(h.session.getState()).map((p) => p.name)).toEqual(["Carol", "Me", "Bob"]);
    h.socket().receive(hand("PA_carol"));
    expect(raisedHands(h.session.getState()).map((p) => p.name)).toEqual(["Me", "Bob"]);
    expect(h.session.gestures.raised).toBe(true);
  });

  it("raising sends once; lowering your own needs no host", () => {
    const h = harness();
    startJoined(h, joinedFrame(participant("PA_me", "Me"), [participant("PA_bob", "Bob")]));
    expect(h.session.gestures.setHand(true)).toBe(true);
    h.socket().receive(hand("PA_me", 1));
    expect(h.session.gestures.setHand(true)).toBe(false);
    expect(h.session.gestures.lowerHand("PA_me")).toBe(true);
    expect(h.socket().sent.filter((f) => f.action === "raise_hand")).toEqual([
      { action: "raise_hand", raised: true },
      { action: "raise_hand", raised: false },
    ]);
  });

  it("only a host lowers someone else's hand, and only a raised one", () => {
    const guest = harness();
    startJoined(guest, joinedFrame(participant("PA_me", "Me"), [{ ...participant("PA_bob", "Bob"), hand_raised_at: 5 }]));
    expect(guest.session.gestures.lowerHand("PA_bob")).toBe(false);
    const h = harness();
    startJoined(h, joinedFrame(host("PA_me", "Hana"), [{ ...participant("PA_bob", "Bob"), hand_raised_at: 5 }, participant("PA_cy", "Cy")]));
    expect(h.session.gestures.lowerHand("PA_cy")).toBe(false);
    expect(h.session.gestures.lowerHand("PA_bob")).toBe(true);
    expect(h.socket().sent.at(-1)).toEqual({ action: "lower_hand", participant_id: "PA_bob" });
    expect(guest.socket().sent.some((f) => f.action === "lower_hand")).toBe(false);
  });

  it("announces others' hands and a host lowering yours", () => {
    const h = harness();
    const notices: Notice[] = [];
    h.session.onNotice((n) => notices.push(n));
    startJoined(h, joinedFrame(participant("PA_me", "Me"), [host("PA_hana", "Hana"), participant("PA_bob", "Bob")]));
    h.socket().receive(hand("PA_bob", 10));
    h.socket().receive(hand("PA_me", 11));
    h.socket().receive(hand("PA_me", undefined, "PA_hana"));
    expect(notices).toEqual([
      { kind: "hand_raised", text: "Bob raised their hand" },
      { kind: "hand_lowered", text: "Hana lowered your hand" },
    ]);
  });
});

describe("reactions", () => {
  const r = (participantId: string, at: number, emoji = "👍"): Reaction => ({ id: `${participantId}${at}`, participantId, emoji, at });

  it("float for a few seconds", () => {
    const list = [r("a", 0), r("b", 1_000)];
    expect(liveReactions(list, REACTION_MS - 1)).toHaveLength(2);
    expect(liveReactions(list, REACTION_MS).map((x) => x.participantId)).toEqual(["b"]);
  });

  it("keep the newest few per tile", () => {
    const burst = Array.from({ length: 6 }, (_, i) => r("a", i));
    const kept = liveReactions([...burst, r("b", 3)], 10);
    expect(kept.filter((x) => x.participantId === "a").map((x) => x.at)).toEqual([3, 4, 5]);
    expect(kept.filter((x) => x.participantId === "a")).toHaveLength(MAX_REACTIONS_PER_TILE);
    expect(kept.some((x) => x.participantId === "b")).toBe(true);
  });

  it("arrive in state once, and only known emoji are sent", () => {
    const h = harness();
    startJoined(h);
    const frame: ServerFrame = { type: "reaction", participant_id: "PA_bob", emoji: "🎉", sent_at: 42 };
    h.socket().receive(frame);
    h.socket().receive(frame);
    expect(h.session.getState().reactions.map((x) => x.emoji)).toEqual(["🎉"]);
    expect(h.session.gestures.react("🎉")).toBe(true);
    expect(h.session.gestures.react("💩")).toBe(false);
    expect(h.socket().sent.filter((f) => f.action === "react")).toEqual([{ action: "react", emoji: "🎉" }]);
  });
});

describe("connection quality", () => {
  it("grades with the node's thresholds", () => {
    expect(gradeQuality(0, 50)).toBe("good");
    expect(gradeQuality(1.9, 299)).toBe("good");
    expect(gradeQuality(2, undefined)).toBe("fair");
    expect(gradeQuality(0, 300)).toBe("fair");
    expect(gradeQuality(10, undefined)).toBe("poor");
    expect(gradeQuality(0, 600)).toBe("poor");
    expect(worse("fair", "poor")).toBe("poor");
    expect(worse("good", "fair")).toBe("fair");
  });

  it("takes the node's grades; a participant not listed is good", () => {
    const h = harness();
    startJoined(h);
    h.socket().receive({
      type: "connection_quality",
      qualities: [{ participant_id: "PA_bob", quality: "poor", uplink_loss_pct: 30, downlink_loss_pct: 0 }],
    });
    expect(h.session.getState().quality).toEqual({ PA_bob: "poor" });
    expect(h.session.getState().qualityDetail).toEqual({ PA_bob: "30 % packet loss" });
    h.socket().receive({ type: "connection_quality", qualities: [] });
    expect(h.session.getState().quality).toEqual({});
  });

  it("describes what the node measured for the indicator", () => {
    const line = { participant_id: "a", quality: "poor" as const, uplink_loss_pct: 0, downlink_loss_pct: 0 };
    expect(describeQuality(line)).toBe("");
    expect(describeQuality({ ...line, uplink_loss_pct: 3, downlink_loss_pct: 12, rtt_ms: 420 })).toBe(
      "12 % packet loss, 420 ms round trip",
    );
    expect(describeQuality({ ...line, rtt_ms: 35, downlink_kbps: 220 })).toBe("35 ms round trip, 220 kbit/s down");
  });

  it("grades our uplink from receiver reports between samples", () => {
    const report = (sent: number, lost: number, rtt?: number) => [
      { type: "outbound-rtp", ssrc: 1, packetsSent: sent },
      { type: "remote-inbound-rtp", ssrc: 1, packetsLost: lost, roundTripTime: rtt },
    ];
    expect(remoteInboundOf([{ type: "outbound-rtp", ssrc: 1, packetsSent: 5 }])).toBeNull();
    const a = remoteInboundOf(report(1000, 10, 0.05))!;
    const b = remoteInboundOf(report(1100, 30, 0.05))!;
    expect(gradeUplink(a, b)).toBe("poor"); // 20 of 100
    expect(gradeUplink(a, remoteInboundOf(report(1100, 12, 0.05))!)).toBe("fair"); // 2 of 100
    expect(gradeUplink(a, remoteInboundOf(report(1100, 10, 0.4))!)).toBe("fair");
    expect(gradeUplink(a, remoteInboundOf(report(1010, 10, 0.05))!)).toBeNull(); // too few
  });

  it("the monitor reports changes only", async () => {
    let sent = 0;
    let lost = 0;
    const grades: (string | null)[] = [];
    const m = new UplinkMonitor(
      async () => [
        { type: "outbound-rtp", ssrc: 7, packetsSent: sent },
        { type: "remote-inbound-rtp", ssrc: 7, packetsLost: lost },
      ],
      (g) => grades.push(g),
    );
    for (const [s, l] of [[100, 0], [200, 0], [300, 30], [400, 60], [500, 60]]) {
      sent = s;
      lost = l;
      await m.sample();
    }
    expect(grades).toEqual(["good", "poor", "good"]);
    m.stop();
    expect(grades.at(-1)).toBeNull();
  });
});
