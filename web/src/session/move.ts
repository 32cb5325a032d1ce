// Moving to another SFU node (a `migrate` frame), make before break: the old pair keeps
// carrying media while the new one is built, and goes once the new one carries what it did.
// These are the pure decisions; the session runs the move.

import type { ParticipantInfo } from "../protocol.gen";
import type { PeerPair } from "./pair";
import type { SessionState } from "./state";
import type { TrackLike } from "./types";

/** How long the old pair may outlive a move that does not complete. */
export const MOVE_TIMEOUT_MS = 10_000;

/**
 * Whether `pair` (the new one) now does the old pair's job: it receives every track the
 * others send (muted ones may not come back: a camera turned off is not republished) and,
 * if we publish, its publisher is connected, so the others do not lose us either. Alone in
 * the room, an answer is enough: nobody is waiting for our media.
 */
export function moveDone<T extends TrackLike>(
  pair: PeerPair<T>,
  others: ParticipantInfo[],
): boolean {
  const expected = others.flatMap((p) => p.tracks.filter((t) => !t.muted).map((t) => t.id));
  const receiving =
    expected.length === 0 ||
    (pair.states.subscriber === "connected" && expected.every((id) => pair.received.has(id)));
  const pub = pair.publisher;
  const sending =
    !pub.publishing ||
    pair.states.publisher === "connected" ||
    (others.length === 0 && pub.answered);
  return receiving && sending;
}

type Media<T extends TrackLike> = SessionState<T>["media"];

/**
 * Puts the tracks `pair` received into `media`, replacing the old pair's (same track ids).
 * Tracks of people who left meanwhile stay out.
 */
export function adoptTracks<T extends TrackLike>(
  media: Media<T>,
  pair: PeerPair<T>,
  participants: ParticipantInfo[],
): Media<T> {
  const next = { ...media };
  for (const [id, m] of pair.received) {
    const present =
      m.participantId === undefined || participants.some((p) => p.id === m.participantId);
    if (present) next[id] = m;
  }
  return next;
}

/** `media` without the tracks no pair in `live` delivered (their connection is closed). */
export function onlyFrom<T extends TrackLike>(media: Media<T>, live: PeerPair<T>): Media<T> {
  return Object.fromEntries(Object.entries(media).filter(([, m]) => live.owns(m.track)));
}

/**
 * A half-built pair is abandoned (a second `migrate`): the tracks it had put in `media`
 * go back to the old pair's, where it still has them.
 */
export function restoreTracks<T extends TrackLike>(
  media: Media<T>,
  abandoned: PeerPair<T>,
  old: PeerPair<T>,
): Media<T> {
  const next: Media<T> = {};
  for (const [id, m] of Object.entries(media)) {
    if (!abandoned.owns(m.track)) next[id] = m;
    else {
      const o = old.received.get(id);
      if (o) next[id] = o;
    }
  }
  return next;
}
