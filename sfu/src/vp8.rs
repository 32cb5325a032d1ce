//! The parts of a VP8 RTP payload (RFC 7741) an SFU needs: where a frame starts, whether it
//! is a keyframe and its size, and the picture id / TL0PICIDX fields a layer switch must
//! keep continuous. Pure functions over byte slices, no allocation.

/// What a VP8 payload descriptor says about one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vp8Descriptor {
    /// Bytes of descriptor before the VP8 payload proper.
    pub header_len: usize,
    /// The first packet of a frame (S bit set, partition 0).
    pub frame_start: bool,
    /// The frame is a keyframe (only known on its first packet).
    pub keyframe: bool,
    /// Picture id and whether it is the 15-bit form.
    pub picture_id: Option<(u16, bool)>,
    /// Byte offset of the picture id field.
    picture_id_at: usize,
    /// TL0PICIDX and its byte offset.
    pub tl0_pic_idx: Option<u8>,
    tl0_at: usize,
    /// Keyframe width and height, when this is a keyframe's first packet.
    pub size: Option<(u16, u16)>,
}

impl Vp8Descriptor {
    /// Parses the descriptor at the start of `payload`; `None` when it is malformed.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let b0 = *payload.first()?;
        let extended = b0 & 0x80 != 0;
        let start = b0 & 0x10 != 0;
        let partition = b0 & 0x07;
        let mut d = Vp8Descriptor::default();
        let mut at = 1;
        if extended {
            let x = *payload.get(at)?;
            at += 1;
            if x & 0x80 != 0 {
                let p = *payload.get(at)?;
                d.picture_id_at = at;
                if p & 0x80 != 0 {
                    let lo = *payload.get(at + 1)?;
                    d.picture_id = Some(((u16::from(p & 0x7f) << 8) | u16::from(lo), true));
                    at += 2;
                } else {
                    d.picture_id = Some((u16::from(p), false));
                    at += 1;
                }
            }
            if x & 0x40 != 0 {
                d.tl0_pic_idx = Some(*payload.get(at)?);
                d.tl0_at = at;
                at += 1;
            }
            if x & 0x30 != 0 {
                payload.get(at)?;
                at += 1;
            }
        }
        d.header_len = at;
        d.frame_start = start && partition == 0;
        if d.frame_start {
            let frame = payload.get(at..)?;
            // The frame tag's P bit is 0 on keyframes.
            d.keyframe = frame.first().is_some_and(|t| t & 0x01 == 0);
            if d.keyframe && frame.len() >= 10 && frame[3..6] == [0x9d, 0x01, 0x2a] {
                let w = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
                let h = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
                d.size = Some((w, h));
            }
        }
        Some(d)
    }

    /// Writes `picture_id` and `tl0_pic_idx` into `payload` (the packet this descriptor was
    /// parsed from), in the field widths the packet already has.
    pub fn rewrite(&self, payload: &mut [u8], picture_id: u16, tl0_pic_idx: u8) {
        if let Some((_, long)) = self.picture_id {
            let at = self.picture_id_at;
            if long && payload.len() > at + 1 {
                payload[at] = 0x80 | ((picture_id >> 8) as u8 & 0x7f);
                payload[at + 1] = picture_id as u8;
            } else if let Some(b) = payload.get_mut(at) {
                *b = picture_id as u8 & 0x7f;
            }
        }
        if self.tl0_pic_idx.is_some() {
            if let Some(b) = payload.get_mut(self.tl0_at) {
                *b = tl0_pic_idx;
            }
        }
    }
}

/// The picture id field's modulus: 2^15 in the long form, 2^7 in the short one.
pub fn picture_id_modulus(long: bool) -> u16 {
    if long {
        1 << 15
    } else {
        1 << 7
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A VP8 packet as Chrome sends it: 15-bit picture id, TL0PICIDX, TID byte.
    pub fn packet(picture_id: u16, tl0: u8, start: bool, keyframe: bool) -> Vec<u8> {
        let mut p = vec![
            0x80 | if start { 0x10 } else { 0 },
            0xe0,
            0x80 | (picture_id >> 8) as u8,
            picture_id as u8,
            tl0,
            0x20,
        ];
        if start && keyframe {
            // Frame tag (P = 0), start code, 640 × 360.
            p.extend_from_slice(&[0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]);
        } else {
            p.extend_from_slice(&[0x11, 0x02, 0x00, 0xaa]);
        }
        p
    }

    #[test]
    fn reads_a_keyframe_start_with_its_size_and_ids() {
        let d = Vp8Descriptor::parse(&packet(1234, 7, true, true)).unwrap();
        assert_eq!(d.header_len, 6);
        assert!(d.frame_start && d.keyframe);
        assert_eq!(d.picture_id, Some((1234, true)));
        assert_eq!(d.tl0_pic_idx, Some(7));
        assert_eq!(d.size, Some((640, 360)));
    }

    #[test]
    fn a_delta_frame_and_a_continuation_are_not_keyframes() {
        let delta = Vp8Descriptor::parse(&packet(5, 1, true, false)).unwrap();
        assert!(delta.frame_start && !delta.keyframe && delta.size.is_none());
        let cont = Vp8Descriptor::parse(&packet(5, 1, false, true)).unwrap();
        assert!(!cont.frame_start && !cont.keyframe);
    }

    #[test]
    fn rewrites_ids_in_place_in_the_same_widths() {
        let mut p = packet(1234, 7, true, true);
        let d = Vp8Descriptor::parse(&p).unwrap();
        d.rewrite(&mut p, 32_000, 200);
        let again = Vp8Descriptor::parse(&p).unwrap();
        assert_eq!(again.picture_id, Some((32_000, true)));
        assert_eq!(again.tl0_pic_idx, Some(200));
        assert_eq!(again.size, Some((640, 360)));
        // The short form stays short.
        let mut short = vec![0x90, 0x80, 0x05, 0x10, 0x02, 0x00];
        let d = Vp8Descriptor::parse(&short).unwrap();
        assert_eq!(d.picture_id, Some((5, false)));
        d.rewrite(&mut short, 130, 0);
        assert_eq!(
            Vp8Descriptor::parse(&short).unwrap().picture_id,
            Some((2, false))
        );
    }

    #[test]
    fn malformed_payloads_are_refused_not_panicked_on() {
        assert_eq!(Vp8Descriptor::parse(&[]), None);
        assert_eq!(Vp8Descriptor::parse(&[0x80]), None);
        assert_eq!(Vp8Descriptor::parse(&[0x90, 0x80]), None);
        assert_eq!(Vp8Descriptor::parse(&[0x90, 0x80, 0x80]), None);
        for len in 0..16 {
            let p = packet(1, 1, true, true);
            let _ = Vp8Descriptor::parse(&p[..len.min(p.len())]);
        }
    }
}
