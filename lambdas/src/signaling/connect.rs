//! `$connect`: the join token in the `token` query parameter decides whether the socket opens.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use veet_core::protocol::ErrorCode;
use veet_core::room_code;
use veet_core::routing::{unix_millis, Connection, RoomAccess};
use veet_core::token::TokenError;

use super::{error_body, response, Signaling};

pub(super) async fn handle(
    s: &Signaling,
    connection_id: &str,
    request: &ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let query = &request.query_string_parameters;
    let token = query.first("token").unwrap_or("");
    let verified = match query.first("room") {
        Some(room) => s.tokens.verify_for_room(token, room),
        None => s.tokens.verify(token),
    };
    let claims = match verified {
        Ok(c) => c,
        Err(e) => {
            let status = match e {
                TokenError::WrongRoom { .. } => 403,
                _ => 401,
            };
            return response(status, Some(error_body(e.code(), &e.to_string())));
        }
    };
    if !room_code::is_valid(&claims.room) {
        return refuse(
            403,
            ErrorCode::RoomNotFound,
            "the token names an invalid room code",
        );
    }
    if claims.guest {
        match s.routing.rooms.room(&claims.room).await {
            Ok(Some(info)) if info.settings.access == RoomAccess::InviteOnly => {
                return refuse(
                    403,
                    ErrorCode::InviteOnly,
                    "this meeting is invite-only: ask the organiser for a link",
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "room lookup failed");
                return refuse(500, ErrorCode::Internal, "could not look up the room");
            }
        }
    }
    let conn = Connection {
        id: connection_id.to_owned(),
        room: claims.room,
        identity: claims.sub,
        name: claims.name,
        grants: claims.grants,
        participant_id: None,
        connected_at: unix_millis(),
        guest: claims.guest,
        source_ip: request.request_context.identity.source_ip.clone(),
    };
    // Someone a host removed stays out for the rest of the meeting, with this token or a
    // fresh guest one.
    match s
        .routing
        .rooms
        .is_denied(&conn.room, &crate::moderation::entries_of(&conn))
        .await
    {
        Ok(false) => {}
        Ok(true) => {
            return refuse(
                403,
                ErrorCode::Removed,
                "a host removed you from this meeting",
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "denylist lookup failed");
            return refuse(500, ErrorCode::Internal, "could not look up the room");
        }
    }
    match s.routing.connections.put_connection(&conn).await {
        Ok(()) => response(200, None),
        Err(e) => {
            tracing::error!(error = %e, "could not store connection");
            refuse(500, ErrorCode::Internal, "could not store the connection")
        }
    }
}

/// A refused `$connect`: the status and the `{code, message}` body.
fn refuse(status: i64, code: ErrorCode, message: &str) -> ApiGatewayProxyResponse {
    response(status, Some(error_body(code, message)))
}
