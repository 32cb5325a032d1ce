//! `react`: an emoji from the fixed set floats over the sender's tile for everyone, the
//! sender included.

use veet_core::protocol::{ErrorCode, ServerFrame, REACTIONS};
use veet_core::routing::{unix_millis, Connection};
use veet_core::webhook::{EventKind, WebhookEvent};

use super::{ActionError, ActionResult, Signaling};

pub(super) async fn handle(s: &Signaling, conn: &Connection, emoji: String) -> ActionResult {
    let me = s.joined_participant(conn).await?;
    if !conn.grants.can_publish_data {
        return Err(ActionError::new(
            ErrorCode::PermissionDenied,
            "your token does not allow reactions",
        ));
    }
    if !REACTIONS.contains(&emoji.as_str()) {
        return Err(ActionError::new(
            ErrorCode::InvalidFrame,
            format!("`emoji` must be one of {}", REACTIONS.join(" ")),
        ));
    }
    let frame = ServerFrame::Reaction {
        participant_id: me.info.id.clone(),
        emoji: emoji.clone(),
        sent_at: unix_millis(),
    };
    s.broadcast(&conn.room, &frame, None).await?;
    s.emit(|| {
        WebhookEvent::new(EventKind::Reaction, &conn.room)
            .with_participant(me.info)
            .with_emoji(emoji)
    })
    .await;
    Ok(())
}
