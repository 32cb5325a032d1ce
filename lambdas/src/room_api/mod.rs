//! The room API: HTTP endpoints for creating rooms and issuing join tokens.
//!
//! Framework-neutral: [`RoomApi::handle`] takes an [`HttpRequest`] and returns an
//! [`HttpResponse`]; the `veet-room-api` Lambda binary adapts API Gateway HTTP API events to
//! it, and `veet dev` adapts axum requests, so both run the same code.
//!
//! Public endpoints (used by the web app; can be switched off):
//! - `POST /api/rooms` → 201 `{code, url}`: a new room with a random code.
//! - `POST /api/rooms/{code}/token` with `{name}` → 200 `{token, identity, room, ws_url}`:
//!   a guest join token.

mod public;

use std::time::Duration;

use serde::Serialize;
use veet_core::protocol::ErrorCode;
use veet_core::routing::Routing;
use veet_core::token::TokenAuthority;

/// An HTTP request, as either front end sees it.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: http::Method,
    /// The path without the query string, e.g. `/api/rooms`.
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
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
    /// Lifetime of guest tokens; clients reuse one token for reconnects.
    pub guest_token_ttl: Duration,
    pub urls: PublicUrls,
}

impl Default for RoomApiSettings {
    fn default() -> Self {
        Self {
            public_endpoints: true,
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
}

impl RoomApi {
    pub fn new(routing: Routing, tokens: TokenAuthority, settings: RoomApiSettings) -> Self {
        Self {
            routing,
            tokens,
            settings,
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
        match (req.method.as_str(), segments.as_slice()) {
            (_, ["api", ..]) if !self.settings.public_endpoints => HttpResponse::error(
                404,
                ErrorCode::RoomNotFound,
                "public endpoints are switched off on this deployment",
            ),
            ("POST", ["api", "rooms"]) => public::create_room(self, &req).await,
            ("POST", ["api", "rooms", code, "token"]) => {
                public::guest_token(self, &req, code).await
            }
            (_, ["api", "rooms"] | ["api", "rooms", _, "token"]) => {
                HttpResponse::error(405, ErrorCode::InvalidFrame, "method not allowed")
            }
            _ => HttpResponse::error(404, ErrorCode::RoomNotFound, "no such endpoint"),
        }
    }
}
