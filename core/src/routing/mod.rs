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

pub mod memory;
pub mod redis;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::Stream;
use serde::{Deserialize, Serialize};

use crate::protocol::{Grants, IceServer, NodeMessage, ParticipantInfo, TrackInfo};

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
}

/// Stores connections for the lifetime of their sockets (API Gateway's limit is 2 hours).
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    async fn put_connection(&self, conn: &Connection) -> Result<()>;
    async fn connection(&self, id: &str) -> Result<Option<Connection>>;
    /// Removes a connection, returning what it held.
    async fn remove_connection(&self, id: &str) -> Result<Option<Connection>>;
}

/// A participant as stored in its room: what the room sees plus where to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantRecord {
    pub info: ParticipantInfo,
    pub connection_id: String,
}

/// A room's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSettings {
    /// 0 means no limit.
    pub max_participants: u32,
}

impl Default for RoomSettings {
    fn default() -> Self {
        Self {
            max_participants: 100,
        }
    }
}

/// A room as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub code: String,
    /// The SFU node hosting the room, once one is assigned.
    pub node: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    pub settings: RoomSettings,
}

/// What [`RoomStore::add_participant`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    /// Added; `replaced` is an earlier participant with the same identity, now removed.
    Added { replaced: Option<ParticipantRecord> },
    /// The room is at its `max_participants`.
    Full,
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
    /// Creates a room unless it exists; returns whether it was created.
    async fn create_room(&self, code: &str, settings: RoomSettings) -> Result<bool>;
    async fn room(&self, code: &str) -> Result<Option<RoomInfo>>;
    async fn list_rooms(&self) -> Result<Vec<String>>;
    /// The room's node if it is alive; otherwise atomically assigns the least-loaded live,
    /// non-draining node (creating the room with default settings if needed). `None` when no
    /// node is available. Concurrent callers for one room always get the same node.
    async fn assign_node(&self, code: &str) -> Result<Option<String>>;
    /// Adds a participant unless the room is full. A participant with the same identity is
    /// replaced (a person who reconnects, or opens a second tab).
    async fn add_participant(&self, code: &str, record: &ParticipantRecord) -> Result<AddOutcome>;
    async fn remove_participant(&self, code: &str, participant_id: &str) -> Result<Removal>;
    /// Replaces a participant's record (tracks, mute state) if it is still in the room.
    async fn update_participant(&self, code: &str, record: &ParticipantRecord) -> Result<bool>;
    async fn participant(
        &self,
        code: &str,
        participant_id: &str,
    ) -> Result<Option<ParticipantRecord>>;
    async fn participants(&self, code: &str) -> Result<Vec<ParticipantRecord>>;
    /// Deletes the room and its assignment if it has no participants; returns whether it did.
    async fn delete_room_if_empty(&self, code: &str) -> Result<bool>;
    /// Deletes the room and everything in it.
    async fn delete_room(&self, code: &str) -> Result<()>;
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

/// One routing backend: the four stores, behind trait objects.
#[derive(Clone)]
pub struct Routing {
    pub connections: Arc<dyn ConnectionStore>,
    pub rooms: Arc<dyn RoomStore>,
    pub nodes: Arc<dyn NodeRegistry>,
    pub bus: Arc<dyn MessageBus>,
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

    /// All four roles from one backend.
    pub fn from_backend<B>(backend: Arc<B>) -> Self
    where
        B: ConnectionStore + RoomStore + NodeRegistry + MessageBus + 'static,
    {
        Self {
            connections: backend.clone(),
            rooms: backend.clone(),
            nodes: backend.clone(),
            bus: backend,
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
