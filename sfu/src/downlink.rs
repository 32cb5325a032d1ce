//! What one subscriber connection's downlink did, counted at the wire-most end of its
//! interceptor chain by a [`DownlinkTap`]: the bytes that went out (media and retransmissions)
//! and the loss its receiver reports say. The room reads and resets the counters on its layer
//! tick and feeds them to a [`crate::bandwidth::BandwidthEstimator`].
//!
//! The tap also keeps retransmissions in proportion: NACKs are answered from each down
//! track's send history (the NACK responder above it), but only while they ask for at most
//! one packet in [`RETRANSMIT_SHARE`] of those sent. On a link that is already dropping
//! packets, answering every NACK only adds to the loss.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rtc::interceptor::{Packet, TaggedPacket};
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;

use crate::rtt::RttEstimator;
use crate::tap::PacketTap;

/// RTP, SRTP, UDP and IP headers: what a packet costs on the wire beyond its payload.
pub const PACKET_OVERHEAD: u64 = 60;
/// Retransmissions answered, at most, per packet sent (a tenth of the traffic).
pub const RETRANSMIT_SHARE: f64 = 0.1;
/// Retransmissions that may be answered in a burst.
const RETRANSMIT_BURST: f64 = 64.0;

/// A subscriber connection as its down tracks see it: whether it is up (before DTLS there
/// are no keys to send with) and what it carried.
#[derive(Debug, Default)]
pub struct Downlink {
    pub connected: AtomicBool,
    pub meter: Arc<DownlinkMeter>,
}

impl Downlink {
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    pub fn set_connected(&self, up: bool) {
        self.connected.store(up, Ordering::Relaxed);
    }
}

/// No round trip measured yet, in [`DownlinkMeter::rtt_ms`].
const NO_RTT: u32 = u32::MAX;

/// One subscriber connection's downlink counters, shared by its down tracks and its tap.
#[derive(Debug)]
pub struct DownlinkMeter {
    bytes_sent: AtomicU64,
    lost: AtomicU64,
    expected: AtomicU64,
    /// Retransmissions asked for that were not answered (over the budget), in all.
    nacks_refused: AtomicU64,
    /// The smoothed round trip in ms, or [`NO_RTT`].
    rtt_ms: AtomicU32,
}

impl Default for DownlinkMeter {
    fn default() -> Self {
        Self {
            bytes_sent: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            expected: AtomicU64::new(0),
            nacks_refused: AtomicU64::new(0),
            rtt_ms: AtomicU32::new(NO_RTT),
        }
    }
}

/// What was counted since the last [`DownlinkMeter::take`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DownlinkCounts {
    pub bytes_sent: u64,
    pub lost: u64,
    pub expected: u64,
    /// The latest smoothed round trip (not reset by a take).
    pub rtt_ms: Option<u32>,
}

impl DownlinkMeter {
    /// Retransmission requests refused so far.
    pub fn nacks_refused(&self) -> u64 {
        self.nacks_refused.load(Ordering::Relaxed)
    }

    /// A packet of `payload` bytes went out.
    pub fn sent(&self, payload: usize) {
        self.bytes_sent
            .fetch_add(payload as u64 + PACKET_OVERHEAD, Ordering::Relaxed);
    }

    fn report(&self, lost: u64, expected: u64) {
        self.lost.fetch_add(lost, Ordering::Relaxed);
        self.expected.fetch_add(expected, Ordering::Relaxed);
    }

    fn set_rtt(&self, rtt: std::time::Duration) {
        let ms = u32::try_from(rtt.as_millis()).unwrap_or(NO_RTT - 1);
        self.rtt_ms.store(ms.min(NO_RTT - 1), Ordering::Relaxed);
    }

    /// The counts since the last call, resetting them.
    pub fn take(&self) -> DownlinkCounts {
        let rtt = self.rtt_ms.load(Ordering::Relaxed);
        DownlinkCounts {
            bytes_sent: self.bytes_sent.swap(0, Ordering::Relaxed),
            lost: self.lost.swap(0, Ordering::Relaxed),
            expected: self.expected.swap(0, Ordering::Relaxed),
            rtt_ms: (rtt != NO_RTT).then_some(rtt),
        }
    }
}

/// The last report of one stream: its extended highest sequence number and cumulative loss,
/// and how many packets the node had sent on it then.
#[derive(Debug, Clone, Copy)]
struct Last {
    ssrc: u32,
    highest: u32,
    total_lost: u32,
    sent: u64,
}

/// Turns receiver reports into loss counts per interval. Cumulative fields are differenced per
/// stream, so every packet counts once whichever report carried it; a stream seen for the
/// first time, or one whose numbers went backwards (a restart), only sets the base.
///
/// Forwarded streams keep their publisher's sequence numbers, so a packet lost before it
/// reached the node is a gap the receiver reports as lost too. Those gaps are the number
/// the receiver expected less the number the node sent meanwhile; they are not this
/// downlink's loss and are taken out.
#[derive(Debug, Default)]
pub struct LossCounter {
    last: Vec<Last>,
}

impl LossCounter {
    /// `(lost, expected)` on this downlink since the previous report of the same stream;
    /// `sent` is how many packets the node has sent on the stream so far.
    pub fn observe(&mut self, r: &ReceptionReport, sent: u64) -> (u64, u64) {
        let (highest, total) = (r.last_sequence_number, r.total_lost);
        let Some(last) = self.last.iter_mut().find(|l| l.ssrc == r.ssrc) else {
            // Streams come and go with tracks; keep the list bounded.
            if self.last.len() >= 512 {
                self.last.remove(0);
            }
            self.last.push(Last {
                ssrc: r.ssrc,
                highest,
                total_lost: total,
                sent,
            });
            return (0, 0);
        };
        let expected = highest.wrapping_sub(last.highest);
        let lost = total.wrapping_sub(last.total_lost) & 0x00ff_ffff;
        let sent_since = sent.saturating_sub(last.sent);
        last.highest = highest;
        last.total_lost = total;
        last.sent = sent;
        if expected == 0 || expected > 1 << 20 {
            return (0, 0);
        }
        // Cumulative loss may fall (duplicates); a fall counts as none.
        let lost = if lost > 1 << 23 { 0 } else { lost };
        let (expected, lost) = (u64::from(expected), u64::from(lost.min(expected)));
        let never_sent = expected.saturating_sub(sent_since);
        let expected = expected - never_sent;
        (lost.saturating_sub(never_sent).min(expected), expected)
    }
}

/// Packets remembered per stream in a [`SentLog`]: more than a second of a camera's top
/// layer, longer than receivers take between reports.
const SENT_LOG: usize = 512;

/// What the node sent on one stream: how many packets had gone out when the packet with a
/// given sequence number did. A receiver report covers packets up to its highest sequence
/// number, not up to when it arrives, so that is the count to difference: the total at the
/// report's arrival also holds packets sent after it was written, which made those gaps
/// show as loss on the next report.
#[derive(Debug)]
pub struct SentLog {
    ssrc: u32,
    total: u64,
    recent: VecDeque<(u16, u64)>,
}

impl SentLog {
    pub fn new(ssrc: u32) -> Self {
        Self {
            ssrc,
            total: 0,
            recent: VecDeque::with_capacity(SENT_LOG),
        }
    }

    /// The packet with sequence number `seq` went out.
    pub fn sent(&mut self, seq: u16) {
        self.total += 1;
        if self.recent.len() == SENT_LOG {
            self.recent.pop_front();
        }
        self.recent.push_back((seq, self.total));
    }

    /// Packets sent up to and including the last one numbered `seq`; all so far when that
    /// one is no longer remembered.
    pub fn sent_through(&self, seq: u16) -> u64 {
        self.recent
            .iter()
            .rev()
            .find(|(s, _)| *s == seq)
            .map_or(self.total, |(_, n)| *n)
    }
}

/// Retransmissions the link can afford: [`RETRANSMIT_SHARE`] of a token per packet sent,
/// one per packet asked for.
#[derive(Debug)]
pub struct RetransmitBudget {
    tokens: f64,
}

impl Default for RetransmitBudget {
    fn default() -> Self {
        Self {
            tokens: RETRANSMIT_BURST,
        }
    }
}

impl RetransmitBudget {
    /// A packet went out.
    pub fn sent(&mut self) {
        self.tokens = (self.tokens + RETRANSMIT_SHARE).min(RETRANSMIT_BURST);
    }

    /// Whether a NACK for `packets` packets is answered (and charged).
    pub fn allow(&mut self, packets: usize) -> bool {
        if self.tokens >= packets as f64 {
            self.tokens -= packets as f64;
            true
        } else {
            false
        }
    }
}

/// Sits wire-most on a subscriber connection: counts what goes out, reads receiver reports
/// into the meter (loss and round trip), and refuses NACKs over the retransmission budget.
pub struct DownlinkTap {
    meter: Arc<DownlinkMeter>,
    counter: LossCounter,
    rtt: RttEstimator,
    budget: RetransmitBudget,
    /// What was sent per SSRC, for [`LossCounter::observe`].
    sent: Vec<SentLog>,
}

impl DownlinkTap {
    pub fn new(meter: Arc<DownlinkMeter>) -> Self {
        Self {
            meter,
            counter: LossCounter::default(),
            rtt: RttEstimator::default(),
            budget: RetransmitBudget::default(),
            sent: Vec::new(),
        }
    }

    fn observe_reports(&mut self, packets: &[Box<dyn rtc::rtcp::Packet>], now: Instant) {
        let (mut lost, mut expected) = (0, 0);
        let mut timed = false;
        for p in packets {
            let any = p.as_any();
            let reports = if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
                &rr.reports
            } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
                &sr.reports
            } else {
                continue;
            };
            for r in reports {
                let sent = self
                    .sent
                    .iter()
                    .find(|l| l.ssrc == r.ssrc)
                    .map_or(0, |l| l.sent_through(r.last_sequence_number as u16));
                let (l, e) = self.counter.observe(r, sent);
                lost += l;
                expected += e;
                timed |= self
                    .rtt
                    .reception_report(r.last_sender_report, r.delay, now)
                    .is_some();
            }
        }
        if expected > 0 {
            self.meter.report(lost, expected);
        }
        if let (true, Some(rtt)) = (timed, self.rtt.smoothed()) {
            self.meter.set_rtt(rtt);
        }
    }
}

impl PacketTap for DownlinkTap {
    fn read(&mut self, msg: &mut TaggedPacket) -> bool {
        let Packet::Rtcp(packets) = &mut msg.message.packet else {
            return true;
        };
        self.observe_reports(packets, msg.now);
        let budget = &mut self.budget;
        let meter = &self.meter;
        packets.retain(|p| {
            let Some(nack) = p.as_any().downcast_ref::<TransportLayerNack>() else {
                return true;
            };
            let asked: usize = nack
                .nacks
                .iter()
                .map(|n| 1 + n.lost_packets.count_ones() as usize)
                .sum();
            let allowed = budget.allow(asked);
            if !allowed {
                meter
                    .nacks_refused
                    .fetch_add(asked as u64, Ordering::Relaxed);
            }
            allowed
        });
        !packets.is_empty()
    }

    fn write(&mut self, msg: &TaggedPacket) {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            for sr in packets
                .iter()
                .filter_map(|p| p.as_any().downcast_ref::<SenderReport>())
            {
                self.rtt.sender_report(sr.ntp_time, msg.now);
            }
        }
        if let Packet::Rtp(p) = &msg.message.packet {
            self.meter.sent(p.payload.len());
            self.budget.sent();
            let (ssrc, seq) = (p.header.ssrc, p.header.sequence_number);
            if let Some(log) = self.sent.iter_mut().find(|l| l.ssrc == ssrc) {
                log.sent(seq);
            } else if self.sent.len() < 512 {
                // A connection carries a few streams per track; the list stays short.
                let mut log = SentLog::new(ssrc);
                log.sent(seq);
                self.sent.push(log);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(ssrc: u32, highest: u32, total_lost: u32) -> ReceptionReport {
        ReceptionReport {
            ssrc,
            last_sequence_number: highest,
            total_lost,
            ..Default::default()
        }
    }

    #[test]
    fn loss_is_differenced_per_stream() {
        let mut c = LossCounter::default();
        // Every packet the receiver expected was sent (`sent` keeps pace).
        assert_eq!(c.observe(&report(1, 1000, 5), 1000), (0, 0));
        assert_eq!(c.observe(&report(2, 70_000, 0), 0), (0, 0));
        assert_eq!(c.observe(&report(1, 1100, 15), 1100), (10, 100));
        assert_eq!(c.observe(&report(2, 70_050, 0), 50), (0, 50));
        // Wrapping the extended sequence number is fine; going backwards resets.
        assert_eq!(c.observe(&report(1, 900, 15), 1100), (0, 0));
        assert_eq!(c.observe(&report(1, 950, 14), 1150), (0, 50));
    }

    #[test]
    fn gaps_from_upstream_are_not_downlink_loss() {
        let mut c = LossCounter::default();
        c.observe(&report(1, 1000, 0), 1000);
        // 100 sequence numbers went by, but 30 never reached the node: it sent 70, and the
        // receiver reports 32 lost, so 2 were lost on this downlink.
        assert_eq!(c.observe(&report(1, 1100, 32), 1070), (2, 70));
        // Gaps the node did not send, and nothing else lost: a clean downlink.
        assert_eq!(c.observe(&report(1, 1200, 62), 1140), (0, 70));
    }

    #[test]
    fn the_sent_count_is_taken_where_the_report_stops() {
        let mut log = SentLog::new(1);
        // 1000..1100 with every third number missing upstream, then five more.
        for seq in (1000..1100u16).filter(|s| s % 3 != 0) {
            log.sent(seq);
        }
        let through = log.sent_through(1099);
        for seq in 1100..1105u16 {
            log.sent(seq);
        }
        assert_eq!(
            log.sent_through(1099),
            through,
            "later packets are not counted"
        );
        assert_eq!(log.sent_through(1104), through + 5);
        assert_eq!(log.sent_through(7), through + 5, "forgotten: all so far");
        // Numbers wrap; the last packet with a number is the one counted.
        let mut log = SentLog::new(1);
        for seq in (65_530..=65_535u16).chain(0..3) {
            log.sent(seq);
        }
        assert_eq!(log.sent_through(65_535), 6);
        assert_eq!(log.sent_through(2), 9);
        // Only the last SENT_LOG packets are remembered.
        let mut log = SentLog::new(1);
        for seq in 0..(SENT_LOG as u16 + 10) {
            log.sent(seq);
        }
        assert_eq!(log.sent_through(5), SENT_LOG as u64 + 10);
        assert_eq!(log.sent_through(20), 21);
    }

    #[test]
    fn retransmissions_are_a_tenth_of_the_traffic_at_most() {
        let mut b = RetransmitBudget::default();
        assert!(b.allow(64), "a burst is answered");
        assert!(!b.allow(1));
        for _ in 0..1000 {
            b.sent();
        }
        let answered = (0..1000).filter(|_| b.allow(1)).count();
        assert_eq!(answered, 64, "the burst is the cap");
        let mut answered = 0;
        for _ in 0..10_000 {
            b.sent();
            if b.allow(1) {
                answered += 1;
            }
        }
        assert!((990..=1000).contains(&answered), "{answered}");
    }

    fn tagged(packets: Vec<Box<dyn rtc::rtcp::Packet>>, now: Instant) -> TaggedPacket {
        TaggedPacket {
            now,
            transport: Default::default(),
            message: Packet::Rtcp(packets).into(),
        }
    }

    #[test]
    fn the_tap_times_its_sender_reports_round_trips() {
        let meter = Arc::new(DownlinkMeter::default());
        let mut tap = DownlinkTap::new(meter.clone());
        let t0 = Instant::now();
        let ntp_time = 0xE6A1_0000_4000_0000_u64;
        tap.write(&tagged(
            vec![Box::new(SenderReport {
                ssrc: 7,
                ntp_time,
                ..Default::default()
            })],
            t0,
        ));
        assert_eq!(meter.take().rtt_ms, None, "nothing back yet");
        let rr = ReceiverReport {
            reports: vec![ReceptionReport {
                ssrc: 7,
                last_sender_report: (ntp_time >> 16) as u32,
                delay: 65_536 / 100, // held 10 ms
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut back = tagged(
            vec![Box::new(rr)],
            t0 + std::time::Duration::from_millis(50),
        );
        assert!(tap.read(&mut back), "reports pass on");
        let rtt = meter.take().rtt_ms.expect("a round trip");
        assert!((39..=40).contains(&rtt), "{rtt}");
        assert_eq!(meter.take().rtt_ms, Some(rtt), "kept across takes");
    }

    #[test]
    fn the_meter_resets_on_take() {
        let m = DownlinkMeter::default();
        m.sent(1000);
        m.report(3, 30);
        assert_eq!(
            m.take(),
            DownlinkCounts {
                bytes_sent: 1000 + PACKET_OVERHEAD,
                lost: 3,
                expected: 30,
                rtt_ms: None,
            }
        );
        assert_eq!(m.take(), DownlinkCounts::default());
    }
}
