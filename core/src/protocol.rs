//! The signaling protocol: every JSON frame a client and the servers exchange.
//!
//! Client → server frames carry an `action` (API Gateway routes on `$request.body.action`);
//! server → client frames carry a `type`. Messages routed from the signaling handlers to an SFU
//! node's inbox are [`NodeMessage`]s. The web client's TypeScript types are generated from these
//! definitions (`ts-rs`), and a test fails when the checked-in copy is stale.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// API Gateway's WebSocket frame limit; larger client frames are refused with `frame_too_large`.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;
/// API Gateway's WebSocket message limit: a larger message closes the connection (1009).
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;
/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 4000;
/// The emoji a `react` frame may carry: a small fixed set, as Meet offers, so a reaction is
/// never free text.
pub const REACTIONS: [&str; 8] = ["👍", "👏", "❤️", "😂", "😮", "🎉", "🤔", "👎"];

/// Which of a participant's two peer connections a signal belongs to.
///
/// The *publisher* connection carries the participant's own media to the SFU (the client
/// offers); the *subscriber* connection carries everyone else's media to the client (the SFU
/// offers, and renegotiates when tracks come and go). Separate directions make offers glare-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PeerRole {
    Publisher,
    Subscriber,
}

/// One trickled ICE candidate, as `RTCIceCandidateInit` has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IceCandidate {
    pub candidate: String,
    #[serde(default, rename = "sdpMid", skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub sdp_mid: Option<String>,
    #[serde(
        default,
        rename = "sdpMLineIndex",
        skip_serializing_if = "Option::is_none"
    )]
    #[ts(optional)]
    pub sdp_mline_index: Option<u16>,
}

/// What a publisher says about a track in its offer (RTP cannot tell a camera from a screen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OfferedTrack {
    /// The `MediaStreamTrack` id, as in the offer's `a=msid` line.
    pub id: String,
    pub source: TrackSource,
}

/// An SDP offer, SDP answer or ICE candidate for one peer connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    Offer {
        sdp: String,
        /// Sources of the tracks the offer publishes; tracks not listed count as camera or
        /// microphone by kind.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[ts(optional, as = "Option<Vec<OfferedTrack>>")]
        tracks: Vec<OfferedTrack>,
    },
    Answer {
        sdp: String,
    },
    Candidate {
        candidate: IceCandidate,
    },
}

/// Kind of a media track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TrackKind {
    Audio,
    Video,
}

/// What a track carries, so clients can lay out a screen share differently from a camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TrackSource {
    #[default]
    Camera,
    Microphone,
    ScreenShare,
    ScreenShareAudio,
}

/// A published track as the room sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TrackInfo {
    /// Stable id of the track within the room (the SFU's id, also the `MediaStreamTrack` id
    /// subscribers see).
    pub id: String,
    pub kind: TrackKind,
    #[serde(default)]
    pub source: TrackSource,
    #[serde(default)]
    pub muted: bool,
}

/// How a subscriber displays one of the tracks it receives, so the node forwards the
/// smallest simulcast layer that looks sharp there (adaptive stream).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TrackView {
    /// The track, as in `track_published`.
    pub track_id: String,
    /// Displayed size in device pixels; 0 × 0 means not displayed (hidden, off-screen, or an
    /// audio-only tile), and the node then forwards no video for it.
    pub width: u32,
    pub height: u32,
    /// The subscriber pinned or spotlights this track: it gets bandwidth first.
    #[serde(default)]
    pub pinned: bool,
}

/// The most a client may describe in one `view` frame.
pub const MAX_TRACK_VIEWS: usize = 64;

/// One participant's speaking level, in `active_speakers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SpeakerLevel {
    pub participant_id: String,
    /// 0 (silence) to 100 (loudest), smoothed.
    pub level: u8,
}

/// What a participant may do, taken from its join token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Grants {
    #[serde(default = "yes")]
    pub can_publish: bool,
    #[serde(default = "yes")]
    pub can_subscribe: bool,
    #[serde(default = "yes")]
    pub can_publish_data: bool,
    #[serde(default)]
    pub room_admin: bool,
}

fn yes() -> bool {
    true
}

impl Default for Grants {
    fn default() -> Self {
        Self {
            can_publish: true,
            can_subscribe: true,
            can_publish_data: true,
            room_admin: false,
        }
    }
}

/// A participant as the room sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ParticipantInfo {
    /// Unique per join; a participant who reconnects gets a new id.
    pub id: String,
    /// Who the token says this is; one identity is in a room at most once.
    pub identity: String,
    pub name: String,
    /// Milliseconds since the Unix epoch.
    #[ts(type = "number")]
    pub joined_at: u64,
    #[serde(default)]
    pub tracks: Vec<TrackInfo>,
    #[serde(default)]
    pub grants: Grants,
    /// When the participant raised their hand (milliseconds since the Unix epoch); absent when
    /// it is down. Hands are answered in the order they went up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub hand_raised_at: Option<u64>,
}

/// How well a participant's media gets through, for the tile's indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    Good,
    Fair,
    Poor,
}

/// One participant's line of `connection_quality`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ParticipantQuality {
    pub participant_id: String,
    pub quality: Quality,
    /// Packets lost on the way to the node from this participant, in percent (0–100).
    pub uplink_loss_pct: u8,
    /// Packets this participant reports lost on the way from the node, in percent.
    pub downlink_loss_pct: u8,
    /// Round trip between the node and this participant, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub rtt_ms: Option<u32>,
    /// What the node estimates it can send this participant, in kbit/s, once loss has
    /// limited the link (absent while nothing has). Shown, not graded: the estimate follows
    /// what the participant is sent, so a clean link that only carries small tiles reads low.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub downlink_kbps: Option<u32>,
}

impl Quality {
    /// The grade for a loss in percent and a round trip: the thresholds people notice
    /// (≥ 2 % loss or ≥ 300 ms is audible; ≥ 10 % or ≥ 600 ms breaks video and speech).
    pub fn grade(loss_pct: u8, rtt_ms: Option<u32>) -> Quality {
        let rtt = rtt_ms.unwrap_or(0);
        if loss_pct >= 10 || rtt >= 600 {
            Quality::Poor
        } else if loss_pct >= 2 || rtt >= 300 {
            Quality::Fair
        } else {
            Quality::Good
        }
    }
}

/// A STUN/TURN server, shaped like `RTCIceServer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub credential: Option<String>,
}

/// A frame a client sends. The `action` field selects the API Gateway route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Enter the room named in the connection's token.
    Join {},
    /// Leave the room (the socket may stay open).
    Leave {},
    /// SDP or ICE for one of the participant's peer connections.
    Signal { role: PeerRole, signal: Signal },
    /// Mute or unmute one of the participant's own published tracks.
    Mute { track_id: String, muted: bool },
    /// A chat message to everyone in the room.
    Chat { text: String },
    /// Keep-alive; answered with `pong`. API Gateway drops connections idle for 10 minutes.
    Ping {},
    /// How the client displays the tracks it receives (replaces what it said before for the
    /// listed tracks; tracks never described are treated as displayed large).
    View { tracks: Vec<TrackView> },
    /// Host (`room_admin`): mute one of another participant's tracks, or all of them when
    /// `track_id` is absent. The node stops forwarding it until its owner unmutes.
    MuteParticipant {
        participant_id: String,
        #[serde(default)]
        #[ts(optional)]
        track_id: Option<String>,
    },
    /// Host: remove a participant for the rest of the meeting.
    RemoveParticipant { participant_id: String },
    /// Host: lock the meeting (only hosts may join) or unlock it.
    LockMeeting { locked: bool },
    /// Host: end the meeting for everyone.
    EndMeeting {},
    /// Host: make guests knock (wait in the lobby for a host) or let them straight in.
    SetLobby { enabled: bool },
    /// Host: let a guest waiting in the lobby in.
    AdmitGuest { knock_id: String },
    /// Host: turn a guest waiting in the lobby away.
    DenyGuest { knock_id: String },
    /// Raise or lower your own hand.
    RaiseHand { raised: bool },
    /// Host: lower someone's raised hand (anyone may lower their own).
    LowerHand { participant_id: String },
    /// A reaction (one of [`REACTIONS`]) that floats over your tile for everyone.
    React { emoji: String },
}

impl ClientFrame {
    /// Every action a client may send; the API Gateway routes besides `$connect`,
    /// `$disconnect` and `$default`.
    pub const ACTIONS: [&'static str; 17] = [
        "join",
        "leave",
        "signal",
        "mute",
        "chat",
        "ping",
        "view",
        "mute_participant",
        "remove_participant",
        "lock_meeting",
        "end_meeting",
        "set_lobby",
        "admit_guest",
        "deny_guest",
        "raise_hand",
        "lower_hand",
        "react",
    ];
}

/// Why a request failed. The serialized name is a stable machine-readable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not JSON, or not a JSON object.
    MalformedFrame,
    /// The `action` is not one the server knows.
    UnknownAction,
    /// The action is known but a field is missing or has the wrong type.
    InvalidFrame,
    /// The frame is over [`MAX_FRAME_BYTES`].
    FrameTooLarge,
    /// No token was presented.
    TokenMissing,
    /// The token is not a well-formed JWT.
    TokenMalformed,
    /// The token's signature does not verify.
    TokenInvalidSignature,
    /// The token is signed with an algorithm other than HS256 (including `none`).
    TokenWrongAlgorithm,
    /// The token's `exp` has passed.
    TokenExpired,
    /// The token's `nbf` is in the future.
    TokenNotYetValid,
    /// The token is for another room.
    TokenWrongRoom,
    /// The token lacks the grant the action needs.
    PermissionDenied,
    /// The action needs a joined participant.
    NotJoined,
    /// `join` on a connection that has already joined.
    AlreadyJoined,
    /// The room has as many participants as it allows.
    RoomFull,
    /// The room does not exist (or was closed).
    RoomNotFound,
    /// No SFU node is alive to host the room.
    NoNodeAvailable,
    /// The connection is unknown (never connected, or gone).
    UnknownConnection,
    /// Too many frames too fast.
    RateLimited,
    /// Only hosts (`room_admin`) may do this.
    Forbidden,
    /// A host locked the meeting: no one new may join.
    MeetingLocked,
    /// A host turned this guest away from the lobby.
    KnockDenied,
    /// The same identity joined the room from another connection; this one is closed.
    Replaced,
    /// A room admin (or the room API) removed this participant.
    Removed,
    /// Room API: the request's signature is missing, wrong, stale or replayed.
    Unauthorized,
    /// Room API: the request body is invalid; the message names the field.
    InvalidRequest,
    /// Room API: no such room, participant or endpoint.
    NotFound,
    /// Room API: the room code is taken.
    Conflict,
    /// The room only admits tokens issued through the room API.
    InviteOnly,
    /// The server's state store is unreachable for a moment (a Redis restart or failover);
    /// retry the same frame shortly.
    Unavailable,
    /// A server-side failure; retrying may help.
    Internal,
}

/// Why a room was closed for everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// Deleted through the room API or by an admin.
    Deleted,
    /// A host ended the meeting for everyone.
    Ended,
    /// Its SFU node is shutting down; rejoin to continue on another node.
    NodeDraining,
    /// Its SFU node died; rejoin to continue on another node.
    NodeFailed,
}

/// A frame the server sends to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The join succeeded.
    Joined {
        room: String,
        /// The joining participant.
        participant: ParticipantInfo,
        /// Everyone else already in the room.
        participants: Vec<ParticipantInfo>,
        ice_servers: Vec<IceServer>,
    },
    ParticipantJoined {
        participant: ParticipantInfo,
    },
    ParticipantLeft {
        participant_id: String,
    },
    /// An SDP offer from the SFU (for the subscriber connection).
    Offer {
        role: PeerRole,
        sdp: String,
    },
    /// An SDP answer from the SFU (for the publisher connection).
    Answer {
        role: PeerRole,
        sdp: String,
    },
    /// A trickled ICE candidate from the SFU.
    Candidate {
        role: PeerRole,
        candidate: IceCandidate,
    },
    TrackPublished {
        participant_id: String,
        track: TrackInfo,
    },
    TrackUnpublished {
        participant_id: String,
        track_id: String,
    },
    MuteChanged {
        participant_id: String,
        track_id: String,
        muted: bool,
        /// The host who muted it, when it was not its owner.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        by: Option<String>,
    },
    /// Your join waits in the lobby until a host lets you in (`joined` follows) or turns you
    /// away (`error` `knock_denied`). Nothing of the meeting reaches you meanwhile.
    WaitingInLobby {},
    /// To hosts: a guest asks to join (also sent, for every guest still waiting, to a host
    /// who joins).
    Knock {
        knock_id: String,
        name: String,
    },
    /// To hosts: a knock was answered (by a host, or the guest gave up).
    KnockResolved {
        knock_id: String,
        admitted: bool,
    },
    /// A host made guests knock, or let them straight in again.
    LobbyChanged {
        enabled: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        by: Option<String>,
    },
    /// A host locked or unlocked the meeting.
    MeetingLocked {
        locked: bool,
        /// The host's participant id (absent when done through the room API).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        by: Option<String>,
    },
    Chat {
        /// Unique id, so clients can de-duplicate after a reconnect.
        id: String,
        participant_id: String,
        name: String,
        text: String,
        #[ts(type = "number")]
        sent_at: u64,
    },
    /// A participant's hand went up (`raised_at` set) or down.
    HandChanged {
        participant_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional, type = "number")]
        raised_at: Option<u64>,
        /// The host who lowered it, when it was not its owner.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        by: Option<String>,
    },
    /// Someone reacted; clients float the emoji over their tile for a few seconds.
    Reaction {
        participant_id: String,
        emoji: String,
        #[ts(type = "number")]
        sent_at: u64,
    },
    /// From the node, every few seconds: how well each participant's media gets through
    /// (their uplink loss as the node receives it, their downlink loss and round trip as their
    /// receiver reports say). Participants without media yet are absent.
    ConnectionQuality {
        qualities: Vec<ParticipantQuality>,
    },
    Pong {},
    Error {
        code: ErrorCode,
        message: String,
        /// With `rate_limited`: when the action may be tried again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        retry_after_ms: Option<u32>,
    },
    RoomClosed {
        reason: CloseReason,
    },
    /// The room moved to another SFU node (its node is draining or died). The participant
    /// stays in the meeting with the same id: the client builds new publisher and subscriber
    /// connections (the node sends a fresh subscriber offer) and publishes again, keeping the
    /// old ones until the new ones carry media.
    Migrate {
        reason: CloseReason,
    },
    /// The room's current speakers, loudest first (empty when no one speaks). Sent by the
    /// node when the set or order changes, with hysteresis so it does not flap.
    ActiveSpeakers {
        speakers: Vec<SpeakerLevel>,
    },
    /// Dynacast, to a publisher: which simulcast encodings (by RID) of one of its tracks
    /// someone receives. The client sets `active: false` on the others, so they cost no
    /// uplink; an empty list pauses the track's video.
    PublisherLayers {
        track_id: String,
        rids: Vec<String>,
    },
    /// A track this participant cannot receive: its codec is not among those the
    /// subscriber's connection negotiated.
    TrackUnsupported {
        participant_id: String,
        track_id: String,
        codec: String,
        message: String,
    },
}

impl ServerFrame {
    /// An `error` frame.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame::Error {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// A `rate_limited` error frame that says when to retry.
    pub fn rate_limited(message: impl Into<String>, retry_after: std::time::Duration) -> Self {
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: message.into(),
            retry_after_ms: Some(u32::try_from(retry_after.as_millis()).unwrap_or(u32::MAX)),
        }
    }

    /// The frame as JSON text.
    pub fn to_json(&self) -> String {
        // Serializing these plain data types cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| {
            String::from(r#"{"type":"error","code":"internal","message":"serialization failed"}"#)
        })
    }
}

/// A message routed from the signaling handlers to the SFU node hosting a room, over the
/// node's inbox channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeMessage {
    /// A participant joined; the node sets up its peer connections.
    Join {
        room: String,
        connection_id: String,
        participant: ParticipantInfo,
        /// The room's assignment epoch the node serves it at.
        #[serde(default)]
        epoch: u64,
    },
    /// A participant left or its socket closed.
    Leave {
        room: String,
        participant_id: String,
    },
    /// SDP/ICE from a participant.
    Signal {
        room: String,
        participant_id: String,
        role: PeerRole,
        signal: Signal,
    },
    /// A participant muted or unmuted one of its tracks.
    Mute {
        room: String,
        participant_id: String,
        track_id: String,
        muted: bool,
    },
    /// The room was closed for everyone.
    CloseRoom { room: String, reason: CloseReason },
    /// How a participant displays the tracks it receives.
    View {
        room: String,
        participant_id: String,
        tracks: Vec<TrackView>,
    },
}

impl NodeMessage {
    /// The room the message is about.
    pub fn room(&self) -> &str {
        match self {
            NodeMessage::Join { room, .. }
            | NodeMessage::Leave { room, .. }
            | NodeMessage::Signal { room, .. }
            | NodeMessage::Mute { room, .. }
            | NodeMessage::CloseRoom { room, .. }
            | NodeMessage::View { room, .. } => room,
        }
    }
}

/// How a client frame failed to parse, mapped to the code the client is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FrameError {
    pub code: ErrorCode,
    pub message: String,
}

impl FrameError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The `error` frame that tells the client.
    pub fn to_frame(&self) -> ServerFrame {
        ServerFrame::error(self.code, self.message.clone())
    }
}

impl ClientFrame {
    /// Parses one client frame, telling apart the ways it can be wrong.
    pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
        if text.len() > MAX_FRAME_BYTES {
            return Err(FrameError::new(
                ErrorCode::FrameTooLarge,
                format!(
                    "frame is {} bytes; the limit is {MAX_FRAME_BYTES}",
                    text.len()
                ),
            ));
        }
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            FrameError::new(ErrorCode::MalformedFrame, format!("frame is not JSON: {e}"))
        })?;
        let action = match value.get("action") {
            Some(serde_json::Value::String(a)) => a.clone(),
            Some(_) => {
                return Err(FrameError::new(
                    ErrorCode::InvalidFrame,
                    "field `action` must be a string",
                ))
            }
            None if value.is_object() => {
                return Err(FrameError::new(
                    ErrorCode::InvalidFrame,
                    "missing field `action`",
                ))
            }
            None => {
                return Err(FrameError::new(
                    ErrorCode::MalformedFrame,
                    "frame must be a JSON object",
                ))
            }
        };
        if !Self::ACTIONS.contains(&action.as_str()) {
            return Err(FrameError::new(
                ErrorCode::UnknownAction,
                format!("unknown action `{action}`"),
            ));
        }
        serde_json::from_value(value).map_err(|e| {
            FrameError::new(
                ErrorCode::InvalidFrame,
                format!("invalid `{action}` frame: {e}"),
            )
        })
    }
}

/// The TypeScript declarations of every client-facing protocol type, as checked in at
/// `web/src/protocol.gen.ts` (regenerate with `VEET_UPDATE_BINDINGS=1 cargo test -p veet-core`).
pub fn typescript_bindings() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    let decls = [
        PeerRole::decl(&cfg),
        IceCandidate::decl(&cfg),
        OfferedTrack::decl(&cfg),
        Signal::decl(&cfg),
        TrackKind::decl(&cfg),
        TrackSource::decl(&cfg),
        TrackInfo::decl(&cfg),
        TrackView::decl(&cfg),
        SpeakerLevel::decl(&cfg),
        Grants::decl(&cfg),
        ParticipantInfo::decl(&cfg),
        IceServer::decl(&cfg),
        Quality::decl(&cfg),
        ParticipantQuality::decl(&cfg),
        ClientFrame::decl(&cfg),
        ErrorCode::decl(&cfg),
        CloseReason::decl(&cfg),
        ServerFrame::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from core/src/protocol.rs by ts-rs. Do not edit: run\n// `VEET_UPDATE_BINDINGS=1 cargo test -p veet-core` after changing the Rust types.\n\n",
    );
    for d in decls {
        out.push_str("export ");
        out.push_str(&d);
        out.push_str("\n\n");
    }
    out.push_str(&format!(
        "export const MAX_FRAME_BYTES = {MAX_FRAME_BYTES};\nexport const MAX_CHAT_CHARS = {MAX_CHAT_CHARS};\nexport const MAX_TRACK_VIEWS = {MAX_TRACK_VIEWS};\n"
    ));
    let reactions: Vec<String> = REACTIONS.iter().map(|r| format!("\"{r}\"")).collect();
    out.push_str(&format!(
        "export const REACTIONS = [{}] as const;\n",
        reactions.join(", ")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_use_action_tags() {
        let f = ClientFrame::parse(
            r#"{"action":"signal","role":"publisher","signal":{"kind":"offer","sdp":"v=0"}}"#,
        )
        .unwrap();
        assert_eq!(
            f,
            ClientFrame::Signal {
                role: PeerRole::Publisher,
                signal: Signal::Offer {
                    sdp: "v=0".into(),
                    tracks: vec![]
                }
            }
        );
        assert_eq!(
            ClientFrame::parse(r#"{"action":"join"}"#).unwrap(),
            ClientFrame::Join {}
        );
        let c = ClientFrame::parse(
            r#"{"action":"signal","role":"subscriber","signal":{"kind":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}}"#,
        )
        .unwrap();
        match c {
            ClientFrame::Signal {
                signal: Signal::Candidate { candidate },
                ..
            } => {
                assert_eq!(candidate.sdp_mid.as_deref(), Some("0"));
                assert_eq!(candidate.sdp_mline_index, Some(0));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn parse_errors_have_distinct_codes() {
        let code = |s: &str| ClientFrame::parse(s).unwrap_err().code;
        assert_eq!(code("{not json"), ErrorCode::MalformedFrame);
        assert_eq!(code("[1,2]"), ErrorCode::MalformedFrame);
        assert_eq!(code(r#"{"action":"dance"}"#), ErrorCode::UnknownAction);
        assert_eq!(code(r#"{"text":"hi"}"#), ErrorCode::InvalidFrame);
        assert_eq!(code(r#"{"action":"chat"}"#), ErrorCode::InvalidFrame);
        assert_eq!(code(r#"{"action":7}"#), ErrorCode::InvalidFrame);
        let big = format!(r#"{{"action":"chat","text":"{}"}}"#, "x".repeat(40 * 1024));
        assert_eq!(code(&big), ErrorCode::FrameTooLarge);
    }

    #[test]
    fn quality_grades_follow_loss_and_round_trip() {
        assert_eq!(Quality::grade(0, None), Quality::Good);
        assert_eq!(Quality::grade(1, Some(299)), Quality::Good);
        assert_eq!(Quality::grade(2, None), Quality::Fair);
        assert_eq!(Quality::grade(0, Some(300)), Quality::Fair);
        assert_eq!(Quality::grade(10, None), Quality::Poor);
        assert_eq!(Quality::grade(0, Some(600)), Quality::Poor);
    }

    #[test]
    fn hands_and_reactions_parse() {
        assert_eq!(
            ClientFrame::parse(r#"{"action":"raise_hand","raised":true}"#).unwrap(),
            ClientFrame::RaiseHand { raised: true }
        );
        assert_eq!(
            ClientFrame::parse(r#"{"action":"react","emoji":"🎉"}"#).unwrap(),
            ClientFrame::React {
                emoji: "🎉".into()
            }
        );
        let e = ClientFrame::parse(r#"{"action":"lower_hand"}"#).unwrap_err();
        assert!(e.message.contains("participant_id"), "{}", e.message);
        // A hand that is down is not serialized at all.
        let frame = ServerFrame::HandChanged {
            participant_id: "p".into(),
            raised_at: None,
            by: None,
        };
        assert_eq!(
            serde_json::to_string(&frame).unwrap(),
            r#"{"type":"hand_changed","participant_id":"p"}"#
        );
    }

    #[test]
    fn missing_field_is_named() {
        let e = ClientFrame::parse(r#"{"action":"mute","track_id":"t"}"#).unwrap_err();
        assert!(e.message.contains("muted"), "{}", e.message);
    }

    #[test]
    fn server_frames_round_trip() {
        let frames = vec![
            ServerFrame::error(ErrorCode::RoomFull, "full"),
            ServerFrame::Pong {},
            ServerFrame::RoomClosed {
                reason: CloseReason::Deleted,
            },
            ServerFrame::Candidate {
                role: PeerRole::Subscriber,
                candidate: IceCandidate {
                    candidate: "c".into(),
                    sdp_mid: None,
                    sdp_mline_index: Some(1),
                },
            },
        ];
        for f in frames {
            let json = f.to_json();
            let back: ServerFrame = serde_json::from_str(&json).unwrap();
            assert_eq!(back, f);
        }
        assert_eq!(
            ServerFrame::error(ErrorCode::TokenExpired, "x").to_json(),
            r#"{"type":"error","code":"token_expired","message":"x"}"#
        );
    }

    #[test]
    fn every_action_parses_from_its_name() {
        for a in ClientFrame::ACTIONS {
            let err = ClientFrame::parse(&format!(r#"{{"action":"{a}"}}"#)).err();
            assert_ne!(err.map(|e| e.code), Some(ErrorCode::UnknownAction), "{a}");
        }
    }
}
