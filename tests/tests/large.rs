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
    wait_layer_within(peer, track, layer, Duration::from_secs(20)).await
}

async fn wait_layer_within(
    peer: &SyntheticPeer,
    track: &str,
    layer: u8,
    within: Duration,
) -> veet::peer::receiver::LayerStats {
    let deadline = Instant::now() + within;
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

/// A simulcast publisher (audio and q/h/f video) and a viewer that publishes nothing, in
/// `room`.
async fn simulcast_pair(cluster: &Cluster, room: &str) -> (SyntheticPeer, SyntheticPeer) {
    let mut options = PeerOptions::new(cluster.ws_url(), cluster.token(room, "pub"));
    options.simulcast = true;
    let publisher = SyntheticPeer::join(options).await.expect("pub joins");
    let mut options = PeerOptions::new(cluster.ws_url(), cluster.token(room, "sub"));
    options.publish_audio = false;
    options.publish_video = false;
    let viewer = SyntheticPeer::join(options).await.expect("sub joins");
    (publisher, viewer)
}

/// Waits until `viewer` receives `track` at some simulcast layer.
async fn wait_simulcast(viewer: &SyntheticPeer, track: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while viewer
        .received()
        .get(track)
        .and_then(|s| s.layers.layer)
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the simulcast track {track} never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn layer_switches_follow_the_view_at_keyframes_with_continuous_numbering() {
    veet_tests::init_tracing();
    let cluster = Cluster::start(1).await;
    let (publisher, viewer) = simulcast_pair(&cluster, "layers").await;
    let track = "video-pub";

    // The track arrives (at the default layer), then a thumbnail gets q, a pinned tile f, and
    // a thumbnail again q.
    wait_simulcast(&viewer, track).await;
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

/// Waits until `peer` receives `track` at `layer` or below; returns how long that took.
async fn wait_layer_at_most(peer: &SyntheticPeer, track: &str, layer: u8) -> Duration {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(30);
    loop {
        let now = peer.received().get(track).and_then(|s| s.layers.layer);
        if now.is_some_and(|l| l <= layer) {
            return started.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "{track} stayed at layer {now:?} on a narrow link"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_narrow_downlink_steps_down_a_layer_keeps_audio_and_recovers() {
    veet_tests::init_tracing();
    let cluster = Cluster::start(1).await;
    let (publisher, viewer) = simulcast_pair(&cluster, "narrow").await;
    let (video, audio) = ("video-pub", "audio-pub");

    // Pinned, it gets the top layer (≈ 1.1 Mbit/s, with ≈ 0.55 for the middle one).
    wait_simulcast(&viewer, video).await;
    show(&viewer, video, 1280, 720, true).await;
    wait_layer(&viewer, video, 2).await;

    // An 800 kbit/s link: the node sees the loss in the receiver reports and steps down.
    viewer.set_downlink_limit(Some(800_000));
    let took = wait_layer_at_most(&viewer, video, 1).await;
    println!("stepped down {} ms after the limit", took.as_millis());

    // Settled: audio flows, the link is no longer overrun, and the top layer is retried
    // at most once in 12 s.
    tokio::time::sleep(Duration::from_secs(2)).await;
    viewer.reset_received();
    let dropped = viewer.downlink_dropped();
    tokio::time::sleep(Duration::from_secs(12)).await;
    let stats = viewer.received();
    let a = stats.get(audio).expect("audio received");
    let v = stats.get(video).expect("video received");
    let dropped = viewer.downlink_dropped() - dropped;
    println!(
        "limited 12 s: audio {} packets, loss {:.1} %, longest gap {} ms; video {} packets {:?} by layer, {} switches; {dropped} packets dropped by the link",
        a.packets,
        a.loss() * 100.0,
        a.max_gap.as_millis(),
        v.packets,
        v.layers.packets_per_layer,
        v.layers.switches,
    );
    assert!(a.packets > 400, "audio stopped: {} packets", a.packets);
    assert!(a.loss() < 0.05, "audio lost {:.1} %", a.loss() * 100.0);
    assert!(
        dropped * 10 < a.packets + v.packets,
        "the link still drops {dropped} packets"
    );
    assert!(
        v.layers.switches <= 2,
        "the layer bounced {} times",
        v.layers.switches
    );

    // The limit is lifted: back to the top layer.
    viewer.set_downlink_limit(None);
    let lifted = Instant::now();
    // The last rate that failed is not retried for up to 24 s.
    wait_layer_within(&viewer, video, 2, Duration::from_secs(60)).await;
    println!(
        "back at the top layer {} ms after the limit was lifted",
        lifted.elapsed().as_millis()
    );
    drop(publisher);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_muted_microphones_silence_is_not_forwarded_and_numbering_stays_continuous() {
    veet_tests::init_tracing();
    let cluster = Cluster::start(1).await;
    let ann = join(&cluster, "muted", "ann").await;
    let ben = join(&cluster, "muted", "ben").await;
    let audio = "audio-ann";
    let deadline = Instant::now() + Duration::from_secs(20);
    while ben.received().get(audio).is_none_or(|s| s.packets < 20) {
        assert!(Instant::now() < deadline, "Ann's audio never arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Muted, Ann's client sends digital silence: Ben gets a packet every 400 ms or so.
    ann.set_audio_level(SILENT);
    tokio::time::sleep(Duration::from_millis(500)).await;
    ben.reset_received();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let muted = ben.received()[audio].clone();
    let dropped =
        veet_tests::cluster::metric(&cluster.metrics(0).await, "veet_sfu_silence_dropped_total")
            .unwrap_or(0.0);
    println!(
        "muted 3 s: {} packets forwarded, {dropped} dropped in all, {} RTP gaps",
        muted.packets, muted.rtp_seq_gaps
    );
    assert!(
        (3..=20).contains(&muted.packets),
        "{} packets of silence forwarded in 3 s",
        muted.packets
    );
    assert!(dropped >= 100.0, "{dropped} silent packets dropped");
    assert_eq!(muted.rtp_seq_gaps, 0, "dropping silence left gaps");
    assert_eq!(muted.loss(), 0.0, "dropped silence counted as loss");

    // Unmuted (talking quietly), everything flows again, numbered on without a gap.
    ann.set_audio_level(veet::peer::QUIET);
    tokio::time::sleep(Duration::from_millis(300)).await;
    ben.reset_received();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let open = ben.received()[audio].clone();
    assert!(open.packets >= 90, "{} packets in 2 s", open.packets);
    assert_eq!(open.rtp_seq_gaps, 0);
    assert!(open.loss() < 0.02, "{}", open.loss());
    // Video was never involved.
    assert!(!ben.received().contains_key("video-ann"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audio_levels_reach_subscribers_under_their_own_extension_ids() {
    veet_tests::init_tracing();
    let cluster = Cluster::start(1).await;
    // Ann's client numbers the audio level extension 14, unlike the node's own choice.
    let mut options = PeerOptions::new(cluster.ws_url(), cluster.token("ids", "ann"));
    options.publish_video = false;
    options.audio_level_id = Some(14);
    let ann = SyntheticPeer::join(options).await.expect("ann joins");
    let ben = join(&cluster, "ids", "ben").await;
    ann.set_audio_level(LOUD);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let level = ben.received().get("audio-ann").and_then(|s| s.audio_level);
        if level == Some(LOUD) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Ann's level never arrived under Ben's id {:?}: {level:?}",
            ben.subscriber_audio_level_id()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let id = ben
        .subscriber_audio_level_id()
        .expect("Ben negotiated audio levels");
    println!("audio level: id 14 from Ann, id {id} to Ben");
    assert_ne!(id, 14, "the ids must differ for this test to mean anything");
}
