//! `raise_hand` and `lower_hand`: a participant raises or lowers their own hand; a host may
//! lower anyone's. The time it went up is kept on the participant, so a late joiner sees the
//! hands in the order they were raised.

use veet_core::protocol::{ErrorCode, ServerFrame};
use veet_core::routing::{unix_millis, Connection};
use veet_core::webhook::{EventKind, WebhookEvent};

use super::{ActionError, ActionResult, Signaling};

/// Raises or lowers the sender's own hand. Raising a raised hand keeps its place in line.
pub(super) async fn raise(s: &Signaling, conn: &Connection, raised: bool) -> ActionResult {
    let me = s.joined_participant(conn).await?;
    if raised == me.info.hand_raised_at.is_some() {
        return Ok(());
    }
    let at = raised.then(unix_millis);
    set(s, conn, &me.info.id, at, None).await
}

/// Lowers someone's hand: one's own, or anyone's for a host.
pub(super) async fn lower(
    s: &Signaling,
    conn: &Connection,
    participant_id: String,
) -> ActionResult {
    let me = s.joined_participant(conn).await?;
    let own = participant_id == me.info.id;
    if !own && !conn.grants.room_admin {
        return Err(ActionError::new(
            ErrorCode::Forbidden,
            "only the meeting's hosts can lower someone else's hand",
        ));
    }
    let target = s
        .routing
        .rooms
        .participant(&conn.room, &participant_id)
        .await?
        .ok_or_else(|| ActionError::new(ErrorCode::NotFound, "no such participant"))?;
    if target.info.hand_raised_at.is_none() {
        return Ok(());
    }
    let by = (!own).then_some(me.info.id.as_str());
    set(s, conn, &participant_id, None, by).await
}

async fn set(
    s: &Signaling,
    conn: &Connection,
    participant_id: &str,
    raised_at: Option<u64>,
    by: Option<&str>,
) -> ActionResult {
    if !s
        .routing
        .rooms
        .set_hand(&conn.room, participant_id, raised_at)
        .await?
    {
        return Err(ActionError::new(ErrorCode::NotFound, "no such participant"));
    }
    let frame = ServerFrame::HandChanged {
        participant_id: participant_id.to_owned(),
        raised_at,
        by: by.map(str::to_owned),
    };
    s.broadcast(&conn.room, &frame, None).await?;
    if let Some(p) = s
        .routing
        .rooms
        .participant(&conn.room, participant_id)
        .await?
    {
        let kind = if raised_at.is_some() {
            EventKind::HandRaised
        } else {
            EventKind::HandLowered
        };
        s.emit(|| WebhookEvent::new(kind, &conn.room).with_participant(p.info))
            .await;
    }
    Ok(())
}
