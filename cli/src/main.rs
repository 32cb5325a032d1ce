//! `veet`: run a local meeting server, issue join tokens.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::sync::Arc;

use veet::dev::{DevConfig, DevServer};
use veet_core::gateway::{ApiGatewayClient, ClientGateway};
use veet_core::protocol::Grants;
use veet_core::routing::{Routing, SelectorConfig};
use veet_core::signature::{API_SECRET_ENV, DEV_API_SECRET};
use veet_core::token::{TokenAuthority, DEV_TOKEN_SECRET, TOKEN_SECRET_ENV};
use veet_core::webhook::WebhookConfig;
use veet_lambdas::config::RedisSource;
use veet_sfu::{SfuConfig, SfuNode};

#[derive(Parser)]
#[command(
    name = "veet",
    version,
    about = "Veet video meetings: local server, tokens and tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum RoomAction {
    /// Create a room; prints it with its join URL and any requested tokens.
    Create {
        #[arg(long)]
        code: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        max_participants: Option<u32>,
        /// Seconds an empty room waits for someone to rejoin.
        #[arg(long)]
        empty_timeout: Option<u64>,
        /// Only tokens issued through the API join.
        #[arg(long)]
        invite_only: bool,
        /// Creating twice with one key gives one room.
        #[arg(long)]
        idempotency_key: Option<String>,
        /// Issue a host (room admin) token for this identity; repeatable.
        #[arg(long = "host")]
        hosts: Vec<String>,
        /// Issue a guest token for this identity; repeatable.
        #[arg(long = "guest")]
        guests: Vec<String>,
    },
    /// List rooms.
    List,
    /// Show a room with its participants.
    Show { code: String },
    /// End a room's meeting for everyone and delete it.
    Delete { code: String },
}

#[derive(Subcommand)]
enum Command {
    /// Run everything on this machine: signaling (API Gateway emulator), routing, web app.
    Dev {
        /// Address to listen on; 0.0.0.0 to let other machines on the LAN join.
        #[arg(long, default_value = "127.0.0.1")]
        bind: IpAddr,
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Keep routing state in Redis (e.g. redis://127.0.0.1:6379) instead of in memory.
        #[arg(long, env = "VEET_REDIS_URL")]
        redis: Option<String>,
        /// Run no SFU node in this process (start `veet sfu` nodes against the same Redis).
        #[arg(long)]
        no_sfu: bool,
        /// Start each API Gateway invocation after a random delay of up to this many ms, to
        /// shake out handlers that depend on the order frames arrive in.
        #[arg(long, default_value_t = 0)]
        apigw_jitter_ms: u64,
        /// Region new rooms prefer nodes in (overrides VEET_REGION / AWS_REGION).
        #[arg(long)]
        region: Option<String>,
        /// Start a local coturn (Debian's `coturn` package) on this UDP/TCP port and hand
        /// clients credentials for it. Without it, VEET_TURN_URLS + VEET_TURN_SECRET name a
        /// TURN server to use.
        #[arg(long, num_args = 0..=1, default_missing_value = "3478")]
        turn: Option<u16>,
        /// The web client's ICE transport policy: `relay` sends all media through TURN.
        #[arg(
            long,
            value_enum,
            env = "VEET_ICE_TRANSPORT_POLICY",
            default_value = "all"
        )]
        ice_transport_policy: veet::dev::IcePolicy,
        /// Let guests start meetings with any code, as in the cloud with VEET_PUBLIC_ROOMS=1
        /// (by default guests join only rooms made with "New meeting" or the room API).
        #[arg(long)]
        public_rooms: bool,
        /// How long the web client waits in a meeting's lobby before giving up.
        #[arg(long, env = "VEET_LOBBY_TIMEOUT_SECS", default_value_t = 300)]
        lobby_timeout_secs: u64,
    },
    /// Run an SFU media node that joins the fleet through Redis.
    Sfu {
        /// Redis holding the routing state (node registry, rooms, inboxes).
        #[arg(long, env = "VEET_REDIS_URL")]
        redis: String,
        /// Management endpoint of the signaling API, to push frames to clients:
        /// `https://{api}.execute-api.{region}.amazonaws.com/{stage}`, or a local
        /// `veet dev` (`http://127.0.0.1:8080`).
        #[arg(long, env = "VEET_APIGW_ENDPOINT")]
        apigw_endpoint: String,
        /// Where /metrics and /healthz listen (overrides VEET_SFU_HTTP_ADDR).
        #[arg(long)]
        http: Option<std::net::SocketAddr>,
        /// Address media sockets bind to (overrides VEET_SFU_BIND_IP).
        #[arg(long)]
        bind_ip: Option<IpAddr>,
        /// Seconds to give rooms to move (or close) when draining on SIGTERM.
        #[arg(long, default_value_t = 10)]
        drain_secs: u64,
        /// The node's region (overrides VEET_REGION / AWS_REGION).
        #[arg(long)]
        region: Option<String>,
    },
    /// Load a running deployment with synthetic participants and print what the SFU did.
    Loadtest {
        /// Signaling WebSocket URL, e.g. ws://127.0.0.1:8080/ws
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 1)]
        rooms: usize,
        /// Publishing participants per room (audio 50 packets/s + video ~1.5 Mbit/s).
        #[arg(long, default_value_t = 2)]
        publishers: usize,
        /// Receive-only participants per room.
        #[arg(long, default_value_t = 0)]
        subscribers: usize,
        #[arg(long, default_value = "30s", value_parser = veet::duration::parse)]
        duration: Duration,
        #[arg(long, default_value = "3s", value_parser = veet::duration::parse)]
        warmup: Duration,
        /// Process id of the SFU (or `veet dev`), for its CPU and memory.
        #[arg(long)]
        node_pid: Option<u32>,
        #[arg(long, default_value_t = 1_500_000)]
        video_bitrate: u64,
        /// Publish simulcast (q/h/f) and show a speaker view: one other publisher large, nine
        /// small, the rest hidden.
        #[arg(long)]
        simulcast: bool,
        /// Only the first N publishers of each room talk; the others are muted (they send
        /// digital silence, which the node drops). Default: every microphone open.
        #[arg(long)]
        talkers: Option<usize>,
        /// `veet` (default) or `janus`: which SFU to drive.
        #[arg(long, default_value = "veet")]
        target: String,
        /// Janus's WebSocket URL (for `--target janus`), e.g. ws://127.0.0.1:8188
        #[arg(long)]
        janus_url: Option<String>,
        /// The local address media to Janus goes from (Janus gathers no loopback
        /// candidates: bench-vs-janus.sh runs it in a network namespace).
        #[arg(long, default_value = "127.0.0.1")]
        janus_bind_ip: std::net::IpAddr,
    },
    /// Create, list, show and delete rooms through the signed room API (`VEET_API_SECRET`).
    Room {
        /// The deployment's room API base URL.
        #[arg(
            long,
            global = true,
            default_value = "http://127.0.0.1:8080",
            env = "VEET_API_URL"
        )]
        url: String,
        #[command(subcommand)]
        action: RoomAction,
    },
    /// Print a join token for a room.
    Token {
        #[arg(long)]
        room: String,
        #[arg(long)]
        identity: String,
        /// Display name (defaults to the identity).
        #[arg(long)]
        name: Option<String>,
        /// Lifetime, e.g. 90s, 30m, 1h, 2d.
        #[arg(long, default_value = "1h", value_parser = veet::duration::parse)]
        ttl: Duration,
        /// Grant room_admin.
        #[arg(long)]
        admin: bool,
        /// Join to watch and listen only.
        #[arg(long)]
        no_publish: bool,
    },
}

fn api_secret_or_dev() -> Vec<u8> {
    match std::env::var(API_SECRET_ENV).ok().filter(|s| !s.is_empty()) {
        Some(s) => s.into_bytes(),
        None => {
            eprintln!(
                "warning: {API_SECRET_ENV} is not set; using the development API secret \"{DEV_API_SECRET}\"."
            );
            DEV_API_SECRET.as_bytes().to_vec()
        }
    }
}

fn webhooks_from_env() -> Option<WebhookConfig> {
    let urls = std::env::var(veet_core::webhook::URLS_ENV).unwrap_or_default();
    let secret = std::env::var(veet_core::webhook::SECRET_ENV).unwrap_or_default();
    WebhookConfig::new(&urls, secret.into_bytes())
}

fn tokens_or_dev() -> TokenAuthority {
    let (tokens, dev) = TokenAuthority::from_env_or_dev();
    if dev {
        eprintln!(
            "warning: {TOKEN_SECRET_ENV} is not set; using the development secret \"{DEV_TOKEN_SECRET}\". Set {TOKEN_SECRET_ENV} for anything but local testing."
        );
    }
    tokens
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,veet=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Dev {
            bind,
            port,
            redis,
            no_sfu,
            apigw_jitter_ms,
            region,
            turn,
            ice_transport_policy,
            public_rooms,
            lobby_timeout_secs,
        } => {
            let local_turn = match turn {
                Some(turn_port) => Some(veet::coturn::LocalTurn::start(bind, turn_port)?),
                None => None,
            };
            let turn = match &local_turn {
                Some(t) => Some(t.config.clone()),
                None => veet_lambdas::config::turn().await?,
            };
            if let Some(t) = &turn {
                println!("TURN for clients: {}", t.urls.join(", "));
            }
            let mut selector = SelectorConfig::from_env();
            if let Some(r) = region {
                selector.region = r;
            }
            let config = DevConfig {
                apigw_jitter: Duration::from_millis(apigw_jitter_ms),
                selector,
                bind,
                port,
                redis,
                tokens: tokens_or_dev(),
                api_secret: api_secret_or_dev(),
                webhooks: webhooks_from_env(),
                web_dir: veet::dev::find_web_dir(),
                sfu: (!no_sfu).then(|| SfuConfig {
                    bind_ip: bind,
                    ..SfuConfig::loopback()
                }),
                turn,
                ice_transport_policy,
                public_rooms: public_rooms || veet_lambdas::config::public_rooms(),
                lobby_timeout_secs,
            };
            let server = DevServer::start(config).await?;
            println!("Veet is running at http://{}/", server.addr);
            println!("WebSocket signaling: {}?token=…", server.ws_url());
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {
                    eprintln!("shutting down");
                    server.shutdown().await;
                }
                _ = terminate() => server.shutdown().await,
            }
        }
        Command::Sfu {
            redis,
            apigw_endpoint,
            http,
            bind_ip,
            drain_secs,
            region,
        } => {
            run_sfu(
                redis,
                apigw_endpoint,
                http,
                bind_ip,
                Duration::from_secs(drain_secs),
                region,
            )
            .await?
        }
        Command::Loadtest {
            url,
            rooms,
            publishers,
            subscribers,
            duration,
            warmup,
            node_pid,
            video_bitrate,
            simulcast,
            talkers,
            target,
            janus_url,
            janus_bind_ip,
        } => {
            let janus_url = match target.as_str() {
                "veet" => None,
                "janus" => Some(
                    janus_url.ok_or_else(|| anyhow::anyhow!("--target janus needs --janus-url"))?,
                ),
                other => anyhow::bail!("unknown --target {other}: veet or janus"),
            };
            let spec = veet::loadtest::LoadSpec {
                ws_url: url,
                rooms,
                publishers,
                subscribers,
                duration,
                warmup,
                node_pid,
                video_bitrate_bps: video_bitrate,
                simulcast,
                talkers,
                janus_url,
                janus_bind_ip,
            };
            let report = veet::loadtest::run(&spec, &tokens_or_dev()).await?;
            println!("{report}");
        }
        Command::Room { url, action } => {
            let client = veet::room::RoomClient::new(&url, api_secret_or_dev())?;
            let out = match action {
                RoomAction::Create {
                    code,
                    name,
                    max_participants,
                    empty_timeout,
                    invite_only,
                    idempotency_key,
                    hosts,
                    guests,
                } => {
                    let options = veet::room::CreateOptions {
                        code,
                        name,
                        max_participants,
                        empty_timeout_secs: empty_timeout,
                        invite_only,
                        idempotency_key,
                        hosts,
                        guests,
                    };
                    client.create(&options).await?
                }
                RoomAction::List => client.list().await?,
                RoomAction::Show { code } => client.show(&code).await?,
                RoomAction::Delete { code } => {
                    client.delete(&code).await?;
                    serde_json::json!({ "deleted": code })
                }
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Command::Token {
            room,
            identity,
            name,
            ttl,
            admin,
            no_publish,
        } => {
            let grants = Grants {
                can_publish: !no_publish,
                room_admin: admin,
                ..Grants::default()
            };
            let name = name.unwrap_or_else(|| identity.clone());
            let token = tokens_or_dev()
                .issue(&room, &identity, &name, grants, ttl)
                .context("signing the token")?;
            println!("{token}");
        }
    }
    Ok(())
}

async fn run_sfu(
    redis: String,
    apigw_endpoint: String,
    http: Option<std::net::SocketAddr>,
    bind_ip: Option<IpAddr>,
    drain: Duration,
    region: Option<String>,
) -> anyhow::Result<()> {
    let mut config = SfuConfig::default().with_env()?;
    if let Some(r) = region {
        config.selector.region = r.clone();
        config.region = r;
    }
    if let Some(h) = http {
        config.http_addr = Some(h);
    }
    if let Some(ip) = bind_ip {
        config.bind_ip = ip;
    }
    config.resolve_public_ip().await?;
    let redis = RedisSource::Url(redis).resolve().await?;
    let routing = Routing::redis(&redis)
        .await
        .context("connecting to Redis")?;
    let webhooks = veet_lambdas::config::webhooks(&routing).await?;
    let gateway: Arc<dyn ClientGateway> = if is_loopback_url(&apigw_endpoint) {
        Arc::new(ApiGatewayClient::local(&apigw_endpoint))
    } else {
        Arc::new(ApiGatewayClient::from_env(&apigw_endpoint).await)
    };
    let http_addr = config.http_addr;
    let node = SfuNode::start(config, routing, gateway, webhooks).await?;
    if let Some(addr) = http_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        println!(
            "SFU node {} metrics at http://{}/metrics",
            node.id(),
            listener.local_addr()?
        );
        let app = veet_sfu::http::router(node.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "metrics server stopped");
            }
        });
    }
    println!("SFU node {} is serving", node.id());
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate() => {}
    }
    eprintln!("draining");
    node.drain(drain).await;
    Ok(())
}

fn is_loopback_url(url: &str) -> bool {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let host = rest.split(['/', ':']).next().unwrap_or("");
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

async fn terminate() {
    #[cfg(unix)]
    {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await
}
