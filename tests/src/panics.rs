//! Noticing panics inside servers running in the test process.
//!
//! Tokio catches a panic in a spawned task (an axum connection, a handler), so a server bug
//! would not fail a test by itself. [`watch`] installs a panic hook that counts panics on
//! tokio worker threads; tests run their servers on a multi-thread runtime
//! (`#[tokio::test(flavor = "multi_thread")]`) and assert [`server_panics`] is 0.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

static PANICS: AtomicUsize = AtomicUsize::new(0);
static INSTALL: Once = Once::new();

/// Installs the counting hook once per process (the default hook still prints).
pub fn watch() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let on_worker = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("tokio-runtime-worker"));
            if on_worker {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

/// Panics counted on tokio worker threads since [`watch`] was first called, in any test of
/// this process.
pub fn server_panics() -> usize {
    PANICS.load(Ordering::SeqCst)
}

/// Asserts no server task has panicked.
pub fn assert_no_server_panics() {
    assert_eq!(
        server_panics(),
        0,
        "a server task panicked (see the output)"
    );
}
