//! Whether an H.264 RTP payload (RFC 6184) starts a keyframe: an IDR slice or the SPS that
//! precedes one, alone, in a STAP-A, or at the start of an FU-A.

const SPS: u8 = 7;
const IDR: u8 = 5;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// Whether `payload` carries the start of a keyframe.
pub fn is_keyframe(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    match first & 0x1f {
        SPS | IDR => true,
        STAP_A => {
            let mut at = 1;
            while at + 2 < payload.len() {
                let len = usize::from(u16::from_be_bytes([payload[at], payload[at + 1]]));
                // A NAL unit that claims more bytes than there are ends the walk.
                if len == 0 || at + 2 + len > payload.len() {
                    return false;
                }
                if matches!(payload[at + 2] & 0x1f, SPS | IDR) {
                    return true;
                }
                at += 2 + len;
            }
            false
        }
        FU_A => payload
            .get(1)
            .is_some_and(|fu| fu & 0x80 != 0 && matches!(fu & 0x1f, SPS | IDR)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keyframes_in_each_packetization() {
        assert!(is_keyframe(&[0x65, 0x88]));
        assert!(is_keyframe(&[0x67, 0x42]));
        assert!(!is_keyframe(&[0x41, 0x9a]));
        // STAP-A: an SEI (6), then an SPS.
        assert!(is_keyframe(&[
            0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x02, 0x67, 0x42
        ]));
        assert!(!is_keyframe(&[0x78, 0x00, 0x02, 0x06, 0x05]));
        // FU-A: start of an IDR, middle of an IDR.
        assert!(is_keyframe(&[0x7c, 0x85, 0x00]));
        assert!(!is_keyframe(&[0x7c, 0x05, 0x00]));
        assert!(!is_keyframe(&[]));
        assert!(!is_keyframe(&[0x7c]));
        assert!(!is_keyframe(&[0x78, 0xff, 0xff, 0x65]));
    }
}
