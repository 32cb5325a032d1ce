//! The public endpoints the web app uses: create a room, get a guest token.

use serde::Deserialize;
use std::time::Duration;
use veet_core::protocol::ErrorCode;
use veet_core::room_code;

use veet_core::routing::{RoomAccess, RoomSettings};

use super::{HttpRequest, HttpResponse, RoomApi};

/// Rooms made from the web app: kept 10 minutes for someone to (re)join, then gone.
fn public_room_settings() -> RoomSettings {
    RoomSettings {
        empty_timeout_secs: 600,
        ..RoomSettings::default()
    }
}

/// Longest display name, in characters.
const MAX_NAME_CHARS: usize = 64;

/// Counts a public request from the caller; `Some(429)` once over the per-minute limit.
async fn rate_limited(api: &RoomApi, req: &HttpRequest, what: &str) -> Option<HttpResponse> {
    let who = req.source_ip.as_deref().unwrap_or("unknown");
    match api
        .routing
        .keys
        .count(&format!("rate:{what}:{who}"), Duration::from_secs(60))
        .await
    {
        Ok(n) if n > api.settings.public_rate_per_minute => Some(HttpResponse::error(
            429,
            ErrorCode::RateLimited,
            "too many requests from this address; try again in a minute",
        )),
        Ok(_) => None,
        // The limit protects the service; failing open keeps meetings working.
        Err(e) => {
            tracing::warn!(error = %e, "rate limit unavailable");
            None
        }
    }
}

pub(super) async fn create_room(api: &RoomApi, req: &HttpRequest) -> HttpResponse {
    if let Some(refused) = rate_limited(api, req, "rooms").await {
        return refused;
    }
    // Collisions are astronomically unlikely, but cheap to rule out.
    for _ in 0..5 {
        let code = room_code::generate();
        match api
            .routing
            .rooms
            .create_room(&code, public_room_settings())
            .await
        {
            Ok(true) => {
                let url = format!("{}/{code}", api.settings.urls.web_for(req));
                return HttpResponse::json(201, &serde_json::json!({ "code": code, "url": url }));
            }
            Ok(false) => continue,
            Err(e) => {
                tracing::error!(error = %e, "could not create room");
                return HttpResponse::error(500, ErrorCode::Internal, "could not create the room");
            }
        }
    }
    HttpResponse::error(500, ErrorCode::Internal, "could not find a free room code")
}

#[derive(Deserialize)]
struct TokenRequest {
    #[serde(default)]
    name: String,
}

pub(super) async fn guest_token(api: &RoomApi, req: &HttpRequest, code: &str) -> HttpResponse {
    if let Some(refused) = rate_limited(api, req, "tokens").await {
        return refused;
    }
    if !room_code::is_valid(code) {
        return HttpResponse::error(
            400,
            ErrorCode::InvalidRequest,
            format!("`{code}` is not a valid room code"),
        );
    }
    let body: TokenRequest = if req.body.is_empty() {
        TokenRequest {
            name: String::new(),
        }
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(b) => b,
            Err(e) => {
                return HttpResponse::error(
                    400,
                    ErrorCode::InvalidRequest,
                    format!("invalid body: {e}"),
                )
            }
        }
    };
    let name = body.name.trim();
    if name.chars().count() > MAX_NAME_CHARS {
        return HttpResponse::error(
            400,
            ErrorCode::InvalidRequest,
            format!("`name` is over {MAX_NAME_CHARS} characters"),
        );
    }
    let name = if name.is_empty() { "Guest" } else { name };
    match api.routing.rooms.room(code).await {
        Ok(Some(info)) if info.settings.access == RoomAccess::InviteOnly => {
            return HttpResponse::error(
                403,
                ErrorCode::InviteOnly,
                "this meeting is invite-only: ask the organiser for a link",
            );
        }
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, "room lookup failed");
            return HttpResponse::error(500, ErrorCode::Internal, "could not look up the room");
        }
    }
    // A guest removed from the meeting cannot come back with a fresh guest token.
    if let Some(ip) = &req.source_ip {
        let entries = [crate::moderation::address_entry(ip)];
        match api.routing.rooms.is_denied(code, &entries).await {
            Ok(false) => {}
            Ok(true) => {
                return HttpResponse::error(
                    403,
                    ErrorCode::Removed,
                    "a host removed you from this meeting",
                )
            }
            Err(e) => {
                tracing::error!(error = %e, "denylist lookup failed");
                return HttpResponse::error(500, ErrorCode::Internal, "could not look up the room");
            }
        }
    }
    let identity = crate::signaling::new_id("guest-");
    match api
        .tokens
        .issue_guest(code, &identity, name, api.settings.guest_token_ttl)
    {
        Ok(token) => HttpResponse::json(
            200,
            &serde_json::json!({
                "token": token,
                "identity": identity,
                "room": code,
                "ws_url": api.settings.urls.ws_for(req),
            }),
        ),
        Err(e) => HttpResponse::error(500, ErrorCode::Internal, e.to_string()),
    }
}
