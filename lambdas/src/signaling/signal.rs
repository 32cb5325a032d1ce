//! `signal`: SDP and ICE for a participant's peer connections, routed to the room's node.

use veet_core::protocol::{ErrorCode, NodeMessage, PeerRole, Signal};
use veet_core::routing::Connection;

use super::{ActionError, ActionResult, Signaling};

pub(super) async fn handle(
    s: &Signaling,
    conn: &Connection,
    role: PeerRole,
    signal: Signal,
) -> ActionResult {
    let participant = s.joined_participant(conn).await?;
    let allowed = match role {
        PeerRole::Publisher => conn.grants.can_publish,
        PeerRole::Subscriber => conn.grants.can_subscribe,
    };
    if !allowed {
        return Err(ActionError::new(
            ErrorCode::PermissionDenied,
            format!("your token does not allow a {role:?} connection").to_lowercase(),
        ));
    }
    let msg = NodeMessage::Signal {
        room: conn.room.clone(),
        participant_id: participant.info.id,
        role,
        signal,
    };
    s.route_to_node(&conn.room, &msg).await
}
