//! Forwarding one published track to its subscribers.
//!
//! A [`TrackForwarder`] reads the publisher's RTP and hands each packet to every subscriber's
//! [`DownTrack`] through a bounded queue with `try_send`: a subscriber that cannot keep up
//! loses its own packets (counted) and never slows the others. The hot path takes one
//! uncontended read lock to snapshot the subscriber list and allocates nothing beyond the
//! packet clone the send API needs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::mpsc;
use veet_core::protocol::{TrackInfo, TrackKind};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::rtp_transceiver::RtpSender;

use crate::metrics::Metrics;

/// Packets queued per subscriber and track before that subscriber starts losing packets:
/// about half a second of 1.5 Mbit/s video.
const DOWN_QUEUE: usize = 256;
/// Keyframe requests to one publisher are at most this frequent.
const PLI_INTERVAL: Duration = Duration::from_millis(500);

struct Subscriber {
    id: String,
    tx: mpsc::Sender<rtp::Packet>,
}

/// One published track and its subscribers.
pub struct TrackForwarder {
    pub info: Mutex<TrackInfo>,
    pub publisher_id: String,
    pub codec: RTCRtpCodec,
    remote: Arc<dyn TrackRemote>,
    media_ssrc: u32,
    subscribers: RwLock<Arc<Vec<Subscriber>>>,
    keyframes: Mutex<KeyframeLimiter>,
    keyframe_pending: AtomicBool,
    metrics: Arc<Metrics>,
}

/// When the last PLI went out.
struct KeyframeLimiter {
    last: Option<Instant>,
}

impl TrackForwarder {
    /// A forwarder for `remote`; [`TrackForwarder::run`] must be spawned to move packets.
    pub fn new(
        info: TrackInfo,
        publisher_id: String,
        codec: RTCRtpCodec,
        remote: Arc<dyn TrackRemote>,
        media_ssrc: u32,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            info: Mutex::new(info),
            publisher_id,
            codec,
            remote,
            media_ssrc,
            subscribers: RwLock::new(Arc::new(Vec::new())),
            keyframes: Mutex::new(KeyframeLimiter { last: None }),
            keyframe_pending: AtomicBool::new(false),
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

    pub fn is_video(&self) -> bool {
        self.track_info().kind == TrackKind::Video
    }

    /// Reads the publisher's packets until the track ends, fanning them out.
    pub async fn run(self: Arc<Self>) {
        while let Some(event) = self.remote.poll().await {
            match event {
                TrackRemoteEvent::OnRtpPacket(packet) => self.fan_out(packet),
                TrackRemoteEvent::OnEnded => break,
                _ => {}
            }
        }
        // Dropping the senders ends every down track's task.
        *self.subscribers.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Vec::new());
    }

    fn fan_out(&self, packet: rtp::Packet) {
        Metrics::add(&self.metrics.packets_received, 1);
        Metrics::add(&self.metrics.bytes_received, packet.payload.len() as u64);
        let subscribers = self
            .subscribers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for s in subscribers.iter() {
            if let Err(mpsc::error::TrySendError::Full(_)) = s.tx.try_send(packet.clone()) {
                Metrics::add(&self.metrics.packets_dropped, 1);
            }
        }
    }

    /// Swaps in a new subscriber list: everyone but `subscriber_id`, plus `add` for it.
    /// Copy-on-write, so the packet path only ever clones an `Arc`.
    fn replace_subscriber(&self, subscriber_id: &str, add: Option<mpsc::Sender<rtp::Packet>>) {
        let mut guard = self.subscribers.write().unwrap_or_else(|e| e.into_inner());
        let mut next: Vec<Subscriber> = guard
            .iter()
            .filter(|s| s.id != subscriber_id)
            .map(|s| Subscriber {
                id: s.id.clone(),
                tx: s.tx.clone(),
            })
            .collect();
        if let Some(tx) = add {
            next.push(Subscriber {
                id: subscriber_id.to_owned(),
                tx,
            });
        }
        *guard = Arc::new(next);
    }

    /// Stops forwarding to a subscriber.
    pub fn detach(&self, subscriber_id: &str) {
        self.replace_subscriber(subscriber_id, None);
    }

    /// Asks the publisher for a keyframe, at most once per [`PLI_INTERVAL`]; a request inside
    /// the interval is sent when it ends, so none is lost.
    pub fn request_keyframe(self: &Arc<Self>) {
        if !self.is_video() {
            return;
        }
        let wait = {
            let mut k = self.keyframes.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            match k.last {
                Some(last) if now.duration_since(last) < PLI_INTERVAL => {
                    Some(PLI_INTERVAL - now.duration_since(last))
                }
                _ => {
                    k.last = Some(now);
                    None
                }
            }
        };
        match wait {
            None => self.send_pli(),
            Some(delay) => {
                if self.keyframe_pending.swap(true, Ordering::AcqRel) {
                    return;
                }
                let this = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    this.keyframe_pending.store(false, Ordering::Release);
                    this.keyframes
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .last = Some(Instant::now());
                    this.send_pli();
                });
            }
        }
    }

    fn send_pli(self: &Arc<Self>) {
        Metrics::add(&self.metrics.plis_sent, 1);
        let remote = self.remote.clone();
        let media_ssrc = self.media_ssrc;
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

    /// Starts forwarding to a subscriber through `local`, added to its connection as `sender`.
    /// Packets are dropped until `connected` is set: before DTLS is up there are no SRTP
    /// keys to send with.
    pub fn subscribe(
        self: &Arc<Self>,
        subscriber_id: &str,
        local: Arc<TrackLocalStaticRTP>,
        ssrc: u32,
        sender: Arc<dyn RtpSender>,
        connected: Arc<AtomicBool>,
    ) -> DownTrack {
        let (tx, rx) = mpsc::channel(DOWN_QUEUE);
        self.replace_subscriber(subscriber_id, Some(tx));
        let writer = DownWriter {
            forwarder: self.clone(),
            local,
            sender,
            ssrc,
            payload_type: None,
            connected,
        };
        let task = tokio::spawn(down_track_loop(writer, rx));
        DownTrack {
            forwarder: self.clone(),
            subscriber_id: subscriber_id.to_owned(),
            task,
        }
    }
}

/// One track flowing to one subscriber; dropping it stops the flow.
pub struct DownTrack {
    pub forwarder: Arc<TrackForwarder>,
    subscriber_id: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DownTrack {
    fn drop(&mut self) {
        self.forwarder.detach(&self.subscriber_id);
        self.task.abort();
    }
}

/// Rewrites SSRC and payload type for the subscriber's negotiated codec and writes packets;
/// meanwhile passes the subscriber's keyframe requests up to the publisher.
async fn down_track_loop(mut out: DownWriter, mut rx: mpsc::Receiver<rtp::Packet>) {
    let forwarder = out.forwarder.clone();
    let local = out.local.clone();
    // `poll` answers `None` at once while the track is unbound; listen again once a write
    // succeeds (the track is bound then).
    let mut listening = true;
    loop {
        tokio::select! {
            packet = rx.recv() => {
                let Some(packet) = packet else { break };
                if out.write(packet).await {
                    listening = true;
                }
            }
            event = local.poll(), if listening => match event {
                Some(TrackLocalEvent::OnRtcpPacket(packets)) => {
                    let wants_keyframe = packets.iter().any(|p| {
                        let a = p.as_any();
                        a.is::<PictureLossIndication>() || a.is::<FullIntraRequest>()
                    });
                    if wants_keyframe {
                        Metrics::add(&forwarder.metrics.keyframe_requests_received, 1);
                        forwarder.request_keyframe();
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
    connected: Arc<AtomicBool>,
}

impl DownWriter {
    /// Writes one packet; whether it went out.
    async fn write(&mut self, mut packet: rtp::Packet) -> bool {
        if !self.connected.load(Ordering::Relaxed) {
            return false;
        }
        if self.payload_type.is_none() {
            self.payload_type = negotiated_payload_type(&self.sender, &self.forwarder.codec).await;
        }
        let Some(pt) = self.payload_type else {
            return false;
        };
        packet.header.ssrc = self.ssrc;
        packet.header.payload_type = pt;
        // Extension ids are per connection (Chrome's audio transport-cc is 3 towards us, 4 on
        // our subscriber leg): carrying the publisher's ids over would mislabel or reject
        // them, so the subscriber leg gets only what its own interceptors add.
        packet.header.extension = false;
        packet.header.extension_profile = 0;
        packet.header.extensions.clear();
        packet.header.extensions_padding = 0;
        let bytes = packet.payload.len() as u64;
        match self.local.write_rtp(packet).await {
            Ok(()) => {
                Metrics::add(&self.forwarder.metrics.packets_forwarded, 1);
                Metrics::add(&self.forwarder.metrics.bytes_forwarded, bytes);
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
