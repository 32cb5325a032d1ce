//! veet-sfu: the media plane.
//!
//! An SFU node terminates every participant's two peer connections (publisher: client →
//! node; subscriber: node → client) and forwards each published track to everyone else in
//! the room.
//!
//! - [`node`]: lifecycle — registry heartbeat with load, inbox subscription, draining.
//! - [`room`]: one task per room owning its participants and forwarders.
//! - [`directory`]: the node's rooms by code; holds signals that arrive before their `Join`.
//! - [`migration`]: moving rooms to other nodes (drain, a dead node's rooms, restore).
//! - [`participant`]: a participant's peer connections and their event handler.
//! - [`forwarder`]: one published track fanned out to its subscribers, by the [`fanout`] of
//!   its [`down_path`]s in the loop that reads it; [`down_track`] is the room's handle on one.
//! - [`downlink`], [`bandwidth`], [`allocator`]: downlink congestion control — what each
//!   subscriber's link carries (from its receiver reports) and how that is shared among its
//!   tracks' layers.
//! - [`quality`], [`rtt`]: each participant's connection quality (loss both ways, the round
//!   trip from RTCP) for the tiles' indicators.
//! - [`silence`]: muted microphones' silence is not forwarded.
//! - [`negotiation`]: when the node may send a subscriber offer (plain state machine).
//! - [`media`]: codecs, interceptors and network settings of the peer connections.
//! - [`tap`]: the pass-through interceptor the node's own chain members are built on.
//! - [`metrics`], [`http`]: `/metrics` and `/healthz`.
//! - [`config`]: `VEET_SFU_*` settings.

pub mod allocator;
pub mod bandwidth;
pub mod config;
pub mod directory;
pub mod down_path;
pub mod down_track;
pub mod downlink;
pub mod fanout;
pub mod forwarder;
pub mod h264;
pub mod hold;
pub mod http;
pub mod layer_selector;
pub mod media;
pub mod metrics;
pub mod migration;
pub mod negotiation;
pub mod node;
pub mod outbox;
pub mod participant;
pub mod quality;
pub mod rewriter;
pub mod room;
pub mod rtt;
pub mod silence;
pub mod speaker;
pub mod tap;
pub mod vp8;

pub use config::SfuConfig;
pub use node::SfuNode;
