//! Any SDP a client sends (or the node's own, answered by anything): what the node reads
//! from it — sending tracks, simulcast RIDs, refused tracks — never panics, and what it
//! reports comes from the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veet_core::sdp::{refused_tracks, sending_track_ids, simulcast_rids, MAX_RIDS};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for id in sending_track_ids(text) {
        assert!(text.contains(&id), "track {id} is in the text");
    }
    for (track, rids) in simulcast_rids(text) {
        assert!(text.contains(&track));
        assert!(rids.len() <= MAX_RIDS);
    }
    // The first NUL splits an offer from its answer.
    let (offer, answer) = text.split_once('\0').unwrap_or((text, text));
    for t in refused_tracks(offer, answer, |t| Some(format!("video/{t}"))) {
        assert!(offer.contains(&t));
    }
});
