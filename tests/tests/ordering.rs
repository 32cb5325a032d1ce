//! Join, signal, leave and disconnect invocations in adversarial orders, against both
//! routing backends and a real in-process SFU node. API Gateway runs each of a connection's
//! frames as its own concurrent invocation with no ordering (the emulator does the same, with
//! a 50 ms start jitter), so a `$disconnect` can overtake the `join` before it, a lone
//! participant's reconnect can race its own departure, and a `leave` can overtake the
//! participant's offer. Every case must end in working media or a clear error frame — never
//! a silent hang, a ghost participant or a ghost connection.

use serde_json::json;
use veet::peer::{PeerOptions, SyntheticPeer};
use veet_sfu::SfuNode;
use veet_tests::{eventually, Backend, TestServer};

const ROOM: &str = "ord-room-one";

fn node(s: &TestServer) -> &std::sync::Arc<SfuNode> {
    s.dev
        .sfu
        .as_ref()
        .expect("the test server runs an SFU node")
}

fn node_participants(s: &TestServer) -> i64 {
    node(s)
        .metrics()
        .participants
        .load(std::sync::atomic::Ordering::Relaxed)
}

/// Nobody is left: no participant in the room, no stored connection, none on the node.
async fn assert_no_ghosts(s: &TestServer, connection_ids: &[String]) {
    eventually(
        "no ghost participants, connections or node state",
        || async {
            let people = s.routing().rooms.participants(ROOM).await.unwrap();
            let mut stored = 0;
            for id in connection_ids {
                if s.routing()
                    .connections
                    .connection(id)
                    .await
                    .unwrap()
                    .is_some()
                {
                    stored += 1;
                }
            }
            (people.is_empty() && stored == 0 && node_participants(s) == 0).then_some(())
        },
    )
    .await;
}

async fn peer(s: &TestServer, identity: &str) -> SyntheticPeer {
    let mut options = PeerOptions::new(s.dev.ws_url(), s.token(ROOM, identity));
    options.video_bitrate_bps = 200_000;
    SyntheticPeer::join(options)
        .await
        .unwrap_or_else(|e| panic!("{identity} could not join: {e:#}"))
}

async fn wait_tracks(p: &SyntheticPeer, count: usize) {
    eventually("media flows", || async {
        (p.received().values().filter(|s| s.packets > 0).count() >= count).then_some(())
    })
    .await;
}

/// `$disconnect` overtakes `join` (the socket closes right after sending it), again and
/// again: whichever runs first, nothing is left behind.
async fn disconnect_racing_join_leaves_nothing(backend: Backend) {
    let s = TestServer::start_with_sfu(backend).await;
    let mut ids = Vec::new();
    for i in 0..16 {
        let before: std::collections::HashSet<String> = s.connection_ids().into_iter().collect();
        let mut c = s.connect(ROOM, &format!("racer{i}")).await;
        let id = s
            .connection_ids()
            .into_iter()
            .find(|id| !before.contains(id))
            .expect("the new connection");
        ids.push(id);
        c.send(json!({"action": "join"})).await;
        if i % 2 == 0 {
            c.drop_abruptly();
        } else {
            c.close().await;
        }
    }
    assert_no_ghosts(&s, &ids).await;
    // The room still works for the next person.
    let a = peer(&s, "after-a").await;
    let b = peer(&s, "after-b").await;
    wait_tracks(&a, 2).await;
    wait_tracks(&b, 2).await;
}

/// A participant alone in the room reconnects over and over, each new socket racing the old
/// one's departure (the node sees `Leave`, the room empties, then the `Join` comes): every
/// session ends on the node, and the last one has working media with a newcomer.
async fn lone_participant_reconnects_keep_working(backend: Backend) {
    let s = TestServer::start_with_sfu(backend).await;
    let mut last = peer(&s, "loner").await;
    for _ in 0..5 {
        let next_peer = peer(&s, "loner");
        // The old socket goes while the new one joins.
        let (next_peer, ()) = tokio::join!(next_peer, last.vanish());
        last = next_peer;
    }
    eventually("exactly one loner in the room and on the node", || async {
        let people = s.routing().rooms.participants(ROOM).await.unwrap();
        (people.len() == 1
            && people[0].info.id == last.participant.id
            && node_participants(&s) == 1)
            .then_some(())
    })
    .await;
    let friend = peer(&s, "friend").await;
    wait_tracks(&friend, 2).await;
    wait_tracks(&last, 2).await;
    let people = s.routing().rooms.participants(ROOM).await.unwrap();
    assert_eq!(
        people.len(),
        2,
        "no ghost of an earlier session: {people:?}"
    );
}

/// `leave` right after `joined`, racing the client's own offer and candidates: the offer gets
/// a clear `not_joined` error or is dropped by the node, and nothing lingers.
async fn leave_overtaking_signals_leaves_nothing(backend: Backend) {
    let s = TestServer::start_with_sfu(backend).await;
    let before: std::collections::HashSet<String> = s.connection_ids().into_iter().collect();
    let (mut c, _joined) = s.join(ROOM, "hasty").await;
    let id = s
        .connection_ids()
        .into_iter()
        .find(|id| !before.contains(id))
        .expect("the connection");
    let offer = json!({"action": "signal", "role": "publisher", "signal": {"kind": "offer", "sdp": "v=0\r\n"}});
    c.send(offer.clone()).await;
    c.send(json!({"action": "leave"})).await;
    c.send(offer).await;
    // Whatever the order, each offer is answered, refused as `not_joined`, or failed
    // clearly by the node — and the participant is gone.
    eventually("participant gone", || async {
        let people = s.routing().rooms.participants(ROOM).await.unwrap();
        (people.is_empty() && node_participants(&s) == 0).then_some(())
    })
    .await;
    c.ping_pong().await;
    for f in c.take_pending() {
        if f["type"] == "error" {
            let code = f["code"].as_str().unwrap_or_default();
            assert!(
                ["not_joined", "invalid_frame"].contains(&code),
                "unexpected error {f}"
            );
        }
    }
    // The socket can join again and gets media with someone else.
    c.send(json!({"action": "join"})).await;
    c.expect("joined").await;
    c.close().await;
    assert_no_ghosts(&s, &[id]).await;
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    veet_tests::init_tracing();
                    super::$name(veet_tests::Backend::Memory).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    veet_tests::init_tracing();
                    super::$name(veet_tests::Backend::Redis).await;
                }
            )*
        }
    };
}

both_backends!(
    disconnect_racing_join_leaves_nothing,
    lone_participant_reconnects_keep_working,
    leave_overtaking_signals_leaves_nothing,
);
