//! Outgoing webhooks: room and participant events POSTed to configured URLs.
//!
//! Events are appended to one durable queue per URL ([`EventQueue`]: a Redis list in the
//! cloud), so emitting costs one push and a slow or dead receiver never slows a meeting. A
//! dispatcher per URL — one at a time across the fleet, by lease — peeks the oldest event,
//! POSTs it signed like room API requests (`Veet-Signature`, see [`crate::signature`]), and
//! pops it only after a 2xx: delivery is at least once (receivers de-duplicate on
//! `Veet-Event-Id`) and in order. Failures are retried with backoff. A full queue drops the
//! new event, counted in [`Webhooks::dropped`] and logged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::protocol::{ParticipantInfo, TrackInfo};
use crate::routing::{unix_millis, EventQueue, KeyStore};
use crate::signature;

/// Environment variables configuring webhooks.
pub const URLS_ENV: &str = "VEET_WEBHOOK_URLS";
pub const SECRET_ENV: &str = "VEET_WEBHOOK_SECRET";
/// Events queued per URL before new ones are dropped.
pub const DEFAULT_QUEUE_BOUND: usize = 10_000;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    RoomStarted,
    RoomFinished,
    ParticipantJoined,
    ParticipantLeft,
    TrackPublished,
    TrackUnpublished,
    HandRaised,
    HandLowered,
    Reaction,
}

/// One webhook event, the JSON body of the POST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// Unique; receivers de-duplicate on it.
    pub id: String,
    pub event: EventKind,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    pub room: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<ParticipantInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<TrackInfo>,
    /// With `reaction`: which one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
}

impl WebhookEvent {
    /// A new event about `room`.
    pub fn new(event: EventKind, room: &str) -> Self {
        Self {
            id: format!(
                "evt_{:016x}{:016x}",
                rand::random::<u64>(),
                rand::random::<u64>()
            ),
            event,
            created_at: unix_millis(),
            room: room.to_owned(),
            participant: None,
            track: None,
            emoji: None,
        }
    }

    pub fn with_participant(mut self, p: ParticipantInfo) -> Self {
        self.participant = Some(p);
        self
    }

    pub fn with_track(mut self, t: TrackInfo) -> Self {
        self.track = Some(t);
        self
    }

    pub fn with_emoji(mut self, emoji: String) -> Self {
        self.emoji = Some(emoji);
        self
    }
}

/// Where events go and how they are signed.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub urls: Vec<String>,
    pub secret: Vec<u8>,
    pub queue_bound: usize,
    /// Per-attempt timeout: a hanging receiver costs at most this per try.
    pub timeout: Duration,
}

impl WebhookConfig {
    /// Webhooks to `urls` signed with `secret`; `None` when there is no URL.
    pub fn new(urls: &str, secret: Vec<u8>) -> Option<Self> {
        let urls: Vec<String> = urls
            .split(',')
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect();
        if urls.is_empty() {
            return None;
        }
        if secret.is_empty() {
            tracing::warn!("{SECRET_ENV} is not set: webhooks are signed with an empty key");
        }
        Some(Self {
            urls,
            secret,
            queue_bound: DEFAULT_QUEUE_BOUND,
            timeout: Duration::from_secs(5),
        })
    }
}

/// Emits events into the per-URL queues and runs their dispatchers.
pub struct Webhooks {
    config: WebhookConfig,
    queue: Arc<dyn EventQueue>,
    dropped: AtomicU64,
    delivered: AtomicU64,
    wake: Notify,
}

/// The queue of one URL.
pub fn queue_name(url: &str) -> String {
    let digest = Sha256::digest(url.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("webhooks:{hex}")
}

impl Webhooks {
    pub fn new(config: WebhookConfig, queue: Arc<dyn EventQueue>) -> Arc<Self> {
        Arc::new(Self {
            config,
            queue,
            dropped: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            wake: Notify::new(),
        })
    }

    /// Events dropped because a queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events delivered by this process's dispatchers.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Queues an event for every URL. Never fails the caller: the meeting goes on.
    pub async fn emit(&self, event: WebhookEvent) {
        let Ok(body) = serde_json::to_string(&event) else {
            return;
        };
        for url in &self.config.urls {
            match self
                .queue
                .push(&queue_name(url), &body, self.config.queue_bound)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(url, event = ?event.event, id = %event.id, bound = self.config.queue_bound, "webhook queue full; event dropped");
                }
                Err(e) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(url, error = %e, "webhook event not queued");
                }
            }
        }
        self.wake.notify_waiters();
    }

    /// Starts one dispatcher per URL; `holder` names this process in the leases.
    pub fn spawn_dispatchers(
        self: &Arc<Self>,
        leases: Arc<dyn KeyStore>,
        holder: &str,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let client = match reqwest::Client::builder()
            .timeout(self.config.timeout)
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "no HTTP client for webhooks");
                return Vec::new();
            }
        };
        self.config
            .urls
            .iter()
            .map(|url| {
                let this = self.clone();
                let (client, leases, url, holder) = (
                    client.clone(),
                    leases.clone(),
                    url.clone(),
                    holder.to_owned(),
                );
                tokio::spawn(async move { this.dispatch(client, leases, url, holder).await })
            })
            .collect()
    }

    async fn dispatch(
        &self,
        client: reqwest::Client,
        leases: Arc<dyn KeyStore>,
        url: String,
        holder: String,
    ) {
        const LEASE: Duration = Duration::from_secs(15);
        const IDLE: Duration = Duration::from_millis(200);
        let queue = queue_name(&url);
        let lease_key = format!("{queue}:lease");
        let mut backoff = Duration::from_millis(250);
        loop {
            match leases.lease(&lease_key, &holder, LEASE).await {
                Ok(true) => {}
                Ok(false) => {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "webhook lease failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
            let item = match self.queue.peek(&queue).await {
                Ok(Some(item)) => item,
                Ok(None) => {
                    // New events wake us at once; the timeout covers other processes' events.
                    let _ = tokio::time::timeout(IDLE, self.wake.notified()).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "webhook queue unreadable");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            match self.deliver(&client, &url, &item).await {
                Ok(()) => {
                    backoff = Duration::from_millis(250);
                    self.delivered.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = self.queue.pop(&queue).await {
                        tracing::warn!(error = %e, "delivered webhook not removed; it will be sent again");
                    }
                }
                Err(reason) => {
                    tracing::info!(url, %reason, retry_in = ?backoff, "webhook delivery failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    async fn deliver(&self, client: &reqwest::Client, url: &str, body: &str) -> Result<(), String> {
        let id = serde_json::from_str::<WebhookEvent>(body)
            .map(|e| e.id)
            .unwrap_or_default();
        let timestamp = crate::token::unix_now();
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .header(
                signature::SIGNATURE_HEADER,
                signature::sign(&self.config.secret, timestamp, body.as_bytes()),
            )
            .header("Veet-Event-Id", id)
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", response.status()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_with_snake_case_kinds() {
        let e = WebhookEvent::new(EventKind::ParticipantJoined, "abc-defg-hij");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["event"], "participant_joined");
        assert_eq!(json["room"], "abc-defg-hij");
        assert!(json["id"].as_str().unwrap().starts_with("evt_"));
        assert!(json.get("participant").is_none());
        assert_ne!(
            e.id,
            WebhookEvent::new(EventKind::ParticipantJoined, "x").id
        );
    }

    #[test]
    fn each_url_has_its_own_queue() {
        assert_ne!(queue_name("http://a/hook"), queue_name("http://b/hook"));
        assert_eq!(queue_name("http://a/hook"), queue_name("http://a/hook"));
    }
}
