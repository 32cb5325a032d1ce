//! One published track flowing to one subscriber, as the room holds it: the [`DownTrack`]
//! handle sets the layer it should get, and its task does what must not happen per packet —
//! it looks up what the subscriber's sender negotiated (payload type, extension ids) for the
//! forwarder's [`DownPath`], and passes the subscriber's keyframe requests up to the
//! publisher for the layer being forwarded. The packets themselves never pass through it.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::RTCRtpCodec;
use tokio::sync::Notify;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::rtp_transceiver::RtpSender;

use crate::down_path::{Binding, DownPath};
use crate::fanout::Change;
use crate::forwarder::{layer_bit, TrackForwarder};
use crate::metrics::Metrics;

/// `AtomicU8` encoding of "no layer".
const NONE: u8 = u8::MAX;
/// While the sender is not bound its feedback cannot be read: look again this often.
const UNBOUND_RETRY: Duration = Duration::from_millis(100);

/// What the room shares with a down path, lock-free.
pub struct DownControl {
    target: AtomicU8,
    current: AtomicU8,
    /// Layers the forwarder should hand over: the current one and the target.
    mask: AtomicU8,
    /// The subscriber answered an offer carrying this track. Until then its sender's
    /// parameters are only the offer's, so nothing may be sent on it.
    negotiated: AtomicBool,
}

fn encode(layer: Option<u8>) -> u8 {
    layer.unwrap_or(NONE)
}

fn decode(v: u8) -> Option<u8> {
    (v != NONE).then_some(v)
}

impl DownControl {
    pub(crate) fn new(target: Option<u8>) -> Self {
        Self {
            target: AtomicU8::new(encode(target)),
            current: AtomicU8::new(NONE),
            mask: AtomicU8::new(layer_bit(target)),
            negotiated: AtomicBool::new(false),
        }
    }

    /// The layers this down track takes packets of, as a bit mask.
    pub fn mask(&self) -> u8 {
        self.mask.load(Ordering::Relaxed)
    }

    pub(crate) fn target(&self) -> Option<u8> {
        decode(self.target.load(Ordering::Relaxed))
    }

    fn is_negotiated(&self) -> bool {
        self.negotiated.load(Ordering::Relaxed)
    }

    pub(crate) fn current(&self) -> Option<u8> {
        decode(self.current.load(Ordering::Relaxed))
    }

    fn set_target(&self, layer: Option<u8>) {
        self.target.store(encode(layer), Ordering::Relaxed);
        // The path updates the mask on its next packet, but a new target's packets must
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

    pub(crate) fn forwarding(&self, current: Option<u8>, target: Option<u8>) {
        self.current.store(encode(current), Ordering::Relaxed);
        self.mask
            .store(layer_bit(current) | layer_bit(target), Ordering::Relaxed);
    }
}

/// One track flowing to one subscriber; dropping it stops the flow.
pub struct DownTrack {
    pub forwarder: Arc<TrackForwarder>,
    key: u64,
    changes: mpsc::Sender<Change>,
    control: Arc<DownControl>,
    bind_wanted: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

/// What a [`DownTrack`] is made of: the subscriber's track and sender, and its SSRC.
pub struct DownTrackParts {
    pub local: Arc<TrackLocalStaticRTP>,
    pub sender: Arc<dyn RtpSender>,
    pub ssrc: u32,
}

impl DownTrack {
    /// Hands `path` to the forwarder's loop and starts the task that serves it.
    pub(crate) fn start(
        forwarder: Arc<TrackForwarder>,
        changes: mpsc::Sender<Change>,
        path: DownPath,
        control: Arc<DownControl>,
        bind_wanted: Arc<Notify>,
        parts: DownTrackParts,
    ) -> Self {
        let key = path.key;
        // The loop is gone once the track ended: then there is nothing to forward anyway.
        let _ = changes.send(Change::Attach(path));
        let task = tokio::spawn(down_track_task(
            forwarder.clone(),
            key,
            changes.clone(),
            control.clone(),
            bind_wanted.clone(),
            parts,
        ));
        Self {
            forwarder,
            key,
            changes,
            control,
            bind_wanted,
            task,
        }
    }

    /// The subscriber's answer to an offer carrying this track was applied: it may bind
    /// (now, rather than at the path's next ask).
    pub fn mark_negotiated(&self) {
        if !self.control.negotiated.swap(true, Ordering::Relaxed) {
            self.bind_wanted.notify_one();
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
        let _ = self.changes.send(Change::Detach(self.key));
        self.task.abort();
    }
}

/// Looks the sender's parameters up whenever the path asks (first packet, renegotiation),
/// and relays the subscriber's keyframe requests.
async fn down_track_task(
    forwarder: Arc<TrackForwarder>,
    key: u64,
    changes: mpsc::Sender<Change>,
    control: Arc<DownControl>,
    bind_wanted: Arc<Notify>,
    parts: DownTrackParts,
) {
    let DownTrackParts { local, sender, .. } = parts;
    // `poll` answers `None` at once while the track is unbound.
    let mut readable = true;
    loop {
        tokio::select! {
            () = bind_wanted.notified() => {
                // Before the answer the sender's codecs are the offer's: a codec the
                // subscriber then refuses would already be on the wire.
                if !control.is_negotiated() {
                    continue;
                }
                let binding = binding(&sender, &forwarder).await;
                readable = true;
                if changes.send(Change::Bound(key, binding)).is_err() {
                    break;
                }
            }
            () = tokio::time::sleep(UNBOUND_RETRY), if !readable => readable = true,
            event = local.poll(), if readable => match event {
                Some(TrackLocalEvent::OnRtcpPacket(packets)) => {
                    let wants_keyframe = packets.iter().any(|p| {
                        let a = p.as_any();
                        a.is::<PictureLossIndication>() || a.is::<FullIntraRequest>()
                    });
                    if wants_keyframe {
                        Metrics::add(&forwarder.metrics().keyframe_requests_received, 1);
                        // The subscriber lost what it decodes now: that layer's keyframe.
                        if let Some(layer) = control.current() {
                            forwarder.request_keyframe(layer);
                        }
                    }
                }
                Some(_) => {}
                // Not bound (yet, or any more): nothing to read until it is.
                None => readable = false,
            },
        }
    }
}

/// What `sender` negotiated for `forwarder`'s codec and extensions, once it has.
async fn binding(sender: &Arc<dyn RtpSender>, forwarder: &TrackForwarder) -> Option<Binding> {
    let payload_type = negotiated_payload_type(sender, &forwarder.codec).await?;
    let extension_map = extension_map(sender, forwarder).await;
    Some(Binding {
        payload_type,
        extension_map,
    })
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
