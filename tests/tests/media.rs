//! The media plane end to end: real processes (redis-server, the signaling emulator, SFU
//! nodes) and synthetic WebRTC participants (webrtc-rs) publishing recognisable audio and
//! video.

use std::collections::HashMap;
use std::time::Duration;

use veet::peer::{PeerOptions, SyntheticPeer, TrackStats};
use veet_tests::cluster::Cluster;

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
