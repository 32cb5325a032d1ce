//! Connection quality through a real SFU node and synthetic peers: the node is told (its
//! test fault) to drop 30 % of bob's packets as they arrive, like a lossy uplink, and the
//! room's `connection_quality` frames grade bob poor from the gaps in his sequence numbers,
//! while carol, whose packets all arrive, stays good.

use std::time::Duration;

use veet::peer::{PeerOptions, SyntheticPeer};
use veet_core::protocol::{ParticipantQuality, Quality, ServerFrame};
use veet_tests::cluster::{Cluster, ClusterOptions};

async fn peer(url: &str, token: String) -> SyntheticPeer {
    SyntheticPeer::join(PeerOptions::new(url, token))
        .await
        .expect("joining")
}

fn line<'a>(qualities: &'a [ParticipantQuality], id: &str) -> Option<&'a ParticipantQuality> {
    qualities.iter().find(|q| q.participant_id == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_participant_losing_packets_on_the_way_in_is_graded_poor() {
    veet_tests::init_tracing();
    let mut options = ClusterOptions::new(1);
    options
        .node_env
        .push(("VEET_SFU_FAULT_UPLINK_LOSS".into(), "bob=30".into()));
    let cluster = Cluster::start_with(options).await;
    let room = "cnq-loss-abc";
    let url = cluster.ws_url();
    let carol = peer(&url, cluster.token(room, "carol")).await;
    let bob_id;
    let poor = {
        let graded = carol.wait_frame(Duration::from_secs(30), |f| {
            matches!(f, ServerFrame::ConnectionQuality { qualities }
                if qualities.iter().any(|q| q.quality == Quality::Poor))
        });
        let bob = peer(&url, cluster.token(room, "bob")).await;
        bob_id = bob.participant.id.clone();
        // Bob hears it too: the frame goes to the whole room. It is sent once, on the change,
        // so listen before it can come (a grade needs 2 s of media).
        let told_bob = bob.wait_frame(Duration::from_secs(30), |f| {
            matches!(f, ServerFrame::ConnectionQuality { qualities }
                if qualities.iter().any(|q| q.quality == Quality::Poor))
        });
        let frame = graded
            .await
            .expect("carol hears that someone's connection is poor");
        (frame, told_bob.await.is_ok(), bob)
    };
    let (frame, bob_told, _bob) = poor;
    let ServerFrame::ConnectionQuality { qualities } = frame else {
        unreachable!()
    };
    let bob_line =
        line(&qualities, &bob_id).unwrap_or_else(|| panic!("no line for bob: {qualities:?}"));
    assert_eq!(bob_line.quality, Quality::Poor, "{qualities:?}");
    assert!(
        (15..=45).contains(&bob_line.uplink_loss_pct),
        "about 30 % of bob's packets were dropped: {bob_line:?}"
    );
    let carol_line = line(&qualities, &carol.participant.id);
    assert!(
        carol_line.is_none_or(|q| q.quality == Quality::Good && q.uplink_loss_pct < 2),
        "carol's packets all arrive: {carol_line:?}"
    );
    assert!(bob_told, "bob hears the room's qualities too");
}
