//! What a synthetic participant receives, per logical track.
//!
//! Stats are keyed by the track id the SFU announces, which is the publisher's own track id
//! (`video-<identity>`) on every node, so the same publisher track arriving on a new subscriber
//! connection after a move continues the same [`TrackStats`] entry. Subscriber connections are
//! numbered by *generation* (0 for the first, one more per move); an entry follows the newest
//! connection that delivered a packet for it, and packets still arriving on an older one after
//! that are counted as `stale_packets` and otherwise ignored, as a browser showing the new
//! stream would ignore the old one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use super::payload::{decode_payload, now_us, unwrap_vp8};

/// What one received track delivered.
#[derive(Debug, Clone, Default)]
pub struct TrackStats {
    /// The publisher identity found in the payloads.
    pub publisher_identity: String,
    /// The participant id the SFU sent it under (stream id).
    pub stream_id: String,
    pub video: bool,
    pub packets: u64,
    pub bytes: u64,
    /// Payloads that were not ours (corrupt, or another format).
    pub foreign_payloads: u64,
    pub first_seq: Option<u64>,
    pub last_seq: u64,
    /// Packets missing next to digital silence: the SFU drops silence on purpose, so they
    /// are not expected.
    pub silence_skipped: u64,
    /// Whether the latest packet was silent.
    last_silent: bool,
    /// The RFC 6464 level of the latest packet, read under the id this connection
    /// negotiated for the extension.
    pub audio_level: Option<u8>,
    /// RTP sequence numbers (as the SFU sent them) that skipped ahead of the previous one.
    pub rtp_seq_gaps: u64,
    last_rtp_seq: Option<u16>,
    /// End-to-end latency samples, µs (bounded).
    pub latencies_us: Vec<u64>,
    /// When the track was first seen on the connection now delivering it.
    pub subscribed_at: Option<Instant>,
    /// When the first packet flagged keyframe arrived on the connection now delivering it.
    pub first_keyframe_at: Option<Instant>,
    /// Generation of the subscriber connection now delivering it (0 = the first, one more per
    /// move); `None` until a packet arrived.
    pub connection: Option<u64>,
    /// When that connection delivered its first packet of this track.
    pub connection_since: Option<Instant>,
    /// Arrival of the very first packet of this track (kept by [`reset`](Self::reset)).
    pub first_packet_at: Option<Instant>,
    /// Arrival of the latest packet (kept by [`reset`](Self::reset)).
    pub last_packet_at: Option<Instant>,
    /// The longest time between two consecutive packets since the last reset (an interval
    /// that began before the reset counts whole).
    pub max_gap: Duration,
    /// Arrival of the packet that ended `max_gap`.
    pub max_gap_end: Option<Instant>,
    /// Packets that arrived on an older connection after a newer one took the track over.
    pub stale_packets: u64,
    /// Simulcast (VP8-framed) video: what the SFU's layer switching looks like from here.
    pub layers: LayerStats,
}

/// A simulcast track as one subscriber receives it: the layer it gets, its switches, and
/// whether numbering ran on without jumps.
#[derive(Debug, Clone, Default)]
pub struct LayerStats {
    /// The layer of the latest packet.
    pub layer: Option<u8>,
    pub switches: u64,
    /// Switches whose first packet was not the start of a keyframe (a decoder would break).
    pub switches_off_keyframe: u64,
    /// RTP sequence numbers that did not follow the previous one.
    pub seq_gaps: u64,
    /// RTP timestamps that went backwards.
    pub timestamp_regressions: u64,
    /// Frames whose VP8 picture id did not follow the previous frame's.
    pub picture_id_gaps: u64,
    /// Packets older than one already seen (retransmissions, reordering); not counted above.
    pub late_packets: u64,
    /// Packets received of each layer (q, h, f).
    pub packets_per_layer: [u64; 3],
    last_seq: Option<u16>,
    last_timestamp: Option<u32>,
    last_picture_id: Option<u16>,
}

impl LayerStats {
    /// Takes one packet: its RTP header fields, VP8 descriptor and layer.
    pub fn observe(
        &mut self,
        seq: u16,
        timestamp: u32,
        vp8: &super::payload::Vp8Fields,
        layer: u8,
    ) {
        if self
            .last_seq
            .is_some_and(|l| (seq.wrapping_sub(l) as i16) <= 0)
        {
            // A retransmission (answering a NACK) or a reordered packet: not the stream's
            // progress.
            self.late_packets += 1;
            return;
        }
        if let Some(n) = self.packets_per_layer.get_mut(usize::from(layer)) {
            *n += 1;
        }
        if self.layer.is_some_and(|l| l != layer) {
            self.switches += 1;
            if !(vp8.frame_start && vp8.keyframe) {
                self.switches_off_keyframe += 1;
            }
        }
        self.layer = Some(layer);
        if self.last_seq.is_some_and(|l| l.wrapping_add(1) != seq) {
            self.seq_gaps += 1;
        }
        self.last_seq = Some(seq);
        if self
            .last_timestamp
            .is_some_and(|l| (timestamp.wrapping_sub(l) as i32) < 0)
        {
            self.timestamp_regressions += 1;
        }
        self.last_timestamp = Some(timestamp);
        if vp8.frame_start {
            if self
                .last_picture_id
                .is_some_and(|l| (l + 1) & 0x7fff != vp8.picture_id)
            {
                self.picture_id_gaps += 1;
            }
            self.last_picture_id = Some(vp8.picture_id);
        }
    }
}

impl TrackStats {
    /// Packets the publisher sent between the first and last one received.
    pub fn expected(&self) -> u64 {
        self.first_seq
            .map_or(0, |f| self.last_seq.saturating_sub(f) + 1)
            .saturating_sub(self.silence_skipped)
    }

    /// Fraction lost among those, 0..1.
    pub fn loss(&self) -> f64 {
        let expected = self.expected();
        if expected == 0 {
            return 0.0;
        }
        1.0 - (self.packets.min(expected) as f64 / expected as f64)
    }

    /// `max_gap`, or the silence since the latest packet if that is longer (a track that
    /// stopped has an open gap).
    pub fn gap_until(&self, now: Instant) -> Duration {
        let open = self
            .last_packet_at
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        self.max_gap.max(open)
    }

    /// Forgets the counts (to measure a window); keeps what identifies the track, its
    /// connection and the arrival of its latest packet.
    pub fn reset(&mut self) {
        *self = Self {
            publisher_identity: std::mem::take(&mut self.publisher_identity),
            stream_id: std::mem::take(&mut self.stream_id),
            video: self.video,
            subscribed_at: self.subscribed_at,
            first_keyframe_at: self.first_keyframe_at,
            connection: self.connection,
            connection_since: self.connection_since,
            last_packet_at: self.last_packet_at,
            first_packet_at: self.first_packet_at,
            last_rtp_seq: self.last_rtp_seq,
            layers: LayerStats {
                layer: self.layers.layer,
                last_seq: self.layers.last_seq,
                last_timestamp: self.layers.last_timestamp,
                last_picture_id: self.layers.last_picture_id,
                ..Default::default()
            },
            ..Default::default()
        };
    }
}

/// Received-track stats shared by the receiving tasks and the participant.
pub(super) struct Received {
    pub(super) tracks: Mutex<HashMap<String, TrackStats>>,
    /// While false, received tracks are not polled at all: the client stalls as a frozen
    /// browser tab would, and its WebRTC stack backs up.
    pub(super) reading: watch::Sender<bool>,
    /// The id the subscriber connection negotiated for the audio level extension (0: none).
    pub(super) audio_level_id: AtomicU8,
}

impl Received {
    pub(super) fn new() -> Self {
        Self {
            tracks: Mutex::new(HashMap::new()),
            reading: watch::channel(true).0,
            audio_level_id: AtomicU8::new(0),
        }
    }

    /// A copy of every track's stats.
    pub(super) fn snapshot(&self) -> HashMap<String, TrackStats> {
        self.lock().clone()
    }

    /// Forgets the counts of every track (see [`TrackStats::reset`]).
    pub(super) fn reset(&self) {
        for s in self.lock().values_mut() {
            s.reset();
        }
    }

    /// When the first packet of any track arrived.
    pub(super) fn first_packet_at(&self) -> Option<Instant> {
        self.lock().values().filter_map(|s| s.first_packet_at).min()
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TrackStats>> {
        self.tracks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reads every remote track handed over (with the generation of its subscriber connection).
pub(super) async fn receive_tracks(
    mut tracks: mpsc::Receiver<(u64, Arc<dyn TrackRemote>)>,
    received: Arc<Received>,
) {
    while let Some((generation, track)) = tracks.recv().await {
        let received = received.clone();
        tokio::spawn(async move {
            let id = track.track_id().await;
            receive_track(generation, id, track, received).await
        });
    }
}

/// Reads one track into `received` under `id`.
pub(super) async fn receive_track(
    generation: u64,
    id: String,
    track: Arc<dyn TrackRemote>,
    received: Arc<Received>,
) {
    let stream_id = track.stream_id().await;
    let video = track.kind().await == RtpCodecKind::Video;
    let seen_at = Instant::now();
    {
        let mut r = received.lock();
        let s = r.entry(id.clone()).or_default();
        if s.connection.is_none() {
            s.stream_id.clone_from(&stream_id);
            s.video = video;
            s.subscribed_at.get_or_insert(seen_at);
        }
    }
    let mut reading = received.reading.subscribe();
    loop {
        if reading.wait_for(|r| *r).await.is_err() {
            break;
        }
        let Some(event) = track.poll().await else {
            break;
        };
        let TrackRemoteEvent::OnRtpPacket(p) = event else {
            continue;
        };
        let now = Instant::now();
        let level_id = received.audio_level_id.load(Ordering::Relaxed);
        let level = (level_id != 0)
            .then(|| p.header.get_extension(level_id))
            .flatten()
            .and_then(|e| e.first().map(|b| b & 0x7f));
        let mut r = received.lock();
        let s = r.entry(id.clone()).or_default();
        match s.connection {
            Some(c) if c > generation => {
                s.stale_packets += 1;
                continue;
            }
            Some(c) if c == generation => {}
            previous => {
                // This connection takes the track over.
                if previous.is_some() {
                    s.subscribed_at = Some(seen_at);
                    s.first_keyframe_at = None;
                }
                s.connection = Some(generation);
                s.connection_since = Some(now);
                s.stream_id.clone_from(&stream_id);
                s.video = video;
            }
        }
        if let Some(last) = s.last_packet_at {
            let gap = now.saturating_duration_since(last);
            if gap > s.max_gap {
                s.max_gap = gap;
                s.max_gap_end = Some(now);
            }
        }
        s.last_packet_at = Some(now);
        s.first_packet_at.get_or_insert(now);
        if level.is_some() {
            s.audio_level = level;
        }
        let seq = p.header.sequence_number;
        if let Some(last) = s.last_rtp_seq {
            let ahead = seq.wrapping_sub(last) as i16;
            if ahead > 1 {
                s.rtp_seq_gaps += 1;
            }
            if ahead > 0 {
                s.last_rtp_seq = Some(seq);
            }
        } else {
            s.last_rtp_seq = Some(seq);
        }
        s.packets += 1;
        s.bytes += p.payload.len() as u64;
        let decoded = decode_payload(&p.payload);
        if let (Some(pl), Some((vp8, _))) = (&decoded, unwrap_vp8(&p.payload)) {
            s.layers
                .observe(p.header.sequence_number, p.header.timestamp, &vp8, pl.layer);
        }
        match decoded {
            Some(pl) => {
                s.publisher_identity = pl.identity;
                if (pl.silent || s.last_silent) && s.first_seq.is_some() && pl.seq > s.last_seq {
                    s.silence_skipped += pl.seq - s.last_seq - 1;
                }
                s.last_silent = pl.silent;
                s.first_seq = Some(s.first_seq.map_or(pl.seq, |f| f.min(pl.seq)));
                s.last_seq = s.last_seq.max(pl.seq);
                if s.latencies_us.len() < 100_000 {
                    s.latencies_us.push(now_us().saturating_sub(pl.sent_us));
                }
                if pl.keyframe && s.first_keyframe_at.is_none() {
                    s.first_keyframe_at = Some(now);
                }
            }
            None => s.foreign_payloads += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_stats_catch_switches_off_keyframes_and_numbering_jumps() {
        use crate::peer::payload::Vp8Fields;
        let f = |pid, start, key| Vp8Fields {
            picture_id: pid,
            tl0_pic_idx: 0,
            frame_start: start,
            keyframe: key,
        };
        let mut s = LayerStats::default();
        s.observe(1, 100, &f(5, true, true), 0);
        s.observe(2, 100, &f(5, false, false), 0);
        s.observe(3, 200, &f(6, true, true), 2); // a clean switch
        s.observe(4, 300, &f(7, true, false), 2);
        assert_eq!(
            (
                s.switches,
                s.switches_off_keyframe,
                s.seq_gaps,
                s.picture_id_gaps
            ),
            (1, 0, 0, 0)
        );
        s.observe(6, 250, &f(9, true, false), 1); // a bad one: every rule broken
        assert_eq!(
            (
                s.switches,
                s.switches_off_keyframe,
                s.seq_gaps,
                s.timestamp_regressions,
                s.picture_id_gaps
            ),
            (2, 1, 1, 1, 1)
        );
    }

    #[test]
    fn loss_counts_gaps() {
        let s = TrackStats {
            first_seq: Some(10),
            last_seq: 109,
            packets: 99,
            ..Default::default()
        };
        assert_eq!(s.expected(), 100);
        assert!((s.loss() - 0.01).abs() < 1e-9);
    }

    #[test]
    fn an_open_gap_counts_and_reset_keeps_the_latest_arrival() {
        let t0 = Instant::now();
        let mut s = TrackStats {
            packets: 5,
            max_gap: Duration::from_millis(40),
            last_packet_at: Some(t0),
            connection: Some(1),
            ..Default::default()
        };
        assert_eq!(
            s.gap_until(t0 + Duration::from_millis(10)),
            Duration::from_millis(40)
        );
        assert_eq!(
            s.gap_until(t0 + Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        s.reset();
        assert_eq!(s.packets, 0);
        assert_eq!(s.max_gap, Duration::ZERO);
        assert_eq!(s.last_packet_at, Some(t0));
        assert_eq!(s.connection, Some(1));
    }
}
