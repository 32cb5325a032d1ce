//! An SFU node's lifecycle: register and heart-beat its load, take routed messages from its
//! inbox and hand them to its rooms, drain on shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use veet_core::gateway::ClientGateway;
use veet_core::protocol::{CloseReason, NodeMessage};
use veet_core::routing::{NodeInfo, NodeLoad, Routing};
use veet_core::webhook::Webhooks;

use crate::config::SfuConfig;
use crate::media::PeerFactory;
use crate::metrics::Metrics;
use crate::room::{self, NodeContext, RoomEvent};

/// A running SFU node.
pub struct SfuNode {
    config: Arc<SfuConfig>,
    ctx: Arc<NodeContext>,
    rooms: Mutex<HashMap<String, mpsc::Sender<RoomEvent>>>,
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
        });
        let node = Arc::new(Self {
            config,
            ctx,
            rooms: Mutex::new(HashMap::new()),
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

    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<RoomEvent>>> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
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
        let mut last = (std::time::Instant::now(), 0u64);
        loop {
            tick.tick().await;
            let bytes = self.ctx.metrics.bytes_forwarded.load(Ordering::Relaxed);
            let secs = last.0.elapsed().as_secs_f64().max(0.001);
            let bps = (bytes.saturating_sub(last.1) as f64 * 8.0 / secs) as u64;
            self.forwarded_bps.store(bps, Ordering::Relaxed);
            last = (std::time::Instant::now(), bytes);
            if let Err(e) = self.heartbeat().await {
                tracing::warn!(error = %e, "heartbeat failed");
            }
        }
    }

    async fn inbox_loop(self: Arc<Self>, mut inbox: veet_core::routing::Inbox) {
        while let Some(message) = inbox.next().await {
            self.route(message);
        }
        tracing::warn!("inbox ended");
    }

    /// Hands a message to its room's task, starting the room on a join.
    fn route(&self, message: NodeMessage) {
        let code = message.room().to_owned();
        let is_join = matches!(message, NodeMessage::Join { .. });
        let mut rooms = self.rooms();
        rooms.retain(|_, tx| !tx.is_closed());
        let tx = match rooms.get(&code) {
            Some(tx) => tx.clone(),
            None if is_join => {
                let tx = room::spawn(code.clone(), self.ctx.clone());
                rooms.insert(code.clone(), tx.clone());
                tx
            }
            None => {
                tracing::debug!(room = %code, "message for a room not on this node");
                return;
            }
        };
        drop(rooms);
        if let Err(e) = tx.try_send(RoomEvent::Message(message)) {
            tracing::warn!(room = %code, error = %e, "room queue full; message dropped");
        }
    }

    /// Stops taking rooms, tells every client to rejoin elsewhere, and deregisters.
    pub async fn drain(&self, grace: Duration) {
        self.draining.store(true, Ordering::Release);
        if let Err(e) = self.heartbeat().await {
            tracing::warn!(error = %e, "could not announce draining");
        }
        let rooms: Vec<mpsc::Sender<RoomEvent>> = self.rooms().values().cloned().collect();
        tracing::info!(rooms = rooms.len(), "draining: closing rooms");
        for tx in &rooms {
            let _ = tx.send(RoomEvent::Close(CloseReason::NodeDraining)).await;
        }
        let deadline = tokio::time::Instant::now() + grace;
        while rooms.iter().any(|tx| !tx.is_closed()) && tokio::time::Instant::now() < deadline {
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
