//! Holding a muted track at the node: while its owner (or a host) has it muted, none of its
//! packets are forwarded, so a host's mute is enforced whatever the muted client sends.
//! Dropped packets are taken out of the numbering, like [`crate::silence`], so subscribers
//! see no gap and ask for no retransmission. On release the forwarder asks the publisher for
//! a keyframe and forwards at once, as it does for a new subscriber. Pure, one per track,
//! owned by the forwarder's loop.

use crate::layer_selector::MAX_LAYERS;

/// One track's hold state, per simulcast layer (each has its own numbering).
#[derive(Debug, Default, Clone)]
pub struct HoldGate {
    /// Packets taken out of each layer's numbering.
    dropped: [u16; MAX_LAYERS],
}

impl HoldGate {
    /// The sequence number to forward a packet of `layer` with, or `None` to drop it because
    /// the track is `held`.
    pub fn filter(&mut self, held: bool, layer: u8, sequence_number: u16) -> Option<u16> {
        let l = usize::from(layer).min(MAX_LAYERS - 1);
        if held {
            self.dropped[l] = self.dropped[l].wrapping_add(1);
            return None;
        }
        Some(sequence_number.wrapping_sub(self.dropped[l]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_passes_while_held_and_numbering_stays_continuous() {
        let mut g = HoldGate::default();
        let mut out = Vec::new();
        for seq in 65_530u16..=65_535 {
            out.extend(g.filter(false, 0, seq));
        }
        for seq in 0u16..100 {
            assert_eq!(g.filter(true, 0, seq), None);
        }
        for seq in 100u16..103 {
            out.extend(g.filter(false, 0, seq));
        }
        assert_eq!(out.len(), 9);
        assert!(
            out.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
            "{out:?}"
        );
    }

    #[test]
    fn each_layer_keeps_its_own_numbering() {
        let mut g = HoldGate::default();
        assert_eq!(g.filter(false, 1, 10), Some(10));
        assert_eq!(g.filter(true, 1, 11), None);
        assert_eq!(g.filter(true, 1, 12), None);
        assert_eq!(g.filter(false, 0, 500), Some(500));
        assert_eq!(g.filter(false, 1, 13), Some(11));
        assert_eq!(g.filter(false, 2, 7), Some(7));
    }
}
