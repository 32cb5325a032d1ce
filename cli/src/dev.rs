//! `veet dev`: everything on one machine in one process — the API Gateway emulator calling
//! the signaling handlers, routing in memory (or Redis), and the web app.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use veet_core::gateway::ApiGatewayClient;
use veet_core::gateway::ClientGateway;
use veet_core::routing::{Routing, SelectorConfig};
use veet_core::signature::DEV_API_SECRET;
use veet_core::token::TokenAuthority;
use veet_core::turn::TurnConfig;
use veet_core::webhook::{WebhookConfig, Webhooks};
use veet_lambdas::room_api::{HttpRequest, RoomApi, RoomApiSettings};
use veet_lambdas::{Emulator, Signaling, ROUTES};
use veet_sfu::{SfuConfig, SfuNode};

/// How to run the local server.
#[derive(Debug, Clone)]
pub struct DevConfig {
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    /// Redis URL; `None` keeps routing in memory.
    pub redis: Option<String>,
    pub tokens: TokenAuthority,
    /// The built web app; `None` serves a page that says how to build it.
    pub web_dir: Option<PathBuf>,
    /// Run an SFU node in this process (what `veet dev` does); `None` leaves media to
    /// separately started nodes (or, in tests, to stand-ins).
    pub sfu: Option<SfuConfig>,
    /// HMAC key of the signed room API (`/rooms`).
    pub api_secret: Vec<u8>,
    /// Outgoing webhooks, if any.
    pub webhooks: Option<WebhookConfig>,
    /// Each emulated API Gateway invocation starts after a random delay up to this.
    pub apigw_jitter: std::time::Duration,
    /// How new rooms pick their node.
    pub selector: SelectorConfig,
    /// TURN servers whose credentials joining clients get.
    pub turn: Option<TurnConfig>,
    /// The web client's `iceTransportPolicy` (`relay`: media only through TURN).
    pub ice_transport_policy: IcePolicy,
    /// Guest tokens may start meetings in rooms nobody created (see `Signaling::public_rooms`).
    pub public_rooms: bool,
    /// How long the web client waits in a lobby before giving up (`lobbyTimeoutSecs`).
    pub lobby_timeout_secs: u64,
}

/// Which ICE candidates the web client may use (`RTCIceTransportPolicy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum IcePolicy {
    #[default]
    All,
    Relay,
}

impl IcePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            IcePolicy::All => "all",
            IcePolicy::Relay => "relay",
        }
    }
}

impl DevConfig {
    /// Loopback, the given port, in-memory routing.
    pub fn local(port: u16, tokens: TokenAuthority) -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
            redis: None,
            tokens,
            web_dir: None,
            sfu: None,
            api_secret: DEV_API_SECRET.as_bytes().to_vec(),
            webhooks: None,
            apigw_jitter: std::time::Duration::ZERO,
            selector: SelectorConfig::default(),
            turn: None,
            ice_transport_policy: IcePolicy::All,
            public_rooms: true,
            lobby_timeout_secs: 300,
        }
    }
}

/// A running local server.
pub struct DevServer {
    pub addr: SocketAddr,
    pub emulator: Arc<Emulator>,
    pub routing: Routing,
    /// The in-process SFU node, if any.
    pub sfu: Option<Arc<SfuNode>>,
    /// Outgoing webhooks, if configured.
    pub webhooks: Option<Arc<Webhooks>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    /// Webhook dispatchers; stopped with the server.
    background: Vec<JoinHandle<()>>,
}

impl DevServer {
    /// Binds, wires the components together and starts serving.
    pub async fn start(config: DevConfig) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((config.bind, config.port))
            .await
            .with_context(|| format!("binding {}:{}", config.bind, config.port))?;
        let addr = listener.local_addr()?;
        let routing = match &config.redis {
            Some(url) => Routing::redis(url)
                .await
                .with_context(|| format!("connecting to Redis at {url}"))?,
            None => Routing::memory(),
        };
        // Handlers push frames through the real management API client, pointed at ourselves.
        let management_host = if config.bind.is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            config.bind
        };
        let endpoint = format!("http://{}", SocketAddr::new(management_host, addr.port()));
        let gateway: Arc<dyn ClientGateway> = Arc::new(ApiGatewayClient::local(&endpoint));
        let webhooks = config
            .webhooks
            .clone()
            .map(|c| Webhooks::new(c, routing.events.clone()));
        let mut background = Vec::new();
        if let Some(w) = &webhooks {
            background
                .extend(w.spawn_dispatchers(routing.keys.clone(), &format!("dev-{}", addr.port())));
        }
        let sfu = match config.sfu.clone() {
            Some(mut sfu_config) => {
                sfu_config.http_addr = None;
                Some(
                    SfuNode::start(
                        sfu_config,
                        routing.clone(),
                        gateway.clone(),
                        webhooks.clone(),
                    )
                    .await?,
                )
            }
            None => None,
        };
        let signaling = Arc::new(
            Signaling::new(routing.clone(), config.tokens.clone(), gateway.clone())
                .with_webhooks(webhooks.clone())
                .with_selector(Arc::from(config.selector.build()))
                .with_turn(config.turn.clone())
                .with_public_rooms(config.public_rooms),
        );
        let emulator = Emulator::with_jitter(signaling, &ROUTES, config.apigw_jitter);
        let room_api = Arc::new(
            RoomApi::new(
                routing.clone(),
                config.tokens.clone(),
                RoomApiSettings {
                    api_secret: config.api_secret.clone(),
                    ..RoomApiSettings::default()
                },
            )
            .with_gateway(gateway)
            .with_webhooks(webhooks.clone()),
        );
        let local = Arc::new(LocalApi {
            room_api,
            emulator: emulator.clone(),
        });
        let app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route(
                "/config.json",
                get({
                    let (policy, lobby) = (config.ice_transport_policy, config.lobby_timeout_secs);
                    move |headers: HeaderMap| client_config(headers, policy, lobby)
                }),
            )
            .route("/api/dev/drop-connections", post(drop_connections))
            .route("/api/{*rest}", any(room_api_route))
            .route("/rooms", any(room_api_route))
            .route("/rooms/{*rest}", any(room_api_route))
            .with_state(local)
            .merge(emulator.router())
            .merge(
                sfu.clone()
                    .map(veet_sfu::http::metrics_router)
                    .unwrap_or_default(),
            )
            .fallback_service(web_app(config.web_dir.as_deref()));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "server stopped");
            }
        });
        Ok(Self {
            addr,
            emulator,
            routing,
            sfu,
            webhooks,
            shutdown: Some(tx),
            task,
            background,
        })
    }

    /// The WebSocket URL clients connect to (add `?token=…`).
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Drains the SFU node (clients are told to rejoin), stops accepting and waits for the
    /// server to finish.
    pub async fn shutdown(mut self) {
        if let Some(node) = &self.sfu {
            node.drain(std::time::Duration::from_secs(5)).await;
        }
        for t in self.background.drain(..) {
            t.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server stops.
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// What the local HTTP routes need.
struct LocalApi {
    room_api: Arc<RoomApi>,
    emulator: Arc<Emulator>,
}

/// The runtime configuration the web app loads; in the cloud it is a static file.
async fn client_config(
    headers: HeaderMap,
    policy: IcePolicy,
    lobby_timeout_secs: u64,
) -> Json<serde_json::Value> {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    Json(serde_json::json!({
        "wsUrl": format!("ws://{host}/ws"),
        "apiUrl": format!("http://{host}/api"),
        "iceTransportPolicy": policy.as_str(),
        "lobbyTimeoutSecs": lobby_timeout_secs,
    }))
}

/// The room API handler, as the HTTP API Lambda runs it.
async fn room_api_route(
    State(local): State<Arc<LocalApi>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let out = local
        .room_api
        .handle(HttpRequest {
            method,
            path: uri.path().to_owned(),
            headers,
            body: body.to_vec(),
            source_ip: Some(peer.ip().to_string()),
        })
        .await;
    (
        StatusCode::from_u16(out.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        out.body,
    )
        .into_response()
}

/// Test hook: closes every WebSocket as a network drop would (loopback callers only).
async fn drop_connections(
    State(local): State<Arc<LocalApi>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    if !peer.ip().is_loopback() {
        return StatusCode::FORBIDDEN.into_response();
    }
    let ids = local.emulator.connection_ids();
    for id in &ids {
        local.emulator.close_connection(id);
    }
    Json(serde_json::json!({ "dropped": ids.len() })).into_response()
}

/// The built web app with single-page fallback (`/abc-defg-hij` serves `index.html`).
fn web_app(dir: Option<&Path>) -> Router {
    match dir.filter(|d| d.join("index.html").is_file()) {
        Some(d) => Router::new().fallback_service(
            tower_http::services::ServeDir::new(d)
                .fallback(tower_http::services::ServeFile::new(d.join("index.html"))),
        ),
        None => Router::new().fallback(|| async {
            axum::response::Html(
                "<!doctype html><title>Veet</title><h1>Veet is running</h1>\
                 <p>The web app is not built. Run <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>, \
                 or set <code>VEET_WEB_DIR</code>.</p>",
            )
        }),
    }
}

/// Where the built web app is: `VEET_WEB_DIR`, else `web/dist` under the working directory
/// or next to the repository the binary was built in.
pub fn find_web_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("VEET_WEB_DIR") {
        return Some(PathBuf::from(d));
    }
    let mut candidates = vec![PathBuf::from("web/dist")];
    if let Ok(exe) = std::env::current_exe() {
        // target/{debug,release}/veet → repository root
        if let Some(root) = exe.ancestors().nth(3) {
            candidates.push(root.join("web/dist"));
        }
    }
    candidates
        .into_iter()
        .find(|d| d.join("index.html").is_file())
}
