//! veet-lambdas: Veet's signaling plane.
//!
//! - [`signaling`]: the handlers for API Gateway's WebSocket routes (`$connect`,
//!   `$disconnect`, `$default` and one per [`veet_core::protocol::ClientFrame::ACTIONS`]).
//! - [`config`]: configuration from environment variables, shared by the Lambda binary and
//!   the CLI.
//! - [`emulator`]: a local API Gateway WebSocket API that calls the same handlers.
//! - [`room_api`]: the HTTP room API (room creation, join tokens).
//! - [`moderation`]: host actions (mute, remove, lock, end), shared by both.

pub mod config;
pub mod emulator;
pub mod moderation;
pub mod room_api;
pub mod signaling;

pub use emulator::{Emulator, Integration};
pub use signaling::Signaling;

/// Route keys API Gateway is configured with besides `$connect`, `$disconnect`, `$default`.
pub const ROUTES: [&str; 17] = veet_core::protocol::ClientFrame::ACTIONS;
