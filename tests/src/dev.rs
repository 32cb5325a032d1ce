//! `veet dev`'s server ([`veet::dev::DevServer`]) in the test process, with in-memory or
//! Redis routing, plus token and fake-SFU-node helpers.

use std::time::Duration;

use serde_json::Value;
use veet::dev::{DevConfig, DevServer};
use veet_core::protocol::IceServer;
use veet_core::routing::{NodeInfo, NodeLoad, Routing};
use veet_core::token::TokenAuthority;

use crate::redis_server::RedisServer;
use crate::ws::WsClient;

/// The token secret test servers use.
pub const TEST_SECRET: &str = "veet-tests-secret";

/// Heartbeat TTL of nodes registered by [`TestServer::add_node`]: long enough to outlive a
/// test.
pub const LONG_TTL: Duration = Duration::from_secs(3600);

/// Which routing backend a test server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `MemoryRouting` in the server's process.
    Memory,
    /// `RedisRouting` on a `redis-server` of the test's own.
    Redis,
}

/// A fake SFU node: nothing serves it, but the registry lists it, so rooms get assigned to
/// it. Its `ice_servers` carry a recognisable STUN URL.
pub fn fake_node(id: &str) -> NodeInfo {
    NodeInfo {
        id: id.to_owned(),
        http_address: "127.0.0.1:0".into(),
        region: "local".into(),
        version: "test".into(),
        draining: false,
        load: NodeLoad::default(),
        ice_servers: vec![IceServer {
            urls: vec![format!("stun:{id}.test:3478")],
            username: None,
            credential: None,
        }],
    }
}

/// A running `DevServer` (emulator + signaling handlers + room API) and its Redis, if any.
pub struct TestServer {
    pub dev: DevServer,
    /// The test's own Redis server (Redis backend only); killed on drop.
    pub redis: Option<RedisServer>,
    pub tokens: TokenAuthority,
    pub backend: Backend,
    /// Inboxes of the fake nodes, kept open: a node that listens nowhere is not reachable.
    inboxes: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// Every test server runs frames as API Gateway does — concurrently, in no order — with
/// this start jitter on top.
pub const TEST_JITTER: std::time::Duration = std::time::Duration::from_millis(50);

impl Drop for TestServer {
    fn drop(&mut self) {
        for t in self
            .inboxes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            t.abort();
        }
    }
}

impl TestServer {
    /// Starts a server on a free loopback port with [`TEST_SECRET`].
    pub async fn start(backend: Backend) -> Self {
        Self::start_inner(backend, None, true).await
    }

    /// Like [`start`](Self::start), where guest tokens cannot start meetings in rooms
    /// nobody created (the cloud's default).
    pub async fn start_without_public_rooms(backend: Backend) -> Self {
        Self::start_inner(backend, None, false).await
    }

    /// Like [`start`](Self::start), with a real SFU node in the process (media on loopback).
    pub async fn start_with_sfu(backend: Backend) -> Self {
        Self::start_inner(backend, Some(veet_sfu::SfuConfig::loopback()), true).await
    }

    async fn start_inner(
        backend: Backend,
        sfu: Option<veet_sfu::SfuConfig>,
        public_rooms: bool,
    ) -> Self {
        let tokens = TokenAuthority::new(TEST_SECRET);
        let mut config = DevConfig::local(0, tokens.clone());
        config.sfu = sfu;
        config.public_rooms = public_rooms;
        config.apigw_jitter = TEST_JITTER;
        let redis = match backend {
            Backend::Memory => None,
            Backend::Redis => {
                let r = RedisServer::start();
                config.redis = Some(r.url());
                Some(r)
            }
        };
        let dev = DevServer::start(config).await.expect("starting DevServer");
        Self {
            dev,
            redis,
            tokens,
            backend,
            inboxes: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The server's routing backend (shared with its handlers).
    pub fn routing(&self) -> &Routing {
        &self.dev.routing
    }

    /// A one-hour token for `identity` (display name = identity) in `room`.
    pub fn token(&self, room: &str, identity: &str) -> String {
        crate::hour_token(&self.tokens, room, identity)
    }

    /// The WebSocket URL with `token`.
    pub fn url_with_token(&self, token: &str) -> String {
        format!("{}?token={token}", self.dev.ws_url())
    }

    /// The WebSocket URL with a fresh token for `identity` in `room`.
    pub fn url(&self, room: &str, identity: &str) -> String {
        self.url_with_token(&self.token(room, identity))
    }

    /// Connects `identity` to `room` (not joined yet).
    pub async fn connect(&self, room: &str, identity: &str) -> WsClient {
        WsClient::connect_ok(&self.url(room, identity)).await
    }

    /// Connects and joins; returns the client and its `joined` frame.
    pub async fn join(&self, room: &str, identity: &str) -> (WsClient, Value) {
        let c = self.connect(room, identity).await;
        Self::join_on(c).await
    }

    /// Like [`join`](Self::join), as a host (`room_admin`).
    pub async fn join_as_host(&self, room: &str, identity: &str) -> (WsClient, Value) {
        let token = crate::host_token(&self.tokens, room, identity);
        let c = WsClient::connect_ok(&self.url_with_token(&token)).await;
        Self::join_on(c).await
    }

    /// Joins on an open connection; returns it and its `joined` frame.
    pub async fn join_on(mut c: WsClient) -> (WsClient, Value) {
        c.send(serde_json::json!({"action": "join"})).await;
        let joined = c.expect("joined").await;
        (c, joined)
    }

    /// A guest token from the public endpoint, as the web app gets one: the HTTP status and
    /// the token (when it was issued).
    pub async fn guest_token(&self, room: &str, name: &str) -> (u16, Option<String>) {
        let resp = reqwest::Client::new()
            .post(format!("http://{}/api/rooms/{room}/token", self.dev.addr))
            .body(serde_json::json!({ "name": name }).to_string())
            .send()
            .await
            .expect("guest token request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, body["token"].as_str().map(str::to_owned))
    }

    /// Registers [`fake_node`]`(id)` with a long TTL and returns it.
    pub async fn add_node(&self, id: &str) -> NodeInfo {
        let node = fake_node(id);
        self.routing()
            .nodes
            .heartbeat(&node, LONG_TTL)
            .await
            .expect("registering a fake node");
        // Listen on its inbox (dropping what arrives), as a real node does.
        let mut inbox = self
            .routing()
            .bus
            .subscribe(id)
            .await
            .expect("subscribing the fake node's inbox");
        let drain = tokio::spawn(async move {
            use futures::StreamExt;
            while inbox.next().await.is_some() {}
        });
        self.inboxes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(drain);
        node
    }

    /// Ids of the emulator's open connections.
    pub fn connection_ids(&self) -> Vec<String> {
        self.dev.emulator.connection_ids()
    }
}
