//! `mute`: a participant mutes or unmutes one of its tracks; the room and the node hear of it.

use veet_core::protocol::{ErrorCode, NodeMessage, ServerFrame};
use veet_core::routing::Connection;

use super::{ActionError, ActionResult, Signaling};

pub(super) async fn handle(
    s: &Signaling,
    conn: &Connection,
    track_id: String,
    muted: bool,
) -> ActionResult {
    let participant = s.joined_participant(conn).await?;
    if track_id.is_empty() || track_id.len() > 256 {
        return Err(ActionError::new(
            ErrorCode::InvalidFrame,
            "`track_id` must be 1–256 characters",
        ));
    }
    // Tracks the node has not reported yet are still muted or unmuted for the room, so the UI
    // is right from the first frame.
    s.routing
        .rooms
        .set_track_muted(&conn.room, &participant.info.id, &track_id, muted)
        .await?;
    let pid = participant.info.id;
    s.broadcast(
        &conn.room,
        &ServerFrame::MuteChanged {
            participant_id: pid.clone(),
            track_id: track_id.clone(),
            muted,
            by: None,
        },
        Some(&pid),
    )
    .await?;
    s.route_to_node(
        &conn.room,
        &NodeMessage::Mute {
            room: conn.room.clone(),
            participant_id: pid,
            track_id,
            muted,
        },
    )
    .await
}
