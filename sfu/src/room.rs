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
use std::sync::atomic::Ordering;
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
    unix_millis, Assignment, Connection, NodeSelector, ParticipantRecord, Restore, Routing,
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
use crate::participant::{Participant, PeerEvents};

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
}

/// Starts a room's task; returns where to send it events.
pub fn spawn(code: String, ctx: Arc<NodeContext>) -> mpsc::Sender<RoomEvent> {
    let (tx, rx) = mpsc::channel(ROOM_QUEUE);
    let room = Room {
        code,
        ctx,
        events: tx.clone(),
        participants: HashMap::new(),
        forwarders: HashMap::new(),
        phase: Phase::Serving,
        epoch: 0,
        early: Vec::new(),
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
        loop {
            let event = tokio::select! {
                e = rx.recv() => match e {
                    Some(e) => Some(e),
                    None => break,
                },
                _ = tick.tick() => None,
            };
            match event {
                Some(event) => self.handle(event).await,
                None => self.check_still_ours().await,
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

    /// Tells everyone the meeting is over; the room then closes.
    async fn close_for_everyone(&mut self, reason: CloseReason) {
        let frame = ServerFrame::RoomClosed { reason };
        let ids = self.participants.values().map(|p| p.connection_id.as_str());
        send_to_all(self.ctx.gateway.as_ref(), ids, &frame).await;
        self.phase = Phase::Closed;
    }

    /// Stops serving: later messages for the room start a new task (the room may come back).
    fn leave(&mut self, until: tokio::time::Instant) {
        self.phase = Phase::Leaving { until };
        self.ctx.directory.retire(&self.code, &self.events);
    }

    /// This node drains: hand the room to another node, or end it when there is none.
    async fn move_away(&mut self, reason: CloseReason, until: tokio::time::Instant) {
        if self.phase != Phase::Serving {
            return;
        }
        let me = self.ctx.node_id.clone();
        let target = match migration::pick_target(&self.ctx, &me).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(room = %self.code, error = %e, "cannot look for a node to move to");
                None
            }
        };
        let Some(target) = target else {
            tracing::info!(room = %self.code, "no other node can take the room; ending it");
            self.close_for_everyone(reason).await;
            return;
        };
        match self
            .ctx
            .routing
            .rooms
            .reassign_room(&self.code, &me, &target)
            .await
        {
            Ok(Some(assignment)) => {
                let records = self.records();
                if let Err(e) =
                    migration::hand_over(&self.ctx, &self.code, &assignment, &records, reason).await
                {
                    tracing::warn!(room = %self.code, error = %e, "hand-over failed");
                }
                self.leave(until);
            }
            Ok(None) => {
                // Someone else moved it already (we were thought dead): just let go.
                self.leave(tokio::time::Instant::now());
            }
            Err(e) => {
                tracing::warn!(room = %self.code, error = %e, "could not move the room; ending it");
                self.close_for_everyone(reason).await;
            }
        }
    }

    /// Fencing: a room another node took over (this node was paused, partitioned or thought
    /// dead) lets go of its stale connections and never writes shared state again.
    async fn check_still_ours(&mut self) {
        if self.phase != Phase::Serving {
            return;
        }
        if let Ok(Some(info)) = self.ctx.routing.rooms.room(&self.code).await {
            match info.node {
                Some(node) if node == self.ctx.node_id => self.epoch = self.epoch.max(info.epoch),
                Some(node) => {
                    tracing::warn!(room = %self.code, now_on = %node, "the room moved while this node was away; letting go");
                    self.leave(tokio::time::Instant::now());
                }
                None => {}
            }
        }
    }

    /// Whether this node may still write the room's shared state.
    async fn owns_room(&mut self) -> bool {
        self.check_still_ours().await;
        self.phase == Phase::Serving
    }

    /// The participants as the routing store should have them.
    fn records(&self) -> Vec<ParticipantRecord> {
        self.participants
            .values()
            .map(|p| {
                let mut info = p.info.clone();
                info.tracks = self
                    .forwarders
                    .values()
                    .filter(|f| f.publisher_id == info.id)
                    .map(|f| f.track_info())
                    .collect();
                ParticipantRecord {
                    info,
                    connection_id: p.connection_id.clone(),
                }
            })
            .collect()
    }

    /// Records the room, its participants and their connections again after the routing
    /// store lost them; if another node has the room now, moves the participants there.
    async fn restore(&mut self) {
        if self.phase != Phase::Serving {
            return;
        }
        let records = self.records();
        let assignment = Assignment {
            node: self.ctx.node_id.clone(),
            epoch: self.epoch,
        };
        let routing = &self.ctx.routing;
        match routing
            .rooms
            .restore_room(&self.code, &assignment, &records)
            .await
        {
            Ok(Restore::Restored { added }) => {
                for r in &records {
                    let conn = Connection {
                        id: r.connection_id.clone(),
                        room: self.code.clone(),
                        identity: r.info.identity.clone(),
                        name: r.info.name.clone(),
                        grants: r.info.grants,
                        participant_id: Some(r.info.id.clone()),
                        connected_at: unix_millis(),
                    };
                    if routing
                        .connections
                        .connection(&conn.id)
                        .await
                        .ok()
                        .flatten()
                        .is_none()
                    {
                        if let Err(e) = routing.connections.put_connection(&conn).await {
                            tracing::warn!(error = %e, "could not restore a connection");
                        }
                    }
                }
                tracing::info!(room = %self.code, added, "room restored in the routing store");
            }
            Ok(Restore::Elsewhere(a)) => {
                tracing::warn!(room = %self.code, on = %a.node, "restored room lives elsewhere now; moving there");
                if let Err(e) = migration::hand_over(
                    &self.ctx,
                    &self.code,
                    &a,
                    &records,
                    CloseReason::NodeFailed,
                )
                .await
                {
                    tracing::warn!(error = %e, "hand-over failed");
                }
                self.leave(tokio::time::Instant::now() + Duration::from_secs(10));
            }
            Err(e) => tracing::warn!(room = %self.code, error = %e, "restore failed"),
        }
    }

    /// Closes every connection without telling anyone or touching shared state.
    async fn close_quietly(&mut self) {
        let tracks = self.forwarders.len() as i64;
        self.forwarders.clear();
        Metrics::gauge(&self.ctx.metrics.tracks, -tracks);
        for (_, mut p) in self.participants.drain() {
            Metrics::gauge(&self.ctx.metrics.participants, -1);
            p.close().await;
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
                }
            }
            NodeMessage::CloseRoom { reason, .. } => {
                self.close_for_everyone(reason).await;
            }
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
        if let Some(mut p) = self.participants.remove(participant_id) {
            Metrics::gauge(&self.ctx.metrics.participants, -1);
            p.close().await;
        }
    }

    async fn publisher_connection(
        &mut self,
        participant_id: &str,
    ) -> anyhow::Result<Arc<dyn PeerConnection>> {
        let p = self
            .participants
            .get(participant_id)
            .ok_or_else(|| anyhow::anyhow!("unknown participant"))?;
        if let Some(pc) = &p.publisher {
            return Ok(pc.clone());
        }
        let pc = self
            .ctx
            .factory
            .build(self.peer_events(p, PeerRole::Publisher))
            .await?;
        if let Some(p) = self.participants.get_mut(participant_id) {
            p.publisher = Some(pc.clone());
        }
        Ok(pc)
    }

    fn peer_events(&self, p: &Participant, role: PeerRole) -> Arc<PeerEvents> {
        Arc::new(PeerEvents {
            room: self.events.clone(),
            factory: self.ctx.factory.clone(),
            gateway: self.ctx.gateway.clone(),
            participant_id: p.info.id.clone(),
            connection_id: p.connection_id.clone(),
            role,
        })
    }

    async fn signal(
        &mut self,
        participant_id: &str,
        role: PeerRole,
        signal: Signal,
    ) -> anyhow::Result<()> {
        let Some(p) = self.participants.get(participant_id) else {
            anyhow::bail!("not in this room on this node");
        };
        let connection_id = p.connection_id.clone();
        match (role, signal) {
            (PeerRole::Publisher, Signal::Offer { sdp, tracks }) => {
                anyhow::ensure!(
                    p.info.grants.can_publish,
                    "this participant may not publish"
                );
                let pc = self.publisher_connection(participant_id).await?;
                if let Some(p) = self.participants.get_mut(participant_id) {
                    for t in tracks {
                        p.offered_sources.insert(t.id, t.source);
                    }
                }
                pc.set_remote_description(RTCSessionDescription::offer(sdp.clone())?)
                    .await?;
                self.flush_candidates(participant_id, PeerRole::Publisher)
                    .await;
                let answer = pc.create_answer(None).await?;
                pc.set_local_description(answer).await?;
                let sdp_out = self.local_sdp(&pc).await;
                self.ctx
                    .gateway
                    .send(&connection_id, &ServerFrame::Answer { role, sdp: sdp_out })
                    .await?;
                // Tracks the client stopped sending in this offer end now.
                let sending = sending_track_ids(&sdp);
                let stopped: Vec<String> = self
                    .forwarders
                    .values()
                    .filter(|f| f.publisher_id == participant_id && !sending.contains(&f.id()))
                    .map(|f| f.id())
                    .collect();
                for id in stopped {
                    self.unpublish(&id).await;
                }
            }
            (PeerRole::Subscriber, Signal::Answer { sdp }) => {
                let pc = p
                    .subscriber
                    .clone()
                    .ok_or_else(|| anyhow::anyhow!("no subscriber offer was made"))?;
                anyhow::ensure!(
                    p.negotiation.awaiting_answer(),
                    "no subscriber offer is awaiting an answer"
                );
                pc.set_remote_description(RTCSessionDescription::answer(sdp)?)
                    .await?;
                self.flush_candidates(participant_id, PeerRole::Subscriber)
                    .await;
                let next = match self.participants.get_mut(participant_id) {
                    Some(p) => p.negotiation.answered(),
                    None => NegotiationStep::Wait,
                };
                if next == NegotiationStep::SendOffer {
                    self.send_offer(participant_id).await;
                }
                self.request_keyframes_for(participant_id);
            }
            (_, Signal::Candidate { candidate }) => {
                let init = RTCIceCandidateInit {
                    candidate: candidate.candidate,
                    sdp_mid: candidate.sdp_mid,
                    sdp_mline_index: candidate.sdp_mline_index,
                    ..Default::default()
                };
                match p.connection(role) {
                    Some(pc) if pc.remote_description().await.is_some() => {
                        pc.add_ice_candidate(init).await?
                    }
                    _ => {
                        if let Some(p) = self.participants.get_mut(participant_id) {
                            let pending = p.pending_candidates.entry(role).or_default();
                            // Bounded: a client cannot grow this without limit.
                            if pending.len() < 64 {
                                pending.push(init);
                            }
                        }
                    }
                }
            }
            (role, _) => anyhow::bail!("unexpected signal for the {role:?} connection"),
        }
        Ok(())
    }

    /// The connection's local description as clients must see it (public IP announced).
    async fn local_sdp(&self, pc: &Arc<dyn PeerConnection>) -> String {
        pc.local_description()
            .await
            .map(|d| self.ctx.factory.public_sdp(&d.sdp))
            .unwrap_or_default()
    }

    async fn flush_candidates(&mut self, participant_id: &str, role: PeerRole) {
        let Some(p) = self.participants.get_mut(participant_id) else {
            return;
        };
        let pending = p.pending_candidates.remove(&role).unwrap_or_default();
        let Some(pc) = p.connection(role).cloned() else {
            return;
        };
        for c in pending {
            if let Err(e) = pc.add_ice_candidate(c).await {
                tracing::debug!(error = %e, "buffered candidate rejected");
            }
        }
    }

    async fn on_track(&mut self, participant_id: &str, track: Arc<dyn TrackRemote>) {
        if self.phase != Phase::Serving {
            return;
        }
        let Some(p) = self.participants.get(participant_id) else {
            return;
        };
        let Some(ssrc) = track.ssrcs().await.first().copied() else {
            return;
        };
        let Some(codec) = track.codec(ssrc).await else {
            return;
        };
        let kind = match track.kind().await {
            RtpCodecKind::Audio => TrackKind::Audio,
            _ => TrackKind::Video,
        };
        let mut id = track.track_id().await;
        if id.is_empty() || self.forwarders.contains_key(&id) {
            id = format!("{participant_id}-{ssrc}");
        }
        let source = p.offered_sources.get(&id).copied().unwrap_or(match kind {
            TrackKind::Audio => TrackSource::Microphone,
            TrackKind::Video => TrackSource::Camera,
        });
        let info = TrackInfo {
            id: id.clone(),
            kind,
            source,
            muted: false,
        };
        tracing::info!(room = %self.code, participant = participant_id, track = %id, codec = %codec.mime_type, "track published");
        let forwarder = TrackForwarder::new(
            info.clone(),
            participant_id.to_owned(),
            codec,
            track,
            ssrc,
            self.ctx.metrics.clone(),
        );
        Metrics::gauge(&self.ctx.metrics.tracks, 1);
        let events = self.events.clone();
        let run = forwarder.clone();
        tokio::spawn(async move {
            run.run().await;
            let _ = events.send(RoomEvent::TrackEnded { track_id: id }).await;
        });
        self.forwarders.insert(info.id.clone(), forwarder.clone());
        if self.phase == Phase::Serving {
            if let Err(e) = self
                .ctx
                .routing
                .rooms
                .put_track(&self.code, participant_id, &info)
                .await
            {
                tracing::warn!(error = %e, "could not record a published track");
            }
        }
        if let Some(w) = &self.ctx.webhooks {
            let mut event =
                WebhookEvent::new(EventKind::TrackPublished, &self.code).with_track(info.clone());
            event.participant = self
                .participants
                .get(participant_id)
                .map(|p| p.info.clone());
            w.emit(event).await;
        }
        self.broadcast(&ServerFrame::TrackPublished {
            participant_id: participant_id.to_owned(),
            track: info,
        })
        .await;
        let subscribers: Vec<String> = self
            .participants
            .values()
            .filter(|s| s.info.id != participant_id && s.info.grants.can_subscribe)
            .map(|s| s.info.id.clone())
            .collect();
        for s in subscribers {
            if self.add_down_track(&s, &forwarder).await {
                self.renegotiate(&s).await;
            }
        }
    }

    /// Adds `forwarder`'s track to a subscriber's connection; whether anything changed.
    async fn add_down_track(
        &mut self,
        subscriber_id: &str,
        forwarder: &Arc<TrackForwarder>,
    ) -> bool {
        let track_id = forwarder.id();
        let pc = {
            let Some(s) = self.participants.get(subscriber_id) else {
                return false;
            };
            if s.down_tracks.contains_key(&track_id) || forwarder.publisher_id == subscriber_id {
                return false;
            }
            match &s.subscriber {
                Some(pc) => pc.clone(),
                None => match self
                    .ctx
                    .factory
                    .build(self.peer_events(s, PeerRole::Subscriber))
                    .await
                {
                    Ok(pc) => {
                        if let Some(s) = self.participants.get_mut(subscriber_id) {
                            s.subscriber = Some(pc.clone());
                        }
                        pc
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not create a subscriber connection");
                        return false;
                    }
                },
            }
        };
        let (local, ssrc) = forwarder.new_local_track();
        let sender = match pc.add_track(local.clone() as Arc<dyn TrackLocal>).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "could not add a track to a subscriber");
                return false;
            }
        };
        let connected = match self.participants.get(subscriber_id) {
            Some(s) => s.subscriber_connected.clone(),
            None => return false,
        };
        let down = forwarder.subscribe(subscriber_id, local, ssrc, sender.clone(), connected);
        if let Some(s) = self.participants.get_mut(subscriber_id) {
            s.down_tracks.insert(track_id, (down, sender));
        }
        true
    }

    async fn unpublish(&mut self, track_id: &str) {
        let Some(forwarder) = self.forwarders.remove(track_id) else {
            return;
        };
        Metrics::gauge(&self.ctx.metrics.tracks, -1);
        if self.phase != Phase::Serving {
            // A room that moved away tells nobody: the tracks live on at the new node.
            for s in self.participants.values_mut() {
                s.down_tracks.remove(track_id);
            }
            return;
        }
        let publisher = forwarder.publisher_id.clone();
        let mut changed = Vec::new();
        for s in self.participants.values_mut() {
            if let Some((down, sender)) = s.down_tracks.remove(track_id) {
                drop(down);
                if let Some(pc) = &s.subscriber {
                    if let Err(e) = pc.remove_track(&sender).await {
                        tracing::debug!(error = %e, "remove_track");
                    }
                }
                changed.push(s.info.id.clone());
            }
        }
        for s in changed {
            self.renegotiate(&s).await;
        }
        if self.owns_room().await {
            if let Err(e) = self
                .ctx
                .routing
                .rooms
                .remove_track(&self.code, &publisher, track_id)
                .await
            {
                tracing::warn!(error = %e, "could not record an unpublished track");
            }
        }
        if let Some(w) = &self.ctx.webhooks {
            let mut event = WebhookEvent::new(EventKind::TrackUnpublished, &self.code)
                .with_track(forwarder.track_info());
            event.participant = self.participants.get(&publisher).map(|p| p.info.clone());
            w.emit(event).await;
        }
        self.broadcast(&ServerFrame::TrackUnpublished {
            participant_id: publisher,
            track_id: track_id.to_owned(),
        })
        .await;
    }

    async fn renegotiate(&mut self, participant_id: &str) {
        let step = match self.participants.get_mut(participant_id) {
            Some(p) => p.negotiation.tracks_changed(),
            None => return,
        };
        if step == NegotiationStep::SendOffer {
            self.send_offer(participant_id).await;
        }
    }

    async fn send_offer(&mut self, participant_id: &str) {
        let Some(p) = self.participants.get(participant_id) else {
            return;
        };
        let Some(pc) = p.subscriber.clone() else {
            return;
        };
        let connection_id = p.connection_id.clone();
        let result: anyhow::Result<()> = async {
            let offer = pc.create_offer(None).await?;
            pc.set_local_description(offer).await?;
            let sdp = self.local_sdp(&pc).await;
            self.ctx
                .gateway
                .send(
                    &connection_id,
                    &ServerFrame::Offer {
                        role: PeerRole::Subscriber,
                        sdp,
                    },
                )
                .await?;
            Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(participant = participant_id, error = %e, "subscriber offer failed");
            if let Some(p) = self.participants.get_mut(participant_id) {
                p.negotiation.offer_failed();
            }
        }
    }

    fn request_keyframes_for(&self, subscriber_id: &str) {
        let Some(s) = self.participants.get(subscriber_id) else {
            return;
        };
        if !s.subscriber_connected.load(Ordering::Relaxed) {
            return;
        }
        for (down, _) in s.down_tracks.values() {
            down.forwarder.request_keyframe();
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
                    p.subscriber_connected.store(true, Ordering::Relaxed);
                }
                self.request_keyframes_for(participant_id);
            }
            RTCPeerConnectionState::Disconnected if role == PeerRole::Subscriber => {
                if let Some(p) = self.participants.get(participant_id) {
                    p.subscriber_connected.store(false, Ordering::Relaxed);
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
    async fn broadcast(&self, frame: &ServerFrame) {
        let ids = self.participants.values().map(|p| p.connection_id.as_str());
        // Gone connections are signaling's to clean up, on their $disconnect.
        send_to_all(self.ctx.gateway.as_ref(), ids, frame).await;
    }
}

/// Track ids (`a=msid:<stream> <track>`) of the m-sections an SDP sends on.
pub fn sending_track_ids(sdp: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut msid: Option<String> = None;
    let mut sending = false;
    let mut flush = |msid: &mut Option<String>, sending: bool| {
        if let Some(id) = msid.take() {
            if sending {
                ids.push(id);
            }
        }
    };
    for line in sdp.lines() {
        let line = line.trim();
        if line.starts_with("m=") {
            flush(&mut msid, sending);
            sending = true; // sendrecv is the default direction
        } else if let Some(rest) = line.strip_prefix("a=msid:") {
            msid = rest.split_whitespace().nth(1).map(str::to_owned);
        } else if line == "a=recvonly" || line == "a=inactive" {
            sending = false;
        }
    }
    flush(&mut msid, sending);
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sending_tracks() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\na=msid:s1 mic\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=inactive\r\na=msid:s1 cam\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\na=msid:s1 screen\r\nm=application 9 x\r\n";
        assert_eq!(
            sending_track_ids(sdp),
            vec!["mic".to_string(), "screen".to_string()]
        );
    }
}
