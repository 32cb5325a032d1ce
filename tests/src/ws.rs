//! A WebSocket test client speaking the JSON frames of the signaling protocol.

use std::collections::VecDeque;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::WAIT;

/// Why a WebSocket connection could not be opened.
#[derive(Debug)]
pub enum ConnectError {
    /// The server answered the upgrade with an HTTP status other than 101.
    Refused {
        status: u16,
        /// The response body parsed as JSON (`Value::Null` if empty or not JSON).
        body: Value,
    },
    /// Anything else (connection refused, timeout, protocol error).
    Other(String),
}

/// How the socket ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The close code the server sent, if it sent a close frame.
    pub code: Option<u16>,
    pub reason: String,
}

/// A client connection. Frames are JSON objects with a `type`; frames skipped while waiting
/// for another type are kept, in order, and searched first by later waits.
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pending: VecDeque<Value>,
    closed: Option<Closed>,
}

impl WsClient {
    /// Opens a connection to `url` (e.g. `ws://127.0.0.1:1234/ws?token=…`).
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url)).await {
            Err(_) => Err(ConnectError::Other(format!(
                "connecting to {url} timed out"
            ))),
            Ok(Ok((ws, _response))) => Ok(Self {
                ws,
                pending: VecDeque::new(),
                closed: None,
            }),
            Ok(Err(tungstenite::Error::Http(response))) => {
                let status = response.status().as_u16();
                let body = response
                    .body()
                    .as_deref()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or(Value::Null);
                Err(ConnectError::Refused { status, body })
            }
            Ok(Err(e)) => Err(ConnectError::Other(e.to_string())),
        }
    }

    /// Opens a connection, panicking if it is refused.
    pub async fn connect_ok(url: &str) -> Self {
        match Self::connect(url).await {
            Ok(c) => c,
            Err(e) => panic!("connecting to {url} failed: {e:?}"),
        }
    }

    /// Expects the upgrade to be refused; returns the HTTP status and JSON body.
    pub async fn connect_refused(url: &str) -> (u16, Value) {
        match Self::connect(url).await {
            Ok(_) => panic!("connecting to {url} succeeded; expected a refusal"),
            Err(ConnectError::Refused { status, body }) => (status, body),
            Err(ConnectError::Other(e)) => panic!("connecting to {url} failed oddly: {e}"),
        }
    }

    /// Sends a JSON value as a text frame.
    pub async fn send(&mut self, frame: Value) {
        self.send_text(frame.to_string()).await;
    }

    /// Sends a text frame as is.
    pub async fn send_text(&mut self, text: impl Into<String>) {
        let text: String = text.into();
        self.ws
            .send(Message::text(text))
            .await
            .expect("sending a text frame failed");
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, data: impl Into<Vec<u8>>) {
        let data: Vec<u8> = data.into();
        self.ws
            .send(Message::binary(data))
            .await
            .expect("sending a binary frame failed");
    }

    /// Sends many text frames, flushing once (for bursts).
    pub async fn send_burst(&mut self, frames: impl IntoIterator<Item = String>) {
        for f in frames {
            self.ws
                .feed(Message::text(f))
                .await
                .expect("queueing a frame failed");
        }
        self.ws.flush().await.expect("flushing frames failed");
    }

    /// Writes one raw, masked, final WebSocket frame with `opcode` (1 text, 2 binary) and
    /// `payload` straight to the TCP stream, bypassing the client library's checks — for
    /// frames a correct client would not send, such as text that is not UTF-8.
    pub async fn send_raw_frame(&mut self, opcode: u8, payload: &[u8]) {
        let mut frame = vec![0x80 | (opcode & 0x0f)];
        let len = payload.len();
        if len < 126 {
            frame.push(0x80 | len as u8);
        } else if len <= usize::from(u16::MAX) {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
        let mask: [u8; 4] = [0x12, 0x34, 0x56, 0x78];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.ws
            .flush()
            .await
            .expect("flushing before a raw frame failed");
        match self.ws.get_mut() {
            MaybeTlsStream::Plain(tcp) => {
                tcp.write_all(&frame).await.expect("writing a raw frame");
                tcp.flush().await.expect("flushing a raw frame");
            }
            _ => panic!("raw frames are only supported on plain ws:// connections"),
        }
    }

    /// The next frame (buffered ones first), or `None` if none arrives within `timeout` or
    /// the socket closed.
    pub async fn recv(&mut self, timeout: Duration) -> Option<Value> {
        if let Some(v) = self.pending.pop_front() {
            return Some(v);
        }
        self.read(timeout).await
    }

    /// Reads one frame from the socket (not the buffer).
    async fn read(&mut self, timeout: Duration) -> Option<Value> {
        if self.closed.is_some() {
            return None;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let msg = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(m) => m,
            };
            match msg {
                Some(Ok(Message::Text(t))) => {
                    return Some(
                        serde_json::from_str(t.as_str())
                            .unwrap_or_else(|_| Value::String(t.as_str().to_owned())),
                    )
                }
                Some(Ok(Message::Binary(b))) => {
                    return Some(
                        serde_json::from_slice(&b)
                            .unwrap_or_else(|_| Value::String(format!("<binary {b:?}>"))),
                    )
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Close(frame))) => {
                    self.closed = Some(Closed {
                        code: frame.as_ref().map(|f| u16::from(f.code)),
                        reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                    });
                    return None;
                }
                Some(Err(e)) => {
                    self.closed = Some(Closed {
                        code: None,
                        reason: e.to_string(),
                    });
                    return None;
                }
                None => {
                    self.closed.get_or_insert(Closed {
                        code: None,
                        reason: "stream ended".into(),
                    });
                    return None;
                }
            }
        }
    }

    /// Waits (up to [`WAIT`]) for the next frame whose `type` is `ty` and returns it; other
    /// frames are kept for later waits.
    pub async fn expect(&mut self, ty: &str) -> Value {
        self.expect_where(ty, |_| true).await
    }

    /// Waits for the next frame of type `ty` that also satisfies `pred`.
    pub async fn expect_where(&mut self, ty: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let matches = |v: &Value| v["type"] == ty && pred(v);
        if let Some(i) = self.pending.iter().position(matches) {
            return self.pending.remove(i).expect("index is in range");
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read(left).await {
                Some(v) if matches(&v) => return v,
                Some(v) => self.pending.push_back(v),
                None => panic!(
                    "no `{ty}` frame arrived within {WAIT:?} (socket closed: {:?}); other frames: {:?}",
                    self.closed, self.pending
                ),
            }
        }
    }

    /// Waits for an `error` frame with `code` and returns it.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        let frame = self.expect("error").await;
        assert_eq!(frame["code"], code, "unexpected error frame {frame}");
        frame
    }

    /// Sends `ping` and waits for `pong`: proves the connection is served.
    pub async fn ping_pong(&mut self) {
        self.send(serde_json::json!({"action": "ping"})).await;
        self.expect("pong").await;
    }

    /// Asserts that no frame of type `ty` is buffered or arrives within `window`; frames of
    /// other types are kept.
    pub async fn expect_none(&mut self, ty: &str, window: Duration) {
        self.expect_none_where(ty, |_| true, window).await;
    }

    /// Asserts that no frame of type `ty` satisfying `pred` is buffered or arrives within
    /// `window`.
    pub async fn expect_none_where(
        &mut self,
        ty: &str,
        pred: impl Fn(&Value) -> bool,
        window: Duration,
    ) {
        let matches = |v: &Value| v["type"] == ty && pred(v);
        if let Some(v) = self.pending.iter().find(|v| matches(v)) {
            panic!("unexpected `{ty}` frame: {v}");
        }
        let deadline = tokio::time::Instant::now() + window;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.read(left).await {
                Some(v) if matches(&v) => panic!("unexpected `{ty}` frame: {v}"),
                Some(v) => self.pending.push_back(v),
                None => return,
            }
        }
    }

    /// Frames received but not yet taken by a wait.
    pub fn pending(&self) -> &VecDeque<Value> {
        &self.pending
    }

    /// Takes the buffered frames.
    pub fn take_pending(&mut self) -> Vec<Value> {
        self.pending.drain(..).collect()
    }

    /// Waits (up to [`WAIT`]) until the server closes the socket; buffers frames meanwhile.
    pub async fn expect_closed(&mut self) -> Closed {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.closed.is_none() {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                panic!("the socket is still open after {WAIT:?}");
            }
            if let Some(v) = self.read(left).await {
                self.pending.push_back(v);
            }
        }
        self.closed.clone().expect("closed is set")
    }

    /// How the socket ended, if it has.
    pub fn closed(&self) -> Option<&Closed> {
        self.closed.as_ref()
    }

    /// Closes the socket cleanly (close frame 1000) and waits for the server's answer.
    pub async fn close(mut self) {
        let _ = self
            .ws
            .close(Some(tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            }))
            .await;
        let _ = tokio::time::timeout(WAIT, async { while self.ws.next().await.is_some() {} }).await;
    }

    /// Drops the TCP connection without a close frame, as a crashed browser or a lost
    /// network would.
    pub fn drop_abruptly(self) {
        drop(self);
    }
}
