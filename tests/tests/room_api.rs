//! The room API and outgoing webhooks, end to end: a `DevServer` on a real redis-server with
//! its SFU node, signed HTTP requests, WebSocket participants, synthetic WebRTC publishers and
//! a real local HTTP receiver for the webhooks.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{json, Value};
use veet::dev::{DevConfig, DevServer};
use veet::peer::{PeerOptions, SyntheticPeer};
use veet_core::protocol::{ClientFrame, ServerFrame};
use veet_core::signature;
use veet_core::token::{unix_now, TokenAuthority};
use veet_core::webhook::WebhookConfig;
use veet_sfu::SfuConfig;
use veet_tests::{RedisServer, WsClient};

const TOKEN_SECRET: &str = "room-api-test-token-secret";
const API_SECRET: &[u8] = b"room-api-test-api-secret";
const HOOK_SECRET: &[u8] = b"room-api-test-webhook-secret";

struct Server {
    dev: DevServer,
    _redis: RedisServer,
    http: reqwest::Client,
}

impl Server {
    async fn start(webhook_url: Option<String>) -> Self {
        veet_tests::init_tracing();
        let redis = RedisServer::start();
        let mut config = DevConfig::local(0, TokenAuthority::new(TOKEN_SECRET));
        config.redis = Some(redis.url());
        config.api_secret = API_SECRET.to_vec();
        config.sfu = Some(SfuConfig::loopback());
        config.webhooks = webhook_url.and_then(|u| WebhookConfig::new(&u, HOOK_SECRET.to_vec()));
        let dev = DevServer::start(config).await.expect("dev server");
        Self {
            dev,
            _redis: redis,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.dev.addr)
    }

    /// Sends `body` with the given signature header value (or none).
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
        signature: Option<String>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .body(body.to_owned());
        if let Some(s) = signature {
            req = req.header(signature::SIGNATURE_HEADER, s);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A correctly signed request.
    async fn signed(&self, method: reqwest::Method, path: &str, body: &str) -> (u16, Value) {
        let sig = sign(method.as_str(), path, body, unix_now());
        self.send(method, path, body, Some(sig)).await
    }

    /// The status of a public guest-token request for `code`.
    async fn guest_token_status(&self, code: &str) -> u16 {
        let url = self.url(&format!("/api/rooms/{code}/token"));
        let resp = self
            .http
            .post(url)
            .body(r#"{"name":"Eve"}"#)
            .send()
            .await
            .unwrap();
        resp.status().as_u16()
    }

    async fn room_count(&self) -> usize {
        self.dev.routing.rooms.list_rooms().await.unwrap().len()
    }

    fn ws(&self, token: &str) -> String {
        format!("ws://{}/ws?token={token}", self.dev.addr)
    }
}

/// The documented scheme: `v1 = HMAC-SHA256(secret, "<t>.<METHOD> <path>.<body>")`.
fn sign(method: &str, path: &str, body: &str, t: u64) -> String {
    signature::sign(
        API_SECRET,
        t,
        &signature::request_content(method, path, body.as_bytes()),
    )
}

fn token_of(created: &Value, identity: &str) -> String {
    created["tokens"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["identity"] == identity))
        .and_then(|t| t["token"].as_str())
        .unwrap_or_else(|| panic!("no token for {identity} in {created}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_signed_create_makes_a_room_whose_token_joins() {
    let s = Server::start(None).await;
    let body = json!({"name": "Planning", "max_participants": 5, "participants": [{"identity": "host-1", "host": true}, {"identity": "guest-1"}]}).to_string();
    let (status, created) = s.signed(reqwest::Method::POST, "/rooms", &body).await;
    assert_eq!(status, 201, "{created}");
    let code = created["room"]["code"].as_str().expect("code").to_owned();
    assert!(created["room"]["join_url"]
        .as_str()
        .unwrap()
        .ends_with(&code));
    let info = s
        .dev
        .routing
        .rooms
        .room(&code)
        .await
        .unwrap()
        .expect("room exists in Redis");
    assert_eq!(info.settings.name.as_deref(), Some("Planning"));
    assert_eq!(info.settings.max_participants, 5);

    let mut host = WsClient::connect_ok(&s.ws(&token_of(&created, "host-1"))).await;
    host.send(json!({"action": "join"})).await;
    let joined = host.expect("joined").await;
    assert_eq!(joined["participant"]["identity"], "host-1");
    assert_eq!(joined["participant"]["grants"]["room_admin"], true);

    let (status, shown) = s
        .signed(reqwest::Method::GET, &format!("/rooms/{code}"), "")
        .await;
    assert_eq!(status, 200);
    assert_eq!(shown["participants"].as_array().unwrap().len(), 1);
    assert!(shown["started_at"].as_u64().is_some());
    assert!(shown["node"].as_str().is_some());
    let (status, listed) = s.signed(reqwest::Method::GET, "/rooms", "").await;
    assert_eq!(status, 200);
    assert!(listed["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["code"] == code.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_signatures_are_refused_and_create_nothing() {
    let s = Server::start(None).await;
    let body = json!({"name": "x"}).to_string();
    let now = unix_now();
    let content = signature::request_content("POST", "/rooms", body.as_bytes());
    let cases = [
        ("unsigned", None, "missing"),
        (
            "wrong key",
            Some(signature::sign(b"not-the-secret", now, &content)),
            "does not match",
        ),
        (
            "other body",
            Some(sign("POST", "/rooms", "{}", now)),
            "does not match",
        ),
        (
            "other endpoint",
            Some(sign("POST", "/rooms/x/participants/y/remove", &body, now)),
            "does not match",
        ),
        (
            "stale",
            Some(sign("POST", "/rooms", &body, now - 600)),
            "old",
        ),
        ("garbage", Some("v1=zz".to_owned()), "malformed"),
    ];
    for (what, sig, expect) in cases {
        let (status, answer) = s.send(reqwest::Method::POST, "/rooms", &body, sig).await;
        assert_eq!(status, 401, "{what}: {answer}");
        assert_eq!(answer["code"], "unauthorized", "{what}");
        assert!(
            answer["message"].as_str().unwrap().contains(expect),
            "{what}: {answer}"
        );
    }
    assert_eq!(s.room_count().await, 0, "no room was created");

    // The same signed request twice: the second is a replay.
    let sig = sign("POST", "/rooms", &body, unix_now());
    let (first, _) = s
        .send(reqwest::Method::POST, "/rooms", &body, Some(sig.clone()))
        .await;
    assert_eq!(first, 201);
    let (second, answer) = s
        .send(reqwest::Method::POST, "/rooms", &body, Some(sig))
        .await;
    assert_eq!(second, 401, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("already used"));
    assert_eq!(s.room_count().await, 1, "the replay created nothing");
    // Reads are signed too.
    let (status, _) = s.send(reqwest::Method::GET, "/rooms", "", None).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_bodies_get_400_naming_the_field() {
    let s = Server::start(None).await;
    let cases = [
        ("{not json", "body"),
        ("[]", "body"),
        (r#"{"max_participants":"many"}"#, "max_participants"),
        (r#"{"empty_timeout_secs":-1}"#, "empty_timeout_secs"),
        (r#"{"code":"Has Spaces"}"#, "code"),
        (r#"{"access":"secret"}"#, "access"),
        (
            r#"{"participants":[{"host":true}]}"#,
            "participants[0].identity",
        ),
        (r#"{"colour":"red"}"#, "colour"),
    ];
    for (body, field) in cases {
        let (status, answer) = s.signed(reqwest::Method::POST, "/rooms", body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["field"], field, "{body}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains(field.split('[').next().unwrap()),
            "{answer}"
        );
    }
    assert_eq!(s.room_count().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_creates_with_one_key_make_one_room() {
    let s = Arc::new(Server::start(None).await);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            // Distinct bodies, so no request is refused as a replay of another.
            let body =
                json!({"idempotency_key": "booking-42", "name": format!("try {i}")}).to_string();
            s.signed(reqwest::Method::POST, "/rooms", &body).await
        }));
    }
    let mut codes = HashSet::new();
    let mut created = 0;
    for t in tasks {
        let (status, answer) = t.await.unwrap();
        assert!(status == 201 || status == 200, "{status}: {answer}");
        created += usize::from(status == 201);
        codes.insert(answer["room"]["code"].as_str().unwrap().to_owned());
    }
    assert_eq!(codes.len(), 1, "one idempotency key, one room: {codes:?}");
    assert_eq!(created, 1, "exactly one request created it");
    assert_eq!(s.room_count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_a_room_ends_the_call_for_everyone() {
    let s = Server::start(None).await;
    let body = json!({"participants": [{"identity": "a"}, {"identity": "b"}]}).to_string();
    let (_, created) = s.signed(reqwest::Method::POST, "/rooms", &body).await;
    let code = created["room"]["code"].as_str().unwrap().to_owned();
    let mut a = WsClient::connect_ok(&s.ws(&token_of(&created, "a"))).await;
    let mut b = WsClient::connect_ok(&s.ws(&token_of(&created, "b"))).await;
    a.send(json!({"action": "join"})).await;
    a.expect("joined").await;
    b.send(json!({"action": "join"})).await;
    b.expect("joined").await;
    let (status, _) = s
        .signed(reqwest::Method::DELETE, &format!("/rooms/{code}"), "")
        .await;
    assert_eq!(status, 204);
    for (c, who) in [(&mut a, "a"), (&mut b, "b")] {
        let closed = c.expect("room_closed").await;
        assert_eq!(closed["reason"], "deleted", "{who}");
        c.expect_closed().await;
    }
    assert!(s.dev.routing.rooms.room(&code).await.unwrap().is_none());
    let (status, _) = s
        .signed(reqwest::Method::GET, &format!("/rooms/{code}"), "")
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn removing_a_participant_closes_only_its_connection() {
    let s = Server::start(None).await;
    let body = json!({"participants": [{"identity": "host", "host": true}, {"identity": "troll"}]})
        .to_string();
    let (_, created) = s.signed(reqwest::Method::POST, "/rooms", &body).await;
    let code = created["room"]["code"].as_str().unwrap().to_owned();
    let mut host = WsClient::connect_ok(&s.ws(&token_of(&created, "host"))).await;
    host.send(json!({"action": "join"})).await;
    host.expect("joined").await;
    let mut troll = WsClient::connect_ok(&s.ws(&token_of(&created, "troll"))).await;
    troll.send(json!({"action": "join"})).await;
    let id = troll.expect("joined").await["participant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = s
        .signed(
            reqwest::Method::POST,
            &format!("/rooms/{code}/participants/{id}/remove"),
            "",
        )
        .await;
    assert_eq!(status, 204);
    troll.expect_error("removed").await;
    troll.expect_closed().await;
    let left = host.expect("participant_left").await;
    assert_eq!(left["participant_id"], id.as_str());
    host.ping_pong().await;
    let (status, _) = s
        .signed(
            reqwest::Method::POST,
            &format!("/rooms/{code}/participants/nobody/remove"),
            "",
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invite_only_rooms_refuse_guest_tokens() {
    let s = Server::start(None).await;
    let (_, created) = s
        .signed(
            reqwest::Method::POST,
            "/rooms",
            r#"{"access":"invite_only"}"#,
        )
        .await;
    let code = created["room"]["code"].as_str().unwrap();
    assert_eq!(s.guest_token_status(code).await, 403);
    let (_, open) = s
        .signed(reqwest::Method::POST, "/rooms", r#"{"access":"open"}"#)
        .await;
    let code = open["room"]["code"].as_str().unwrap();
    assert_eq!(s.guest_token_status(code).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_guest_token_taken_early_does_not_open_an_invite_only_room() {
    let s = Server::start(None).await;
    // A guest token for a code nobody has created yet…
    let resp = s
        .http
        .post(s.url("/api/rooms/weekly-sync/token"))
        .body(r#"{"name":"Eve"}"#)
        .send()
        .await
        .unwrap();
    let guest: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    let guest_token = guest["token"].as_str().unwrap().to_owned();
    // …is refused once the room is created invite-only, while an issued token joins.
    let (status, created) = s
        .signed(
            reqwest::Method::POST,
            "/rooms",
            r#"{"code":"weekly-sync","access":"invite_only","participants":[{"identity":"ann"}]}"#,
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (status, body) = WsClient::connect_refused(&s.ws(&guest_token)).await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "invite_only");
    let mut ann = WsClient::connect_ok(&s.ws(&token_of(&created, "ann"))).await;
    ann.send(json!({"action": "join"})).await;
    ann.expect("joined").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_create_does_not_bind_its_idempotency_key() {
    let s = Server::start(None).await;
    let (status, _) = s
        .signed(reqwest::Method::POST, "/rooms", r#"{"code":"taken"}"#)
        .await;
    assert_eq!(status, 201);
    let (status, _) = s
        .signed(
            reqwest::Method::POST,
            "/rooms",
            r#"{"code":"taken","idempotency_key":"k1"}"#,
        )
        .await;
    assert_eq!(status, 409);
    // The key is free again: it now makes its own room, not a handle on someone else's.
    let (status, created) = s
        .signed(
            reqwest::Method::POST,
            "/rooms",
            r#"{"idempotency_key":"k1"}"#,
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_ne!(created["room"]["code"], "taken");
    let (status, _) = s
        .signed(
            reqwest::Method::POST,
            "/rooms/taken/participants/x/kick",
            "",
        )
        .await;
    assert_eq!(status, 404, "unknown participant actions are not endpoints");
}

// ---------------------------------------------------------------------------------------
// Webhooks

/// What the receiver recorded.
#[derive(Clone, Default)]
struct Received {
    events: Arc<Mutex<Vec<Value>>>,
    bad_signatures: Arc<Mutex<u32>>,
}

/// A local webhook receiver that verifies each delivery's signature.
async fn receiver_at(
    addr: SocketAddr,
    received: Received,
    hang: bool,
) -> tokio::task::JoinHandle<()> {
    async fn hook(
        State((r, hang)): State<(Received, bool)>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        if hang {
            std::future::pending::<()>().await;
        }
        let sig = headers
            .get(signature::SIGNATURE_HEADER)
            .and_then(|h| h.to_str().ok());
        if signature::verify(HOOK_SECRET, sig, &body, unix_now()).is_err() {
            *r.bad_signatures.lock().unwrap() += 1;
            return StatusCode::UNAUTHORIZED;
        }
        let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(
            headers.get("veet-event-id").and_then(|h| h.to_str().ok()),
            event["id"].as_str()
        );
        r.events.lock().unwrap().push(event);
        StatusCode::NO_CONTENT
    }
    let app = axum::Router::new()
        .route("/hook", post(hook))
        .with_state((received, hang));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("bind receiver");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], veet_tests::redis_server::free_port()))
}

/// De-duplicated (at-least-once delivery) `(event, participant identity, track id)` list.
fn timeline(received: &Received) -> Vec<(String, String, String)> {
    let mut seen = HashSet::new();
    received
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| seen.insert(e["id"].as_str().unwrap_or_default().to_owned()))
        .map(|e| {
            (
                e["event"].as_str().unwrap_or_default().to_owned(),
                e["participant"]["identity"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e["track"]["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Two join, one publishes audio and video, the other raises a hand, reacts and lowers the
/// hand, the publisher leaves, then the other.
async fn scripted_meeting(s: &Server, code: &str) {
    let tokens = TokenAuthority::new(TOKEN_SECRET);
    let token = |id: &str| {
        tokens
            .issue(code, id, id, Default::default(), Duration::from_secs(600))
            .unwrap()
    };
    let ws = format!("ws://{}/ws", s.dev.addr);
    let publisher = SyntheticPeer::join(PeerOptions::new(&ws, token("pub")))
        .await
        .expect("pub joins");
    let mut options = PeerOptions::new(&ws, token("watcher"));
    options.publish_audio = false;
    options.publish_video = false;
    let watcher = SyntheticPeer::join(options).await.expect("watcher joins");
    veet_tests::eventually("watcher receives both tracks", || async {
        (watcher
            .received()
            .values()
            .filter(|t| t.packets > 0)
            .count()
            == 2)
            .then_some(())
    })
    .await;
    // Each gesture is heard back before the next, so their events are in this order.
    for (frame, heard) in [
        (ClientFrame::RaiseHand { raised: true }, "hand up"),
        (
            ClientFrame::React {
                emoji: "👏".into()
            },
            "reaction",
        ),
        (ClientFrame::RaiseHand { raised: false }, "hand down"),
    ] {
        let echo = watcher.wait_frame(Duration::from_secs(10), move |f| match f {
            ServerFrame::HandChanged { raised_at, .. } => {
                (heard == "hand up") == raised_at.is_some() && heard != "reaction"
            }
            ServerFrame::Reaction { .. } => heard == "reaction",
            _ => false,
        });
        watcher.send(&frame).await.expect("sending a gesture");
        echo.await.unwrap_or_else(|e| panic!("{heard}: {e}"));
    }
    let unpublished = watcher.wait_frame(Duration::from_secs(10), |f| {
        matches!(f, ServerFrame::TrackUnpublished { .. })
    });
    publisher.leave().await;
    unpublished.await.expect("watcher sees the tracks go");
    watcher.leave().await;
}

fn expected_order() -> Vec<(&'static str, &'static str)> {
    vec![
        ("room_started", ""),
        ("participant_joined", "pub"),
        ("participant_joined", "watcher"),
        ("hand_raised", "watcher"),
        ("reaction", "watcher"),
        ("hand_lowered", "watcher"),
        ("participant_left", "pub"),
        ("participant_left", "watcher"),
        ("room_finished", ""),
    ]
}

/// Checks the causal order of a meeting's events.
fn assert_causal(t: &[(String, String, String)]) {
    let pos = |ev: &str, who: &str| {
        t.iter()
            .position(|(e, w, _)| e == ev && w == who)
            .unwrap_or_else(|| panic!("no {ev} for {who:?} in {t:#?}"))
    };
    let main: Vec<usize> = expected_order().iter().map(|(e, w)| pos(e, w)).collect();
    assert!(main.windows(2).all(|w| w[0] < w[1]), "out of order: {t:#?}");
    let published: Vec<usize> = t
        .iter()
        .enumerate()
        .filter(|(_, (e, _, _))| e == "track_published")
        .map(|(i, _)| i)
        .collect();
    let unpublished: Vec<usize> = t
        .iter()
        .enumerate()
        .filter(|(_, (e, _, _))| e == "track_unpublished")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(published.len(), 2, "audio and video published: {t:#?}");
    assert_eq!(unpublished.len(), 2, "audio and video unpublished: {t:#?}");
    for (i, (_, who, track)) in t
        .iter()
        .enumerate()
        .filter(|(_, (e, _, _))| e.starts_with("track_"))
    {
        assert_eq!(who, "pub", "tracks are the publisher's");
        assert!(
            i > pos("participant_joined", "pub"),
            "track event before its publisher joined"
        );
        assert!(
            i < pos("room_finished", ""),
            "track event after the room finished"
        );
        let _ = track;
    }
    for (e, _, track) in t.iter().filter(|(e, _, _)| e == "track_unpublished") {
        let p = t
            .iter()
            .position(|(e2, _, t2)| e2 == "track_published" && t2 == track)
            .expect("published first");
        let u = t
            .iter()
            .position(|(e2, _, t2)| e2 == e && t2 == track)
            .unwrap();
        assert!(p < u, "{track} unpublished before published");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhooks_report_a_meeting_in_causal_order_with_valid_signatures() {
    let addr = free_addr();
    let received = Received::default();
    let _rx = receiver_at(addr, received.clone(), false).await;
    let s = Server::start(Some(format!("http://{addr}/hook"))).await;
    scripted_meeting(&s, "hooked-room").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !timeline(&received)
        .iter()
        .any(|(e, _, _)| e == "room_finished")
    {
        if Instant::now() > deadline {
            let q = s
                .dev
                .routing
                .events
                .len(&veet_core::webhook::queue_name(&format!(
                    "http://{addr}/hook"
                )))
                .await
                .unwrap();
            let peek = s
                .dev
                .routing
                .events
                .peek(&veet_core::webhook::queue_name(&format!(
                    "http://{addr}/hook"
                )))
                .await
                .unwrap();
            panic!(
                "not all events delivered (queue {q}, head {peek:?}, delivered {}): {:#?}",
                s.dev.webhooks.as_ref().unwrap().delivered(),
                timeline(&received)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t = timeline(&received);
    assert_causal(&t);
    assert_eq!(
        t.len(),
        13,
        "6 room/participant events + 3 gestures + 4 track events: {t:#?}"
    );
    assert_eq!(*received.bad_signatures.lock().unwrap(), 0);
    for e in received.events.lock().unwrap().iter() {
        assert_eq!(e["room"], "hooked-room");
        match e["event"].as_str() {
            Some("reaction") => assert_eq!(e["emoji"], "👏", "{e}"),
            Some("hand_raised") => assert!(e["participant"]["hand_raised_at"].is_u64(), "{e}"),
            _ => assert!(e.get("emoji").is_none(), "{e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhooks_survive_a_receiver_outage() {
    let addr = free_addr();
    let s = Server::start(Some(format!("http://{addr}/hook"))).await;
    // Nothing listens yet: every delivery fails.
    let outage = Instant::now();
    scripted_meeting(&s, "outage-room").await;
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(outage.elapsed())).await;
    let received = Received::default();
    let _rx = receiver_at(addr, received.clone(), false).await;
    veet_tests::eventually("queued events delivered after the outage", || async {
        (timeline(&received).len() == 13).then_some(())
    })
    .await;
    assert_causal(&timeline(&received));
    assert_eq!(s.dev.webhooks.as_ref().unwrap().dropped(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hanging_receiver_does_not_slow_signaling() {
    let addr = free_addr();
    let _rx = receiver_at(addr, Received::default(), true).await;
    let s = Server::start(Some(format!("http://{addr}/hook"))).await;
    let tokens = TokenAuthority::new(TOKEN_SECRET);
    // Each join emits events the receiver never answers; a delivery made inline would hold
    // every join for the 5 s webhook timeout.
    let mut clients = Vec::new();
    let mut round_trips = Vec::new();
    for i in 0..8 {
        let id = format!("p{i}");
        let token = tokens
            .issue(
                "hang-room",
                &id,
                &id,
                Default::default(),
                Duration::from_secs(600),
            )
            .unwrap();
        let started = Instant::now();
        let mut c = WsClient::connect_ok(&s.ws(&token)).await;
        c.send(json!({"action": "join"})).await;
        c.expect("joined").await;
        round_trips.push(started.elapsed());
        clients.push(c);
    }
    round_trips.sort();
    let worst = *round_trips.last().unwrap();
    eprintln!(
        "join round trip with a hanging webhook receiver: p50 {:?}, max {worst:?}",
        round_trips[round_trips.len() / 2]
    );
    assert!(
        worst < Duration::from_secs(2),
        "a join waited on webhook delivery: {round_trips:?}"
    );
    let queued = s
        .dev
        .routing
        .events
        .len(&veet_core::webhook::queue_name(&format!(
            "http://{addr}/hook"
        )))
        .await
        .unwrap();
    assert!(queued >= 8, "the events wait in the queue ({queued})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_veet_room_client_creates_lists_shows_and_deletes() {
    let s = Server::start(None).await;
    let client = veet::room::RoomClient::new(&s.url(""), API_SECRET.to_vec()).unwrap();
    let options = veet::room::CreateOptions {
        name: Some("CLI room".into()),
        hosts: vec!["ann".into()],
        ..Default::default()
    };
    let created = client.create(&options).await.expect("create");
    let code = created["room"]["code"].as_str().unwrap().to_owned();
    assert_eq!(created["tokens"][0]["room_admin"], true);
    let listed = client.list().await.expect("list");
    assert!(listed["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["code"] == code.as_str()));
    assert_eq!(client.show(&code).await.expect("show")["name"], "CLI room");
    client.delete(&code).await.expect("delete");
    let err = client.show(&code).await.unwrap_err().to_string();
    assert!(err.contains("404"), "{err}");
    let wrong = veet::room::RoomClient::new(&s.url(""), b"wrong".to_vec()).unwrap();
    assert!(wrong.list().await.unwrap_err().to_string().contains("401"));
}
