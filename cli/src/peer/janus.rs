//! The synthetic participant against Janus's VideoRoom plugin (Janus 1.x, WebSocket
//! transport, subprotocol `janus-protocol`), so `veet loadtest --target janus` drives both
//! SFUs with the same media: the same packet generators ([`super::publisher`]) and receivers
//! ([`super::receiver`]) as [`super::SyntheticPeer`]; only the signaling differs.
//!
//! Each participant joins the room as a publisher (publishing audio and video when asked),
//! which also tells it about the room's feeds, and subscribes to every other feed through one
//! subscriber handle and peer connection per feed, Janus's classic model.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use rtc::peer_connection::sdp::RTCSessionDescription;
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use veet_sfu::media::PeerFactory;
use veet_sfu::metrics::Metrics;
use veet_sfu::SfuConfig;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
};

use super::publisher::Publisher;
use super::receiver::{receive_track, Received};
use super::{PeerOptions, TrackStats, QUIET};

/// Janus drops a session that sends nothing for 60 s.
const KEEPALIVE: Duration = Duration::from_secs(20);
/// The longest a request may wait for its answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// One Janus session over one WebSocket.
struct Session {
    /// Set once `create` answered.
    id: AtomicU64,
    out: mpsc::Sender<Message>,
    pending: Mutex<HashMap<String, oneshot::Sender<Value>>>,
    /// Messages that answer no request (plugin events, `webrtcup`, `hangup`, …).
    events: broadcast::Sender<Value>,
    next: AtomicU64,
}

impl Session {
    async fn connect(url: &str) -> anyhow::Result<(Arc<Self>, Vec<tokio::task::JoinHandle<()>>)> {
        let mut request = url.into_client_request()?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "janus-protocol".parse()?);
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .with_context(|| format!("connecting to Janus at {url}"))?;
        let (mut sink, mut stream) = socket.split();
        let (out, mut out_rx) = mpsc::channel::<Message>(1024);
        let (events, _) = broadcast::channel(1024);
        let session = Arc::new(Self {
            id: AtomicU64::new(0),
            out,
            pending: Mutex::new(HashMap::new()),
            events,
            next: AtomicU64::new(1),
        });
        let mut tasks = vec![tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
        })];
        let reader = Arc::downgrade(&session);
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(m)) = stream.next().await {
                let Message::Text(t) = m else { continue };
                let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else {
                    continue;
                };
                let Some(s) = reader.upgrade() else { break };
                s.dispatch(v);
            }
        }));
        let created = session.request(json!({"janus": "create"})).await?;
        let id = created["data"]["id"]
            .as_u64()
            .context("Janus gave no session id")?;
        session.id.store(id, Ordering::Relaxed);
        let keep = session.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(KEEPALIVE);
            loop {
                tick.tick().await;
                let _ = keep.send(json!({"janus": "keepalive"})).await;
            }
        }));
        Ok((session, tasks))
    }

    fn dispatch(&self, v: Value) {
        let kind = v["janus"].as_str().unwrap_or_default();
        if kind == "ack" {
            return;
        }
        if let Some(t) = v["transaction"].as_str() {
            if matches!(kind, "success" | "error" | "event") {
                let waiter = self
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(t);
                if let Some(w) = waiter {
                    let _ = w.send(v);
                    return;
                }
            }
        }
        let _ = self.events.send(v);
    }

    /// Sends `body` without waiting for an answer.
    async fn send(&self, body: Value) -> anyhow::Result<()> {
        let transaction = format!("t{}", self.next.fetch_add(1, Ordering::Relaxed));
        self.write(body, &transaction).await
    }

    async fn write(&self, mut body: Value, transaction: &str) -> anyhow::Result<()> {
        body["transaction"] = json!(transaction);
        let id = self.id.load(Ordering::Relaxed);
        if id != 0 {
            body["session_id"] = json!(id);
        }
        self.out
            .send(Message::Text(body.to_string().into()))
            .await?;
        Ok(())
    }

    /// Sends `body` and waits for its answer (`success`, or a plugin's `event`).
    async fn request(&self, body: Value) -> anyhow::Result<Value> {
        let (tx, rx) = oneshot::channel();
        let transaction = format!("t{}", self.next.fetch_add(1, Ordering::Relaxed));
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(transaction.clone(), tx);
        self.write(body, &transaction).await?;
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, rx)
            .await
            .context("Janus did not answer")??;
        if answer["janus"] == "error" {
            bail!("Janus refused: {}", answer["error"]);
        }
        if let Some(code) = answer["plugindata"]["data"]["error_code"].as_u64() {
            bail!(
                "VideoRoom refused ({code}): {}",
                answer["plugindata"]["data"]["error"]
            );
        }
        Ok(answer)
    }

    async fn attach(&self) -> anyhow::Result<u64> {
        let a = self
            .request(json!({"janus": "attach", "plugin": "janus.plugin.videoroom"}))
            .await?;
        a["data"]["id"].as_u64().context("Janus gave no handle id")
    }

    async fn message(
        &self,
        handle: u64,
        body: Value,
        jsep: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut m = json!({"janus": "message", "handle_id": handle, "body": body});
        if let Some(j) = jsep {
            m["jsep"] = j;
        }
        self.request(m).await
    }
}

/// Sends a Janus peer connection's candidates as trickles and reports its tracks and state.
struct Events {
    session: Arc<Session>,
    handle: u64,
    /// Tracks are recorded under `<feed>-<kind>`.
    feed: Option<(u64, Arc<Received>)>,
    state: watch::Sender<RTCPeerConnectionState>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let Ok(init) = event.candidate.to_json() else {
            return;
        };
        let candidate = json!({
            "candidate": init.candidate,
            "sdpMid": init.sdp_mid,
            "sdpMLineIndex": init.sdp_mline_index,
        });
        let _ = self
            .session
            .send(json!({"janus": "trickle", "handle_id": self.handle, "candidate": candidate}))
            .await;
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let Some((feed, received)) = &self.feed else {
            return;
        };
        let kind = match track.kind().await {
            rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Video => "video",
            _ => "audio",
        };
        let id = format!("{feed}-{kind}");
        tokio::spawn(receive_track(0, id, track, received.clone()));
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.state.send_replace(state);
    }
}

/// A synthetic participant in a Janus VideoRoom.
pub struct JanusPeer {
    received: Arc<Received>,
    connections: Arc<Mutex<Vec<Arc<dyn PeerConnection>>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    opened_at: Instant,
}

/// The feeds (publisher ids) listed in a VideoRoom `joined` or `event` message.
fn feeds(data: &Value) -> Vec<u64> {
    data["publishers"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["id"].as_u64()).collect())
        .unwrap_or_default()
}

impl JanusPeer {
    /// Joins `room` (created if missing), publishes per `options`, and subscribes to every
    /// other feed, now and as they appear.
    /// Media goes from `bind_ip`: Janus gathers no loopback candidates, so it runs in a
    /// network namespace and this is the host's end of the link to it.
    pub async fn join(
        url: &str,
        bind_ip: std::net::IpAddr,
        room: u64,
        identity: &str,
        options: &PeerOptions,
    ) -> anyhow::Result<Self> {
        let opened_at = Instant::now();
        let (session, mut tasks) = Session::connect(url).await?;
        let config = SfuConfig {
            bind_ip,
            ..SfuConfig::loopback()
        };
        let factory = Arc::new(PeerFactory::new(
            Arc::new(config),
            Arc::new(Metrics::default()),
        )?);
        let received = Arc::new(Received::new());
        let handle = session.attach().await?;
        // Rooms are made on demand; "already exists" (427) is fine.
        let _ = session
            .message(
                handle,
                json!({"request": "create", "room": room, "publishers": 100,
                       "bitrate": options.video_bitrate_bps, "videocodec": "vp8",
                       "audiocodec": "opus", "audiolevel_ext": true}),
                None,
            )
            .await;
        let joined = session
            .message(
                handle,
                json!({"request": "join", "ptype": "publisher", "room": room, "display": identity}),
                None,
            )
            .await?;
        let data = &joined["plugindata"]["data"];
        let own = data["id"].as_u64().context("no feed id in `joined`")?;
        let existing = feeds(data);
        let peer_conns = Arc::new(Mutex::new(Vec::<Arc<dyn PeerConnection>>::new()));
        if let Some(publisher) = Publisher::new(
            identity,
            options,
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU8::new(QUIET)),
        ) {
            let (state_tx, state_rx) = watch::channel(RTCPeerConnectionState::New);
            let pc = factory
                .build(Arc::new(Events {
                    session: session.clone(),
                    handle,
                    feed: None,
                    state: state_tx,
                }))
                .await?;
            publisher.attach(&pc, 0, state_rx).await?;
            let offer = pc.create_offer(None).await?;
            pc.set_local_description(offer).await?;
            let sdp = pc
                .local_description()
                .await
                .map(|d| d.sdp)
                .unwrap_or_default();
            let answer = session
                .message(
                    handle,
                    json!({"request": "configure", "audio": true, "video": true}),
                    Some(json!({"type": "offer", "sdp": sdp})),
                )
                .await?;
            let sdp = answer["jsep"]["sdp"]
                .as_str()
                .context("no answer to the publish offer")?;
            pc.set_remote_description(RTCSessionDescription::answer(sdp.to_owned())?)
                .await?;
            tasks.extend(publisher.spawn());
            peer_conns
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(pc);
        }
        // Subscribe to the feeds there are, then to each new one the room announces.
        let (feed_tx, mut feed_rx) = mpsc::channel::<u64>(256);
        for f in existing.into_iter().filter(|f| *f != own) {
            let _ = feed_tx.send(f).await;
        }
        let mut events = session.events.subscribe();
        tasks.push(tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(v) => {
                        if v["sender"].as_u64() != Some(handle) {
                            continue;
                        }
                        for f in feeds(&v["plugindata"]["data"]) {
                            if f != own && feed_tx.send(f).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return,
                }
            }
        }));
        let subscriber = session.clone();
        let conns = peer_conns.clone();
        let rec = received.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(feed) = feed_rx.recv().await {
                if seen.contains(&feed) {
                    continue;
                }
                seen.push(feed);
                match subscribe(&subscriber, &factory, room, feed, rec.clone()).await {
                    Ok(pc) => conns.lock().unwrap_or_else(|e| e.into_inner()).push(pc),
                    Err(e) => tracing::warn!(feed, error = %e, "could not subscribe"),
                }
            }
        }));
        Ok(Self {
            received,
            connections: peer_conns,
            tasks,
            opened_at,
        })
    }

    /// What each received track delivered, by `<feed>-<kind>`.
    pub fn received(&self) -> HashMap<String, TrackStats> {
        self.received.snapshot()
    }

    /// Forgets what was received so far.
    pub fn reset_received(&self) {
        self.received.reset();
    }

    /// From the WebSocket connect to the first remote media packet.
    pub fn time_to_first_media(&self) -> Option<Duration> {
        self.received
            .first_packet_at()
            .map(|t| t.saturating_duration_since(self.opened_at))
    }

    /// Stops everything (Janus notices the session closing).
    pub async fn leave(self) {
        for t in &self.tasks {
            t.abort();
        }
        let conns =
            std::mem::take(&mut *self.connections.lock().unwrap_or_else(|e| e.into_inner()));
        for pc in conns {
            let _ = pc.close().await;
        }
    }
}

/// Subscribes to one feed: Janus offers, we answer and `start`.
async fn subscribe(
    session: &Arc<Session>,
    factory: &Arc<PeerFactory>,
    room: u64,
    feed: u64,
    received: Arc<Received>,
) -> anyhow::Result<Arc<dyn PeerConnection>> {
    let handle = session.attach().await?;
    let attached = session
        .message(
            handle,
            json!({"request": "join", "ptype": "subscriber", "room": room,
                   "streams": [{"feed": feed}]}),
            None,
        )
        .await?;
    let offer = attached["jsep"]["sdp"]
        .as_str()
        .context("no offer for the subscription")?;
    let (state_tx, _) = watch::channel(RTCPeerConnectionState::New);
    let pc = factory
        .build(Arc::new(Events {
            session: session.clone(),
            handle,
            feed: Some((feed, received)),
            state: state_tx,
        }))
        .await?;
    pc.set_remote_description(RTCSessionDescription::offer(offer.to_owned())?)
        .await?;
    let answer = pc.create_answer(None).await?;
    pc.set_local_description(answer).await?;
    let sdp = pc
        .local_description()
        .await
        .map(|d| d.sdp)
        .unwrap_or_default();
    session
        .message(
            handle,
            json!({"request": "start"}),
            Some(json!({"type": "answer", "sdp": sdp})),
        )
        .await?;
    Ok(pc)
}
