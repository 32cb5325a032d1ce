//! The lobby (knock to join): in a room whose guests knock (`access: "knock"`, or a host's
//! `set_lobby`), a guest's `join` waits here — it gets `waiting_in_lobby` and nothing else of
//! the meeting — until a host answers its `knock` with `admit_guest` (the join goes ahead) or
//! `deny_guest` (`knock_denied`, socket closed). A guest that gives up and closes its socket
//! leaves the lobby. Hosts who join later are shown everyone still waiting.

use veet_core::protocol::{ErrorCode, ServerFrame};
use veet_core::routing::{unix_millis, Connection, LobbyEntry};

use super::{new_id, ActionError, ActionResult, Signaling};

/// Sends `frame` to the room's hosts.
pub(super) async fn tell_hosts(s: &Signaling, room: &str, frame: &ServerFrame) -> ActionResult {
    let hosts: Vec<_> = s
        .routing
        .rooms
        .participants(room)
        .await?
        .into_iter()
        .filter(|p| p.info.grants.room_admin)
        .collect();
    let ids = hosts.iter().map(|p| p.connection_id.as_str());
    veet_core::gateway::send_to_all(s.gateway.as_ref(), ids, frame).await;
    Ok(())
}

/// Puts `conn` in the lobby (once, however often it asks) and tells the hosts.
pub(super) async fn wait(s: &Signaling, conn: &Connection) -> ActionResult {
    let waiting = s.routing.rooms.knocks(&conn.room).await?;
    if !waiting.iter().any(|e| e.connection_id == conn.id) {
        let entry = LobbyEntry {
            knock_id: new_id("KN_"),
            connection_id: conn.id.clone(),
            identity: conn.identity.clone(),
            name: conn.name.clone(),
            at: unix_millis(),
        };
        s.routing.rooms.knock(&conn.room, &entry).await?;
        let knock = ServerFrame::Knock {
            knock_id: entry.knock_id,
            name: entry.name,
        };
        tell_hosts(s, &conn.room, &knock).await?;
    }
    s.reply(&conn.id, &ServerFrame::WaitingInLobby {}).await;
    Ok(())
}

/// Shows a host who just joined everyone waiting.
pub(super) async fn show_waiting(s: &Signaling, host: &Connection) -> ActionResult {
    for e in s.routing.rooms.knocks(&host.room).await? {
        let knock = ServerFrame::Knock {
            knock_id: e.knock_id,
            name: e.name,
        };
        s.reply(&host.id, &knock).await;
    }
    Ok(())
}

/// Takes a knock a host answers, telling the other hosts; `not_found` if it is gone (another
/// host answered first, or the guest left).
pub(super) async fn answer(
    s: &Signaling,
    room: &str,
    knock_id: &str,
    admitted: bool,
) -> Result<LobbyEntry, ActionError> {
    let entry = s
        .routing
        .rooms
        .take_knock(room, knock_id)
        .await?
        .ok_or_else(|| {
            ActionError::new(
                ErrorCode::NotFound,
                "no one is waiting with this knock: another host answered, or they left",
            )
        })?;
    let resolved = ServerFrame::KnockResolved {
        knock_id: knock_id.to_owned(),
        admitted,
    };
    tell_hosts(s, room, &resolved).await?;
    Ok(entry)
}

/// A closed socket leaves the lobby; the hosts' prompts go.
pub(super) async fn leave(s: &Signaling, conn: &Connection) -> ActionResult {
    let waiting = s.routing.rooms.knocks(&conn.room).await?;
    if let Some(e) = waiting.into_iter().find(|e| e.connection_id == conn.id) {
        // Answered meanwhile by a host: nothing left to do.
        let _ = answer(s, &conn.room, &e.knock_id, false).await;
    }
    Ok(())
}
