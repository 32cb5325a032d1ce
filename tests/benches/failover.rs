//! Failover benchmark: how long a meeting's media stops when the fleet changes under it.
//! `bash scripts/bench-failover.sh` builds release binaries and runs it;
//! `cargo bench -p veet-tests --bench failover` runs it with whatever `veet` is built
//! (`target/release/veet` if there is one, else the debug build; `VEET_BENCH_VEET` overrides).
//!
//! Starts a cluster (a private redis-server, `veet dev --no-sfu --redis`, two `veet sfu`
//! nodes) and, for each event — SIGTERM to a node hosting rooms (drain), `kill -9` of one, a
//! Redis restart — opens fresh meetings (10 rooms × 3 synthetic participants publishing audio
//! and 300 kbit/s video), lets media flow, causes the event and measures, for every
//! participant of an affected room (every room for Redis):
//! - the **media gap**: the longest time between two packets of any track it receives from
//!   the others, from just before the event until it is back on every track (counting a gap
//!   still open); for a move, the packets must come over the participant's new subscriber
//!   connection; a participant still missing media after `VEET_BENCH_RECOVERY_SECS` (30)
//!   counts as "no recovery";
//! - for a move, the time from the event until media from every other participant arrives
//!   on the new connection.
//!
//! It prints p50 / max over participants and the figures against the targets (drain < 1 s,
//! node death < 5 s, Redis restart: no gap, taken as < 250 ms). Between events, nodes are
//! started so that at least two are live. Nothing is asserted: a miss is printed, never a
//! panic. Knobs: `VEET_BENCH_ROOMS` (10), `VEET_BENCH_PER_ROOM` (3), `VEET_BENCH_VIDEO_BPS`
//! (300000), `VEET_BENCH_EVENTS` (`drain,kill,redis`), `VEET_BENCH_JITTER_MS` (the
//! emulator's invocation jitter; default the cluster's, as the tests run it),
//! `VEET_BENCH_LOGS=1` (print the tail of every process's log after each event).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use veet::peer::{PeerOptions, SyntheticPeer, TrackStats};
use veet_core::routing::Routing;
use veet_tests::cluster::{Cluster, ClusterOptions};

/// A Redis restart should not interrupt media: a gap this long or longer counts as one.
const NO_GAP: Duration = Duration::from_millis(250);
/// Media keeps flowing this long after recovery before the gaps are read (old connections
/// close after the move; a break there shows up).
const OBSERVE_AFTER: Duration = Duration::from_secs(3);
/// How long the Redis restart's effects are watched (nodes re-register, state is rebuilt).
const REDIS_WINDOW: Duration = Duration::from_secs(8);
/// A track is flowing when a packet arrived this recently.
const FLOWING: Duration = Duration::from_millis(1000);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone)]
struct Settings {
    rooms: usize,
    per_room: usize,
    video_bps: u64,
    recovery: Duration,
    logs: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Drain,
    Kill,
    RedisRestart,
}

impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::Drain => "drain",
            Event::Kill => "kill -9",
            Event::RedisRestart => "redis restart",
        }
    }

    fn target(self) -> Duration {
        match self {
            Event::Drain => Duration::from_secs(1),
            Event::Kill => Duration::from_secs(5),
            Event::RedisRestart => NO_GAP,
        }
    }

    fn target_text(self) -> &'static str {
        match self {
            Event::Drain => "< 1 s",
            Event::Kill => "< 5 s",
            Event::RedisRestart => "no gap (< 250 ms)",
        }
    }

    /// Whether participants must move to another node.
    fn moves(self) -> bool {
        self != Event::RedisRestart
    }
}

/// One synthetic participant of a benchmark meeting.
struct Member {
    identity: String,
    peer: SyntheticPeer,
    /// Its moves before the event.
    migrations_before: u64,
}

struct Meeting {
    code: String,
    members: Vec<Member>,
    /// The node hosting it just before the event.
    node: Option<String>,
}

impl Meeting {
    /// The track ids `m` should receive: every other member's audio and video.
    fn expected_tracks(&self, m: &Member) -> Vec<String> {
        self.members
            .iter()
            .filter(|o| o.identity != m.identity)
            .flat_map(|o| {
                [
                    format!("audio-{}", o.identity),
                    format!("video-{}", o.identity),
                ]
            })
            .collect()
    }
}

/// What one participant went through.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    /// Longest gap on any expected track (open gaps included).
    gap: Duration,
    /// Event → media from every other participant on the new connection (moves only).
    switched: Option<Duration>,
    recovered: bool,
}

/// Whether `m` (of `meeting`) receives every expected track again after the event at `t0`;
/// for a move, over a connection newer than before the event.
fn recovered(meeting: &Meeting, m: &Member, event: Event, t0: Instant) -> bool {
    let r = m.peer.received();
    let now = Instant::now();
    let moved = !event.moves() || m.peer.migrations() > m.migrations_before;
    moved
        && meeting.expected_tracks(m).iter().all(|id| {
            r.get(id).is_some_and(|s| {
                let flowing = s
                    .last_packet_at
                    .is_some_and(|t| t > t0 && now.duration_since(t) < FLOWING);
                let on_new = !event.moves()
                    || (s.connection == Some(m.peer.generation())
                        && s.connection_since.is_some_and(|t| t > t0));
                flowing && on_new
            })
        })
}

fn outcome(meeting: &Meeting, m: &Member, event: Event, t0: Instant) -> Outcome {
    let r = m.peer.received();
    let now = Instant::now();
    let tracks: Vec<Option<&TrackStats>> = meeting
        .expected_tracks(m)
        .iter()
        .map(|id| r.get(id))
        .collect();
    let gap = tracks
        .iter()
        .map(|s| s.map_or(now.duration_since(t0), |s| s.gap_until(now)))
        .max()
        .unwrap_or_default();
    let ok = recovered(meeting, m, event, t0);
    let switched = (event.moves() && ok)
        .then(|| {
            tracks
                .iter()
                .filter_map(|s| s.and_then(|s| s.connection_since))
                .map(|t| t.saturating_duration_since(t0))
                .max()
        })
        .flatten();
    Outcome {
        gap,
        switched,
        recovered: ok,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.0} ms", d.as_secs_f64() * 1000.0)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// "p50 x, max y" of `values`.
fn spread(values: &[Duration]) -> String {
    let mut v = values.to_vec();
    v.sort_unstable();
    format!(
        "p50 {}, max {}",
        secs(percentile(&v, 0.5)),
        secs(*v.last().unwrap_or(&Duration::ZERO))
    )
}

/// One summary row.
struct Row {
    event: Event,
    affected: usize,
    recovered: usize,
    gaps: Vec<Duration>,
    switched: Vec<Duration>,
    note: String,
}

/// Joins `settings.rooms` fresh meetings of `settings.per_room` participants.
async fn open_meetings(cluster: &Cluster, tag: &str, settings: &Settings) -> Vec<Meeting> {
    let mut meetings = Vec::new();
    let mut failed = 0;
    for r in 0..settings.rooms {
        let code = format!("fo-{tag}-{r}");
        let mut members = Vec::new();
        for i in 0..settings.per_room {
            let identity = format!("{tag}-r{r}-p{i}");
            let mut options = PeerOptions::new(cluster.ws_url(), cluster.token(&code, &identity));
            options.video_bitrate_bps = settings.video_bps;
            match SyntheticPeer::join(options).await {
                Ok(peer) => members.push(Member {
                    identity,
                    peer,
                    migrations_before: 0,
                }),
                Err(e) => {
                    failed += 1;
                    eprintln!("  {identity} could not join: {e:#}");
                }
            }
        }
        meetings.push(Meeting {
            code,
            members,
            node: None,
        });
    }
    if failed > 0 {
        println!("  {failed} participant(s) could not join");
    }
    meetings
}

/// Waits (up to 30 s) until every member of every meeting receives every expected track;
/// how many members do.
async fn wait_flowing(meetings: &[Meeting]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = Instant::now();
        let flowing = meetings
            .iter()
            .flat_map(|mt| mt.members.iter().map(move |m| (mt, m)))
            .filter(|(mt, m)| {
                let r = m.peer.received();
                mt.expected_tracks(m).iter().all(|id| {
                    r.get(id)
                        .and_then(|s| s.last_packet_at)
                        .is_some_and(|t| now.duration_since(t) < FLOWING)
                })
            })
            .count();
        let total: usize = meetings.iter().map(|m| m.members.len()).sum();
        if flowing == total || Instant::now() > deadline {
            return flowing;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Forgets finished nodes and starts new ones until at least `want` run, then waits (up to
/// 15 s) until the registry lists exactly the running ones.
async fn ensure_nodes(cluster: &mut Cluster, routing: &Routing, want: usize, next_id: &mut usize) {
    let gone = cluster.remove_exited_nodes();
    if !gone.is_empty() {
        println!("  (nodes gone: {})", gone.join(", "));
    }
    while cluster.nodes.len() < want {
        let id = format!("node-{next_id}");
        *next_id += 1;
        cluster.start_node(&id).await;
        println!("  (started {id})");
    }
    let mut running: Vec<String> = cluster.nodes.iter().map(|n| n.id.clone()).collect();
    running.sort();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut live: Vec<String> = routing
            .nodes
            .live_nodes()
            .await
            .map(|v| v.into_iter().map(|n| n.id).collect())
            .unwrap_or_default();
        live.sort();
        if live == running {
            return;
        }
        if Instant::now() > deadline {
            println!("  (registry lists {live:?}, running {running:?}; going on)");
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn print_logs(cluster: &Cluster) {
    let tail = |name: &str, log: String| {
        let lines: Vec<&str> = log.lines().collect();
        println!("  --- {name} log (last 30 lines)");
        for l in &lines[lines.len().saturating_sub(30)..] {
            println!("  | {l}");
        }
    };
    tail("veet dev", cluster.signaling.log());
    for n in &cluster.nodes {
        tail(&n.id, n.process.log());
    }
}

/// Runs one event against fresh meetings; its summary row.
async fn run_event(
    cluster: &mut Cluster,
    routing: &Routing,
    settings: &Settings,
    event: Event,
    tag: &str,
) -> Row {
    let mut row = Row {
        event,
        affected: 0,
        recovered: 0,
        gaps: Vec::new(),
        switched: Vec::new(),
        note: String::new(),
    };
    let mut meetings = open_meetings(cluster, tag, settings).await;
    let total: usize = meetings.iter().map(|m| m.members.len()).sum();
    let flowing = wait_flowing(&meetings).await;
    println!(
        "  {total} of {} participants joined, {flowing} receive everyone",
        settings.rooms * settings.per_room
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The normal jitter, for scale.
    for m in meetings.iter().flat_map(|m| &m.members) {
        m.peer.reset_received();
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let quiet: Vec<Duration> = meetings
        .iter()
        .flat_map(|m| &m.members)
        .map(|m| m.peer.max_gap())
        .collect();
    println!("  no event, 3 s: max gap {}", spread(&quiet));

    let mut hosted: BTreeMap<String, usize> = BTreeMap::new();
    for m in &mut meetings {
        m.node = room_node(routing, &m.code).await;
        if let Some(n) = &m.node {
            *hosted.entry(n.clone()).or_default() += 1;
        }
    }
    println!(
        "  rooms per node: {}",
        hosted
            .iter()
            .map(|(n, c)| format!("{n} {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let victim = match event {
        Event::RedisRestart => None,
        _ => hosted
            .iter()
            .max_by_key(|(_, c)| **c)
            .and_then(|(n, _)| cluster.node_index(n).map(|i| (n.clone(), i))),
    };
    if event.moves() && victim.is_none() {
        row.note = "no node hosts a room; skipped".into();
        println!("  {}", row.note);
        leave_all(meetings).await;
        return row;
    }
    let affected = |m: &Meeting| match &victim {
        Some((id, _)) => m.node.as_deref() == Some(id.as_str()),
        None => true,
    };
    for m in meetings.iter_mut() {
        for member in &mut m.members {
            member.migrations_before = member.peer.migrations();
            member.peer.reset_received();
        }
    }

    let t0 = Instant::now();
    match (event, &victim) {
        (Event::Drain, Some((id, i))) => {
            let sent = cluster.signal_node(*i, "TERM");
            println!("  SIGTERM to {id} (delivered: {sent})");
        }
        (Event::Kill, Some((id, i))) => {
            cluster.nodes[*i].process.kill();
            println!("  kill -9 of {id}");
        }
        _ => {
            tokio::task::block_in_place(|| cluster.redis.restart());
            println!(
                "  redis-server restarted ({} after the event)",
                secs(t0.elapsed())
            );
        }
    }

    // Wait for recovery (a move) or watch a fixed window (Redis).
    let deadline = t0 + settings.recovery;
    let mut all_back_at = None;
    loop {
        let now = Instant::now();
        let back = meetings
            .iter()
            .filter(|m| affected(m))
            .all(|m| m.members.iter().all(|x| recovered(m, x, event, t0)));
        let done = match event {
            Event::RedisRestart => now.duration_since(t0) >= REDIS_WINDOW,
            _ => {
                if back && all_back_at.is_none() {
                    all_back_at = Some(now);
                }
                all_back_at.is_some_and(|t| now.duration_since(t) >= OBSERVE_AFTER)
            }
        };
        if done || now > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut others = Vec::new();
    let mut no_recovery = Vec::new();
    for m in &meetings {
        for x in &m.members {
            if !affected(m) {
                others.push(x.peer.max_gap());
                continue;
            }
            row.affected += 1;
            let o = outcome(m, x, event, t0);
            if o.recovered {
                row.recovered += 1;
                row.gaps.push(o.gap);
                if let Some(s) = o.switched {
                    row.switched.push(s);
                }
            } else {
                no_recovery.push(format!(
                    "{} (moves {}, {} tracks flowing)",
                    x.identity,
                    x.peer.migrations() - x.migrations_before,
                    {
                        let r = x.peer.received();
                        let now = Instant::now();
                        m.expected_tracks(x)
                            .iter()
                            .filter(|id| {
                                r.get(*id)
                                    .and_then(|s| s.last_packet_at)
                                    .is_some_and(|t| t > t0 && now.duration_since(t) < FLOWING)
                            })
                            .count()
                    }
                ));
            }
        }
    }
    println!(
        "  affected participants: {}, recovered: {}",
        row.affected, row.recovered
    );
    let mut moves: BTreeMap<u64, usize> = BTreeMap::new();
    for m in meetings.iter().filter(|m| affected(m)) {
        for x in &m.members {
            *moves
                .entry(x.peer.migrations() - x.migrations_before)
                .or_default() += 1;
        }
    }
    println!(
        "  moves per affected participant: {}",
        moves
            .iter()
            .map(|(n, c)| format!("{n} × {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  rooms per node afterwards: {}",
        rooms_per_node(routing, &meetings).await
    );
    if !row.gaps.is_empty() {
        println!(
            "  media gap: {} (target {})",
            spread(&row.gaps),
            event.target_text()
        );
    }
    if !row.switched.is_empty() {
        println!(
            "  event → media from everyone on the new node: {}",
            spread(&row.switched)
        );
    }
    if !no_recovery.is_empty() {
        println!(
            "  no recovery within {}: {}",
            secs(settings.recovery),
            no_recovery.join(", ")
        );
    }
    if !others.is_empty() {
        println!(
            "  participants of other rooms ({}): max gap {}",
            others.len(),
            spread(&others)
        );
    }
    if event == Event::RedisRestart {
        row.note = late_joiner(cluster, settings, &meetings, tag).await;
        println!("  {}", row.note);
    }
    if settings.logs {
        print_logs(cluster);
    }
    leave_all(meetings).await;
    if let (Event::Drain, Some((id, _))) = (event, &victim) {
        // A drained node exits by itself; give it its drain time, then make sure.
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Some(i) = cluster.node_index(id) {
            if !cluster.nodes[i].process.is_running() {
                break;
            }
            if Instant::now() > deadline {
                println!("  ({id} still runs 20 s after SIGTERM; killed)");
                cluster.nodes[i].process.kill();
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    row
}

/// The node Redis says hosts room `code`.
async fn room_node(routing: &Routing, code: &str) -> Option<String> {
    routing
        .rooms
        .room(code)
        .await
        .ok()
        .flatten()
        .and_then(|r| r.node)
}

/// "node-1 4, node-2 6" from the registry's room records ("unknown" for a room Redis does
/// not know).
async fn rooms_per_node(routing: &Routing, meetings: &[Meeting]) -> String {
    let mut hosted: BTreeMap<String, usize> = BTreeMap::new();
    for m in meetings {
        let node = room_node(routing, &m.code)
            .await
            .unwrap_or_else(|| "unknown".into());
        *hosted.entry(node).or_default() += 1;
    }
    hosted
        .iter()
        .map(|(n, c)| format!("{n} {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// After a Redis restart: does a newcomer to the first meeting get everyone's media, and
/// does everyone get the newcomer's?
async fn late_joiner(
    cluster: &Cluster,
    settings: &Settings,
    meetings: &[Meeting],
    tag: &str,
) -> String {
    let Some(meeting) = meetings.first() else {
        return "late joiner: no meeting".into();
    };
    let identity = format!("{tag}-late");
    let mut options = PeerOptions::new(cluster.ws_url(), cluster.token(&meeting.code, &identity));
    options.video_bitrate_bps = settings.video_bps;
    // A real client retries a refused connection; so does this one, a few times.
    let mut attempts = 0;
    let peer = loop {
        attempts += 1;
        match SyntheticPeer::join(options.clone()).await {
            Ok(p) => break p,
            Err(e) if attempts >= 5 => {
                return format!(
                    "late joiner after the restart could not join in {attempts} attempts: {e:#}"
                )
            }
            Err(e) => {
                println!("  late joiner, attempt {attempts}: {e:#}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let want = meeting.members.len() * 2;
    let deadline = Instant::now() + Duration::from_secs(15);
    let (mut gets, mut heard_by) = (0, 0);
    while Instant::now() < deadline {
        let now = Instant::now();
        let fresh = |s: &TrackStats| {
            s.last_packet_at
                .is_some_and(|t| now.duration_since(t) < FLOWING)
        };
        gets = peer.received().values().filter(|s| fresh(s)).count();
        heard_by = meeting
            .members
            .iter()
            .filter(|m| {
                let r = m.peer.received();
                [format!("audio-{identity}"), format!("video-{identity}")]
                    .iter()
                    .all(|id| r.get(id).is_some_and(fresh))
            })
            .count();
        if gets >= want && heard_by == meeting.members.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    peer.leave().await;
    format!(
        "late joiner after the restart (joined at attempt {attempts}): receives {gets} of {want} tracks, is received by {heard_by} of {}",
        meeting.members.len()
    )
}

async fn leave_all(meetings: Vec<Meeting>) {
    futures::future::join_all(
        meetings
            .into_iter()
            .flat_map(|m| m.members)
            .map(|m| m.peer.leave()),
    )
    .await;
}

fn veet_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("VEET_BENCH_VEET") {
        return PathBuf::from(p);
    }
    let release = veet_tests::process::target_dir()
        .join("release")
        .join("veet");
    if release.is_file() {
        release
    } else {
        veet_tests::binary_path("veet")
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let settings = Settings {
        rooms: env_or("VEET_BENCH_ROOMS", 10),
        per_room: env_or("VEET_BENCH_PER_ROOM", 3),
        video_bps: env_or("VEET_BENCH_VIDEO_BPS", 300_000),
        recovery: Duration::from_secs(env_or("VEET_BENCH_RECOVERY_SECS", 30)),
        logs: std::env::var("VEET_BENCH_LOGS").is_ok_and(|v| v == "1"),
    };
    let events: Vec<Event> = std::env::var("VEET_BENCH_EVENTS")
        .unwrap_or_else(|_| "drain,kill,redis".into())
        .split(',')
        .filter_map(|e| match e.trim() {
            "drain" => Some(Event::Drain),
            "kill" => Some(Event::Kill),
            "redis" => Some(Event::RedisRestart),
            _ => None,
        })
        .collect();
    let veet = veet_binary();
    println!(
        "failover benchmark: {} rooms × {} participants (audio + {} kbit/s video), ≥ 2 nodes, {}",
        settings.rooms,
        settings.per_room,
        settings.video_bps / 1000,
        veet.display()
    );
    let mut options = ClusterOptions::new(0);
    options.veet = veet;
    options.nodes = 2;
    if let Ok(ms) = std::env::var("VEET_BENCH_JITTER_MS") {
        options.signaling_args = vec!["--apigw-jitter-ms".into(), ms];
    }
    println!("veet dev {}", options.signaling_args.join(" "));
    let mut cluster = Cluster::start_with(options).await;
    let routing = match Routing::redis(&cluster.redis.url()).await {
        Ok(r) => r,
        Err(e) => {
            println!("cannot reach the cluster's Redis: {e:#}");
            return;
        }
    };
    let mut next_id = cluster.nodes.len();
    let mut rows = Vec::new();
    for (i, event) in events.into_iter().enumerate() {
        println!("--- {}", event.name());
        ensure_nodes(&mut cluster, &routing, 2, &mut next_id).await;
        let tag = format!("e{i}");
        rows.push(run_event(&mut cluster, &routing, &settings, event, &tag).await);
    }

    println!();
    println!(
        "{:<14} {:>9} {:>9} {:>9} {:>9} {:>11} {:>11}  {:<18} result",
        "event",
        "affected",
        "recovered",
        "gap p50",
        "gap max",
        "switch p50",
        "switch max",
        "target"
    );
    for r in &rows {
        let mut gaps = r.gaps.clone();
        gaps.sort_unstable();
        let mut sw = r.switched.clone();
        sw.sort_unstable();
        let dash = || "-".to_string();
        let max_gap = gaps.last().copied();
        let result = if r.affected == 0 {
            "n/a"
        } else if r.recovered < r.affected {
            "no recovery"
        } else if max_gap.is_some_and(|g| g < r.event.target()) {
            "met"
        } else {
            "missed"
        };
        println!(
            "{:<14} {:>9} {:>9} {:>9} {:>9} {:>11} {:>11}  {:<18} {result}{}",
            r.event.name(),
            r.affected,
            r.recovered,
            if gaps.is_empty() {
                dash()
            } else {
                secs(percentile(&gaps, 0.5))
            },
            max_gap.map_or_else(dash, secs),
            if sw.is_empty() {
                dash()
            } else {
                secs(percentile(&sw, 0.5))
            },
            sw.last().copied().map_or_else(dash, secs),
            r.event.target_text(),
            if r.recovered < r.affected && r.affected > 0 {
                format!(" ({} of {})", r.affected - r.recovered, r.affected)
            } else {
                String::new()
            },
        );
    }
}
