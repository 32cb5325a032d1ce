// Raised hands and reactions: the frames that raise, lower and react, and the pure updates
// of the session's state from `hand_changed` and `reaction`. A hand's place in line is the
// time it went up (`hand_raised_at`), kept by the server so late joiners see the same line.

import type { ClientFrame, ParticipantInfo, ServerFrame } from "../protocol.gen";
import { REACTIONS } from "../protocol.gen";
import { isHost } from "./host";
import type { Notice } from "./notices";
import type { SessionState } from "./state";
import type { TrackLike } from "./types";

export type Emoji = (typeof REACTIONS)[number];

/** How long a reaction floats over its sender's tile. */
export const REACTION_MS = 4_000;
/** Reactions shown at once over one tile; older ones make way. */
export const MAX_REACTIONS_PER_TILE = 3;

/** A reaction on screen. */
export interface Reaction {
  id: string;
  participantId: string;
  emoji: string;
  /** When it arrived here (local clock), for its float-away. */
  at: number;
}

export type GestureFrame = Extract<ServerFrame, { type: "hand_changed" | "reaction" }>;

export function isGestureFrame(f: ServerFrame): f is GestureFrame {
  return f.type === "hand_changed" || f.type === "reaction";
}

function withHand<T extends TrackLike>(s: SessionState<T>, id: string, at: number | undefined): SessionState<T> {
  const set = (p: ParticipantInfo): ParticipantInfo => {
    const { hand_raised_at: _, ...rest } = p;
    return at === undefined ? rest : { ...rest, hand_raised_at: at };
  };
  if (s.self?.id === id) return { ...s, self: set(s.self) };
  if (!s.participants.some((p) => p.id === id)) return s;
  return { ...s, participants: s.participants.map((p) => (p.id === id ? set(p) : p)) };
}

/** Who is who, for notices. */
const nameOf = (s: SessionState<TrackLike>, id: string) =>
  id === s.self?.id ? "You" : (s.participants.find((p) => p.id === id)?.name ?? "Someone");

/** The state after `frame` (at local time `now`), and what to announce, if anything. */
export function applyGestureFrame<T extends TrackLike>(
  s: SessionState<T>,
  frame: GestureFrame,
  now: number,
): { state: SessionState<T>; notice: Notice | null } {
  switch (frame.type) {
    case "hand_changed": {
      const state = withHand(s, frame.participant_id, frame.raised_at);
      const mine = frame.participant_id === s.self?.id;
      let notice: Notice | null = null;
      if (frame.raised_at !== undefined && !mine) {
        notice = { kind: "hand_raised", text: `${nameOf(s, frame.participant_id)} raised their hand` };
      } else if (frame.raised_at === undefined && mine && frame.by && frame.by !== s.self?.id) {
        notice = { kind: "hand_lowered", text: `${nameOf(s, frame.by)} lowered your hand` };
      }
      return { state, notice };
    }
    case "reaction": {
      const reaction: Reaction = {
        id: `${frame.participant_id}:${frame.sent_at}:${frame.emoji}`,
        participantId: frame.participant_id,
        emoji: frame.emoji,
        at: now,
      };
      if (s.reactions.some((r) => r.id === reaction.id)) return { state: s, notice: null };
      return { state: { ...s, reactions: liveReactions([...s.reactions, reaction], now) }, notice: null };
    }
  }
}

/** The reactions still floating at `now`, at most a few per tile (the newest). */
export function liveReactions(reactions: Reaction[], now: number): Reaction[] {
  const fresh = reactions.filter((r) => now - r.at < REACTION_MS);
  const perTile = new Map<string, number>();
  const kept: Reaction[] = [];
  for (let i = fresh.length - 1; i >= 0; i--) {
    const r = fresh[i];
    const n = perTile.get(r.participantId) ?? 0;
    if (n >= MAX_REACTIONS_PER_TILE) continue;
    perTile.set(r.participantId, n + 1);
    kept.unshift(r);
  }
  return kept;
}

/** Everyone with a raised hand, ourselves included, in the order the hands went up. */
export function raisedHands(s: Pick<SessionState<TrackLike>, "self" | "participants">): ParticipantInfo[] {
  const all = s.self ? [s.self, ...s.participants] : s.participants;
  return all
    .filter((p) => p.hand_raised_at !== undefined)
    .sort((a, b) => (a.hand_raised_at ?? 0) - (b.hand_raised_at ?? 0) || a.id.localeCompare(b.id));
}

export interface GestureEnv {
  state(): Pick<SessionState<TrackLike>, "status" | "self" | "participants">;
  send(frame: ClientFrame): void;
}

/** Raise or lower a hand, lower someone's (hosts), react. Each returns whether it sent. */
export class GestureControls {
  constructor(private readonly env: GestureEnv) {}

  get raised(): boolean {
    return this.env.state().self?.hand_raised_at !== undefined;
  }

  setHand(raised: boolean): boolean {
    if (this.env.state().status !== "joined" || raised === this.raised) return false;
    this.env.send({ action: "raise_hand", raised });
    return true;
  }

  /** Lowers someone's hand: our own, or anyone's if we are a host. */
  lowerHand(participantId: string): boolean {
    const s = this.env.state();
    if (s.status !== "joined") return false;
    if (participantId === s.self?.id) return this.setHand(false);
    const p = s.participants.find((o) => o.id === participantId);
    if (!isHost(s.self) || p?.hand_raised_at === undefined) return false;
    this.env.send({ action: "lower_hand", participant_id: participantId });
    return true;
  }

  react(emoji: string): boolean {
    if (this.env.state().status !== "joined" || !(REACTIONS as readonly string[]).includes(emoji)) return false;
    this.env.send({ action: "react", emoji });
    return true;
  }
}
