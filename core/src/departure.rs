//! A participant leaving a room — by `leave`, a closed socket, failed media or a connection
//! API Gateway reports gone — is one sequence, whoever notices it first (a signaling handler
//! or the SFU node): remove it from the room, tell the room's node and the others, free the
//! room when it was the last one, and emit the webhooks. Removal is atomic, so when two
//! notice at once only one runs the rest.

use crate::gateway::{send_to_all, ClientGateway};
use crate::protocol::{NodeMessage, ServerFrame};
use crate::routing::{Routing, RoutingError};
use crate::webhook::{EventKind, WebhookEvent, Webhooks};

/// Runs the departure of `participant_id` from `room`. Returns the connections found gone
/// while telling the others (the caller may clean them up in turn); nothing happens if the
/// participant had already left.
pub async fn depart(
    routing: &Routing,
    gateway: &dyn ClientGateway,
    webhooks: Option<&Webhooks>,
    room: &str,
    participant_id: &str,
) -> Result<Vec<String>, RoutingError> {
    let removal = routing
        .rooms
        .remove_participant(room, participant_id)
        .await?;
    let Some(removed) = removal.removed else {
        return Ok(Vec::new());
    };
    if let Some(w) = webhooks {
        w.emit(WebhookEvent::new(EventKind::ParticipantLeft, room).with_participant(removed.info))
            .await;
    }
    let info = routing.rooms.room(room).await?;
    if let Some(node) = info.as_ref().and_then(|r| r.node.as_deref()) {
        let message = NodeMessage::Leave {
            room: room.to_owned(),
            participant_id: participant_id.to_owned(),
        };
        routing.bus.publish(node, &message).await?;
    }
    let others = routing.rooms.participants(room).await?;
    let frame = ServerFrame::ParticipantLeft {
        participant_id: participant_id.to_owned(),
    };
    let gone = send_to_all(
        gateway,
        others.iter().map(|p| p.connection_id.as_str()),
        &frame,
    )
    .await;
    // The removal that emptied the room ends the meeting, whoever then gets to release the
    // room record (the node may already have).
    if removal.remaining == 0 {
        routing.rooms.delete_room_if_empty(room).await?;
        tracing::info!(room, "last participant left; room released");
        if let Some(w) = webhooks {
            w.emit(WebhookEvent::new(EventKind::RoomFinished, room))
                .await;
        }
    }
    Ok(gone)
}
