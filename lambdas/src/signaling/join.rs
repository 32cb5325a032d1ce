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
use veet_core::routing::{unix_millis, AddOutcome, Connection, ParticipantRecord};
use veet_core::webhook::{EventKind, WebhookEvent};

use super::admission::{self, Admission};
use super::{lobby, new_id, ActionError, ActionResult, Signaling};

pub(super) async fn handle(s: &Signaling, conn: Connection) -> ActionResult {
    enter(s, conn, false).await
}

/// Joins `conn`; `admitted`: a host let it in from the lobby.
pub(super) async fn enter(s: &Signaling, conn: Connection, admitted: bool) -> ActionResult {
    if conn.participant_id.is_some() {
        return Err(ActionError::new(
            ErrorCode::AlreadyJoined,
            "this connection has already joined",
        ));
    }
    let room = conn.room.clone();
    let meeting = match admission::check(s, &conn, admitted).await? {
        Admission::Enter(meeting) => meeting,
        Admission::Lobby => return lobby::wait(s, &conn).await,
    };
    let record = ParticipantRecord {
        info: ParticipantInfo {
            id: new_id("PA_"),
            identity: conn.identity.clone(),
            name: conn.name.clone(),
            joined_at: unix_millis(),
            tracks: Vec::new(),
            grants: conn.grants,
            hand_raised_at: None,
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
    // Those let into a locked meeting (hosts, people reconnecting) see it is locked; hosts see
    // whether guests knock, and who is waiting.
    if meeting.locked {
        let frame = ServerFrame::MeetingLocked {
            locked: true,
            by: None,
        };
        s.reply(&conn.id, &frame).await;
    }
    if conn.grants.room_admin {
        if meeting.lobby {
            let frame = ServerFrame::LobbyChanged {
                enabled: true,
                by: None,
            };
            s.reply(&conn.id, &frame).await;
        }
        lobby::show_waiting(s, &conn).await?;
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
