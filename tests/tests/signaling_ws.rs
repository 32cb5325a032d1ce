//! The signaling plane through the API Gateway emulator over real WebSockets: `DevServer`
//! in-process, clients on tokio-tungstenite, for in-memory and Redis routing.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use veet_core::protocol::Grants;
use veet_core::routing::RoomSettings;
use veet_core::token::{unix_now, JoinClaims, TokenAuthority};
use veet_tests::{panics, Backend, TestServer, WsClient, QUIET};

veet_tests::for_both_backends!(
    join_needs_a_live_node,
    bad_tokens_are_refused_at_upgrade,
    others_see_joins_and_closed_sockets,
    leave_keeps_the_socket_and_allows_rejoining,
    rooms_are_isolated,
    chat_reaches_everyone,
    mute_is_announced_to_the_others,
    same_identity_replaces_the_old_connection,
    full_room_refuses_join,
    nothing_is_left_behind,
    concurrent_joins_all_learn_of_each_other,
);

const ROOM: &str = "abc-defg-hij";

fn join() -> Value {
    json!({"action": "join"})
}

fn chat(text: &str) -> Value {
    json!({"action": "chat", "text": text})
}

fn pid(frame: &Value) -> String {
    frame["participant"]["id"]
        .as_str()
        .expect("frame has participant.id")
        .to_owned()
}

async fn participant_ids(s: &TestServer, room: &str) -> Vec<String> {
    let mut ids: Vec<String> = s
        .routing()
        .rooms
        .participants(room)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.info.id)
        .collect();
    ids.sort();
    ids
}

async fn join_needs_a_live_node(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    let mut alice = s.connect(ROOM, "alice").await;
    alice.send(join()).await;
    alice.expect_error("no_node_available").await;
    assert!(participant_ids(&s, ROOM).await.is_empty());

    s.add_node("node-1").await;
    alice.send(join()).await;
    let joined = alice.expect("joined").await;
    assert_eq!(joined["room"], ROOM);
    assert_eq!(joined["participant"]["identity"], "alice");
    assert_eq!(joined["participant"]["name"], "alice");
    assert_eq!(joined["participant"]["grants"]["can_publish"], true);
    assert_eq!(joined["participants"], json!([]));
    assert_eq!(
        joined["ice_servers"],
        json!([{"urls": ["stun:node-1.test:3478"]}]),
        "the node's ICE servers are handed out"
    );
    let room = s.routing().rooms.room(ROOM).await.unwrap().expect("room");
    assert_eq!(room.node.as_deref(), Some("node-1"));
    assert_eq!(participant_ids(&s, ROOM).await, vec![pid(&joined)]);

    alice.send(join()).await;
    alice.expect_error("already_joined").await;
    alice.ping_pong().await;
    panics::assert_no_server_panics();
}

/// A token with the header replaced, keeping payload and signature.
fn with_header(token: &str, header: &str, signature: &str) -> String {
    let payload = token.split('.').nth(1).expect("a JWT");
    format!("{}.{payload}.{signature}", URL_SAFE_NO_PAD.encode(header))
}

async fn bad_tokens_are_refused_at_upgrade(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    let base = s.dev.ws_url();
    let now = unix_now();
    let claims = |exp: u64, nbf: u64| JoinClaims {
        sub: "mallory".into(),
        name: "Mallory".into(),
        room: ROOM.into(),
        grants: Grants::default(),
        exp,
        nbf,
        iat: now,
        guest: false,
    };
    let valid = s.token(ROOM, "alice");
    let expired = s.tokens.sign(&claims(now - 3600, now - 7200)).unwrap();
    let not_yet = s.tokens.sign(&claims(now + 7200, now + 3600)).unwrap();
    let forged = TokenAuthority::new("someone-elses-secret")
        .sign(&claims(now + 3600, now))
        .unwrap();
    let alg_none = with_header(&valid, r#"{"alg":"none","typ":"JWT"}"#, "");
    let alg_none_signed = with_header(
        &valid,
        r#"{"alg":"none","typ":"JWT"}"#,
        valid.split('.').nth(2).unwrap(),
    );

    let refusals = [
        (base.clone(), 401, "token_missing"),
        (format!("{base}?token="), 401, "token_missing"),
        (format!("{base}?token={expired}"), 401, "token_expired"),
        (
            format!("{base}?token={not_yet}"),
            401,
            "token_not_yet_valid",
        ),
        (
            format!("{base}?token={forged}"),
            401,
            "token_invalid_signature",
        ),
        (
            format!("{base}?token={alg_none}"),
            401,
            "token_wrong_algorithm",
        ),
        (
            format!("{base}?token={alg_none_signed}"),
            401,
            "token_wrong_algorithm",
        ),
        (format!("{base}?token=not-a-jwt"), 401, "token_malformed"),
        (
            format!("{base}?token={}", s.token("Not A Room!", "alice")),
            403,
            "room_not_found",
        ),
        (
            format!("{base}?token={valid}&room=other-room"),
            403,
            "token_wrong_room",
        ),
    ];
    for (url, status, code) in refusals {
        let (got, body) = WsClient::connect_refused(&url).await;
        assert_eq!(got, status, "{url}: {body}");
        assert_eq!(body["code"], code, "{url}: {body}");
    }
    assert_eq!(
        s.connection_ids().len(),
        0,
        "refused upgrades leave nothing behind"
    );

    let mut ok = WsClient::connect_ok(&format!("{base}?token={valid}&room={ROOM}")).await;
    ok.ping_pong().await;
    let mut ok2 = WsClient::connect_ok(&s.url_with_token(&valid)).await;
    ok2.ping_pong().await;
    assert_eq!(s.connection_ids().len(), 2);
    panics::assert_no_server_panics();
}

async fn others_see_joins_and_closed_sockets(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (alice, alice_joined) = s.join(ROOM, "alice").await;
    let (mut bob, bob_joined) = s.join(ROOM, "bob").await;
    let (alice_id, bob_id) = (pid(&alice_joined), pid(&bob_joined));
    assert_eq!(
        bob_joined["participants"],
        json!([alice_joined["participant"]]),
        "bob is told who is already there"
    );
    let mut alice = alice;
    let seen = alice.expect("participant_joined").await;
    assert_eq!(seen["participant"], bob_joined["participant"]);

    // Alice's socket dies without a `leave` or even a close frame.
    alice.drop_abruptly();
    let left = bob.expect("participant_left").await;
    assert_eq!(left["participant_id"], alice_id.as_str());
    assert_eq!(participant_ids(&s, ROOM).await, vec![bob_id.clone()]);

    // A clean close does the same.
    let (carol, carol_joined) = s.join(ROOM, "carol").await;
    bob.expect_where("participant_joined", |f| {
        f["participant"]["identity"] == "carol"
    })
    .await;
    carol.close().await;
    let left = bob.expect("participant_left").await;
    assert_eq!(left["participant_id"], pid(&carol_joined).as_str());
    assert_eq!(participant_ids(&s, ROOM).await, vec![bob_id]);

    // The last one out frees the room.
    bob.close().await;
    veet_tests::eventually("the empty room to be freed", || async {
        s.routing()
            .rooms
            .room(ROOM)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    panics::assert_no_server_panics();
}

async fn leave_keeps_the_socket_and_allows_rejoining(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut alice, alice_joined) = s.join(ROOM, "alice").await;
    let (mut bob, _) = s.join(ROOM, "bob").await;
    alice.send(json!({"action": "leave"})).await;
    let left = bob.expect("participant_left").await;
    assert_eq!(left["participant_id"], pid(&alice_joined).as_str());
    alice.ping_pong().await;
    alice.send(chat("still here?")).await;
    alice.expect_error("not_joined").await;

    alice.send(join()).await;
    let again = alice.expect("joined").await;
    assert_ne!(
        pid(&again),
        pid(&alice_joined),
        "a new join is a new participant"
    );
    // (Bob may also hear of alice's first join late: a join announces itself after
    // answering `joined`, so announcements can repeat what `joined` listed.)
    bob.expect_where("participant_joined", |f| {
        f["participant"]["id"] == again["participant"]["id"]
    })
    .await;
    panics::assert_no_server_panics();
}

async fn rooms_are_isolated(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut a1, _) = s.join("room-a", "a1").await;
    let (mut a2, _) = s.join("room-a", "a2").await;
    let (mut b1, _) = s.join("room-b", "b1").await;
    let (mut b2, _) = s.join("room-b", "b2").await;
    a1.expect("participant_joined").await;
    b1.expect("participant_joined").await;

    a1.send(chat("hello a")).await;
    b1.send(chat("hello b")).await;
    a2.expect_where("chat", |f| f["text"] == "hello a").await;
    b2.expect_where("chat", |f| f["text"] == "hello b").await;
    a1.send(chat("second a")).await;
    a2.expect_where("chat", |f| f["text"] == "second a").await;
    b2.send(json!({"action": "mute", "track_id": "TR_b2", "muted": true}))
        .await;
    b1.expect("mute_changed").await;

    let from_b = |f: &Value| f["text"].as_str().is_some_and(|t| t.ends_with(" b"));
    let from_a = |f: &Value| f["text"].as_str().is_some_and(|t| t.ends_with(" a"));
    a2.expect_none_where("chat", from_b, QUIET).await;
    a1.expect_none_where("chat", from_b, Duration::ZERO).await;
    b2.expect_none_where("chat", from_a, Duration::ZERO).await;
    b1.expect_none_where("chat", from_a, Duration::ZERO).await;
    for c in [&mut a1, &mut a2] {
        c.expect_none("mute_changed", Duration::ZERO).await;
        c.expect_none_where(
            "participant_joined",
            |f| {
                f["participant"]["identity"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with('b')
            },
            Duration::ZERO,
        )
        .await;
    }
    for c in [&mut b1, &mut b2] {
        c.expect_none_where(
            "participant_joined",
            |f| {
                f["participant"]["identity"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with('a')
            },
            Duration::ZERO,
        )
        .await;
    }
    // A socket closing in one room is not announced in the other.
    b1.drop_abruptly();
    b2.expect("participant_left").await;
    a2.expect_none("participant_left", QUIET).await;
    panics::assert_no_server_panics();
}

async fn chat_reaches_everyone(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let mut lurker = s.connect(ROOM, "lurker").await;
    lurker.send(chat("before joining")).await;
    lurker.expect_error("not_joined").await;

    let (mut p1, j1) = s.join(ROOM, "p1").await;
    let (mut p2, _) = s.join(ROOM, "p2").await;
    let (mut p3, _) = s.join(ROOM, "p3").await;
    p1.send(chat("  hello everyone  ")).await;
    let mut ids = Vec::new();
    for c in [&mut p1, &mut p2, &mut p3] {
        let f = c.expect("chat").await;
        assert_eq!(f["text"], "hello everyone");
        assert_eq!(f["participant_id"], pid(&j1).as_str());
        assert_eq!(f["name"], "p1");
        assert!(f["sent_at"].as_u64().is_some_and(|t| t > 0));
        ids.push(f["id"].clone());
    }
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one message, one id: {ids:?}"
    );
    lurker.expect_none("chat", QUIET).await;

    p2.send(chat("   ")).await;
    p2.expect_error("invalid_frame").await;
    p2.send(chat(&"x".repeat(4001))).await;
    p2.expect_error("invalid_frame").await;
    p1.expect_none("chat", QUIET).await;
    panics::assert_no_server_panics();
}

async fn mute_is_announced_to_the_others(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut p1, j1) = s.join(ROOM, "p1").await;
    let (mut p2, _) = s.join(ROOM, "p2").await;
    let (mut p3, _) = s.join(ROOM, "p3").await;
    for muted in [true, false] {
        p1.send(json!({"action": "mute", "track_id": "TR_mic", "muted": muted}))
            .await;
        for c in [&mut p2, &mut p3] {
            let f = c.expect("mute_changed").await;
            assert_eq!(
                f,
                json!({"type": "mute_changed", "participant_id": pid(&j1), "track_id": "TR_mic", "muted": muted})
            );
        }
    }
    p1.expect_none("mute_changed", QUIET).await;
    p1.send(json!({"action": "mute", "track_id": "", "muted": true}))
        .await;
    p1.expect_error("invalid_frame").await;
    panics::assert_no_server_panics();
}

async fn same_identity_replaces_the_old_connection(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut old, old_joined) = s.join(ROOM, "alice").await;
    let (mut bob, bob_joined) = s.join(ROOM, "bob").await;
    let (mut new, new_joined) = s.join(ROOM, "alice").await;
    old.expect_error("replaced").await;
    old.expect_closed().await;
    let left = bob.expect("participant_left").await;
    assert_eq!(left["participant_id"], pid(&old_joined).as_str());
    bob.expect_where("participant_joined", |f| {
        f["participant"]["id"] == new_joined["participant"]["id"]
    })
    .await;
    new.ping_pong().await;
    let mut expected = vec![pid(&new_joined), pid(&bob_joined)];
    expected.sort();
    assert_eq!(participant_ids(&s, ROOM).await, expected);
    // The old socket's $disconnect must not take the new session with it.
    bob.send(chat("are you there, alice?")).await;
    new.expect("chat").await;
    panics::assert_no_server_panics();
}

async fn full_room_refuses_join(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    s.routing()
        .rooms
        .create_room(
            ROOM,
            RoomSettings {
                max_participants: 2,
                ..RoomSettings::default()
            },
        )
        .await
        .unwrap();
    let (mut p1, _) = s.join(ROOM, "p1").await;
    let (_p2, _) = s.join(ROOM, "p2").await;
    let mut p3 = s.connect(ROOM, "p3").await;
    p3.send(join()).await;
    p3.expect_error("room_full").await;
    p3.ping_pong().await;
    p1.expect_none_where(
        "participant_joined",
        |f| f["participant"]["identity"] == "p3",
        QUIET,
    )
    .await;
    assert_eq!(participant_ids(&s, ROOM).await.len(), 2);
    panics::assert_no_server_panics();
}

async fn nothing_is_left_behind(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut a1, _) = s.join("room-a", "a1").await;
    let (a2, _) = s.join("room-a", "a2").await;
    let (b1, _) = s.join("room-b", "b1").await;
    let lurker = s.connect("room-b", "lurker").await;
    let ids = s.connection_ids();
    assert_eq!(ids.len(), 4);
    a1.send(chat("bye")).await;
    a1.expect("chat").await;
    a1.send(json!({"action": "leave"})).await;
    a1.ping_pong().await;
    a1.close().await;
    a2.drop_abruptly();
    b1.close().await;
    lurker.drop_abruptly();

    let r = s.routing();
    veet_tests::eventually("every connection and room to be forgotten", || async {
        for id in &ids {
            if r.connections.connection(id).await.unwrap().is_some() {
                return None;
            }
        }
        r.rooms.list_rooms().await.unwrap().is_empty().then_some(())
    })
    .await;
    for room in ["room-a", "room-b"] {
        assert_eq!(r.rooms.room(room).await.unwrap(), None);
        assert!(r.rooms.participants(room).await.unwrap().is_empty());
    }
    if let Some(redis) = &s.redis {
        let client = ::redis::Client::open(redis.url()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let mut keys: Vec<String> = ::redis::cmd("KEYS")
            .arg("veet:*")
            .query_async(&mut c)
            .await
            .unwrap();
        keys.sort();
        // Rate-limit buckets outlive a connection by the seconds they take to refill, and
        // then expire on their own.
        let (buckets, keys): (Vec<String>, Vec<String>) =
            keys.into_iter().partition(|k| k.starts_with("veet:kv:rl:"));
        for b in &buckets {
            let ttl: i64 = ::redis::cmd("PTTL")
                .arg(b)
                .query_async(&mut c)
                .await
                .unwrap();
            assert!(
                (-2..=60_000).contains(&ttl) && ttl != -1,
                "{b} has PTTL {ttl}"
            );
        }
        assert_eq!(
            keys,
            vec!["veet:node:node-1", "veet:nodes"],
            "only the node registry is left in Redis"
        );
    }
    assert_eq!(s.dev.emulator.connection_count(), 0);
    panics::assert_no_server_panics();
}

async fn concurrent_joins_all_learn_of_each_other(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    const N: usize = 20;
    let joins = (0..N).map(|i| {
        let s = &s;
        async move { s.join(ROOM, &format!("p{i:02}")).await }
    });
    let mut clients = futures::future::join_all(joins).await;
    let all: Vec<String> = clients.iter().map(|(_, j)| pid(j)).collect();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(
        participant_ids(&s, ROOM).await,
        sorted,
        "everyone is in the room"
    );
    // Each learns of every other one, from `joined` or from a `participant_joined`.
    for (client, joined) in clients.iter_mut() {
        let me = pid(joined);
        let mut known: std::collections::HashSet<String> = joined["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect();
        while known.len() < N - 1 {
            let f = client
                .expect_where("participant_joined", |f| {
                    !known.contains(f["participant"]["id"].as_str().unwrap_or(""))
                })
                .await;
            known.insert(pid(&f));
        }
        assert!(!known.contains(&me), "a participant is not told of itself");
        assert!(known.iter().all(|k| all.contains(k)));
    }
    panics::assert_no_server_panics();
}
