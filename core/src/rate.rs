//! Rate limits as token buckets, in the GCRA form (the generic cell rate algorithm): a
//! bucket is one number, the *theoretical arrival time* (TAT) at which it would be full
//! again, so a shared store keeps one small key per bucket and updates it atomically.
//!
//! Plain arithmetic with the time passed in; the in-memory store calls [`admit`] directly and
//! the Redis store runs the same steps in a script.

use std::time::Duration;

/// How fast a bucket refills and how much it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Milliseconds between two tokens.
    pub interval_ms: u32,
    /// The bucket's size: how many actions may come at once after a quiet spell.
    pub burst: u32,
}

impl Rate {
    /// `n` tokens a second, `burst` at once.
    pub const fn per_second(n: u32, burst: u32) -> Self {
        Self {
            interval_ms: 1000 / if n == 0 { 1 } else { n },
            burst,
        }
    }

    /// `n` tokens a minute, `burst` at once.
    pub const fn per_minute(n: u32, burst: u32) -> Self {
        Self {
            interval_ms: 60_000 / if n == 0 { 1 } else { n },
            burst,
        }
    }

    /// Milliseconds between two tokens.
    pub fn interval_ms(&self) -> f64 {
        f64::from(self.interval_ms.max(1))
    }

    /// How far ahead of now the TAT may run before an action is refused.
    pub fn tolerance_ms(&self) -> f64 {
        self.interval_ms() * f64::from(self.burst.max(1) - 1)
    }
}

/// Whether an action may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// Refused; a token is free again after this long.
    Limited {
        retry_after: Duration,
    },
}

impl Admission {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Admission::Allowed)
    }
}

/// One action against buckets whose TATs are `tats` (`None`: never used), at `now_ms`. It is
/// admitted only if every bucket has a token; then each bucket's new TAT is returned, to be
/// stored. A refused action takes nothing from any bucket.
pub fn admit(tats: &[Option<f64>], now_ms: f64, rate: Rate) -> (Admission, Vec<f64>) {
    let interval = rate.interval_ms();
    let tolerance = rate.tolerance_ms();
    let mut wait: f64 = 0.0;
    let mut next = Vec::with_capacity(tats.len());
    for tat in tats {
        let tat = tat.unwrap_or(now_ms).max(now_ms);
        wait = wait.max(tat - now_ms - tolerance);
        next.push(tat + interval);
    }
    if wait > 0.0 {
        let retry_after = Duration::from_millis(wait.ceil() as u64);
        (Admission::Limited { retry_after }, Vec::new())
    } else {
        (Admission::Allowed, next)
    }
}

/// How long a bucket's key must outlive `tat`: once the TAT has passed the bucket is full and
/// the key may go.
pub fn key_ttl(tat: f64, now_ms: f64) -> Duration {
    Duration::from_millis((tat - now_ms).max(0.0).ceil() as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `n` actions `gap_ms` apart on one bucket; how many were allowed.
    fn run(rate: Rate, n: u32, gap_ms: f64) -> u32 {
        let mut tat = None;
        let mut allowed = 0;
        for i in 0..n {
            let (a, next) = admit(&[tat], f64::from(i) * gap_ms, rate);
            if a.is_allowed() {
                allowed += 1;
                tat = Some(next[0]);
            }
        }
        allowed
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let rate = Rate::per_second(5, 10);
        // 1,000 actions in one second: the burst, plus what refilled in that second.
        let allowed = run(rate, 1000, 1.0);
        assert!((14..=15).contains(&allowed), "{allowed}");
        // Spaced at the rate, none is refused.
        assert_eq!(run(rate, 100, 200.0), 100);
    }

    #[test]
    fn a_refusal_says_when_to_retry_and_takes_nothing() {
        let rate = Rate::per_second(2, 1);
        let (a, next) = admit(&[None], 0.0, rate);
        assert!(a.is_allowed());
        let tat = next[0];
        assert_eq!(tat, 500.0);
        let (a, next) = admit(&[Some(tat)], 100.0, rate);
        assert_eq!(
            a,
            Admission::Limited {
                retry_after: Duration::from_millis(400)
            }
        );
        assert!(next.is_empty());
        assert!(admit(&[Some(tat)], 500.0, rate).0.is_allowed());
    }

    #[test]
    fn every_bucket_must_have_a_token() {
        let rate = Rate::per_second(1, 1);
        // The connection's bucket is fresh but the identity's is spent (another connection).
        let (a, _) = admit(&[None, Some(1000.0)], 0.0, rate);
        assert!(!a.is_allowed());
        let (a, next) = admit(&[None, None], 0.0, rate);
        assert!(a.is_allowed());
        assert_eq!(next, vec![1000.0, 1000.0]);
    }

    #[test]
    fn an_idle_bucket_is_full_and_its_key_can_expire() {
        let rate = Rate::per_second(10, 3);
        assert_eq!(key_ttl(1000.0, 400.0), Duration::from_millis(601));
        assert_eq!(key_ttl(100.0, 400.0), Duration::from_millis(1));
        // Long after its TAT a bucket behaves as new.
        assert!(admit(&[Some(50.0)], 10_000.0, rate).0.is_allowed());
    }
}
