//! How much one subscriber's downlink carries, estimated from the loss its receiver reports
//! (RFC 3550 RRs on the node's egress), after GCC's loss-based controller: heavy loss cuts
//! the estimate to what was getting through, no loss lets it grow, in between it holds.
//! Pure: time and samples are passed in.
//!
//! The node sends no padding probes, so it learns a link got wider only by trying a higher
//! rate. A rate that caused loss becomes a ceiling for a while, doubling on each failure, so
//! a link that holds one layer but not the next settles instead of bouncing between them.

use std::time::{Duration, Instant};

/// Until a report says otherwise, nothing limits the subscriber.
pub const UNLIMITED: u64 = 100_000_000;
/// Never estimate below this: audio and the smallest layer still fit.
const FLOOR: u64 = 100_000;
/// Loss above this fraction means the link is over capacity.
const LOSSY: f64 = 0.08;
/// Loss below this fraction (random loss, not congestion) lets the estimate grow.
const CLEAN: f64 = 0.02;
/// Growth per second while clean.
const GROWTH: f64 = 0.10;
/// Reports arrive about once a second and speak of the past second: after a cut, wait this
/// long before cutting again, so one episode is not punished twice.
const CUT_HOLD: Duration = Duration::from_millis(1500);
/// A sample needs this many packets behind it to say anything about loss.
const MIN_PACKETS: u64 = 30;
/// How long the first failed rate is a ceiling; it doubles on each failure up to the max.
const BACKOFF_START: Duration = Duration::from_secs(6);
const BACKOFF_MAX: Duration = Duration::from_secs(24);
/// Stay this far under a ceiling while it lasts.
const CEILING_MARGIN: f64 = 0.85;
/// Clean this long at the rate that last failed, and that failure is forgotten.
const FORGIVE_AFTER: Duration = Duration::from_secs(5);

/// What one subscriber's link did over one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// What the node sent it, in bits per second.
    pub sent_bps: u64,
    /// Packets its receiver reports say were lost, and expected, over the interval.
    pub lost: u64,
    pub expected: u64,
}

/// A rate that caused loss, and until when it is not tried again.
#[derive(Debug, Clone, Copy)]
struct Ceiling {
    bps: u64,
    until: Instant,
}

/// One subscriber's downlink estimate.
#[derive(Debug, Clone)]
pub struct BandwidthEstimator {
    estimate: u64,
    last: Option<Instant>,
    last_cut: Option<Instant>,
    ceiling: Option<Ceiling>,
    backoff: Duration,
    /// The send rate that last caused loss, and since when it has been carried cleanly.
    failed_bps: Option<u64>,
    clean_since: Option<Instant>,
    /// Loss counts not yet enough for a verdict.
    lost: u64,
    expected: u64,
    /// The send rates of the samples pending, summed, and how many.
    sent_sum: u64,
    samples: u64,
}

impl Default for BandwidthEstimator {
    fn default() -> Self {
        Self {
            estimate: UNLIMITED,
            last: None,
            last_cut: None,
            ceiling: None,
            backoff: BACKOFF_START,
            failed_bps: None,
            clean_since: None,
            lost: 0,
            expected: 0,
            sent_sum: 0,
            samples: 0,
        }
    }
}

impl BandwidthEstimator {
    /// The bits per second this subscriber can take now.
    pub fn estimate(&self) -> u64 {
        self.estimate
    }

    /// Whether loss ever limited this link (the estimate means something).
    pub fn limited(&self) -> bool {
        self.estimate < UNLIMITED
    }

    /// Takes one interval's sample; returns the new estimate.
    pub fn update(&mut self, now: Instant, sample: Sample) -> u64 {
        let dt = self
            .last
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        self.last = Some(now);
        if self.ceiling.is_some_and(|c| now >= c.until) {
            self.ceiling = None;
        }
        self.lost += sample.lost.min(sample.expected);
        self.expected += sample.expected;
        self.sent_sum += sample.sent_bps;
        self.samples += 1;
        if self.expected < MIN_PACKETS {
            return self.estimate;
        }
        let loss = self.lost as f64 / self.expected as f64;
        let sent = self.sent_sum / self.samples;
        self.lost = 0;
        self.expected = 0;
        self.sent_sum = 0;
        self.samples = 0;
        if loss > LOSSY {
            if self
                .last_cut
                .is_some_and(|t| now.saturating_duration_since(t) < CUT_HOLD)
            {
                return self.estimate;
            }
            // What got through, a little under: the link's capacity, about.
            let through = (sent as f64 * (1.0 - loss) * 0.95) as u64;
            self.estimate = through.min(self.estimate).max(FLOOR);
            self.last_cut = Some(now);
            // The same rate failing again waits longer before the next try.
            self.backoff = match self.failed_bps {
                Some(f) if sent as f64 >= f as f64 * 0.8 => (self.backoff * 2).min(BACKOFF_MAX),
                _ => BACKOFF_START,
            };
            self.failed_bps = Some(sent);
            self.clean_since = None;
            self.ceiling = Some(Ceiling {
                bps: sent.max(self.estimate),
                until: now + self.backoff,
            });
        } else if loss < CLEAN {
            if let Some(f) = self.failed_bps {
                if sent as f64 >= f as f64 * 0.9 {
                    let since = *self.clean_since.get_or_insert(now);
                    if now.saturating_duration_since(since) >= FORGIVE_AFTER {
                        // The link carries what once failed: it got wider.
                        self.failed_bps = None;
                        self.backoff = BACKOFF_START;
                    }
                } else {
                    self.clean_since = None;
                }
            }
            if self.estimate >= UNLIMITED {
                return self.estimate;
            }
            let grown = self.estimate as f64 * (1.0 + GROWTH * dt.as_secs_f64().min(2.0));
            let mut next = grown as u64;
            if let Some(c) = self.ceiling {
                next = next.min(((c.bps as f64 * CEILING_MARGIN) as u64).max(self.estimate));
            }
            self.estimate = next.min(UNLIMITED);
        } else {
            self.clean_since = None;
        }
        self.estimate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(500);

    /// Drives an estimator through a link that carries `capacity` bits/s, where the sender
    /// sends `wanted(estimate)`, for `secs`; returns the estimates seen.
    fn run(
        bwe: &mut BandwidthEstimator,
        start: &mut Instant,
        secs: u64,
        capacity: u64,
        wanted: impl Fn(u64) -> u64,
    ) -> Vec<u64> {
        let mut seen = Vec::new();
        for _ in 0..secs * 2 {
            *start += TICK;
            let sent = wanted(bwe.estimate());
            let expected = (sent / 8 / 1000 / 2).max(1);
            let lost = if sent > capacity {
                expected * (sent - capacity) / sent
            } else {
                0
            };
            seen.push(bwe.update(
                *start,
                Sample {
                    sent_bps: sent,
                    lost,
                    expected,
                },
            ));
        }
        seen
    }

    /// A subscriber of one simulcast track: 1.2 Mbit/s when it fits, else 500 kbit/s.
    fn layers(estimate: u64) -> u64 {
        if estimate >= 1_300_000 {
            1_200_000
        } else if estimate >= 550_000 {
            500_000
        } else {
            150_000
        }
    }

    #[test]
    fn unlimited_until_loss_and_clean_links_stay_so() {
        let mut bwe = BandwidthEstimator::default();
        let mut t = Instant::now();
        let seen = run(&mut bwe, &mut t, 10, 10_000_000, |_| 2_000_000);
        assert!(seen.iter().all(|&e| e == UNLIMITED));
        assert!(!bwe.limited());
    }

    #[test]
    fn heavy_loss_cuts_to_what_got_through() {
        let mut bwe = BandwidthEstimator::default();
        let now = Instant::now();
        let e = bwe.update(
            now,
            Sample {
                sent_bps: 1_200_000,
                lost: 50,
                expected: 100,
            },
        );
        assert_eq!(e, 570_000);
        assert!(bwe.limited());
    }

    #[test]
    fn small_samples_wait_for_enough_packets() {
        let mut bwe = BandwidthEstimator::default();
        let now = Instant::now();
        let s = Sample {
            sent_bps: 1_000_000,
            lost: 10,
            expected: 20,
        };
        assert_eq!(bwe.update(now, s), UNLIMITED);
        assert!(bwe.update(now + TICK, s) < UNLIMITED);
    }

    #[test]
    fn settles_on_the_layer_that_fits_without_bouncing() {
        let mut bwe = BandwidthEstimator::default();
        let mut t = Instant::now();
        let seen = run(&mut bwe, &mut t, 60, 800_000, layers);
        // Over a minute, the 1.2 Mbit/s layer is tried only a few times (backoff doubles).
        let tries = seen
            .windows(2)
            .filter(|w| layers(w[0]) < 1_200_000 && layers(w[1]) == 1_200_000)
            .count();
        assert!(tries <= 3, "tried the top layer {tries} times: {seen:?}");
        let last = *seen.last().expect("estimates");
        assert!(
            (550_000..1_300_000).contains(&last),
            "settled at {last}: {seen:?}"
        );
    }

    #[test]
    fn recovers_when_the_link_widens() {
        let mut bwe = BandwidthEstimator::default();
        let mut t = Instant::now();
        run(&mut bwe, &mut t, 30, 800_000, layers);
        let seen = run(&mut bwe, &mut t, 40, 10_000_000, layers);
        let back = seen
            .iter()
            .position(|&e| layers(e) == 1_200_000)
            .expect("the top layer again");
        assert!(back <= 2 * 30, "back at the top after {} s", back / 2);
        // And it stays there.
        assert!(seen[back..].iter().all(|&e| layers(e) == 1_200_000));
    }

    #[test]
    fn moderate_loss_holds() {
        let mut bwe = BandwidthEstimator::default();
        let now = Instant::now();
        bwe.update(
            now,
            Sample {
                sent_bps: 1_000_000,
                lost: 40,
                expected: 100,
            },
        );
        let e = bwe.estimate();
        let later = bwe.update(
            now + Duration::from_secs(3),
            Sample {
                sent_bps: 700_000,
                lost: 5,
                expected: 100,
            },
        );
        assert_eq!(later, e);
    }
}
