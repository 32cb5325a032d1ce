//! A participant on this node: its two peer connections and what flows on them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rtc::peer_connection::transport::RTCIceCandidateInit;
use tokio::sync::mpsc;
use veet_core::gateway::ClientGateway;
use veet_core::protocol::{
    IceCandidate, ParticipantInfo, PeerRole, ServerFrame, TrackSource, TrackView,
};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::bandwidth::BandwidthEstimator;
use crate::downlink::Downlink;
use crate::forwarder::DownTrack;
use crate::media::PeerFactory;
use crate::negotiation::Negotiation;
use crate::quality::Window;
use crate::room::RoomEvent;

/// A participant's state in its room.
pub struct Participant {
    pub info: ParticipantInfo,
    pub connection_id: String,
    /// Client → SFU media (the client offers).
    pub publisher: Option<Arc<dyn PeerConnection>>,
    /// SFU → client media (the SFU offers).
    pub subscriber: Option<Arc<dyn PeerConnection>>,
    pub negotiation: Negotiation,
    /// The subscriber connection's state and counters, shared with its down tracks.
    pub downlink: Arc<Downlink>,
    /// What that connection is estimated to carry.
    pub bandwidth: BandwidthEstimator,
    /// Its receiver reports' loss since the last quality report.
    pub downlink_window: Window,
    /// Remote candidates that arrived before their connection had a remote description.
    pub pending_candidates: HashMap<PeerRole, Vec<RTCIceCandidateInit>>,
    /// Published track id → what the client said it is.
    pub offered_sources: HashMap<String, TrackSource>,
    /// Others' track id → the down track and its sender on `subscriber`.
    pub down_tracks: HashMap<String, (DownTrack, Arc<dyn RtpSender>)>,
    /// The down tracks the outstanding subscriber offer carries; its answer lets them send.
    pub offered_down_tracks: Vec<String>,
    /// Others' track id → how this participant displays it (adaptive stream).
    pub views: HashMap<String, TrackView>,
    /// The ids its publisher connection gives the audio level and video orientation
    /// extensions.
    pub audio_level_id: Option<u8>,
    pub video_orientation_id: Option<u8>,
    /// Published track id → the simulcast RIDs its offer declared.
    pub offered_rids: HashMap<String, Vec<String>>,
    /// Others' tracks this participant's subscriber connection cannot decode (not offered again).
    pub unsupported: HashSet<String>,
}

impl Participant {
    pub fn new(info: ParticipantInfo, connection_id: String) -> Self {
        Self {
            info,
            connection_id,
            publisher: None,
            subscriber: None,
            negotiation: Negotiation::default(),
            downlink: Arc::new(Downlink::default()),
            bandwidth: BandwidthEstimator::default(),
            downlink_window: Window::default(),
            pending_candidates: HashMap::new(),
            offered_sources: HashMap::new(),
            down_tracks: HashMap::new(),
            offered_down_tracks: Vec::new(),
            views: HashMap::new(),
            audio_level_id: None,
            video_orientation_id: None,
            offered_rids: HashMap::new(),
            unsupported: HashSet::new(),
        }
    }

    pub fn connection(&self, role: PeerRole) -> Option<&Arc<dyn PeerConnection>> {
        match role {
            PeerRole::Publisher => self.publisher.as_ref(),
            PeerRole::Subscriber => self.subscriber.as_ref(),
        }
    }

    /// Closes both connections; their tracks end and their forwarders stop.
    pub async fn close(&mut self) {
        self.down_tracks.clear();
        for pc in [self.publisher.take(), self.subscriber.take()]
            .into_iter()
            .flatten()
        {
            if let Err(e) = pc.close().await {
                tracing::debug!(error = %e, "closing peer connection");
            }
        }
    }
}

/// Receives one peer connection's events: trickles its ICE candidates straight to the
/// client and reports tracks and state changes to the room.
pub struct PeerEvents {
    pub room: mpsc::Sender<RoomEvent>,
    pub factory: Arc<PeerFactory>,
    pub gateway: Arc<dyn ClientGateway>,
    pub participant_id: String,
    pub connection_id: String,
    pub role: PeerRole,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for PeerEvents {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let Ok(init) = event.candidate.to_json() else {
            return;
        };
        let frame = ServerFrame::Candidate {
            role: self.role,
            candidate: IceCandidate {
                candidate: self.factory.public_candidate(&init.candidate),
                sdp_mid: init.sdp_mid,
                sdp_mline_index: init.sdp_mline_index,
            },
        };
        if let Err(e) = self.gateway.send(&self.connection_id, &frame).await {
            tracing::debug!(error = %e, "candidate not delivered");
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self
            .room
            .send(RoomEvent::PeerState {
                participant_id: self.participant_id.clone(),
                role: self.role,
                state,
            })
            .await;
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        if self.role != PeerRole::Publisher {
            return;
        }
        let _ = self
            .room
            .send(RoomEvent::TrackAdded {
                participant_id: self.participant_id.clone(),
                track,
            })
            .await;
    }
}
