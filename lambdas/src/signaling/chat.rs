//! `chat`: a message to everyone in the room, the sender included (so all see one order).

use veet_core::protocol::{ErrorCode, ServerFrame, MAX_CHAT_CHARS};
use veet_core::routing::{unix_millis, Connection};

use super::{new_id, ActionError, ActionResult, Signaling};

pub(super) async fn handle(s: &Signaling, conn: &Connection, text: String) -> ActionResult {
    let participant = s.joined_participant(conn).await?;
    if !conn.grants.can_publish_data {
        return Err(ActionError::new(
            ErrorCode::PermissionDenied,
            "your token does not allow chat",
        ));
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(ActionError::new(
            ErrorCode::InvalidFrame,
            "chat text is empty",
        ));
    }
    if text.chars().count() > MAX_CHAT_CHARS {
        return Err(ActionError::new(
            ErrorCode::InvalidFrame,
            format!("chat text is over {MAX_CHAT_CHARS} characters"),
        ));
    }
    let frame = ServerFrame::Chat {
        id: new_id("CH_"),
        participant_id: participant.info.id,
        name: participant.info.name,
        text: text.to_owned(),
        sent_at: unix_millis(),
    };
    s.broadcast(&conn.room, &frame, None).await?;
    Ok(())
}
