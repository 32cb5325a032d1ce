//! The media plane end to end: real processes (redis-server, the signaling emulator, SFU
//! nodes) and synthetic WebRTC participants (webrtc-rs) publishing recognisable audio and
//! video.

use std::collections::HashMap;
use std::time::Duration;

use veet::peer::{PeerOptions, SyntheticPeer, TrackStats};
use veet_core::protocol::{CloseReason, ServerFrame};
use veet_core::routing::Routing;
use veet_tests::cluster::{metric, Cluster};

/// Media tests measure loss and timing: run them one at a time so they do not starve each
/// other on a small machine.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn join(cluster: &Cluster, room: &str, identity: &str) -> SyntheticPeer {
    SyntheticPeer::join(PeerOptions::new(
        cluster.ws_url(),
        cluster.token(room, identity),
    ))
    .await
    .unwrap_or_else(|e| panic!("{identity} could not join: {e:#}"))
}

/// Waits until `peer` receives `count` tracks that each delivered packets.
async fn wait_tracks(peer: &SyntheticPeer, count: usize, who: &str) -> HashMap<String, TrackStats> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = peer.received();
        if r.values().filter(|s| s.packets > 0).count() >= count {
            return r;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "{who} received {} flowing tracks, wanted {count}: {r:#?}",
                r.values().filter(|s| s.packets > 0).count()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_peers_receive_each_others_tracks_intact() {
    let _serial = SERIAL.lock().await;
    veet_tests::init_tracing();
    let cluster = Cluster::start(1).await;
    let names = ["alice", "bob", "carol"];
    let mut peers = Vec::new();
    for n in names {
        peers.push(join(&cluster, "media-room", n).await);
    }
    for (peer, name) in peers.iter().zip(names) {
        wait_tracks(peer, 4, name).await;
    }
    // Measure a clean 5-second window.
    for p in &peers {
        p.reset_received();
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    for (peer, name) in peers.iter().zip(names) {
        let r = peer.received();
        assert_eq!(r.len(), 4, "{name} should receive exactly 4 tracks: {r:#?}");
        for (track, s) in &r {
            assert_ne!(
                s.publisher_identity, name,
                "{name} received its own track {track}"
            );
            assert!(
                names.contains(&s.publisher_identity.as_str()),
                "{name}: unknown publisher in {track}: {s:?}"
            );
            assert_eq!(
                s.foreign_payloads, 0,
                "{name}: corrupted payloads on {track}"
            );
            assert!(s.packets > 0, "{name}: nothing on {track}");
            assert!(
                s.loss() < 0.01,
                "{name}: {track} lost {:.2} % ({} of {})",
                s.loss() * 100.0,
                s.expected() - s.packets.min(s.expected()),
                s.expected()
            );
        }
        eprintln!(
            "{name}: {:?}",
            r.iter()
                .map(|(t, s)| (t.clone(), s.packets, s.expected()))
                .collect::<Vec<_>>()
        );
        let publishers: std::collections::HashSet<_> =
            r.values().map(|s| s.publisher_identity.clone()).collect();
        assert_eq!(
            publishers.len(),
            2,
            "{name} should hear both others: {publishers:?}"
        );
    }
}

/// Asserts every track in `r` came from `allowed` publishers, intact and almost loss-free.
fn assert_clean(r: &HashMap<String, TrackStats>, who: &str, allowed: &[&str]) {
    for (track, s) in r {
        assert!(
            allowed.contains(&s.publisher_identity.as_str()),
            "{who} got {track} from {:?}",
            s.publisher_identity
        );
        assert_eq!(
            s.foreign_payloads, 0,
            "{who}: corrupted payloads on {track}"
        );
        assert!(s.packets > 0, "{who}: nothing on {track}");
        assert!(
            s.loss() < 0.01,
            "{who}: {track} lost {:.2} %",
            s.loss() * 100.0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn late_joiner_gets_every_track_and_a_keyframe_within_a_second() {
    let _serial = SERIAL.lock().await;
    veet_tests::init_tracing();
    let cluster = Cluster::start(1).await;
    let mut peers = Vec::new();
    for n in ["p1", "p2", "p3"] {
        peers.push(join(&cluster, "late-room", n).await);
    }
    for p in &peers {
        wait_tracks(p, 4, "early peer").await;
    }
    // Publishers flag a keyframe only at their start and when a PLI reaches them; by now
    // their first keyframes are long gone, so a keyframe at the late joiner proves the path.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let plis_before = metric(&cluster.metrics(0).await, "veet_sfu_plis_sent_total").unwrap_or(0.0);
    let late = join(&cluster, "late-room", "p4").await;
    let r = wait_tracks(&late, 6, "late joiner").await;
    assert_eq!(
        r.len(),
        6,
        "late joiner should get 3 × (audio + video): {r:#?}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = late.received();
        let videos: Vec<&TrackStats> = r.values().filter(|s| s.video).collect();
        assert_eq!(videos.len(), 3);
        if videos.iter().all(|s| s.first_keyframe_at.is_some()) {
            for s in videos {
                let took = s.first_keyframe_at.unwrap() - s.subscribed_at.unwrap();
                assert!(
                    took <= Duration::from_secs(1),
                    "keyframe from {} took {took:?}",
                    s.publisher_identity
                );
            }
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no keyframe reached the late joiner: {r:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let plis_after = metric(&cluster.metrics(0).await, "veet_sfu_plis_sent_total").unwrap_or(0.0);
    assert!(
        plis_after >= plis_before + 3.0,
        "PLIs sent went {plis_before} → {plis_after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_rooms_on_one_node_never_cross() {
    let _serial = SERIAL.lock().await;
    veet_tests::init_tracing();
    let cluster = Cluster::start(1).await;
    let a1 = join(&cluster, "room-a", "a1").await;
    let a2 = join(&cluster, "room-a", "a2").await;
    let b1 = join(&cluster, "room-b", "b1").await;
    let b2 = join(&cluster, "room-b", "b2").await;
    for (p, who) in [(&a1, "a1"), (&a2, "a2"), (&b1, "b1"), (&b2, "b2")] {
        wait_tracks(p, 2, who).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (p, who, room) in [
        (&a1, "a1", ["a1", "a2"]),
        (&a2, "a2", ["a1", "a2"]),
        (&b1, "b1", ["b1", "b2"]),
        (&b2, "b2", ["b1", "b2"]),
    ] {
        let r = p.received();
        assert_eq!(
            r.len(),
            2,
            "{who} should get exactly its room-mate's 2 tracks: {r:#?}"
        );
        let mate: Vec<&str> = room.into_iter().filter(|n| *n != who).collect();
        assert_clean(&r, who, &mate);
    }
    let routing = Routing::redis(&cluster.redis.url()).await.expect("redis");
    let node_a = routing
        .rooms
        .room("room-a")
        .await
        .unwrap()
        .and_then(|r| r.node);
    let node_b = routing
        .rooms
        .room("room-b")
        .await
        .unwrap()
        .and_then(|r| r.node);
    assert_eq!(node_a.as_deref(), Some("node-0"));
    assert_eq!(
        node_b.as_deref(),
        Some("node-0"),
        "both rooms share the one node"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leaving_or_vanishing_peers_are_gone_and_the_empty_room_is_freed() {
    let _serial = SERIAL.lock().await;
    veet_tests::init_tracing();
    let cluster = Cluster::start(1).await;
    let x = join(&cluster, "leave-room", "x").await;
    let y = join(&cluster, "leave-room", "y").await;
    let z = join(&cluster, "leave-room", "z").await;
    wait_tracks(&x, 4, "x").await;
    let (y_id, z_id) = (y.participant.id.clone(), z.participant.id.clone());

    let left = |id: String| move |f: &ServerFrame| matches!(f, ServerFrame::ParticipantLeft { participant_id } if *participant_id == id);
    let x_sees_y = x.wait_frame(Duration::from_secs(10), left(y_id.clone()));
    let z_sees_y = z.wait_frame(Duration::from_secs(10), left(y_id.clone()));
    let y_unpublished = x.wait_frame(Duration::from_secs(10), {
        let y_id = y_id.clone();
        move |f| matches!(f, ServerFrame::TrackUnpublished { participant_id, .. } if *participant_id == y_id)
    });
    y.leave().await;
    x_sees_y.await.expect("x is told y left");
    z_sees_y.await.expect("z is told y left");
    y_unpublished.await.expect("x is told y's tracks are gone");
    // Nothing of y reaches x any more.
    tokio::time::sleep(Duration::from_millis(500)).await;
    x.reset_received();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let from_y: u64 = x
        .received()
        .values()
        .filter(|s| s.publisher_identity == "y")
        .map(|s| s.packets)
        .sum();
    assert_eq!(from_y, 0, "y's media still reaches x after y left");

    // z vanishes: socket closed, no `leave`.
    let x_sees_z = x.wait_frame(Duration::from_secs(15), left(z_id.clone()));
    z.vanish().await;
    x_sees_z.await.expect("x is told z vanished");

    let routing = Routing::redis(&cluster.redis.url()).await.expect("redis");
    assert!(
        routing.rooms.room("leave-room").await.unwrap().is_some(),
        "x is still in the room"
    );
    x.leave().await;
    veet_tests::eventually("empty room freed in Redis", || async {
        routing
            .rooms
            .room("leave-room")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    veet_tests::eventually("node hosts no room", || async {
        (metric(&cluster.metrics(0).await, "veet_sfu_rooms") == Some(0.0)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rooms_go_to_the_less_loaded_node_and_a_dead_node_is_dropped() {
    let _serial = SERIAL.lock().await;
    veet_tests::init_tracing();
    let mut cluster = Cluster::start(2).await;
    let routing = Routing::redis(&cluster.redis.url()).await.expect("redis");
    let node_of = |room: &'static str| {
        let routing = routing.clone();
        async move { routing.rooms.room(room).await.unwrap().and_then(|r| r.node) }
    };
    let _r1a = join(&cluster, "busy-room", "r1a").await;
    let _r1b = join(&cluster, "busy-room", "r1b").await;
    let busy = node_of("busy-room").await.expect("busy-room has a node");
    // Let both nodes heart-beat their real load.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let _r2 = join(&cluster, "second-room", "r2").await;
    let second = node_of("second-room")
        .await
        .expect("second-room has a node");
    assert_ne!(second, busy, "the new room must go to the less-loaded node");

    // Kill the second room's node outright; the registry forgets it after its TTL.
    let idx = cluster
        .nodes
        .iter()
        .position(|n| n.id == second)
        .expect("node process");
    cluster.nodes[idx].process.kill();
    veet_tests::eventually("dead node dropped from the registry", || async {
        let live = routing.nodes.live_nodes().await.unwrap();
        (live.len() == 1 && live[0].id == busy).then_some(())
    })
    .await;
    let r3 = join(&cluster, "third-room", "r3").await;
    assert_eq!(
        node_of("third-room").await.as_deref(),
        Some(busy.as_str()),
        "new rooms go to the survivor"
    );
    drop(r3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_subscriber_does_not_slow_the_others() {
    let _serial = SERIAL.lock().await;
    veet_tests::init_tracing();
    let cluster = Cluster::start(1).await;
    let names = ["s1", "s2", "s3"];
    let mut peers = Vec::new();
    for n in names {
        peers.push(join(&cluster, "stall-room", n).await);
    }
    for (p, n) in peers.iter().zip(names) {
        wait_tracks(p, 4, n).await;
    }
    peers[2].set_reading(false);
    for p in &peers[..2] {
        p.reset_received();
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    for (p, n) in peers[..2].iter().zip(names) {
        let r = p.received();
        let allowed: Vec<&str> = names.into_iter().filter(|x| *x != n).collect();
        assert_clean(&r, n, &allowed);
        // Full rate: ≥ 4.5 s of 50 audio / 180 video packets per second.
        for s in r.values() {
            let floor = if s.video { 180 * 9 / 2 } else { 50 * 9 / 2 };
            assert!(
                s.packets >= floor,
                "{n}: only {} packets from {} while s3 stalled",
                s.packets,
                s.publisher_identity
            );
        }
    }
    // The stalled subscriber is still served once it reads again.
    peers[2].set_reading(true);
    peers[2].reset_received();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        peers[2].received().values().all(|s| s.packets > 0),
        "s3 receives again after resuming"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_count_what_the_node_forwards() {
    let _serial = SERIAL.lock().await;
    veet_tests::init_tracing();
    let cluster = Cluster::start(1).await;
    let m1 = join(&cluster, "metrics-room", "m1").await;
    let m2 = join(&cluster, "metrics-room", "m2").await;
    wait_tracks(&m1, 2, "m1").await;
    wait_tracks(&m2, 2, "m2").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let text = cluster.metrics(0).await;
    let get = |name: &str| {
        metric(&text, name).unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
    };
    assert_eq!(get("veet_sfu_rooms"), 1.0);
    assert_eq!(get("veet_sfu_participants"), 2.0);
    assert_eq!(get("veet_sfu_tracks"), 4.0);
    assert!(get("veet_sfu_packets_forwarded_total") > 100.0);
    assert!(get("veet_sfu_bytes_forwarded_total") > 100_000.0);
    assert!(
        get("veet_sfu_plis_sent_total") >= 2.0,
        "a PLI per new video subscription"
    );
    get("veet_sfu_nacks_received_total");
    get("veet_sfu_packets_dropped_total");
    get("veet_sfu_keyframe_requests_received_total");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_the_node() {
    let _serial = SERIAL.lock().await;
    veet_tests::init_tracing();
    let mut cluster = Cluster::start(1).await;
    let d1 = join(&cluster, "drain-room", "d1").await;
    let closed = d1.wait_frame(Duration::from_secs(10), |f| {
        matches!(
            f,
            ServerFrame::RoomClosed {
                reason: CloseReason::NodeDraining
            }
        )
    });
    let pid = cluster.nodes[0].process.id();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    closed.await.expect("clients are told the node is draining");
    veet_tests::eventually("node exits after draining", || {
        let running = cluster.nodes[0].process.is_running();
        async move { (!running).then_some(()) }
    })
    .await;
    let routing = Routing::redis(&cluster.redis.url()).await.expect("redis");
    assert!(
        routing.nodes.live_nodes().await.unwrap().is_empty(),
        "a drained node deregisters"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_subscriber_that_cannot_decode_a_codec_is_told_and_gets_the_rest() {
    let _serial = SERIAL.lock().await;
    veet_tests::init_tracing();
    let cluster = Cluster::start(1).await;
    let sender = join(&cluster, "codec-room", "vp8-sender").await;
    let mut options = PeerOptions::new(cluster.ws_url(), cluster.token("codec-room", "no-vp8"));
    options.refuse_codec = Some("VP8".into());
    options.publish_video = false;
    let told = {
        let peer = SyntheticPeer::join(options).await.expect("no-vp8 joins");
        let frame = peer
            .wait_frame(Duration::from_secs(20), |f| {
                matches!(f, ServerFrame::TrackUnsupported { .. })
            })
            .await
            .expect("a track_unsupported frame, not silence");
        (peer, frame)
    };
    let (refuser, frame) = told;
    let ServerFrame::TrackUnsupported {
        participant_id,
        codec,
        message,
        ..
    } = frame
    else {
        unreachable!()
    };
    assert_eq!(participant_id, sender.participant.id);
    assert!(codec.eq_ignore_ascii_case("video/VP8"), "{codec}");
    assert!(message.contains("VP8"), "{message}");
    // The sender's audio still flows to it, and the sender gets the refuser's audio.
    let r = wait_tracks(&refuser, 1, "no-vp8").await;
    assert!(
        r.values().all(|s| !s.video),
        "no video track is left to the refuser: {r:#?}"
    );
    wait_tracks(&sender, 1, "vp8-sender").await;
}
