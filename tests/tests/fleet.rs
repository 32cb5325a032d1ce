//! A meeting survives the fleet changing under it: real processes (redis-server, the
//! signaling emulator with API Gateway's concurrency and a start jitter, two SFU nodes) and
//! synthetic WebRTC participants, 3 rooms × 3 participants each. After a node drains, dies or
//! is paused past its TTL, or Redis restarts, every participant receives every other's media
//! again, and no room is split across nodes.

use std::collections::HashMap;
use std::time::Duration;

use veet::peer::{PeerOptions, SyntheticPeer};
use veet_core::routing::{RoomAccess, RoomSettings, Routing};
use veet_tests::cluster::{metric, Cluster};

/// Cluster tests measure media: one at a time, so they do not starve each other.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ROOMS: [&str; 3] = ["fleet-a", "fleet-b", "fleet-c"];
const PEOPLE: [&str; 3] = ["ann", "ben", "cat"];
/// A participant receives audio and video from each of the two others.
const TRACKS: usize = 4;
/// Generous: a dead node is noticed after its TTL (1.5 s in the cluster) and clients then
/// build new connections, on a loaded 2-core machine.
const RECOVERY: Duration = Duration::from_secs(30);

struct Meeting {
    room: &'static str,
    peers: Vec<SyntheticPeer>,
}

async fn join(cluster: &Cluster, room: &str, identity: &str) -> SyntheticPeer {
    let mut options = PeerOptions::new(cluster.ws_url(), cluster.token(room, identity));
    // Nine publishers on two cores: keep video light.
    options.video_bitrate_bps = 200_000;
    SyntheticPeer::join(options)
        .await
        .unwrap_or_else(|e| panic!("{identity} could not join {room}: {e:#}"))
}

async fn meetings(cluster: &Cluster) -> Vec<Meeting> {
    let mut out = Vec::new();
    for room in ROOMS {
        let mut peers = Vec::new();
        for who in PEOPLE {
            peers.push(join(cluster, room, who).await);
        }
        out.push(Meeting { room, peers });
    }
    for m in &out {
        for p in &m.peers {
            wait_media(p, m.room, TRACKS).await;
        }
    }
    out
}

/// Waits until `peer` receives packets again on `count` tracks (since the last reset).
async fn wait_media(peer: &SyntheticPeer, room: &str, count: usize) {
    let deadline = tokio::time::Instant::now() + RECOVERY;
    loop {
        let r = peer.received();
        let flowing = r.values().filter(|s| s.packets > 0).count();
        if flowing >= count {
            for (track, s) in &r {
                assert_eq!(
                    s.foreign_payloads, 0,
                    "{room}/{}: corrupted payloads on {track}",
                    peer.participant.identity
                );
            }
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{room}/{} receives {flowing} of {count} tracks: {r:#?}",
            peer.participant.identity
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every participant gets every other's media again, from after this call.
async fn all_back_in_media(meetings: &[Meeting]) {
    for m in meetings {
        for p in &m.peers {
            p.reset_received();
        }
    }
    for m in meetings {
        for p in &m.peers {
            wait_media(p, m.room, TRACKS).await;
        }
    }
}

async fn room_nodes(routing: &Routing) -> HashMap<&'static str, String> {
    let mut out = HashMap::new();
    for room in ROOMS {
        let node = routing
            .rooms
            .room(room)
            .await
            .expect("redis")
            .and_then(|r| r.node)
            .unwrap_or_else(|| panic!("{room} has no node"));
        out.insert(room, node);
    }
    out
}

/// The rooms `node` hosts.
async fn rooms_on(routing: &Routing, node: &str) -> Vec<&'static str> {
    room_nodes(routing)
        .await
        .into_iter()
        .filter(|(_, n)| n == node)
        .map(|(r, _)| r)
        .collect()
}

/// Each room on one node, with all its participants there and in the routing store.
async fn assert_not_split(cluster: &Cluster, routing: &Routing, expect_node: &str) {
    let nodes = room_nodes(routing).await;
    for (room, node) in &nodes {
        assert_eq!(node, expect_node, "{room} should be on {expect_node}");
        let people = routing.rooms.participants(room).await.expect("redis");
        assert_eq!(people.len(), 3, "{room} keeps its three participants");
    }
    let idx = cluster.node_index(expect_node).expect("node");
    veet_tests::eventually("every participant on the surviving node", || async {
        let m = cluster.metrics(idx).await;
        (metric(&m, "veet_sfu_participants") == Some(9.0)
            && metric(&m, "veet_sfu_rooms") == Some(3.0))
        .then_some(())
    })
    .await;
}

/// Which node an event hits (the one hosting most rooms), which survives, and which rooms
/// will move.
struct Plan {
    victim: usize,
    survivor_id: String,
    moving: Vec<&'static str>,
}

async fn plan(cluster: &Cluster, routing: &Routing) -> Plan {
    let nodes = room_nodes(routing).await;
    let count = |id: &str| nodes.values().filter(|n| *n == id).count();
    let victim = usize::from(count(&cluster.nodes[0].id) < count(&cluster.nodes[1].id));
    Plan {
        victim,
        survivor_id: cluster.nodes[1 - victim].id.clone(),
        moving: rooms_on(routing, &cluster.nodes[victim].id).await,
    }
}

/// Waits until every participant of the `moving` rooms has moved once and dropped its old
/// connections.
async fn wait_moved(meetings: &[Meeting], moving: &[&str], what: &str) {
    for m in meetings.iter().filter(|m| moving.contains(&m.room)) {
        for p in &m.peers {
            p.wait_moved(1, RECOVERY)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e:#}"));
        }
    }
}

async fn start() -> (Cluster, Routing) {
    let cluster = Cluster::start(2).await;
    let routing = Routing::redis(&cluster.redis.url()).await.expect("redis");
    (cluster, routing)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_moves_every_room_to_the_other_node() {
    let _serial = SERIAL.lock().await;
    veet_tests::init_tracing();
    let (mut cluster, routing) = start().await;
    let meetings = meetings(&cluster).await;
    let Plan {
        victim,
        survivor_id,
        moving,
    } = plan(&cluster, &routing).await;
    assert!(cluster.signal_node(victim, "TERM"));
    wait_moved(&meetings, &moving, "moved off the draining node").await;
    veet_tests::eventually("the drained node exits", || {
        let running = cluster.nodes[victim].process.is_running();
        async move { (!running).then_some(()) }
    })
    .await;
    all_back_in_media(&meetings).await;
    assert_not_split(&cluster, &routing, &survivor_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_nodes_rooms_move_to_the_survivor() {
    let _serial = SERIAL.lock().await;
    veet_tests::init_tracing();
    let (mut cluster, routing) = start().await;
    let meetings = meetings(&cluster).await;
    let Plan {
        victim,
        survivor_id,
        moving,
    } = plan(&cluster, &routing).await;
    cluster.nodes[victim].process.kill();
    wait_moved(&meetings, &moving, "moved after the node died").await;
    all_back_in_media(&meetings).await;
    assert_not_split(&cluster, &routing, &survivor_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_restart_keeps_media_and_the_rooms_are_rebuilt() {
    let _serial = SERIAL.lock().await;
    veet_tests::init_tracing();
    let (mut cluster, routing) = start().await;
    // One room is invite-only: a restore must not open it to guests.
    let invite_only = RoomSettings {
        access: RoomAccess::InviteOnly,
        ..RoomSettings::default()
    };
    routing
        .rooms
        .create_room("fleet-c", invite_only.clone())
        .await
        .expect("redis");
    let meetings = meetings(&cluster).await;
    let before = room_nodes(&routing).await;
    for m in &meetings {
        for p in &m.peers {
            p.reset_received();
        }
    }
    cluster.redis.restart();
    // The nodes rebuild what Redis lost from what they serve.
    veet_tests::eventually("rooms restored after the restart", || async {
        let mut ok = true;
        for room in ROOMS {
            let node = routing
                .rooms
                .room(room)
                .await
                .ok()
                .flatten()
                .and_then(|r| r.node);
            let people = routing.rooms.participants(room).await.unwrap_or_default();
            ok &= node.as_deref() == Some(before[room].as_str()) && people.len() == 3;
        }
        ok.then_some(())
    })
    .await;
    let restored = routing.rooms.room("fleet-c").await.unwrap().unwrap();
    assert_eq!(
        restored.settings, invite_only,
        "settings come back with the room"
    );
    // Media never stopped: no one moved, and every track delivered across the restart.
    for m in &meetings {
        for p in &m.peers {
            assert_eq!(p.migrations(), 0, "no move for a Redis restart");
            wait_media(p, m.room, TRACKS).await;
        }
    }
    // A newcomer lands in the same room on the same node and gets everyone.
    let late = join(&cluster, "fleet-b", "dan").await;
    assert_eq!(
        late.others.len(),
        3,
        "dan sees the three others: {:?}",
        late.others
    );
    wait_media(&late, "fleet-b", 6).await;
    assert_eq!(room_nodes(&routing).await["fleet-b"], before["fleet-b"]);
    for p in &meetings[1].peers {
        p.reset_received();
        wait_media(p, "fleet-b", 6).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paused_node_that_comes_back_does_not_serve_moved_rooms() {
    let _serial = SERIAL.lock().await;
    veet_tests::init_tracing();
    let (cluster, routing) = start().await;
    let meetings = meetings(&cluster).await;
    let Plan {
        victim,
        survivor_id,
        moving,
    } = plan(&cluster, &routing).await;
    assert!(cluster.signal_node(victim, "STOP"));
    wait_moved(&meetings, &moving, "moved off the paused node").await;
    // Every room is on the survivor now; the paused node wakes up.
    assert!(cluster.signal_node(victim, "CONT"));
    veet_tests::eventually("the woken node lets go of the moved rooms", || async {
        let m = cluster.metrics(victim).await;
        (metric(&m, "veet_sfu_rooms") == Some(0.0)).then_some(())
    })
    .await;
    // It never wrote anything for them: the rooms and their people are intact.
    all_back_in_media(&meetings).await;
    assert_not_split(&cluster, &routing, &survivor_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn while_redis_is_down_frames_get_a_retryable_error_and_media_flows() {
    let _serial = SERIAL.lock().await;
    veet_tests::init_tracing();
    let (mut cluster, routing) = start().await;
    let a = join(&cluster, "fleet-down", "ann").await;
    let b = join(&cluster, "fleet-down", "ben").await;
    wait_media(&a, "fleet-down", 2).await;
    wait_media(&b, "fleet-down", 2).await;
    cluster.redis.kill();
    let refused = a.wait_frame(Duration::from_secs(10), |f| {
        matches!(
            f,
            veet_core::protocol::ServerFrame::Error {
                code: veet_core::protocol::ErrorCode::Unavailable,
                ..
            }
        )
    });
    a.send(&veet_core::protocol::ClientFrame::Chat {
        text: "anyone?".into(),
    })
    .await
    .expect("send");
    refused
        .await
        .expect("a clear, retryable error while Redis is down");
    // Media does not need Redis.
    for p in [&a, &b] {
        p.reset_received();
        wait_media(p, "fleet-down", 2).await;
        assert_eq!(p.migrations(), 0);
    }
    for n in 0..cluster.nodes.len() {
        cluster.nodes[n].process.assert_running();
    }
    cluster.redis.restart();
    veet_tests::eventually("the room is back in Redis", || async {
        let people = routing
            .rooms
            .participants("fleet-down")
            .await
            .unwrap_or_default();
        (people.len() == 2).then_some(())
    })
    .await;
    let chat = b.wait_frame(Duration::from_secs(10), |f| {
        matches!(f, veet_core::protocol::ServerFrame::Chat { .. })
    });
    a.send(&veet_core::protocol::ClientFrame::Chat {
        text: "back".into(),
    })
    .await
    .expect("send");
    chat.await.expect("chat works again after the restart");
}
