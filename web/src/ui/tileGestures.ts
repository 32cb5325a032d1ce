// What raised hands, reactions and connection quality add to the tiles: each tile's place
// in the hand line, its connection grade (ours: the worse of the node's and our own
// stats'), and the reactions floating over it.

import type { ParticipantInfo, Quality } from "../protocol.gen";
import { raisedHands, worse, type Reaction } from "../session";
import type { TileModel } from "./model";

export interface GestureState {
  self: ParticipantInfo | null;
  participants: ParticipantInfo[];
  quality: Record<string, Quality>;
  qualityDetail?: Record<string, string>;
  uplink: Quality | null;
}

/** Tiles with `handPlace` (1 = first up), `quality` and `reactions` filled in. */
export function withGestures<T>(tiles: TileModel<T>[], s: GestureState, reactions: Reaction[]): TileModel<T>[] {
  const line = raisedHands(s).map((p) => p.id);
  return tiles.map((t) => {
    const place = line.indexOf(t.id) + 1;
    const node = s.quality[t.id] ?? "good";
    const quality = t.isSelf && s.uplink ? worse(node, s.uplink) : node;
    const mine = reactions.filter((r) => r.participantId === t.id);
    const detail = s.qualityDetail?.[t.id];
    return {
      ...t,
      ...(place > 0 && { handPlace: place }),
      quality,
      ...(detail && { qualityDetail: detail }),
      ...(mine.length > 0 && { reactions: mine }),
    };
  });
}

/** Our own tile warns when our connection is this bad. */
export const isUnstable = (q: Quality | undefined) => q === "poor";

/** The people panel's order: raised hands first, in the order they went up, then the rest. */
export function peopleOrder<T>(tiles: TileModel<T>[]): TileModel<T>[] {
  const up = tiles.filter((t) => t.handPlace).sort((a, b) => (a.handPlace ?? 0) - (b.handPlace ?? 0));
  return [...up, ...tiles.filter((t) => !t.handPlace)];
}
