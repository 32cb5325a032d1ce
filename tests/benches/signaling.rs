//! Signaling benchmark through the API Gateway emulator and a real Redis:
//! `cargo bench -p veet-tests --bench signaling`.
//!
//! Starts its own redis-server, a `DevServer` with the Redis backend and a fake SFU node whose
//! inbox is drained by a counting subscriber, then measures
//! - join round trip (WebSocket connect → `joined`) p50/p99 with 1, 10 and 50 clients joining
//!   at once (each in its own room), and 50 joining one room;
//! - routed frames per second: 10 joined clients each sending a burst of `signal` candidate
//!   frames, counted as they arrive on the node's inbox.
//!
//! Prints one figure per line. Not a test: nothing is asserted beyond the work completing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;
use veet_core::protocol::NodeMessage;
use veet_tests::{Backend, TestServer, WsClient};

const NODE: &str = "bench-node";

#[derive(Default)]
struct InboxCounts {
    joins: AtomicU64,
    signals: AtomicU64,
    other: AtomicU64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Connects and joins; returns the client and the round trip.
async fn timed_join(s: &TestServer, room: &str, identity: &str) -> (WsClient, Duration) {
    let url = s.url(room, identity);
    let start = Instant::now();
    let mut c = WsClient::connect_ok(&url).await;
    c.send(json!({"action": "join"})).await;
    c.expect("joined").await;
    (c, start.elapsed())
}

/// Closes every client and waits until the server has processed their disconnects.
async fn close_all(s: &TestServer, clients: Vec<WsClient>) {
    futures::future::join_all(clients.into_iter().map(WsClient::close)).await;
    veet_tests::eventually("all sockets to be gone", || async {
        (s.dev.emulator.connection_count() == 0).then_some(())
    })
    .await;
}

/// `rounds` rounds of `concurrency` clients joining at once; `same_room` puts each round's
/// clients in one room, otherwise each gets its own.
async fn join_latency(
    s: &TestServer,
    concurrency: usize,
    rounds: usize,
    same_room: bool,
    tag: &str,
) -> Vec<Duration> {
    let mut samples = Vec::new();
    for round in 0..rounds {
        let joins = (0..concurrency).map(|i| {
            let room = if same_room {
                format!("{tag}-r{round}")
            } else {
                format!("{tag}-r{round}-c{i}")
            };
            let identity = format!("{tag}-{round}-{i}");
            async move { timed_join(s, &room, &identity).await }
        });
        let results = futures::future::join_all(joins).await;
        let mut clients = Vec::new();
        for (c, d) in results {
            samples.push(d);
            clients.push(c);
        }
        close_all(s, clients).await;
    }
    samples.sort();
    samples
}

async fn routed_throughput(s: &TestServer, counts: &InboxCounts, clients: usize, frames: usize) {
    let mut joined = Vec::new();
    for i in 0..clients {
        let (c, _) = timed_join(s, &format!("routed-{i}"), &format!("sender-{i}")).await;
        joined.push(c);
    }
    let frame = json!({
        "action": "signal",
        "role": "publisher",
        "signal": {"kind": "candidate", "candidate": {
            "candidate": "candidate:842163049 1 udp 1677729535 198.51.100.7 51234 typ srflx raddr 0.0.0.0 rport 0",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        }},
    })
    .to_string();
    let before = counts.signals.load(Ordering::SeqCst);
    let target = before + (clients * frames) as u64;
    let start = Instant::now();
    let senders = joined.iter_mut().map(|c| {
        let frame = frame.clone();
        async move {
            c.send_burst(std::iter::repeat_n(frame, frames)).await;
        }
    });
    futures::future::join_all(senders).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while counts.signals.load(Ordering::SeqCst) < target && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = start.elapsed();
    let arrived = counts.signals.load(Ordering::SeqCst) - before;
    println!(
        "routed: {:.0} frames/s ({arrived} of {} signal frames from {clients} clients reached the node inbox in {})",
        arrived as f64 / elapsed.as_secs_f64(),
        clients * frames,
        ms(elapsed),
    );
    close_all(s, joined).await;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let total = Instant::now();
        let s = TestServer::start(Backend::Redis).await;
        s.add_node(NODE).await;

        // The fake node drains its inbox over its own Redis connection, as an SFU would.
        let node_routing =
            veet_core::routing::Routing::redis(&s.redis.as_ref().expect("redis backend").url())
                .await
                .expect("connecting the node to Redis");
        let mut inbox = node_routing.bus.subscribe(NODE).await.expect("subscribe");
        let counts = Arc::new(InboxCounts::default());
        let drained = counts.clone();
        tokio::spawn(async move {
            while let Some(m) = inbox.next().await {
                let counter = match m {
                    NodeMessage::Join { .. } => &drained.joins,
                    NodeMessage::Signal { .. } => &drained.signals,
                    _ => &drained.other,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });

        // Warm up connections, scripts and caches.
        join_latency(&s, 5, 1, false, "warmup").await;

        for (concurrency, rounds) in [(1, 50), (10, 10), (50, 4)] {
            let samples =
                join_latency(&s, concurrency, rounds, false, &format!("c{concurrency}")).await;
            println!(
                "join p50/p99 @{concurrency}: {} / {} ({} joins)",
                ms(percentile(&samples, 0.50)),
                ms(percentile(&samples, 0.99)),
                samples.len()
            );
        }
        let samples = join_latency(&s, 50, 2, true, "oneroom").await;
        println!(
            "join p50/p99 @50 into one room: {} / {} ({} joins)",
            ms(percentile(&samples, 0.50)),
            ms(percentile(&samples, 0.99)),
            samples.len()
        );

        routed_throughput(&s, &counts, 10, 1000).await;
        println!(
            "node inbox totals: {} joins, {} signals, {} other",
            counts.joins.load(Ordering::SeqCst),
            counts.signals.load(Ordering::SeqCst),
            counts.other.load(Ordering::SeqCst),
        );
        println!("total bench time: {:.1} s", total.elapsed().as_secs_f64());
    });
}
