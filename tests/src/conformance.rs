//! The routing conformance fixture: each shared test function runs against `MemoryRouting`
//! and against `RedisRouting` on a private redis-server, so both backends provably behave
//! alike. [`routing_suite!`](crate::routing_suite) generates `memory::name` and
//! `redis::name` for each function; the helpers build records and nodes.

use std::sync::Arc;

use veet_core::protocol::{Grants, ParticipantInfo, TrackInfo, TrackKind, TrackSource};
use veet_core::routing::memory::MemoryRouting;
use veet_core::routing::redis::RedisRouting;
use veet_core::routing::{NodeInfo, NodeLoad, ParticipantRecord, Routing};

use crate::{fake_node, RedisServer};

/// One backend under test. `routing()` hands out a handle onto the same state: for memory
/// the same maps, for Redis a fresh connection (as another Lambda instance would have).
pub enum Fixture {
    Memory(Arc<MemoryRouting>),
    Redis(RedisServer),
}

impl Fixture {
    pub fn memory() -> Self {
        Fixture::Memory(Arc::new(MemoryRouting::new()))
    }

    pub fn redis() -> Self {
        Fixture::Redis(RedisServer::start())
    }

    pub async fn routing(&self) -> Routing {
        match self {
            Fixture::Memory(m) => Routing::from_backend(m.clone()),
            Fixture::Redis(r) => Routing::from_backend(Arc::new(
                RedisRouting::connect(&r.url())
                    .await
                    .expect("connecting to the test redis-server"),
            )),
        }
    }
}

/// Generates `memory::$name` and `redis::$name` for each shared test function.
#[macro_export]
macro_rules! routing_suite {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Fixture::memory()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Fixture::redis()).await;
                }
            )*
        }
    };
}

pub fn participant(id: &str, identity: &str, joined_at: u64) -> ParticipantRecord {
    ParticipantRecord {
        info: ParticipantInfo {
            id: id.to_owned(),
            identity: identity.to_owned(),
            name: format!("{identity} name"),
            joined_at,
            tracks: vec![],
            grants: Grants::default(),
            hand_raised_at: None,
        },
        connection_id: format!("conn-{id}"),
    }
}

pub fn node(id: &str, participants: u32) -> NodeInfo {
    NodeInfo {
        load: NodeLoad {
            participants,
            rooms: 1,
            tracks: participants * 2,
            forwarded_bps: 1000,
        },
        ..fake_node(id)
    }
}

pub fn ids(records: &[ParticipantRecord]) -> Vec<String> {
    let mut v: Vec<String> = records.iter().map(|r| r.info.id.clone()).collect();
    v.sort();
    v
}

/// A microphone track.
pub fn track(id: &str) -> TrackInfo {
    TrackInfo {
        id: id.into(),
        kind: TrackKind::Audio,
        source: TrackSource::Microphone,
        muted: false,
    }
}
