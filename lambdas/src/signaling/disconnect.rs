//! `$disconnect`: the socket closed (or API Gateway closed it); the participant leaves (or
//! the guest leaves the lobby).

use super::Signaling;

pub(super) async fn handle(s: &Signaling, connection_id: &str) {
    let conn = match s.routing.connections.remove_connection(connection_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(connection_id, error = %e, "could not remove connection");
            return;
        }
    };
    if let Some(pid) = &conn.participant_id {
        if let Err(e) = s.remove_participant(&conn.room, pid).await {
            tracing::error!(connection_id, error = %e, "could not remove participant");
        }
    } else if let Err(e) = super::lobby::leave(s, &conn).await {
        tracing::error!(connection_id, error = %e, "could not take the guest out of the lobby");
    }
}
