//! One down track's RTP rewriter: it turns the publisher's simulcast layers into the single
//! stream a subscriber decodes. A plain state machine — packets and time in, a verdict out.
//!
//! The subscriber sees one SSRC whose sequence numbers, timestamps and VP8 picture ids run on
//! without jumps across layer switches; a switch happens only at the first packet of a
//! keyframe of the target layer, so the decoder never needs a frame it did not get.

use std::time::Instant;

use crate::vp8::picture_id_modulus;

/// What the rewriter needs to know about one incoming packet.
#[derive(Debug, Clone, Copy)]
pub struct Incoming {
    pub layer: u8,
    pub sequence_number: u16,
    pub timestamp: u32,
    /// The first packet of a keyframe.
    pub keyframe_start: bool,
    /// VP8 picture id (and whether 15-bit) and TL0PICIDX, when present.
    pub picture_id: Option<(u16, bool)>,
    pub tl0_pic_idx: Option<u8>,
}

/// The header fields to send the packet with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewrite {
    pub sequence_number: u16,
    pub timestamp: u32,
    /// New picture id and TL0PICIDX, when the packet carries them and they changed.
    pub vp8: Option<(u16, u8)>,
}

/// Forward (with these fields) or drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Forward(Rewrite),
    Drop,
}

/// Offsets from one layer's numbering to the subscriber's.
#[derive(Debug, Clone, Copy, Default)]
struct Offsets {
    sequence: u16,
    timestamp: u32,
    picture_id: u16,
    tl0: u8,
}

/// What was last sent, to continue from at a switch.
#[derive(Debug, Clone, Copy)]
struct Last {
    sequence_number: u16,
    timestamp: u32,
    picture_id: u16,
    tl0: u8,
    at: Instant,
}

/// Rewrites one layer-switching stream; see the module docs.
#[derive(Debug)]
pub struct RtpRewriter {
    clock_rate: u32,
    target: Option<u8>,
    current: Option<u8>,
    offsets: Offsets,
    /// The incoming sequence number the current layer started at: older ones are dropped.
    switched_at: u16,
    last: Option<Last>,
}

impl RtpRewriter {
    /// A rewriter for a stream with `clock_rate`, forwarding nothing until a target is set.
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate: clock_rate.max(1),
            target: None,
            current: None,
            offsets: Offsets::default(),
            switched_at: 0,
            last: None,
        }
    }

    /// Sets the layer to move to (`None`: forward nothing). The switch waits for its keyframe.
    pub fn set_target(&mut self, layer: Option<u8>) {
        self.target = layer;
        if layer.is_none() {
            self.current = None;
        }
    }

    pub fn target(&self) -> Option<u8> {
        self.target
    }

    /// The layer being forwarded now.
    pub fn current(&self) -> Option<u8> {
        self.current
    }

    /// The layer a keyframe is needed for, while a switch waits for one.
    pub fn wants_keyframe(&self) -> Option<u8> {
        match (self.target, self.current) {
            (Some(t), c) if c != Some(t) => Some(t),
            _ => None,
        }
    }

    /// What to do with `p`, arriving at `now`.
    pub fn rewrite(&mut self, now: Instant, p: &Incoming) -> Verdict {
        if Some(p.layer) != self.current {
            if Some(p.layer) != self.target || !p.keyframe_start {
                return Verdict::Drop;
            }
            self.switch_to(now, p);
        } else if (p.sequence_number.wrapping_sub(self.switched_at) as i16) < 0 {
            // From before the switch: the subscriber's numbering has no room for it.
            return Verdict::Drop;
        }
        let o = self.offsets;
        let out = Rewrite {
            sequence_number: p.sequence_number.wrapping_add(o.sequence),
            timestamp: p.timestamp.wrapping_add(o.timestamp),
            vp8: p.picture_id.map(|(pid, long)| {
                let m = picture_id_modulus(long);
                let tl0 = p.tl0_pic_idx.unwrap_or(0).wrapping_add(o.tl0);
                ((pid.wrapping_add(o.picture_id)) % m, tl0)
            }),
        };
        let newer = match self.last {
            Some(l) => (out.sequence_number.wrapping_sub(l.sequence_number) as i16) > 0,
            None => true,
        };
        if newer {
            self.last = Some(Last {
                sequence_number: out.sequence_number,
                timestamp: out.timestamp,
                picture_id: out.vp8.map_or(0, |v| v.0),
                tl0: out.vp8.map_or(0, |v| v.1),
                at: now,
            });
        }
        let vp8 = match (out.vp8, p.picture_id) {
            (Some(v), Some((pid, _))) if v.0 != pid || Some(v.1) != p.tl0_pic_idx => Some(v),
            _ => None,
        };
        Verdict::Forward(Rewrite { vp8, ..out })
    }

    /// Starts forwarding `p`'s layer so that `p` follows what was last sent.
    fn switch_to(&mut self, now: Instant, p: &Incoming) {
        self.current = Some(p.layer);
        self.switched_at = p.sequence_number;
        let Some(last) = self.last else {
            // The first layer: keep its numbering as it is.
            self.offsets = Offsets::default();
            return;
        };
        // Timestamps advance by the wall-clock time since the last packet sent (at least one
        // tick), so playout timing stays right across the switch.
        let elapsed = now.saturating_duration_since(last.at);
        let ticks = (elapsed.as_micros() as u64 * u64::from(self.clock_rate) / 1_000_000).max(1);
        let out_ts = last.timestamp.wrapping_add(ticks as u32);
        let (pid_offset, tl0_offset) = match p.picture_id {
            Some((pid, long)) => {
                let m = picture_id_modulus(long);
                let want = (last.picture_id.wrapping_add(1)) % m;
                let tl0 = last.tl0.wrapping_add(1);
                (
                    (want + m - pid % m) % m,
                    tl0.wrapping_sub(p.tl0_pic_idx.unwrap_or(0)),
                )
            }
            None => (0, 0),
        };
        self.offsets = Offsets {
            sequence: last
                .sequence_number
                .wrapping_add(1)
                .wrapping_sub(p.sequence_number),
            timestamp: out_ts.wrapping_sub(p.timestamp),
            picture_id: pid_offset,
            tl0: tl0_offset,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pkt(layer: u8, seq: u16, ts: u32, key: bool, pid: u16) -> Incoming {
        Incoming {
            layer,
            sequence_number: seq,
            timestamp: ts,
            keyframe_start: key,
            picture_id: Some((pid, true)),
            tl0_pic_idx: Some(pid as u8),
        }
    }

    fn forward(r: &mut RtpRewriter, now: Instant, p: Incoming) -> Rewrite {
        match r.rewrite(now, &p) {
            Verdict::Forward(w) => w,
            Verdict::Drop => panic!("dropped {p:?}"),
        }
    }

    #[test]
    fn forwards_nothing_until_a_target_layer_has_a_keyframe() {
        let t = Instant::now();
        let mut r = RtpRewriter::new(90_000);
        assert_eq!(r.rewrite(t, &pkt(0, 1, 0, true, 1)), Verdict::Drop);
        r.set_target(Some(0));
        assert_eq!(r.wants_keyframe(), Some(0));
        assert_eq!(r.rewrite(t, &pkt(0, 2, 0, false, 1)), Verdict::Drop);
        let w = forward(&mut r, t, pkt(0, 3, 100, true, 2));
        assert_eq!((w.sequence_number, w.timestamp, w.vp8), (3, 100, None));
        assert_eq!(r.wants_keyframe(), None);
        assert_eq!(r.current(), Some(0));
    }

    #[test]
    fn a_switch_waits_for_the_keyframe_and_keeps_numbering_continuous() {
        let t = Instant::now();
        let mut r = RtpRewriter::new(90_000);
        r.set_target(Some(0));
        forward(&mut r, t, pkt(0, 100, 9_000, true, 50));
        forward(&mut r, t, pkt(0, 101, 9_000, false, 50));
        r.set_target(Some(2));
        // Layer 2 without a keyframe: still layer 0.
        assert_eq!(
            r.rewrite(t, &pkt(2, 5_000, 777_000, false, 900)),
            Verdict::Drop
        );
        let w = forward(&mut r, t, pkt(0, 102, 12_000, false, 51));
        assert_eq!(w.sequence_number, 102);
        // The keyframe 40 ms later: seq, timestamp and picture id follow on.
        let later = t + Duration::from_millis(40);
        let w = forward(&mut r, later, pkt(2, 5_001, 780_000, true, 901));
        assert_eq!(w.sequence_number, 103);
        assert_eq!(w.timestamp, 12_000 + 3_600);
        assert_eq!(w.vp8, Some((52, 52)));
        // Layer 0 is now dropped, layer 2 continues.
        assert_eq!(
            r.rewrite(later, &pkt(0, 103, 15_000, false, 52)),
            Verdict::Drop
        );
        let w = forward(&mut r, later, pkt(2, 5_002, 780_000, false, 901));
        assert_eq!((w.sequence_number, w.timestamp), (104, 15_600));
        // A late packet of layer 2 from before the switch is dropped.
        assert_eq!(
            r.rewrite(later, &pkt(2, 4_999, 777_000, false, 900)),
            Verdict::Drop
        );
    }

    #[test]
    fn numbering_wraps_around() {
        let t = Instant::now();
        let mut r = RtpRewriter::new(90_000);
        r.set_target(Some(1));
        forward(&mut r, t, pkt(1, 65_535, u32::MAX, true, 32_767));
        r.set_target(Some(0));
        let w = forward(&mut r, t, pkt(0, 10, 5, true, 3));
        assert_eq!(w.sequence_number, 0);
        assert_eq!(w.timestamp, 0);
        assert_eq!(w.vp8, Some((0, 0)));
        let w = forward(&mut r, t, pkt(0, 11, 3_005, false, 4));
        assert_eq!(
            (w.sequence_number, w.timestamp, w.vp8),
            (1, 3_000, Some((1, 1)))
        );
    }

    #[test]
    fn pausing_forwards_nothing_and_resuming_waits_for_a_keyframe() {
        let t = Instant::now();
        let mut r = RtpRewriter::new(90_000);
        r.set_target(Some(0));
        forward(&mut r, t, pkt(0, 1, 0, true, 1));
        r.set_target(None);
        assert_eq!(r.rewrite(t, &pkt(0, 2, 0, false, 1)), Verdict::Drop);
        assert_eq!(r.wants_keyframe(), None);
        r.set_target(Some(0));
        assert_eq!(r.rewrite(t, &pkt(0, 3, 0, false, 1)), Verdict::Drop);
        let w = forward(
            &mut r,
            t + Duration::from_millis(1),
            pkt(0, 40, 90_000, true, 9),
        );
        assert_eq!(w.sequence_number, 2);
    }

    #[test]
    fn audio_without_picture_ids_passes_through_unchanged() {
        let t = Instant::now();
        let mut r = RtpRewriter::new(48_000);
        r.set_target(Some(0));
        let p = Incoming {
            layer: 0,
            sequence_number: 7,
            timestamp: 960,
            keyframe_start: true,
            picture_id: None,
            tl0_pic_idx: None,
        };
        let w = forward(&mut r, t, p);
        assert_eq!((w.sequence_number, w.timestamp, w.vp8), (7, 960, None));
    }
}
