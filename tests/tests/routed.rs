//! Frames a client sends reach the inbox of the room's SFU node: `join` as
//! `NodeMessage::Join` (with connection id and participant), `signal` as
//! `NodeMessage::Signal`, and so on. With in-memory routing the inbox is read through
//! `routing.bus.subscribe`; with Redis through a raw `SUBSCRIBE veet:inbox:{node}`, which
//! pins the wire format SFU nodes in other processes rely on.

use futures::StreamExt;
use serde_json::{json, Value};
use veet_core::protocol::{IceCandidate, NodeMessage, ParticipantInfo, PeerRole, Signal};
use veet_core::routing::{NodeLoad, Routing};
use veet_tests::{fake_node, panics, Backend, TestServer, QUIET, WAIT};

const ROOM: &str = "abc-defg-hij";

/// A node's inbox, read the way the backend allows.
enum Tap {
    Bus(veet_core::routing::Inbox),
    Raw(futures::stream::BoxStream<'static, String>),
}

impl Tap {
    async fn open(s: &TestServer, node: &str) -> Self {
        match s.backend {
            Backend::Memory => Tap::Bus(s.routing().bus.subscribe(node).await.unwrap()),
            Backend::Redis => {
                let url = s.redis.as_ref().expect("redis backend").url();
                let client = ::redis::Client::open(url).unwrap();
                let mut pubsub = client.get_async_pubsub().await.unwrap();
                pubsub
                    .subscribe(format!("veet:inbox:{node}"))
                    .await
                    .unwrap();
                Tap::Raw(
                    pubsub
                        .into_on_message()
                        .map(|m| m.get_payload::<String>().expect("text payload"))
                        .boxed(),
                )
            }
        }
    }

    async fn next(&mut self) -> NodeMessage {
        let got = match self {
            Tap::Bus(inbox) => tokio::time::timeout(WAIT, inbox.next()).await,
            Tap::Raw(stream) => tokio::time::timeout(WAIT, stream.next())
                .await
                .map(|m| m.map(|json| serde_json::from_str(&json).expect("a NodeMessage"))),
        };
        got.expect("no message reached the node's inbox in time")
            .expect("the inbox ended")
    }

    async fn expect_quiet(&mut self) {
        let got = match self {
            Tap::Bus(inbox) => tokio::time::timeout(QUIET, inbox.next())
                .await
                .ok()
                .flatten(),
            Tap::Raw(stream) => tokio::time::timeout(QUIET, stream.next())
                .await
                .ok()
                .flatten()
                .map(|json| serde_json::from_str(&json).expect("a NodeMessage")),
        };
        assert_eq!(got, None, "unexpected message in the inbox");
    }
}

fn participant_of(frame: &Value) -> ParticipantInfo {
    serde_json::from_value(frame["participant"].clone()).expect("participant info")
}

veet_tests::for_both_backends!(
    routed_frames_reach_the_assigned_nodes_inbox,
    each_room_is_routed_to_its_own_node,
);

async fn routed_frames_reach_the_assigned_nodes_inbox(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let mut inbox = Tap::open(&s, "node-1").await;

    let mut alice = s.connect(ROOM, "alice").await;
    // Nothing is routed for a connection that has not joined.
    alice
        .send(json!({"action": "signal", "role": "publisher", "signal": {"kind": "answer", "sdp": "v=0"}}))
        .await;
    alice.expect_error("not_joined").await;

    let connection_id = {
        let ids = s.connection_ids();
        assert_eq!(ids.len(), 1);
        ids[0].clone()
    };
    alice.send(json!({"action": "join"})).await;
    let joined = alice.expect("joined").await;
    let me = participant_of(&joined);
    assert_eq!(
        inbox.next().await,
        NodeMessage::Join {
            room: ROOM.into(),
            connection_id: connection_id.clone(),
            participant: me.clone(),
            epoch: 1,
        }
    );

    let candidate = IceCandidate {
        candidate: "candidate:1 1 udp 2130706431 192.0.2.10 54400 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
    };
    alice
        .send(json!({
            "action": "signal",
            "role": "publisher",
            "signal": {"kind": "candidate", "candidate": candidate},
        }))
        .await;
    assert_eq!(
        inbox.next().await,
        NodeMessage::Signal {
            room: ROOM.into(),
            participant_id: me.id.clone(),
            role: PeerRole::Publisher,
            signal: Signal::Candidate { candidate },
        }
    );
    alice
        .send(json!({
            "action": "signal",
            "role": "publisher",
            "signal": {"kind": "offer", "sdp": "v=0\r\n", "tracks": [{"id": "cam", "source": "camera"}]},
        }))
        .await;
    match inbox.next().await {
        NodeMessage::Signal {
            role: PeerRole::Publisher,
            signal: Signal::Offer { sdp, tracks },
            participant_id,
            ..
        } => {
            assert_eq!(sdp, "v=0\r\n");
            assert_eq!(tracks.len(), 1);
            assert_eq!(participant_id, me.id);
        }
        other => panic!("expected an offer, got {other:?}"),
    }
    alice
        .send(json!({"action": "signal", "role": "subscriber", "signal": {"kind": "answer", "sdp": "v=0 answer"}}))
        .await;
    assert_eq!(
        inbox.next().await,
        NodeMessage::Signal {
            room: ROOM.into(),
            participant_id: me.id.clone(),
            role: PeerRole::Subscriber,
            signal: Signal::Answer {
                sdp: "v=0 answer".into()
            },
        }
    );
    alice
        .send(json!({"action": "mute", "track_id": "cam", "muted": true}))
        .await;
    assert_eq!(
        inbox.next().await,
        NodeMessage::Mute {
            room: ROOM.into(),
            participant_id: me.id.clone(),
            track_id: "cam".into(),
            muted: true,
        }
    );
    // Pings and chat are not the node's business.
    alice.ping_pong().await;
    alice.send(json!({"action": "chat", "text": "hi"})).await;
    alice.expect("chat").await;
    alice.send(json!({"action": "leave"})).await;
    assert_eq!(
        inbox.next().await,
        NodeMessage::Leave {
            room: ROOM.into(),
            participant_id: me.id.clone(),
        }
    );

    // A socket that closes is a leave too.
    alice.send(json!({"action": "join"})).await;
    let again = participant_of(&alice.expect("joined").await);
    assert!(
        matches!(inbox.next().await, NodeMessage::Join { participant, .. } if participant == again)
    );
    alice.drop_abruptly();
    assert_eq!(
        inbox.next().await,
        NodeMessage::Leave {
            room: ROOM.into(),
            participant_id: again.id,
        }
    );
    inbox.expect_quiet().await;
    panics::assert_no_server_panics();
}

async fn heartbeat(routing: &Routing, id: &str, participants: u32) {
    let mut n = fake_node(id);
    n.load = NodeLoad {
        participants,
        ..NodeLoad::default()
    };
    routing
        .nodes
        .heartbeat(&n, veet_tests::dev::LONG_TTL)
        .await
        .unwrap();
}

async fn each_room_is_routed_to_its_own_node(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    heartbeat(s.routing(), "node-1", 0).await;
    heartbeat(s.routing(), "node-2", 5).await;
    let mut inbox1 = Tap::open(&s, "node-1").await;
    let mut inbox2 = Tap::open(&s, "node-2").await;

    let (mut a, _) = s.join("room-a", "a").await;
    assert!(matches!(inbox1.next().await, NodeMessage::Join { room, .. } if room == "room-a"));
    // node-1 gets busier; the next new room goes to node-2.
    heartbeat(s.routing(), "node-1", 10).await;
    let (mut b, _) = s.join("room-b", "b").await;
    assert!(matches!(inbox2.next().await, NodeMessage::Join { room, .. } if room == "room-b"));

    let signal = |sdp: &str| json!({"action": "signal", "role": "subscriber", "signal": {"kind": "answer", "sdp": sdp}});
    b.send(signal("for node 2")).await;
    a.send(signal("for node 1")).await;
    assert!(
        matches!(inbox1.next().await, NodeMessage::Signal { room, signal: Signal::Answer { sdp }, .. } if room == "room-a" && sdp == "for node 1")
    );
    assert!(
        matches!(inbox2.next().await, NodeMessage::Signal { room, signal: Signal::Answer { sdp }, .. } if room == "room-b" && sdp == "for node 2")
    );
    inbox1.expect_quiet().await;
    inbox2.expect_quiet().await;
    panics::assert_no_server_panics();
}
