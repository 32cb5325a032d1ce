//! An SFU node's lifecycle: register and heart-beat its load, take routed messages from its
//! inbox and hand them to its rooms, watch the fleet (move the rooms of nodes that died,
//! restore rooms a Redis restart lost), and on shutdown move its rooms to other nodes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::task::JoinHandle;
use veet_core::gateway::ClientGateway;
use veet_core::protocol::{CloseReason, NodeMessage};
use veet_core::routing::{NodeInfo, NodeLoad, Routing};
use veet_core::webhook::Webhooks;

use crate::config::SfuConfig;
use crate::directory::{RoomDirectory, Routed};
use crate::media::PeerFactory;
use crate::metrics::Metrics;
use crate::migration::FleetWatch;
use crate::room::{self, NodeContext, RoomEvent};

/// A running SFU node.
pub struct SfuNode {
    config: Arc<SfuConfig>,
    ctx: Arc<NodeContext>,
    draining: AtomicBool,
    /// Forwarded bitrate over the last heartbeat period.
    forwarded_bps: AtomicU64,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl SfuNode {
    /// Registers the node, subscribes to its inbox and starts heart-beating.
    ///
    /// With `webhooks`, emits track events and takes part in delivering queued webhooks.
    pub async fn start(
        config: SfuConfig,
        routing: Routing,
        gateway: Arc<dyn ClientGateway>,
        webhooks: Option<Arc<Webhooks>>,
    ) -> anyhow::Result<Arc<Self>> {
        let config = Arc::new(config);
        let metrics = Arc::new(Metrics::default());
        let ctx = Arc::new(NodeContext {
            node_id: config.node_id.clone(),
            routing: routing.clone(),
            gateway,
            webhooks: webhooks.clone(),
            factory: Arc::new(PeerFactory::new(config.clone(), metrics.clone())?),
            metrics,
            selector: Arc::from(config.selector.build()),
            directory: RoomDirectory::default(),
            tick: config.heartbeat_interval,
            fault_uplink_loss: config.fault_uplink_loss.clone(),
        });
        let node = Arc::new(Self {
            config,
            ctx,
            draining: AtomicBool::new(false),
            forwarded_bps: AtomicU64::new(0),
            tasks: Mutex::new(Vec::new()),
        });
        // Subscribe before registering, so no routed message can arrive before we listen.
        let inbox = routing.bus.subscribe(&node.config.node_id).await?;
        node.heartbeat().await?;
        let inbox_task = tokio::spawn(node.clone().inbox_loop(inbox));
        let heartbeat_task = tokio::spawn(node.clone().heartbeat_loop());
        node.tasks().extend([inbox_task, heartbeat_task]);
        if let Some(w) = &webhooks {
            let dispatchers = w.spawn_dispatchers(routing.keys.clone(), &node.config.node_id);
            node.tasks().extend(dispatchers);
        }
        tracing::info!(node = %node.config.node_id, "SFU node registered");
        Ok(node)
    }

    pub fn id(&self) -> &str {
        &self.config.node_id
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.ctx.metrics
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The figures the registry compares nodes by.
    pub fn load(&self) -> NodeLoad {
        let m = &self.ctx.metrics;
        let g = |v: &std::sync::atomic::AtomicI64| v.load(Ordering::Relaxed).max(0) as u32;
        NodeLoad {
            rooms: g(&m.rooms),
            participants: g(&m.participants),
            tracks: g(&m.tracks),
            forwarded_bps: self.forwarded_bps.load(Ordering::Relaxed),
        }
    }

    async fn heartbeat(&self) -> anyhow::Result<()> {
        let info = NodeInfo {
            id: self.config.node_id.clone(),
            http_address: self
                .config
                .http_addr
                .map(|a| a.to_string())
                .unwrap_or_default(),
            region: self.config.region.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            draining: self.is_draining(),
            load: self.load(),
            ice_servers: self.config.ice_servers.clone(),
        };
        self.ctx
            .routing
            .nodes
            .heartbeat(&info, self.config.node_ttl)
            .await?;
        Ok(())
    }

    async fn heartbeat_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.config.heartbeat_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last = (std::time::Instant::now(), 0u64);
        let mut fleet = FleetWatch::default();
        let mut generation: Option<String> = None;
        loop {
            tick.tick().await;
            let bytes = self.ctx.metrics.bytes_forwarded.load(Ordering::Relaxed);
            let secs = last.0.elapsed().as_secs_f64().max(0.001);
            let bps = (bytes.saturating_sub(last.1) as f64 * 8.0 / secs) as u64;
            self.forwarded_bps.store(bps, Ordering::Relaxed);
            last = (std::time::Instant::now(), bytes);
            if let Err(e) = self.heartbeat().await {
                tracing::warn!(error = %e, "heartbeat failed");
                continue;
            }
            self.check_generation(&mut generation).await;
            if !self.is_draining() {
                if let Err(e) = fleet.check(&self.ctx).await {
                    tracing::warn!(error = %e, "fleet check failed");
                }
            }
        }
    }

    /// Restores this node's rooms when the routing store lost its data.
    async fn check_generation(&self, seen: &mut Option<String>) {
        let current = match self.ctx.routing.nodes.generation().await {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the routing generation");
                return;
            }
        };
        if seen.as_ref().is_some_and(|s| *s != current) {
            let rooms = self.ctx.directory.all();
            tracing::warn!(
                rooms = rooms.len(),
                "the routing store lost its data; restoring our rooms"
            );
            for (_, tx) in rooms {
                let _ = tx.send(RoomEvent::Restore).await;
            }
        }
        *seen = Some(current);
    }

    async fn inbox_loop(self: Arc<Self>, mut inbox: veet_core::routing::Inbox) {
        while let Some(message) = inbox.next().await {
            self.route(message);
        }
        tracing::warn!("inbox ended");
    }

    /// Hands a message to its room's task, starting the room on a join.
    fn route(&self, message: NodeMessage) {
        let now = Instant::now();
        let dir = &self.ctx.directory;
        match dir.route(message.clone(), now) {
            Routed::StartRoom => {
                let code = message.room().to_owned();
                let tx = room::spawn(code.clone(), self.ctx.clone());
                dir.start(&code, tx, message, now);
            }
            Routed::Held => {
                tracing::debug!(room = %message.room(), "message for a room not here yet; held");
            }
            Routed::Delivered | Routed::Dropped => {}
        }
    }

    /// Stops taking rooms and moves each to another live node (clients follow without
    /// leaving the meeting); rooms with nowhere to go are closed. Then deregisters.
    pub async fn drain(&self, grace: Duration) {
        self.draining.store(true, Ordering::Release);
        if let Err(e) = self.heartbeat().await {
            tracing::warn!(error = %e, "could not announce draining");
        }
        let rooms = self.ctx.directory.all();
        tracing::info!(rooms = rooms.len(), "draining: moving rooms");
        let deadline = tokio::time::Instant::now() + grace;
        let mut senders = Vec::with_capacity(rooms.len());
        for (_, tx) in rooms {
            let _ = tx
                .send(RoomEvent::Migrate {
                    reason: CloseReason::NodeDraining,
                    until: deadline,
                })
                .await;
            senders.push(tx);
        }
        while senders.iter().any(|tx| !tx.is_closed()) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for t in self.tasks().drain(..) {
            t.abort();
        }
        if let Err(e) = self
            .ctx
            .routing
            .nodes
            .deregister(&self.config.node_id)
            .await
        {
            tracing::warn!(error = %e, "could not deregister");
        }
        tracing::info!(node = %self.config.node_id, "SFU node drained");
    }

    /// `/metrics` text.
    pub fn render_metrics(&self) -> String {
        self.ctx
            .metrics
            .render(&self.config.node_id, self.is_draining())
    }
}

impl Drop for SfuNode {
    fn drop(&mut self) {
        for t in self.tasks().drain(..) {
            t.abort();
        }
    }
}
