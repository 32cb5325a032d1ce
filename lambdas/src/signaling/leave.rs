//! `leave`: leave the room but keep the socket (the client may join again).

use veet_core::routing::Connection;

use super::{ActionResult, Signaling};

pub(super) async fn handle(s: &Signaling, mut conn: Connection) -> ActionResult {
    let Some(pid) = conn.participant_id.take() else {
        return Ok(());
    };
    s.routing.connections.put_connection(&conn).await?;
    s.remove_participant(&conn.room, &pid).await?;
    Ok(())
}
