// Roster frames come from concurrent invocations (other people's joins, leaves, the node's
// track events), so they can overtake our own `joined` and each other. Two rules keep the
// roster right whatever the order:
// - frames that arrive on a socket before its `joined` wait, and are replayed on top of the
//   `joined` snapshot (which may be older than they are);
// - a participant id that left never comes back (ids are new on every join), so a late
//   `participant_joined` for it is ignored.

import { applyRosterFrame, type RosterFrame } from "./roster";
import type { SessionState } from "./state";
import type { TrackLike } from "./types";

/** Frames kept before `joined`; a real room sends far fewer in that window. */
const MAX_EARLY = 512;
/** Departed ids remembered; ids are unique, so forgetting the oldest is harmless. */
const MAX_GONE = 4096;

export class RosterOrder<T extends TrackLike> {
  private early: RosterFrame[] | null = null;
  private readonly gone = new Set<string>();

  /** A new socket opened: its roster frames wait for its `joined`. */
  opened(): void {
    this.early = [];
  }

  /** The state after `frame`, or `s` unchanged when the frame must wait or is stale. */
  apply(s: SessionState<T>, frame: RosterFrame): SessionState<T> {
    if (frame.type === "participant_left") this.forget(frame.participant_id);
    if (this.early) {
      if (frame.type !== "chat") {
        if (this.early.length < MAX_EARLY) this.early.push(frame);
        return s;
      }
    }
    return this.applyNow(s, frame);
  }

  /** `joined` arrived with snapshot `s`: replays what came before it. */
  joined(s: SessionState<T>): SessionState<T> {
    const early = this.early ?? [];
    this.early = null;
    let next: SessionState<T> = {
      ...s,
      participants: s.participants.filter((p) => !this.gone.has(p.id)),
    };
    for (const frame of early) next = this.applyNow(next, frame);
    return next;
  }

  private applyNow(s: SessionState<T>, frame: RosterFrame): SessionState<T> {
    if (frame.type === "participant_joined" && this.gone.has(frame.participant.id)) return s;
    return applyRosterFrame(s, frame);
  }

  private forget(id: string): void {
    if (this.gone.size >= MAX_GONE) {
      const oldest = this.gone.values().next().value;
      if (oldest !== undefined) this.gone.delete(oldest);
    }
    this.gone.add(id);
  }
}
