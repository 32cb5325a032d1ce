//! Rate limits on every client action, per connection and per identity: token buckets sized
//! for a person (a burst, then a steady rate), kept in the routing store so they hold across
//! Lambda instances. A refused frame is answered with `rate_limited` and when to retry; the
//! connection stays open.

use veet_core::protocol::{ClientFrame, ErrorCode};
use veet_core::rate::{Admission, Rate};
use veet_core::routing::{unix_millis, Connection};

use super::{ActionError, Signaling};

/// The bucket an action draws from and its size. Actions that fan out to the whole room or
/// allocate media resources get the smallest buckets.
pub(crate) fn limit_for(frame: &ClientFrame) -> (&'static str, Rate) {
    match frame {
        // A join or leave sets up or tears down peer connections and ports on the node.
        ClientFrame::Join {} | ClientFrame::Leave {} => ("presence", Rate::per_minute(20, 6)),
        // Each chat message is pushed to every participant.
        ClientFrame::Chat { .. } => ("chat", Rate::per_second(5, 20)),
        ClientFrame::Mute { .. } => ("mute", Rate::per_second(5, 20)),
        ClientFrame::RaiseHand { .. } | ClientFrame::LowerHand { .. } => {
            ("hand", Rate::per_second(2, 10))
        }
        // Reactions fan out like chat; a burst of applause, then a few a second.
        ClientFrame::React { .. } => ("react", Rate::per_second(3, 15)),
        ClientFrame::MuteParticipant { .. }
        | ClientFrame::RemoveParticipant { .. }
        | ClientFrame::LockMeeting { .. }
        | ClientFrame::EndMeeting {}
        | ClientFrame::SetLobby { .. }
        | ClientFrame::AdmitGuest { .. }
        | ClientFrame::DenyGuest { .. } => ("host", Rate::per_second(5, 20)),
        // Negotiation sends an offer and a burst of ICE candidates per connection.
        ClientFrame::Signal { .. } => ("signal", Rate::per_second(50, 200)),
        ClientFrame::View { .. } => ("view", Rate::per_second(10, 40)),
        ClientFrame::Ping {} => ("ping", Rate::per_second(5, 20)),
    }
}

/// Takes a token for `frame` from the connection's and the identity's buckets, or refuses.
/// A store that cannot be reached lets the action through: the limits protect the service,
/// and failing open keeps meetings working.
pub(crate) async fn check(
    s: &Signaling,
    conn: &Connection,
    frame: &ClientFrame,
) -> Result<(), ActionError> {
    let (bucket, rate) = limit_for(frame);
    // One hash tag per room: both keys sit in one slot, so one script updates them.
    let keys = [
        format!("rl:{{{}}}:{bucket}:c:{}", conn.room, conn.id),
        format!("rl:{{{}}}:{bucket}:i:{}", conn.room, conn.identity),
    ];
    match s.routing.keys.admit(&keys, rate, unix_millis()).await {
        Ok(Admission::Allowed) => Ok(()),
        Ok(Admission::Limited { retry_after }) => Err(ActionError::new(
            ErrorCode::RateLimited,
            format!(
                "too many `{bucket}` actions; retry in {} ms",
                retry_after.as_millis()
            ),
        )
        .retry_after(retry_after)),
        Err(e) => {
            tracing::warn!(error = %e, "rate limit unavailable");
            Ok(())
        }
    }
}
