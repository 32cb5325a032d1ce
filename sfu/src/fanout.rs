//! A published track's down paths, owned by its forwarder's loop: every packet goes to each
//! path that wants its layer, in the loop that read it. Paths come and go through a channel
//! the loop drains before each packet, so the packet path takes no lock; its counters are
//! the loop's own and reach the node's [`Metrics`] a few times a second.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::down_path::{Binding, DownPath, Forwarded, Written};
use crate::metrics::Metrics;

/// How often the loop's counters are added to the node's.
const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

/// A change to the set of down paths, applied by the loop before its next packet.
pub enum Change {
    Attach(DownPath),
    Detach(u64),
    /// The path's sender parameters, looked up off the packet path (`None`: not bound).
    Bound(u64, Option<Binding>),
}

/// What the loop counted since it last flushed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub received: u64,
    pub received_bytes: u64,
    pub forwarded: u64,
    pub forwarded_bytes: u64,
    pub dropped: u64,
}

/// The down paths of one track.
pub struct FanOut {
    paths: Vec<DownPath>,
    changes: mpsc::Receiver<Change>,
    tally: Tally,
    flushed: Option<Instant>,
}

impl FanOut {
    pub fn new(changes: mpsc::Receiver<Change>) -> Self {
        Self {
            paths: Vec::new(),
            changes,
            tally: Tally::default(),
            flushed: None,
        }
    }

    /// Applies the attaches, detaches and bindings sent since the last call.
    pub fn apply_changes(&mut self) {
        while let Ok(change) = self.changes.try_recv() {
            match change {
                Change::Attach(path) => {
                    self.paths.retain(|p| p.key != path.key);
                    self.paths.push(path);
                }
                Change::Detach(key) => self.paths.retain(|p| p.key != key),
                Change::Bound(key, binding) => {
                    if let Some(p) = self.paths.iter_mut().find(|p| p.key == key) {
                        p.set_binding(binding);
                    }
                }
            }
        }
    }

    /// Hands `item` to every path that wants its layer; the layers some path needs a
    /// keyframe of, as a bit mask.
    pub fn forward(&mut self, item: &Forwarded<'_>) -> u8 {
        self.tally.received += 1;
        self.tally.received_bytes += item.packet.payload.len() as u64;
        let bit = 1u8 << item.layer;
        let mut keyframes = 0u8;
        for path in &mut self.paths {
            if path.mask() & bit == 0 {
                continue;
            }
            let out = path.forward(item);
            match out.written {
                Written::Sent(bytes) => {
                    self.tally.forwarded += 1;
                    self.tally.forwarded_bytes += bytes as u64;
                }
                Written::Dropped => self.tally.dropped += 1,
                Written::Skipped => {}
            }
            if let Some(layer) = out.keyframe_request {
                keyframes |= 1u8 << layer;
            }
        }
        keyframes
    }

    /// Adds the counts to `metrics` when [`FLUSH_INTERVAL`] has passed since the last time
    /// (always, with `force`).
    pub fn flush(&mut self, metrics: &Metrics, now: Instant, force: bool) {
        if !force
            && self
                .flushed
                .is_some_and(|t| now.saturating_duration_since(t) < FLUSH_INTERVAL)
        {
            return;
        }
        self.flushed = Some(now);
        let t = std::mem::take(&mut self.tally);
        if t == Tally::default() {
            return;
        }
        Metrics::add(&metrics.packets_received, t.received);
        Metrics::add(&metrics.bytes_received, t.received_bytes);
        Metrics::add(&metrics.packets_forwarded, t.forwarded);
        Metrics::add(&metrics.bytes_forwarded, t.forwarded_bytes);
        Metrics::add(&metrics.packets_dropped, t.dropped);
    }

    /// What was counted since the last flush.
    pub fn tally(&self) -> Tally {
        self.tally
    }

    /// How many subscribers this track flows to.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use rtc::rtp;
    use tokio::sync::Notify;
    use webrtc::media_stream::track_local::static_rtp::TryWriteError;

    use super::*;
    use crate::down_path::DownSink;
    use crate::down_track::DownControl;
    use crate::downlink::Downlink;

    /// A subscriber connection's queue of `capacity` packets, read by nobody: once full,
    /// as a subscriber that stopped reading.
    struct Queue {
        capacity: usize,
        packets: Mutex<Vec<rtp::Packet>>,
        refused: AtomicUsize,
    }

    impl Queue {
        fn new(capacity: usize) -> Arc<Self> {
            Arc::new(Self {
                capacity,
                packets: Mutex::new(Vec::new()),
                refused: AtomicUsize::new(0),
            })
        }
    }

    impl DownSink for Queue {
        fn try_write(&self, packet: rtp::Packet) -> Result<(), TryWriteError> {
            let mut q = self.packets.lock().unwrap();
            if q.len() >= self.capacity {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(TryWriteError::Full);
            }
            q.push(packet);
            Ok(())
        }
    }

    fn path(fan: &mpsc::Sender<Change>, key: u64, sink: Arc<Queue>, ssrc: u32) {
        let downlink = Arc::new(Downlink::default());
        downlink.set_connected(true);
        let p = DownPath::new(
            key,
            Arc::new(DownControl::new(Some(0))),
            downlink,
            sink,
            ssrc,
            48_000,
            Arc::new(Notify::new()),
        );
        fan.send(Change::Attach(p)).unwrap();
        let binding = Binding {
            payload_type: 111,
            extension_map: vec![(1, 5)],
        };
        fan.send(Change::Bound(key, Some(binding))).unwrap();
    }

    fn packet(seq: u16) -> rtp::Packet {
        let mut p = rtp::Packet {
            header: rtp::header::Header {
                version: 2,
                payload_type: 100,
                sequence_number: seq,
                timestamp: u32::from(seq) * 960,
                ssrc: 42,
                ..Default::default()
            },
            payload: Bytes::from(format!("payload {seq}")),
        };
        // Audio level (RFC 6464) under the publisher's id 1; transport-cc under 3.
        p.header
            .set_extension(1, Bytes::from_static(&[0x90]))
            .unwrap();
        p.header
            .set_extension(3, Bytes::from_static(&[0, 7]))
            .unwrap();
        p
    }

    fn send(fan: &mut FanOut, n: u16) {
        let start = Instant::now();
        for seq in 0..n {
            let p = packet(1000 + seq);
            fan.apply_changes();
            fan.forward(&Forwarded {
                layer: 0,
                keyframe: true,
                keyframe_start: true,
                vp8: None,
                at: start + Duration::from_millis(u64::from(seq) * 20),
                packet: &p,
            });
        }
    }

    #[test]
    fn a_subscriber_that_stops_reading_loses_only_its_own_packets() {
        let (tx, rx) = mpsc::channel();
        let mut fan = FanOut::new(rx);
        let reading = [Queue::new(usize::MAX), Queue::new(usize::MAX)];
        let stalled = Queue::new(40);
        path(&tx, 1, reading[0].clone(), 0xa);
        path(&tx, 2, stalled.clone(), 0xb);
        path(&tx, 3, reading[1].clone(), 0xc);
        send(&mut fan, 200);

        let t = fan.tally();
        assert_eq!(t.received, 200);
        assert_eq!(t.forwarded, 200 + 40 + 200);
        assert_eq!(t.dropped, 160, "the stalled subscriber's own packets");
        assert_eq!(stalled.refused.load(Ordering::Relaxed), 160);
        for (q, ssrc) in reading.iter().zip([0xa, 0xc]) {
            let got = q.packets.lock().unwrap();
            assert_eq!(got.len(), 200);
            for (i, p) in got.iter().enumerate() {
                assert_eq!(p.payload, Bytes::from(format!("payload {}", 1000 + i)));
                assert_eq!(p.header.ssrc, ssrc);
                assert_eq!(p.header.payload_type, 111);
                // Continuous numbering of this subscriber's own.
                assert_eq!(
                    p.header.sequence_number,
                    got[0].header.sequence_number.wrapping_add(i as u16)
                );
                // The audio level under the subscriber's id; transport-cc is ours to write.
                assert_eq!(p.header.get_extension(5), Some(Bytes::from_static(&[0x90])));
                assert_eq!(p.header.get_extension(1), None);
                assert_eq!(p.header.get_extension(3), None);
            }
        }
    }

    #[test]
    fn the_payload_is_shared_not_copied() {
        let (tx, rx) = mpsc::channel();
        let mut fan = FanOut::new(rx);
        let a = Queue::new(usize::MAX);
        let b = Queue::new(usize::MAX);
        path(&tx, 1, a.clone(), 1);
        path(&tx, 2, b.clone(), 2);
        send(&mut fan, 1);
        let pa = a.packets.lock().unwrap()[0].payload.clone();
        let pb = b.packets.lock().unwrap()[0].payload.clone();
        assert_eq!(pa.as_ptr(), pb.as_ptr());
    }

    #[test]
    fn detached_and_unbound_paths_get_nothing() {
        let (tx, rx) = mpsc::channel();
        let mut fan = FanOut::new(rx);
        let a = Queue::new(usize::MAX);
        let b = Queue::new(usize::MAX);
        path(&tx, 1, a.clone(), 1);
        path(&tx, 2, b.clone(), 2);
        send(&mut fan, 10);
        tx.send(Change::Detach(1)).unwrap();
        tx.send(Change::Bound(2, None)).unwrap();
        send(&mut fan, 10);
        assert_eq!(fan.len(), 1);
        assert_eq!(a.packets.lock().unwrap().len(), 10);
        assert_eq!(b.packets.lock().unwrap().len(), 10);
    }

    #[test]
    fn counts_reach_the_metrics_on_flush() {
        let (tx, rx) = mpsc::channel();
        let mut fan = FanOut::new(rx);
        let a = Queue::new(5);
        path(&tx, 1, a, 1);
        send(&mut fan, 8);
        let metrics = Metrics::default();
        fan.flush(&metrics, Instant::now(), true);
        assert_eq!(metrics.packets_received.load(Ordering::Relaxed), 8);
        assert_eq!(metrics.packets_forwarded.load(Ordering::Relaxed), 5);
        assert_eq!(metrics.packets_dropped.load(Ordering::Relaxed), 3);
        assert_eq!(fan.tally(), Tally::default());
    }
}
