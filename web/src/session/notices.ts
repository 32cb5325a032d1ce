// What the session has to tell the person that is not state: a host muted them, the meeting
// was locked or unlocked, the lobby turned on or off, a guest knocks, a host action was
// refused, they are going too fast. The UI shows these as toasts.

import type { ErrorCode, ParticipantInfo } from "../protocol.gen";
import type { LocalSource } from "./types";

export type NoticeKind =
  | "muted_by_host"
  | "meeting_locked"
  | "meeting_unlocked"
  | "lobby_on"
  | "lobby_off"
  | "knock"
  | "forbidden"
  | "rate_limited"
  | "hand_raised"
  | "hand_lowered";

export interface Notice {
  kind: NoticeKind;
  text: string;
}

/** After a rate-limit notice, more are held back this long: a burst shows one toast. */
export const RATE_NOTICE_INTERVAL_MS = 5_000;

export const RATE_LIMITED_TEXT = "You're doing that too fast — try again in a moment";

interface Roster {
  self: ParticipantInfo | null;
  participants: ParticipantInfo[];
}

/** Who `id` is, as a sentence's subject. */
function who(r: Roster, id: string, fallback: string): string {
  if (id === r.self?.id) return "You";
  return r.participants.find((p) => p.id === id)?.name ?? fallback;
}

/** A host (`by`) turned one of our sources off. */
export function mutedNotice(r: Roster, by: string, source: LocalSource): Notice {
  const host = who(r, by, "A host");
  const text = source === "camera" ? `${host} turned off your camera` : `${host} muted you`;
  return { kind: "muted_by_host", text };
}

/** The meeting was locked or unlocked, by a host (`by`) or through the room API. */
export function lockNotice(r: Roster, locked: boolean, by: string | undefined): Notice {
  const done = locked ? "locked" : "unlocked";
  const text = by ? `${who(r, by, "A host")} ${done} the meeting` : `The meeting was ${done}`;
  return { kind: locked ? "meeting_locked" : "meeting_unlocked", text };
}

/** A host (`by`) made guests knock, or let them straight in again. */
export function lobbyNotice(r: Roster, enabled: boolean, by: string): Notice {
  const text = `${who(r, by, "A host")} turned ${enabled ? "on" : "off"} the lobby`;
  return { kind: enabled ? "lobby_on" : "lobby_off", text };
}

/** Server messages are lower-case phrases; a toast is a sentence. */
const sentence = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export class Notices {
  private listeners = new Set<(n: Notice) => void>();
  private lastRateLimited = -Infinity;

  subscribe(listener: (n: Notice) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(n: Notice): void {
    for (const l of this.listeners) l(n);
  }

  /** A non-fatal server error the person should hear about, if it is one. */
  error(code: ErrorCode, message: string): void {
    if (code === "forbidden") {
      this.emit({ kind: "forbidden", text: sentence(message) });
    } else if (code === "rate_limited") {
      const now = Date.now();
      if (now - this.lastRateLimited < RATE_NOTICE_INTERVAL_MS) return;
      this.lastRateLimited = now;
      this.emit({ kind: "rate_limited", text: RATE_LIMITED_TEXT });
    }
  }
}
