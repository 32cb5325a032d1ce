//! The signed endpoints: create, list, show and delete rooms; remove and mute participants.

use std::time::Duration;

use serde::Serialize;
use veet_core::protocol::{CloseReason, ErrorCode, Grants, ParticipantInfo};
use veet_core::room_code;
use veet_core::routing::{RoomAccess, RoomInfo};

use crate::moderation::{Moderation, ModerationError};

use super::validate::{self, CreateRoom};
use super::{HttpRequest, HttpResponse, RoomApi};

/// How long an idempotency key keeps pointing at its room.
const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// A room as the API shows it.
#[derive(Debug, Serialize)]
struct RoomView {
    code: String,
    name: Option<String>,
    access: RoomAccess,
    max_participants: u32,
    empty_timeout_secs: u64,
    metadata: Option<String>,
    /// Milliseconds since the Unix epoch.
    created_at: u64,
    /// When the current meeting started (its earliest participant joined), if one is on.
    started_at: Option<u64>,
    /// The SFU node hosting the meeting, if one is on.
    node: Option<String>,
    join_url: String,
    participants: Vec<ParticipantInfo>,
}

/// A join token issued with a new room.
#[derive(Debug, Serialize)]
struct IssuedToken {
    identity: String,
    name: String,
    token: String,
    room_admin: bool,
}

fn internal(e: impl std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %e, "room API failed");
    HttpResponse::error(
        500,
        ErrorCode::Internal,
        "the room store could not be reached",
    )
}

fn not_found(code: &str) -> HttpResponse {
    HttpResponse::error(404, ErrorCode::NotFound, format!("no room `{code}`"))
}

async fn view(api: &RoomApi, req: &HttpRequest, info: RoomInfo) -> Result<RoomView, HttpResponse> {
    let participants: Vec<ParticipantInfo> = api
        .routing
        .rooms
        .participants(&info.code)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|p| p.info)
        .collect();
    Ok(RoomView {
        join_url: format!("{}/{}", api.settings.urls.web_for(req), info.code),
        started_at: participants.iter().map(|p| p.joined_at).min(),
        node: if participants.is_empty() {
            None
        } else {
            info.node
        },
        name: info.settings.name,
        access: info.settings.access,
        max_participants: info.settings.max_participants,
        empty_timeout_secs: info.settings.empty_timeout_secs,
        metadata: info.settings.metadata,
        created_at: info.created_at,
        code: info.code,
        participants,
    })
}

pub(super) async fn create_room(api: &RoomApi, req: &HttpRequest) -> HttpResponse {
    let request = match validate::create_room(&req.body) {
        Ok(r) => r,
        Err(refused) => return refused,
    };
    let CreateRoom {
        code,
        settings,
        idempotency_key,
        participants,
    } = request;
    let mut code = code.unwrap_or_else(room_code::generate);
    let mut replay = false;
    if let Some(key) = &idempotency_key {
        match api
            .routing
            .keys
            .claim(&format!("idem:{key}"), &code, IDEMPOTENCY_WINDOW)
            .await
        {
            Ok(None) => {}
            Ok(Some(existing)) => {
                code = existing;
                replay = true;
            }
            Err(e) => return internal(e),
        }
    }
    if !replay {
        let created = api.routing.rooms.create_room(&code, settings).await;
        if !matches!(created, Ok(true)) {
            // The key must not stay bound to a room this request did not create.
            if let Some(key) = &idempotency_key {
                if let Err(e) = api.routing.keys.release(&format!("idem:{key}")).await {
                    tracing::warn!(error = %e, "idempotency key not released");
                }
            }
        }
        match created {
            Ok(true) => tracing::info!(room = %code, "room created through the API"),
            Ok(false) => {
                return HttpResponse::error(
                    409,
                    ErrorCode::Conflict,
                    format!("room `{code}` already exists"),
                )
            }
            Err(e) => return internal(e),
        }
    }
    // A concurrent request with the same key may still be creating the room.
    let mut info = None;
    for _ in 0..50 {
        match api.routing.rooms.room(&code).await {
            Ok(Some(i)) => {
                info = Some(i);
                break;
            }
            Ok(None) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => return internal(e),
        }
    }
    let Some(info) = info else {
        return HttpResponse::error(
            409,
            ErrorCode::Conflict,
            "the idempotency key names a room that no longer exists",
        );
    };
    let mut tokens = Vec::with_capacity(participants.len());
    for p in participants {
        let grants = Grants {
            can_publish: p.can_publish,
            room_admin: p.host,
            ..Grants::default()
        };
        match api.tokens.issue(&code, &p.identity, &p.name, grants, p.ttl) {
            Ok(token) => tokens.push(IssuedToken {
                identity: p.identity,
                name: p.name,
                token,
                room_admin: p.host,
            }),
            Err(e) => return internal(e),
        }
    }
    let room = match view(api, req, info).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let status = if replay { 200 } else { 201 };
    HttpResponse::json(
        status,
        &serde_json::json!({ "room": room, "tokens": tokens, "ws_url": api.settings.urls.ws_for(req) }),
    )
}

pub(super) async fn list_rooms(api: &RoomApi, req: &HttpRequest) -> HttpResponse {
    let codes = match api.routing.rooms.list_rooms().await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let mut rooms = Vec::with_capacity(codes.len());
    for code in codes {
        match api.routing.rooms.room(&code).await {
            Ok(Some(info)) => match view(api, req, info).await {
                Ok(v) => rooms.push(v),
                Err(r) => return r,
            },
            Ok(None) => {}
            Err(e) => return internal(e),
        }
    }
    HttpResponse::json(200, &serde_json::json!({ "rooms": rooms }))
}

pub(super) async fn show_room(api: &RoomApi, req: &HttpRequest, code: &str) -> HttpResponse {
    match api.routing.rooms.room(code).await {
        Ok(Some(info)) => match view(api, req, info).await {
            Ok(v) => HttpResponse::json(200, &v),
            Err(r) => r,
        },
        Ok(None) => not_found(code),
        Err(e) => internal(e),
    }
}

/// Ends the meeting for everyone: `room_closed`, sockets closed, media torn down, room gone.
pub(super) async fn delete_room(api: &RoomApi, code: &str) -> HttpResponse {
    match moderation(api, code).end(CloseReason::Deleted).await {
        Ok(participants) => {
            tracing::info!(
                room = code,
                participants = participants.len(),
                "room deleted through the API"
            );
            HttpResponse::empty(204)
        }
        Err(e) => refused(code, e),
    }
}

/// The room's moderation, as the deployment (no participant) acting.
fn moderation<'a>(api: &'a RoomApi, code: &'a str) -> Moderation<'a> {
    Moderation {
        routing: &api.routing,
        gateway: api.gateway.as_deref(),
        webhooks: api.webhooks.as_deref(),
        room: code,
        by: None,
    }
}

/// The response for a moderation action that did not happen.
fn refused(code: &str, e: ModerationError) -> HttpResponse {
    match e {
        ModerationError::NoRoom(_) => not_found(code),
        ModerationError::NoParticipant(_) | ModerationError::NoTrack(_) => {
            HttpResponse::error(404, ErrorCode::NotFound, format!("{e} (room `{code}`)"))
        }
        ModerationError::Store(e) => internal(e),
    }
}

/// Removes a participant for the rest of the meeting (as a host would): it is told why and
/// its socket is closed; its `$disconnect` then tells the room.
pub(super) async fn remove_participant(
    api: &RoomApi,
    code: &str,
    participant_id: &str,
) -> HttpResponse {
    if api.gateway.is_none() {
        return HttpResponse::error(
            500,
            ErrorCode::Internal,
            "this deployment cannot reach client connections",
        );
    }
    match moderation(api, code).remove(participant_id).await {
        Ok(()) => HttpResponse::empty(204),
        Err(e) => refused(code, e),
    }
}

/// Mutes (or unmutes) one or all of a participant's tracks, for everyone including the
/// participant, whose client applies it; the node stops forwarding a muted track.
pub(super) async fn mute_participant(
    api: &RoomApi,
    req: &HttpRequest,
    code: &str,
    participant_id: &str,
) -> HttpResponse {
    let mute = match validate::mute(&req.body) {
        Ok(m) => m,
        Err(refused) => return refused,
    };
    match moderation(api, code)
        .set_muted(participant_id, mute.track_id.as_deref(), mute.muted)
        .await
    {
        Ok(_) => HttpResponse::empty(204),
        Err(e) => refused(code, e),
    }
}
