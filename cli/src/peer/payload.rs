//! The recognisable payload of every RTP packet a synthetic participant sends.
//!
//! `VEET` | kind (1 byte, 0 audio / 1 + simulcast layer for video) | flags (1 byte: 1 keyframe,
//! 2 audio of digital silence, which the SFU may drop) |
//! sequence (u64) | send time in µs since the Unix epoch (u64) | identity length (u8) |
//! identity | padding up to the packet size (byte `i` is `i % 251`, so corruption anywhere is
//! detected).
//!
//! Simulcast video is wrapped as VP8 (RFC 7741) so the SFU can find keyframes and rewrite
//! picture ids: a payload descriptor, on a frame's first packet a VP8 frame tag (a keyframe's
//! with its start code and size), then the payload above.

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
    encode_layer_payload(video, 0, keyframe, seq, sent_us, identity, size)
}

/// [`encode_payload`] for audio; `silent` marks digital silence (see the flags byte).
pub fn encode_audio_payload(
    silent: bool,
    seq: u64,
    sent_us: u64,
    identity: &str,
    size: usize,
) -> Bytes {
    let mut b = BytesMut::from(&encode_payload(false, false, seq, sent_us, identity, size)[..]);
    if silent {
        b[5] = 2;
    }
    b.freeze()
}

/// [`encode_payload`] for one simulcast layer of a video track.
pub fn encode_layer_payload(
    video: bool,
    layer: u8,
    keyframe: bool,
    seq: u64,
    sent_us: u64,
    identity: &str,
    size: usize,
) -> Bytes {
    let ident = &identity.as_bytes()[..identity.len().min(255)];
    let mut b = BytesMut::with_capacity(size.max(23 + ident.len()));
    b.put_slice(MAGIC);
    b.put_u8(if video { 1 + layer } else { 0 });
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
    /// Simulcast layer (0 when not simulcast).
    pub layer: u8,
    pub keyframe: bool,
    /// Audio of digital silence (a muted microphone).
    pub silent: bool,
    pub seq: u64,
    pub sent_us: u64,
    pub identity: String,
}

/// Decodes a payload made by [`encode_payload`], checking its padding too.
pub fn decode_payload(b: &[u8]) -> Option<Payload> {
    if b.len() >= 4 && &b[..4] != MAGIC {
        let (_, inner) = unwrap_vp8(b)?;
        return decode_payload(inner);
    }
    if b.len() < 23 {
        return None;
    }
    let video = b[4] >= 1;
    let layer = b[4].saturating_sub(1);
    let keyframe = b[5] == 1;
    let silent = b[5] == 2;
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
        layer,
        keyframe,
        silent,
        seq,
        sent_us,
        identity,
    })
}

/// VP8 descriptor fields of one packet.
#[derive(Debug, Clone, Copy)]
pub struct Vp8Fields {
    pub picture_id: u16,
    pub tl0_pic_idx: u8,
    pub frame_start: bool,
    pub keyframe: bool,
}

/// `inner` as a VP8 packet: descriptor with a 15-bit picture id and TL0PICIDX, then on a
/// frame's first packet the frame tag (keyframes: with start code and 640 × 360).
pub fn wrap_vp8(f: Vp8Fields, inner: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(inner.len() + 16);
    b.put_u8(0x80 | if f.frame_start { 0x10 } else { 0 });
    b.put_u8(0xe0);
    b.put_u16(0x8000 | (f.picture_id & 0x7fff));
    b.put_u8(f.tl0_pic_idx);
    b.put_u8(0x20);
    if f.frame_start {
        if f.keyframe {
            b.put_slice(&[0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]);
        } else {
            b.put_slice(&[0x11, 0x02, 0x00]);
        }
    }
    b.put_slice(inner);
    b.freeze()
}

/// The descriptor of a packet made by [`wrap_vp8`] (as received: ids may be rewritten) and
/// the payload inside.
pub fn unwrap_vp8(b: &[u8]) -> Option<(Vp8Fields, &[u8])> {
    let d = veet_sfu::vp8::Vp8Descriptor::parse(b)?;
    let (picture_id, _) = d.picture_id?;
    let tag = match (d.frame_start, d.keyframe) {
        (false, _) => 0,
        (true, true) => 10,
        (true, false) => 3,
    };
    let inner = b.get(d.header_len + tag..)?;
    let f = Vp8Fields {
        picture_id,
        tl0_pic_idx: d.tl0_pic_idx?,
        frame_start: d.frame_start,
        keyframe: d.keyframe,
    };
    Some((f, inner))
}

#[cfg(test)]
mod tests {
    #[test]
    fn vp8_wrapped_layers_round_trip() {
        let inner = encode_layer_payload(true, 2, true, 7, 99, "bob", 200);
        let f = Vp8Fields {
            picture_id: 1234,
            tl0_pic_idx: 9,
            frame_start: true,
            keyframe: true,
        };
        let wrapped = wrap_vp8(f, &inner);
        let (got, rest) = unwrap_vp8(&wrapped).unwrap();
        assert_eq!(
            (got.picture_id, got.tl0_pic_idx, got.keyframe),
            (1234, 9, true)
        );
        assert_eq!(rest, &inner[..]);
        let p = decode_payload(&wrapped).unwrap();
        assert_eq!((p.video, p.layer, p.keyframe, p.seq), (true, 2, true, 7));
        let cont = wrap_vp8(
            Vp8Fields {
                frame_start: false,
                ..f
            },
            &inner,
        );
        assert_eq!(decode_payload(&cont).unwrap().identity, "bob");
    }

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
                layer: 0,
                keyframe: true,
                silent: false,
                seq: 42,
                sent_us: 1234,
                identity: "alice".into()
            }
        );
        let silent = decode_payload(&encode_audio_payload(true, 7, 1, "bob", 100)).unwrap();
        assert!(silent.silent && !silent.video && !silent.keyframe);
        let mut bad = b.to_vec();
        bad[200] ^= 1;
        assert!(decode_payload(&bad).is_none());
        assert!(decode_payload(b"VEE").is_none());
    }
}
