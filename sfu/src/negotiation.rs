//! When the SFU may send a new subscriber offer: a plain state machine, no I/O; time is
//! passed in.
//!
//! The SFU offers on each participant's subscriber connection whenever the set of forwarded
//! tracks changes. An offer may not be sent while another waits for its answer, so changes
//! that arrive meanwhile are remembered and trigger exactly one follow-up offer. An answer
//! can be lost (its invocation failed, Redis was restarting): an offer unanswered for
//! [`ANSWER_TIMEOUT`] is sent again, so one lost frame never freezes a subscriber's tracks.

use std::time::{Duration, Instant};

/// How long an offer may wait for its answer before it is sent again.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// Offer/answer state of a connection the SFU offers on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Negotiation {
    /// Nothing outstanding.
    #[default]
    Stable,
    /// An offer was sent (or failed to go out) at `sent`; `dirty` when the track set
    /// changed since.
    AwaitingAnswer { dirty: bool, sent: Instant },
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
    pub fn tracks_changed(&mut self, now: Instant) -> NegotiationStep {
        match self {
            Negotiation::Stable => {
                *self = Negotiation::AwaitingAnswer {
                    dirty: false,
                    sent: now,
                };
                NegotiationStep::SendOffer
            }
            Negotiation::AwaitingAnswer { dirty, .. } => {
                *dirty = true;
                NegotiationStep::Wait
            }
        }
    }

    /// The answer to the outstanding offer was applied.
    pub fn answered(&mut self, now: Instant) -> NegotiationStep {
        match *self {
            Negotiation::AwaitingAnswer { dirty: true, .. } => {
                *self = Negotiation::AwaitingAnswer {
                    dirty: false,
                    sent: now,
                };
                NegotiationStep::SendOffer
            }
            _ => {
                *self = Negotiation::Stable;
                NegotiationStep::Wait
            }
        }
    }

    /// Creating or sending the offer failed: stay waiting, so [`Self::resend_due`] tries
    /// again after the timeout.
    pub fn offer_failed(&mut self, now: Instant) {
        *self = Negotiation::AwaitingAnswer {
            dirty: false,
            sent: now,
        };
    }

    /// Whether the outstanding offer has waited too long; if so, it counts as sent again now.
    pub fn resend_due(&mut self, now: Instant) -> bool {
        match self {
            Negotiation::AwaitingAnswer { sent, .. }
                if now.saturating_duration_since(*sent) >= ANSWER_TIMEOUT =>
            {
                *sent = now;
                true
            }
            _ => false,
        }
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
        let t = Instant::now();
        let mut n = Negotiation::default();
        assert_eq!(n.tracks_changed(t), SendOffer);
        assert!(n.awaiting_answer());
        assert_eq!(n.answered(t), Wait);
        assert_eq!(n, Negotiation::Stable);
    }

    #[test]
    fn changes_during_an_offer_coalesce_into_one_follow_up() {
        let t = Instant::now();
        let mut n = Negotiation::default();
        assert_eq!(n.tracks_changed(t), SendOffer);
        assert_eq!(n.tracks_changed(t), Wait);
        assert_eq!(n.tracks_changed(t), Wait);
        assert_eq!(n.answered(t), SendOffer);
        assert_eq!(n.answered(t), Wait);
        assert!(!n.awaiting_answer());
    }

    #[test]
    fn unexpected_answer_is_harmless() {
        let t = Instant::now();
        let mut n = Negotiation::default();
        assert_eq!(n.answered(t), Wait);
        assert_eq!(n.tracks_changed(t), SendOffer);
    }

    #[test]
    fn an_unanswered_offer_is_sent_again_after_the_timeout_and_not_before() {
        let t = Instant::now();
        let mut n = Negotiation::default();
        assert_eq!(n.tracks_changed(t), SendOffer);
        assert!(!n.resend_due(t + ANSWER_TIMEOUT - Duration::from_millis(1)));
        assert!(n.resend_due(t + ANSWER_TIMEOUT));
        // The resend restarts the clock.
        assert!(!n.resend_due(t + ANSWER_TIMEOUT + Duration::from_secs(1)));
        assert!(n.resend_due(t + ANSWER_TIMEOUT * 2));
        assert_eq!(n.answered(t + ANSWER_TIMEOUT * 2), Wait);
        assert!(!n.resend_due(t + ANSWER_TIMEOUT * 10));
    }

    #[test]
    fn a_failed_offer_is_retried_after_the_timeout() {
        let t = Instant::now();
        let mut n = Negotiation::default();
        assert_eq!(n.tracks_changed(t), SendOffer);
        n.offer_failed(t);
        // Further changes fold into the retry rather than racing it.
        assert_eq!(n.tracks_changed(t), Wait);
        assert!(n.resend_due(t + ANSWER_TIMEOUT));
    }
}
