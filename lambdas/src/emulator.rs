//! A local stand-in for API Gateway's WebSocket API, so the signaling Lambda handlers run
//! unchanged on one machine.
//!
//! - `GET /ws?…` upgrades to a WebSocket. The upgrade becomes a `$connect` event; a non-2xx
//!   answer refuses it with that status. Each text message becomes a message event routed by
//!   `$request.body.action` (falling back to `$default`), and the close becomes `$disconnect`.
//!   Events are built as the JSON API Gateway sends and parsed into
//!   `ApiGatewayWebsocketProxyRequest`, so handlers see exactly the cloud's shape.
//! - `POST/GET/DELETE /@connections/{id}` is the management API; the real
//!   `aws-sdk-apigatewaymanagement` client pointed at this server delivers frames. Only
//!   loopback callers may use it (in the cloud it is IAM-signed).
//! - Limits as in the cloud: messages over 128 KB close the socket (1009); a closed
//!   connection answers 410 Gone.
//! - Concurrency as in the cloud: every message and the `$disconnect` is its own invocation,
//!   run concurrently with the connection's other invocations and in no guaranteed order
//!   (only `$connect` completes before any message is read). With a jitter, each invocation
//!   starts after a random delay, which shakes out handlers that rely on arrival order.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::encodings::Body;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use veet_core::protocol::MAX_MESSAGE_BYTES;

use crate::signaling::Signaling;

/// What API Gateway calls for each route: the Lambda integration.
#[async_trait]
pub trait Integration: Send + Sync {
    async fn invoke(&self, request: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse;
}

#[async_trait]
impl Integration for Signaling {
    async fn invoke(&self, request: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        self.handle(request).await
    }
}

/// Frames queued for one socket.
const OUTBOX_CAPACITY: usize = 1024;

/// Messages up to this size are read whole, so one over [`MAX_MESSAGE_BYTES`] can be refused
/// with a proper close frame (1009) instead of a reset; beyond it the socket is dropped.
const READ_LIMIT_BYTES: usize = 8 * MAX_MESSAGE_BYTES;
/// tungstenite zero-fills its whole read buffer before every read attempt, including the
/// many that find nothing; at the default 128 KiB that memset was a fifth of `veet dev`'s
/// instructions under media load (callgrind, `scripts/profile-sfu.sh`). Frames are small;
/// a larger one grows the buffer as it needs.
const READ_BUFFER_BYTES: usize = 4 * 1024;

enum Outgoing {
    Text(String),
    /// Sends a close frame with this code and reason, then stops writing.
    Close(u16, &'static str),
}

struct Client {
    outbox: mpsc::Sender<Outgoing>,
    connected_at: u64,
    last_active_at: u64,
    source_ip: String,
    user_agent: String,
}

/// Invocations of one connection in flight at once; past it the socket is read no further
/// until one ends (Lambda would throttle, and a flood must not grow without bound).
const MAX_IN_FLIGHT_PER_CONNECTION: usize = 64;

/// The emulator's state; [`Emulator::router`] serves it.
pub struct Emulator {
    integration: Arc<dyn Integration>,
    routes: Vec<String>,
    stage: String,
    clients: Mutex<HashMap<String, Client>>,
    /// Each invocation starts after a random delay up to this.
    jitter: std::time::Duration,
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn iso_time(millis: u64) -> String {
    // Seconds precision, UTC, e.g. 2026-11-25T00:52:51Z; enough for GetConnection.
    let secs = millis / 1000;
    let days = secs / 86_400;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let (y, mo, d) = civil_from_days(days as i64);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn new_connection_id() -> String {
    use base64::Engine;
    let bytes: [u8; 11] = rand::random();
    format!(
        "{}=",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

impl Emulator {
    /// An emulator calling `integration` for every route; `routes` are the route keys
    /// besides `$connect`, `$disconnect` and `$default` (the protocol's actions).
    pub fn new(integration: Arc<dyn Integration>, routes: &[&str]) -> Arc<Self> {
        Arc::new(Self {
            integration,
            routes: routes.iter().map(|r| r.to_string()).collect(),
            stage: "local".into(),
            clients: Mutex::new(HashMap::new()),
            jitter: std::time::Duration::ZERO,
        })
    }

    /// Like [`Emulator::new`], with each invocation delayed by a random 0..`jitter`.
    pub fn with_jitter(
        integration: Arc<dyn Integration>,
        routes: &[&str],
        jitter: std::time::Duration,
    ) -> Arc<Self> {
        let mut emu = Self::new(integration, routes);
        if let Some(e) = Arc::get_mut(&mut emu) {
            e.jitter = jitter;
        }
        emu
    }

    /// Runs one invocation on its own task after the jitter, as API Gateway would.
    fn invoke_detached(
        self: &Arc<Self>,
        event: Value,
        permit: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> tokio::task::JoinHandle<()> {
        let emu = self.clone();
        tokio::spawn(async move {
            emu.jitter_delay().await;
            emu.call(event).await;
            drop(permit);
        })
    }

    async fn jitter_delay(&self) {
        if self.jitter.is_zero() {
            return;
        }
        use rand::Rng;
        let max = self.jitter.as_micros() as u64;
        let delay = rand::rng().random_range(0..=max);
        tokio::time::sleep(std::time::Duration::from_micros(delay)).await;
    }

    /// The WebSocket endpoint at `/ws` and the management API at `/@connections/{id}`.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/ws", get(upgrade))
            .route("/@connections/{id}", any(management))
            .with_state(self.clone())
    }

    /// How many sockets are open.
    pub fn connection_count(&self) -> usize {
        self.clients().len()
    }

    /// Closes a connection from the server side, as a network drop or API Gateway would.
    pub fn close_connection(&self, id: &str) -> bool {
        match self.clients().get(id) {
            Some(c) => c
                .outbox
                .try_send(Outgoing::Close(1001, "Going away"))
                .is_ok(),
            None => false,
        }
    }

    /// Ids of the open connections.
    pub fn connection_ids(&self) -> Vec<String> {
        self.clients().keys().cloned().collect()
    }

    fn clients(&self) -> std::sync::MutexGuard<'_, HashMap<String, Client>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn route_for(&self, body: &str) -> String {
        serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get("action").and_then(Value::as_str).map(str::to_owned))
            .filter(|a| self.routes.iter().any(|r| r == a))
            .unwrap_or_else(|| "$default".to_owned())
    }

    fn context(
        &self,
        connection_id: &str,
        route: &str,
        event_type: &str,
        host: &str,
        client: (&str, &str, u64),
    ) -> Value {
        let now = now_millis();
        let (source_ip, user_agent, connected_at) = client;
        json!({
            "routeKey": route,
            "eventType": event_type,
            "extendedRequestId": crate::signaling::new_id("ER_"),
            "requestTime": iso_time(now),
            "messageDirection": "IN",
            "stage": self.stage,
            "connectedAt": connected_at,
            "requestTimeEpoch": now,
            "identity": { "sourceIp": source_ip, "userAgent": user_agent },
            "requestId": crate::signaling::new_id("RQ_"),
            "domainName": host,
            "connectionId": connection_id,
            "apiId": "local",
        })
    }

    async fn call(&self, event: Value) -> ApiGatewayProxyResponse {
        match serde_json::from_value::<ApiGatewayWebsocketProxyRequest>(event) {
            Ok(req) => self.integration.invoke(req).await,
            Err(e) => {
                tracing::error!(error = %e, "emulator built an event the Lambda types reject");
                let mut r = ApiGatewayProxyResponse::default();
                r.status_code = 500;
                r
            }
        }
    }
}

fn parse_query(raw: Option<&str>) -> (Value, Value) {
    let mut single = serde_json::Map::new();
    let mut multi: serde_json::Map<String, Value> = serde_json::Map::new();
    for (k, v) in url_pairs(raw.unwrap_or("")) {
        single.insert(k.clone(), Value::String(v.clone()));
        if let Value::Array(a) = multi.entry(k).or_insert_with(|| Value::Array(vec![])) {
            a.push(Value::String(v));
        }
    }
    (Value::Object(single), Value::Object(multi))
}

fn url_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let byte = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match byte {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn header_map_json(headers: &HeaderMap) -> (Value, Value) {
    let mut single = serde_json::Map::new();
    let mut multi: serde_json::Map<String, Value> = serde_json::Map::new();
    for (k, v) in headers {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        single.insert(k.as_str().to_owned(), Value::String(v.clone()));
        if let Value::Array(a) = multi
            .entry(k.as_str().to_owned())
            .or_insert_with(|| Value::Array(vec![]))
        {
            a.push(Value::String(v));
        }
    }
    (Value::Object(single), Value::Object(multi))
}

async fn upgrade(
    State(emu): State<Arc<Emulator>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let connection_id = new_connection_id();
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    let user_agent = headers
        .get("user-agent")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let source_ip = peer.ip().to_string();
    let connected_at = now_millis();
    let (outbox, rx) = mpsc::channel(OUTBOX_CAPACITY);
    // Registered before `$connect` runs, so a push racing the upgrade is queued, not lost.
    emu.clients().insert(
        connection_id.clone(),
        Client {
            outbox,
            connected_at,
            last_active_at: connected_at,
            source_ip: source_ip.clone(),
            user_agent: user_agent.clone(),
        },
    );
    let (qs, mqs) = parse_query(query.as_deref());
    let (h, mh) = header_map_json(&headers);
    let mut event = json!({
        "headers": h,
        "multiValueHeaders": mh,
        "requestContext": emu.context(&connection_id, "$connect", "CONNECT", &host, (&source_ip, &user_agent, connected_at)),
        "isBase64Encoded": false,
    });
    if qs.as_object().is_some_and(|o| !o.is_empty()) {
        event["queryStringParameters"] = qs;
        event["multiValueQueryStringParameters"] = mqs;
    }
    let answer = emu.call(event).await;
    if !(200..300).contains(&answer.status_code) {
        emu.clients().remove(&connection_id);
        let status = StatusCode::from_u16(answer.status_code as u16)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = match answer.body {
            Some(Body::Text(t)) => t,
            Some(Body::Binary(b)) => String::from_utf8_lossy(&b).into_owned(),
            _ => String::new(),
        };
        return (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    ws.max_message_size(READ_LIMIT_BYTES)
        .max_frame_size(READ_LIMIT_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| serve_socket(emu, connection_id, host, socket, rx))
}

async fn serve_socket(
    emu: Arc<Emulator>,
    connection_id: String,
    host: String,
    socket: WebSocket,
    mut outbox: mpsc::Receiver<Outgoing>,
) {
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(out) = outbox.recv().await {
            let result = match out {
                Outgoing::Text(t) => sink.send(Message::Text(Utf8Bytes::from(t))).await,
                Outgoing::Close(code, reason) => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code,
                            reason: Utf8Bytes::from_static(reason),
                        })))
                        .await;
                    break;
                }
            };
            if result.is_err() {
                break;
            }
        }
    });
    let (source_ip, user_agent, connected_at) = {
        let clients = emu.clients();
        match clients.get(&connection_id) {
            Some(c) => (c.source_ip.clone(), c.user_agent.clone(), c.connected_at),
            None => (String::new(), String::new(), now_millis()),
        }
    };
    let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT_PER_CONNECTION));
    let mut close_code = 1005;
    let mut close_reason = String::new();
    // Set when the server ends the socket because of what the client sent: the close frame
    // to send, and whether the stream is still sound enough to await the client's reply.
    let mut refusal: Option<(u16, &'static str, bool)> = None;
    loop {
        let msg = tokio::select! {
            m = stream.next() => m,
            // The writer ends when a server-side close was sent: stop reading too.
            _ = wait_finished(&writer) => None,
        };
        let Some(msg) = msg else { break };
        let size = match &msg {
            Ok(Message::Text(t)) => t.len(),
            Ok(Message::Binary(b)) => b.len(),
            _ => 0,
        };
        if size > MAX_MESSAGE_BYTES {
            close_code = 1009;
            close_reason = format!("message of {size} bytes is over {MAX_MESSAGE_BYTES}");
            refusal = Some((1009, "Message too big", true));
            break;
        }
        let body = match msg {
            Ok(Message::Text(t)) => t.as_str().to_owned(),
            Ok(Message::Binary(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(Message::Close(frame)) => {
                if let Some(f) = frame {
                    close_code = f.code;
                    close_reason = f.reason.as_str().to_owned();
                }
                break;
            }
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Err(e) => {
                // A protocol violation (text that is not UTF-8, a reserved opcode), a message
                // over the read limit, or a broken socket.
                tracing::debug!(connection_id, error = %e, "socket error");
                close_reason = e.to_string();
                close_code = close_code_for(&close_reason);
                refusal = Some((close_code, close_text(close_code), false));
                break;
            }
        };
        if let Some(c) = emu.clients().get_mut(&connection_id) {
            c.last_active_at = now_millis();
        }
        let route = emu.route_for(&body);
        let mut ctx = emu.context(
            &connection_id,
            &route,
            "MESSAGE",
            &host,
            (&source_ip, &user_agent, connected_at),
        );
        ctx["messageId"] = Value::String(crate::signaling::new_id("MS_"));
        let event = json!({ "requestContext": ctx, "body": body, "isBase64Encoded": false });
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        emu.invoke_detached(event, Some(permit));
    }
    if let Some((code, reason, sound)) = refusal {
        // Tell the client why, as API Gateway does, before the socket goes.
        let outbox = emu.clients().get(&connection_id).map(|c| c.outbox.clone());
        if let Some(outbox) = outbox {
            let _ = outbox.try_send(Outgoing::Close(code, reason));
        }
        let wait = std::time::Duration::from_secs(2);
        let _ = tokio::time::timeout(wait, wait_finished(&writer)).await;
        if sound {
            // Read on until the client answers the close, so the socket ends cleanly
            // rather than with a reset that could swallow the close frame.
            let _ = tokio::time::timeout(wait, async {
                while let Some(Ok(m)) = stream.next().await {
                    if matches!(m, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
    }
    emu.clients().remove(&connection_id);
    writer.abort();
    let mut ctx = emu.context(
        &connection_id,
        "$disconnect",
        "DISCONNECT",
        &host,
        (&source_ip, &user_agent, connected_at),
    );
    ctx["disconnectStatusCode"] = json!(close_code);
    ctx["disconnectReason"] = json!(close_reason);
    // Like the messages, `$disconnect` may overtake invocations still in flight.
    let _ = emu
        .invoke_detached(
            json!({ "requestContext": ctx, "isBase64Encoded": false }),
            None,
        )
        .await;
}

/// The close code for a socket read error, by its description (axum hides the
/// tungstenite error type).
fn close_code_for(error: &str) -> u16 {
    let e = error.to_ascii_lowercase();
    if e.contains("utf-8") || e.contains("utf8") {
        1007
    } else if e.contains("too long") || e.contains("too big") || e.contains("space limit") {
        1009
    } else {
        1002
    }
}

fn close_text(code: u16) -> &'static str {
    match code {
        1007 => "Invalid frame payload data",
        1009 => "Message too big",
        _ => "Protocol error",
    }
}

async fn wait_finished(handle: &tokio::task::JoinHandle<()>) {
    while !handle.is_finished() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn aws_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [
            ("x-amzn-errortype", kind),
            ("content-type", "application/json"),
        ],
        Json(json!({ "message": message })),
    )
        .into_response()
}

async fn management(
    State(emu): State<Arc<Emulator>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: axum::http::Method,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if !peer.ip().is_loopback() {
        return aws_error(
            StatusCode::FORBIDDEN,
            "ForbiddenException",
            "the management API is only served to this machine",
        );
    }
    match method.as_str() {
        "POST" => {
            if body.len() > MAX_MESSAGE_BYTES {
                return aws_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PayloadTooLargeException",
                    "payload over 128 KB",
                );
            }
            let outbox = emu.clients().get(&id).map(|c| c.outbox.clone());
            let Some(outbox) = outbox else {
                return aws_error(StatusCode::GONE, "GoneException", "connection is gone");
            };
            let text = String::from_utf8_lossy(&body).into_owned();
            // A socket that cannot take more is treated as gone rather than stalling the caller:
            // API Gateway likewise drops clients that do not read.
            match outbox.try_send(Outgoing::Text(text)) {
                Ok(()) => StatusCode::OK.into_response(),
                Err(mpsc::error::TrySendError::Full(_)) => {
                    let _ = outbox.try_send(Outgoing::Close(1001, "Going away"));
                    emu.close_connection(&id);
                    aws_error(
                        StatusCode::GONE,
                        "GoneException",
                        "connection is not reading",
                    )
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    aws_error(StatusCode::GONE, "GoneException", "connection is gone")
                }
            }
        }
        "GET" => {
            let clients = emu.clients();
            match clients.get(&id) {
                Some(c) => Json(json!({
                    "connectedAt": iso_time(c.connected_at),
                    "lastActiveAt": iso_time(c.last_active_at),
                    "identity": { "sourceIp": c.source_ip, "userAgent": c.user_agent },
                }))
                .into_response(),
                None => aws_error(StatusCode::GONE, "GoneException", "connection is gone"),
            }
        }
        "DELETE" => {
            if emu.close_connection(&id) {
                StatusCode::NO_CONTENT.into_response()
            } else {
                aws_error(StatusCode::GONE, "GoneException", "connection is gone")
            }
        }
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_time_formats_utc() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_time(1_764_031_971_000), "2025-11-25T00:52:51Z");
    }

    #[test]
    fn query_is_decoded() {
        let (q, m) = parse_query(Some("token=a%2Eb.c&room=abc-defg-hij&x=1&x=2"));
        assert_eq!(q["token"], "a.b.c");
        assert_eq!(q["room"], "abc-defg-hij");
        assert_eq!(m["x"], json!(["1", "2"]));
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn connection_ids_look_like_api_gateway_ones() {
        let id = new_connection_id();
        assert_eq!(id.len(), 16);
        assert!(id.ends_with('='));
        assert_ne!(id, new_connection_id());
    }
}
