//! A rate-limited downlink inside the synthetic peer, for congestion tests: a token-bucket
//! policer (as `tc … police` would be) at the wire-most end of each connection's interceptor
//! chain. RTP it drops never reaches the NACK generator or the receiver reports, so the node
//! sees it exactly as loss on a narrow link.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rtc::interceptor::{Packet, Registry, Slot, TaggedPacket};
use veet_sfu::downlink::PACKET_OVERHEAD;
use veet_sfu::media::RegistryHook;
use veet_sfu::tap::{PacketTap, Tap};

/// How much a burst may exceed the rate: this much time's worth of bytes.
const BURST_SECS: f64 = 0.25;
/// The smallest bucket: a few full packets.
const MIN_BURST: f64 = 4_000.0;

/// The limit, shared by the peer's connections and changed by the test at will.
#[derive(Debug, Default)]
pub struct LinkLimit {
    /// Bits per second; 0 means no limit.
    bps: AtomicU64,
    dropped: AtomicU64,
}

impl LinkLimit {
    /// Limits the downlink to `bps` bits per second, or lifts the limit (`None`).
    pub fn set(&self, bps: Option<u64>) {
        self.bps.store(bps.unwrap_or(0), Ordering::Relaxed);
    }

    /// RTP packets dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Adds a policer on `limit` to every chain the factory builds.
    pub fn hook(limit: Arc<LinkLimit>) -> RegistryHook {
        Arc::new(move |registry: Registry| {
            registry.with(Slot::from(500), Tap::new(PolicedLink::new(limit.clone())))
        })
    }
}

/// One connection's policer.
struct PolicedLink {
    limit: Arc<LinkLimit>,
    tokens: f64,
    last: Option<Instant>,
}

impl PolicedLink {
    fn new(limit: Arc<LinkLimit>) -> Self {
        Self {
            limit,
            tokens: 0.0,
            last: None,
        }
    }

    /// Whether a packet of `bytes` at `now` fits the limit.
    fn admit(&mut self, now: Instant, bytes: u64) -> bool {
        let bps = self.limit.bps.load(Ordering::Relaxed);
        if bps == 0 {
            self.last = None;
            return true;
        }
        let rate = bps as f64 / 8.0;
        let depth = (rate * BURST_SECS).max(MIN_BURST);
        let elapsed = self.last.map_or(BURST_SECS, |t| {
            now.saturating_duration_since(t).as_secs_f64()
        });
        self.last = Some(now);
        self.tokens = (self.tokens + rate * elapsed).min(depth);
        if self.tokens >= bytes as f64 {
            self.tokens -= bytes as f64;
            true
        } else {
            false
        }
    }
}

impl PacketTap for PolicedLink {
    fn read(&mut self, msg: &mut TaggedPacket) -> bool {
        let Packet::Rtp(p) = &msg.message.packet else {
            return true;
        };
        let bytes = p.payload.len() as u64 + PACKET_OVERHEAD;
        let admitted = self.admit(msg.now, bytes);
        if !admitted {
            self.limit.dropped.fetch_add(1, Ordering::Relaxed);
        }
        admitted
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_policer_passes_the_rate_and_drops_the_excess() {
        let limit = Arc::new(LinkLimit::default());
        let mut link = PolicedLink::new(limit.clone());
        let start = Instant::now();
        // 1,000-byte packets at 2 Mbit/s for 10 s through a 1 Mbit/s limit.
        limit.set(Some(1_000_000));
        let mut passed = 0u64;
        for i in 0..2_500u64 {
            let now = start + Duration::from_micros(i * 4_000);
            if link.admit(now, 1_000) {
                passed += 1;
            }
        }
        let bps = passed * 1_000 * 8 / 10;
        assert!((950_000..1_100_000).contains(&bps), "{bps} bit/s passed");
        limit.set(None);
        assert!((0..100).all(|_| link.admit(start, 1_000)));
    }
}
