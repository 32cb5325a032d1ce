//! `join`: enter the room named in the token. The room gets an SFU node (atomically, the
//! least-loaded live one), the client gets `joined`, the others `participant_joined`, and the
//! node is told so it can set up the participant's peer connections.

use veet_core::protocol::{ErrorCode, NodeMessage, ParticipantInfo, ServerFrame};
use veet_core::routing::{unix_millis, AddOutcome, Connection, ParticipantRecord};
use veet_core::webhook::{EventKind, WebhookEvent};

use super::{new_id, ActionError, ActionResult, Signaling};

pub(super) async fn handle(s: &Signaling, mut conn: Connection) -> ActionResult {
    if conn.participant_id.is_some() {
        return Err(ActionError::new(
            ErrorCode::AlreadyJoined,
            "this connection has already joined",
        ));
    }
    let room = conn.room.clone();
    let node_id = s.routing.rooms.assign_node(&room).await?.ok_or_else(|| {
        ActionError::new(
            ErrorCode::NoNodeAvailable,
            "no media server is available; try again shortly",
        )
    })?;
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
    match s.routing.rooms.add_participant(&room, &record).await? {
        AddOutcome::Full => {
            return Err(ActionError::new(ErrorCode::RoomFull, "the room is full"));
        }
        AddOutcome::Added {
            replaced: Some(old),
        } => {
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
            if let Ok(Some(mut old_conn)) =
                s.routing.connections.connection(&old.connection_id).await
            {
                old_conn.participant_id = None;
                s.routing.connections.put_connection(&old_conn).await?;
            }
            let _ = s.gateway.disconnect(&old.connection_id).await;
            s.routing
                .bus
                .publish(
                    &node_id,
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
                Some(&record.info.id),
            )
            .await?;
        }
        AddOutcome::Added { replaced: None } => {}
    }
    conn.participant_id = Some(record.info.id.clone());
    s.routing.connections.put_connection(&conn).await?;

    let everyone = s.routing.rooms.participants(&room).await?;
    if everyone.len() == 1 {
        s.emit(|| WebhookEvent::new(EventKind::RoomStarted, &room))
            .await;
    }
    s.emit(|| {
        WebhookEvent::new(EventKind::ParticipantJoined, &room).with_participant(record.info.clone())
    })
    .await;
    let ice_servers = s
        .routing
        .nodes
        .node(&node_id)
        .await?
        .map(|n| n.ice_servers)
        .unwrap_or_default();
    let joined = ServerFrame::Joined {
        room: room.clone(),
        participant: record.info.clone(),
        participants: everyone
            .iter()
            .filter(|p| p.info.id != record.info.id)
            .map(|p| p.info.clone())
            .collect(),
        ice_servers,
    };
    s.reply(&conn.id, &joined).await;
    s.broadcast(
        &room,
        &ServerFrame::ParticipantJoined {
            participant: record.info.clone(),
        },
        Some(&record.info.id),
    )
    .await?;
    let routed = NodeMessage::Join {
        room: room.clone(),
        connection_id: conn.id.clone(),
        participant: record.info,
    };
    if s.routing.bus.publish(&node_id, &routed).await? == 0 {
        tracing::warn!(
            room,
            node = node_id,
            "no node is listening on the assigned inbox"
        );
    }
    Ok(())
}
