//! The node's counters and gauges, rendered in Prometheus' text format at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Counters are monotonic; gauges go up and down. All relaxed atomics: they are statistics,
/// read without coordination.
#[derive(Debug, Default)]
pub struct Metrics {
    pub rooms: AtomicI64,
    pub participants: AtomicI64,
    pub tracks: AtomicI64,
    pub packets_received: AtomicU64,
    pub bytes_received: AtomicU64,
    pub packets_forwarded: AtomicU64,
    pub bytes_forwarded: AtomicU64,
    /// Packets not forwarded because a subscriber's queue was full (a slow subscriber).
    pub packets_dropped: AtomicU64,
    /// Publishers' audio packets of digital silence not forwarded (see `silence`).
    pub silence_dropped: AtomicU64,
    /// Packets of muted tracks not forwarded (see `hold`).
    pub muted_dropped: AtomicU64,
    /// NACKs received from subscribers (answered from the send buffer).
    pub nacks_received: AtomicU64,
    /// PLI/FIR received from subscribers.
    pub keyframe_requests_received: AtomicU64,
    /// PLIs sent to publishers (new subscribers and forwarded requests, rate-limited).
    pub plis_sent: AtomicU64,
    pub signals_handled: AtomicU64,
    /// Frames to clients dropped because a client fell too far behind (see `outbox`).
    pub pushes_dropped: AtomicU64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn gauge(gauge: &AtomicI64, delta: i64) {
        gauge.fetch_add(delta, Ordering::Relaxed);
    }

    /// The Prometheus exposition text.
    pub fn render(&self, node_id: &str, draining: bool) -> String {
        let mut out = String::with_capacity(2048);
        let g = |v: &AtomicI64| v.load(Ordering::Relaxed).max(0);
        let c = |v: &AtomicU64| v.load(Ordering::Relaxed);
        let gauges = [
            ("veet_sfu_rooms", "Rooms hosted", g(&self.rooms)),
            (
                "veet_sfu_participants",
                "Participants connected",
                g(&self.participants),
            ),
            ("veet_sfu_tracks", "Published tracks", g(&self.tracks)),
            (
                "veet_sfu_draining",
                "1 while the node drains",
                i64::from(draining),
            ),
        ];
        for (name, help, v) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{node=\"{node_id}\"}} {v}"
            );
        }
        let counters = [
            (
                "veet_sfu_packets_received_total",
                "RTP packets received from publishers",
                c(&self.packets_received),
            ),
            (
                "veet_sfu_bytes_received_total",
                "RTP payload bytes received from publishers",
                c(&self.bytes_received),
            ),
            (
                "veet_sfu_packets_forwarded_total",
                "RTP packets forwarded to subscribers",
                c(&self.packets_forwarded),
            ),
            (
                "veet_sfu_bytes_forwarded_total",
                "RTP payload bytes forwarded to subscribers",
                c(&self.bytes_forwarded),
            ),
            (
                "veet_sfu_packets_dropped_total",
                "Packets dropped for slow subscribers",
                c(&self.packets_dropped),
            ),
            (
                "veet_sfu_silence_dropped_total",
                "Audio packets of digital silence (muted microphones) not forwarded",
                c(&self.silence_dropped),
            ),
            (
                "veet_sfu_muted_dropped_total",
                "Packets of muted tracks (by their owner or a host) not forwarded",
                c(&self.muted_dropped),
            ),
            (
                "veet_sfu_pushes_dropped_total",
                "Frames to clients dropped: the client fell too far behind",
                c(&self.pushes_dropped),
            ),
            (
                "veet_sfu_nacks_received_total",
                "NACK packets received from subscribers",
                c(&self.nacks_received),
            ),
            (
                "veet_sfu_keyframe_requests_received_total",
                "PLI/FIR received from subscribers",
                c(&self.keyframe_requests_received),
            ),
            (
                "veet_sfu_plis_sent_total",
                "PLIs sent to publishers",
                c(&self.plis_sent),
            ),
            (
                "veet_sfu_signals_total",
                "Signaling messages handled",
                c(&self.signals_handled),
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{node=\"{node_id}\"}} {v}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        Metrics::add(&m.packets_forwarded, 3);
        Metrics::gauge(&m.rooms, 2);
        let text = m.render("n1", false);
        assert!(text.contains("veet_sfu_packets_forwarded_total{node=\"n1\"} 3"));
        assert!(text.contains("# TYPE veet_sfu_rooms gauge\nveet_sfu_rooms{node=\"n1\"} 2"));
        assert!(text.contains("veet_sfu_draining{node=\"n1\"} 0"));
    }
}
