//! The room's active speakers from the audio level each publisher puts in its packets
//! (RFC 6464: 0 = loudest, 127 = silence, in -dBov). A plain state machine: the room feeds
//! each participant's peak loudness per tick and asks what to announce; time is passed in.
//!
//! Hysteresis keeps the announcement steady: someone starts speaking as soon as they are
//! loud, stops only after being quiet for `hold`, and overtakes the one ahead of them only by
//! a clear margin — so two people talking at similar levels do not swap places every tick.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use veet_core::protocol::SpeakerLevel;

/// Thresholds, as loudness (127 − the RFC 6464 level: 0 silence, 127 loudest).
#[derive(Debug, Clone, Copy)]
pub struct SpeakerConfig {
    /// Speaking from this loudness up (−55 dBov).
    pub on: u8,
    /// After `hold`, no longer speaking once the smoothed loudness is below this (−65 dBov).
    pub off: u8,
    pub hold: Duration,
    /// Announced at most.
    pub max: usize,
    /// How much louder someone must be to move ahead of a speaker ranked above them.
    pub margin: f32,
}

impl Default for SpeakerConfig {
    fn default() -> Self {
        Self {
            on: 127 - 55,
            off: 127 - 65,
            hold: Duration::from_millis(1200),
            max: 3,
            margin: 8.0,
        }
    }
}

#[derive(Debug)]
struct Voice {
    smoothed: f32,
    speaking: bool,
    last_loud: Instant,
}

/// Tracks who speaks; see the module docs.
#[derive(Debug, Default)]
pub struct SpeakerDetector {
    config: SpeakerConfig,
    voices: HashMap<String, Voice>,
    /// What was last announced, loudest first.
    announced: Vec<String>,
}

impl SpeakerDetector {
    pub fn new(config: SpeakerConfig) -> Self {
        Self {
            config,
            ..Default::default()
        }
    }

    /// `participant`'s peak loudness (0–127) since the last tick.
    pub fn observe(&mut self, participant: &str, loudness: u8, now: Instant) {
        let c = self.config;
        let v = self.voices.entry(participant.to_owned()).or_insert(Voice {
            smoothed: 0.0,
            speaking: false,
            last_loud: now,
        });
        v.smoothed = 0.5 * v.smoothed + 0.5 * f32::from(loudness.min(127));
        if loudness >= c.on {
            v.speaking = true;
            v.last_loud = now;
        } else if v.speaking
            && now.saturating_duration_since(v.last_loud) >= c.hold
            && v.smoothed < f32::from(c.off)
        {
            v.speaking = false;
        }
    }

    /// Whether `participant` is among the speakers last announced.
    pub fn is_announced(&self, participant: &str) -> bool {
        self.announced.iter().any(|id| id == participant)
    }

    /// Someone left: they speak no more.
    pub fn remove(&mut self, participant: &str) {
        self.voices.remove(participant);
    }

    /// The speakers to announce, loudest first, when that list changed since last time.
    pub fn tick(&mut self) -> Option<Vec<SpeakerLevel>> {
        let speaking = |id: &String| self.voices.get(id).is_some_and(|v| v.speaking);
        let mut order: Vec<String> = self
            .announced
            .iter()
            .filter(|id| speaking(id))
            .cloned()
            .collect();
        let mut newcomers: Vec<&String> = self
            .voices
            .iter()
            .filter(|(id, v)| v.speaking && !order.contains(id))
            .map(|(id, _)| id)
            .collect();
        newcomers.sort_by(|a, b| self.level(b).total_cmp(&self.level(a)).then(a.cmp(b)));
        order.extend(newcomers.into_iter().cloned());
        // Someone moves up only past a speaker clearly quieter than them.
        loop {
            let mut swapped = false;
            for i in 0..order.len().saturating_sub(1) {
                if self.level(&order[i + 1]) > self.level(&order[i]) + self.config.margin {
                    order.swap(i, i + 1);
                    swapped = true;
                }
            }
            if !swapped {
                break;
            }
        }
        order.truncate(self.config.max);
        if order == self.announced {
            return None;
        }
        self.announced = order;
        Some(
            self.announced
                .iter()
                .map(|id| SpeakerLevel {
                    participant_id: id.clone(),
                    level: (self.level(id) * 100.0 / 127.0).round().clamp(0.0, 100.0) as u8,
                })
                .collect(),
        )
    }

    fn level(&self, id: &str) -> f32 {
        self.voices.get(id).map_or(0.0, |v| v.smoothed)
    }
}

/// Loudness (0 silence … 127 loudest) from an RFC 6464 audio level extension payload.
pub fn loudness(extension: &[u8]) -> Option<u8> {
    extension.first().map(|b| 127 - (b & 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(250);

    fn ids(list: &[SpeakerLevel]) -> Vec<&str> {
        list.iter().map(|s| s.participant_id.as_str()).collect()
    }

    /// Runs `ticks` ticks with these loudness values; returns every announcement with its tick.
    fn run(
        d: &mut SpeakerDetector,
        start: Instant,
        ticks: std::ops::Range<u32>,
        level: impl Fn(u32, &str) -> u8,
    ) -> Vec<(u32, Vec<String>)> {
        let mut out = Vec::new();
        for t in ticks {
            let now = start + TICK * t;
            for p in ["ann", "ben", "cat"] {
                d.observe(p, level(t, p), now);
            }
            if let Some(list) = d.tick() {
                out.push((t, ids(&list).into_iter().map(str::to_owned).collect()));
            }
        }
        out
    }

    #[test]
    fn the_loudest_is_announced_within_a_tick_and_silence_after_the_hold() {
        let t0 = Instant::now();
        let mut d = SpeakerDetector::new(SpeakerConfig::default());
        let got = run(&mut d, t0, 0..4, |_, p| if p == "ben" { 110 } else { 0 });
        assert_eq!(got, vec![(0, vec!["ben".to_owned()])]);
        // Quiet from tick 4: still speaking through the hold, then no one.
        let got = run(&mut d, t0, 4..20, |_, _| 0);
        assert_eq!(got.len(), 1);
        let (at, list) = &got[0];
        assert!(list.is_empty());
        assert!(
            TICK * (*at - 3) >= SpeakerConfig::default().hold,
            "dropped after {at}"
        );
    }

    #[test]
    fn two_similar_voices_do_not_flap_and_a_clearly_louder_one_takes_the_lead() {
        let t0 = Instant::now();
        let mut d = SpeakerDetector::new(SpeakerConfig::default());
        // Ann and Ben alternate a few units apart for 5 s: one announcement, no swaps.
        let got = run(&mut d, t0, 0..20, |t, p| match (p, t % 2) {
            ("ann", 0) | ("ben", 1) => 100,
            ("ann", _) | ("ben", _) => 96,
            _ => 0,
        });
        assert_eq!(got.len(), 1, "{got:?}");
        // Cat shouts: she joins at once and leads within a second.
        let got = run(&mut d, t0, 20..24, |_, p| if p == "cat" { 125 } else { 90 });
        assert!(
            got.iter().any(|(t, l)| *t <= 23 && l[0] == "cat"),
            "{got:?}"
        );
    }

    #[test]
    fn at_most_max_are_announced_and_leavers_are_dropped() {
        let t0 = Instant::now();
        let mut d = SpeakerDetector::new(SpeakerConfig {
            max: 2,
            ..Default::default()
        });
        let got = run(&mut d, t0, 0..1, |_, p| match p {
            "ann" => 120,
            "ben" => 100,
            _ => 80,
        });
        assert_eq!(got[0].1, vec!["ann", "ben"]);
        d.remove("ann");
        // Cat, speaking all along, now fits.
        let list = d.tick().expect("changed");
        assert_eq!(ids(&list), vec!["ben", "cat"]);
        assert!(list[0].level > 0 && list[0].level <= 100);
    }

    #[test]
    fn reads_rfc_6464_levels() {
        assert_eq!(loudness(&[0x80]), Some(127));
        assert_eq!(loudness(&[0x7f]), Some(0));
        assert_eq!(loudness(&[30]), Some(97));
        assert_eq!(loudness(&[]), None);
    }
}
