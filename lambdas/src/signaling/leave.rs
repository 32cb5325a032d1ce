//! `leave`: leave the room but keep the socket (the client may join again).

use veet_core::routing::Connection;

use super::{ActionResult, Signaling};

pub(super) async fn handle(s: &Signaling, conn: Connection) -> ActionResult {
    let Some(pid) = conn.participant_id.as_deref() else {
        return Ok(());
    };
    s.routing
        .connections
        .set_participant(&conn.id, None)
        .await?;
    s.remove_participant(&conn.room, pid).await?;
    Ok(())
}
