//! Who a `join` lets in: not someone a host removed; while the meeting is locked, only hosts
//! and people already inside (reconnecting); where guests knock, a guest waits in the lobby
//! until a host admits it; and a guest starts no meeting in a room nobody created unless the
//! deployment allows public rooms.

use veet_core::protocol::ErrorCode;
use veet_core::routing::{Connection, RoomSettings};

use super::{ActionError, Signaling};

/// The meeting's switches a newcomer is shown.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Meeting {
    pub locked: bool,
    /// Guests knock (for hosts' controls).
    pub lobby: bool,
}

pub(super) enum Admission {
    Enter(Meeting),
    /// Wait for a host.
    Lobby,
}

/// Decides for `conn`; `admitted`: a host already let it in from the lobby.
pub(super) async fn check(
    s: &Signaling,
    conn: &Connection,
    admitted: bool,
) -> Result<Admission, ActionError> {
    let entries = crate::moderation::entries_of(conn);
    if s.routing.rooms.is_denied(&conn.room, &entries).await? {
        return Err(ActionError::new(
            ErrorCode::Removed,
            "a host removed you from this meeting",
        ));
    }
    let Some(room) = s.routing.rooms.room(&conn.room).await? else {
        if conn.guest && !s.public_rooms {
            return Err(ActionError::new(
                ErrorCode::RoomNotFound,
                "no meeting has this code: check it, or start a new meeting",
            ));
        }
        // A room nobody made through the room API starts with default settings, so the
        // meeting has a record hosts can lock and end.
        s.routing
            .rooms
            .create_room(&conn.room, RoomSettings::default())
            .await?;
        return Ok(Admission::Enter(Meeting::default()));
    };
    let meeting = Meeting {
        locked: room.locked,
        lobby: room.knocks(),
    };
    if conn.grants.room_admin || admitted {
        return Ok(Admission::Enter(meeting));
    }
    let locked = room.locked;
    let knocks = room.knocks() && conn.guest;
    if !locked && !knocks {
        return Ok(Admission::Enter(meeting));
    }
    // Someone already inside is reconnecting (a new socket, the same identity).
    let inside = s
        .routing
        .rooms
        .participants(&conn.room)
        .await?
        .iter()
        .any(|p| p.info.identity == conn.identity);
    if inside {
        return Ok(Admission::Enter(meeting));
    }
    if locked {
        return Err(ActionError::new(
            ErrorCode::MeetingLocked,
            "a host locked this meeting; ask them to unlock it",
        ));
    }
    Ok(Admission::Lobby)
}
