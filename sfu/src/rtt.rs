//! Round-trip time to a subscriber from RTCP (RFC 3550 §6.4.1): each sender report that goes
//! out is remembered by the middle 32 bits of its NTP time; a reception report that names it
//! (LSR) came back after the round trip plus the receiver's hold time (DLSR). Only the
//! node's own clock is read, so the peers' clocks need not agree. Plain state: the
//! subscriber connection's tap feeds it packet times.

use std::time::{Duration, Instant};

/// Sender reports remembered: a connection sends one per stream per second, and a receiver
/// answers within a few seconds, so this covers a few dozen streams.
const REMEMBERED: usize = 128;

/// Weight of a new sample in the smoothed round trip (RFC 6298's 1/8).
const GAIN: f64 = 0.125;

/// One connection's round trip, from its sender and reception reports.
#[derive(Debug)]
pub struct RttEstimator {
    sent: Vec<(u32, Instant)>,
    next: usize,
    smoothed: Option<Duration>,
}

impl Default for RttEstimator {
    fn default() -> Self {
        Self {
            sent: Vec::with_capacity(REMEMBERED),
            next: 0,
            smoothed: None,
        }
    }
}

impl RttEstimator {
    /// A sender report with NTP time `ntp_time` left at `at`.
    pub fn sender_report(&mut self, ntp_time: u64, at: Instant) {
        let lsr = (ntp_time >> 16) as u32;
        if self.sent.len() < REMEMBERED {
            self.sent.push((lsr, at));
        } else {
            self.sent[self.next] = (lsr, at);
            self.next = (self.next + 1) % REMEMBERED;
        }
    }

    /// A reception report block with `lsr` and `dlsr` arrived at `now`: the sample it gives,
    /// if it names a sender report this end remembers.
    pub fn reception_report(&mut self, lsr: u32, dlsr: u32, now: Instant) -> Option<Duration> {
        // Zero: the receiver has had no sender report yet.
        if lsr == 0 {
            return None;
        }
        let &(_, at) = self.sent.iter().find(|(l, _)| *l == lsr)?;
        let hold = Duration::from_secs_f64(f64::from(dlsr) / 65_536.0);
        let sample = now.checked_duration_since(at)?.saturating_sub(hold);
        self.smoothed = Some(match self.smoothed {
            None => sample,
            Some(s) => s.mul_f64(1.0 - GAIN) + sample.mul_f64(GAIN),
        });
        Some(sample)
    }

    /// The smoothed round trip, once there has been a sample.
    pub fn smoothed(&self) -> Option<Duration> {
        self.smoothed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NTP: u64 = 0xE6A1_2345_6789_0000;

    fn lsr(ntp: u64) -> u32 {
        (ntp >> 16) as u32
    }

    #[test]
    fn the_round_trip_is_the_wait_less_the_receivers_hold() {
        let mut r = RttEstimator::default();
        let t0 = Instant::now();
        r.sender_report(NTP, t0);
        // Back 130 ms later, of which the receiver held it 50 ms (in 1/65536 s).
        let dlsr = 65_536 * 50 / 1000;
        let sample = r
            .reception_report(lsr(NTP), dlsr, t0 + Duration::from_millis(130))
            .expect("a sample");
        assert!((79..=81).contains(&sample.as_millis()), "{sample:?}");
        assert_eq!(r.smoothed(), Some(sample));
    }

    #[test]
    fn unknown_or_absent_reports_give_nothing() {
        let mut r = RttEstimator::default();
        let t0 = Instant::now();
        r.sender_report(NTP, t0);
        assert_eq!(r.reception_report(0, 0, t0), None, "no SR seen yet");
        assert_eq!(r.reception_report(lsr(NTP) + 1, 0, t0), None, "not ours");
        assert_eq!(r.smoothed(), None);
        // A hold longer than the wait (clock jitter) is a zero round trip, not a panic.
        let s = r.reception_report(lsr(NTP), 65_536, t0 + Duration::from_millis(10));
        assert_eq!(s, Some(Duration::ZERO));
    }

    #[test]
    fn samples_are_smoothed_and_old_reports_forgotten() {
        let mut r = RttEstimator::default();
        let t0 = Instant::now();
        for i in 0..(REMEMBERED as u64 + 1) {
            r.sender_report(NTP + (i << 16), t0);
        }
        // The first one was overwritten by the last.
        assert_eq!(r.reception_report(lsr(NTP), 0, t0), None);
        r.reception_report(lsr(NTP + (5 << 16)), 0, t0 + Duration::from_millis(100));
        r.reception_report(lsr(NTP + (6 << 16)), 0, t0 + Duration::from_millis(200));
        let s = r.smoothed().expect("smoothed").as_millis();
        assert!((112..=113).contains(&s), "{s}");
    }
}
