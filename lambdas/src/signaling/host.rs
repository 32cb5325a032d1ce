//! Host actions (`mute_participant`, `remove_participant`, `lock_meeting`, `end_meeting`,
//! `set_lobby`, `admit_guest`, `deny_guest`):
//! only a participant whose token grants `room_admin` may take them; everyone else gets
//! `forbidden`. The work is [`Moderation`]'s, shared with the room API.

use veet_core::protocol::{CloseReason, ErrorCode, ServerFrame};
use veet_core::routing::{Connection, ParticipantRecord, RoomFlag};

use super::{lobby, ActionError, ActionResult, Signaling};
use crate::moderation::{Moderation, ModerationError};

impl From<ModerationError> for ActionError {
    fn from(e: ModerationError) -> Self {
        match e {
            ModerationError::Store(e) => e.into(),
            ModerationError::NoRoom(_) => ActionError::new(ErrorCode::RoomNotFound, e.to_string()),
            ModerationError::NoParticipant(_) | ModerationError::NoTrack(_) => {
                ActionError::new(ErrorCode::NotFound, e.to_string())
            }
        }
    }
}

/// The joined host, or `forbidden`.
async fn host(s: &Signaling, conn: &Connection) -> Result<ParticipantRecord, ActionError> {
    let me = s.joined_participant(conn).await?;
    if !conn.grants.room_admin {
        return Err(ActionError::new(
            ErrorCode::Forbidden,
            "only the meeting's hosts can do this",
        ));
    }
    Ok(me)
}

fn moderation<'a>(
    s: &'a Signaling,
    conn: &'a Connection,
    me: &'a ParticipantRecord,
) -> Moderation<'a> {
    Moderation {
        routing: &s.routing,
        gateway: Some(s.gateway.as_ref()),
        webhooks: s.webhooks.as_deref(),
        room: &conn.room,
        by: Some(&me.info.id),
    }
}

/// Mutes one or all of another participant's tracks. Unmuting is the owner's alone.
pub(super) async fn mute_participant(
    s: &Signaling,
    conn: &Connection,
    participant_id: String,
    track_id: Option<String>,
) -> ActionResult {
    let me = host(s, conn).await?;
    moderation(s, conn, &me)
        .set_muted(&participant_id, track_id.as_deref(), true)
        .await?;
    Ok(())
}

/// Removes a participant for the rest of the meeting.
pub(super) async fn remove_participant(
    s: &Signaling,
    conn: &Connection,
    participant_id: String,
) -> ActionResult {
    let me = host(s, conn).await?;
    if participant_id == me.info.id {
        return Err(ActionError::new(
            ErrorCode::InvalidFrame,
            "hosts leave rather than remove themselves",
        ));
    }
    moderation(s, conn, &me).remove(&participant_id).await?;
    Ok(())
}

pub(super) async fn lock_meeting(s: &Signaling, conn: &Connection, locked: bool) -> ActionResult {
    let me = host(s, conn).await?;
    moderation(s, conn, &me)
        .set_flag(RoomFlag::Locked, locked)
        .await?;
    Ok(())
}

/// Makes guests knock, or lets them straight in (those already waiting stay until answered).
pub(super) async fn set_lobby(s: &Signaling, conn: &Connection, enabled: bool) -> ActionResult {
    let me = host(s, conn).await?;
    moderation(s, conn, &me)
        .set_flag(RoomFlag::Lobby, enabled)
        .await?;
    Ok(())
}

/// Lets a waiting guest in: its join goes ahead as if there were no lobby.
pub(super) async fn admit_guest(
    s: &Signaling,
    conn: &Connection,
    knock_id: String,
) -> ActionResult {
    host(s, conn).await?;
    let entry = lobby::answer(s, &conn.room, &knock_id, true).await?;
    let Some(guest) = s
        .routing
        .connections
        .connection(&entry.connection_id)
        .await?
    else {
        return Ok(()); // it left meanwhile
    };
    if let Err(e) = super::join::enter(s, guest, true).await {
        s.reply(&entry.connection_id, &e.frame()).await;
    }
    Ok(())
}

/// Turns a waiting guest away: it is told and its socket closed.
pub(super) async fn deny_guest(s: &Signaling, conn: &Connection, knock_id: String) -> ActionResult {
    host(s, conn).await?;
    let entry = lobby::answer(s, &conn.room, &knock_id, false).await?;
    let frame = ServerFrame::error(ErrorCode::KnockDenied, "a host did not let you in");
    s.reply(&entry.connection_id, &frame).await;
    let _ = s.gateway.disconnect(&entry.connection_id).await;
    Ok(())
}

pub(super) async fn end_meeting(s: &Signaling, conn: &Connection) -> ActionResult {
    let me = host(s, conn).await?;
    moderation(s, conn, &me).end(CloseReason::Ended).await?;
    Ok(())
}
