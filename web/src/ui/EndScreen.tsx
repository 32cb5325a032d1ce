// Full-page screens for a call that ended: left, closed, full, refused, locked, removed, lost,
// or never began (no host let us in from the lobby).

import type { CloseReason } from "../protocol.gen";
import type { FatalKind } from "../session";

export type EndKind = FatalKind | "left";

export interface EndInfo {
  kind: EndKind;
  message?: string;
  /** Why a meeting ended (kind room_closed). */
  closeReason?: CloseReason;
}

const TEXT: Record<EndKind, { title: string; body: string; retry: string | null }> = {
  left: { title: "You left the meeting", body: "", retry: "Rejoin" },
  room_closed: { title: "The meeting has ended", body: "The host or the server closed this meeting.", retry: null },
  room_full: { title: "This meeting is full", body: "No more people can join right now.", retry: "Try again" },
  room_not_found: { title: "Check your meeting code", body: "There is no meeting with this code.", retry: null },
  invalid_token: {
    title: "You can't join this meeting",
    body: "The server refused this meeting link. It may have expired; ask for a new link.",
    retry: "Try again",
  },
  replaced: {
    title: "You joined from another tab",
    body: "You can only be in this meeting once. Close the other tab or rejoin here.",
    retry: "Rejoin here",
  },
  no_node: { title: "Can't start the call", body: "No media server is available right now.", retry: "Try again" },
  connection_lost: {
    title: "You lost your network connection",
    body: "Veet could not reconnect. Check your connection and rejoin.",
    retry: "Rejoin",
  },
  meeting_locked: { title: "This meeting is locked", body: "Ask a host to unlock it, then try again.", retry: "Try again" },
  // The server keeps a removed person out for the rest of the meeting: no way back to offer.
  removed: { title: "You were removed from the meeting", body: "A host removed you from this meeting.", retry: null },
  lobby_timeout: { title: "No one let you in", body: "Try asking again", retry: "Try again" },
  // Asking again is a new knock a host may answer differently.
  knock_denied: { title: "A host didn't let you in", body: "", retry: "Try again" },
};

/** Screens whose text says it all: the server's message would only repeat it. */
const OWN_WORDS: EndKind[] = ["left", "room_closed", "meeting_locked", "removed", "lobby_timeout", "knock_denied"];

/** A meeting ends for a fleet change only when no other media server could take it. */
const CLOSED_BODY: Record<CloseReason, string> = {
  deleted: "The host ended this meeting.",
  ended: "The host ended the meeting for everyone.",
  node_draining: "The meeting ended: no media server is available right now.",
  node_failed: "The meeting ended: no media server is available right now.",
};

interface Props {
  info: EndInfo;
  onRejoin(): void;
  onHome(): void;
}

export function EndScreen({ info, onRejoin, onHome }: Props) {
  const t = TEXT[info.kind];
  const body = info.kind === "room_closed" && info.closeReason ? CLOSED_BODY[info.closeReason] : t.body;
  const serverSaid = info.message && !OWN_WORDS.includes(info.kind);
  return (
    <main className="end-screen" data-testid="end-screen" data-kind={info.kind} data-reason={info.closeReason}>
      <h1>{t.title}</h1>
      {body && <p>{body}</p>}
      {serverSaid && <p className="muted-text">Server said: {info.message}</p>}
      <div className="end-actions">
        {t.retry && (
          <button type="button" className="btn btn-outline" onClick={onRejoin}>
            {t.retry}
          </button>
        )}
        <button type="button" className="btn btn-primary" onClick={onHome}>
          Return to home screen
        </button>
      </div>
    </main>
  );
}
