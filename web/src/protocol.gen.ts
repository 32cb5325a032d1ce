// Generated from core/src/protocol.rs by ts-rs. Do not edit: run
// `VEET_UPDATE_BINDINGS=1 cargo test -p veet-core` after changing the Rust types.

export type PeerRole = "publisher" | "subscriber";

export type IceCandidate = { candidate: string, sdpMid?: string, sdpMLineIndex?: number, };

export type OfferedTrack = { 
/**
 * The `MediaStreamTrack` id, as in the offer's `a=msid` line.
 */
id: string, source: TrackSource, };

export type Signal = { "kind": "offer", sdp: string, 
/**
 * Sources of the tracks the offer publishes; tracks not listed count as camera or
 * microphone by kind.
 */
tracks?: Array<OfferedTrack>, } | { "kind": "answer", sdp: string, } | { "kind": "candidate", candidate: IceCandidate, };

export type TrackKind = "audio" | "video";

export type TrackSource = "camera" | "microphone" | "screen_share" | "screen_share_audio";

export type TrackInfo = { 
/**
 * Stable id of the track within the room (the SFU's id, also the `MediaStreamTrack` id
 * subscribers see).
 */
id: string, kind: TrackKind, source: TrackSource, muted: boolean, };

export type TrackView = { 
/**
 * The track, as in `track_published`.
 */
track_id: string, 
/**
 * Displayed size in device pixels; 0 × 0 means not displayed (hidden, off-screen, or an
 * audio-only tile), and the node then forwards no video for it.
 */
width: number, height: number, 
/**
 * The subscriber pinned or spotlights this track: it gets bandwidth first.
 */
pinned: boolean, };

export type SpeakerLevel = { participant_id: string, 
/**
 * 0 (silence) to 100 (loudest), smoothed.
 */
level: number, };

export type Grants = { can_publish: boolean, can_subscribe: boolean, can_publish_data: boolean, room_admin: boolean, };

export type ParticipantInfo = { 
/**
 * Unique per join; a participant who reconnects gets a new id.
 */
id: string, 
/**
 * Who the token says this is; one identity is in a room at most once.
 */
identity: string, name: string, 
/**
 * Milliseconds since the Unix epoch.
 */
joined_at: number, tracks: Array<TrackInfo>, grants: Grants, 
/**
 * When the participant raised their hand (milliseconds since the Unix epoch); absent when
 * it is down. Hands are answered in the order they went up.
 */
hand_raised_at?: number, };

export type IceServer = { urls: Array<string>, username?: string, credential?: string, };

export type Quality = "good" | "fair" | "poor";

export type ParticipantQuality = { participant_id: string, quality: Quality, 
/**
 * Packets lost on the way to the node from this participant, in percent (0–100).
 */
uplink_loss_pct: number, 
/**
 * Packets this participant reports lost on the way from the node, in percent.
 */
downlink_loss_pct: number, 
/**
 * Round trip between the node and this participant, when known.
 */
rtt_ms?: number, 
/**
 * What the node estimates it can send this participant, in kbit/s, once loss has
 * limited the link (absent while nothing has). Shown, not graded: the estimate follows
 * what the participant is sent, so a clean link that only carries small tiles reads low.
 */
downlink_kbps?: number, };

export type ClientFrame = { "action": "join", } | { "action": "leave", } | { "action": "signal", role: PeerRole, signal: Signal, } | { "action": "mute", track_id: string, muted: boolean, } | { "action": "chat", text: string, } | { "action": "ping", } | { "action": "view", tracks: Array<TrackView>, } | { "action": "mute_participant", participant_id: string, track_id?: string, } | { "action": "remove_participant", participant_id: string, } | { "action": "lock_meeting", locked: boolean, } | { "action": "end_meeting", } | { "action": "set_lobby", enabled: boolean, } | { "action": "admit_guest", knock_id: string, } | { "action": "deny_guest", knock_id: string, } | { "action": "raise_hand", raised: boolean, } | { "action": "lower_hand", participant_id: string, } | { "action": "react", emoji: string, };

export type ErrorCode = "malformed_frame" | "unknown_action" | "invalid_frame" | "frame_too_large" | "token_missing" | "token_malformed" | "token_invalid_signature" | "token_wrong_algorithm" | "token_expired" | "token_not_yet_valid" | "token_wrong_room" | "permission_denied" | "not_joined" | "already_joined" | "room_full" | "room_not_found" | "no_node_available" | "unknown_connection" | "rate_limited" | "forbidden" | "meeting_locked" | "knock_denied" | "replaced" | "removed" | "unauthorized" | "invalid_request" | "not_found" | "conflict" | "invite_only" | "unavailable" | "internal";

export type CloseReason = "deleted" | "ended" | "node_draining" | "node_failed";

export type ServerFrame = { "type": "joined", room: string, 
/**
 * The joining participant.
 */
participant: ParticipantInfo, 
/**
 * Everyone else already in the room.
 */
participants: Array<ParticipantInfo>, ice_servers: Array<IceServer>, } | { "type": "participant_joined", participant: ParticipantInfo, } | { "type": "participant_left", participant_id: string, } | { "type": "offer", role: PeerRole, sdp: string, } | { "type": "answer", role: PeerRole, sdp: string, } | { "type": "candidate", role: PeerRole, candidate: IceCandidate, } | { "type": "track_published", participant_id: string, track: TrackInfo, } | { "type": "track_unpublished", participant_id: string, track_id: string, } | { "type": "mute_changed", participant_id: string, track_id: string, muted: boolean, 
/**
 * The host who muted it, when it was not its owner.
 */
by?: string, } | { "type": "waiting_in_lobby", } | { "type": "knock", knock_id: string, name: string, } | { "type": "knock_resolved", knock_id: string, admitted: boolean, } | { "type": "lobby_changed", enabled: boolean, by?: string, } | { "type": "meeting_locked", locked: boolean, 
/**
 * The host's participant id (absent when done through the room API).
 */
by?: string, } | { "type": "chat", 
/**
 * Unique id, so clients can de-duplicate after a reconnect.
 */
id: string, participant_id: string, name: string, text: string, sent_at: number, } | { "type": "hand_changed", participant_id: string, raised_at?: number, 
/**
 * The host who lowered it, when it was not its owner.
 */
by?: string, } | { "type": "reaction", participant_id: string, emoji: string, sent_at: number, } | { "type": "connection_quality", qualities: Array<ParticipantQuality>, } | { "type": "pong", } | { "type": "error", code: ErrorCode, message: string, 
/**
 * With `rate_limited`: when the action may be tried again.
 */
retry_after_ms?: number, } | { "type": "room_closed", reason: CloseReason, } | { "type": "migrate", reason: CloseReason, } | { "type": "active_speakers", speakers: Array<SpeakerLevel>, } | { "type": "publisher_layers", track_id: string, rids: Array<string>, } | { "type": "track_unsupported", participant_id: string, track_id: string, codec: string, message: string, };

export const MAX_FRAME_BYTES = 32768;
export const MAX_CHAT_CHARS = 4000;
export const MAX_TRACK_VIEWS = 64;
export const REACTIONS = ["👍", "👏", "❤️", "😂", "😮", "🎉", "🤔", "👎"] as const;
