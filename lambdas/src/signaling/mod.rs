//! The signaling handlers: one module per API Gateway WebSocket route.
//!
//! [`Signaling::handle`] takes the `ApiGatewayWebsocketProxyRequest` API Gateway (or the local
//! emulator) sends and returns the proxy response. `$connect` answers with an HTTP status (a
//! non-2xx one refuses the socket); every other route answers the client with frames pushed
//! through the [`ClientGateway`], errors included, and always returns 200.

mod admission;
mod chat;
mod connect;
mod disconnect;
mod hands;
mod host;
mod join;
mod leave;
mod limits;
mod lobby;
mod mute;
mod ping;
mod reactions;
mod signal;
mod view;

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::encodings::Body;
use veet_core::departure::depart;
use veet_core::gateway::{send_to_all, ClientGateway, GatewayError};
use veet_core::protocol::{ClientFrame, ErrorCode, NodeMessage, ServerFrame};
use veet_core::routing::selector::LeastLoaded;
use veet_core::routing::{Connection, NodeSelector, ParticipantRecord, Routing, RoutingError};
use veet_core::token::TokenAuthority;
use veet_core::turn::TurnConfig;
use veet_core::webhook::{WebhookEvent, Webhooks};

/// A request that failed: the client gets an `error` frame with this code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ActionError {
    pub code: ErrorCode,
    pub message: String,
    /// For `rate_limited`: when the client may try again.
    pub retry_after: Option<std::time::Duration>,
}

impl ActionError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error, telling the client when to retry.
    pub fn retry_after(mut self, after: std::time::Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// The `error` frame the client gets.
    pub fn frame(&self) -> ServerFrame {
        match self.retry_after {
            Some(after) if self.code == ErrorCode::RateLimited => {
                ServerFrame::rate_limited(self.message.clone(), after)
            }
            _ => ServerFrame::error(self.code, self.message.clone()),
        }
    }
}

impl From<RoutingError> for ActionError {
    fn from(e: RoutingError) -> Self {
        tracing::error!(error = %e, "routing backend failed");
        if e.is_unreachable() {
            ActionError::new(
                ErrorCode::Unavailable,
                "the server's state store is unreachable for a moment; retry shortly",
            )
        } else {
            ActionError::new(ErrorCode::Internal, "the server's state store failed")
        }
    }
}

type ActionResult = Result<(), ActionError>;

/// The signaling service: routing state, token checks and the client gateway.
pub struct Signaling {
    pub routing: Routing,
    pub tokens: TokenAuthority,
    pub gateway: Arc<dyn ClientGateway>,
    /// Room and participant events go here, when webhooks are configured.
    pub webhooks: Option<Arc<Webhooks>>,
    /// Picks the node for a new room.
    pub selector: Arc<dyn NodeSelector>,
    /// TURN servers whose short-lived credentials `joined` carries, if any.
    pub turn: Option<TurnConfig>,
    /// Whether a guest token may start a meeting in a room nobody created (through the room
    /// API or the web app's "new meeting"). Off, a guest joining an unknown code gets
    /// `room_not_found`; tokens the room API issued may always start one.
    pub public_rooms: bool,
}

impl Signaling {
    pub fn new(routing: Routing, tokens: TokenAuthority, gateway: Arc<dyn ClientGateway>) -> Self {
        Self {
            routing,
            tokens,
            gateway,
            webhooks: None,
            selector: Arc::new(LeastLoaded),
            turn: None,
            public_rooms: true,
        }
    }

    /// Lets guest tokens start meetings in rooms nobody created, or not.
    pub fn with_public_rooms(mut self, allowed: bool) -> Self {
        self.public_rooms = allowed;
        self
    }

    /// Hands joining clients credentials for these TURN servers.
    pub fn with_turn(mut self, turn: Option<TurnConfig>) -> Self {
        self.turn = turn;
        self
    }

    /// Chooses nodes for new rooms with `selector` (least-loaded by default).
    pub fn with_selector(mut self, selector: Arc<dyn NodeSelector>) -> Self {
        self.selector = selector;
        self
    }

    /// Emits room and participant events to `webhooks`.
    pub fn with_webhooks(mut self, webhooks: Option<Arc<Webhooks>>) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// Queues a webhook event, if webhooks are configured.
    pub(crate) async fn emit(&self, event: impl FnOnce() -> WebhookEvent) {
        if let Some(w) = &self.webhooks {
            w.emit(event()).await;
        }
    }

    /// Handles one API Gateway WebSocket event.
    pub async fn handle(
        &self,
        request: ApiGatewayWebsocketProxyRequest,
    ) -> ApiGatewayProxyResponse {
        let ctx = &request.request_context;
        let route = ctx.route_key.as_deref().unwrap_or("$default");
        let Some(connection_id) = ctx.connection_id.as_deref() else {
            return response(
                400,
                Some(error_body(
                    ErrorCode::UnknownConnection,
                    "event has no connection id",
                )),
            );
        };
        match route {
            "$connect" => connect::handle(self, connection_id, &request).await,
            "$disconnect" => {
                disconnect::handle(self, connection_id).await;
                response(200, None)
            }
            _ => {
                let body = request.body.as_deref().unwrap_or("");
                if let Err(e) = self.handle_frame(connection_id, body).await {
                    self.reply(connection_id, &e.frame()).await;
                }
                response(200, None)
            }
        }
    }

    async fn handle_frame(&self, connection_id: &str, body: &str) -> ActionResult {
        let frame = ClientFrame::parse(body).map_err(|e| ActionError::new(e.code, e.message))?;
        let conn = self
            .routing
            .connections
            .connection(connection_id)
            .await?
            .ok_or_else(|| {
                ActionError::new(
                    ErrorCode::UnknownConnection,
                    "this connection is not known; reconnect",
                )
            })?;
        limits::check(self, &conn, &frame).await?;
        match frame {
            ClientFrame::Ping {} => ping::handle(self, &conn).await,
            ClientFrame::Join {} => join::handle(self, conn).await,
            ClientFrame::Leave {} => leave::handle(self, conn).await,
            ClientFrame::Signal { role, signal } => signal::handle(self, &conn, role, signal).await,
            ClientFrame::Mute { track_id, muted } => {
                mute::handle(self, &conn, track_id, muted).await
            }
            ClientFrame::Chat { text } => chat::handle(self, &conn, text).await,
            ClientFrame::View { tracks } => view::handle(self, &conn, tracks).await,
            ClientFrame::MuteParticipant {
                participant_id,
                track_id,
            } => host::mute_participant(self, &conn, participant_id, track_id).await,
            ClientFrame::RemoveParticipant { participant_id } => {
                host::remove_participant(self, &conn, participant_id).await
            }
            ClientFrame::LockMeeting { locked } => host::lock_meeting(self, &conn, locked).await,
            ClientFrame::EndMeeting {} => host::end_meeting(self, &conn).await,
            ClientFrame::SetLobby { enabled } => host::set_lobby(self, &conn, enabled).await,
            ClientFrame::AdmitGuest { knock_id } => host::admit_guest(self, &conn, knock_id).await,
            ClientFrame::DenyGuest { knock_id } => host::deny_guest(self, &conn, knock_id).await,
            ClientFrame::RaiseHand { raised } => hands::raise(self, &conn, raised).await,
            ClientFrame::LowerHand { participant_id } => {
                hands::lower(self, &conn, participant_id).await
            }
            ClientFrame::React { emoji } => reactions::handle(self, &conn, emoji).await,
        }
    }

    /// Sends a frame to one connection; a gone connection is cleaned up.
    pub(crate) async fn reply(&self, connection_id: &str, frame: &ServerFrame) {
        match self.gateway.send(connection_id, frame).await {
            Ok(()) => {}
            Err(GatewayError::Gone(_)) => self.forget_gone(&[connection_id.to_owned()]).await,
            Err(e) => tracing::warn!(connection_id, error = %e, "push failed"),
        }
    }

    /// Sends one frame to every participant of `room` but `except`, concurrently; gone
    /// connections are cleaned up afterwards.
    pub(crate) async fn broadcast(
        &self,
        room: &str,
        frame: &ServerFrame,
        except: Option<&str>,
    ) -> Result<(), RoutingError> {
        let participants = self.routing.rooms.participants(room).await?;
        let gone = self.send_all(&participants, frame, except).await;
        self.forget_gone(&gone).await;
        Ok(())
    }

    /// Sends to each record but `except`; returns the connections that are gone.
    async fn send_all(
        &self,
        to: &[ParticipantRecord],
        frame: &ServerFrame,
        except: Option<&str>,
    ) -> Vec<String> {
        let ids = to
            .iter()
            .filter(|p| Some(p.info.id.as_str()) != except)
            .map(|p| p.connection_id.as_str());
        send_to_all(self.gateway.as_ref(), ids, frame).await
    }

    /// Forgets connections API Gateway says are gone (HTTP 410), as if they had disconnected.
    /// Their rooms are told once, best effort: a connection found gone while telling them is
    /// left to its own `$disconnect`, so this never loops.
    async fn forget_gone(&self, connection_ids: &[String]) {
        for id in connection_ids {
            tracing::info!(connection_id = %id, "connection gone; cleaning up");
            match self.routing.connections.remove_connection(id).await {
                Ok(Some(conn)) => {
                    if let Some(pid) = &conn.participant_id {
                        if let Err(e) = self.remove_participant_once(&conn.room, pid).await {
                            tracing::warn!(error = %e, "cleanup of gone connection failed");
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cleanup of gone connection failed"),
            }
        }
    }

    /// Removes a participant from its room (see [`depart`]); returns connections found gone
    /// while telling the others.
    async fn remove_participant_once(
        &self,
        room: &str,
        participant_id: &str,
    ) -> Result<Vec<String>, RoutingError> {
        depart(
            &self.routing,
            self.gateway.as_ref(),
            self.webhooks.as_deref(),
            room,
            participant_id,
        )
        .await
    }

    /// Removes a participant and cleans up connections found gone on the way.
    pub(crate) async fn remove_participant(
        &self,
        room: &str,
        participant_id: &str,
    ) -> Result<(), RoutingError> {
        let gone = self.remove_participant_once(room, participant_id).await?;
        self.forget_gone(&gone).await;
        Ok(())
    }

    /// The connection's participant record, or `not_joined`.
    pub(crate) async fn joined_participant(
        &self,
        conn: &Connection,
    ) -> Result<ParticipantRecord, ActionError> {
        let pid = conn
            .participant_id
            .as_deref()
            .ok_or_else(|| ActionError::new(ErrorCode::NotJoined, "join the room first"))?;
        self.routing
            .rooms
            .participant(&conn.room, pid)
            .await?
            .ok_or_else(|| {
                ActionError::new(
                    ErrorCode::NotJoined,
                    "you are no longer in the room; join again",
                )
            })
    }

    /// Publishes a message to the node hosting `room`.
    pub(crate) async fn route_to_node(&self, room: &str, message: &NodeMessage) -> ActionResult {
        let node = self
            .routing
            .rooms
            .room(room)
            .await?
            .and_then(|r| r.node)
            .ok_or_else(|| {
                ActionError::new(ErrorCode::RoomNotFound, "the room has no media node")
            })?;
        self.publish_to_node(&node, message).await
    }

    /// Publishes to a node's inbox. A live node that is not listening is re-subscribing
    /// after a Redis restart or failover (pub/sub keeps nothing for absent listeners), so
    /// the message is sent again for a short while rather than lost.
    pub(crate) async fn publish_to_node(&self, node: &str, message: &NodeMessage) -> ActionResult {
        let deadline = tokio::time::Instant::now() + NODE_LISTEN_WAIT;
        loop {
            if self.routing.bus.publish(node, message).await? > 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(node, "no node is listening on the inbox");
                return Err(ActionError::new(
                    ErrorCode::Unavailable,
                    "the media server is not reachable right now; retry shortly",
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// How long a message waits for its node to listen again.
const NODE_LISTEN_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// An `ApiGatewayProxyResponse` with a status and optional JSON body.
pub fn response(status: i64, body: Option<String>) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = status;
    if let Some(b) = body {
        r.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        r.body = Some(Body::Text(b));
    }
    r
}

/// The JSON body of a refused `$connect`.
pub fn error_body(code: ErrorCode, message: &str) -> String {
    serde_json::json!({ "code": code, "message": message }).to_string()
}

/// A new participant id.
pub(crate) fn new_id(prefix: &str) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let tail: String = (0..12)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("{prefix}{tail}")
}
