//! The `veet` command's building blocks, usable from tests.
//!
//! - [`coturn`]: a local coturn for `veet dev --turn`.
//! - [`dev`]: the one-process local meeting server (`veet dev`).
//! - [`duration`]: `1h`/`30m`/`90s` style durations for flags.

pub mod coturn;
pub mod dev;
pub mod duration;
pub mod loadtest;
pub mod peer;
pub mod room;
