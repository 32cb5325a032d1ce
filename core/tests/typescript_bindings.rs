//! The web client's protocol types must match the Rust ones: a change on one side that the
//! other misses fails here.

use std::path::PathBuf;

#[test]
fn web_protocol_types_are_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/src/protocol.gen.ts");
    let expected = veet_core::protocol::typescript_bindings();
    if std::env::var("VEET_UPDATE_BINDINGS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &expected).expect("writing bindings");
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "web/src/protocol.gen.ts is stale: run `VEET_UPDATE_BINDINGS=1 cargo test -p veet-core`"
    );
}
