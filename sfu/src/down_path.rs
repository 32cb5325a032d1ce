//! One published track's packets on their way to one subscriber, run synchronously by the
//! forwarder's loop right where the publisher's packet was read: the [`RtpRewriter`] (layer
//! switches at keyframes, continuous numbering), the subscriber's SSRC, payload type and
//! extension ids, and a non-blocking write into the subscriber connection's queue. No task,
//! channel or lock per subscriber; the payload is shared, not copied (unless a layer switch
//! gave this subscriber its own VP8 picture ids).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::rtp;
use tokio::sync::Notify;
use webrtc::media_stream::track_local::static_rtp::{TrackLocalStaticRTP, TryWriteError};

use crate::down_track::DownControl;
use crate::downlink::Downlink;
use crate::rewriter::{Incoming, Rewrite, RtpRewriter, Verdict};
use crate::vp8::Vp8Descriptor;

/// While a switch waits for its keyframe, ask again this often (the forwarder's own limit
/// per layer still applies, shared by every subscriber).
const KEYFRAME_ASK: Duration = Duration::from_millis(300);
/// While the subscriber's sender is not bound, look its parameters up again this often.
const BIND_ASK: Duration = Duration::from_millis(50);

/// Where a down path's packets go: the subscriber connection's send queue.
pub trait DownSink: Send + Sync {
    /// Queues `packet` without waiting; a full queue loses it.
    fn try_write(&self, packet: rtp::Packet) -> Result<(), TryWriteError>;
}

impl DownSink for TrackLocalStaticRTP {
    fn try_write(&self, packet: rtp::Packet) -> Result<(), TryWriteError> {
        self.try_write_rtp(packet)
    }
}

/// One packet of one layer, as the forwarder hands it to its down paths.
pub struct Forwarded<'a> {
    pub layer: u8,
    /// The first packet of a keyframe (always set for audio and codecs we do not parse).
    pub keyframe: bool,
    /// Forwarding may start here: a keyframe for simulcast, any packet of a single stream.
    pub keyframe_start: bool,
    pub vp8: Option<Vp8Descriptor>,
    pub at: Instant,
    pub packet: &'a rtp::Packet,
}

/// What the subscriber's sender negotiated, looked up off the packet path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub payload_type: u8,
    /// Publisher's extension id → this subscriber's, for the extensions kept.
    pub extension_map: Vec<(u8, u8)>,
}

/// What became of one packet on one down path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Queued for the subscriber: this many payload bytes.
    Sent(usize),
    /// The subscriber's queue was full: lost for this subscriber only.
    Dropped,
    /// Not this subscriber's (another layer, before a keyframe, not connected or bound).
    Skipped,
}

/// A down path's verdict on one packet, and the layer it needs a keyframe of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub written: Written,
    pub keyframe_request: Option<u8>,
}

/// One track flowing to one subscriber, owned by the forwarder's loop.
pub struct DownPath {
    pub(crate) key: u64,
    control: Arc<DownControl>,
    downlink: Arc<Downlink>,
    sink: Arc<dyn DownSink>,
    ssrc: u32,
    binding: Option<Binding>,
    /// Wakes the down track's task to look the binding up.
    bind_wanted: Arc<Notify>,
    bind_asked: Option<Instant>,
    rewriter: RtpRewriter,
    keyframe_asked: Option<Instant>,
}

impl DownPath {
    pub fn new(
        key: u64,
        control: Arc<DownControl>,
        downlink: Arc<Downlink>,
        sink: Arc<dyn DownSink>,
        ssrc: u32,
        clock_rate: u32,
        bind_wanted: Arc<Notify>,
    ) -> Self {
        Self {
            key,
            control,
            downlink,
            sink,
            ssrc,
            binding: None,
            bind_wanted,
            bind_asked: None,
            rewriter: RtpRewriter::new(clock_rate),
            keyframe_asked: None,
        }
    }

    /// The layers this path takes packets of, as a bit mask.
    pub fn mask(&self) -> u8 {
        self.control.mask()
    }

    pub fn set_binding(&mut self, binding: Option<Binding>) {
        self.binding = binding;
    }

    /// Rewrites `item` for this subscriber and queues it.
    pub fn forward(&mut self, item: &Forwarded<'_>) -> Outcome {
        let mut out = Outcome {
            written: Written::Skipped,
            keyframe_request: None,
        };
        if !self.downlink.is_connected() {
            return out;
        }
        let target = self.control.target();
        if target != self.rewriter.target() {
            tracing::debug!(ssrc = self.ssrc, ?target, current = ?self.rewriter.current(), "down track target");
            self.rewriter.set_target(target);
        }
        let was = self.rewriter.current();
        let verdict = self.rewriter.rewrite(
            item.at,
            &Incoming {
                layer: item.layer,
                sequence_number: item.packet.header.sequence_number,
                timestamp: item.packet.header.timestamp,
                keyframe_start: item.keyframe_start,
                picture_id: item.vp8.and_then(|d| d.picture_id),
                tl0_pic_idx: item.vp8.and_then(|d| d.tl0_pic_idx),
            },
        );
        let current = self.rewriter.current();
        if current != was {
            tracing::debug!(ssrc = self.ssrc, from = ?was, to = ?current, seq = item.packet.header.sequence_number, "down track switched layer");
        }
        self.control.forwarding(current, self.rewriter.target());
        if was.is_none() && current.is_some() && !item.keyframe {
            // Started (or resumed) mid-stream: the decoder needs a keyframe first.
            self.keyframe_asked = Some(item.at);
            out.keyframe_request = current;
        } else if let Some(layer) = self.rewriter.wants_keyframe() {
            if self
                .keyframe_asked
                .is_none_or(|t| item.at.saturating_duration_since(t) >= KEYFRAME_ASK)
            {
                self.keyframe_asked = Some(item.at);
                out.keyframe_request = Some(layer);
            }
        }
        let Verdict::Forward(rewrite) = verdict else {
            return out;
        };
        let Some(binding) = &self.binding else {
            self.ask_binding(item.at);
            return out;
        };
        let packet = rewritten(item, binding, self.ssrc, rewrite);
        let bytes = packet.payload.len();
        out.written = match self.sink.try_write(packet) {
            Ok(()) => Written::Sent(bytes),
            Err(TryWriteError::Full) => Written::Dropped,
            // Unbound, or renegotiated: look the parameters up again.
            Err(TryWriteError::Unbound) => {
                self.binding = None;
                self.ask_binding(item.at);
                Written::Skipped
            }
        };
        out
    }

    fn ask_binding(&mut self, now: Instant) {
        if self
            .bind_asked
            .is_none_or(|t| now.saturating_duration_since(t) >= BIND_ASK)
        {
            self.bind_asked = Some(now);
            self.bind_wanted.notify_one();
        }
    }
}

/// The subscriber's copy of `item`: a new header, the shared payload.
fn rewritten(item: &Forwarded<'_>, binding: &Binding, ssrc: u32, rewrite: Rewrite) -> rtp::Packet {
    let from = &item.packet.header;
    // Extension ids are per connection (Chrome's audio transport-cc is 3 towards us, 4 on
    // our subscriber leg): the end-to-end ones (audio level, video orientation) are kept
    // under the subscriber's ids; the hop-by-hop ones (transport-cc, abs-send-time, MID,
    // RID) our own interceptors write.
    let mut extensions = Vec::new();
    if !binding.extension_map.is_empty() {
        for e in &from.extensions {
            if let Some((_, to)) = binding.extension_map.iter().find(|(f, _)| *f == e.id) {
                extensions.push(rtp::header::Extension {
                    id: *to,
                    payload: e.payload.clone(),
                });
            }
        }
    }
    let extension_profile = if extensions.is_empty() {
        0
    } else if extensions
        .iter()
        .all(|e| e.id <= 14 && e.payload.len() <= 16)
    {
        rtp::header::EXTENSION_PROFILE_ONE_BYTE
    } else {
        rtp::header::EXTENSION_PROFILE_TWO_BYTE
    };
    let mut payload = item.packet.payload.clone();
    if let (Some((picture_id, tl0)), Some(d)) = (rewrite.vp8, item.vp8) {
        // Only after a layer switch do the ids differ: then this subscriber needs its own
        // copy of the payload.
        let mut own = payload.to_vec();
        d.rewrite(&mut own, picture_id, tl0);
        payload = Bytes::from(own);
    }
    rtp::Packet {
        header: rtp::header::Header {
            version: from.version,
            padding: from.padding,
            extension: !extensions.is_empty(),
            marker: from.marker,
            payload_type: binding.payload_type,
            sequence_number: rewrite.sequence_number,
            timestamp: rewrite.timestamp,
            ssrc,
            csrc: from.csrc.clone(),
            extension_profile,
            extensions,
            extensions_padding: 0,
        },
        payload,
    }
}
