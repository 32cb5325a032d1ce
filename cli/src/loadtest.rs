//! `veet loadtest`: synthetic participants against a running deployment, reporting what the
//! SFU forwarded, the loss and the added latency, and the node's CPU and memory when its
//! process id is given.

use std::time::{Duration, Instant};

use anyhow::bail;
use veet_core::protocol::{ClientFrame, Grants, TrackView};
use veet_core::token::TokenAuthority;

use crate::peer::janus::JanusPeer;
use crate::peer::{PeerOptions, SyntheticPeer, TrackStats};

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub ws_url: String,
    pub rooms: usize,
    /// Participants per room that publish audio and video (and subscribe).
    pub publishers: usize,
    /// Participants per room that only subscribe.
    pub subscribers: usize,
    pub duration: Duration,
    /// Warm-up before measuring (connections, keyframes).
    pub warmup: Duration,
    /// The SFU's process, for CPU and memory figures.
    pub node_pid: Option<u32>,
    pub video_bitrate_bps: u64,
    /// Publishers send simulcast (q/h/f) and every participant displays one other publisher
    /// large (pinned) and the next [`SMALL_TILES`] small, the rest not at all, as a speaker
    /// view in a big room does.
    pub simulcast: bool,
    /// Only this many publishers per room talk; the others are muted (their clients send
    /// digital silence, as a browser with a disabled microphone track does). `None`: every
    /// microphone is open.
    pub talkers: Option<usize>,
    /// Drive a Janus VideoRoom at this WebSocket URL instead of Veet (same participants),
    /// sending media from this local address.
    pub janus_url: Option<String>,
    pub janus_bind_ip: std::net::IpAddr,
}

/// A participant of either SFU.
enum Participant {
    // Boxed: a synthetic peer is several times the size of a Janus one.
    Veet(Box<SyntheticPeer>),
    Janus(JanusPeer),
}

impl Participant {
    fn received(&self) -> std::collections::HashMap<String, TrackStats> {
        match self {
            Self::Veet(p) => p.received(),
            Self::Janus(p) => p.received(),
        }
    }

    fn reset_received(&self) {
        match self {
            Self::Veet(p) => p.reset_received(),
            Self::Janus(p) => p.reset_received(),
        }
    }

    fn time_to_first_media(&self) -> Option<Duration> {
        match self {
            Self::Veet(p) => p.time_to_first_media(),
            Self::Janus(p) => p.time_to_first_media(),
        }
    }

    async fn leave(self) {
        match self {
            Self::Veet(p) => p.leave().await,
            Self::Janus(p) => p.leave().await,
        }
    }
}

/// The audio level of a talker (−30 dBov).
const TALKING: u8 = 30;

/// Small tiles each participant shows in a `--simulcast` run.
pub const SMALL_TILES: usize = 9;

/// The figures of one run.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub participants: usize,
    pub forwarded_pps: f64,
    pub forwarded_mbps: f64,
    pub loss_percent: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub node_cpu_percent: Option<f64>,
    pub node_rss_mib: Option<f64>,
    /// Node CPU time per forwarded packet, and memory per subscribed track.
    pub node_us_per_packet: Option<f64>,
    pub node_kib_per_track: Option<f64>,
    /// Participants that received nothing at all.
    pub silent_subscribers: usize,
    /// From WebSocket open to the first remote media packet, for participants who joined a
    /// room that already had a publisher: median and 99th percentile, ms.
    pub join_p50_ms: f64,
    pub join_p99_ms: f64,
    /// Per participant downlink, median and highest.
    pub downlink_p50_mbps: f64,
    pub downlink_max_mbps: f64,
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "participants: {}", self.participants)?;
        writeln!(f, "forwarded: {:.0} packets/s", self.forwarded_pps)?;
        writeln!(f, "forwarded bitrate: {:.1} Mbit/s", self.forwarded_mbps)?;
        writeln!(
            f,
            "downlink per participant p50/max: {:.2} / {:.2} Mbit/s",
            self.downlink_p50_mbps, self.downlink_max_mbps
        )?;
        writeln!(f, "loss: {:.3} %", self.loss_percent)?;
        writeln!(
            f,
            "join to first media p50/p99: {:.0} ms / {:.0} ms",
            self.join_p50_ms, self.join_p99_ms
        )?;
        writeln!(
            f,
            "latency p50/p99: {:.2} ms / {:.2} ms",
            self.latency_p50_ms, self.latency_p99_ms
        )?;
        match self.node_cpu_percent {
            Some(c) => writeln!(f, "node cpu: {c:.0} %")?,
            None => writeln!(f, "node cpu: n/a (pass --node-pid)")?,
        }
        match self.node_rss_mib {
            Some(m) => writeln!(f, "node memory: {m:.0} MiB")?,
            None => writeln!(f, "node memory: n/a (pass --node-pid)")?,
        }
        if let (Some(us), Some(kib)) = (self.node_us_per_packet, self.node_kib_per_track) {
            writeln!(f, "node cpu per forwarded packet: {us:.1} µs")?;
            writeln!(f, "node memory per subscribed track: {kib:.0} KiB")?;
        }
        write!(f, "silent subscribers: {}", self.silent_subscribers)
    }
}

/// CPU ticks (user + system) and resident memory of a process, from /proc.
fn proc_usage(pid: u32) -> Option<(u64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((ticks, rss_kib / 1024.0))
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

/// Runs the load and measures it.
pub async fn run(spec: &LoadSpec, tokens: &TokenAuthority) -> anyhow::Result<LoadReport> {
    let mut peers = Vec::new();
    let run_id = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
    for r in 0..spec.rooms {
        let room = format!("load-{run_id}-{r}");
        for i in 0..spec.publishers + spec.subscribers {
            let publish = i < spec.publishers;
            let identity = format!("{}{i}", if publish { "pub" } else { "sub" });
            let grants = Grants {
                can_publish: publish,
                ..Grants::default()
            };
            let token = tokens.issue(
                &room,
                &identity,
                &identity,
                grants,
                Duration::from_secs(3600),
            )?;
            let mut options = PeerOptions::new(&spec.ws_url, token);
            options.publish_audio = publish;
            options.publish_video = publish;
            options.video_bitrate_bps = spec.video_bitrate_bps;
            options.simulcast = spec.simulcast;
            if let Some(url) = &spec.janus_url {
                // Janus rooms are numbers: one per room of the run.
                let room = 1000 + r as u64;
                peers.push(Participant::Janus(
                    JanusPeer::join(url, spec.janus_bind_ip, room, &identity, &options).await?,
                ));
                continue;
            }
            let peer = SyntheticPeer::join(options).await?;
            match spec.talkers {
                Some(n) if i < n => peer.set_audio_level(TALKING),
                Some(_) => peer.set_audio_level(127),
                None => {}
            }
            peers.push(Participant::Veet(Box::new(peer)));
        }
    }
    if spec.simulcast {
        let per_room = spec.publishers + spec.subscribers;
        for (n, p) in peers.iter().enumerate() {
            let Participant::Veet(p) = p else { continue };
            p.send(&ClientFrame::View {
                tracks: speaker_view(n % per_room, spec.publishers),
            })
            .await?;
        }
    }
    tokio::time::sleep(spec.warmup).await;
    // Everyone but each room's first participant joined a room with a publisher in it.
    let per_room = spec.publishers + spec.subscribers;
    let mut joins: Vec<u64> = peers
        .iter()
        .enumerate()
        .filter(|(n, _)| n % per_room != 0 && spec.publishers > 0)
        .filter_map(|(_, p)| p.time_to_first_media())
        .map(|d| d.as_micros() as u64)
        .collect();
    joins.sort_unstable();
    for p in &peers {
        p.reset_received();
    }
    let before = spec.node_pid.and_then(proc_usage);
    let started = Instant::now();
    tokio::time::sleep(spec.duration).await;
    let elapsed = started.elapsed().as_secs_f64();
    let after = spec.node_pid.and_then(proc_usage);

    let mut report = LoadReport {
        participants: peers.len(),
        ..Default::default()
    };
    let (mut packets, mut bytes, mut expected) = (0u64, 0u64, 0u64);
    let mut latencies = Vec::new();
    let mut downlinks = Vec::new();
    let mut subscribed_tracks = 0usize;
    for p in &peers {
        let r = p.received();
        subscribed_tracks += r.len();
        let got: u64 = r.values().map(|s| s.packets).sum();
        let got_bytes: u64 = r.values().map(|s| s.bytes).sum();
        downlinks.push(got_bytes as f64 * 8.0 / elapsed / 1e6);
        if got == 0 {
            report.silent_subscribers += 1;
        }
        for s in r.values() {
            packets += s.packets;
            bytes += s.bytes;
            expected += s.expected().max(s.packets);
            latencies.extend_from_slice(&s.latencies_us);
        }
    }
    latencies.sort_unstable();
    downlinks.sort_by(f64::total_cmp);
    report.downlink_p50_mbps = downlinks.get(downlinks.len() / 2).copied().unwrap_or(0.0);
    report.downlink_max_mbps = downlinks.last().copied().unwrap_or(0.0);
    report.forwarded_pps = packets as f64 / elapsed;
    report.forwarded_mbps = bytes as f64 * 8.0 / elapsed / 1e6;
    report.loss_percent = if expected == 0 {
        0.0
    } else {
        100.0 * (1.0 - packets as f64 / expected as f64)
    };
    report.join_p50_ms = percentile(&joins, 0.50);
    report.join_p99_ms = percentile(&joins, 0.99);
    report.latency_p50_ms = percentile(&latencies, 0.50);
    report.latency_p99_ms = percentile(&latencies, 0.99);
    if let (Some((t0, _)), Some((t1, rss))) = (before, after) {
        // Linux reports CPU time in clock ticks of 1/100 s.
        report.node_cpu_percent = Some((t1 - t0) as f64 / 100.0 / elapsed * 100.0);
        report.node_rss_mib = Some(rss);
        let cpu_secs = (t1 - t0) as f64 / 100.0;
        if report.forwarded_pps > 0.0 {
            report.node_us_per_packet = Some(cpu_secs * 1e6 / (report.forwarded_pps * elapsed));
        }
        if subscribed_tracks > 0 {
            report.node_kib_per_track = Some(rss * 1024.0 / subscribed_tracks as f64);
        }
    }
    for p in peers {
        p.leave().await;
    }
    if report.silent_subscribers > 0 {
        bail!(
            "{report}\n{} participant(s) received nothing",
            report.silent_subscribers
        );
    }
    Ok(report)
}

/// How participant `i` of a room with `publishers` publishers displays their video: the next
/// publisher pinned large, the [`SMALL_TILES`] after it small, everyone else hidden.
fn speaker_view(i: usize, publishers: usize) -> Vec<TrackView> {
    (1..publishers)
        .map(|k| (i + k) % publishers)
        .filter(|&j| j != i)
        .enumerate()
        .map(|(rank, j)| {
            let (width, height, pinned) = match rank {
                0 => (1280, 720, true),
                r if r <= SMALL_TILES => (320, 180, false),
                _ => (0, 0, false),
            };
            TrackView {
                track_id: format!("video-pub{j}"),
                width,
                height,
                pinned,
            }
        })
        .take(veet_core::protocol::MAX_TRACK_VIEWS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_speaker_view_shows_one_large_nine_small_and_hides_the_rest() {
        let v = speaker_view(3, 25);
        assert_eq!(v.len(), 24);
        assert_eq!(
            (v[0].track_id.as_str(), v[0].pinned, v[0].width),
            ("video-pub4", true, 1280)
        );
        assert_eq!(
            v[1..=SMALL_TILES].iter().filter(|t| t.width == 320).count(),
            SMALL_TILES
        );
        assert!(v[SMALL_TILES + 1..].iter().all(|t| t.width == 0));
        assert!(v.iter().all(|t| t.track_id != "video-pub3"));
    }

    #[test]
    fn percentiles_of_microseconds_in_milliseconds() {
        let v: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(percentile(&v, 0.5), 51.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn reads_this_process_usage() {
        let (_, rss) = proc_usage(std::process::id()).expect("/proc is readable");
        assert!(rss > 1.0);
    }
}
