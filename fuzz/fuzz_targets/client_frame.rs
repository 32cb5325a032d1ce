//! Any text a client sends: parsing answers a frame or an error with a code and a message,
//! never a panic; a parsed frame survives a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veet_core::protocol::{ClientFrame, MAX_FRAME_BYTES};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ClientFrame::parse(text) {
        Ok(frame) => {
            let json = serde_json::to_string(&frame).expect("a frame serializes");
            if json.len() <= MAX_FRAME_BYTES {
                assert_eq!(
                    ClientFrame::parse(&json).ok(),
                    Some(frame),
                    "round trip of {json}"
                );
            }
        }
        Err(e) => assert!(!e.message.is_empty(), "an error explains itself"),
    }
});
