//! The recognisable payload of every RTP packet a synthetic participant sends.
//!
//! `VEET` | kind (1 byte, 0 audio / 1 video) | keyframe flag (1 byte) | sequence (u64) | send
//! time in µs since the Unix epoch (u64) | identity length (u8) | identity | padding up to the
//! packet size (byte `i` is `i % 251`, so corruption anywhere is detected).

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};

const MAGIC: &[u8; 4] = b"VEET";

/// Microseconds since the Unix epoch.
pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Builds one payload: see the module documentation.
pub fn encode_payload(
    video: bool,
    keyframe: bool,
    seq: u64,
    sent_us: u64,
    identity: &str,
    size: usize,
) -> Bytes {
    let ident = &identity.as_bytes()[..identity.len().min(255)];
    let mut b = BytesMut::with_capacity(size.max(23 + ident.len()));
    b.put_slice(MAGIC);
    b.put_u8(u8::from(video));
    b.put_u8(u8::from(keyframe));
    b.put_u64(seq);
    b.put_u64(sent_us);
    b.put_u8(ident.len() as u8);
    b.put_slice(ident);
    while b.len() < size {
        b.put_u8((b.len() % 251) as u8);
    }
    b.freeze()
}

/// A decoded payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub video: bool,
    pub keyframe: bool,
    pub seq: u64,
    pub sent_us: u64,
    pub identity: String,
}

/// Decodes a payload made by [`encode_payload`], checking its padding too.
pub fn decode_payload(b: &[u8]) -> Option<Payload> {
    if b.len() < 23 || &b[..4] != MAGIC {
        return None;
    }
    let video = b[4] == 1;
    let keyframe = b[5] == 1;
    let seq = u64::from_be_bytes(b[6..14].try_into().ok()?);
    let sent_us = u64::from_be_bytes(b[14..22].try_into().ok()?);
    let n = b[22] as usize;
    let identity = std::str::from_utf8(b.get(23..23 + n)?).ok()?.to_owned();
    for (i, &x) in b.iter().enumerate().skip(23 + n) {
        if x != (i % 251) as u8 {
            return None;
        }
    }
    Some(Payload {
        video,
        keyframe,
        seq,
        sent_us,
        identity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_detects_corruption() {
        let b = encode_payload(true, true, 42, 1234, "alice", 300);
        assert_eq!(b.len(), 300);
        let p = decode_payload(&b).unwrap();
        assert_eq!(
            p,
            Payload {
                video: true,
                keyframe: true,
                seq: 42,
                sent_us: 1234,
                identity: "alice".into()
            }
        );
        let mut bad = b.to_vec();
        bad[200] ^= 1;
        assert!(decode_payload(&bad).is_none());
        assert!(decode_payload(b"VEE").is_none());
    }
}
