//! The room API: HTTP endpoints for creating rooms and issuing join tokens.
//!
//! Framework-neutral: [`RoomApi::handle`] takes an [`HttpRequest`] and returns an
//! [`HttpResponse`]; the `veet-room-api` Lambda binary adapts API Gateway HTTP API events to
//! it, and `veet dev` adapts axum requests, so both run the same code.
//!
//! Signed endpoints (HMAC over timestamp + body, see `veet_core::signature`), for systems
//! that embed Veet:
//! - `POST /rooms`, `GET /rooms`, `GET /rooms/{code}`, `DELETE /rooms/{code}`,
//!   `POST /rooms/{code}/participants/{id}/remove`, `POST /rooms/{code}/participants/{id}/mute`.
//!
//! Public endpoints (used by the web app; can be switched off):
//! - `POST /api/rooms` → 201 `{code, url}`: a new room with a random code.
//! - `POST /api/rooms/{code}/token` with `{name}` → 200 `{token, identity, room, ws_url}`:
//!   a guest join token.

mod admin;
mod public;
mod validate;

use std::time::Duration;

use std::sync::Arc;

use serde::Serialize;
use veet_core::gateway::ClientGateway;
use veet_core::protocol::ErrorCode;
use veet_core::routing::Routing;
use veet_core::signature::{self, SignatureError};
use veet_core::token::{unix_now, TokenAuthority};
use veet_core::webhook::Webhooks;

/// An HTTP request, as either front end sees it.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: http::Method,
    /// The path without the query string, e.g. `/api/rooms`.
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
    /// The caller's address, for rate limits.
    pub source_ip: Option<String>,
}

/// An HTTP response with a JSON (or empty) body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

impl HttpResponse {
    /// A JSON response.
    pub fn json(status: u16, body: &impl Serialize) -> Self {
        Self {
            status,
            body: serde_json::to_string(body).unwrap_or_else(|_| "{}".into()),
        }
    }

    /// An empty response.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            body: String::new(),
        }
    }

    /// An error response `{code, message}`.
    pub fn error(status: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        Self::json(
            status,
            &serde_json::json!({ "code": code, "message": message.into() }),
        )
    }
}

/// Where clients reach the deployment; derived from the request's `Host` when unset.
#[derive(Debug, Clone, Default)]
pub struct PublicUrls {
    /// Base URL of the web app, e.g. `https://meet.example.com` (`VEET_PUBLIC_URL`).
    pub web: Option<String>,
    /// WebSocket URL of the signaling API (`VEET_WS_URL`).
    pub ws: Option<String>,
}

impl PublicUrls {
    /// From `VEET_PUBLIC_URL` and `VEET_WS_URL`.
    pub fn from_env() -> Self {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Self {
            web: get("VEET_PUBLIC_URL"),
            ws: get("VEET_WS_URL"),
        }
    }

    fn host_base(req: &HttpRequest) -> (String, bool) {
        let host = req
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let https = req
            .headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"));
        (host.to_owned(), https)
    }

    /// The web app's base URL, without a trailing slash.
    pub fn web_for(&self, req: &HttpRequest) -> String {
        match &self.web {
            Some(w) => w.trim_end_matches('/').to_owned(),
            None => {
                let (host, https) = Self::host_base(req);
                format!("{}://{host}", if https { "https" } else { "http" })
            }
        }
    }

    /// The signaling WebSocket URL.
    pub fn ws_for(&self, req: &HttpRequest) -> String {
        match &self.ws {
            Some(w) => w.clone(),
            None => {
                let (host, https) = Self::host_base(req);
                format!("{}://{host}/ws", if https { "wss" } else { "ws" })
            }
        }
    }
}

/// Settings of the room API.
#[derive(Debug, Clone)]
pub struct RoomApiSettings {
    /// Serve `POST /api/rooms` and the guest token endpoint.
    pub public_endpoints: bool,
    /// HMAC key of the signed endpoints (`VEET_API_SECRET`); empty refuses them all.
    pub api_secret: Vec<u8>,
    /// Public requests per source address and minute (rooms and guest tokens each).
    pub public_rate_per_minute: u64,
    /// Lifetime of guest tokens; clients reuse one token for reconnects.
    pub guest_token_ttl: Duration,
    pub urls: PublicUrls,
}

impl Default for RoomApiSettings {
    fn default() -> Self {
        Self {
            public_endpoints: true,
            api_secret: veet_core::signature::DEV_API_SECRET.as_bytes().to_vec(),
            public_rate_per_minute: 30,
            guest_token_ttl: Duration::from_secs(12 * 3600),
            urls: PublicUrls::default(),
        }
    }
}

/// The room API service.
pub struct RoomApi {
    pub routing: Routing,
    pub tokens: TokenAuthority,
    pub settings: RoomApiSettings,
    /// Reaches participants' connections (to close a room or remove someone).
    pub gateway: Option<Arc<dyn ClientGateway>>,
    pub webhooks: Option<Arc<Webhooks>>,
}

impl RoomApi {
    pub fn new(routing: Routing, tokens: TokenAuthority, settings: RoomApiSettings) -> Self {
        Self {
            routing,
            tokens,
            settings,
            gateway: None,
            webhooks: None,
        }
    }

    /// Lets the API close rooms and remove participants through `gateway`.
    pub fn with_gateway(mut self, gateway: Arc<dyn ClientGateway>) -> Self {
        self.gateway = Some(gateway);
        self
    }

    /// Emits `room_finished` when the API ends a meeting.
    pub fn with_webhooks(mut self, webhooks: Option<Arc<Webhooks>>) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// Checks the request's signature and that it was not used before.
    async fn authenticate(&self, req: &HttpRequest) -> Result<(), HttpResponse> {
        let header = req
            .headers
            .get(signature::SIGNATURE_HEADER)
            .and_then(|h| h.to_str().ok());
        let unauthorized =
            |e: SignatureError| HttpResponse::error(401, ErrorCode::Unauthorized, e.to_string());
        if self.settings.api_secret.is_empty() {
            return Err(HttpResponse::error(
                401,
                ErrorCode::Unauthorized,
                "the room API secret is not configured on this deployment",
            ));
        }
        let content = signature::request_content(req.method.as_str(), &req.path, &req.body);
        let verified = signature::verify(&self.settings.api_secret, header, &content, unix_now())
            .map_err(unauthorized)?;
        // Reads change nothing: replaying one is harmless, and refusing it would break a
        // client that polls twice within a second.
        if req.method == http::Method::GET {
            return Ok(());
        }
        // A signature is good for one request: remember it as long as it could be accepted.
        let key = format!("sig:{}", verified.digest);
        let window = std::time::Duration::from_secs(2 * signature::MAX_AGE_SECS);
        match self.routing.keys.claim(&key, "1", window).await {
            Ok(None) => Ok(()),
            Ok(Some(_)) => Err(unauthorized(SignatureError::Replayed)),
            Err(e) => {
                tracing::error!(error = %e, "replay check failed");
                Err(HttpResponse::error(
                    500,
                    ErrorCode::Internal,
                    "could not check the signature",
                ))
            }
        }
    }

    /// Serves one request.
    pub async fn handle(&self, req: HttpRequest) -> HttpResponse {
        let segments: Vec<&str> = req
            .path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        if segments.first() == Some(&"rooms") {
            if let Err(refused) = self.authenticate(&req).await {
                return refused;
            }
        }
        match (req.method.as_str(), segments.as_slice()) {
            ("POST", ["rooms"]) => admin::create_room(self, &req).await,
            ("GET", ["rooms"]) => admin::list_rooms(self, &req).await,
            ("GET", ["rooms", code]) => admin::show_room(self, &req, code).await,
            ("DELETE", ["rooms", code]) => admin::delete_room(self, code).await,
            ("POST", ["rooms", code, "participants", id, "remove"]) => {
                admin::remove_participant(self, code, id).await
            }
            ("POST", ["rooms", code, "participants", id, "mute"]) => {
                admin::mute_participant(self, &req, code, id).await
            }
            (_, ["rooms"] | ["rooms", _] | ["rooms", _, "participants", _, "remove" | "mute"]) => {
                HttpResponse::error(405, ErrorCode::InvalidRequest, "method not allowed")
            }
            (_, ["api", ..]) if !self.settings.public_endpoints => HttpResponse::error(
                404,
                ErrorCode::NotFound,
                "public endpoints are switched off on this deployment",
            ),
            ("POST", ["api", "rooms"]) => public::create_room(self, &req).await,
            ("POST", ["api", "rooms", code, "token"]) => {
                public::guest_token(self, &req, code).await
            }
            (_, ["api", "rooms"] | ["api", "rooms", _, "token"]) => {
                HttpResponse::error(405, ErrorCode::InvalidRequest, "method not allowed")
            }
            _ => HttpResponse::error(404, ErrorCode::NotFound, "no such endpoint"),
        }
    }
}
