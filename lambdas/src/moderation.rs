//! What a host can do to a meeting — mute someone, remove them, lock the meeting, make
//! guests knock, end it —
//! shared by the host's own frames (`mute_participant`, …) and the room API, so both take
//! the same path and the node enforces the result.

use veet_core::gateway::{send_to_all, ClientGateway};
use veet_core::protocol::{CloseReason, ErrorCode, NodeMessage, ServerFrame};
use veet_core::routing::{Connection, ParticipantRecord, RoomFlag, Routing, RoutingError};
use veet_core::webhook::{EventKind, WebhookEvent, Webhooks};

/// Why a moderation action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ModerationError {
    #[error("no participant `{0}` in this meeting")]
    NoParticipant(String),
    #[error("the participant has no track `{0}`")]
    NoTrack(String),
    #[error("no room `{0}`")]
    NoRoom(String),
    #[error(transparent)]
    Store(#[from] RoutingError),
}

/// The denylist entries that keep a removed participant out: its identity, and for a guest
/// (whose next guest token would carry a fresh identity) the address it connected from.
pub fn denial_entries(identity: &str, guest_address: Option<&str>) -> Vec<String> {
    let mut entries = vec![format!("id:{identity}")];
    entries.extend(guest_address.map(address_entry));
    entries
}

/// The denylist entry of a guest's address.
pub fn address_entry(ip: &str) -> String {
    format!("ip:{ip}")
}

/// The entries a new connection is checked against.
pub fn entries_of(conn: &Connection) -> Vec<String> {
    denial_entries(
        &conn.identity,
        conn.guest.then_some(conn.source_ip.as_deref()).flatten(),
    )
}

/// One room's moderation, through its routing store and client gateway.
pub struct Moderation<'a> {
    pub routing: &'a Routing,
    /// Absent where the deployment cannot reach client connections.
    pub gateway: Option<&'a dyn ClientGateway>,
    pub webhooks: Option<&'a Webhooks>,
    pub room: &'a str,
    /// The host acting, when it is a participant (absent for the room API).
    pub by: Option<&'a str>,
}

impl Moderation<'_> {
    async fn tell(&self, to: &[ParticipantRecord], frame: &ServerFrame) {
        if let Some(g) = self.gateway {
            send_to_all(g, to.iter().map(|p| p.connection_id.as_str()), frame).await;
        }
    }

    async fn participant(
        &self,
        participant_id: &str,
    ) -> Result<ParticipantRecord, ModerationError> {
        self.routing
            .rooms
            .participant(self.room, participant_id)
            .await?
            .ok_or_else(|| ModerationError::NoParticipant(participant_id.to_owned()))
    }

    /// Mutes or unmutes one of a participant's tracks, or all of them: the room (the
    /// participant included, whose client applies it) is told, and the node stops or
    /// resumes forwarding. Returns the tracks it applied to.
    pub async fn set_muted(
        &self,
        participant_id: &str,
        track_id: Option<&str>,
        muted: bool,
    ) -> Result<Vec<String>, ModerationError> {
        let record = self.participant(participant_id).await?;
        let tracks: Vec<String> = match track_id {
            Some(t) if record.info.tracks.iter().any(|x| x.id == t) => vec![t.to_owned()],
            Some(t) => return Err(ModerationError::NoTrack(t.to_owned())),
            None => record.info.tracks.iter().map(|t| t.id.clone()).collect(),
        };
        for t in &tracks {
            self.routing
                .rooms
                .set_track_muted(self.room, participant_id, t, muted)
                .await?;
        }
        let everyone = self.routing.rooms.participants(self.room).await?;
        let node = self
            .routing
            .rooms
            .room(self.room)
            .await?
            .and_then(|r| r.node);
        for track_id in &tracks {
            if let Some(node) = &node {
                let msg = NodeMessage::Mute {
                    room: self.room.to_owned(),
                    participant_id: participant_id.to_owned(),
                    track_id: track_id.clone(),
                    muted,
                };
                if let Err(e) = self.routing.bus.publish(node, &msg).await {
                    tracing::warn!(room = self.room, error = %e, "could not tell the node");
                }
            }
            let frame = ServerFrame::MuteChanged {
                participant_id: participant_id.to_owned(),
                track_id: track_id.clone(),
                muted,
                by: self.by.map(str::to_owned),
            };
            self.tell(&everyone, &frame).await;
        }
        Ok(tracks)
    }

    /// Removes a participant for the rest of the meeting: it is denied (by identity, and by
    /// address for a guest), told why, and its socket closed; its `$disconnect` tells the
    /// room.
    pub async fn remove(&self, participant_id: &str) -> Result<(), ModerationError> {
        let record = self.participant(participant_id).await?;
        let conn = self
            .routing
            .connections
            .connection(&record.connection_id)
            .await?;
        let guest_address = conn
            .as_ref()
            .filter(|c| c.guest)
            .and_then(|c| c.source_ip.as_deref());
        let entries = denial_entries(&record.info.identity, guest_address);
        self.routing.rooms.deny(self.room, &entries).await?;
        if let Some(g) = self.gateway {
            let frame =
                ServerFrame::error(ErrorCode::Removed, "a host removed you from the meeting");
            let _ = g.send(&record.connection_id, &frame).await;
            let _ = g.disconnect(&record.connection_id).await;
        }
        Ok(())
    }

    /// Locks or unlocks the meeting, or turns its lobby on or off, and tells everyone in it.
    pub async fn set_flag(&self, flag: RoomFlag, on: bool) -> Result<(), ModerationError> {
        if !self.routing.rooms.set_flag(self.room, flag, on).await? {
            return Err(ModerationError::NoRoom(self.room.to_owned()));
        }
        let everyone = self.routing.rooms.participants(self.room).await?;
        let by = self.by.map(str::to_owned);
        let frame = match flag {
            RoomFlag::Locked => ServerFrame::MeetingLocked { locked: on, by },
            RoomFlag::Lobby => ServerFrame::LobbyChanged { enabled: on, by },
        };
        self.tell(&everyone, &frame).await;
        Ok(())
    }

    /// Ends the meeting for everyone: `room_closed` with `reason`, sockets closed, media torn
    /// down, the room deleted (first, so each socket's `$disconnect` finds nothing left to
    /// announce, which is why the webhooks are sent from here). Returns who was in it.
    pub async fn end(
        &self,
        reason: CloseReason,
    ) -> Result<Vec<ParticipantRecord>, ModerationError> {
        let info = self
            .routing
            .rooms
            .room(self.room)
            .await?
            .ok_or_else(|| ModerationError::NoRoom(self.room.to_owned()))?;
        let participants = self.routing.rooms.participants(self.room).await?;
        self.routing.rooms.delete_room(self.room).await?;
        if let Some(node) = &info.node {
            let msg = NodeMessage::CloseRoom {
                room: self.room.to_owned(),
                reason,
            };
            if let Err(e) = self.routing.bus.publish(node, &msg).await {
                tracing::warn!(room = self.room, error = %e, "could not tell the node");
            }
        }
        if let Some(g) = self.gateway {
            let frame = ServerFrame::RoomClosed { reason };
            for p in &participants {
                let _ = g.send(&p.connection_id, &frame).await;
                let _ = g.disconnect(&p.connection_id).await;
            }
        }
        if let (Some(w), false) = (self.webhooks, participants.is_empty()) {
            for p in &participants {
                w.emit(
                    WebhookEvent::new(EventKind::ParticipantLeft, self.room)
                        .with_participant(p.info.clone()),
                )
                .await;
            }
            w.emit(WebhookEvent::new(EventKind::RoomFinished, self.room))
                .await;
        }
        Ok(participants)
    }
}
