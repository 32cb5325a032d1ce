//! SFU node configuration, from flags or environment variables.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `VEET_SFU_NODE_ID` | random | node id in the registry |
//! | `VEET_SFU_BIND_IP` | `0.0.0.0` | address media sockets bind to (`0.0.0.0`: every interface) |
//! | `VEET_SFU_PUBLIC_IP` | none | public IP announced in ICE candidates (NAT 1:1, as on AWS) |
//! | `VEET_SFU_PUBLIC_IP_FROM_METADATA` | `0` | `1`: ask EC2 instance metadata for the public IP |
//! | `VEET_SFU_UDP_PORT_MIN`/`MAX` | ephemeral | UDP port range for media sockets |
//! | `VEET_SFU_HTTP_ADDR` | `0.0.0.0:9090` | where `/metrics` and `/healthz` listen |
//! | `VEET_SFU_ICE_SERVERS` | none | comma-separated STUN/TURN URLs handed to clients |
//! | `VEET_SFU_HEARTBEAT_MS` / `VEET_SFU_TTL_MS` | 1000 / 3000 | registry heartbeat period and TTL: a node that misses its TTL is dead and its rooms move |
//! | `VEET_REGION` (else `AWS_REGION`) | none | the node's region; rooms moved off a draining or dead node prefer nodes here |
//! | `VEET_NODE_MAX_PARTICIPANTS` | 0 | rooms moved here skip nodes hosting this many participants (0: no limit) |

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use veet_core::protocol::IceServer;
use veet_core::routing::SelectorConfig;

/// How one SFU node runs.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    pub node_id: String,
    pub bind_ip: IpAddr,
    pub public_ips: Vec<String>,
    /// Inclusive UDP port range; `None` uses ephemeral ports.
    pub udp_ports: Option<(u16, u16)>,
    /// `None` serves no HTTP (e.g. inside `veet dev`, which has its own).
    pub http_addr: Option<SocketAddr>,
    pub ice_servers: Vec<IceServer>,
    pub heartbeat_interval: Duration,
    pub node_ttl: Duration,
    pub region: String,
    /// How rooms moved off a draining or dead node pick their new node.
    pub selector: SelectorConfig,
    /// Test fault (`VEET_SFU_FAULT_UPLINK_LOSS=<name>=<percent>`): drop that share of the
    /// packets of participants with that name as they arrive, like a lossy uplink.
    pub fault_uplink_loss: Option<(String, u8)>,
}

impl Default for SfuConfig {
    fn default() -> Self {
        Self {
            node_id: new_node_id(),
            bind_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            public_ips: Vec::new(),
            udp_ports: None,
            http_addr: Some(SocketAddr::from(([0, 0, 0, 0], 9090))),
            ice_servers: Vec::new(),
            heartbeat_interval: Duration::from_secs(1),
            node_ttl: Duration::from_secs(3),
            region: String::new(),
            selector: SelectorConfig::default(),
            // Read here rather than in `with_env` so `veet dev`'s in-process node has it too.
            fault_uplink_loss: std::env::var("VEET_SFU_FAULT_UPLINK_LOSS")
                .ok()
                .and_then(|v| crate::quality::parse_fault(&v)),
        }
    }
}

/// A new random node id like `sfu-3f9a1c2b`.
pub fn new_node_id() -> String {
    format!("sfu-{:08x}", rand::random::<u32>())
}

impl SfuConfig {
    /// A node for one-machine use: media on loopback, no HTTP of its own.
    pub fn loopback() -> Self {
        Self {
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            http_addr: None,
            ..Self::default()
        }
    }

    /// Applies the `VEET_SFU_*` environment variables over `self`.
    pub fn with_env(mut self) -> anyhow::Result<Self> {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        if let Some(v) = get("VEET_SFU_NODE_ID") {
            self.node_id = v;
        }
        if let Some(v) = get("VEET_SFU_BIND_IP") {
            self.bind_ip = v
                .parse()
                .map_err(|e| anyhow::anyhow!("VEET_SFU_BIND_IP: {e}"))?;
        }
        if let Some(v) = get("VEET_SFU_PUBLIC_IP") {
            self.public_ips = v.split(',').map(|s| s.trim().to_owned()).collect();
        }
        if let (Some(lo), Some(hi)) = (get("VEET_SFU_UDP_PORT_MIN"), get("VEET_SFU_UDP_PORT_MAX")) {
            let lo: u16 = lo
                .parse()
                .map_err(|e| anyhow::anyhow!("VEET_SFU_UDP_PORT_MIN: {e}"))?;
            let hi: u16 = hi
                .parse()
                .map_err(|e| anyhow::anyhow!("VEET_SFU_UDP_PORT_MAX: {e}"))?;
            anyhow::ensure!(lo <= hi && lo > 0, "UDP port range {lo}-{hi} is empty");
            self.udp_ports = Some((lo, hi));
        }
        if let Some(v) = get("VEET_SFU_HTTP_ADDR") {
            self.http_addr = Some(
                v.parse()
                    .map_err(|e| anyhow::anyhow!("VEET_SFU_HTTP_ADDR: {e}"))?,
            );
        }
        if let Some(v) = get("VEET_SFU_ICE_SERVERS") {
            self.ice_servers = v
                .split(',')
                .map(|u| IceServer {
                    urls: vec![u.trim().to_owned()],
                    username: None,
                    credential: None,
                })
                .collect();
        }
        if let Some(v) = get("VEET_SFU_HEARTBEAT_MS") {
            self.heartbeat_interval = Duration::from_millis(v.parse()?);
        }
        if let Some(v) = get("VEET_SFU_TTL_MS") {
            self.node_ttl = Duration::from_millis(v.parse()?);
        }
        self.selector = SelectorConfig::from_env();
        self.region = self.selector.region.clone();
        Ok(self)
    }

    /// Asks EC2 instance metadata (IMDSv2) for the public IPv4 when
    /// `VEET_SFU_PUBLIC_IP_FROM_METADATA=1` and no public IP is set.
    pub async fn resolve_public_ip(&mut self) -> anyhow::Result<()> {
        if !self.public_ips.is_empty()
            || std::env::var("VEET_SFU_PUBLIC_IP_FROM_METADATA").as_deref() != Ok("1")
        {
            return Ok(());
        }
        let imds = aws_config::imds::Client::builder().build();
        let ip = imds
            .get("/latest/meta-data/public-ipv4")
            .await
            .map_err(|e| anyhow::anyhow!("reading the public IP from instance metadata: {e}"))?;
        self.public_ips = vec![ip.as_ref().trim().to_owned()];
        Ok(())
    }
}
