//! A synthetic participant: joins through the WebSocket signaling like the web client, and
//! publishes audio and video over WebRTC (webrtc-rs) with recognisable payloads. Used by the
//! integration tests and `veet loadtest`.
//!
//! Payload of every RTP packet it sends: `VEET` | kind (1 byte, 0 audio / 1 video) |
//! keyframe flag (1 byte) | sequence (u64) | send time in µs since the Unix epoch (u64) |
//! identity length (u8) | identity | padding up to the packet size. A video packet is flagged
//! as a keyframe at the start and after each PLI the publisher receives, so a receiver can
//! tell when the SFU's keyframe request reached the publisher.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use bytes::{BufMut, Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::{broadcast, mpsc};
use tokio_tungstenite::tungstenite::Message;
use veet_core::protocol::{
    ClientFrame, IceCandidate, OfferedTrack, ParticipantInfo, PeerRole, ServerFrame, Signal,
    TrackSource,
};
use veet_sfu::media::PeerFactory;
use veet_sfu::metrics::Metrics;
use veet_sfu::SfuConfig;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
};
use webrtc::rtp_transceiver::RtpSender;

const MAGIC: &[u8; 4] = b"VEET";

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
        }
    }
}

/// What one received track delivered.
#[derive(Debug, Clone, Default)]
pub struct TrackStats {
    /// The publisher identity found in the payloads.
    pub publisher_identity: String,
    /// The participant id the SFU sent it under (stream id).
    pub stream_id: String,
    pub video: bool,
    pub packets: u64,
    pub bytes: u64,
    /// Payloads that were not ours (corrupt, or another format).
    pub foreign_payloads: u64,
    pub first_seq: Option<u64>,
    pub last_seq: u64,
    /// End-to-end latency samples, µs (bounded).
    pub latencies_us: Vec<u64>,
    /// When the track was first seen.
    pub subscribed_at: Option<Instant>,
    /// When the first packet flagged keyframe arrived after `subscribed_at`.
    pub first_keyframe_at: Option<Instant>,
}

impl TrackStats {
    /// Packets the publisher sent between the first and last one received.
    pub fn expected(&self) -> u64 {
        self.first_seq
            .map_or(0, |f| self.last_seq.saturating_sub(f) + 1)
    }

    /// Fraction lost among those, 0..1.
    pub fn loss(&self) -> f64 {
        let expected = self.expected();
        if expected == 0 {
            return 0.0;
        }
        1.0 - (self.packets.min(expected) as f64 / expected as f64)
    }
}

struct Shared {
    received: Mutex<HashMap<String, TrackStats>>,
    /// While false, received tracks are not polled at all: the client stalls as a frozen
    /// browser tab would, and its WebRTC stack backs up.
    reading: tokio::sync::watch::Sender<bool>,
    sent_packets: AtomicU64,
}

/// A synthetic participant in a room.
pub struct SyntheticPeer {
    pub participant: ParticipantInfo,
    pub others: Vec<ParticipantInfo>,
    frames: broadcast::Sender<ServerFrame>,
    out: mpsc::Sender<Message>,
    shared: Arc<Shared>,
    publisher: Option<Arc<dyn PeerConnection>>,
    subscriber: Arc<Mutex<Option<Arc<dyn PeerConnection>>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pub published_track_ids: Vec<String>,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn frame_text(f: &ClientFrame) -> Message {
    Message::Text(serde_json::to_string(f).unwrap_or_default().into())
}

struct ClientEvents {
    role: PeerRole,
    out: mpsc::Sender<Message>,
    tracks: Option<mpsc::Sender<Arc<dyn TrackRemote>>>,
    state: tokio::sync::watch::Sender<RTCPeerConnectionState>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for ClientEvents {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
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
            let _ = tx.send(track).await;
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.state.send_replace(state);
    }
}

impl SyntheticPeer {
    /// Connects, joins and (per `options`) starts publishing. Returns once `joined` arrived.
    pub async fn join(options: PeerOptions) -> anyhow::Result<Self> {
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
        let frames_tx = frames.clone();
        let mut first = frames.subscribe();
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
                ServerFrame::Error { code, message } => bail!("join refused: {code:?}: {message}"),
                _ => continue,
            }
        };
        let shared = Arc::new(Shared {
            received: Mutex::new(HashMap::new()),
            reading: tokio::sync::watch::channel(true).0,
            sent_packets: AtomicU64::new(0),
        });
        let factory = Arc::new(PeerFactory::new(
            Arc::new(SfuConfig::loopback()),
            Arc::new(Metrics::default()),
        )?);
        let subscriber: Arc<Mutex<Option<Arc<dyn PeerConnection>>>> = Arc::new(Mutex::new(None));
        let mut peer = Self {
            participant,
            others,
            frames: frames.clone(),
            out: out.clone(),
            shared: shared.clone(),
            publisher: None,
            subscriber: subscriber.clone(),
            tasks,
            published_track_ids: Vec::new(),
        };
        let (track_tx, track_rx) = mpsc::channel::<Arc<dyn TrackRemote>>(64);
        peer.tasks
            .push(tokio::spawn(receive_tracks(track_rx, shared.clone())));
        // Publisher: local tracks, our offer.
        let (pub_state_tx, pub_state_rx) = tokio::sync::watch::channel(RTCPeerConnectionState::New);
        let mut publisher_setup = None;
        if options.publish_audio || options.publish_video {
            let pc = factory
                .build(Arc::new(ClientEvents {
                    role: PeerRole::Publisher,
                    out: out.clone(),
                    tracks: None,
                    state: pub_state_tx,
                }))
                .await?;
            let mut sources = Vec::new();
            let mut locals = Vec::new();
            let ident = peer.participant.identity.clone();
            if options.publish_audio {
                let (t, ssrc) = local_track(&ident, false);
                let sender = pc.add_track(t.clone() as Arc<dyn TrackLocal>).await?;
                sources.push(OfferedTrack {
                    id: format!("audio-{ident}"),
                    source: TrackSource::Microphone,
                });
                locals.push(OutgoingTrack {
                    track: t,
                    sender,
                    ssrc,
                    video: false,
                });
            }
            if options.publish_video {
                let (t, ssrc) = local_track(&ident, true);
                let sender = pc.add_track(t.clone() as Arc<dyn TrackLocal>).await?;
                sources.push(OfferedTrack {
                    id: format!("video-{ident}"),
                    source: TrackSource::Camera,
                });
                locals.push(OutgoingTrack {
                    track: t,
                    sender,
                    ssrc,
                    video: true,
                });
            }
            peer.published_track_ids = sources.iter().map(|s| s.id.clone()).collect();
            let offer = pc.create_offer(None).await?;
            pc.set_local_description(offer).await?;
            let sdp = pc
                .local_description()
                .await
                .map(|d| d.sdp)
                .unwrap_or_default();
            out.send(frame_text(&ClientFrame::Signal {
                role: PeerRole::Publisher,
                signal: Signal::Offer {
                    sdp,
                    tracks: sources,
                },
            }))
            .await?;
            peer.publisher = Some(pc.clone());
            publisher_setup = Some((pc, locals));
        }
        // Signaling from the SFU.
        let mut rx = frames.subscribe();
        let publisher = peer.publisher.clone();
        let out2 = out.clone();
        let factory2 = factory.clone();
        peer.tasks.push(tokio::spawn(async move {
            let mut pending: HashMap<PeerRole, Vec<RTCIceCandidateInit>> = HashMap::new();
            loop {
                let f = match rx.recv().await {
                    Ok(f) => f,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                };
                let result: anyhow::Result<()> = async {
                    match f {
                        ServerFrame::Answer {
                            role: PeerRole::Publisher,
                            sdp,
                        } => {
                            if let Some(pc) = &publisher {
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
                            let existing =
                                subscriber.lock().unwrap_or_else(|e| e.into_inner()).clone();
                            let pc = match existing {
                                Some(pc) => pc,
                                None => {
                                    let pc = factory2
                                        .build(Arc::new(ClientEvents {
                                            role: PeerRole::Subscriber,
                                            out: out2.clone(),
                                            tracks: Some(track_tx.clone()),
                                            state: tokio::sync::watch::channel(
                                                RTCPeerConnectionState::New,
                                            )
                                            .0,
                                        }))
                                        .await?;
                                    *subscriber.lock().unwrap_or_else(|e| e.into_inner()) =
                                        Some(pc.clone());
                                    pc
                                }
                            };
                            pc.set_remote_description(RTCSessionDescription::offer(sdp)?)
                                .await?;
                            for c in pending.remove(&PeerRole::Subscriber).unwrap_or_default() {
                                pc.add_ice_candidate(c).await?;
                            }
                            let answer = pc.create_answer(None).await?;
                            pc.set_local_description(answer).await?;
                            let sdp = pc
                                .local_description()
                                .await
                                .map(|d| d.sdp)
                                .unwrap_or_default();
                            out2.send(frame_text(&ClientFrame::Signal {
                                role: PeerRole::Subscriber,
                                signal: Signal::Answer { sdp },
                            }))
                            .await?;
                        }
                        ServerFrame::Candidate { role, candidate } => {
                            let init = RTCIceCandidateInit {
                                candidate: candidate.candidate,
                                sdp_mid: candidate.sdp_mid,
                                sdp_mline_index: candidate.sdp_mline_index,
                                ..Default::default()
                            };
                            let pc = match role {
                                PeerRole::Publisher => publisher.clone(),
                                PeerRole::Subscriber => {
                                    subscriber.lock().unwrap_or_else(|e| e.into_inner()).clone()
                                }
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
                .await;
                if let Err(e) = result {
                    tracing::warn!(error = %e, "synthetic peer signaling failed");
                }
            }
        }));
        if let Some((_pc, locals)) = publisher_setup {
            for out in locals {
                peer.tasks.push(tokio::spawn(send_media(
                    out,
                    peer.participant.identity.clone(),
                    options.clone(),
                    shared.clone(),
                    pub_state_rx.clone(),
                )));
            }
        }
        Ok(peer)
    }

    /// A snapshot of what each received track delivered, by track id.
    pub fn received(&self) -> HashMap<String, TrackStats> {
        self.shared
            .received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Forgets what was received so far (to measure a window).
    pub fn reset_received(&self) {
        for s in self
            .shared
            .received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values_mut()
        {
            *s = TrackStats {
                publisher_identity: s.publisher_identity.clone(),
                stream_id: s.stream_id.clone(),
                video: s.video,
                subscribed_at: s.subscribed_at,
                first_keyframe_at: s.first_keyframe_at,
                ..Default::default()
            };
        }
    }

    /// RTP packets this peer has sent.
    pub fn sent_packets(&self) -> u64 {
        self.shared.sent_packets.load(Ordering::Relaxed)
    }

    /// Stops (or resumes) reading received media, as a stalled client would.
    pub fn set_reading(&self, reading: bool) {
        self.shared.reading.send_replace(reading);
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
        if let Some(pc) = self.publisher.take() {
            let _ = pc.close().await;
        }
        let sub = self
            .subscriber
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(pc) = sub {
            let _ = pc.close().await;
        }
    }
}

impl Drop for SyntheticPeer {
    fn drop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

fn local_track(identity: &str, video: bool) -> (Arc<TrackLocalStaticRTP>, u32) {
    let ssrc = rand::random::<u32>();
    let codec = synthetic_codec(video);
    let (id, kind) = if video {
        (format!("video-{identity}"), RtpCodecKind::Video)
    } else {
        (format!("audio-{identity}"), RtpCodecKind::Audio)
    };
    let track = MediaStreamTrack::new(
        format!("stream-{identity}"),
        id.clone(),
        id,
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec,
            ..Default::default()
        }],
    );
    (Arc::new(TrackLocalStaticRTP::new(track)), ssrc)
}

/// Builds one payload: see the module documentation.
pub fn encode_payload(
    video: bool,
    keyframe: bool,
    seq: u64,
    sent_us: u64,
    identity: &str,
    size: usize,
) -> Bytes {
    let ident = &identity.as_bytes()[..identity.len().min(255)];
    let mut b = BytesMut::with_capacity(size.max(23 + ident.len()));
    b.put_slice(MAGIC);
    b.put_u8(u8::from(video));
    b.put_u8(u8::from(keyframe));
    b.put_u64(seq);
    b.put_u64(sent_us);
    b.put_u8(ident.len() as u8);
    b.put_slice(ident);
    while b.len() < size {
        b.put_u8((b.len() % 251) as u8);
    }
    b.freeze()
}

/// A decoded payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub video: bool,
    pub keyframe: bool,
    pub seq: u64,
    pub sent_us: u64,
    pub identity: String,
}

/// Decodes a payload made by [`encode_payload`], checking its padding too.
pub fn decode_payload(b: &[u8]) -> Option<Payload> {
    if b.len() < 23 || &b[..4] != MAGIC {
        return None;
    }
    let video = b[4] == 1;
    let keyframe = b[5] == 1;
    let seq = u64::from_be_bytes(b[6..14].try_into().ok()?);
    let sent_us = u64::from_be_bytes(b[14..22].try_into().ok()?);
    let n = b[22] as usize;
    let identity = std::str::from_utf8(b.get(23..23 + n)?).ok()?.to_owned();
    for (i, &x) in b.iter().enumerate().skip(23 + n) {
        if x != (i % 251) as u8 {
            return None;
        }
    }
    Some(Payload {
        video,
        keyframe,
        seq,
        sent_us,
        identity,
    })
}

/// One track the synthetic participant publishes.
struct OutgoingTrack {
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
    video: bool,
}

async fn send_media(
    out: OutgoingTrack,
    identity: String,
    options: PeerOptions,
    shared: Arc<Shared>,
    mut state: tokio::sync::watch::Receiver<RTCPeerConnectionState>,
) {
    // Before DTLS is up there are no SRTP keys: wait rather than write into the void.
    if state
        .wait_for(|s| *s == RTCPeerConnectionState::Connected)
        .await
        .is_err()
    {
        return;
    }
    let OutgoingTrack {
        track,
        sender,
        ssrc,
        video,
    } = out;
    let codec = synthetic_codec(video);
    // Video: 30 frames/s, each frame enough packets for the bitrate; audio: 50 packets/s.
    let (interval, per_tick, size, ts_step) = if video {
        let bytes_per_frame = (options.video_bitrate_bps / 8 / 30) as usize;
        let per = bytes_per_frame.div_ceil(options.packet_size).max(1);
        (
            Duration::from_micros(33_333),
            per,
            options.packet_size,
            3000u32,
        )
    } else {
        (Duration::from_millis(20), 1, 120, 960u32)
    };
    let keyframe_wanted = Arc::new(AtomicBool::new(true));
    // Keyframe requests from the SFU arrive as RTCP on the local track.
    let kw = keyframe_wanted.clone();
    let t2 = track.clone();
    let _rtcp_task = AbortOnDrop(tokio::spawn(async move {
        loop {
            match t2.poll().await {
                Some(TrackLocalEvent::OnRtcpPacket(pkts)) => {
                    if pkts.iter().any(|p| {
                        p.as_any().is::<PictureLossIndication>()
                            || p.as_any().is::<FullIntraRequest>()
                    }) {
                        kw.store(true, Ordering::Relaxed);
                    }
                }
                Some(_) => {}
                None => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }));
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut seq: u64 = 0;
    let mut rtp_seq: u16 = rand::random();
    let mut ts: u32 = rand::random();
    let mut pt: Option<u8> = None;
    loop {
        tick.tick().await;
        if pt.is_none() {
            pt = veet_sfu::forwarder::negotiated_payload_type(&sender, &codec).await;
            if pt.is_none() {
                continue;
            }
        }
        let Some(payload_type) = pt else { continue };
        let keyframe = video && keyframe_wanted.swap(false, Ordering::Relaxed);
        for i in 0..per_tick {
            let payload = encode_payload(video, keyframe && i == 0, seq, now_us(), &identity, size);
            let packet = rtp::Packet {
                header: rtp::header::Header {
                    version: 2,
                    marker: i + 1 == per_tick,
                    payload_type,
                    sequence_number: rtp_seq,
                    timestamp: ts,
                    ssrc,
                    ..Default::default()
                },
                payload,
            };
            if track.write_rtp(packet).await.is_ok() {
                shared.sent_packets.fetch_add(1, Ordering::Relaxed);
                seq += 1;
                rtp_seq = rtp_seq.wrapping_add(1);
            } else {
                // Not bound yet: keep the keyframe for when it is.
                keyframe_wanted.store(video, Ordering::Relaxed);
                break;
            }
        }
        ts = ts.wrapping_add(ts_step);
    }
}

/// The codec synthetic tracks claim: VP8 for video, Opus for audio (payloads are synthetic;
/// the SFU does not look inside them).
fn synthetic_codec(video: bool) -> RTCRtpCodec {
    if video {
        RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.into(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        }
    } else {
        RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.into(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
            rtcp_feedback: vec![],
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn receive_tracks(mut tracks: mpsc::Receiver<Arc<dyn TrackRemote>>, shared: Arc<Shared>) {
    while let Some(track) = tracks.recv().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            let id = track.track_id().await;
            let stream_id = track.stream_id().await;
            let video = track.kind().await == RtpCodecKind::Video;
            {
                let mut r = shared.received.lock().unwrap_or_else(|e| e.into_inner());
                let s = r.entry(id.clone()).or_default();
                s.stream_id = stream_id;
                s.video = video;
                s.subscribed_at.get_or_insert_with(Instant::now);
            }
            let mut reading = shared.reading.subscribe();
            loop {
                if reading.wait_for(|r| *r).await.is_err() {
                    break;
                }
                let Some(event) = track.poll().await else {
                    break;
                };
                let TrackRemoteEvent::OnRtpPacket(p) = event else {
                    continue;
                };
                let mut r = shared.received.lock().unwrap_or_else(|e| e.into_inner());
                let s = r.entry(id.clone()).or_default();
                s.packets += 1;
                s.bytes += p.payload.len() as u64;
                match decode_payload(&p.payload) {
                    Some(pl) => {
                        s.publisher_identity = pl.identity;
                        s.first_seq = Some(s.first_seq.map_or(pl.seq, |f| f.min(pl.seq)));
                        s.last_seq = s.last_seq.max(pl.seq);
                        if s.latencies_us.len() < 100_000 {
                            s.latencies_us.push(now_us().saturating_sub(pl.sent_us));
                        }
                        if pl.keyframe && s.first_keyframe_at.is_none() {
                            s.first_keyframe_at = Some(Instant::now());
                        }
                    }
                    None => s.foreign_payloads += 1,
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_detects_corruption() {
        let b = encode_payload(true, true, 42, 1234, "alice", 300);
        assert_eq!(b.len(), 300);
        let p = decode_payload(&b).unwrap();
        assert_eq!(
            p,
            Payload {
                video: true,
                keyframe: true,
                seq: 42,
                sent_us: 1234,
                identity: "alice".into()
            }
        );
        let mut bad = b.to_vec();
        bad[200] ^= 1;
        assert!(decode_payload(&bad).is_none());
        assert!(decode_payload(b"VEE").is_none());
    }

    #[test]
    fn loss_counts_gaps() {
        let s = TrackStats {
            first_seq: Some(10),
            last_seq: 109,
            packets: 99,
            ..Default::default()
        };
        assert_eq!(s.expected(), 100);
        assert!((s.loss() - 0.01).abs() < 1e-9);
    }
}
