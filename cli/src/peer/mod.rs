//! A synthetic participant: joins through the WebSocket signaling like the web client, and
//! publishes audio and video over WebRTC (webrtc-rs) with recognisable payloads. Used by the
//! integration tests, `veet loadtest` and the failover benchmark.
//!
//! - [`payload`]: what every RTP packet carries (sequence number, send time, identity), so a
//!   receiver can count loss, latency and gaps. A video packet is flagged as a keyframe at the
//!   start of each connection and after each PLI the publisher receives, so a receiver can
//!   tell when the SFU's keyframe request reached the publisher.
//! - `publisher`: the logical tracks, which outlive peer connections.
//! - [`receiver`]: per-track stats of what arrived ([`TrackStats`]).
//! - [`janus`]: the same participant against Janus's VideoRoom, for side-by-side benchmarks.
//! - [`link`]: a rate limit on what the peer receives, to test congestion control.
//! - `signaling`: the two peer connections, the SFU's offers, answers and candidates, and
//!   moves to another node (`migrate`): new connections are built while the old ones keep
//!   carrying media, and the old ones are closed once the new ones do.

pub mod janus;
pub mod link;
pub mod payload;
mod publisher;
pub mod receiver;
mod signaling;
mod simulcast;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use tokio::sync::{broadcast, mpsc};
use tokio_tungstenite::tungstenite::Message;
use veet_core::protocol::{ClientFrame, ParticipantInfo, ServerFrame};
use veet_sfu::media::PeerFactory;
use veet_sfu::metrics::Metrics;
use veet_sfu::SfuConfig;

pub use payload::{decode_payload, encode_payload, Payload};
pub use receiver::TrackStats;
pub use signaling::{LINGER, MOVE_TIMEOUT};

use link::LinkLimit;
use publisher::Publisher;
use receiver::Received;
use signaling::{frame_text, Connections, Negotiator, Pair};

/// The audio level a synthetic participant starts with: an open microphone in a quiet room
/// (−96 dBov), not speaking, not muted (the node drops digital silence, level 127).
pub const QUIET: u8 = 96;

/// What a synthetic participant sends.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// `ws://host:port/ws`
    pub ws_url: String,
    pub token: String,
    pub publish_audio: bool,
    pub publish_video: bool,
    /// Video bitrate; packets of `packet_size` bytes at 30 frames/s.
    pub video_bitrate_bps: u64,
    pub packet_size: usize,
    /// A codec (e.g. `VP8`) this participant's subscriber answers leave out, as a browser
    /// that cannot decode it would.
    pub refuse_codec: Option<String>,
    /// Publish video as three simulcast layers (`q`/`h`/`f`, VP8-framed).
    pub simulcast: bool,
    /// Offer the audio level extension under this id, as a browser numbering its extensions
    /// differently would (the node must map it to each subscriber's id).
    pub audio_level_id: Option<u8>,
}

impl PeerOptions {
    /// Audio at 50 packets/s and video at 1.5 Mbit/s.
    pub fn new(ws_url: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            ws_url: ws_url.into(),
            token: token.into(),
            publish_audio: true,
            publish_video: true,
            video_bitrate_bps: 1_500_000,
            packet_size: 1100,
            refuse_codec: None,
            simulcast: false,
            audio_level_id: None,
        }
    }
}

/// A synthetic participant in a room.
pub struct SyntheticPeer {
    pub participant: ParticipantInfo,
    pub others: Vec<ParticipantInfo>,
    frames: broadcast::Sender<ServerFrame>,
    out: mpsc::Sender<Message>,
    received: Arc<Received>,
    sent_packets: Arc<AtomicU64>,
    audio_level: Arc<AtomicU8>,
    downlink: Arc<LinkLimit>,
    negotiator: Arc<Negotiator>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pub published_track_ids: Vec<String>,
    /// When the WebSocket connect began.
    opened_at: Instant,
}

impl SyntheticPeer {
    /// Connects, joins and (per `options`) starts publishing. Returns once `joined` arrived.
    pub async fn join(options: PeerOptions) -> anyhow::Result<Self> {
        let opened_at = Instant::now();
        let url = format!("{}?token={}", options.ws_url, options.token);
        let (socket, _) = tokio_tungstenite::connect_async(&url)
            .await
            .with_context(|| format!("connecting to {}", options.ws_url))?;
        let (mut sink, mut stream) = socket.split();
        let (out, mut out_rx) = mpsc::channel::<Message>(1024);
        let (frames, _) = broadcast::channel::<ServerFrame>(4096);
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                let close = matches!(m, Message::Close(_));
                if sink.send(m).await.is_err() || close {
                    break;
                }
            }
        }));
        // Both listen from before `join`: the node's first offer may follow `joined` closely.
        let mut first = frames.subscribe();
        let signaling_rx = frames.subscribe();
        let frames_tx = frames.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(m)) = stream.next().await {
                if let Message::Text(t) = m {
                    if let Ok(f) = serde_json::from_str::<ServerFrame>(t.as_str()) {
                        let _ = frames_tx.send(f);
                    }
                }
            }
        }));
        out.send(frame_text(&ClientFrame::Join {})).await?;
        let (participant, others) = loop {
            match tokio::time::timeout(Duration::from_secs(10), first.recv())
                .await
                .context("no `joined` within 10 s")??
            {
                ServerFrame::Joined {
                    participant,
                    participants,
                    ..
                } => break (participant, participants),
                ServerFrame::Error { code, message, .. } => {
                    bail!("join refused: {code:?}: {message}")
                }
                _ => continue,
            }
        };
        drop(first);
        let received = Arc::new(Received::new());
        let sent_packets = Arc::new(AtomicU64::new(0));
        let audio_level = Arc::new(AtomicU8::new(QUIET));
        let publisher = Publisher::new(
            &participant.identity,
            &options,
            sent_packets.clone(),
            audio_level.clone(),
        )
        .map(Arc::new);
        let downlink = Arc::new(LinkLimit::default());
        let (track_tx, track_rx) = mpsc::channel(64);
        tasks.push(tokio::spawn(receiver::receive_tracks(
            track_rx,
            received.clone(),
        )));
        let negotiator = Arc::new(Negotiator {
            factory: Arc::new(
                PeerFactory::new(
                    Arc::new(SfuConfig::loopback()),
                    Arc::new(Metrics::default()),
                )?
                .with_interceptors(LinkLimit::hook(downlink.clone())),
            ),
            out: out.clone(),
            publisher: publisher.clone(),
            received: received.clone(),
            conns: Arc::new(Mutex::new(Connections {
                current: Pair::new(0),
                retiring: Vec::new(),
            })),
            generation: Arc::new(AtomicU64::new(0)),
            migrations: Arc::new(AtomicU64::new(0)),
            tracks: track_tx,
            watcher: Mutex::new(None),
            refuse_codec: options.refuse_codec.clone(),
            audio_level_id: options.audio_level_id,
        });
        negotiator.open_publisher().await?;
        tasks.push(tokio::spawn(negotiator.clone().run(signaling_rx)));
        let published_track_ids = publisher.as_ref().map_or_else(Vec::new, |p| p.track_ids());
        if let Some(p) = &publisher {
            tasks.extend(p.spawn());
        }
        Ok(Self {
            participant,
            others,
            frames,
            out,
            received,
            sent_packets,
            audio_level,
            downlink,
            negotiator,
            tasks,
            published_track_ids,
            opened_at,
        })
    }

    /// A snapshot of what each received track delivered, by track id (the publisher's track
    /// id, which a move to another node keeps: see [`receiver`]).
    pub fn received(&self) -> HashMap<String, TrackStats> {
        self.received.snapshot()
    }

    /// Forgets what was received so far (to measure a window): see [`TrackStats::reset`].
    pub fn reset_received(&self) {
        self.received.reset();
    }

    /// From the WebSocket connect to the first remote media packet (on the first connection
    /// that delivered any); `None` until one arrived.
    pub fn time_to_first_media(&self) -> Option<Duration> {
        self.received
            .first_packet_at()
            .map(|t| t.saturating_duration_since(self.opened_at))
    }

    /// The longest gap between two packets of any received track since the last reset,
    /// counting a gap still open now; zero when nothing was received.
    pub fn max_gap(&self) -> Duration {
        let now = Instant::now();
        self.received
            .lock()
            .values()
            .map(|s| s.gap_until(now))
            .max()
            .unwrap_or_default()
    }

    /// How many `migrate` frames this participant has acted on.
    pub fn migrations(&self) -> u64 {
        self.negotiator.migrations.load(Ordering::Relaxed)
    }

    /// The generation of the current connections: 0 for the first, one more per move.
    pub fn generation(&self) -> u64 {
        self.negotiator.generation.load(Ordering::Relaxed)
    }

    /// Whether a move is under way: older connections are still open.
    pub fn moving(&self) -> bool {
        !self
            .negotiator
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retiring
            .is_empty()
    }

    /// Waits until at least `migrations` moves happened and the latest is finished (the old
    /// connections are closed).
    pub async fn wait_moved(&self, migrations: u64, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        while self.migrations() < migrations || self.moving() {
            if Instant::now() > deadline {
                bail!(
                    "{}: {} of {migrations} moves, moving: {}, after {timeout:?}",
                    self.participant.identity,
                    self.migrations(),
                    self.moving()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Sets the RFC 6464 audio level (0 loudest … 127 digital silence, as a muted microphone
    /// sends; [`QUIET`] at the start) its audio carries.
    pub fn set_audio_level(&self, level: u8) {
        self.audio_level.store(level.min(127), Ordering::Relaxed);
    }

    /// RTP packets this peer has sent (each once, however many connections it went out on).
    pub fn sent_packets(&self) -> u64 {
        self.sent_packets.load(Ordering::Relaxed)
    }

    /// Limits what this peer receives to `bps` bits per second (the excess is dropped, as on
    /// a narrow link), or lifts the limit.
    pub fn set_downlink_limit(&self, bps: Option<u64>) {
        self.downlink.set(bps);
    }

    /// The id its subscriber connection negotiated for the audio level extension.
    pub fn subscriber_audio_level_id(&self) -> Option<u8> {
        Some(self.received.audio_level_id.load(Ordering::Relaxed)).filter(|&id| id != 0)
    }

    /// RTP packets the downlink limit dropped so far.
    pub fn downlink_dropped(&self) -> u64 {
        self.downlink.dropped()
    }

    /// Stops (or resumes) reading received media, as a stalled client would.
    pub fn set_reading(&self, reading: bool) {
        self.received.reading.send_replace(reading);
    }

    /// The next server frame matching `pred`, within `timeout`.
    ///
    /// Listening starts when this is called, not when the future is first polled, so a
    /// frame caused by something done in between is not missed.
    pub fn wait_frame(
        &self,
        timeout: Duration,
        pred: impl Fn(&ServerFrame) -> bool,
    ) -> impl std::future::Future<Output = anyhow::Result<ServerFrame>> {
        let mut rx = self.frames.subscribe();
        async move {
            tokio::time::timeout(timeout, async {
                loop {
                    match rx.recv().await {
                        Ok(f) if pred(&f) => return Ok(f),
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(e) => bail!("socket closed: {e}"),
                    }
                }
            })
            .await
            .context("timed out waiting for a frame")?
        }
    }

    /// A receiver of every server frame from now on.
    pub fn frames(&self) -> broadcast::Receiver<ServerFrame> {
        self.frames.subscribe()
    }

    /// Sends a raw client frame.
    pub async fn send(&self, frame: &ClientFrame) -> anyhow::Result<()> {
        self.out.send(frame_text(frame)).await?;
        Ok(())
    }

    /// Leaves politely and closes everything.
    pub async fn leave(self) {
        let _ = self.out.send(frame_text(&ClientFrame::Leave {})).await;
        let _ = self.out.send(Message::Close(None)).await;
        self.shutdown().await;
    }

    /// Drops the socket and media without a `leave`, as a crashed client would.
    pub async fn vanish(self) {
        let _ = self.out.send(Message::Close(None)).await;
        self.shutdown().await;
    }

    async fn shutdown(mut self) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.negotiator.close_all().await;
    }
}

impl Drop for SyntheticPeer {
    fn drop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.negotiator.stop_watcher();
    }
}
