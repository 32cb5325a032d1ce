//! The room's media tick: active speakers (from the publishers' audio levels, see
//! [`crate::speaker`]); adaptive stream — which layer of each video track every subscriber
//! gets, from the size it displays the track at (see [`crate::layer_selector`]); and
//! dynacast — which layers each publisher needs to send at all (the others are paused at
//! the client).

use veet_core::protocol::{TrackSource, TrackView};

use super::*;
use crate::allocator::{self, Demand};
use crate::bandwidth::Sample;
use crate::forwarder::{assumed_bitrate, layer_bit};
use crate::layer_selector::{select, Display, MAX_LAYERS};

/// How often speakers are re-computed; layers are re-chosen every [`LAYER_EVERY`] ticks
/// (views, paused layers and keyframe sizes change slowly).
pub(super) const MEDIA_TICK: Duration = Duration::from_millis(250);
const LAYER_EVERY: u64 = 2;
/// A new track's layers open one by one over its first packets: pausing before they all
/// did would hide the ones not seen yet for good.
const DYNACAST_SETTLE: Duration = Duration::from_secs(2);
/// Views kept per subscriber.
const MAX_VIEWS: usize = 256;

fn display_of(view: Option<&TrackView>) -> Display {
    match view {
        None => Display::Unknown,
        Some(v) if v.width == 0 || v.height == 0 => Display::Hidden,
        Some(v) => Display::Shown {
            width: v.width,
            height: v.height,
            pinned: v.pinned,
        },
    }
}

impl Room {
    /// A subscriber said how it displays its tracks: re-choose its layers now.
    pub(super) fn set_view(&mut self, subscriber_id: &str, tracks: Vec<TrackView>) {
        let Some(p) = self.participants.get_mut(subscriber_id) else {
            return;
        };
        for v in tracks {
            // A view may come before its track here (it is kept for when it does); views go
            // with their tracks (`unpublish`), and a client cannot grow them past a bound.
            if p.views.len() >= MAX_VIEWS && !p.views.contains_key(&v.track_id) {
                continue;
            }
            p.views.insert(v.track_id.clone(), v);
        }
        self.allocate_for(subscriber_id);
    }

    /// The layer a new down track of `forwarder` starts at, for `subscriber_id`.
    pub(super) fn initial_layer(
        &self,
        subscriber_id: &str,
        forwarder: &TrackForwarder,
    ) -> Option<u8> {
        if !forwarder.is_video() {
            return Some(0);
        }
        let view = self
            .participants
            .get(subscriber_id)
            .and_then(|p| p.views.get(&forwarder.id()));
        let display = display_of(view);
        // No layer seen yet (the track just opened): the lowest, raised on the next tick.
        match select(&forwarder.layers(), display).0 {
            Some(l) => Some(l),
            None if display == Display::Hidden => None,
            None => Some(0),
        }
    }

    /// Each of the subscriber's video tracks gets the layer its view asks for, within what its
    /// downlink carries (see [`crate::allocator`]).
    fn allocate_for(&mut self, subscriber_id: &str) {
        let Some(p) = self.participants.get(subscriber_id) else {
            return;
        };
        let mut video = Vec::new();
        let mut demands = Vec::new();
        let mut audio_bps = 0;
        for (track_id, (down, _)) in &p.down_tracks {
            let f = &down.forwarder;
            if !f.is_video() {
                audio_bps += f.bitrate();
                continue;
            }
            let view = p.views.get(track_id);
            let shown = display_of(view);
            let (now, _) = select(&f.layers(), shown);
            if now.is_none() && shown != Display::Hidden {
                // Nothing known of its layers yet: leave it where it started.
                continue;
            }
            let priority = if view.is_some_and(|v| v.pinned) {
                allocator::PINNED
            } else if f.track_info().source == TrackSource::ScreenShare {
                allocator::SCREEN
            } else if self.speakers.is_announced(&f.publisher_id) {
                allocator::SPEAKER
            } else {
                allocator::OTHER
            };
            let mut cost = f.layer_costs();
            if let Some(l) = now {
                // The layer the view settled on may not flow yet: assume what it would cost.
                cost[usize::from(l)].get_or_insert(assumed_bitrate(usize::from(l)));
            }
            demands.push(Demand {
                priority,
                area: view.map_or(0, |v| u64::from(v.width) * u64::from(v.height)),
                wanted: now,
                current: down.target(),
                cost,
            });
            video.push((track_id, down, now, shown));
        }
        let limited = p.bandwidth.limited();
        let granted = if limited {
            let budget = p.bandwidth.estimate().saturating_sub(audio_bps);
            allocator::allocate(budget, &demands)
        } else {
            demands.iter().map(|d| d.wanted).collect()
        };
        for ((track_id, down, wanted, shown), layer) in video.into_iter().zip(granted) {
            if layer != down.target() {
                tracing::debug!(subscriber = subscriber_id, track = %track_id, from = ?down.target(), to = ?layer, ?wanted, ?shown, limited, "layer target");
                down.set_target(layer);
            }
        }
    }

    /// Feeds each subscriber's downlink counters to its estimator.
    fn estimate_downlinks(&mut self, now: Instant) {
        let secs = LAYER_EVERY as f64 * MEDIA_TICK.as_secs_f64();
        for p in self.participants.values_mut() {
            let counts = p.downlink.meter.take();
            p.downlink_window.add(counts.expected, counts.lost);
            p.downlink_window.set_rtt(counts.rtt_ms);
            let before = p.bandwidth.estimate();
            let after = p.bandwidth.update(
                now,
                Sample {
                    sent_bps: (counts.bytes_sent as f64 * 8.0 / secs) as u64,
                    lost: counts.lost,
                    expected: counts.expected,
                },
            );
            if after != before {
                tracing::debug!(participant = %p.info.id, before, after, ?counts, "downlink estimate");
            }
        }
    }

    pub(super) async fn on_media_tick(&mut self) {
        self.media_ticks += 1;
        self.update_speakers().await;
        if self.media_ticks.is_multiple_of(LAYER_EVERY) {
            self.allocate_layers().await;
        }
        if self
            .media_ticks
            .is_multiple_of(super::quality::QUALITY_EVERY)
        {
            self.report_quality().await;
        }
    }

    async fn update_speakers(&mut self) {
        let now = Instant::now();
        for f in self.forwarders.values() {
            if let Some(loudness) = f.take_loudness() {
                self.speakers.observe(&f.publisher_id, loudness, now);
            }
        }
        if let Some(speakers) = self.speakers.tick() {
            self.broadcast(&ServerFrame::ActiveSpeakers { speakers })
                .await;
        }
    }

    /// Every subscriber's layers, then what each publisher must send.
    async fn allocate_layers(&mut self) {
        let now = Instant::now();
        for f in self.forwarders.values() {
            f.sample_bitrates(now);
        }
        self.estimate_downlinks(now);
        let ids: Vec<String> = self.participants.keys().cloned().collect();
        for id in &ids {
            self.allocate_for(id);
        }
        self.update_publisher_layers().await;
    }

    /// Dynacast: tells each publisher of a simulcast track which of its layers someone
    /// receives or wants, when that changed.
    async fn update_publisher_layers(&mut self) {
        let mut wanted: HashMap<String, u8> = HashMap::new();
        for p in self.participants.values() {
            for (track_id, (down, _)) in &p.down_tracks {
                if !down.forwarder.is_simulcast() {
                    continue;
                }
                let (_, want) = select(&down.forwarder.layers(), display_of(p.views.get(track_id)));
                *wanted.entry(track_id.clone()).or_default() |=
                    layer_bit(want) | layer_bit(down.current()) | layer_bit(down.target());
            }
        }
        let mut frames = Vec::new();
        for (track_id, f) in &self.forwarders {
            if !f.is_simulcast() || f.age() < DYNACAST_SETTLE {
                continue;
            }
            let mask = wanted.get(track_id).copied().unwrap_or(0);
            let rids: Vec<String> = (0..MAX_LAYERS as u8)
                .filter(|l| mask & (1 << l) != 0)
                .filter_map(|l| f.rid(l))
                .collect();
            if self.announced_layers.get(track_id) == Some(&rids) {
                continue;
            }
            let Some(publisher) = self.participants.get(&f.publisher_id) else {
                continue;
            };
            tracing::debug!(track = %track_id, ?rids, "publisher layers");
            self.announced_layers.insert(track_id.clone(), rids.clone());
            frames.push((
                publisher.connection_id.clone(),
                ServerFrame::PublisherLayers {
                    track_id: track_id.clone(),
                    rids,
                },
            ));
        }
        self.announced_layers
            .retain(|id, _| self.forwarders.contains_key(id));
        for (connection_id, frame) in frames {
            self.outbox.send(&connection_id, &frame);
        }
    }
}
