//! `veet dev`: everything on one machine in one process — the API Gateway emulator calling
//! the signaling handlers, routing in memory (or Redis), and the web app.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use veet_core::gateway::ApiGatewayClient;
use veet_core::routing::Routing;
use veet_core::token::TokenAuthority;
use veet_lambdas::{Emulator, Signaling, ROUTES};

/// How to run the local server.
#[derive(Debug, Clone)]
pub struct DevConfig {
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    /// Redis URL; `None` keeps routing in memory.
    pub redis: Option<String>,
    pub tokens: TokenAuthority,
}

impl DevConfig {
    /// Loopback, the given port, in-memory routing.
    pub fn local(port: u16, tokens: TokenAuthority) -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
            redis: None,
            tokens,
        }
    }
}

/// A running local server.
pub struct DevServer {
    pub addr: SocketAddr,
    pub emulator: Arc<Emulator>,
    pub routing: Routing,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
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
        let gateway = Arc::new(ApiGatewayClient::local(&endpoint));
        let signaling = Arc::new(Signaling::new(
            routing.clone(),
            config.tokens.clone(),
            gateway,
        ));
        let emulator = Emulator::new(signaling, &ROUTES);
        let app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .merge(emulator.router());
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
            shutdown: Some(tx),
            task,
        })
    }

    /// The WebSocket URL clients connect to (add `?token=…`).
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Stops accepting and waits for the server to finish.
    pub async fn shutdown(mut self) {
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
