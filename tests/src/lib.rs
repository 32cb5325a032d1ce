//! Shared helpers for Veet's cross-component tests and benchmarks.
//!
//! - [`redis_server::RedisServer`]: a private `redis-server` on a free port per test, which
//!   the test can [`kill`](redis_server::RedisServer::kill) and
//!   [`restart`](redis_server::RedisServer::restart) on the same port.
//! - [`ws::WsClient`]: a WebSocket client for JSON frames: send a frame, wait for the next
//!   frame of a `type`, assert none of a type arrives within a window, see how the socket
//!   closed, or see the HTTP status of a refused upgrade.
//! - [`dev::TestServer`]: `veet dev`'s server in-process on a free port, with in-memory or
//!   Redis routing, token helpers and fake SFU node registration.
//! - [`lambda`]: a local Lambda Runtime API and API Gateway management API recorder, for
//!   running the real `lambda_runtime` binaries.
//! - [`process`]: [`binary_path`] for the workspace's built binaries and
//!   [`process::ChildGuard`] to kill child processes when a test ends.
//! - [`conformance`]: the routing conformance fixture (both backends) and its helpers.
//! - [`panics`]: counts panics inside server tasks, which tokio would otherwise swallow.
//!
//! Waits use [`WAIT`] (generous, for a loaded machine); no helper asserts on timing.

use std::time::Duration;

pub mod cluster;
pub mod conformance;
pub mod dev;
pub mod lambda;
pub mod panics;
pub mod process;
pub mod redis_server;
pub mod ws;

pub use dev::{fake_node, Backend, TestServer};
pub use process::{binary_path, ChildGuard};
pub use redis_server::RedisServer;
pub use ws::WsClient;

/// A one-hour token with default grants for `identity` (display name = identity) in `room`.
pub fn hour_token(tokens: &veet_core::token::TokenAuthority, room: &str, identity: &str) -> String {
    tokens
        .issue(
            room,
            identity,
            identity,
            veet_core::protocol::Grants::default(),
            Duration::from_secs(3600),
        )
        .expect("issuing a token")
}

/// A one-hour host token (`room_admin`) for `identity` in `room`.
pub fn host_token(tokens: &veet_core::token::TokenAuthority, room: &str, identity: &str) -> String {
    let grants = veet_core::protocol::Grants {
        room_admin: true,
        ..veet_core::protocol::Grants::default()
    };
    tokens
        .issue(room, identity, identity, grants, Duration::from_secs(3600))
        .expect("issuing a token")
}

/// How long helpers wait for something that should happen.
pub const WAIT: Duration = Duration::from_secs(10);

/// A window in which something that should not happen is given the chance to.
pub const QUIET: Duration = Duration::from_millis(500);

/// Polls `check` every 20 ms until it returns `Some`, for up to [`WAIT`]; panics with
/// `what` otherwise.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {WAIT:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends the crate's tracing output (filtered by `RUST_LOG`, default `warn`) to the test
/// harness's captured output. Safe to call from every test.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// Generates, for each named `async fn name(backend: Backend)` in the calling test file, a
/// `memory::name` and a `redis::name` test on a multi-thread runtime (so
/// [`panics::watch`] sees server panics), running the same function against both routing
/// backends.
///
/// ```ignore
/// veet_tests::for_both_backends!(join_works, chat_works);
/// async fn join_works(backend: veet_tests::Backend) { /* … */ }
/// ```
#[macro_export]
macro_rules! for_both_backends {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Memory).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Redis).await;
                }
            )*
        }
    };
}
