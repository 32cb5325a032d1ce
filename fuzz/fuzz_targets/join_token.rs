//! Any string presented as a join token: verification refuses it with a reason (or, for the
//! one-in-never forgery, accepts it), never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veet_core::token::TokenAuthority;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let tokens = TokenAuthority::new("fuzz-secret");
    if let Err(e) = tokens.verify(token) {
        let _ = e.code();
        assert!(!e.to_string().is_empty());
    }
    let _ = tokens.verify_for_room(token, "abc-defg-hij");
});
