//! Running a real `lambda_runtime` binary locally: a stand-in for the Lambda Runtime API
//! ([`RuntimeApi`]) and for API Gateway's management API ([`ConnectionsRecorder`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::WAIT;

/// What a function answered to one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST …/invocation/{id}/response`.
    Response(Value),
    /// `POST …/invocation/{id}/error`.
    Error(Value),
}

struct Invocation {
    id: String,
    event: Value,
}

struct RuntimeState {
    function_name: String,
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<Value>>,
    polls: AtomicU64,
}

/// A local Lambda Runtime API (`/2018-06-01/runtime/…`): `invocation/next` hands out the
/// events given to [`invoke`](RuntimeApi::invoke) with the headers Lambda sends, and the
/// function's `response`/`error` posts complete them. Point a function at it with
/// `AWS_LAMBDA_RUNTIME_API={addr}`.
pub struct RuntimeApi {
    pub addr: SocketAddr,
    state: Arc<RuntimeState>,
    submit: mpsc::UnboundedSender<Invocation>,
    next_id: AtomicU64,
    task: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Serves on a free loopback port; `function_name` goes into the invoked-function ARN.
    pub async fn start(function_name: &str) -> Self {
        let (submit, queue) = mpsc::unbounded_channel();
        let state = Arc::new(RuntimeState {
            function_name: function_name.to_owned(),
            queue: tokio::sync::Mutex::new(queue),
            waiting: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            polls: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(invocation_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            state,
            submit,
            next_id: AtomicU64::new(1),
            task,
        }
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// How many times the function asked for its next invocation (it polls once it is
    /// ready, and again after each answer).
    pub fn polls(&self) -> u64 {
        self.state.polls.load(Ordering::SeqCst)
    }

    /// The body of `init/error`, if the function reported a failed start.
    pub fn init_error(&self) -> Option<Value> {
        self.state
            .init_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Queues `event` and waits up to `timeout` for the function's answer.
    pub async fn invoke_within(&self, event: Value, timeout: Duration) -> Option<Outcome> {
        let n = self.next_id.fetch_add(1, Ordering::SeqCst);
        let id = format!("8476a536-e9f4-11e8-9739-{n:012x}");
        let (tx, rx) = oneshot::channel();
        self.state
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), tx);
        self.submit
            .send(Invocation { id, event })
            .expect("runtime API is running");
        tokio::time::timeout(timeout, rx).await.ok()?.ok()
    }

    /// Queues `event` and waits (up to 30 s, to cover the function's cold start) for a
    /// successful response, panicking otherwise.
    pub async fn invoke(&self, event: Value) -> Value {
        match self
            .invoke_within(event.clone(), Duration::from_secs(30))
            .await
        {
            Some(Outcome::Response(v)) => v,
            Some(Outcome::Error(e)) => panic!("the function failed: {e}\nevent: {event}"),
            None => panic!(
                "the function did not answer within 30 s (init error: {:?}, polls: {})\nevent: {event}",
                self.init_error(),
                self.polls()
            ),
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn next_invocation(State(st): State<Arc<RuntimeState>>) -> Response {
    st.polls.fetch_add(1, Ordering::SeqCst);
    let next = st.queue.lock().await.recv().await;
    let Some(inv) = next else {
        return StatusCode::GONE.into_response();
    };
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        + 30_000;
    let arn = format!(
        "arn:aws:lambda:us-east-1:123456789012:function:{}",
        st.function_name
    );
    let mut headers = HeaderMap::new();
    let mut put = |k: &'static str, v: String| {
        headers.insert(k, HeaderValue::from_str(&v).expect("header value"));
    };
    put("Lambda-Runtime-Aws-Request-Id", inv.id.clone());
    put("Lambda-Runtime-Deadline-Ms", deadline.to_string());
    put("Lambda-Runtime-Invoked-Function-Arn", arn);
    put(
        "Lambda-Runtime-Trace-Id",
        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0".into(),
    );
    put("Content-Type", "application/json".into());
    (StatusCode::OK, headers, inv.event.to_string()).into_response()
}

fn complete(st: &RuntimeState, id: &str, outcome: Outcome) -> StatusCode {
    let waiter = st
        .waiting
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(id);
    match waiter {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn json_or_string(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn invocation_response(
    State(st): State<Arc<RuntimeState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    complete(&st, &id, Outcome::Response(json_or_string(&body)))
}

async fn invocation_error(
    State(st): State<Arc<RuntimeState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    complete(&st, &id, Outcome::Error(json_or_string(&body)))
}

async fn init_error(State(st): State<Arc<RuntimeState>>, body: Bytes) -> StatusCode {
    *st.init_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(json_or_string(&body));
    StatusCode::ACCEPTED
}

/// One call the function made to the management API.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagementCall {
    pub method: String,
    pub connection_id: String,
    /// The posted frame (JSON if it parses); `Null` for GET/DELETE.
    pub body: Value,
}

#[derive(Default)]
struct RecorderState {
    calls: Mutex<Vec<ManagementCall>>,
    changed: Notify,
    gone: Mutex<Vec<String>>,
}

/// A stand-in for API Gateway's management API (`/@connections/{id}`) that records what a
/// function pushes to clients. Point the function at [`endpoint`](Self::endpoint) (for
/// Veet: `VEET_APIGW_ENDPOINT`).
pub struct ConnectionsRecorder {
    pub addr: SocketAddr,
    state: Arc<RecorderState>,
    task: tokio::task::JoinHandle<()>,
}

impl ConnectionsRecorder {
    pub async fn start() -> Self {
        let state = Arc::new(RecorderState::default());
        let app = Router::new()
            .route("/@connections/{id}", any(record))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state, task }
    }

    /// `http://127.0.0.1:{port}`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Makes the recorder answer 410 Gone for `connection_id`, as for a closed socket.
    pub fn mark_gone(&self, connection_id: &str) {
        self.state
            .gone
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(connection_id.to_owned());
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<ManagementCall> {
        self.state
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Frames posted to `connection_id` so far.
    pub fn frames(&self, connection_id: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == "POST" && c.connection_id == connection_id)
            .map(|c| c.body)
            .collect()
    }

    /// Waits (up to [`WAIT`]) until a frame with `type` = `ty` was posted to
    /// `connection_id`, and returns the first such frame.
    pub async fn expect_frame(&self, connection_id: &str, ty: &str) -> Value {
        let found = tokio::time::timeout(WAIT, async {
            loop {
                let changed = self.state.changed.notified();
                if let Some(f) = self
                    .frames(connection_id)
                    .into_iter()
                    .find(|f| f["type"] == ty)
                {
                    return f;
                }
                changed.await;
            }
        })
        .await;
        match found {
            Ok(f) => f,
            Err(_) => panic!(
                "no `{ty}` frame was posted to {connection_id} within {WAIT:?}; calls: {:?}",
                self.calls()
            ),
        }
    }
}

impl Drop for ConnectionsRecorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(st): State<Arc<RecorderState>>,
    method: Method,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let gone = st
        .gone
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&id);
    st.calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(ManagementCall {
            method: method.to_string(),
            connection_id: id,
            body: if body.is_empty() {
                Value::Null
            } else {
                json_or_string(&body)
            },
        });
    st.changed.notify_waiters();
    if gone {
        return (
            StatusCode::GONE,
            [("x-amzn-errortype", "GoneException")],
            r#"{"message":"connection is gone"}"#,
        )
            .into_response();
    }
    match method {
        Method::DELETE => StatusCode::NO_CONTENT.into_response(),
        Method::GET => axum::Json(serde_json::json!({
            "connectedAt": "2025-01-01T00:00:00Z",
            "lastActiveAt": "2025-01-01T00:00:00Z",
            "identity": { "sourceIp": "203.0.113.7", "userAgent": "veet-tests" },
        }))
        .into_response(),
        _ => StatusCode::OK.into_response(),
    }
}
