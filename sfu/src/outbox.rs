//! A room's pushes to its clients, off the room's event loop.
//!
//! Each push is an HTTPS call to API Gateway's management API (tens of ms). Awaited in the
//! room task, a broadcast to a big room stalls signaling and media control for the slowest
//! client's round trip, on every join, track and speaker change. The outbox takes frames at
//! once and delivers them from its own task: per connection in order (one push in flight per
//! connection), across connections concurrently (at most [`MAX_IN_FLIGHT`]). A connection
//! that falls [`MAX_QUEUED`] frames behind loses its oldest, counted and logged — never
//! silently, and never at anyone else's expense.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use veet_core::gateway::{ClientGateway, GatewayError};
use veet_core::protocol::ServerFrame;

use crate::metrics::Metrics;

/// Pushes in flight at once, over all of a room's connections.
pub const MAX_IN_FLIGHT: usize = 32;
/// Frames waiting per connection before the oldest is dropped.
pub const MAX_QUEUED: usize = 256;

enum Job {
    Push(Arc<str>, Arc<str>),
    /// Answered once everything queued before it was delivered.
    Flush(oneshot::Sender<()>),
}

/// Where a room drops frames for its clients; see the module docs.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Job>,
}

impl Outbox {
    /// An outbox delivering through `gateway`; its task ends once every clone is dropped and
    /// what was queued went out.
    pub fn spawn(gateway: Arc<dyn ClientGateway>, metrics: Arc<Metrics>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(deliver(gateway, metrics, rx));
        Self { tx }
    }

    /// Queues `frame` for one connection.
    pub fn send(&self, connection_id: &str, frame: &ServerFrame) {
        let _ = self.tx.send(Job::Push(
            Arc::from(connection_id),
            Arc::from(frame.to_json()),
        ));
    }

    /// Waits until everything queued so far went out, for a frame that must not overtake
    /// them but is sent another way (a `migrate` or `room_closed` from the room's end).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Job::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Queues `frame` for each connection, serialised once.
    pub fn send_all<'a>(
        &self,
        connection_ids: impl IntoIterator<Item = &'a str>,
        frame: &ServerFrame,
    ) {
        let json: Arc<str> = Arc::from(frame.to_json());
        for id in connection_ids {
            let _ = self.tx.send(Job::Push(Arc::from(id), json.clone()));
        }
    }
}

async fn deliver(
    gateway: Arc<dyn ClientGateway>,
    metrics: Arc<Metrics>,
    mut rx: mpsc::UnboundedReceiver<Job>,
) {
    let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
    let mut queues: HashMap<Arc<str>, VecDeque<Arc<str>>> = HashMap::new();
    let mut in_flight: JoinSet<(Arc<str>, Result<(), GatewayError>)> = JoinSet::new();
    let mut busy: HashMap<Arc<str>, ()> = HashMap::new();
    let mut open = true;
    loop {
        // Start what may start: one per idle connection, up to the global bound.
        if in_flight.len() < MAX_IN_FLIGHT {
            for (id, queue) in queues.iter_mut() {
                if in_flight.len() >= MAX_IN_FLIGHT {
                    break;
                }
                if busy.contains_key(id) {
                    continue;
                }
                if let Some(json) = queue.pop_front() {
                    busy.insert(id.clone(), ());
                    let gateway = gateway.clone();
                    let id = id.clone();
                    in_flight.spawn(async move {
                        let result = gateway.post(&id, json.to_string()).await;
                        (id, result)
                    });
                }
            }
            queues.retain(|id, q| !q.is_empty() || busy.contains_key(id));
        }
        let idle = in_flight.is_empty() && queues.values().all(VecDeque::is_empty);
        if idle {
            for f in flushes.drain(..) {
                let _ = f.send(());
            }
        }
        if !open && idle {
            break;
        }
        tokio::select! {
            job = rx.recv(), if open => match job {
                Some(Job::Flush(done)) => flushes.push(done),
                Some(Job::Push(id, json)) => {
                    let queue = queues.entry(id.clone()).or_default();
                    if queue.len() >= MAX_QUEUED {
                        queue.pop_front();
                        Metrics::add(&metrics.pushes_dropped, 1);
                        tracing::warn!(connection_id = %id, "client {MAX_QUEUED} frames behind; dropped its oldest");
                    }
                    queue.push_back(json);
                }
                None => open = false,
            },
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                let Ok((id, result)) = done else { continue };
                busy.remove(&id);
                match result {
                    Ok(()) => {}
                    // Closed: nothing more will reach it; signaling cleans up on $disconnect.
                    Err(GatewayError::Gone(_)) => {
                        queues.remove(&id);
                    }
                    Err(e) => tracing::warn!(connection_id = %id, error = %e, "push failed"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;

    use async_trait::async_trait;

    /// Records pushes in delivery order; each takes `delay`, or `slow_delay` for `slow`.
    #[derive(Default)]
    struct SlowGateway {
        delivered: Mutex<Vec<(String, String)>>,
        in_flight: AtomicUsize,
        peak: AtomicUsize,
        slow: Option<String>,
        gone: Option<String>,
        gone_attempts: AtomicUsize,
        delay: Duration,
        slow_delay: Duration,
    }

    #[async_trait]
    impl ClientGateway for SlowGateway {
        async fn post(&self, connection_id: &str, data: String) -> Result<(), GatewayError> {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            let delay = if self.slow.as_deref() == Some(connection_id) {
                self.slow_delay
            } else {
                self.delay
            };
            tokio::time::sleep(delay).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            if self.gone.as_deref() == Some(connection_id) {
                self.gone_attempts.fetch_add(1, Ordering::SeqCst);
                return Err(GatewayError::Gone(connection_id.to_owned()));
            }
            self.delivered
                .lock()
                .unwrap()
                .push((connection_id.to_owned(), data));
            Ok(())
        }

        async fn disconnect(&self, _: &str) -> Result<(), GatewayError> {
            Ok(())
        }
    }

    fn chat(n: usize) -> ServerFrame {
        ServerFrame::Chat {
            id: format!("CH_{n}"),
            participant_id: "PA_x".into(),
            name: "x".into(),
            text: n.to_string(),
            sent_at: 0,
        }
    }

    fn texts(g: &SlowGateway, id: &str) -> Vec<String> {
        g.delivered
            .lock()
            .unwrap()
            .iter()
            .filter(|(c, _)| c == id)
            .map(|(_, d)| match serde_json::from_str::<ServerFrame>(d) {
                Ok(ServerFrame::Chat { text, .. }) => text,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    async fn drained(g: &SlowGateway, total: usize) {
        for _ in 0..2000 {
            if g.delivered.lock().unwrap().len() >= total {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!(
            "only {} of {total} delivered",
            g.delivered.lock().unwrap().len()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn keeps_each_connection_in_order_and_bounds_concurrency() {
        let g = Arc::new(SlowGateway {
            delay: Duration::from_millis(20),
            ..Default::default()
        });
        let outbox = Outbox::spawn(g.clone(), Arc::new(Metrics::default()));
        let ids: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
        for n in 0..5 {
            outbox.send_all(ids.iter().map(String::as_str), &chat(n));
        }
        drained(&g, 500).await;
        for id in &ids {
            assert_eq!(texts(&g, id), ["0", "1", "2", "3", "4"], "{id}");
        }
        let peak = g.peak.load(Ordering::SeqCst);
        assert!(peak <= MAX_IN_FLIGHT && peak > 1, "peak in flight {peak}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_client_does_not_hold_up_the_others_and_queueing_never_waits() {
        let g = Arc::new(SlowGateway {
            delay: Duration::from_millis(1),
            slow: Some("slow".into()),
            slow_delay: Duration::from_secs(10),
            ..Default::default()
        });
        let outbox = Outbox::spawn(g.clone(), Arc::new(Metrics::default()));
        let started = tokio::time::Instant::now();
        for n in 0..3 {
            outbox.send_all(["slow", "a", "b"], &chat(n));
        }
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "send_all returned at once"
        );
        drained(&g, 6).await;
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(texts(&g, "a"), ["0", "1", "2"]);
        assert!(texts(&g, "slow").is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_backlog_drops_its_oldest_and_counts_it() {
        let g = Arc::new(SlowGateway {
            slow: Some("slow".into()),
            slow_delay: Duration::from_millis(10),
            ..Default::default()
        });
        let metrics = Arc::new(Metrics::default());
        let outbox = Outbox::spawn(g.clone(), metrics.clone());
        for n in 0..MAX_QUEUED + 11 {
            outbox.send("slow", &chat(n));
        }
        drained(&g, MAX_QUEUED + 1).await;
        let got = texts(&g, "slow");
        // The first went out at once; of the rest the newest MAX_QUEUED remain, in order.
        assert_eq!(got[0], "0");
        assert_eq!(got[1], "11");
        assert_eq!(
            got.last().map(String::as_str),
            Some(&*(MAX_QUEUED + 10).to_string())
        );
        assert_eq!(metrics.pushes_dropped.load(Ordering::Relaxed), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn flush_waits_for_what_was_queued() {
        let g = Arc::new(SlowGateway {
            delay: Duration::from_millis(30),
            ..Default::default()
        });
        let outbox = Outbox::spawn(g.clone(), Arc::new(Metrics::default()));
        for n in 0..3 {
            outbox.send_all(["a", "b"], &chat(n));
        }
        outbox.flush().await;
        assert_eq!(g.delivered.lock().unwrap().len(), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn a_gone_connection_is_forgotten() {
        let g = Arc::new(SlowGateway {
            delay: Duration::from_millis(1),
            gone: Some("gone".into()),
            ..Default::default()
        });
        let outbox = Outbox::spawn(g.clone(), Arc::new(Metrics::default()));
        for n in 0..5 {
            outbox.send_all(["gone", "a"], &chat(n));
        }
        drained(&g, 5).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(texts(&g, "a").len(), 5);
        // One attempt failed with Gone; the other four were never tried.
        assert_eq!(g.gone_attempts.load(Ordering::SeqCst), 1);
    }
}
