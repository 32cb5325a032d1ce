//! The signed endpoints: create, list, show and delete rooms; remove and mute participants.

use std::time::Duration;

use serde::Serialize;
use veet_core::protocol::{
    CloseReason, ErrorCode, Grants, NodeMessage, ParticipantInfo, ServerFrame,
};
use veet_core::room_code;
use veet_core::routing::{ParticipantRecord, RoomAccess, RoomInfo};
use veet_core::webhook::{EventKind, WebhookEvent};

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
    let info = match api.routing.rooms.room(code).await {
        Ok(Some(i)) => i,
        Ok(None) => return not_found(code),
        Err(e) => return internal(e),
    };
    let participants = match api.routing.rooms.participants(code).await {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    // Delete first, so the $disconnect of each closed socket finds nothing left to announce.
    if let Err(e) = api.routing.rooms.delete_room(code).await {
        return internal(e);
    }
    if let Some(node) = &info.node {
        let msg = NodeMessage::CloseRoom {
            room: code.to_owned(),
            reason: CloseReason::Deleted,
        };
        if let Err(e) = api.routing.bus.publish(node, &msg).await {
            tracing::warn!(room = code, error = %e, "could not tell the node");
        }
    }
    if let Some(gateway) = &api.gateway {
        let frame = ServerFrame::RoomClosed {
            reason: CloseReason::Deleted,
        };
        for p in &participants {
            let _ = gateway.send(&p.connection_id, &frame).await;
            let _ = gateway.disconnect(&p.connection_id).await;
        }
    }
    if !participants.is_empty() {
        if let Some(w) = &api.webhooks {
            for p in &participants {
                w.emit(
                    WebhookEvent::new(EventKind::ParticipantLeft, code)
                        .with_participant(p.info.clone()),
                )
                .await;
            }
            w.emit(WebhookEvent::new(EventKind::RoomFinished, code))
                .await;
        }
    }
    tracing::info!(
        room = code,
        participants = participants.len(),
        "room deleted through the API"
    );
    HttpResponse::empty(204)
}

/// The participant's record, or the 404/500 that says why not.
async fn participant(
    api: &RoomApi,
    code: &str,
    participant_id: &str,
) -> Result<ParticipantRecord, HttpResponse> {
    match api.routing.rooms.participant(code, participant_id).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(HttpResponse::error(
            404,
            ErrorCode::NotFound,
            format!("no participant `{participant_id}` in room `{code}`"),
        )),
        Err(e) => Err(internal(e)),
    }
}

/// Removes a participant: it is told why and its socket is closed; its `$disconnect` then
/// tells the room.
pub(super) async fn remove_participant(
    api: &RoomApi,
    code: &str,
    participant_id: &str,
) -> HttpResponse {
    let record = match participant(api, code, participant_id).await {
        Ok(r) => r,
        Err(refused) => return refused,
    };
    let Some(gateway) = &api.gateway else {
        return HttpResponse::error(
            500,
            ErrorCode::Internal,
            "this deployment cannot reach client connections",
        );
    };
    let _ = gateway
        .send(
            &record.connection_id,
            &ServerFrame::error(ErrorCode::Removed, "you were removed from the meeting"),
        )
        .await;
    let _ = gateway.disconnect(&record.connection_id).await;
    HttpResponse::empty(204)
}

/// Mutes (or unmutes) one or all of a participant's tracks, for everyone including the
/// participant, whose client applies it.
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
    let record = match participant(api, code, participant_id).await {
        Ok(r) => r,
        Err(refused) => return refused,
    };
    let track_ids: Vec<String> = match &mute.track_id {
        Some(t) if record.info.tracks.iter().any(|x| &x.id == t) => vec![t.clone()],
        Some(t) => {
            return HttpResponse::error(
                404,
                ErrorCode::NotFound,
                format!("participant `{participant_id}` has no track `{t}`"),
            )
        }
        None => record.info.tracks.iter().map(|t| t.id.clone()).collect(),
    };
    for t in &track_ids {
        if let Err(e) = api
            .routing
            .rooms
            .set_track_muted(code, participant_id, t, mute.muted)
            .await
        {
            return internal(e);
        }
    }
    let everyone = match api.routing.rooms.participants(code).await {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    let node = api
        .routing
        .rooms
        .room(code)
        .await
        .ok()
        .flatten()
        .and_then(|r| r.node);
    for track_id in track_ids {
        let frame = ServerFrame::MuteChanged {
            participant_id: participant_id.to_owned(),
            track_id: track_id.clone(),
            muted: mute.muted,
        };
        if let Some(gateway) = &api.gateway {
            for p in &everyone {
                let _ = gateway.send(&p.connection_id, &frame).await;
            }
        }
        if let Some(node) = &node {
            let msg = NodeMessage::Mute {
                room: code.to_owned(),
                participant_id: participant_id.to_owned(),
                track_id,
                muted: mute.muted,
            };
            let _ = api.routing.bus.publish(node, &msg).await;
        }
    }
    HttpResponse::empty(204)
}
