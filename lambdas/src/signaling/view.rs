//! `view`: how a participant displays the tracks it receives, routed to the room's node so it
//! forwards each at the layer that fits (adaptive stream).

use veet_core::protocol::{ErrorCode, NodeMessage, TrackView, MAX_TRACK_VIEWS};
use veet_core::routing::Connection;

use super::{ActionError, ActionResult, Signaling};

/// Larger than any screen: a size past it is a client bug, not a display.
const MAX_DIMENSION: u32 = 16_384;

pub(super) async fn handle(
    s: &Signaling,
    conn: &Connection,
    tracks: Vec<TrackView>,
) -> ActionResult {
    let participant = s.joined_participant(conn).await?;
    validate(&tracks)?;
    let msg = NodeMessage::View {
        room: conn.room.clone(),
        participant_id: participant.info.id,
        tracks,
    };
    s.route_to_node(&conn.room, &msg).await
}

fn validate(tracks: &[TrackView]) -> ActionResult {
    if tracks.len() > MAX_TRACK_VIEWS {
        return Err(ActionError::new(
            ErrorCode::InvalidFrame,
            format!("a `view` frame describes at most {MAX_TRACK_VIEWS} tracks"),
        ));
    }
    for t in tracks {
        if t.track_id.is_empty() || t.track_id.len() > 256 {
            return Err(ActionError::new(
                ErrorCode::InvalidFrame,
                "`track_id` must be 1–256 characters",
            ));
        }
        if t.width > MAX_DIMENSION || t.height > MAX_DIMENSION {
            return Err(ActionError::new(
                ErrorCode::InvalidFrame,
                format!("`width` and `height` must be at most {MAX_DIMENSION}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: &str, w: u32) -> TrackView {
        TrackView {
            track_id: id.into(),
            width: w,
            height: w,
            pinned: false,
        }
    }

    #[test]
    fn bounds_are_enforced() {
        assert!(validate(&[view("a", 640)]).is_ok());
        assert!(validate(&[view("", 640)]).is_err());
        assert!(validate(&[view("a", 100_000)]).is_err());
        let many: Vec<_> = (0..=MAX_TRACK_VIEWS)
            .map(|i| view(&i.to_string(), 1))
            .collect();
        assert_eq!(validate(&many).unwrap_err().code, ErrorCode::InvalidFrame);
    }
}
