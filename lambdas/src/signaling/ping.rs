//! `ping`: keep-alive under API Gateway's 10-minute idle timeout.

use veet_core::protocol::ServerFrame;
use veet_core::routing::Connection;

use super::{ActionResult, Signaling};

pub(super) async fn handle(s: &Signaling, conn: &Connection) -> ActionResult {
    s.reply(&conn.id, &ServerFrame::Pong {}).await;
    Ok(())
}
