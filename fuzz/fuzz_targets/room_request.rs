//! Any body sent to the room API's `POST /rooms` or a participant's mute: it is parsed into
//! a request within the documented limits, or refused naming a field, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veet_core::room_request::{create_room, mute};

fuzz_target!(|data: &[u8]| {
    match create_room(data) {
        Ok(r) => {
            assert!(r.settings.max_participants <= 1000);
            assert!(r.participants.len() <= 100);
            assert!(r.code.as_deref().is_none_or(veet_core::room_code::is_valid));
        }
        // The field may be `""`: a body can name an unknown field so (the first crash found).
        Err(e) => assert!(!e.message.is_empty() && e.message.contains(&e.field)),
    }
    if let Err(e) = mute(data) {
        assert!(!e.message.is_empty() && e.message.contains(&e.field));
    }
});
