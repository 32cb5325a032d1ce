//! The public endpoints the web app uses: create a room, get a guest token.

use serde::Deserialize;
use veet_core::protocol::{ErrorCode, Grants};
use veet_core::room_code;
use veet_core::routing::RoomSettings;

use super::{HttpRequest, HttpResponse, RoomApi};

/// Longest display name, in characters.
const MAX_NAME_CHARS: usize = 64;

pub(super) async fn create_room(api: &RoomApi, req: &HttpRequest) -> HttpResponse {
    // Collisions are astronomically unlikely, but cheap to rule out.
    for _ in 0..5 {
        let code = room_code::generate();
        match api
            .routing
            .rooms
            .create_room(&code, RoomSettings::default())
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
    if !room_code::is_valid(code) {
        return HttpResponse::error(
            400,
            ErrorCode::RoomNotFound,
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
                    ErrorCode::InvalidFrame,
                    format!("invalid body: {e}"),
                )
            }
        }
    };
    let name = body.name.trim();
    if name.chars().count() > MAX_NAME_CHARS {
        return HttpResponse::error(
            400,
            ErrorCode::InvalidFrame,
            format!("`name` is over {MAX_NAME_CHARS} characters"),
        );
    }
    let name = if name.is_empty() { "Guest" } else { name };
    let identity = crate::signaling::new_id("guest-");
    match api.tokens.issue(
        code,
        &identity,
        name,
        Grants::default(),
        api.settings.guest_token_ttl,
    ) {
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
