// Pure updates of the room's roster, tracks, chat, active speakers and undecodable tracks
// from server frames.

import type { ParticipantInfo, ServerFrame, TrackInfo } from "../protocol.gen";
import type { SessionState } from "./state";
import type { TrackLike } from "./types";

export type RosterFrame = Extract<
  ServerFrame,
  {
    type:
      | "participant_joined"
      | "participant_left"
      | "track_published"
      | "track_unpublished"
      | "mute_changed"
      | "chat"
      | "active_speakers"
      | "track_unsupported";
  }
>;

export function isRosterFrame(frame: ServerFrame): frame is RosterFrame {
  switch (frame.type) {
    case "participant_joined":
    case "participant_left":
    case "track_published":
    case "track_unpublished":
    case "mute_changed":
    case "chat":
    case "active_speakers":
    case "track_unsupported":
      return true;
    default:
      return false;
  }
}

/** Applies `f` to participant `id` (others or ourselves). */
function updateParticipant<T extends TrackLike>(
  s: SessionState<T>,
  id: string,
  f: (p: ParticipantInfo) => ParticipantInfo,
): SessionState<T> {
  if (s.self?.id === id) return { ...s, self: f(s.self) };
  return { ...s, participants: s.participants.map((p) => (p.id === id ? f(p) : p)) };
}

function upsertTrack(tracks: TrackInfo[], track: TrackInfo): TrackInfo[] {
  return tracks.some((t) => t.id === track.id)
    ? tracks.map((t) => (t.id === track.id ? track : t))
    : [...tracks, track];
}

function withoutMedia<T extends TrackLike>(
  media: SessionState<T>["media"],
  drop: (trackId: string, participantId: string | undefined) => boolean,
): SessionState<T>["media"] {
  return Object.fromEntries(
    Object.entries(media).filter(([id, m]) => !drop(id, m.participantId)),
  );
}

function without<V>(record: Record<string, V>, drop: (key: string, value: V) => boolean): Record<string, V> {
  return Object.fromEntries(Object.entries(record).filter(([k, v]) => !drop(k, v)));
}

export function applyRosterFrame<T extends TrackLike>(
  s: SessionState<T>,
  frame: RosterFrame,
): SessionState<T> {
  switch (frame.type) {
    case "participant_joined": {
      const p = frame.participant;
      if (p.id === s.self?.id) return s;
      const others = s.participants.filter((o) => o.id !== p.id);
      return { ...s, participants: [...others, p] };
    }
    case "participant_left": {
      const id = frame.participant_id;
      return {
        ...s,
        participants: s.participants.filter((p) => p.id !== id),
        media: withoutMedia(s.media, (_, pid) => pid === id),
        speakers: s.speakers.filter((sp) => sp.participant_id !== id),
        unsupported: without(s.unsupported, (_, u) => u.participantId === id),
      };
    }
    case "track_published":
      return updateParticipant(s, frame.participant_id, (p) => ({
        ...p,
        tracks: upsertTrack(p.tracks, frame.track),
      }));
    case "track_unpublished": {
      const next = updateParticipant(s, frame.participant_id, (p) => ({
        ...p,
        tracks: p.tracks.filter((t) => t.id !== frame.track_id),
      }));
      // Only that publisher's: a re-joined participant may publish the same track id anew.
      return {
        ...next,
        media: withoutMedia(
          next.media,
          (id, pid) => id === frame.track_id && (pid === undefined || pid === frame.participant_id),
        ),
        unsupported: without(next.unsupported, (id) => id === frame.track_id),
      };
    }
    case "mute_changed":
      return updateParticipant(s, frame.participant_id, (p) => ({
        ...p,
        tracks: p.tracks.map((t) =>
          t.id === frame.track_id ? { ...t, muted: frame.muted } : t,
        ),
      }));
    case "chat": {
      // Ids de-duplicate messages the server may repeat after a reconnect.
      if (s.chat.some((m) => m.id === frame.id)) return s;
      const msg = {
        id: frame.id,
        participantId: frame.participant_id,
        name: frame.name,
        text: frame.text,
        sentAt: frame.sent_at,
      };
      return { ...s, chat: [...s.chat, msg] };
    }
    case "active_speakers":
      return { ...s, speakers: frame.speakers };
    case "track_unsupported": {
      const { participant_id: participantId, codec, message } = frame;
      return { ...s, unsupported: { ...s.unsupported, [frame.track_id]: { participantId, codec, message } } };
    }
  }
}
