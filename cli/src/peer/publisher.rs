//! What a synthetic participant publishes: one *logical* track per kind (audio, video), each
//! a packet generator that outlives peer connections.
//!
//! A logical track writes every packet to each of its *sinks* — one local WebRTC track per
//! publisher connection — whose connection is up. A move to another node adds the new
//! connection's sink next to the old one and removes the old one when that connection closes,
//! so during a move the same packets (same payload sequence numbers) reach both nodes, and
//! receivers see one continuous track with at most a gap, never a restart.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::watch;
use veet_core::protocol::{OfferedTrack, TrackSource};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::{MediaStreamTrack, Track};
use webrtc::peer_connection::{PeerConnection, RTCPeerConnectionState};
use webrtc::rtp_transceiver::RtpSender;

use super::payload::{encode_audio_payload, encode_payload, now_us};
use super::simulcast::{self, LayerClock, Tagging, RIDS};
use super::PeerOptions;

/// The participant's logical tracks.
pub(super) struct Publisher {
    sources: Vec<Arc<Source>>,
}

/// One logical track: its packet clock, sequence numbers and current sinks.
struct Source {
    video: bool,
    identity: String,
    options: PeerOptions,
    sinks: Mutex<Vec<Arc<Sink>>>,
    keyframe_wanted: AtomicBool,
    sent_packets: Arc<AtomicU64>,
    /// RFC 6464 level (0 loudest … 127 silence) carried by audio packets.
    audio_level: Arc<AtomicU8>,
}

/// A logical track's local track on one publisher connection.
struct Sink {
    generation: u64,
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
    /// One SSRC per simulcast layer (just `ssrc` without simulcast).
    layer_ssrcs: Vec<u32>,
    pc: Arc<dyn PeerConnection>,
    /// MID/RID tagging for simulcast, once negotiated.
    tagging: Mutex<Option<Tagging>>,
    state: watch::Receiver<RTCPeerConnectionState>,
    payload_type: Mutex<Option<u8>>,
    /// The id this connection negotiated for the audio level extension.
    audio_level_id: Mutex<Option<u8>>,
    started: AtomicBool,
    _rtcp: AbortOnDrop,
}

impl Publisher {
    /// The logical tracks `options` asks for (none when it publishes nothing); `sent_packets`
    /// counts every packet once, however many connections it went out on.
    pub(super) fn new(
        identity: &str,
        options: &PeerOptions,
        sent_packets: Arc<AtomicU64>,
        audio_level: Arc<AtomicU8>,
    ) -> Option<Self> {
        let mut sources = Vec::new();
        for (wanted, video) in [
            (options.publish_audio, false),
            (options.publish_video, true),
        ] {
            if wanted {
                sources.push(Arc::new(Source {
                    video,
                    identity: identity.to_owned(),
                    options: options.clone(),
                    sinks: Mutex::new(Vec::new()),
                    keyframe_wanted: AtomicBool::new(video),
                    sent_packets: sent_packets.clone(),
                    audio_level: audio_level.clone(),
                }));
            }
        }
        (!sources.is_empty()).then_some(Self { sources })
    }

    /// The track ids announced in offers (`audio-<identity>`, `video-<identity>`).
    pub(super) fn track_ids(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.track_id()).collect()
    }

    /// Starts each logical track's packet generator.
    pub(super) fn spawn(&self) -> Vec<tokio::task::JoinHandle<()>> {
        self.sources
            .iter()
            .map(|s| tokio::spawn(s.clone().run()))
            .collect()
    }

    /// Adds a sink for every logical track to `pc` (the publisher connection of
    /// `generation`, whose state `state` follows); what to announce in its offer.
    pub(super) async fn attach(
        &self,
        pc: &Arc<dyn PeerConnection>,
        generation: u64,
        state: watch::Receiver<RTCPeerConnectionState>,
    ) -> anyhow::Result<Vec<OfferedTrack>> {
        let mut offered = Vec::new();
        for source in &self.sources {
            let simulcast = source.video && source.options.simulcast;
            let (track, layer_ssrcs) = local_track(&source.identity, source.video, simulcast);
            let ssrc = layer_ssrcs[0];
            let sender = pc.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
            let rtcp = AbortOnDrop(tokio::spawn(watch_keyframe_requests(
                track.clone(),
                Arc::downgrade(source),
            )));
            source
                .sinks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Arc::new(Sink {
                    generation,
                    track,
                    sender,
                    ssrc,
                    layer_ssrcs,
                    pc: pc.clone(),
                    tagging: Mutex::new(None),
                    state: state.clone(),
                    payload_type: Mutex::new(None),
                    audio_level_id: Mutex::new(None),
                    started: AtomicBool::new(false),
                    _rtcp: rtcp,
                }));
            offered.push(OfferedTrack {
                id: source.track_id(),
                source: if source.video {
                    TrackSource::Camera
                } else {
                    TrackSource::Microphone
                },
            });
        }
        Ok(offered)
    }

    /// Stops writing to the sinks of connections older than `generation`.
    pub(super) fn detach_before(&self, generation: u64) {
        for source in &self.sources {
            source
                .sinks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|s| s.generation >= generation);
        }
    }
}

impl Source {
    fn track_id(&self) -> String {
        let kind = if self.video { "video" } else { "audio" };
        format!("{kind}-{}", self.identity)
    }

    /// Video: 30 frames/s, each enough packets for the bitrate; audio: 50 packets/s. A
    /// packet's sequence number advances only when it went out on at least one connection.
    async fn run(self: Arc<Self>) {
        let video = self.video;
        let codec = synthetic_codec(video);
        let (interval, per_tick, size, ts_step) = if video {
            let bytes_per_frame = (self.options.video_bitrate_bps / 8 / 30) as usize;
            let per = bytes_per_frame.div_ceil(self.options.packet_size).max(1);
            (
                Duration::from_micros(33_333),
                per,
                self.options.packet_size,
                3000u32,
            )
        } else {
            (Duration::from_millis(20), 1, 120, 960u32)
        };
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut seq: u64 = 0;
        let mut layers = LayerClock::default();
        let mut rtp_seq: u16 = rand::random();
        let mut ts: u32 = rand::random();
        loop {
            tick.tick().await;
            let sinks = self.sinks.lock().unwrap_or_else(|e| e.into_inner()).clone();
            // Before DTLS is up there are no SRTP keys: only connected sinks get packets.
            let mut ready = Vec::new();
            for sink in sinks {
                if *sink.state.borrow() != RTCPeerConnectionState::Connected {
                    continue;
                }
                let Some(pt) = sink.payload_type(&codec).await else {
                    continue;
                };
                if !sink.started.swap(true, Ordering::Relaxed) && video {
                    // A new connection's receivers start with a keyframe.
                    self.keyframe_wanted.store(true, Ordering::Relaxed);
                }
                ready.push((sink, pt));
            }
            if ready.is_empty() {
                continue;
            }
            let keyframe = video && self.keyframe_wanted.swap(false, Ordering::Relaxed);
            if video && self.options.simulcast {
                self.send_layers(&mut layers, &ready, keyframe, ts).await;
                ts = ts.wrapping_add(ts_step);
                continue;
            }
            for i in 0..per_tick {
                let level = self.audio_level.load(Ordering::Relaxed).min(127);
                let payload = if video {
                    encode_payload(
                        true,
                        keyframe && i == 0,
                        seq,
                        now_us(),
                        &self.identity,
                        size,
                    )
                } else {
                    encode_audio_payload(level == 127, seq, now_us(), &self.identity, size)
                };
                let mut sent = false;
                for (sink, payload_type) in &ready {
                    let mut header = rtp::header::Header {
                        version: 2,
                        marker: i + 1 == per_tick,
                        payload_type: *payload_type,
                        sequence_number: rtp_seq,
                        timestamp: ts,
                        ssrc: sink.ssrc,
                        ..Default::default()
                    };
                    let level_id = self.options.audio_level_id.or(*sink
                        .audio_level_id
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()));
                    if let (false, Some(id)) = (video, level_id) {
                        header.extension = true;
                        header.extension_profile = rtp::header::EXTENSION_PROFILE_ONE_BYTE;
                        let at = usize::from(level);
                        header.extensions.push(rtp::header::Extension {
                            id,
                            payload: bytes::Bytes::from_static(&LEVELS[at..at + 1]),
                        });
                    }
                    let packet = rtp::Packet {
                        header,
                        payload: payload.clone(),
                    };
                    sent |= sink.track.write_rtp(packet).await.is_ok();
                }
                if sent {
                    self.sent_packets.fetch_add(1, Ordering::Relaxed);
                    seq += 1;
                    rtp_seq = rtp_seq.wrapping_add(1);
                } else {
                    // Not bound yet: keep the keyframe for when it is.
                    if video {
                        self.keyframe_wanted.store(true, Ordering::Relaxed);
                    }
                    break;
                }
            }
            ts = ts.wrapping_add(ts_step);
        }
    }
}

impl Source {
    /// One frame of every simulcast layer, to each ready connection that negotiated MID/RID.
    async fn send_layers(
        &self,
        layers: &mut LayerClock,
        ready: &[(Arc<Sink>, u8)],
        keyframe: bool,
        ts: u32,
    ) {
        for layer in 0..RIDS.len() {
            let packets = layers.frame(
                layer,
                keyframe,
                ts,
                &self.identity,
                self.options.packet_size,
            );
            for (sink, pt) in ready {
                let Some(tagging) = sink.tagging().await else {
                    continue;
                };
                let Some(&ssrc) = sink.layer_ssrcs.get(layer) else {
                    continue;
                };
                for p in &packets {
                    let out = simulcast::for_connection(p.clone(), layer, ssrc, *pt, &tagging);
                    if sink.track.write_rtp(out).await.is_ok() {
                        self.sent_packets.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

impl Sink {
    /// The MID/RID extension ids and this track's MID on the connection, once negotiated.
    async fn tagging(&self) -> Option<Tagging> {
        if let Some(t) = self
            .tagging
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Some(t);
        }
        let params = self.sender.get_parameters().await.ok()?;
        let id = |uri: &str| {
            params
                .rtp_parameters
                .header_extensions
                .iter()
                .find(|e| e.uri == uri)
                .and_then(|e| u8::try_from(e.id).ok())
        };
        let (mid_id, rid_id) = (id(simulcast::MID_URI)?, id(simulcast::RID_URI)?);
        let sdp = self.pc.local_description().await?.sdp;
        let mid = simulcast::mid_of(&sdp, &self.track.track_id().await)?;
        let t = Tagging {
            mid_id,
            rid_id,
            mid: bytes::Bytes::from(mid),
        };
        *self.tagging.lock().unwrap_or_else(|e| e.into_inner()) = Some(t.clone());
        Some(t)
    }

    /// The payload type negotiated for the codec, once known.
    async fn payload_type(&self, codec: &RTCRtpCodec) -> Option<u8> {
        if let Some(pt) = *self.payload_type.lock().unwrap_or_else(|e| e.into_inner()) {
            return Some(pt);
        }
        let pt = veet_sfu::forwarder::negotiated_payload_type(&self.sender, codec).await?;
        *self.payload_type.lock().unwrap_or_else(|e| e.into_inner()) = Some(pt);
        if let Ok(params) = self.sender.get_parameters().await {
            let id = params
                .rtp_parameters
                .header_extensions
                .iter()
                .find(|e| e.uri == veet_sfu::media::AUDIO_LEVEL_URI)
                .and_then(|e| u8::try_from(e.id).ok());
            *self
                .audio_level_id
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = id;
        }
        Some(pt)
    }
}

/// Every RFC 6464 level as one byte, so an audio packet's extension needs no allocation.
static LEVELS: [u8; 128] = {
    let mut l = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        l[i] = i as u8;
        i += 1;
    }
    l
};

/// Keyframe requests from the SFU arrive as RTCP on the local track.
async fn watch_keyframe_requests(track: Arc<TrackLocalStaticRTP>, source: std::sync::Weak<Source>) {
    loop {
        match track.poll().await {
            Some(TrackLocalEvent::OnRtcpPacket(pkts)) => {
                if pkts.iter().any(|p| {
                    p.as_any().is::<PictureLossIndication>() || p.as_any().is::<FullIntraRequest>()
                }) {
                    let Some(source) = source.upgrade() else {
                        return;
                    };
                    source.keyframe_wanted.store(true, Ordering::Relaxed);
                }
            }
            Some(_) => {}
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

fn local_track(
    identity: &str,
    video: bool,
    simulcast: bool,
) -> (Arc<TrackLocalStaticRTP>, Vec<u32>) {
    let codec = synthetic_codec(video);
    let rids: &[&str] = if simulcast { &RIDS } else { &[""] };
    let ssrcs: Vec<u32> = rids.iter().map(|_| rand::random::<u32>()).collect();
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
        rids.iter()
            .zip(&ssrcs)
            .map(|(rid, ssrc)| RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    rid: (*rid).to_owned(),
                    ssrc: Some(*ssrc),
                    ..Default::default()
                },
                codec: codec.clone(),
                ..Default::default()
            })
            .collect(),
    );
    (Arc::new(TrackLocalStaticRTP::new(track)), ssrcs)
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
pub(super) struct AbortOnDrop(pub(super) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
