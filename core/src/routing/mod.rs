//! Routing state shared by the signaling handlers and the SFU nodes.
//!
//! Four small traits, each with a Redis implementation ([`redis::RedisRouting`], for the cloud
//! and for scaling out) and an in-memory one ([`memory::MemoryRouting`], for one-process local
//! mode). Both pass the same conformance suite in `tests/`.
//!
//! - [`ConnectionStore`]: WebSocket connection id → who is on it.
//! - [`RoomStore`]: rooms, their participants, and the room → SFU node assignment.
//! - [`NodeRegistry`]: live SFU nodes with their load (heartbeat + TTL).
//! - [`MessageBus`]: each node's inbox of routed [`NodeMessage`]s.
//! - [`KeyStore`]: claims, counters and leases with a lifetime.
//! - [`EventQueue`]: durable FIFO queues for outgoing webhooks.

pub mod memory;
pub mod redis;
mod retry;
pub mod selector;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::Stream;
use serde::{Deserialize, Serialize};

use crate::protocol::{Grants, IceServer, NodeMessage, ParticipantInfo, TrackInfo};
use crate::rate::{Admission, Rate};
pub use selector::{NodeSelector, SelectorConfig};

/// A failure of the routing backend (not of the request).
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("{0}")]
    Other(String),
}

impl RoutingError {
    /// Whether the backend could not be reached at all (Redis restarting or failing over),
    /// as opposed to refusing the request: the caller may retry the same thing shortly.
    pub fn is_unreachable(&self) -> bool {
        match self {
            RoutingError::Redis(e) => {
                e.is_io_error()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                    || e.is_timeout()
                    || e.is_unrecoverable_error()
            }
            _ => false,
        }
    }
}

/// Result of routing operations.
pub type Result<T, E = RoutingError> = std::result::Result<T, E>;

/// A WebSocket connection that passed `$connect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub id: String,
    pub room: String,
    pub identity: String,
    pub name: String,
    pub grants: Grants,
    /// Set once the connection has joined the room.
    #[serde(default)]
    pub participant_id: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub connected_at: u64,
    /// It connected with a guest token (from the public token endpoint).
    #[serde(default)]
    pub guest: bool,
    /// The address it connected from, as API Gateway saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
}

/// Stores connections for the lifetime of their sockets (API Gateway's limit is 2 hours).
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    async fn put_connection(&self, conn: &Connection) -> Result<()>;
    async fn connection(&self, id: &str) -> Result<Option<Connection>>;
    /// Removes a connection, returning what it held.
    async fn remove_connection(&self, id: &str) -> Result<Option<Connection>>;
    /// Sets (or clears) the participant a connection joined as, only if the connection is
    /// still stored: a `$disconnect` that ran first is never undone. Returns whether it was.
    async fn set_participant(&self, id: &str, participant_id: Option<&str>) -> Result<bool>;
}

/// A participant as stored in its room: what the room sees plus where to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantRecord {
    pub info: ParticipantInfo,
    pub connection_id: String,
}

/// Who may join a room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomAccess {
    /// Anyone with the link gets a guest token from the public token endpoint.
    #[default]
    Open,
    /// Only tokens issued through the room API join.
    InviteOnly,
    /// Guests wait in a lobby until a host admits them; room API tokens join directly.
    Knock,
}

/// A room's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSettings {
    /// 0 means no limit.
    pub max_participants: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How long an empty room is kept for someone to rejoin; 0 deletes it when the last
    /// participant leaves.
    #[serde(default)]
    pub empty_timeout_secs: u64,
    /// Opaque data of the system that created the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    #[serde(default)]
    pub access: RoomAccess,
}

impl Default for RoomSettings {
    fn default() -> Self {
        Self {
            max_participants: 100,
            name: None,
            empty_timeout_secs: 0,
            metadata: None,
            access: RoomAccess::Open,
        }
    }
}

/// A room as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub code: String,
    /// The SFU node hosting the room, once one is assigned.
    pub node: Option<String>,
    /// Bumped on every (re)assignment: a node serves a room only at the epoch it was given,
    /// so one that was declared dead and comes back cannot act for a room that moved.
    #[serde(default)]
    pub epoch: u64,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    pub settings: RoomSettings,
    /// A host locked the meeting: only hosts may join until it is unlocked or ends.
    #[serde(default)]
    pub locked: bool,
    /// A host made guests knock for this meeting (as [`RoomAccess::Knock`] does for the room).
    #[serde(default)]
    pub lobby: bool,
}

impl RoomInfo {
    /// Whether guests wait in the lobby.
    pub fn knocks(&self) -> bool {
        self.lobby || self.settings.access == RoomAccess::Knock
    }
}

/// A meeting's switches, set by its hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomFlag {
    /// See [`RoomInfo::locked`].
    Locked,
    /// See [`RoomInfo::lobby`].
    Lobby,
}

impl RoomFlag {
    /// Its field in the stored room.
    pub fn field(self) -> &'static str {
        match self {
            RoomFlag::Locked => "locked",
            RoomFlag::Lobby => "lobby",
        }
    }
}

/// A guest waiting in a room's lobby.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LobbyEntry {
    /// What hosts answer to (not the connection id, which stays the server's).
    pub knock_id: String,
    pub connection_id: String,
    pub identity: String,
    pub name: String,
    /// Milliseconds since the Unix epoch.
    pub at: u64,
}

/// What [`RoomStore::add_participant`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    /// Added; `replaced` is an earlier participant with the same identity, now removed.
    Added { replaced: Option<ParticipantRecord> },
    /// The room is at its `max_participants`.
    Full,
}

/// A room's node at an epoch (see [`RoomInfo::epoch`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub node: String,
    pub epoch: u64,
}

/// What a node knows of a room it hosts, to put it back in a store that lost it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSnapshot {
    pub assignment: Assignment,
    /// As the node last read them: an invite-only room must not come back open.
    pub settings: RoomSettings,
    pub participants: Vec<ParticipantRecord>,
}

/// What [`RoomStore::restore_room`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restore {
    /// The room is (again) on the restoring node; `added` participants were missing.
    Restored { added: usize },
    /// The room is on another live node now: the restorer should move its participants there.
    Elsewhere(Assignment),
}

/// What [`RoomStore::remove_participant`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub removed: Option<ParticipantRecord>,
    /// Participants left in the room.
    pub remaining: usize,
}

/// Rooms, their participants and their SFU node.
#[async_trait]
pub trait RoomStore: Send + Sync {
    /// Creates a room unless it exists; returns whether it was created. A room with an
    /// `empty_timeout_secs` that nobody joins is deleted when that time has passed.
    async fn create_room(&self, code: &str, settings: RoomSettings) -> Result<bool>;
    async fn room(&self, code: &str) -> Result<Option<RoomInfo>>;
    async fn list_rooms(&self) -> Result<Vec<String>>;
    /// The room's node if it is alive; otherwise atomically assigns the first of
    /// `candidates` that is alive and not draining (creating the room with default settings
    /// if needed), bumping the epoch. `None` when none is. Concurrent callers for one room
    /// always get the same node. See [`Routing::assign_node`].
    async fn claim_node(&self, code: &str, candidates: &[String]) -> Result<Option<Assignment>>;
    /// Moves the room from node `from` to node `to` (bumping the epoch) if it is still on
    /// `from`; `None` when it is not (someone else moved it first).
    async fn reassign_room(&self, code: &str, from: &str, to: &str) -> Result<Option<Assignment>>;
    /// Puts back a room the store lost (a Redis restart without persistence): the node that
    /// hosts it re-records it with its settings and the participants it serves. A room that
    /// meanwhile went to another live node is left there.
    async fn restore_room(&self, code: &str, snapshot: &RoomSnapshot) -> Result<Restore>;
    /// Adds a participant unless the room is full. A participant with the same identity is
    /// replaced (a person who reconnects, or opens a second tab).
    async fn add_participant(&self, code: &str, record: &ParticipantRecord) -> Result<AddOutcome>;
    async fn remove_participant(&self, code: &str, participant_id: &str) -> Result<Removal>;
    /// Adds or replaces one track of a participant, atomically (no read-modify-write of the
    /// record, so concurrent updates from the node and signaling are never lost).
    async fn put_track(&self, code: &str, participant_id: &str, track: &TrackInfo) -> Result<bool>;
    /// Removes one track of a participant, atomically.
    async fn remove_track(&self, code: &str, participant_id: &str, track_id: &str) -> Result<bool>;
    /// Sets one track's mute flag, atomically; false if there is no such track.
    async fn set_track_muted(
        &self,
        code: &str,
        participant_id: &str,
        track_id: &str,
        muted: bool,
    ) -> Result<bool>;
    /// Raises (`Some(when)`) or lowers a participant's hand, atomically; false if there is no
    /// such participant.
    async fn set_hand(
        &self,
        code: &str,
        participant_id: &str,
        raised_at: Option<u64>,
    ) -> Result<bool>;
    async fn participant(
        &self,
        code: &str,
        participant_id: &str,
    ) -> Result<Option<ParticipantRecord>>;
    async fn participants(&self, code: &str) -> Result<Vec<ParticipantRecord>>;
    /// Ends the room's meeting if it has no participants: frees its node assignment and
    /// deletes the room — at once, or after its `empty_timeout_secs` unless someone joins
    /// first. Returns whether the room was empty (and so released).
    async fn delete_room_if_empty(&self, code: &str) -> Result<bool>;
    /// Deletes the room and everything in it.
    async fn delete_room(&self, code: &str) -> Result<()>;
    /// Keeps `entries` (identities, guest addresses) out of the room's current meeting; they
    /// are forgotten when it ends (the room empties or is deleted).
    async fn deny(&self, code: &str, entries: &[String]) -> Result<()>;
    /// Whether any of `entries` is kept out of the room's meeting.
    async fn is_denied(&self, code: &str, entries: &[String]) -> Result<bool>;
    /// Sets or clears one of the meeting's switches ([`RoomFlag`]); false if there is no
    /// such room. They end with the meeting.
    async fn set_flag(&self, code: &str, flag: RoomFlag, on: bool) -> Result<bool>;
    /// Puts a guest in the room's lobby.
    async fn knock(&self, code: &str, entry: &LobbyEntry) -> Result<()>;
    /// Everyone waiting in the lobby, oldest first.
    async fn knocks(&self, code: &str) -> Result<Vec<LobbyEntry>>;
    /// Takes one knock out of the lobby, atomically: of two hosts answering it, one gets it.
    async fn take_knock(&self, code: &str, knock_id: &str) -> Result<Option<LobbyEntry>>;
}

/// How busy a node is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeLoad {
    pub rooms: u32,
    pub participants: u32,
    pub tracks: u32,
    pub forwarded_bps: u64,
}

impl NodeLoad {
    /// The figure nodes are compared by: participants dominate (each costs a pair of peer
    /// connections and fan-out), rooms break ties.
    pub fn score(&self) -> f64 {
        f64::from(self.participants) * 10.0 + f64::from(self.rooms)
    }
}

/// An SFU node as registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub id: String,
    /// Where its HTTP endpoints (`/metrics`, `/healthz`) listen.
    #[serde(default)]
    pub http_address: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub version: String,
    /// A draining node keeps its rooms but takes no new ones.
    #[serde(default)]
    pub draining: bool,
    #[serde(default)]
    pub load: NodeLoad,
    /// Handed to its clients in `joined`.
    #[serde(default)]
    pub ice_servers: Vec<IceServer>,
}

/// The live SFU nodes. A node is alive while its heartbeats arrive within their TTL.
#[async_trait]
pub trait NodeRegistry: Send + Sync {
    /// Registers or refreshes a node; it is dead once `ttl` passes without another heartbeat.
    async fn heartbeat(&self, node: &NodeInfo, ttl: Duration) -> Result<()>;
    async fn node(&self, id: &str) -> Result<Option<NodeInfo>>;
    /// Every live node, least loaded first.
    async fn live_nodes(&self) -> Result<Vec<NodeInfo>>;
    async fn deregister(&self, id: &str) -> Result<()>;
    /// An id of the store's current data set, created on first use. It changes when the
    /// store lost its data (a Redis restart without persistence), which tells nodes to
    /// restore the rooms they host.
    async fn generation(&self) -> Result<String>;
}

/// A node's stream of routed messages.
pub type Inbox = Pin<Box<dyn Stream<Item = NodeMessage> + Send>>;

/// Per-node inboxes.
#[async_trait]
pub trait MessageBus: Send + Sync {
    /// Sends a message to a node's inbox; returns how many subscribers got it.
    async fn publish(&self, node: &str, message: &NodeMessage) -> Result<usize>;
    /// The inbox of `node`. It survives backend reconnects.
    async fn subscribe(&self, node: &str) -> Result<Inbox>;
}

/// Small shared keys with a lifetime: idempotency and replay claims, rate counters, leases.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Sets `key` to `value` for `ttl` unless it is set; returns the value already there.
    async fn claim(&self, key: &str, value: &str, ttl: Duration) -> Result<Option<String>>;
    /// Counts a hit on `key` in a window of `window` starting at its first hit; returns the
    /// count including this hit.
    async fn count(&self, key: &str, window: Duration) -> Result<u64>;
    /// One action against the token buckets `keys` (see [`crate::rate`]) at `now_ms`: allowed
    /// only if each has a token, and then a token is taken from each, atomically.
    async fn admit(&self, keys: &[String], rate: Rate, now_ms: u64) -> Result<Admission>;
    /// Takes or renews the lease `key` for `holder`; false while another holder has it.
    async fn lease(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool>;
    /// Forgets `key` (a claim that turned out not to stand).
    async fn release(&self, key: &str) -> Result<()>;
}

/// Durable FIFO queues (outgoing webhooks): one consumer peeks, delivers, then pops, so an
/// item is delivered at least once and in order.
#[async_trait]
pub trait EventQueue: Send + Sync {
    /// Appends unless the queue holds `bound` items; returns whether it was added.
    async fn push(&self, queue: &str, item: &str, bound: usize) -> Result<bool>;
    /// The oldest item, left in place.
    async fn peek(&self, queue: &str) -> Result<Option<String>>;
    /// Removes the oldest item.
    async fn pop(&self, queue: &str) -> Result<()>;
    async fn len(&self, queue: &str) -> Result<usize>;
}

/// One routing backend: the stores, behind trait objects.
#[derive(Clone)]
pub struct Routing {
    pub connections: Arc<dyn ConnectionStore>,
    pub rooms: Arc<dyn RoomStore>,
    pub nodes: Arc<dyn NodeRegistry>,
    pub bus: Arc<dyn MessageBus>,
    pub keys: Arc<dyn KeyStore>,
    pub events: Arc<dyn EventQueue>,
}

impl Routing {
    /// In-process routing for one-machine local mode.
    pub fn memory() -> Self {
        Self::from_backend(Arc::new(memory::MemoryRouting::new()))
    }

    /// Routing in Redis at `url` (`redis://…` or `rediss://…`).
    pub async fn redis(url: &str) -> Result<Self> {
        Ok(Self::from_backend(Arc::new(
            redis::RedisRouting::connect(url).await?,
        )))
    }

    /// The room's node if it is alive; otherwise the best live node by `selector`, claimed
    /// atomically (concurrent joins agree). `None` when no node can take the room.
    pub async fn assign_node(
        &self,
        code: &str,
        selector: &dyn NodeSelector,
    ) -> Result<Option<Assignment>> {
        if let Some(current) = self.rooms.claim_node(code, &[]).await? {
            return Ok(Some(current));
        }
        let live = self.nodes.live_nodes().await?;
        let ranked = selector.rank(&live);
        if ranked.is_empty() {
            return Ok(None);
        }
        self.rooms.claim_node(code, &ranked).await
    }

    /// Every role from one backend.
    pub fn from_backend<B>(backend: Arc<B>) -> Self
    where
        B: ConnectionStore
            + RoomStore
            + NodeRegistry
            + MessageBus
            + KeyStore
            + EventQueue
            + 'static,
    {
        Self {
            connections: backend.clone(),
            rooms: backend.clone(),
            nodes: backend.clone(),
            bus: backend.clone(),
            keys: backend.clone(),
            events: backend,
        }
    }
}

impl ParticipantRecord {
    /// The record's track with `track_id`, if any.
    pub fn track_mut(&mut self, track_id: &str) -> Option<&mut TrackInfo> {
        self.info.tracks.iter_mut().find(|t| t.id == track_id)
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
