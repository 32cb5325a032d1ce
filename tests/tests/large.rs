//! Large-meeting features end to end with synthetic participants (real signaling emulator,
//! Redis and SFU node): the active speaker, from the audio levels publishers send.

use std::time::{Duration, Instant};

use veet::peer::{PeerOptions, SyntheticPeer};
use veet_core::protocol::{ClientFrame, ServerFrame, TrackView};
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

/// Waits until `peer` receives `track` at `layer`; returns its layer stats then.
async fn wait_layer(
    peer: &SyntheticPeer,
    track: &str,
    layer: u8,
) -> veet::peer::receiver::LayerStats {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stats = peer.received().get(track).map(|s| s.layers.clone());
        if let Some(l) = &stats {
            if l.layer == Some(layer) {
                return l.clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "{track} never arrived at layer {layer}: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn show(peer: &SyntheticPeer, track: &str, width: u32, height: u32, pinned: bool) {
    let view = ClientFrame::View {
        tracks: vec![TrackView {
            track_id: track.to_owned(),
            width,
            height,
            pinned,
        }],
    };
    peer.send(&view).await.expect("view sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn layer_switches_follow_the_view_at_keyframes_with_continuous_numbering() {
    veet_tests::init_tracing();
    let cluster = Cluster::start(1).await;
    let mut options = PeerOptions::new(cluster.ws_url(), cluster.token("layers", "pub"));
    options.simulcast = true;
    let publisher = SyntheticPeer::join(options).await.expect("pub joins");
    let mut options = PeerOptions::new(cluster.ws_url(), cluster.token("layers", "sub"));
    options.publish_audio = false;
    options.publish_video = false;
    let viewer = SyntheticPeer::join(options).await.expect("sub joins");
    let track = "video-pub";

    // The track arrives (at the default layer), then a thumbnail gets q, a pinned tile f, and
    // a thumbnail again q.
    let deadline = Instant::now() + Duration::from_secs(20);
    while viewer
        .received()
        .get(track)
        .and_then(|s| s.layers.layer)
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the simulcast track never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    show(&viewer, track, 320, 180, false).await;
    wait_layer(&viewer, track, 0).await;
    let switched = Instant::now();
    show(&viewer, track, 1280, 720, true).await;
    wait_layer(&viewer, track, 2).await;
    println!("q → f took {} ms", switched.elapsed().as_millis());
    show(&viewer, track, 320, 180, false).await;
    let l = wait_layer(&viewer, track, 0).await;
    // Some more packets after the last switch, then the verdict.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let l = viewer.received().get(track).map_or(l, |s| s.layers.clone());
    println!("{l:?}");
    assert!(l.switches >= 2, "{l:?}");
    assert_eq!(
        l.switches_off_keyframe, 0,
        "a switch started mid-frame: {l:?}"
    );
    assert_eq!(l.seq_gaps, 0, "sequence numbers jumped: {l:?}");
    assert_eq!(l.timestamp_regressions, 0, "timestamps went back: {l:?}");
    assert_eq!(l.picture_id_gaps, 0, "picture ids jumped: {l:?}");
    drop(publisher);
}
