//! The room's connection-quality report: every [`QUALITY_EVERY`] media ticks, each
//! participant's uplink loss (over all of its published tracks), downlink loss and round trip
//! (from its receiver reports) and downlink estimate since the last report, graded by
//! [`QualityGrader`]; the room hears of it when a grade changed.

use super::*;
use crate::quality::{LinkReport, Window};

/// Media ticks per report: 2 s, long enough for a fair sample of an audio track's packets.
pub(super) const QUALITY_EVERY: u64 = 8;

impl Room {
    pub(super) async fn report_quality(&mut self) {
        let mut reports = Vec::with_capacity(self.participants.len());
        for (id, p) in self.participants.iter_mut() {
            let mut up = Window::default();
            for f in self.forwarders.values().filter(|f| f.publisher_id == *id) {
                let (expected, received) = f.uplink.totals();
                let seen = self.uplink_seen.entry(f.id()).or_default();
                let (de, dr) = (expected - seen.0, received - seen.1);
                *seen = (expected, received);
                up.add(de, de.saturating_sub(dr));
            }
            let kbps = p.bandwidth.estimate() / 1000;
            reports.push(LinkReport {
                participant_id: id.clone(),
                up,
                down: std::mem::take(&mut p.downlink_window),
                downlink_kbps: p
                    .bandwidth
                    .limited()
                    .then(|| u32::try_from(kbps).unwrap_or(u32::MAX)),
            });
        }
        self.uplink_seen
            .retain(|track_id, _| self.forwarders.contains_key(track_id));
        if let Some(qualities) = self.quality.grade(&reports) {
            tracing::debug!(room = %self.code, ?qualities, "connection quality changed");
            self.broadcast(&ServerFrame::ConnectionQuality { qualities })
                .await;
        }
    }
}
