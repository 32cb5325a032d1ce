// Tiles decorated with raised hands (place in line), connection quality (ours the worse of
// the node's and our own stats) and reactions; the people panel's raised-hands-first order.

import { describe, expect, it } from "vitest";
import type { ParticipantInfo } from "../src/protocol.gen";
import type { TileModel } from "../src/ui/model";
import { isUnstable, peopleOrder, withGestures } from "../src/ui/tileGestures";
import { participant } from "./fakes";

const tile = (id: string, isSelf = false): TileModel<null> => ({ id, name: id, isSelf, video: null, audioMuted: false });
const up = (p: ParticipantInfo, at: number): ParticipantInfo => ({ ...p, hand_raised_at: at });

describe("tiles with gestures", () => {
  const self = up(participant("me"), 20);
  const participants = [participant("ann"), up(participant("bob"), 10)];
  const tiles = [tile("me", true), tile("ann"), tile("bob")];

  it("number raised hands in the order they went up", () => {
    const out = withGestures(tiles, { self, participants, quality: {}, uplink: null }, []);
    expect(out.map((t) => t.handPlace)).toEqual([2, undefined, 1]);
    expect(peopleOrder(out).map((t) => t.id)).toEqual(["bob", "me", "ann"]);
  });

  it("grade others from the node, us from the worse of the node and our stats", () => {
    const q = (uplink: "good" | "fair" | "poor" | null, mine?: "poor" | "fair") =>
      withGestures(tiles, { self, participants, quality: { bob: "poor", ...(mine && { me: mine }) }, uplink }, []).map(
        (t) => t.quality,
      );
    expect(q(null)).toEqual(["good", "good", "poor"]);
    expect(q("poor")).toEqual(["poor", "good", "poor"]);
    expect(q("good", "fair")).toEqual(["fair", "good", "poor"]);
    const detail = { bob: "30 % packet loss" };
    const out = withGestures(tiles, { self, participants, quality: { bob: "poor" }, qualityDetail: detail, uplink: null }, []);
    expect(out.map((t) => t.qualityDetail)).toEqual([undefined, undefined, "30 % packet loss"]);
    expect(isUnstable("poor")).toBe(true);
    expect(isUnstable("fair")).toBe(false);
  });

  it("put each reaction on its sender's tile", () => {
    const r = { id: "1", participantId: "ann", emoji: "🎉", at: 0 };
    const out = withGestures(tiles, { self, participants, quality: {}, uplink: null }, [r]);
    expect(out.map((t) => t.reactions?.length ?? 0)).toEqual([0, 1, 0]);
  });
});
