//! Bad input through the emulator: every malformed frame gets an `error` frame with a stable
//! code, the connection and everyone else keep working, oversized messages close only their
//! own socket, bursts are answered in full, and nothing panics.

use serde_json::{json, Value};
use veet_tests::{panics, Backend, TestServer, WsClient, QUIET};

veet_tests::for_both_backends!(
    bad_frames_get_error_codes_and_nothing_else_breaks,
    oversized_message_closes_only_that_socket,
    burst_of_a_thousand_pings_is_answered_in_full,
    a_chat_flood_reaches_the_room_only_up_to_the_limit,
    binary_frames_and_invalid_utf8,
);

const ROOM: &str = "abc-defg-hij";

/// Proves `bystander` and `sender` still work: `sender` is answered and `bystander`'s chat
/// reaches both.
async fn still_working(sender: &mut WsClient, bystander: &mut WsClient, marker: &str) {
    sender.ping_pong().await;
    bystander
        .send(json!({"action": "chat", "text": marker}))
        .await;
    for c in [bystander, sender] {
        c.expect_where("chat", |f| f["text"] == marker).await;
    }
}

async fn room_participants(s: &TestServer) -> usize {
    s.routing().rooms.participants(ROOM).await.unwrap().len()
}

async fn bad_frames_get_error_codes_and_nothing_else_breaks(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut alice, _) = s.join(ROOM, "alice").await;
    let (mut bob, _) = s.join(ROOM, "bob").await;
    alice.expect("participant_joined").await;

    let forty_kb = json!({"action": "chat", "text": "x".repeat(40 * 1024)}).to_string();
    let cases: Vec<(String, &str)> = vec![
        ("{not json".into(), "malformed_frame"),
        ("".into(), "malformed_frame"),
        ("null".into(), "malformed_frame"),
        ("[1,2,3]".into(), "malformed_frame"),
        ("\"join\"".into(), "malformed_frame"),
        (r#"{"action":"dance"}"#.into(), "unknown_action"),
        (r#"{"action":"$connect"}"#.into(), "unknown_action"),
        (r#"{"action":"chat"}"#.into(), "invalid_frame"),
        (
            r#"{"action":"mute","track_id":"t"}"#.into(),
            "invalid_frame",
        ),
        (
            r#"{"action":"signal","role":"publisher"}"#.into(),
            "invalid_frame",
        ),
        (
            r#"{"action":"signal","role":"sideways","signal":{"kind":"answer","sdp":"v=0"}}"#
                .into(),
            "invalid_frame",
        ),
        (r#"{"action":7}"#.into(), "invalid_frame"),
        (r#"{"text":"no action"}"#.into(), "invalid_frame"),
        (r#"{"action":"chat","text":42}"#.into(), "invalid_frame"),
        (forty_kb, "frame_too_large"),
    ];
    for (i, (frame, code)) in cases.into_iter().enumerate() {
        alice.send_text(frame.clone()).await;
        let err = alice.expect_error(code).await;
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "error frames explain themselves: {err}"
        );
        still_working(&mut alice, &mut bob, &format!("still here {i}")).await;
    }
    assert_eq!(room_participants(&s).await, 2);
    bob.expect_none("error", QUIET).await;
    panics::assert_no_server_panics();
}

async fn oversized_message_closes_only_that_socket(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut alice, alice_joined) = s.join(ROOM, "alice").await;
    let (mut bob, _) = s.join(ROOM, "bob").await;
    let (mut carol, _) = s.join(ROOM, "carol").await;

    let huge = json!({"action": "chat", "text": "y".repeat(130 * 1024)}).to_string();
    alice.send_text(huge).await;
    let closed = alice.expect_closed().await;
    assert_eq!(
        closed.code,
        Some(1009),
        "API Gateway closes with 1009 (message too big): {closed:?}"
    );

    let left = bob
        .expect_where("participant_left", |f| {
            f["participant_id"] == alice_joined["participant"]["id"]
        })
        .await;
    assert_eq!(left["participant_id"], alice_joined["participant"]["id"]);
    still_working(&mut bob, &mut carol, "we carry on").await;
    assert_eq!(room_participants(&s).await, 2);
    bob.expect_none_where("chat", |f| f["name"] == "alice", QUIET)
        .await;
    // The server still takes new connections.
    let (mut dave, _) = s.join(ROOM, "dave").await;
    dave.ping_pong().await;
    panics::assert_no_server_panics();
}

async fn burst_of_a_thousand_pings_is_answered_in_full(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut alice, _) = s.join(ROOM, "alice").await;
    let (mut bob, _) = s.join(ROOM, "bob").await;
    let ping = json!({"action": "ping"}).to_string();
    alice.send_burst(std::iter::repeat_n(ping, 1000)).await;
    // Every frame is answered: a pong while the bucket lasts, then `rate_limited` with a
    // retry hint. None is dropped and the socket stays open.
    let (mut pongs, mut limited) = (0, 0);
    while pongs + limited < 1000 {
        let f = alice
            .recv(veet_tests::WAIT)
            .await
            .unwrap_or_else(|| panic!("only {} of 1000 answers arrived", pongs + limited));
        match f["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("error") => {
                assert_eq!(f["code"], "rate_limited", "{f}");
                assert!(f["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0), "{f}");
                limited += 1;
            }
            // Other frames (bob's arrival) may be interleaved; they do not count.
            _ => {}
        }
    }
    assert!(pongs >= 10, "the burst allowance is served: {pongs}");
    assert!(limited > 900, "the rest is refused: {limited}");
    alice.expect_none("pong", QUIET).await;
    alice.expect_none("error", QUIET).await;
    still_working(&mut alice, &mut bob, "after the burst").await;
    panics::assert_no_server_panics();
}

async fn a_chat_flood_reaches_the_room_only_up_to_the_limit(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut alice, _) = s.join(ROOM, "alice").await;
    let (mut bob, _) = s.join(ROOM, "bob").await;
    let (mut carol, _) = s.join(ROOM, "carol").await;
    let started = std::time::Instant::now();
    alice
        .send_burst(
            (0..1000).map(|i| json!({"action": "chat", "text": format!("spam {i}")}).to_string()),
        )
        .await;
    // Alice hears back about every frame: her own message for each one let through (chat
    // echoes to the sender), `rate_limited` for the rest.
    let (mut echoed, mut limited) = (0u32, 0u32);
    while echoed + limited < 1000 {
        let f = alice
            .recv(veet_tests::WAIT)
            .await
            .unwrap_or_else(|| panic!("only {} of 1000 answers arrived", echoed + limited));
        match f["type"].as_str() {
            Some("chat") => echoed += 1,
            Some("error") => {
                assert_eq!(f["code"], "rate_limited", "{f}");
                limited += 1;
            }
            _ => {}
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // The chat bucket: 20 at once, then 5 a second.
    let allowed = 20.0 + 5.0 * elapsed.ceil() + 1.0;
    assert!(
        (20..=allowed as u32).contains(&echoed),
        "{echoed} of 1000 got through in {elapsed:.1} s (limit {allowed})"
    );
    for other in [&mut bob, &mut carol] {
        let mut got = 0;
        while got < echoed {
            other.expect_where("chat", |f| f["name"] == "alice").await;
            got += 1;
        }
        other
            .expect_none_where("chat", |f| f["name"] == "alice", QUIET)
            .await;
    }
    // Everyone is still connected and served, the flooder included once its bucket refills.
    still_working(&mut bob, &mut carol, "we can still talk").await;
    assert_eq!(room_participants(&s).await, 3);
    alice.ping_pong().await;
    panics::assert_no_server_panics();
}

async fn binary_frames_and_invalid_utf8(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut alice, alice_joined) = s.join(ROOM, "alice").await;
    let (mut bob, _) = s.join(ROOM, "bob").await;
    let (mut carol, _) = s.join(ROOM, "carol").await;

    // A binary frame holding a valid frame is served like text.
    alice.send_binary(br#"{"action":"ping"}"#.to_vec()).await;
    alice.expect("pong").await;
    // Binary garbage that is not UTF-8 is a malformed frame, not a dead connection.
    alice.send_binary(vec![0xff, 0xfe, 0x00, 0x80, 0xc3]).await;
    alice.expect_error("malformed_frame").await;
    // Invalid UTF-8 inside a binary frame that otherwise looks like JSON.
    let mut bytes = br#"{"action":"chat","text":""#.to_vec();
    bytes.extend_from_slice(&[0xc3, 0x28, 0xa0, 0xa1]);
    bytes.extend_from_slice(br#""}"#);
    alice.send_binary(bytes).await;
    // Answered one way or the other: refused, or decoded lossily into a chat.
    loop {
        let answer: Value = alice.recv(veet_tests::WAIT).await.expect("an answer");
        match answer["type"].as_str() {
            Some("error") => break,
            Some("chat") if answer["name"] == "alice" => break,
            _ => {}
        }
    }
    still_working(&mut alice, &mut bob, "after binary").await;

    // A text frame that is not UTF-8 breaks the WebSocket protocol: that socket is closed,
    // and only that one.
    alice.send_raw_frame(0x1, &[0x7b, 0xff, 0xfe, 0x7d]).await;
    let closed = alice.expect_closed().await;
    assert_eq!(closed.code, Some(1007), "invalid payload data: {closed:?}");
    bob.expect_where("participant_left", |f| {
        f["participant_id"] == alice_joined["participant"]["id"]
    })
    .await;
    still_working(&mut bob, &mut carol, "after bad utf-8").await;

    // So is a frame with a reserved opcode.
    let (mut dave, dave_joined) = s.join(ROOM, "dave").await;
    dave.send_raw_frame(0x3, b"reserved").await;
    dave.expect_closed().await;
    bob.expect_where("participant_left", |f| {
        f["participant_id"] == dave_joined["participant"]["id"]
    })
    .await;
    still_working(&mut bob, &mut carol, "after a reserved opcode").await;
    assert_eq!(room_participants(&s).await, 2);
    panics::assert_no_server_panics();
}
