//! `join`: enter the room named in the token. The participant is recorded, the room gets an
//! SFU node (its live one, or one claimed atomically by the node selector), the node is told,
//! and only then the client gets `joined` and the others `participant_joined`.
//!
//! The order is what makes the join safe under API Gateway, which runs each of a
//! connection's frames as its own concurrent invocation: the client's offer and candidates
//! can only follow `joined`, so they always reach the node after the `Join` (one inbox, in
//! publish order); the participant exists before the node is chosen, so a concurrent
//! last-one-out cannot free the room in between; and the connection is bound to the
//! participant only if it is still open, so a `$disconnect` that ran first leaves no ghost.

use veet_core::protocol::{ErrorCode, NodeMessage, ParticipantInfo, ServerFrame};
use veet_core::routing::{unix_millis, AddOutcome, Connection, ParticipantRecord, RoomSettings};
use veet_core::webhook::{EventKind, WebhookEvent};

use super::{new_id, ActionError, ActionResult, Signaling};

/// Whether the room lets this connection in: not if a host removed it, and while the meeting
/// is locked only hosts and people already in it (reconnecting) get in. Returns whether it
/// is locked.
async fn admission(s: &Signaling, conn: &Connection) -> Result<bool, ActionError> {
    let entries = crate::moderation::entries_of(conn);
    if s.routing.rooms.is_denied(&conn.room, &entries).await? {
        return Err(ActionError::new(
            ErrorCode::Removed,
            "a host removed you from this meeting",
        ));
    }
    let Some(room) = s.routing.rooms.room(&conn.room).await? else {
        if conn.guest && !s.public_rooms {
            return Err(ActionError::new(
                ErrorCode::RoomNotFound,
                "no meeting has this code: check it, or start a new meeting",
            ));
        }
        // A room nobody made through the room API starts with default settings, so the
        // meeting has a record hosts can lock and end.
        s.routing
            .rooms
            .create_room(&conn.room, RoomSettings::default())
            .await?;
        return Ok(false);
    };
    if room.locked && !conn.grants.room_admin {
        let inside = s
            .routing
            .rooms
            .participants(&conn.room)
            .await?
            .iter()
            .any(|p| p.info.identity == conn.identity);
        if !inside {
            return Err(ActionError::new(
                ErrorCode::MeetingLocked,
                "a host locked this meeting; ask them to unlock it",
            ));
        }
    }
    Ok(room.locked)
}

pub(super) async fn handle(s: &Signaling, conn: Connection) -> ActionResult {
    if conn.participant_id.is_some() {
        return Err(ActionError::new(
            ErrorCode::AlreadyJoined,
            "this connection has already joined",
        ));
    }
    let room = conn.room.clone();
    let locked = admission(s, &conn).await?;
    let record = ParticipantRecord {
        info: ParticipantInfo {
            id: new_id("PA_"),
            identity: conn.identity.clone(),
            name: conn.name.clone(),
            joined_at: unix_millis(),
            tracks: Vec::new(),
            grants: conn.grants,
        },
        connection_id: conn.id.clone(),
    };
    let pid = record.info.id.clone();
    let replaced = match s.routing.rooms.add_participant(&room, &record).await? {
        AddOutcome::Full => {
            return Err(ActionError::new(ErrorCode::RoomFull, "the room is full"));
        }
        AddOutcome::Added { replaced } => replaced,
    };
    let Some(assignment) = s.routing.assign_node(&room, s.selector.as_ref()).await? else {
        s.remove_participant(&room, &pid).await?;
        return Err(ActionError::new(
            ErrorCode::NoNodeAvailable,
            "no media server is available; try again shortly",
        ));
    };
    if !s
        .routing
        .connections
        .set_participant(&conn.id, Some(&pid))
        .await?
    {
        // The socket closed while we joined: nobody is left to tell.
        s.remove_participant(&room, &pid).await?;
        return Ok(());
    }
    if let Some(old) = replaced {
        // The same person joined again (a second tab, or a reconnect before the old
        // socket's $disconnect): the old session ends.
        s.reply(
            &old.connection_id,
            &ServerFrame::error(
                ErrorCode::Replaced,
                "you joined this room from another connection",
            ),
        )
        .await;
        s.routing
            .connections
            .set_participant(&old.connection_id, None)
            .await?;
        let _ = s.gateway.disconnect(&old.connection_id).await;
        s.routing
            .bus
            .publish(
                &assignment.node,
                &NodeMessage::Leave {
                    room: room.clone(),
                    participant_id: old.info.id.clone(),
                },
            )
            .await?;
        s.broadcast(
            &room,
            &ServerFrame::ParticipantLeft {
                participant_id: old.info.id,
            },
            Some(&pid),
        )
        .await?;
    }
    let routed = NodeMessage::Join {
        room: room.clone(),
        connection_id: conn.id.clone(),
        participant: record.info.clone(),
        epoch: assignment.epoch,
    };
    if let Err(e) = s.publish_to_node(&assignment.node, &routed).await {
        // Nobody will set up our media: leave again rather than hang.
        s.remove_participant(&room, &pid).await?;
        s.routing
            .connections
            .set_participant(&conn.id, None)
            .await?;
        return Err(e);
    }

    let everyone = s.routing.rooms.participants(&room).await?;
    if everyone.len() == 1 {
        s.emit(|| WebhookEvent::new(EventKind::RoomStarted, &room))
            .await;
    }
    s.emit(|| {
        WebhookEvent::new(EventKind::ParticipantJoined, &room).with_participant(record.info.clone())
    })
    .await;
    let mut ice_servers = s
        .routing
        .nodes
        .node(&assignment.node)
        .await?
        .map(|n| n.ice_servers)
        .unwrap_or_default();
    if let Some(turn) = &s.turn {
        ice_servers.push(turn.credentials(&conn.identity, veet_core::token::unix_now()));
    }
    let joined = ServerFrame::Joined {
        room: room.clone(),
        participant: record.info.clone(),
        participants: everyone
            .iter()
            .filter(|p| p.info.id != pid)
            .map(|p| p.info.clone())
            .collect(),
        ice_servers,
    };
    s.reply(&conn.id, &joined).await;
    if locked {
        // Those let into a locked meeting (hosts, people reconnecting) see it is locked.
        let frame = ServerFrame::MeetingLocked { locked, by: None };
        s.reply(&conn.id, &frame).await;
    }
    s.broadcast(
        &room,
        &ServerFrame::ParticipantJoined {
            participant: record.info,
        },
        Some(&pid),
    )
    .await?;
    Ok(())
}
