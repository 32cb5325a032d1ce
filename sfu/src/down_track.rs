//! One published track flowing to one subscriber: a task that takes the forwarder's packets
//! of the layers it wants, runs them through its [`RtpRewriter`] (layer switches at
//! keyframes, continuous numbering), sets the subscriber's SSRC and payload type and writes
//! them; it passes the subscriber's keyframe requests up to the publisher for the layer it
//! forwards, and asks for the target layer's keyframe while a switch waits for one.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::RTCRtpCodec;
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::rtp_transceiver::RtpSender;

use crate::downlink::Downlink;
use crate::forwarder::{layer_bit, TrackForwarder};
use crate::metrics::Metrics;
use crate::rewriter::{Incoming, Rewrite, RtpRewriter, Verdict};
use crate::vp8::Vp8Descriptor;

/// While a switch waits for its keyframe, ask again this often (the forwarder's own limit
/// per layer still applies, shared by every subscriber).
const KEYFRAME_ASK: Duration = Duration::from_millis(300);
/// `AtomicU8` encoding of "no layer".
const NONE: u8 = u8::MAX;

/// One packet of one layer, as the forwarder hands it to a down track.
pub struct Forwarded {
    pub layer: u8,
    /// The first packet of a keyframe (always set for audio and codecs we do not parse).
    pub keyframe: bool,
    /// Forwarding may start here: a keyframe for simulcast, any packet of a single stream.
    pub keyframe_start: bool,
    pub vp8: Option<Vp8Descriptor>,
    pub at: Instant,
    pub packet: rtp::Packet,
}

/// What the room and the forwarder share with a down track's task, lock-free.
pub struct DownControl {
    target: AtomicU8,
    current: AtomicU8,
    /// Layers the forwarder should hand over: the current one and the target.
    mask: AtomicU8,
}

fn encode(layer: Option<u8>) -> u8 {
    layer.unwrap_or(NONE)
}

fn decode(v: u8) -> Option<u8> {
    (v != NONE).then_some(v)
}

impl DownControl {
    pub fn new(target: Option<u8>) -> Self {
        Self {
            target: AtomicU8::new(encode(target)),
            current: AtomicU8::new(NONE),
            mask: AtomicU8::new(layer_bit(target)),
        }
    }

    /// The layers this down track takes packets of, as a bit mask.
    pub fn mask(&self) -> u8 {
        self.mask.load(Ordering::Relaxed)
    }

    fn target(&self) -> Option<u8> {
        decode(self.target.load(Ordering::Relaxed))
    }

    fn current(&self) -> Option<u8> {
        decode(self.current.load(Ordering::Relaxed))
    }

    fn set_target(&self, layer: Option<u8>) {
        self.target.store(encode(layer), Ordering::Relaxed);
        // The task updates the mask on its next packet, but a new target's packets must
        // reach it first.
        self.mask.store(
            layer_bit(layer)
                | layer_bit(if layer.is_some() {
                    self.current()
                } else {
                    None
                }),
            Ordering::Relaxed,
        );
    }

    fn forwarding(&self, current: Option<u8>, target: Option<u8>) {
        self.current.store(encode(current), Ordering::Relaxed);
        self.mask
            .store(layer_bit(current) | layer_bit(target), Ordering::Relaxed);
    }
}

/// One track flowing to one subscriber; dropping it stops the flow.
pub struct DownTrack {
    pub forwarder: Arc<TrackForwarder>,
    subscriber_id: String,
    control: Arc<DownControl>,
    task: tokio::task::JoinHandle<()>,
}

impl DownTrack {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn spawn(
        forwarder: Arc<TrackForwarder>,
        subscriber_id: &str,
        control: Arc<DownControl>,
        rx: mpsc::Receiver<Forwarded>,
        local: Arc<TrackLocalStaticRTP>,
        sender: Arc<dyn RtpSender>,
        ssrc: u32,
        downlink: Arc<Downlink>,
    ) -> Self {
        let writer = DownWriter {
            forwarder: forwarder.clone(),
            local,
            sender,
            ssrc,
            payload_type: None,
            extension_map: Vec::new(),
            downlink,
        };
        let rewriter = RtpRewriter::new(forwarder.codec.clock_rate);
        let task = tokio::spawn(down_track_loop(writer, rewriter, control.clone(), rx));
        Self {
            forwarder,
            subscriber_id: subscriber_id.to_owned(),
            control,
            task,
        }
    }

    /// Moves to `layer` (at its next keyframe); `None` pauses this down track.
    pub fn set_target(&self, layer: Option<u8>) {
        self.control.set_target(layer);
    }

    pub fn target(&self) -> Option<u8> {
        self.control.target()
    }

    /// The layer being forwarded now.
    pub fn current(&self) -> Option<u8> {
        self.control.current()
    }
}

impl Drop for DownTrack {
    fn drop(&mut self) {
        self.forwarder.detach(&self.subscriber_id);
        self.task.abort();
    }
}

async fn down_track_loop(
    mut out: DownWriter,
    mut rewriter: RtpRewriter,
    control: Arc<DownControl>,
    mut rx: mpsc::Receiver<Forwarded>,
) {
    let forwarder = out.forwarder.clone();
    let local = out.local.clone();
    let mut asked: Option<Instant> = None;
    // `poll` answers `None` at once while the track is unbound; listen again once a write
    // succeeds (the track is bound then).
    let mut listening = true;
    loop {
        tokio::select! {
            item = rx.recv() => {
                let Some(item) = item else { break };
                if !out.downlink.is_connected() {
                    continue;
                }
                let target = control.target();
                if target != rewriter.target() {
                    tracing::debug!(track = %forwarder.id(), ?target, current = ?rewriter.current(), "down track target");
                    rewriter.set_target(target);
                }
                let was = rewriter.current();
                let verdict = rewriter.rewrite(item.at, &Incoming {
                    layer: item.layer,
                    sequence_number: item.packet.header.sequence_number,
                    timestamp: item.packet.header.timestamp,
                    keyframe_start: item.keyframe_start,
                    picture_id: item.vp8.and_then(|d| d.picture_id),
                    tl0_pic_idx: item.vp8.and_then(|d| d.tl0_pic_idx),
                });
                if rewriter.current() != was {
                    tracing::debug!(track = %forwarder.id(), from = ?was, to = ?rewriter.current(), seq = item.packet.header.sequence_number, "down track switched layer");
                }
                control.forwarding(rewriter.current(), rewriter.target());
                if was.is_none() && rewriter.current().is_some() && !item.keyframe {
                    // Started (or resumed) mid-stream: the decoder needs a keyframe first.
                    if let Some(layer) = rewriter.current() {
                        asked = Some(item.at);
                        forwarder.request_keyframe(layer);
                    }
                } else if let Some(layer) = rewriter.wants_keyframe() {
                    if asked.is_none_or(|t| item.at.saturating_duration_since(t) >= KEYFRAME_ASK) {
                        asked = Some(item.at);
                        forwarder.request_keyframe(layer);
                    }
                }
                if let Verdict::Forward(rewrite) = verdict {
                    if out.write(item.packet, rewrite, item.vp8).await {
                        listening = true;
                    }
                }
            }
            event = local.poll(), if listening => match event {
                Some(TrackLocalEvent::OnRtcpPacket(packets)) => {
                    let wants_keyframe = packets.iter().any(|p| {
                        let a = p.as_any();
                        a.is::<PictureLossIndication>() || a.is::<FullIntraRequest>()
                    });
                    if wants_keyframe {
                        Metrics::add(&forwarder.metrics().keyframe_requests_received, 1);
                        // The subscriber lost what it decodes now: that layer's keyframe.
                        if let Some(layer) = rewriter.current() {
                            forwarder.request_keyframe(layer);
                        }
                    }
                }
                Some(_) => {}
                None => listening = false,
            },
        }
    }
}

struct DownWriter {
    forwarder: Arc<TrackForwarder>,
    local: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
    payload_type: Option<u8>,
    /// Publisher's extension id → this subscriber's, for the extensions kept.
    extension_map: Vec<(u8, u8)>,
    downlink: Arc<Downlink>,
}

impl DownWriter {
    /// Writes one packet with the rewriter's fields; whether it went out.
    async fn write(
        &mut self,
        mut packet: rtp::Packet,
        rewrite: Rewrite,
        vp8: Option<Vp8Descriptor>,
    ) -> bool {
        if self.payload_type.is_none() {
            self.payload_type = negotiated_payload_type(&self.sender, &self.forwarder.codec).await;
            self.extension_map = extension_map(&self.sender, &self.forwarder).await;
        }
        let Some(pt) = self.payload_type else {
            return false;
        };
        packet.header.ssrc = self.ssrc;
        packet.header.payload_type = pt;
        packet.header.sequence_number = rewrite.sequence_number;
        packet.header.timestamp = rewrite.timestamp;
        if let (Some((picture_id, tl0)), Some(d)) = (rewrite.vp8, vp8) {
            // Only after a layer switch do the ids differ: then this subscriber needs its
            // own copy of the payload.
            let mut payload = packet.payload.to_vec();
            d.rewrite(&mut payload, picture_id, tl0);
            packet.payload = Bytes::from(payload);
        }
        // Extension ids are per connection (Chrome's audio transport-cc is 3 towards us, 4 on
        // our subscriber leg): the end-to-end ones (audio level, video orientation) are kept
        // under the subscriber's ids; the hop-by-hop ones (transport-cc, abs-send-time, MID,
        // RID) our own interceptors write.
        let map = &self.extension_map;
        packet
            .header
            .extensions
            .retain_mut(|e| match map.iter().find(|(from, _)| *from == e.id) {
                Some((_, to)) => {
                    e.id = *to;
                    true
                }
                None => false,
            });
        packet.header.extensions_padding = 0;
        if packet.header.extensions.is_empty() {
            packet.header.extension = false;
            packet.header.extension_profile = 0;
        } else {
            packet.header.extension = true;
            if packet
                .header
                .extensions
                .iter()
                .all(|e| e.id <= 14 && e.payload.len() <= 16)
            {
                packet.header.extension_profile = rtp::header::EXTENSION_PROFILE_ONE_BYTE;
            } else {
                packet.header.extension_profile = rtp::header::EXTENSION_PROFILE_TWO_BYTE;
            }
        }
        let bytes = packet.payload.len() as u64;
        let metrics = self.forwarder.metrics();
        match self.local.write_rtp(packet).await {
            Ok(()) => {
                Metrics::add(&metrics.packets_forwarded, 1);
                Metrics::add(&metrics.bytes_forwarded, bytes);
                true
            }
            // Unbound, or renegotiated with another payload type: look it up again.
            Err(_) => {
                self.payload_type = None;
                false
            }
        }
    }
}

/// For each extension `forwarder` keeps, the publisher's id → the id this sender negotiated
/// for the same URI (extensions the subscriber did not negotiate are left out).
async fn extension_map(sender: &Arc<dyn RtpSender>, forwarder: &TrackForwarder) -> Vec<(u8, u8)> {
    let kept = forwarder.forwarded_extensions();
    if kept.is_empty() {
        return Vec::new();
    }
    let Ok(params) = sender.get_parameters().await else {
        return Vec::new();
    };
    let negotiated = &params.rtp_parameters.header_extensions;
    kept.iter()
        .filter_map(|(from, uri)| {
            let to = negotiated.iter().find(|e| e.uri == *uri)?.id;
            u8::try_from(to).ok().map(|to| (*from, to))
        })
        .collect()
}

/// The payload type this sender negotiated for `codec`, once negotiation is done.
pub async fn negotiated_payload_type(
    sender: &Arc<dyn RtpSender>,
    codec: &RTCRtpCodec,
) -> Option<u8> {
    let params = sender.get_parameters().await.ok()?;
    let codecs = &params.rtp_parameters.codecs;
    let same_mime = |c: &&rtc::rtp_transceiver::rtp_sender::RTCRtpCodecParameters| {
        c.rtp_codec.mime_type.eq_ignore_ascii_case(&codec.mime_type)
    };
    codecs
        .iter()
        .filter(same_mime)
        .find(|c| c.rtp_codec.sdp_fmtp_line == codec.sdp_fmtp_line)
        .or_else(|| codecs.iter().find(same_mime))
        .map(|c| c.payload_type)
}
