//! The participant's peer connections and the SFU's signaling for them, moves included.
//!
//! Connections come in *generations*: the publisher and subscriber connections to one node.
//! A `migrate` frame starts a new generation: a new publisher connection offering the same
//! logical tracks, and a new subscriber connection built when the new node's first offer
//! arrives. Every `offer`/`answer`/`candidate` from then on is for the new generation. The
//! old connections keep carrying media (make before break) until the new subscriber connection
//! delivers every track that was flowing when the move began and the new publisher connection
//! is up (or, after [`MOVE_TIMEOUT`], regardless); they are closed [`LINGER`] later, so that
//! the others, switching at their own pace, still get our media from the old node meanwhile.
//! A second `migrate` during a move restarts it: every older generation is retired together.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use veet_core::protocol::{ClientFrame, IceCandidate, PeerRole, ServerFrame, Signal};
use veet_sfu::media::{extension_id, PeerFactory, AUDIO_LEVEL_URI};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
};

use super::publisher::Publisher;
use super::receiver::Received;

/// The longest old connections are kept during a move.
pub const MOVE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long old connections stay open after the new ones carry media.
pub const LINGER: Duration = Duration::from_secs(1);
/// A track counts as flowing when a move begins if a packet arrived this recently.
const FLOWING: Duration = Duration::from_secs(2);

pub(super) fn frame_text(f: &ClientFrame) -> Message {
    Message::Text(serde_json::to_string(f).unwrap_or_default().into())
}

/// One generation's connections.
#[derive(Clone)]
pub(super) struct Pair {
    pub(super) generation: u64,
    pub(super) publisher: Option<Arc<dyn PeerConnection>>,
    publisher_state: Option<watch::Receiver<RTCPeerConnectionState>>,
    pub(super) subscriber: Option<Arc<dyn PeerConnection>>,
}

impl Pair {
    pub(super) fn new(generation: u64) -> Self {
        Self {
            generation,
            publisher: None,
            publisher_state: None,
            subscriber: None,
        }
    }

    fn publisher_connected(&self) -> bool {
        self.publisher_state
            .as_ref()
            .is_none_or(|s| *s.borrow() == RTCPeerConnectionState::Connected)
    }

    pub(super) async fn close(self) {
        for pc in [self.publisher, self.subscriber].into_iter().flatten() {
            let _ = pc.close().await;
        }
    }
}

/// The current generation and those being retired.
pub(super) struct Connections {
    pub(super) current: Pair,
    pub(super) retiring: Vec<Pair>,
}

/// Everything the signaling needs, shared with the move watchers.
pub(super) struct Negotiator {
    pub(super) factory: Arc<PeerFactory>,
    pub(super) out: mpsc::Sender<Message>,
    pub(super) publisher: Option<Arc<Publisher>>,
    pub(super) received: Arc<Received>,
    pub(super) conns: Arc<Mutex<Connections>>,
    /// The current generation, also read by connection callbacks (an older connection's ICE
    /// candidates are not sent: the server would take them for the new connection's).
    pub(super) generation: Arc<AtomicU64>,
    pub(super) migrations: Arc<AtomicU64>,
    pub(super) tracks: mpsc::Sender<(u64, Arc<dyn TrackRemote>)>,
    /// The task finishing the latest move.
    pub(super) watcher: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// A codec left out of subscriber answers (see `PeerOptions::refuse_codec`).
    pub(super) refuse_codec: Option<String>,
    /// The id publisher offers give the audio level extension (see
    /// `PeerOptions::audio_level_id`).
    pub(super) audio_level_id: Option<u8>,
}

struct ClientEvents {
    role: PeerRole,
    generation: u64,
    current: Arc<AtomicU64>,
    out: mpsc::Sender<Message>,
    tracks: Option<mpsc::Sender<(u64, Arc<dyn TrackRemote>)>>,
    state: watch::Sender<RTCPeerConnectionState>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for ClientEvents {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if self.current.load(Ordering::Relaxed) != self.generation {
            return;
        }
        let Ok(init) = event.candidate.to_json() else {
            return;
        };
        let f = ClientFrame::Signal {
            role: self.role,
            signal: Signal::Candidate {
                candidate: IceCandidate {
                    candidate: init.candidate,
                    sdp_mid: init.sdp_mid,
                    sdp_mline_index: init.sdp_mline_index,
                },
            },
        };
        let _ = self.out.send(frame_text(&f)).await;
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        if let Some(tx) = &self.tracks {
            let _ = tx.send((self.generation, track)).await;
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.state.send_replace(state);
    }
}

impl Negotiator {
    fn conns(&self) -> std::sync::MutexGuard<'_, Connections> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn current(&self) -> Pair {
        self.conns().current.clone()
    }

    /// Builds the publisher connection of the current generation (when the participant
    /// publishes) and sends its offer.
    pub(super) async fn open_publisher(&self) -> anyhow::Result<()> {
        let Some(publisher) = &self.publisher else {
            return Ok(());
        };
        let generation = self.generation.load(Ordering::Relaxed);
        let (state_tx, state_rx) = watch::channel(RTCPeerConnectionState::New);
        let pc = self
            .factory
            .build(Arc::new(ClientEvents {
                role: PeerRole::Publisher,
                generation,
                current: self.generation.clone(),
                out: self.out.clone(),
                tracks: None,
                state: state_tx,
            }))
            .await?;
        {
            let mut c = self.conns();
            if c.current.generation != generation {
                // A newer move began meanwhile: this one is already obsolete.
                c.retiring.push(Pair {
                    publisher: Some(pc),
                    ..Pair::new(generation)
                });
                return Ok(());
            }
            c.current.publisher = Some(pc.clone());
            c.current.publisher_state = Some(state_rx.clone());
        }
        let tracks = publisher.attach(&pc, generation, state_rx).await?;
        let offer = pc.create_offer(None).await?;
        pc.set_local_description(offer).await?;
        let mut sdp = local_sdp(&pc).await;
        if let Some(id) = self.audio_level_id {
            sdp = with_extension_id(&sdp, AUDIO_LEVEL_URI, id);
        }
        self.send_signal(PeerRole::Publisher, Signal::Offer { sdp, tracks })
            .await
    }

    async fn send_signal(&self, role: PeerRole, signal: Signal) -> anyhow::Result<()> {
        self.out
            .send(frame_text(&ClientFrame::Signal { role, signal }))
            .await?;
        Ok(())
    }

    /// Handles the SFU's frames until the socket closes.
    pub(super) async fn run(self: Arc<Self>, mut rx: broadcast::Receiver<ServerFrame>) {
        let mut pending: HashMap<PeerRole, Vec<RTCIceCandidateInit>> = HashMap::new();
        loop {
            let f = match rx.recv().await {
                Ok(f) => f,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            };
            let result = match f {
                ServerFrame::Migrate { reason } => {
                    tracing::info!(?reason, "synthetic peer moving to another node");
                    pending.clear();
                    self.stop_watcher();
                    let generation = self.begin_move();
                    let r = self.open_publisher().await;
                    let w = tokio::spawn(self.clone().finish_move(generation));
                    *self.watcher.lock().unwrap_or_else(|e| e.into_inner()) = Some(w);
                    r
                }
                f => self.signal(f, &mut pending).await,
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "synthetic peer signaling failed");
            }
        }
        self.stop_watcher();
    }

    pub(super) fn stop_watcher(&self) {
        if let Some(w) = self
            .watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            w.abort();
        }
    }

    /// Retires the current generation and starts the next; its number.
    fn begin_move(&self) -> u64 {
        self.migrations.fetch_add(1, Ordering::Relaxed);
        let mut c = self.conns();
        let generation = c.current.generation + 1;
        let old = std::mem::replace(&mut c.current, Pair::new(generation));
        c.retiring.push(old);
        self.generation.store(generation, Ordering::Relaxed);
        generation
    }

    /// Waits until the move to `generation` carries media (or times out), then closes the
    /// older connections.
    async fn finish_move(self: Arc<Self>, generation: u64) {
        let started = Instant::now();
        // What was flowing when the move began must arrive on the new connection.
        let expected: Vec<String> = self
            .received
            .lock()
            .iter()
            .filter(|(_, s)| s.last_packet_at.is_some_and(|t| t.elapsed() < FLOWING))
            .map(|(id, _)| id.clone())
            .collect();
        loop {
            let moved = {
                let r = self.received.lock();
                expected.iter().all(|id| {
                    r.get(id)
                        .and_then(|s| s.connection)
                        .is_some_and(|c| c >= generation)
                })
            };
            if moved && self.current().publisher_connected() {
                break;
            }
            if started.elapsed() > MOVE_TIMEOUT {
                tracing::warn!(
                    generation,
                    "move did not complete in time; closing the old connections anyway"
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(LINGER).await;
        let old: Vec<Pair> = {
            let mut c = self.conns();
            if c.current.generation != generation {
                return; // a newer move retires these with its own
            }
            std::mem::take(&mut c.retiring)
        };
        if let Some(p) = &self.publisher {
            p.detach_before(generation);
        }
        // Not aborted by a newer move: these are no longer listed anywhere else.
        tokio::spawn(async move {
            for pair in old {
                pair.close().await;
            }
        });
    }

    /// An offer, answer or candidate for the current generation.
    async fn signal(
        &self,
        f: ServerFrame,
        pending: &mut HashMap<PeerRole, Vec<RTCIceCandidateInit>>,
    ) -> anyhow::Result<()> {
        match f {
            ServerFrame::Answer {
                role: PeerRole::Publisher,
                sdp,
            } => {
                if let Some(pc) = self.current().publisher {
                    pc.set_remote_description(RTCSessionDescription::answer(sdp)?)
                        .await?;
                    for c in pending.remove(&PeerRole::Publisher).unwrap_or_default() {
                        pc.add_ice_candidate(c).await?;
                    }
                }
            }
            ServerFrame::Offer {
                role: PeerRole::Subscriber,
                sdp,
            } => {
                let pc = match self.current().subscriber {
                    Some(pc) => pc,
                    None => self.open_subscriber().await?,
                };
                let level_id = extension_id(&sdp, AUDIO_LEVEL_URI).unwrap_or(0);
                self.received
                    .audio_level_id
                    .store(level_id, Ordering::Relaxed);
                pc.set_remote_description(RTCSessionDescription::offer(sdp)?)
                    .await?;
                for c in pending.remove(&PeerRole::Subscriber).unwrap_or_default() {
                    pc.add_ice_candidate(c).await?;
                }
                let answer = pc.create_answer(None).await?;
                pc.set_local_description(answer).await?;
                let mut sdp = local_sdp(&pc).await;
                if let Some(codec) = &self.refuse_codec {
                    sdp = without_codec(&sdp, codec);
                }
                self.send_signal(PeerRole::Subscriber, Signal::Answer { sdp })
                    .await?;
            }
            ServerFrame::Candidate { role, candidate } => {
                let init = RTCIceCandidateInit {
                    candidate: candidate.candidate,
                    sdp_mid: candidate.sdp_mid,
                    sdp_mline_index: candidate.sdp_mline_index,
                    ..Default::default()
                };
                let current = self.current();
                let pc = match role {
                    PeerRole::Publisher => current.publisher,
                    PeerRole::Subscriber => current.subscriber,
                };
                match pc {
                    Some(pc) if pc.remote_description().await.is_some() => {
                        pc.add_ice_candidate(init).await?
                    }
                    _ => pending.entry(role).or_default().push(init),
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Builds the subscriber connection of the current generation.
    async fn open_subscriber(&self) -> anyhow::Result<Arc<dyn PeerConnection>> {
        let generation = self.generation.load(Ordering::Relaxed);
        let pc = self
            .factory
            .build(Arc::new(ClientEvents {
                role: PeerRole::Subscriber,
                generation,
                current: self.generation.clone(),
                out: self.out.clone(),
                tracks: Some(self.tracks.clone()),
                state: watch::channel(RTCPeerConnectionState::New).0,
            }))
            .await?;
        self.conns().current.subscriber = Some(pc.clone());
        Ok(pc)
    }

    /// Closes every connection.
    pub(super) async fn close_all(&self) {
        self.stop_watcher();
        let pairs: Vec<Pair> = {
            let mut c = self.conns();
            let mut v = std::mem::take(&mut c.retiring);
            v.push(c.current.clone());
            c.current.publisher = None;
            c.current.subscriber = None;
            v
        };
        for p in pairs {
            p.close().await;
        }
    }
}

/// The connection's local SDP (empty before one is set).
async fn local_sdp(pc: &Arc<dyn PeerConnection>) -> String {
    pc.local_description()
        .await
        .map(|d| d.sdp)
        .unwrap_or_default()
}

/// `sdp` with the header extension `uri` renumbered to `id` (as another browser would number
/// it).
pub(super) fn with_extension_id(sdp: &str, uri: &str, id: u8) -> String {
    sdp.split("\r\n")
        .map(|line| match line.strip_prefix("a=extmap:") {
            Some(rest) if rest.split_whitespace().nth(1) == Some(uri) => {
                let (_, tail) = rest.split_once(' ').unwrap_or(("", rest));
                let direction = rest
                    .split_once(' ')
                    .and_then(|(n, _)| n.split_once('/'))
                    .map(|(_, d)| format!("/{d}"))
                    .unwrap_or_default();
                format!("a=extmap:{id}{direction} {tail}")
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// `sdp` without codec `name` (its payload types, and their RTX, fmtp and feedback lines),
/// as an answer from a receiver that cannot decode it.
pub(super) fn without_codec(sdp: &str, name: &str) -> String {
    let rtpmap = |line: &str| -> Option<(String, String)> {
        let rest = line.strip_prefix("a=rtpmap:")?;
        let (pt, enc) = rest.split_once(' ')?;
        Some((pt.to_owned(), enc.split('/').next()?.to_owned()))
    };
    let mut drop: Vec<String> = sdp
        .lines()
        .filter_map(rtpmap)
        .filter(|(_, enc)| enc.eq_ignore_ascii_case(name))
        .map(|(pt, _)| pt)
        .collect();
    // Their retransmission payload types go too.
    for line in sdp.lines() {
        if let Some(rest) = line.strip_prefix("a=fmtp:") {
            if let Some((pt, params)) = rest.split_once(' ') {
                if params
                    .split(';')
                    .any(|p| drop.iter().any(|d| p == format!("apt={d}")))
                {
                    drop.push(pt.to_owned());
                }
            }
        }
    }
    // A section left with nothing is rejected (port 0) keeping its first payload type and
    // that type's rtpmap: webrtc-rs refuses an answer naming a type it cannot look up.
    let keep: Vec<String> = sdp
        .lines()
        .filter(|l| l.starts_with("m=video") || l.starts_with("m=audio"))
        .filter_map(|l| {
            let formats: Vec<&str> = l.split(' ').skip(3).collect();
            let all_gone = formats.iter().all(|f| drop.iter().any(|d| d == f));
            all_gone
                .then(|| formats.first().map(|f| f.to_string()))
                .flatten()
        })
        .collect();
    let mentions = |line: &str| {
        if line.starts_with("a=rtpmap:")
            && line["a=rtpmap:".len()..]
                .split(' ')
                .next()
                .is_some_and(|pt| keep.iter().any(|k| k == pt))
        {
            return false;
        }
        ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"].iter().any(|k| {
            line.strip_prefix(k)
                .and_then(|r| r.split([' ', ':']).next())
                .is_some_and(|pt| drop.iter().any(|d| d == pt))
        })
    };
    sdp.split("\r\n")
        .filter(|line| !mentions(line))
        .map(|line| {
            if line.starts_with("m=video") || line.starts_with("m=audio") {
                let fields: Vec<&str> = line.split(' ').collect();
                let kept: Vec<&str> = fields
                    .iter()
                    .enumerate()
                    .filter(|(i, f)| *i < 3 || !drop.iter().any(|d| d == *f))
                    .map(|(_, f)| *f)
                    .collect();
                if kept.len() > 3 || fields.len() <= 3 {
                    kept.join(" ")
                } else {
                    // Nothing left to receive: reject the section (port 0), as browsers do.
                    let mut rejected = fields[..4].to_vec();
                    rejected[1] = "0";
                    rejected.join(" ")
                }
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_a_codec_and_its_rtx_from_an_sdp() {
        let sdp = "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=rtpmap:98 H264/90000\r\na=fmtp:98 profile-level-id=42e01f\r\n";
        let out = without_codec(sdp, "VP8");
        assert!(
            out.starts_with("m=video 9 UDP/TLS/RTP/SAVPF 98\r\n"),
            "{out}"
        );
        assert!(!out.contains("VP8") && !out.contains("apt=96") && !out.contains("rtcp-fb:96"));
        assert!(out.contains("a=rtpmap:98 H264/90000") && out.contains("profile-level-id"));
        let only = "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n";
        let rejected = without_codec(only, "vp8");
        assert!(
            rejected.starts_with("m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n"),
            "{rejected}"
        );
        assert!(!rejected.contains("apt=96"));
    }
}
