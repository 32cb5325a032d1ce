//! When the SFU may send a new subscriber offer: a plain state machine, no I/O.
//!
//! The SFU offers on each participant's subscriber connection whenever the set of forwarded
//! tracks changes. An offer may not be sent while another waits for its answer, so changes
//! that arrive meanwhile are remembered and trigger exactly one follow-up offer.

/// Offer/answer state of a connection the SFU offers on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Negotiation {
    /// Nothing outstanding.
    #[default]
    Stable,
    /// An offer was sent; `dirty` when the track set changed since.
    AwaitingAnswer { dirty: bool },
}

/// What the caller must do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegotiationStep {
    /// Create and send an offer now.
    SendOffer,
    /// Nothing to do now.
    Wait,
}

impl Negotiation {
    /// The track set changed.
    pub fn tracks_changed(&mut self) -> NegotiationStep {
        match self {
            Negotiation::Stable => {
                *self = Negotiation::AwaitingAnswer { dirty: false };
                NegotiationStep::SendOffer
            }
            Negotiation::AwaitingAnswer { dirty } => {
                *dirty = true;
                NegotiationStep::Wait
            }
        }
    }

    /// The answer to the outstanding offer was applied.
    pub fn answered(&mut self) -> NegotiationStep {
        match *self {
            Negotiation::AwaitingAnswer { dirty: true } => {
                *self = Negotiation::AwaitingAnswer { dirty: false };
                NegotiationStep::SendOffer
            }
            _ => {
                *self = Negotiation::Stable;
                NegotiationStep::Wait
            }
        }
    }

    /// Creating or sending the offer failed: go back to stable, keeping the change pending
    /// so the next change or retry offers again.
    pub fn offer_failed(&mut self) {
        *self = Negotiation::Stable;
    }

    /// Whether an answer is expected.
    pub fn awaiting_answer(&self) -> bool {
        matches!(self, Negotiation::AwaitingAnswer { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NegotiationStep::*;

    #[test]
    fn offers_at_once_when_stable() {
        let mut n = Negotiation::default();
        assert_eq!(n.tracks_changed(), SendOffer);
        assert!(n.awaiting_answer());
        assert_eq!(n.answered(), Wait);
        assert_eq!(n, Negotiation::Stable);
    }

    #[test]
    fn changes_during_an_offer_coalesce_into_one_follow_up() {
        let mut n = Negotiation::default();
        assert_eq!(n.tracks_changed(), SendOffer);
        assert_eq!(n.tracks_changed(), Wait);
        assert_eq!(n.tracks_changed(), Wait);
        assert_eq!(n.answered(), SendOffer);
        assert_eq!(n.answered(), Wait);
        assert!(!n.awaiting_answer());
    }

    #[test]
    fn unexpected_answer_is_harmless() {
        let mut n = Negotiation::default();
        assert_eq!(n.answered(), Wait);
        assert_eq!(n.tracks_changed(), SendOffer);
        n.offer_failed();
        assert_eq!(n.tracks_changed(), SendOffer);
    }
}
