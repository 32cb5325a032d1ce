//! A Redis connection that retries a command once when it could not reach the server: the
//! first command after Redis restarts or fails over finds the old socket dead (`broken
//! pipe`), and the connection manager only reconnects behind it. Without this, every
//! restart costs each process one failed request — a refused `$connect`, a lost join.
//!
//! Only failures where the request never reached a server are retried (connection refused,
//! reset or dropped before an answer): a command is not run twice except when the server
//! died after running it and before answering, which the scripts tolerate (they are
//! idempotent for the same arguments, except counters, which may over-count by one).

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};

/// The pause before the one retry, for the manager to reconnect.
const RETRY_AFTER: Duration = Duration::from_millis(100);

/// [`ConnectionManager`] with one retry on unreachable-server errors.
#[derive(Clone)]
pub struct RetryingConnection(pub ConnectionManager);

fn unreachable(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal()
}

impl ConnectionLike for RetryingConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            match self.0.req_packed_command(cmd).await {
                Err(e) if unreachable(&e) => {
                    tokio::time::sleep(RETRY_AFTER).await;
                    self.0.req_packed_command(cmd).await
                }
                other => other,
            }
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            match self.0.req_packed_commands(pipeline, offset, count).await {
                Err(e) if unreachable(&e) => {
                    tokio::time::sleep(RETRY_AFTER).await;
                    self.0.req_packed_commands(pipeline, offset, count).await
                }
                other => other,
            }
        })
    }

    fn get_db(&self) -> i64 {
        self.0.get_db()
    }
}
