// The session's observable state: immutable snapshots the UI renders from.

import type { CloseReason, ParticipantInfo, Quality, SpeakerLevel } from "../protocol.gen";
import type { Reaction } from "./gestures";
import type { TrackLike } from "./types";

export type SessionStatus =
  | "idle"
  | "connecting"
  /** Our join waits for a host to let us in (the meeting's guests knock). */
  | "lobby"
  | "joined"
  | "reconnecting"
  | "left"
  | "failed";

/** Why the session ended for good; each gets its own screen. */
export type FatalKind =
  | "room_full"
  | "room_closed"
  | "room_not_found"
  | "invalid_token"
  | "replaced"
  | "no_node"
  | "connection_lost"
  /** Our join was refused: a host locked the meeting. */
  | "meeting_locked"
  /** A host removed us for the rest of the meeting. */
  | "removed"
  /** We waited in the lobby and no host let us in in time. */
  | "lobby_timeout"
  /** A host turned us away from the lobby. */
  | "knock_denied";

export interface FatalError {
  kind: FatalKind;
  message: string;
  closeReason?: CloseReason;
}

export interface ChatMessage {
  id: string;
  participantId: string;
  name: string;
  text: string;
  sentAt: number;
}

/** A guest waiting in the lobby, as a host is shown it (`knock`). */
export interface Knock {
  knockId: string;
  name: string;
}

/** A remote track as delivered by the subscriber peer connection. */
export interface RemoteMedia<T extends TrackLike> {
  track: T;
  /** From the stream id: the publishing participant. */
  participantId: string | undefined;
}

/** A remote track this browser cannot decode (`track_unsupported`). */
export interface UnsupportedTrack {
  participantId: string;
  codec: string;
  message: string;
}

export interface SessionState<T extends TrackLike> {
  status: SessionStatus;
  /** Ourselves, as the server knows us (new id after each re-join). */
  self: ParticipantInfo | null;
  /** Everyone else, in join order, with their track lists kept current. */
  participants: ParticipantInfo[];
  /** Remote tracks by track id. */
  media: Record<string, RemoteMedia<T>>;
  chat: ChatMessage[];
  /** Who is speaking, loudest first, as the node hears it (`active_speakers`). */
  speakers: SpeakerLevel[];
  /** Remote tracks we cannot decode, by track id. */
  unsupported: Record<string, UnsupportedTrack>;
  /** Reconnect attempt in progress (0 when connected). */
  reconnectAttempt: number;
  /**
   * The room is moving to another media node (`migrate`): still joined, same socket, the
   * old connections carrying media until the new ones do.
   */
  moving: boolean;
  /** A host locked the meeting: only hosts and people already in it can join. */
  locked: boolean;
  /** Guests knock to join (as hosts are told; the others only hear of changes). */
  lobby: boolean;
  /** For a host: guests waiting in the lobby, in the order they knocked. */
  knocks: Knock[];
  /** Reactions floating over tiles now, oldest first. */
  reactions: Reaction[];
  /** The node's grade of each participant's connection (ourselves included); absent: good. */
  quality: Record<string, Quality>;
  /** What the node measured of each (loss, round trip, downlink estimate), described. */
  qualityDetail: Record<string, string>;
  /** Our uplink's grade from our own connection's stats, once known. */
  uplink: Quality | null;
  fatal: FatalError | null;
}

export function initialState<T extends TrackLike>(): SessionState<T> {
  return {
    status: "idle",
    self: null,
    participants: [],
    media: {},
    chat: [],
    speakers: [],
    unsupported: {},
    reconnectAttempt: 0,
    moving: false,
    locked: false,
    lobby: false,
    knocks: [],
    reactions: [],
    quality: {},
    qualityDetail: {},
    uplink: null,
    fatal: null,
  };
}

/** The state after a `joined`: the server's roster, no media yet. */
export function joinedState<T extends TrackLike>(
  s: SessionState<T>,
  self: ParticipantInfo,
  participants: ParticipantInfo[],
): SessionState<T> {
  return {
    ...s,
    status: "joined",
    self,
    participants,
    media: {},
    reconnectAttempt: 0,
    fatal: null,
    moving: false,
    speakers: [],
    unsupported: {},
    reactions: [],
    // A new node grades afresh.
    quality: {},
    qualityDetail: {},
  };
}
