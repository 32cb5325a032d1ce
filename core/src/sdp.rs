//! What the SFU node reads from SDP text: the track ids an SDP sends, each track's simulcast
//! RIDs, and the tracks an answer cannot receive. Plain string scanning of the lines the node
//! needs, no full SDP model; anything it does not recognise is skipped (fuzzed: see `fuzz/`).

use std::collections::HashMap;

/// The most simulcast encodings a track is read with (the node's layers q, h, f).
pub const MAX_RIDS: usize = 3;

/// Track id → the simulcast RIDs its m-section sends (`a=rid:<rid> send`), for the
/// sections that have any. The node knows a track's layers from this, before (or without)
/// packets of each: a browser may hold back its top layer until its bandwidth estimate allows.
pub fn simulcast_rids(sdp: &str) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::new();
    let mut msid: Option<String> = None;
    let mut rids: Vec<String> = Vec::new();
    let mut flush = |msid: &mut Option<String>, rids: &mut Vec<String>| {
        if let Some(id) = msid.take() {
            if !rids.is_empty() {
                out.insert(id, std::mem::take(rids));
            }
        }
        rids.clear();
    };
    for line in sdp.lines() {
        let line = line.trim();
        if line.starts_with("m=") {
            flush(&mut msid, &mut rids);
        } else if let Some(rest) = line.strip_prefix("a=msid:") {
            msid = rest.split_whitespace().nth(1).map(str::to_owned);
        } else if let Some(rest) = line.strip_prefix("a=rid:") {
            let mut parts = rest.split_whitespace();
            if let (Some(rid), Some("send")) = (parts.next(), parts.next()) {
                if rids.len() < MAX_RIDS {
                    rids.push(rid.to_owned());
                }
            }
        }
    }
    flush(&mut msid, &mut rids);
    out
}

/// One m-section of an SDP, as far as codec negotiation goes.
struct Section {
    mid: Option<String>,
    /// Port 0: the answerer refused the section.
    rejected: bool,
    /// Encoding names from `a=rtpmap`, upper-case (`VP8`, `OPUS`).
    codecs: Vec<String>,
    track: Option<String>,
}

fn sections(sdp: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for line in sdp.lines() {
        let line = line.trim();
        if let Some(m) = line.strip_prefix("m=") {
            out.push(Section {
                mid: None,
                rejected: m.split(' ').nth(1) == Some("0"),
                codecs: Vec::new(),
                track: None,
            });
        } else if let Some(s) = out.last_mut() {
            if let Some(mid) = line.strip_prefix("a=mid:") {
                s.mid = Some(mid.to_owned());
            } else if let Some(rest) = line.strip_prefix("a=rtpmap:") {
                if let Some(name) = rest.split(' ').nth(1).and_then(|e| e.split('/').next()) {
                    s.codecs.push(name.to_ascii_uppercase());
                }
            } else if let Some(rest) = line.strip_prefix("a=msid:") {
                s.track = rest.split_whitespace().nth(1).map(str::to_owned);
            }
        }
    }
    out
}

/// The tracks of our `offer` the `answer` cannot receive in `codec_of(track)` (a MIME type
/// like `video/VP8`): their section was rejected, or answered without that codec.
pub fn refused_tracks(
    offer: &str,
    answer: &str,
    codec_of: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let answered = sections(answer);
    sections(offer)
        .into_iter()
        .filter_map(|o| {
            let track = o.track?;
            let mime = codec_of(&track)?;
            let name = mime.split('/').nth(1).unwrap_or(&mime).to_ascii_uppercase();
            let a = answered
                .iter()
                .find(|a| a.mid.is_some() && a.mid == o.mid)?;
            (a.rejected || !a.codecs.contains(&name)).then_some(track)
        })
        .collect()
}

/// Track ids (`a=msid:<stream> <track>`) of the m-sections an SDP sends on.
pub fn sending_track_ids(sdp: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut msid: Option<String> = None;
    let mut sending = false;
    let mut flush = |msid: &mut Option<String>, sending: bool| {
        if let Some(id) = msid.take() {
            if sending {
                ids.push(id);
            }
        }
    };
    for line in sdp.lines() {
        let line = line.trim();
        if line.starts_with("m=") {
            flush(&mut msid, sending);
            sending = true; // sendrecv is the default direction
        } else if let Some(rest) = line.strip_prefix("a=msid:") {
            msid = rest.split_whitespace().nth(1).map(str::to_owned);
        } else if line == "a=recvonly" || line == "a=inactive" {
            sending = false;
        }
    }
    flush(&mut msid, sending);
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tracks_an_answer_cannot_receive() {
        let offer = "m=audio 9 X 111\r\na=mid:0\r\na=msid:s mic\r\na=rtpmap:111 opus/48000/2\r\nm=video 9 X 96 98\r\na=mid:1\r\na=msid:s cam\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:98 H264/90000\r\nm=video 9 X 96\r\na=mid:2\r\na=msid:s screen\r\na=rtpmap:96 VP8/90000\r\n";
        let answer = "m=audio 9 X 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\nm=video 9 X 98\r\na=mid:1\r\na=rtpmap:98 H264/90000\r\nm=video 0 X 96\r\na=mid:2\r\n";
        let codec = |t: &str| {
            Some(
                if t == "mic" {
                    "audio/opus"
                } else {
                    "video/VP8"
                }
                .to_owned(),
            )
        };
        assert_eq!(refused_tracks(offer, answer, codec), vec!["cam", "screen"]);
        let fine = |t: &str| {
            Some(
                if t == "mic" {
                    "audio/opus"
                } else {
                    "video/H264"
                }
                .to_owned(),
            )
        };
        assert_eq!(refused_tracks(offer, answer, fine), vec!["screen"]);
        assert!(refused_tracks(offer, offer, codec).is_empty());
    }

    #[test]
    fn finds_the_simulcast_rids_of_each_track() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=msid:s1 mic\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=msid:s1 cam\r\na=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=msid:s1 screen\r\n";
        let rids = simulcast_rids(sdp);
        assert_eq!(rids.len(), 1);
        assert_eq!(rids["cam"], vec!["q", "h", "f"]);
    }

    #[test]
    fn finds_sending_tracks() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\na=msid:s1 mic\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=inactive\r\na=msid:s1 cam\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\na=msid:s1 screen\r\nm=application 9 x\r\n";
        assert_eq!(
            sending_track_ids(sdp),
            vec!["mic".to_string(), "screen".to_string()]
        );
    }
}
