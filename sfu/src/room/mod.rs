//! A room on this node, run as one task (an actor): it owns its participants and forwarders,
//! so no locks guard room state. Routed messages and peer connection events arrive on one
//! channel and are handled in order.
//!
//! A room is *serving* while the routing store names this node (at the room's epoch) as its
//! host; only then does it write shared state. When it moves away (this node drains, or it
//! finds on a tick that another node took it over while this one was unreachable) it is
//! *leaving*: it keeps forwarding on the old connections until clients have moved or a
//! deadline passes, then closes them without touching shared state.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tokio::sync::mpsc;
use veet_core::departure::depart;
use veet_core::gateway::{send_to_all, ClientGateway};
use veet_core::protocol::{
    CloseReason, ErrorCode, NodeMessage, ParticipantInfo, PeerRole, ServerFrame, Signal, TrackInfo,
    TrackKind, TrackSource,
};
use veet_core::routing::{
    unix_millis, Assignment, Connection, NodeSelector, ParticipantRecord, Restore, RoomSettings,
    RoomSnapshot, Routing,
};
use veet_core::webhook::{EventKind, WebhookEvent, Webhooks};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{PeerConnection, RTCPeerConnectionState};

use crate::directory::{RoomDirectory, EARLY_PER_ROOM, EARLY_TTL};
use crate::forwarder::TrackForwarder;
use crate::media::PeerFactory;
use crate::metrics::Metrics;
use crate::migration;
use crate::negotiation::NegotiationStep;
use crate::outbox::Outbox;
use crate::participant::{Participant, PeerEvents};
use crate::quality::QualityGrader;
use crate::speaker::SpeakerDetector;

mod layers;
mod lifecycle;
mod quality;
mod signaling;
mod tracks;

pub use veet_core::sdp::sending_track_ids;

/// Room events queued before the sender waits.
pub const ROOM_QUEUE: usize = 1024;

/// What every room on a node shares.
pub struct NodeContext {
    pub node_id: String,
    pub routing: Routing,
    pub gateway: Arc<dyn ClientGateway>,
    /// Track events go here, when webhooks are configured.
    pub webhooks: Option<Arc<Webhooks>>,
    pub factory: Arc<PeerFactory>,
    pub metrics: Arc<Metrics>,
    /// Picks where rooms moving off a node go.
    pub selector: Arc<dyn NodeSelector>,
    pub directory: RoomDirectory,
    /// How often a room checks it is still this node's (the heartbeat period).
    pub tick: Duration,
    /// See [`crate::config::SfuConfig::fault_uplink_loss`].
    pub fault_uplink_loss: Option<(String, u8)>,
}

/// Input to a room's task.
pub enum RoomEvent {
    /// Routed from signaling through the node's inbox.
    Message(NodeMessage),
    /// A publisher's track started arriving.
    TrackAdded {
        participant_id: String,
        track: Arc<dyn TrackRemote>,
    },
    /// A published track ended.
    TrackEnded { track_id: String },
    PeerState {
        participant_id: String,
        role: PeerRole,
        state: RTCPeerConnectionState,
    },
    /// Close the room for everyone.
    Close(CloseReason),
    /// Move the room to another node (this one drains), serving the old connections until
    /// `until`; close it if no node can take it.
    Migrate {
        reason: CloseReason,
        until: tokio::time::Instant,
    },
    /// The routing store lost its data: record the room again.
    Restore,
}

/// Where a room stands on this node (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Serving,
    Leaving { until: tokio::time::Instant },
    Closed,
}

/// A room's state, owned by its task.
pub struct Room {
    code: String,
    ctx: Arc<NodeContext>,
    events: mpsc::Sender<RoomEvent>,
    participants: HashMap<String, Participant>,
    forwarders: HashMap<String, Arc<TrackForwarder>>,
    phase: Phase,
    /// The assignment epoch this node serves the room at.
    epoch: u64,
    /// Signals for participants whose `Join` has not arrived yet.
    early: Vec<(Instant, NodeMessage)>,
    /// The room's settings as last read from the store, to restore them if it loses them.
    settings: RoomSettings,
    /// Dynacast: the RIDs last sent to each simulcast track's publisher.
    announced_layers: HashMap<String, Vec<String>>,
    speakers: SpeakerDetector,
    media_ticks: u64,
    /// Connection quality: each track's arrival totals at the last report, and the grades.
    uplink_seen: HashMap<String, (u64, u64)>,
    quality: QualityGrader,
    /// Pushes to clients, delivered off this task.
    outbox: Outbox,
}

/// Starts a room's task; returns where to send it events.
pub fn spawn(code: String, ctx: Arc<NodeContext>) -> mpsc::Sender<RoomEvent> {
    let (tx, rx) = mpsc::channel(ROOM_QUEUE);
    let room = Room {
        code,
        ctx: ctx.clone(),
        events: tx.clone(),
        participants: HashMap::new(),
        forwarders: HashMap::new(),
        phase: Phase::Serving,
        epoch: 0,
        early: Vec::new(),
        settings: RoomSettings::default(),
        announced_layers: HashMap::new(),
        speakers: SpeakerDetector::default(),
        media_ticks: 0,
        uplink_seen: HashMap::new(),
        quality: QualityGrader::default(),
        outbox: Outbox::spawn(ctx.gateway.clone(), ctx.metrics.clone()),
    };
    tokio::spawn(room.run(rx));
    tx
}

impl Room {
    async fn run(mut self, mut rx: mpsc::Receiver<RoomEvent>) {
        Metrics::gauge(&self.ctx.metrics.rooms, 1);
        tracing::info!(room = %self.code, "room opened on this node");
        let mut tick = tokio::time::interval(self.ctx.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.reset();
        let mut media_tick = tokio::time::interval(layers::MEDIA_TICK);
        media_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Learn the room's epoch and settings now (kept to restore them if Redis loses them).
        self.check_still_ours().await;
        loop {
            let event = tokio::select! {
                e = rx.recv() => match e {
                    Some(e) => Some(e),
                    None => break,
                },
                _ = tick.tick() => None,
                _ = media_tick.tick() => {
                    if self.phase == Phase::Serving {
                        self.on_media_tick().await;
                    }
                    continue;
                }
            };
            match event {
                Some(event) => self.handle(event).await,
                None => {
                    self.check_still_ours().await;
                    if self.phase == Phase::Serving {
                        self.resend_stale_offers().await;
                    }
                }
            }
            match self.phase {
                Phase::Serving if self.participants.is_empty() => {
                    if self
                        .ctx
                        .directory
                        .retire_if_idle(&self.code, &self.events, &rx)
                    {
                        break;
                    }
                }
                Phase::Serving => {}
                Phase::Leaving { until } => {
                    if self.participants.is_empty() || tokio::time::Instant::now() >= until {
                        break;
                    }
                }
                Phase::Closed => break,
            }
        }
        if matches!(self.phase, Phase::Serving | Phase::Closed) {
            // Anything still here (a close) leaves now.
            let ids: Vec<String> = self.participants.keys().cloned().collect();
            for id in ids {
                self.remove(&id).await;
            }
        }
        self.close_quietly().await;
        self.ctx.directory.retire(&self.code, &self.events);
        Metrics::gauge(&self.ctx.metrics.rooms, -1);
        if self.phase == Phase::Serving {
            if let Err(e) = self
                .ctx
                .routing
                .rooms
                .delete_room_if_empty(&self.code)
                .await
            {
                tracing::warn!(room = %self.code, error = %e, "could not free the room");
            }
        }
        tracing::info!(room = %self.code, phase = ?self.phase, "room closed on this node");
    }

    async fn handle(&mut self, event: RoomEvent) {
        match event {
            RoomEvent::Message(m) => self.on_message(m).await,
            RoomEvent::TrackAdded {
                participant_id,
                track,
            } => self.on_track(&participant_id, track).await,
            RoomEvent::TrackEnded { track_id } => self.unpublish(&track_id).await,
            RoomEvent::PeerState {
                participant_id,
                role,
                state,
            } => self.on_peer_state(&participant_id, role, state).await,
            RoomEvent::Close(reason) => self.close_for_everyone(reason).await,
            RoomEvent::Migrate { reason, until } => self.move_away(reason, until).await,
            RoomEvent::Restore => self.restore().await,
        }
    }

    async fn on_message(&mut self, message: NodeMessage) {
        if self.phase != Phase::Serving {
            return;
        }
        match message {
            NodeMessage::Join {
                connection_id,
                participant,
                epoch,
                ..
            } => {
                self.epoch = self.epoch.max(epoch);
                let id = participant.id.clone();
                self.join(participant, connection_id).await;
                self.replay_early(&id).await;
            }
            NodeMessage::Leave { participant_id, .. } => self.remove(&participant_id).await,
            NodeMessage::Signal {
                participant_id,
                role,
                signal,
                room,
            } => {
                if !self.participants.contains_key(&participant_id) {
                    self.hold_early(NodeMessage::Signal {
                        room,
                        participant_id,
                        role,
                        signal,
                    });
                    return;
                }
                Metrics::add(&self.ctx.metrics.signals_handled, 1);
                if let Err(e) = self.signal(&participant_id, role, signal).await {
                    tracing::warn!(room = %self.code, participant = %participant_id, ?role, error = %e, "signal failed");
                    if let Some(p) = self.participants.get(&participant_id) {
                        let frame = ServerFrame::error(
                            ErrorCode::InvalidFrame,
                            format!("{role:?} signal failed: {e}").to_lowercase(),
                        );
                        let _ = self.ctx.gateway.send(&p.connection_id, &frame).await;
                    }
                }
            }
            NodeMessage::Mute {
                track_id,
                muted,
                participant_id,
                ..
            } => {
                if let Some(f) = self
                    .forwarders
                    .get(&track_id)
                    .filter(|f| f.publisher_id == participant_id)
                {
                    f.info.lock().unwrap_or_else(|e| e.into_inner()).muted = muted;
                    f.set_held(muted);
                }
            }
            NodeMessage::CloseRoom { reason, .. } => {
                self.close_for_everyone(reason).await;
            }
            NodeMessage::View {
                participant_id,
                tracks,
                ..
            } => self.set_view(&participant_id, tracks),
        }
    }

    /// Keeps a signal for a participant whose `Join` is still on its way (bounded, short-lived).
    fn hold_early(&mut self, message: NodeMessage) {
        let now = Instant::now();
        self.early
            .retain(|(at, _)| now.duration_since(*at) < EARLY_TTL);
        if self.early.len() < EARLY_PER_ROOM {
            self.early.push((now, message));
        } else {
            tracing::warn!(room = %self.code, "too many early signals; one dropped");
        }
    }

    async fn replay_early(&mut self, participant_id: &str) {
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.early)
            .into_iter()
            .partition(|(_, m)| matches!(m, NodeMessage::Signal { participant_id: p, .. } if p == participant_id));
        self.early = rest;
        for (_, m) in mine {
            Box::pin(self.on_message(m)).await;
        }
    }

    async fn join(&mut self, info: ParticipantInfo, connection_id: String) {
        if self.participants.contains_key(&info.id) {
            return;
        }
        // Signaling records a participant before routing its `Join`: one that is gone
        // already left (its socket closed mid-join) and must not linger here.
        if let Ok(None) = self
            .ctx
            .routing
            .rooms
            .participant(&self.code, &info.id)
            .await
        {
            tracing::debug!(room = %self.code, participant = %info.id, "join for a participant who already left");
            return;
        }
        Metrics::gauge(&self.ctx.metrics.participants, 1);
        let id = info.id.clone();
        let can_subscribe = info.grants.can_subscribe;
        let participant = Participant::new(info, connection_id.clone());
        self.participants.insert(id.clone(), participant);
        // Tell the newcomer what is already published; media follows in the subscriber offer.
        for f in self.forwarders.values() {
            let frame = ServerFrame::TrackPublished {
                participant_id: f.publisher_id.clone(),
                track: f.track_info(),
            };
            let _ = self.ctx.gateway.send(&connection_id, &frame).await;
        }
        if can_subscribe {
            let tracks: Vec<Arc<TrackForwarder>> = self.forwarders.values().cloned().collect();
            let mut changed = false;
            for f in tracks {
                changed |= self.add_down_track(&id, &f).await;
            }
            if changed {
                self.renegotiate(&id).await;
            }
        }
    }

    /// Removes a participant from this node (signaling already told the room).
    async fn remove(&mut self, participant_id: &str) {
        if !self.participants.contains_key(participant_id) {
            return;
        }
        // Unpublish while the participant is still known, so events name it.
        let published: Vec<String> = self
            .forwarders
            .values()
            .filter(|f| f.publisher_id == participant_id)
            .map(|f| f.id())
            .collect();
        for track_id in published {
            self.unpublish(&track_id).await;
        }
        self.speakers.remove(participant_id);
        if let Some(mut p) = self.participants.remove(participant_id) {
            Metrics::gauge(&self.ctx.metrics.participants, -1);
            p.close().await;
        }
    }

    async fn on_peer_state(
        &mut self,
        participant_id: &str,
        role: PeerRole,
        state: RTCPeerConnectionState,
    ) {
        tracing::debug!(room = %self.code, participant = participant_id, ?role, %state, "peer connection state");
        match state {
            RTCPeerConnectionState::Connected if role == PeerRole::Subscriber => {
                if let Some(p) = self.participants.get(participant_id) {
                    p.downlink.set_connected(true);
                }
            }
            RTCPeerConnectionState::Disconnected if role == PeerRole::Subscriber => {
                if let Some(p) = self.participants.get(participant_id) {
                    p.downlink.set_connected(false);
                }
            }
            RTCPeerConnectionState::Failed
            | RTCPeerConnectionState::Closed
            | RTCPeerConnectionState::Disconnected
                if matches!(self.phase, Phase::Leaving { .. }) =>
            {
                // The client moved on and dropped its old connection.
                self.remove(participant_id).await;
            }
            RTCPeerConnectionState::Failed => {
                if !self.owns_room().await {
                    return;
                }
                // The client is unreachable: it leaves, as if its socket had closed.
                tracing::info!(room = %self.code, participant = participant_id, ?role, "peer connection failed; removing participant");
                let Some(connection_id) = self
                    .participants
                    .get(participant_id)
                    .map(|p| p.connection_id.clone())
                else {
                    return;
                };
                self.remove(participant_id).await;
                self.forget_in_routing(participant_id).await;
                let _ = self
                    .ctx
                    .gateway
                    .send(
                        &connection_id,
                        &ServerFrame::error(ErrorCode::Internal, "media connection failed; rejoin"),
                    )
                    .await;
            }
            _ => {}
        }
    }

    /// Removes a participant from the shared room state and tells the others, unless
    /// signaling already did.
    async fn forget_in_routing(&self, participant_id: &str) {
        let ctx = &self.ctx;
        if let Err(e) = depart(
            &ctx.routing,
            ctx.gateway.as_ref(),
            ctx.webhooks.as_deref(),
            &self.code,
            participant_id,
        )
        .await
        {
            tracing::warn!(error = %e, "could not remove participant from routing");
        }
    }

    /// Sends a frame to everyone on this node's room, concurrently.
    /// Queues `frame` for everyone in the room (delivered by the outbox, in order per client).
    async fn broadcast(&self, frame: &ServerFrame) {
        let ids = self.participants.values().map(|p| p.connection_id.as_str());
        // Gone connections are signaling's to clean up, on their $disconnect.
        self.outbox.send_all(ids, frame);
    }
}
