//! A Veet deployment in processes: a redis-server, the signaling emulator (`veet dev
//! --no-sfu --redis`) and any number of SFU nodes (`veet sfu`), all on loopback.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use veet_core::token::TokenAuthority;

use crate::process::{binary_path, ChildGuard};
use crate::redis_server::{free_port, RedisServer};

/// The token secret the cluster's processes share.
pub const SECRET: &str = "cluster-test-secret";

/// One SFU node process.
pub struct NodeProcess {
    pub id: String,
    pub metrics_url: String,
    pub process: ChildGuard,
}

/// Redis + signaling + SFU nodes.
pub struct Cluster {
    pub redis: RedisServer,
    pub signaling: ChildGuard,
    pub port: u16,
    pub nodes: Vec<NodeProcess>,
    pub tokens: TokenAuthority,
    /// The `veet` binary every process runs.
    pub veet: PathBuf,
    /// Extra environment for every node started.
    pub node_env: Vec<(String, String)>,
}

/// How [`Cluster::start_with`] starts a cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The `veet` binary (default: the workspace's debug build).
    pub veet: PathBuf,
    /// SFU nodes to start (`node-0`, `node-1`, …).
    pub nodes: usize,
    /// Extra environment for every SFU node started (`RUST_LOG`, timings, …); it overrides
    /// the defaults.
    pub node_env: Vec<(String, String)>,
    /// Extra environment for the signaling process.
    pub signaling_env: Vec<(String, String)>,
    /// Extra arguments for `veet dev` (e.g. `--apigw-jitter-ms 50`).
    pub signaling_args: Vec<String>,
}

impl ClusterOptions {
    /// `nodes` nodes of the debug build, default environment.
    pub fn new(nodes: usize) -> Self {
        Self {
            veet: binary_path("veet"),
            nodes,
            node_env: Vec::new(),
            signaling_env: Vec::new(),
            // API Gateway runs a connection's frames concurrently and in no order: so do
            // the tests, with a jitter that shakes out handlers relying on order.
            signaling_args: vec!["--apigw-jitter-ms".into(), "50".into()],
        }
    }
}

async fn wait_http(url: &str, what: &str, process: &mut ChildGuard) {
    for _ in 0..200 {
        if let Ok(host) = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .ok_or(())
        {
            if tokio::net::TcpStream::connect(host).await.is_ok() {
                return;
            }
        }
        process.assert_running();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{what} did not start listening at {url}; log:\n{}",
        process.log()
    );
}

impl Cluster {
    /// Starts Redis and the signaling emulator, and `nodes` SFU nodes.
    pub async fn start(nodes: usize) -> Self {
        Self::start_with(ClusterOptions::new(nodes)).await
    }

    /// Starts Redis, the signaling emulator and SFU nodes as `options` says; every node the
    /// cluster starts later gets `options.node_env` too.
    pub async fn start_with(options: ClusterOptions) -> Self {
        let redis = RedisServer::start();
        let port = free_port();
        let mut cmd = Command::new(&options.veet);
        cmd.args([
            "dev",
            "--no-sfu",
            "--port",
            &port.to_string(),
            "--redis",
            &redis.url(),
        ])
        .args(&options.signaling_args)
        .env("VEET_TOKEN_SECRET", SECRET)
        .env("RUST_LOG", "info")
        .envs(options.signaling_env.iter().map(|(k, v)| (k, v)));
        let mut signaling = ChildGuard::spawn("veet-dev", cmd);
        wait_http(
            &format!("http://127.0.0.1:{port}/healthz"),
            "veet dev",
            &mut signaling,
        )
        .await;
        let mut cluster = Self {
            redis,
            signaling,
            port,
            nodes: Vec::new(),
            tokens: TokenAuthority::new(SECRET),
            veet: options.veet.clone(),
            node_env: options.node_env.clone(),
        };
        for i in 0..options.nodes {
            cluster.start_node(&format!("node-{i}")).await;
        }
        cluster
    }

    /// Starts an SFU node with id `id` (heartbeat 300 ms, TTL 1.5 s) and waits until it is
    /// registered.
    pub async fn start_node(&mut self, id: &str) -> &mut NodeProcess {
        self.start_node_with_env(id, &[]).await
    }

    /// [`start_node`](Self::start_node) with extra environment (after the cluster's
    /// `node_env`; both override the defaults).
    pub async fn start_node_with_env(
        &mut self,
        id: &str,
        env: &[(&str, &str)],
    ) -> &mut NodeProcess {
        let http_port = free_port();
        let mut cmd = Command::new(&self.veet);
        cmd.args([
            "sfu",
            "--redis",
            &self.redis.url(),
            "--apigw-endpoint",
            &format!("http://127.0.0.1:{}", self.port),
            "--http",
            &format!("127.0.0.1:{http_port}"),
            "--bind-ip",
            "127.0.0.1",
            "--drain-secs",
            "2",
        ])
        .env("VEET_SFU_NODE_ID", id)
        .env("VEET_SFU_HEARTBEAT_MS", "300")
        .env("VEET_SFU_TTL_MS", "1500")
        .env("VEET_TOKEN_SECRET", SECRET)
        // VEET_TEST_NODE_LOG (e.g. `info,veet_sfu=debug`) turns up the nodes' logs when
        // looking into a failure.
        .env(
            "RUST_LOG",
            std::env::var("VEET_TEST_NODE_LOG").unwrap_or_else(|_| "info".into()),
        )
        .envs(self.node_env.iter().map(|(k, v)| (k, v)))
        .envs(env.iter().copied());
        let mut process = ChildGuard::spawn(id, cmd);
        let metrics_url = format!("http://127.0.0.1:{http_port}/metrics");
        wait_http(&metrics_url, id, &mut process).await;
        self.nodes.push(NodeProcess {
            id: id.to_owned(),
            metrics_url,
            process,
        });
        self.nodes.last_mut().expect("just pushed")
    }

    /// The signaling WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    /// A join token for `identity` in `room`.
    pub fn token(&self, room: &str, identity: &str) -> String {
        crate::hour_token(&self.tokens, room, identity)
    }

    /// The node's `/metrics` text.
    pub async fn metrics(&self, node: usize) -> String {
        http_get(&self.nodes[node].metrics_url)
            .await
            .unwrap_or_default()
    }
}

/// A minimal HTTP GET over loopback (no client library needed for one request).
pub async fn http_get(url: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut s = tokio::net::TcpStream::connect(host).await.ok()?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}

/// The value of a metric line `name{…} value` in Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

impl Cluster {
    /// Sends `signal` (`TERM`, `KILL`, `STOP`, `CONT`, …) to node `index` with `kill(1)`;
    /// whether it was delivered.
    pub fn signal_node(&self, index: usize, signal: &str) -> bool {
        Command::new("kill")
            .args([
                format!("-{signal}"),
                self.nodes[index].process.id().to_string(),
            ])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The index in [`nodes`](Self::nodes) of the node with id `id`.
    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    /// Forgets the nodes whose process has exited; their ids.
    pub fn remove_exited_nodes(&mut self) -> Vec<String> {
        let mut gone = Vec::new();
        self.nodes.retain_mut(|n| {
            let running = n.process.is_running();
            if !running {
                gone.push(n.id.clone());
            }
            running
        });
        gone
    }
}
