//! The node's network settings reach its ICE candidates: the UDP port range and the public
//! IP announced for NAT 1:1 (as on EC2).

use std::sync::Arc;
use std::time::Duration;

use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use veet_sfu::media::PeerFactory;
use veet_sfu::metrics::Metrics;
use veet_sfu::SfuConfig;
use webrtc::peer_connection::{PeerConnectionEventHandler, RTCIceGatheringState};

struct Gathered(tokio::sync::watch::Sender<bool>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Gathered {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.0.send_replace(true);
        }
    }
}

/// The host candidates of an offer made with `config`, as (address, port).
async fn candidates(config: SfuConfig) -> Vec<(String, u16)> {
    let factory =
        PeerFactory::new(Arc::new(config), Arc::new(Metrics::default())).expect("factory");
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let pc = factory
        .build(Arc::new(Gathered(tx)))
        .await
        .expect("peer connection");
    pc.add_transceiver_from_kind(RtpCodecKind::Video, None)
        .await
        .expect("transceiver");
    let offer = pc.create_offer(None).await.expect("offer");
    pc.set_local_description(offer)
        .await
        .expect("local description");
    tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|done| *done))
        .await
        .expect("gathering completes")
        .expect("handler alive");
    let sdp = factory.public_sdp(&pc.local_description().await.expect("description").sdp);
    let _ = pc.close().await;
    sdp.lines()
        .filter_map(|l| l.trim().strip_prefix("a=candidate:"))
        .filter_map(|c| {
            let f: Vec<&str> = c.split_whitespace().collect();
            Some((f.get(4)?.to_string(), f.get(5)?.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn media_ports_come_from_the_configured_range() {
    let config = SfuConfig {
        udp_ports: Some((47_100, 47_120)),
        ..SfuConfig::loopback()
    };
    for _ in 0..3 {
        let c = candidates(config.clone()).await;
        assert!(!c.is_empty(), "no candidates");
        for (addr, port) in c {
            assert_eq!(addr, "127.0.0.1");
            assert!(
                (47_100..=47_120).contains(&port),
                "port {port} outside the range"
            );
        }
    }
}

#[tokio::test]
async fn the_public_ip_is_announced_instead_of_the_local_one() {
    let config = SfuConfig {
        public_ips: vec!["203.0.113.7".into()],
        ..SfuConfig::loopback()
    };
    let c = candidates(config).await;
    assert!(!c.is_empty(), "no candidates");
    assert!(c.iter().all(|(addr, _)| addr == "203.0.113.7"), "{c:?}");
}
