//! Forwarding one published track to its subscribers.
//!
//! A [`TrackForwarder`] reads the publisher's RTP — one stream, or one per simulcast layer
//! (told apart by SSRC, named by RID) — and, in the same loop, hands each packet to the
//! [`DownPath`] of every subscriber that wants that layer ([`FanOut`]). Each path rewrites
//! the header and queues the packet on the subscriber's connection without waiting: a
//! subscriber that cannot keep up loses its own packets (counted) and never slows the
//! others. No task, channel hop or lock per subscriber; the payload is shared.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::Notify;
use veet_core::protocol::{TrackInfo, TrackKind};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::rtp_transceiver::RtpSender;

use crate::down_path::{DownPath, Forwarded};
pub use crate::down_track::{negotiated_payload_type, DownTrack};
use crate::down_track::{DownControl, DownTrackParts};
use crate::downlink::{Downlink, PACKET_OVERHEAD};
use crate::fanout::{Change, FanOut};
use crate::hold::HoldGate;
use crate::layer_selector::{layer_of_rid, LayerInfo, MAX_LAYERS};
use crate::metrics::Metrics;
use crate::quality::{SeqTracker, UplinkMeter};
use crate::silence::SilenceFilter;
use crate::vp8::Vp8Descriptor;

/// Keyframe requests for one layer are at most this frequent, whoever asks.
const PLI_INTERVAL: Duration = Duration::from_millis(500);
/// A layer with no packet for this long is not being sent (paused, or dropped by the
/// publisher's encoder under load).
const LAYER_IDLE: Duration = Duration::from_millis(1500);

/// One simulcast layer (or the only stream) of a track.
#[derive(Default)]
struct Layer {
    /// The publisher's offer lists it (it exists even before it sends).
    declared: AtomicBool,
    /// Its SSRC, once seen; keyframe requests go to it.
    ssrc: AtomicU32,
    /// Width << 16 | height, from its last keyframe.
    size: AtomicU32,
    /// When its last packet arrived, in ms since the forwarder started (0: never).
    last_ms: AtomicU64,
    /// Wire bytes since the room last sampled, and the bitrate it measured then.
    bytes: AtomicU64,
    bps: AtomicU64,
    rid: Mutex<Option<String>>,
    /// When the last PLI for it went out.
    pli_last: Mutex<Option<Instant>>,
    pli_pending: AtomicBool,
}

/// How packets of this track mark where a decoder may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keyframes {
    Vp8,
    H264,
    /// Audio, or a codec we do not parse: every packet is a starting point.
    Any,
}

/// One published track and its subscribers.
pub struct TrackForwarder {
    pub info: Mutex<TrackInfo>,
    pub publisher_id: String,
    pub codec: RTCRtpCodec,
    remote: Arc<dyn TrackRemote>,
    layers: [Layer; MAX_LAYERS],
    keyframes: Keyframes,
    simulcast: AtomicBool,
    /// Muted by its owner or a host: the loop forwards none of its packets (see [`HoldGate`]).
    held: AtomicBool,
    /// The publisher's audio level extension id (0: none), and the peak loudness since the
    /// room last read it.
    audio_level_id: u8,
    peak_loudness: AtomicU8,
    /// Header extensions kept for subscribers: the publisher's id and the URI (remapped to
    /// each subscriber's id by its down track).
    forwarded_extensions: Mutex<Vec<(u8, &'static str)>>,
    started: Instant,
    /// When the layers' bitrates were last sampled.
    sampled: Mutex<Option<Instant>>,
    /// Down paths reach the loop through this; the loop takes the [`FanOut`] when it starts.
    changes: mpsc::Sender<Change>,
    fan_out: Mutex<Option<FanOut>>,
    next_key: AtomicU64,
    metrics: Arc<Metrics>,
    /// Arrivals and gaps, for the publisher's connection quality.
    pub uplink: UplinkMeter,
}

impl TrackForwarder {
    /// A forwarder for `remote`; [`TrackForwarder::run`] must be spawned to move packets.
    pub fn new(
        info: TrackInfo,
        publisher_id: String,
        codec: RTCRtpCodec,
        remote: Arc<dyn TrackRemote>,
        media_ssrc: u32,
        audio_level_id: Option<u8>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let keyframes = match codec.mime_type.to_ascii_lowercase().as_str() {
            "video/vp8" => Keyframes::Vp8,
            "video/h264" => Keyframes::H264,
            _ => Keyframes::Any,
        };
        let layers: [Layer; MAX_LAYERS] = Default::default();
        layers[0].ssrc.store(media_ssrc, Ordering::Relaxed);
        let (changes, receiver) = mpsc::channel();
        Arc::new(Self {
            info: Mutex::new(info),
            publisher_id,
            codec,
            remote,
            layers,
            keyframes,
            simulcast: AtomicBool::new(false),
            held: AtomicBool::new(false),
            audio_level_id: audio_level_id.unwrap_or(0),
            peak_loudness: AtomicU8::new(0),
            forwarded_extensions: Mutex::new(Vec::new()),
            started: Instant::now(),
            sampled: Mutex::new(None),
            changes,
            fan_out: Mutex::new(Some(FanOut::new(receiver))),
            next_key: AtomicU64::new(1),
            uplink: UplinkMeter::default(),
            metrics,
        })
    }

    /// The track's public description.
    pub fn track_info(&self) -> TrackInfo {
        self.info.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn id(&self) -> String {
        self.track_info().id
    }

    /// Stops (`true`) or resumes forwarding the track; a resumed video track asks its
    /// publisher for a keyframe to restart on.
    pub fn set_held(self: &Arc<Self>, held: bool) {
        let was = self.held.swap(held, Ordering::Relaxed);
        if was && !held {
            for layer in 0..MAX_LAYERS as u8 {
                if self.layers[usize::from(layer)].ssrc.load(Ordering::Relaxed) != 0 {
                    self.request_keyframe(layer);
                }
            }
        }
    }

    pub fn is_video(&self) -> bool {
        self.track_info().kind == TrackKind::Video
    }

    pub(crate) fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Whether the publisher sends this track as simulcast layers with RIDs.
    pub fn is_simulcast(&self) -> bool {
        self.simulcast.load(Ordering::Relaxed)
    }

    /// What is known of each layer, up to the highest one seen.
    pub fn layers(&self) -> Vec<LayerInfo> {
        let now = self.millis(Instant::now());
        let idle = LAYER_IDLE.as_millis() as u64;
        let mut out: Vec<LayerInfo> = self
            .layers
            .iter()
            .map(|l| {
                let last = l.last_ms.load(Ordering::Relaxed);
                let size = l.size.load(Ordering::Relaxed);
                LayerInfo {
                    width: size >> 16,
                    height: size & 0xffff,
                    active: last != 0 && now.saturating_sub(last) < idle,
                    seen: last != 0 || l.declared.load(Ordering::Relaxed),
                }
            })
            .collect();
        while out.last().is_some_and(|l| !l.seen) {
            out.pop();
        }
        out
    }

    /// Measures each layer's bitrate since the last call (the room's layer tick). A simulcast
    /// layer that sent nothing keeps its last figure: paused, it will cost that again when
    /// resumed.
    pub fn sample_bitrates(&self, now: Instant) {
        let mut sampled = self.sampled.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = sampled.map(|t| now.saturating_duration_since(t).as_secs_f64());
        *sampled = Some(now);
        for l in &self.layers {
            let bytes = l.bytes.swap(0, Ordering::Relaxed);
            let Some(secs) = elapsed.filter(|s| *s > 0.05) else {
                continue;
            };
            if bytes == 0 && self.is_simulcast() {
                continue;
            }
            let measured = (bytes as f64 * 8.0 / secs) as u64;
            let old = l.bps.load(Ordering::Relaxed);
            // Keyframes make single intervals spiky: smooth over a few.
            let bps = if old == 0 {
                measured
            } else {
                (old * 6 + measured * 4) / 10
            };
            l.bps.store(bps, Ordering::Relaxed);
        }
    }

    /// What each layer costs a subscriber, in bits per second; `None` for a layer not being
    /// sent. A layer sending but not measured yet is assumed to cost what the web client
    /// gives it.
    pub fn layer_costs(&self) -> [Option<u64>; MAX_LAYERS] {
        let infos = self.layers();
        let mut out = [None; MAX_LAYERS];
        for (i, info) in infos.iter().enumerate() {
            if !info.active {
                continue;
            }
            let bps = self.layers[i].bps.load(Ordering::Relaxed);
            out[i] = Some(if bps > 0 { bps } else { assumed_bitrate(i) });
        }
        out
    }

    /// The bitrate of its busiest stream (audio: its only one).
    pub fn bitrate(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| l.bps.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    }

    /// Which of the publisher's header extensions subscribers get (by the publisher's id).
    pub fn set_forwarded_extensions(&self, extensions: Vec<(u8, &'static str)>) {
        *self
            .forwarded_extensions
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = extensions;
    }

    pub(crate) fn forwarded_extensions(&self) -> Vec<(u8, &'static str)> {
        self.forwarded_extensions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The simulcast RIDs the publisher's offer declared for this track.
    pub fn declare_layers(&self, rids: &[String]) {
        for rid in rids {
            let l = &self.layers[usize::from(layer_of_rid(rid))];
            l.declared.store(true, Ordering::Relaxed);
            *l.rid.lock().unwrap_or_else(|e| e.into_inner()) = Some(rid.clone());
        }
        if !rids.is_empty() {
            self.simulcast.store(true, Ordering::Relaxed);
        }
    }

    /// The RID the publisher gave `layer`.
    pub fn rid(&self, layer: u8) -> Option<String> {
        let l = self.layers.get(usize::from(layer))?;
        l.rid.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The peak loudness (0–127) since the last call, if the publisher sends audio levels.
    pub fn take_loudness(&self) -> Option<u8> {
        (self.audio_level_id != 0).then(|| self.peak_loudness.swap(0, Ordering::Relaxed))
    }

    /// How long ago the track was published.
    pub fn age(&self) -> Duration {
        self.started.elapsed()
    }

    fn millis(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.started).as_millis() as u64 + 1
    }

    /// Reads the publisher's packets until the track ends, fanning them out.
    pub async fn run(self: Arc<Self>) {
        let Some(mut fan) = self
            .fan_out
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return;
        };
        // SSRC → layer, learnt as each layer opens; owned by this loop, so no lock.
        let mut ssrc_layers: Vec<(u32, u8)> = Vec::with_capacity(MAX_LAYERS);
        let mut silence = SilenceFilter::default();
        let mut hold = HoldGate::default();
        let mut arrivals = [SeqTracker::default(); MAX_LAYERS];
        while let Some(event) = self.remote.poll().await {
            match event {
                TrackRemoteEvent::OnOpen(init) => {
                    let layer = match init.rid.as_deref() {
                        Some(rid) if !rid.is_empty() => {
                            self.simulcast.store(true, Ordering::Relaxed);
                            layer_of_rid(rid)
                        }
                        _ => 0,
                    };
                    let l = &self.layers[usize::from(layer)];
                    l.ssrc.store(init.ssrc, Ordering::Relaxed);
                    *l.rid.lock().unwrap_or_else(|e| e.into_inner()) = init.rid.clone();
                    ssrc_layers.retain(|(s, _)| *s != init.ssrc);
                    ssrc_layers.push((init.ssrc, layer));
                    tracing::debug!(track = %self.id(), rid = ?init.rid, ssrc = init.ssrc, "layer opened");
                }
                TrackRemoteEvent::OnRtpPacket(mut packet) => {
                    let ssrc = packet.header.ssrc;
                    // Only the layers' own streams are counted (not, say, retransmissions).
                    let known = ssrc_layers
                        .iter()
                        .find(|(s, _)| *s == ssrc)
                        .map(|(_, l)| *l)
                        .or_else(|| {
                            (self.layers[0].ssrc.load(Ordering::Relaxed) == ssrc).then_some(0)
                        });
                    let layer = known.unwrap_or(0);
                    if known.is_some() {
                        let seq = packet.header.sequence_number;
                        let expected = arrivals[usize::from(layer)].observe(seq);
                        if !self.uplink.arrive(seq, expected) {
                            continue;
                        }
                    }
                    if self.audio_level_id != 0 {
                        let loudness = packet
                            .header
                            .get_extension(self.audio_level_id)
                            .and_then(|ext| crate::speaker::loudness(&ext));
                        if let Some(loud) = loudness {
                            self.peak_loudness.fetch_max(loud, Ordering::Relaxed);
                        }
                        match silence.filter(packet.header.sequence_number, loudness) {
                            Some(seq) => packet.header.sequence_number = seq,
                            None => {
                                Metrics::add(&self.metrics.silence_dropped, 1);
                                continue;
                            }
                        }
                    }
                    fan.apply_changes();
                    self.fan_out(&mut fan, &mut hold, layer, &mut packet);
                }
                TrackRemoteEvent::OnEnded => break,
                _ => {}
            }
        }
        fan.flush(&self.metrics, Instant::now(), true);
    }

    fn fan_out(
        self: &Arc<Self>,
        fan: &mut FanOut,
        hold: &mut HoldGate,
        layer: u8,
        packet: &mut rtp::Packet,
    ) {
        let at = Instant::now();
        let l = &self.layers[usize::from(layer)];
        l.last_ms.store(self.millis(at), Ordering::Relaxed);
        l.bytes.fetch_add(
            packet.payload.len() as u64 + PACKET_OVERHEAD,
            Ordering::Relaxed,
        );
        let (keyframe_start, vp8) = match self.keyframes {
            Keyframes::Vp8 => match Vp8Descriptor::parse(&packet.payload) {
                Some(d) => {
                    if let Some((w, h)) = d.size {
                        l.size
                            .store((u32::from(w) << 16) | u32::from(h), Ordering::Relaxed);
                    }
                    (d.keyframe, Some(d))
                }
                None => (false, None),
            },
            Keyframes::H264 => (crate::h264::is_keyframe(&packet.payload), None),
            Keyframes::Any => (true, None),
        };
        let held = self.held.load(Ordering::Relaxed);
        match hold.filter(held, layer, packet.header.sequence_number) {
            Some(seq) => packet.header.sequence_number = seq,
            None => {
                Metrics::add(&self.metrics.muted_dropped, 1);
                return;
            }
        }
        // Only a layer switch must wait for a keyframe; one stream is forwarded as it comes
        // (a subscriber that starts mid-frame asks for a keyframe itself).
        let keyframe = keyframe_start;
        let keyframe_start = keyframe_start || !self.is_simulcast();
        let keyframes = fan.forward(&Forwarded {
            layer,
            keyframe,
            keyframe_start,
            vp8,
            at,
            packet,
        });
        for layer in 0..MAX_LAYERS as u8 {
            if keyframes & (1 << layer) != 0 {
                self.request_keyframe(layer);
            }
        }
        fan.flush(&self.metrics, at, false);
    }

    /// Asks the publisher for a keyframe of `layer`, at most once per [`PLI_INTERVAL`]; a
    /// request inside the interval is sent when it ends, so none is lost.
    pub fn request_keyframe(self: &Arc<Self>, layer: u8) {
        if !self.is_video() {
            return;
        }
        let Some(l) = self.layers.get(usize::from(layer)) else {
            return;
        };
        let wait = {
            let mut last = l.pli_last.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            match *last {
                Some(t) if now.duration_since(t) < PLI_INTERVAL => {
                    Some(PLI_INTERVAL - now.duration_since(t))
                }
                _ => {
                    *last = Some(now);
                    None
                }
            }
        };
        match wait {
            None => self.send_pli(layer),
            Some(delay) => {
                if l.pli_pending.swap(true, Ordering::AcqRel) {
                    return;
                }
                let this = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let l = &this.layers[usize::from(layer)];
                    l.pli_pending.store(false, Ordering::Release);
                    *l.pli_last.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                    this.send_pli(layer);
                });
            }
        }
    }

    fn send_pli(self: &Arc<Self>, layer: u8) {
        let media_ssrc = self.layers[usize::from(layer)].ssrc.load(Ordering::Relaxed);
        if media_ssrc == 0 {
            return;
        }
        Metrics::add(&self.metrics.plis_sent, 1);
        let remote = self.remote.clone();
        tokio::spawn(async move {
            let pli = PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            };
            if let Err(e) = remote.write_rtcp(vec![Box::new(pli)]).await {
                tracing::debug!(error = %e, "PLI not sent");
            }
        });
    }

    /// A new local track carrying this track to `subscriber_id`: stream id = publisher id,
    /// track id = the published track's id, as clients expect.
    pub fn new_local_track(&self) -> (Arc<TrackLocalStaticRTP>, u32) {
        let info = self.track_info();
        let ssrc = rand::random::<u32>();
        let kind = match info.kind {
            TrackKind::Audio => RtpCodecKind::Audio,
            TrackKind::Video => RtpCodecKind::Video,
        };
        let track = MediaStreamTrack::new(
            self.publisher_id.clone(),
            info.id.clone(),
            info.id.clone(),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: self.codec.clone(),
                ..Default::default()
            }],
        );
        (Arc::new(TrackLocalStaticRTP::new(track)), ssrc)
    }

    /// Starts forwarding to a subscriber through `local`, added to its connection as `sender`,
    /// at layer `target` (`None`: nothing until told). Packets are dropped until `downlink`
    /// is connected: before DTLS is up there are no SRTP keys to send with.
    pub fn subscribe(
        self: &Arc<Self>,
        subscriber_id: &str,
        local: Arc<TrackLocalStaticRTP>,
        ssrc: u32,
        sender: Arc<dyn RtpSender>,
        downlink: Arc<Downlink>,
        target: Option<u8>,
    ) -> DownTrack {
        let control = Arc::new(DownControl::new(target));
        let bind_wanted = Arc::new(Notify::new());
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(track = %self.id(), subscriber = subscriber_id, key, ssrc, "down track");
        let path = DownPath::new(
            key,
            control.clone(),
            downlink,
            local.clone(),
            ssrc,
            self.codec.clock_rate,
            bind_wanted.clone(),
        );
        DownTrack::start(
            self.clone(),
            self.changes.clone(),
            path,
            control,
            bind_wanted,
            DownTrackParts {
                local,
                sender,
                ssrc,
            },
        )
    }
}

/// The web client's simulcast bitrates (q/h/f), for a layer not measured yet.
pub(crate) fn assumed_bitrate(layer: usize) -> u64 {
    match layer {
        0 => 150_000,
        1 => 500_000,
        _ => 1_500_000,
    }
}

/// A bit per layer, for the wanted-layer masks.
pub(crate) fn layer_bit(layer: Option<u8>) -> u8 {
    layer.map_or(0, |l| 1u8 << l.min(7))
}
