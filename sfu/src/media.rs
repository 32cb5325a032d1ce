//! Building peer connections: codecs, interceptors (NACK/RTX, RTCP reports, TWCC, and a tap
//! that hands keyframe requests to the SFU), network settings.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use rtc::interceptor::{Attribute, Packet, Registry, Slot, TaggedPacket};
use rtc::interceptor::{
    NackGeneratorBuilder, NackResponderBuilder, ReceiverReportBuilder, SenderReportBuilder,
    TwccReceiverBuilder,
};
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_simulcast_extension_headers, configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::transport::RTCIceServer;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use webrtc::peer_connection::{PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler};
use webrtc::runtime::Runtime;

use crate::config::SfuConfig;
use crate::downlink::{DownlinkMeter, DownlinkTap};
use crate::metrics::Metrics;
use crate::tap::{PacketTap, Tap};

/// The RFC 6464 client-to-mixer audio level header extension.
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// Video orientation (3GPP TS 26.114): receivers rotate phone video by it.
pub const VIDEO_ORIENTATION_URI: &str = "urn:3gpp:video-orientation";

/// The id an SDP gives the header extension `uri`, if it offers it.
pub fn extension_id(sdp: &str, uri: &str) -> Option<u8> {
    sdp.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("a=extmap:")?;
        let (id, rest) = rest.split_once(' ')?;
        let id = id.split('/').next()?.parse::<u8>().ok()?;
        (rest.split_whitespace().next()? == uri).then_some(id)
    })
}

/// Builds the node's peer connections with one set of media and network settings.
pub struct PeerFactory {
    config: Arc<SfuConfig>,
    runtime: Arc<dyn Runtime>,
    metrics: Arc<Metrics>,
    next_port: AtomicU32,
    extra_interceptors: Option<RegistryHook>,
}

/// Which way media flows on a connection. Every outbound packet passes every interceptor of
/// the chain, each moving it through its own queue, so a connection gets only the ones its
/// direction uses: a node's publisher connection only receives, its subscriber connection only
/// sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaFlow {
    /// Receives media: NACK generator, TWCC feedback, receiver reports.
    Inbound,
    /// Sends media: NACK responder (retransmissions), sender reports.
    Outbound,
    /// Both (a synthetic client's connections, tests).
    Both,
}

impl MediaFlow {
    fn receives(self) -> bool {
        self != MediaFlow::Outbound
    }

    fn sends(self) -> bool {
        self != MediaFlow::Inbound
    }
}

/// Adds interceptors of the caller's own to every connection's chain (the synthetic peer's
/// policed link, for one).
pub type RegistryHook = Arc<dyn Fn(Registry) -> Registry + Send + Sync>;

impl PeerFactory {
    pub fn new(config: Arc<SfuConfig>, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let runtime = webrtc::runtime::default_runtime()
            .ok_or_else(|| anyhow::anyhow!("webrtc was built without a runtime"))?;
        Ok(Self {
            config,
            runtime,
            metrics,
            next_port: AtomicU32::new(0),
            extra_interceptors: None,
        })
    }

    /// Every connection built from now on also gets what `hook` adds to its chain.
    pub fn with_interceptors(mut self, hook: RegistryHook) -> Self {
        self.extra_interceptors = Some(hook);
        self
    }

    /// A new peer connection reporting to `handler`, media flowing both ways.
    pub async fn build(
        &self,
        handler: Arc<dyn PeerConnectionEventHandler>,
    ) -> anyhow::Result<Arc<dyn PeerConnection>> {
        self.build_with(handler, MediaFlow::Both, None).await
    }

    /// A new peer connection for media flowing `flow`; the receiver reports (of what this
    /// end sends) are counted in `downlink`, if given.
    pub async fn build_with(
        &self,
        handler: Arc<dyn PeerConnectionEventHandler>,
        flow: MediaFlow,
        downlink: Option<Arc<DownlinkMeter>>,
    ) -> anyhow::Result<Arc<dyn PeerConnection>> {
        let attempts = match self.config.udp_ports {
            Some((lo, hi)) => u32::from(hi - lo) + 1,
            None => 1,
        };
        let mut last_err = None;
        // A port of the range may be taken (by a socket not yet released, or another
        // process): walk on until one binds.
        for _ in 0..attempts.min(64) {
            match self
                .try_build(handler.clone(), self.pick_port(), flow, downlink.clone())
                .await
            {
                Ok(pc) => return Ok(pc),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("no UDP port could be bound")))
    }

    /// A local ICE candidate as clients must see it: with a public IP configured (NAT 1:1,
    /// as on EC2), host candidates carry that address. webrtc-rs 0.21 gathers host candidates
    /// from the bound sockets only, so the node announces the mapping itself; traffic to the
    /// public address reaches the socket through the 1:1 NAT.
    pub fn public_candidate(&self, candidate: &str) -> String {
        let Some(public) = self.config.public_ips.first() else {
            return candidate.to_owned();
        };
        let mut fields: Vec<&str> = candidate.split(' ').collect();
        let is_host = fields.windows(2).any(|w| w[0] == "typ" && w[1] == "host");
        if is_host && fields.len() > 4 {
            fields[4] = public;
        }
        fields.join(" ")
    }

    /// An SDP with its candidate lines passed through [`Self::public_candidate`].
    pub fn public_sdp(&self, sdp: &str) -> String {
        if self.config.public_ips.is_empty() {
            return sdp.to_owned();
        }
        sdp.split("\r\n")
            .map(|line| match line.strip_prefix("a=") {
                Some(c) if c.starts_with("candidate:") => format!("a={}", self.public_candidate(c)),
                _ => line.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\r\n")
    }

    fn pick_port(&self) -> u16 {
        match self.config.udp_ports {
            Some((lo, hi)) => {
                let span = u32::from(hi - lo) + 1;
                let n = self.next_port.fetch_add(1, Ordering::Relaxed) % span;
                lo + n as u16
            }
            None => 0,
        }
    }

    async fn try_build(
        &self,
        handler: Arc<dyn PeerConnectionEventHandler>,
        port: u16,
        flow: MediaFlow,
        downlink: Option<Arc<DownlinkMeter>>,
    ) -> anyhow::Result<Arc<dyn PeerConnection>> {
        let mut media = MediaEngine::default();
        media.register_default_codecs()?;
        // Publishers' audio levels drive the active speaker (RFC 6464).
        media.register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: AUDIO_LEVEL_URI.to_owned(),
            },
            RtpCodecKind::Audio,
            None,
        )?;
        // Forwarded to subscribers, so phone video is not shown sideways.
        media.register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: VIDEO_ORIENTATION_URI.to_owned(),
            },
            RtpCodecKind::Video,
            None,
        )?;
        let registry = interceptors(&mut media, flow)?;
        // Application-most slot: every interceptor has seen inbound RTCP before the tap.
        let mut registry = registry.with(
            Slot::from(14_000),
            Tap::new(RtcpTap {
                metrics: self.metrics.clone(),
            }),
        );
        if let Some(meter) = downlink {
            // Wire-side of the NACK responder: it sees the retransmissions go out and the
            // NACKs come in before the responder does.
            registry = registry.with(Slot::from(3_500), Tap::new(DownlinkTap::new(meter)));
        }
        if let Some(hook) = &self.extra_interceptors {
            registry = hook(registry);
        }
        // rtc paces connectivity checks 200 ms apart, which makes each connection's setup
        // take ≈ 200 ms even on loopback; RFC 8445's pacing (Ta) is 50 ms, as browsers use.
        // The attempts are raised so a candidate is still tried for 1.4 s.
        let mut settings = SettingEngineBuilder::new()
            .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(28));
        if self.config.bind_ip.is_loopback() {
            settings = settings.with_include_loopback_candidate(true);
        }
        let ice_servers = self
            .config
            .ice_servers
            .iter()
            .filter(|s| s.urls.iter().all(|u| u.starts_with("stun:")))
            .map(|s| RTCIceServer {
                urls: s.urls.clone(),
                ..Default::default()
            })
            .collect();
        let configuration = RTCConfigurationBuilder::new()
            .with_ice_servers(ice_servers)
            .build();
        let pc = PeerConnectionBuilder::new()
            .with_configuration(configuration)
            .with_media_engine(media)
            .with_setting_engine(settings.build())
            .with_interceptor_registry(registry)
            .with_handler(handler)
            .with_runtime(self.runtime.clone())
            .with_udp_addrs(vec![SocketAddr::new(self.config.bind_ip, port)])
            .build()
            .await?;
        Ok(Arc::new(pc))
    }
}

/// Time between ICE connectivity checks.
const ICE_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// A missing packet is asked for this many times at most. Browsers give up after a few tries
/// too; rtc's default (no limit) asks every 100 ms for as long as the packet stays in the
/// receive log, which on a lossy link turns into a storm of retransmissions.
const MAX_NACKS_PER_PACKET: u16 = 4;

/// rtc's default chain (NACK, RTCP reports, TWCC feedback, simulcast header extensions),
/// with [`MAX_NACKS_PER_PACKET`], holding what `flow` uses. The media engine offers the same
/// feedback and extensions whatever the flow, so the SDP does not change.
fn interceptors(media: &mut MediaEngine, flow: MediaFlow) -> anyhow::Result<Registry> {
    for parameter in ["", "pli"] {
        media.register_feedback(
            RTCPFeedback {
                typ: "nack".to_owned(),
                parameter: parameter.to_owned(),
            },
            RtpCodecKind::Video,
        );
    }
    configure_simulcast_extension_headers(media)?;
    // Registers TWCC's feedback and extension with the media engine; the registry it returns
    // is dropped, and the interceptor added below where this end receives.
    configure_twcc_receiver_only(Registry::new(), media)?;
    let mut registry = Registry::new();
    if flow.sends() {
        registry = registry
            .with(Slot::NackResponder, NackResponderBuilder::new().build())
            .with(Slot::SenderReport, SenderReportBuilder::new().build());
    }
    if flow.receives() {
        registry = registry
            .with(
                Slot::NackGenerator,
                NackGeneratorBuilder::new()
                    .with_max_nacks_per_packet(MAX_NACKS_PER_PACKET)
                    .build(),
            )
            .with(Slot::TwccReceiver, TwccReceiverBuilder::new().build())
            .with(Slot::ReceiverReport, ReceiverReportBuilder::new().build());
    }
    Ok(registry)
}

/// Counts NACKs and hands PLI/FIR to the application, so the SFU can forward keyframe
/// requests from subscribers to publishers. Other RTCP stops here; RTP passes untouched.
struct RtcpTap {
    metrics: Arc<Metrics>,
}

impl PacketTap for RtcpTap {
    fn read(&mut self, msg: &mut TaggedPacket) -> bool {
        let Packet::Rtcp(packets) = &msg.message.packet else {
            return true;
        };
        let mut keyframe_requests = Vec::new();
        for p in packets {
            let any = p.as_any();
            if any.is::<TransportLayerNack>() {
                Metrics::add(&self.metrics.nacks_received, 1);
            } else if any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>() {
                keyframe_requests.push(p.clone());
            }
        }
        if keyframe_requests.is_empty() {
            return false;
        }
        msg.message.packet = Packet::Rtcp(keyframe_requests);
        msg.message.add(Attribute::DeliverToApplication);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_an_extension_id_in_an_sdp() {
        let sdp = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\na=extmap:3/sendrecv http://x\r\n";
        assert_eq!(extension_id(sdp, AUDIO_LEVEL_URI), Some(1));
        assert_eq!(extension_id(sdp, "http://x"), Some(3));
        assert_eq!(extension_id(sdp, "urn:none"), None);
        assert_eq!(
            extension_id(
                "a=extmap:x urn:ietf:params:rtp-hdrext:ssrc-audio-level",
                AUDIO_LEVEL_URI
            ),
            None
        );
    }
}
