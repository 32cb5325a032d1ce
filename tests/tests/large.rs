//! Large-meeting features end to end with synthetic participants (real signaling emulator,
//! Redis and SFU node): the active speaker, from the audio levels publishers send.

use std::time::{Duration, Instant};

use veet::peer::{PeerOptions, SyntheticPeer};
use veet_core::protocol::ServerFrame;
use veet_tests::cluster::Cluster;

/// RFC 6464 levels: −20 dBov (talking), −23 dBov (talking a bit softer), silence.
const LOUD: u8 = 20;
const SIMILAR: u8 = 23;
const SILENT: u8 = 127;

async fn join(cluster: &Cluster, room: &str, identity: &str) -> SyntheticPeer {
    let mut options = PeerOptions::new(cluster.ws_url(), cluster.token(room, identity));
    options.publish_video = false;
    SyntheticPeer::join(options)
        .await
        .unwrap_or_else(|e| panic!("{identity} could not join: {e:#}"))
}

/// The speakers (participant ids, loudest first) of each `active_speakers` frame `peer`
/// receives within `window`.
async fn announcements(peer: &SyntheticPeer, window: Duration) -> Vec<(Instant, Vec<String>)> {
    let mut frames = peer.frames();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(window, async {
        while let Ok(f) = frames.recv().await {
            if let ServerFrame::ActiveSpeakers { speakers } = f {
                out.push((
                    Instant::now(),
                    speakers.into_iter().map(|s| s.participant_id).collect(),
                ));
            }
        }
    })
    .await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_loudest_is_announced_quickly_and_the_announcement_does_not_flap() {
    veet_tests::init_tracing();
    let cluster = Cluster::start(1).await;
    let ann = join(&cluster, "speakers", "ann").await;
    let ben = join(&cluster, "speakers", "ben").await;
    let cat = join(&cluster, "speakers", "cat").await;
    // Everyone hears everyone before anyone talks.
    let deadline = Instant::now() + Duration::from_secs(20);
    while [&ann, &ben, &cat]
        .iter()
        .any(|p| p.received().values().filter(|s| s.packets > 0).count() < 2)
    {
        assert!(Instant::now() < deadline, "audio did not start flowing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Ann talks: Cat hears that she is the speaker.
    let first = cat.wait_frame(Duration::from_secs(5), |f| {
        matches!(f, ServerFrame::ActiveSpeakers { speakers } if speakers.first().map(|s| s.participant_id.as_str()) == Some(ann.participant.id.as_str()))
    });
    let started = Instant::now();
    ann.set_audio_level(LOUD);
    first.await.expect("Ann announced as the speaker");
    let took = started.elapsed();
    println!(
        "active speaker announced {} ms after Ann started talking",
        took.as_millis()
    );
    assert!(took < Duration::from_secs(2), "announced after {took:?}");

    // Ben joins in at almost the same level for 5 s: both are announced, and the order does
    // not swap back and forth.
    let watch = announcements(&cat, Duration::from_secs(5));
    ben.set_audio_level(SIMILAR);
    let seen = watch.await;
    let both = seen
        .iter()
        .position(|(_, ids)| ids.len() == 2)
        .unwrap_or_else(|| panic!("Ben was never announced next to Ann: {seen:?}"));
    let changes_after = seen.len() - both - 1;
    assert!(
        changes_after <= 1,
        "the announcement flapped {changes_after} times in 5 s: {seen:?}"
    );

    // Both stop: after the hold, no one is speaking.
    let silence = cat.wait_frame(
        Duration::from_secs(5),
        |f| matches!(f, ServerFrame::ActiveSpeakers { speakers } if speakers.is_empty()),
    );
    ann.set_audio_level(SILENT);
    ben.set_audio_level(SILENT);
    silence
        .await
        .expect("an empty announcement once both are quiet");
}
