//! Connection quality: how much of each participant's media reaches the node (uplink loss,
//! from the gaps in each published stream's sequence numbers) and how much of what the node
//! sends reaches them (downlink loss, from their receiver reports), graded good / fair /
//! poor for the tiles' indicators. Plain state: the forwarder's loop feeds [`SeqTracker`]s and
//! an [`UplinkMeter`]; the room's tick folds them into a [`QualityGrader`], which says when
//! to tell the room.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use veet_core::protocol::{ParticipantQuality, Quality};

/// Extends one stream's 16-bit sequence numbers: how many packets each arrival says were sent.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeqTracker {
    last: Option<u16>,
}

impl SeqTracker {
    /// Packets the sender sent up to and including `seq` that were not counted before: 1 for
    /// the next packet, more after a gap, 0 for a late (reordered or repeated) one.
    pub fn observe(&mut self, seq: u16) -> u64 {
        let Some(last) = self.last else {
            self.last = Some(seq);
            return 1;
        };
        let ahead = seq.wrapping_sub(last) as i16;
        if ahead <= 0 {
            return 0;
        }
        self.last = Some(seq);
        ahead as u64
    }
}

/// One published track's arrivals, shared between its forwarder's loop and the room.
#[derive(Debug, Default)]
pub struct UplinkMeter {
    expected: AtomicU64,
    received: AtomicU64,
    /// Test fault: the node drops this percentage of the track's packets as they arrive,
    /// before counting them, as a lossy network would.
    drop_pct: AtomicU8,
}

impl UplinkMeter {
    /// Counts one arriving packet of a stream (`expected` from its [`SeqTracker`]); false when
    /// the test fault drops it.
    pub fn arrive(&self, seq: u16, expected: u64) -> bool {
        self.expected.fetch_add(expected, Ordering::Relaxed);
        let pct = self.drop_pct.load(Ordering::Relaxed);
        // A multiplicative hash of the sequence number spreads the drops evenly.
        if pct > 0 && (u32::from(seq).wrapping_mul(2_654_435_761) >> 16) % 100 < u32::from(pct) {
            return false;
        }
        self.received.fetch_add(1, Ordering::Relaxed);
        true
    }

    pub fn set_drop_pct(&self, pct: u8) {
        self.drop_pct.store(pct.min(100), Ordering::Relaxed);
    }

    /// `(expected, received)` since the start.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.expected.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }
}

/// Packets expected and lost over a window, and the latest round trip measured in it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub expected: u64,
    pub lost: u64,
    pub rtt_ms: Option<u32>,
}

impl Window {
    pub fn add(&mut self, expected: u64, lost: u64) {
        self.expected += expected;
        self.lost += lost.min(expected);
    }

    pub fn set_rtt(&mut self, rtt_ms: Option<u32>) {
        if rtt_ms.is_some() {
            self.rtt_ms = rtt_ms;
        }
    }

    /// Loss in percent, rounded up so that any loss over 0 shows.
    pub fn loss_pct(&self) -> u8 {
        if self.expected == 0 {
            return 0;
        }
        (self.lost * 100).div_ceil(self.expected).min(100) as u8
    }
}

/// Fewer packets than this in a window say too little to grade (a muted or silent track).
const MIN_EXPECTED: u64 = 20;

/// What the room saw of one participant's links over a report's window.
#[derive(Debug, Clone, Default)]
pub struct LinkReport {
    pub participant_id: String,
    pub up: Window,
    /// The downlink's loss and round trip.
    pub down: Window,
    /// The downlink estimate once loss has limited it (reported, not graded).
    pub downlink_kbps: Option<u32>,
}

/// Each participant's last grade, and when the room must hear of a change.
#[derive(Debug, Default)]
pub struct QualityGrader {
    graded: HashMap<String, Quality>,
}

impl QualityGrader {
    /// Grades one report per participant; returns the frame's lines when any grade changed
    /// since the last call that returned some, else `None`. Windows too small to judge keep
    /// the participant's last grade.
    pub fn grade(&mut self, reports: &[LinkReport]) -> Option<Vec<ParticipantQuality>> {
        let mut changed = false;
        let mut lines = Vec::with_capacity(reports.len());
        for r in reports {
            let id = &r.participant_id;
            let judged = r.up.expected >= MIN_EXPECTED || r.down.expected >= MIN_EXPECTED;
            let (up_pct, down_pct) = (r.up.loss_pct(), r.down.loss_pct());
            let quality = if judged {
                Quality::grade(up_pct.max(down_pct), r.down.rtt_ms)
            } else {
                self.graded.get(id).copied().unwrap_or(Quality::Good)
            };
            // Clients take a participant they have not heard about as good.
            let before = self
                .graded
                .insert(id.clone(), quality)
                .unwrap_or(Quality::Good);
            changed |= before != quality;
            lines.push(ParticipantQuality {
                participant_id: id.clone(),
                quality,
                uplink_loss_pct: up_pct,
                downlink_loss_pct: down_pct,
                rtt_ms: r.down.rtt_ms,
                downlink_kbps: r.downlink_kbps,
            });
        }
        self.graded
            .retain(|id, _| reports.iter().any(|r| r.participant_id == *id));
        changed.then_some(lines)
    }
}

/// `VEET_SFU_FAULT_UPLINK_LOSS` (`<participant name>=<percent>`): the test fault that makes
/// the node drop that share of a named participant's packets as they arrive.
pub fn parse_fault(spec: &str) -> Option<(String, u8)> {
    let (name, pct) = spec.rsplit_once('=')?;
    let pct: u8 = pct.trim().parse().ok().filter(|p| *p <= 100)?;
    let name = name.trim();
    (!name.is_empty()).then(|| (name.to_owned(), pct))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_extend_across_gaps_wraps_and_reordering() {
        let mut t = SeqTracker::default();
        assert_eq!(t.observe(65_534), 1);
        assert_eq!(t.observe(65_535), 1);
        assert_eq!(t.observe(2), 3, "0 and 1 were lost across the wrap");
        assert_eq!(t.observe(1), 0, "late: already counted");
        assert_eq!(t.observe(2), 0, "repeated");
        assert_eq!(t.observe(3), 1);
    }

    #[test]
    fn the_meter_counts_arrivals_and_the_fault_drops_its_share() {
        let m = UplinkMeter::default();
        let mut t = SeqTracker::default();
        for seq in 0..1000u16 {
            m.arrive(seq, t.observe(seq));
        }
        assert_eq!(m.totals(), (1000, 1000));
        m.set_drop_pct(30);
        let kept = (1000..3000u16)
            .filter(|&s| m.arrive(s, t.observe(s)))
            .count();
        assert!(
            (1300..1500).contains(&kept),
            "kept {kept} of 2000 at 30 % loss"
        );
    }

    #[test]
    fn loss_rounds_up_and_is_bounded() {
        let mut w = Window::default();
        assert_eq!(w.loss_pct(), 0);
        w.add(1000, 1);
        assert_eq!(w.loss_pct(), 1);
        w.add(10, 5000);
        assert_eq!(w.lost, 11, "never more lost than expected");
    }

    fn window(expected: u64, lost: u64) -> Window {
        Window {
            expected,
            lost,
            rtt_ms: None,
        }
    }

    fn report(id: &str, up: Window, down: Window) -> LinkReport {
        LinkReport {
            participant_id: id.to_owned(),
            up,
            down,
            downlink_kbps: None,
        }
    }

    #[test]
    fn a_long_round_trip_grades_down_and_is_reported() {
        let mut g = QualityGrader::default();
        let mut slow = window(100, 0);
        slow.set_rtt(Some(650));
        slow.set_rtt(None);
        assert_eq!(slow.rtt_ms, Some(650), "a window keeps its latest sample");
        let lines = g
            .grade(&[report("a", window(100, 0), slow)])
            .expect("a went poor");
        assert_eq!(lines[0].quality, Quality::Poor);
        assert_eq!(lines[0].rtt_ms, Some(650));
        slow.rtt_ms = Some(350);
        let lines = g.grade(&[report("a", window(100, 0), slow)]).unwrap();
        assert_eq!(lines[0].quality, Quality::Fair);
    }

    #[test]
    fn the_downlink_estimate_is_reported_not_graded() {
        let mut g = QualityGrader::default();
        // A clean link that only carries small tiles has a low estimate: still good.
        let mut narrow = report("a", window(100, 0), window(100, 0));
        narrow.downlink_kbps = Some(220);
        assert_eq!(
            g.grade(std::slice::from_ref(&narrow)),
            None,
            "good, as before"
        );
        narrow.up = window(100, 30);
        let lines = g.grade(&[narrow]).expect("a went poor");
        assert_eq!(lines[0].downlink_kbps, Some(220));
    }

    #[test]
    fn the_room_hears_only_of_changes() {
        let mut g = QualityGrader::default();
        let good = [report("a", window(100, 0), window(100, 0))];
        // Everyone good from the start: nothing to say.
        assert_eq!(g.grade(&good), None);
        let lossy = [report("a", window(100, 25), window(100, 0))];
        let lines = g.grade(&lossy).expect("a went poor");
        assert_eq!(lines[0].quality, Quality::Poor);
        assert_eq!(lines[0].uplink_loss_pct, 25);
        assert_eq!(g.grade(&lossy), None, "still poor: no news");
        // Too few packets to judge: the grade stands.
        assert_eq!(g.grade(&[report("a", window(3, 3), window(0, 0))]), None);
        let fair = [report("a", window(100, 0), window(100, 4))];
        assert_eq!(
            g.grade(&fair).expect("a recovered a bit")[0].quality,
            Quality::Fair
        );
        let lines = g.grade(&good).expect("a is good again");
        assert_eq!(lines[0].quality, Quality::Good);
    }

    #[test]
    fn faults_parse_as_name_and_percent() {
        assert_eq!(parse_fault("Bob Lossy=30"), Some(("Bob Lossy".into(), 30)));
        assert_eq!(parse_fault("a=b=5"), Some(("a=b".into(), 5)));
        assert_eq!(parse_fault("Bob=300"), None);
        assert_eq!(parse_fault("=5"), None);
        assert_eq!(parse_fault("Bob"), None);
    }
}
