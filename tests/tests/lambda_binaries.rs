//! The real `lambda_runtime` binaries (`veet-signaling`, `veet-room-api`) handling API
//! Gateway events end to end: a local Lambda Runtime API feeds them events, a recorder
//! stands in for the WebSocket management API, and Redis is a private redis-server.
//!
//! Needs the binaries built: `cargo build --workspace` (or `-p veet-lambdas`) first.

use std::process::Command;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use veet_core::protocol::NodeMessage;
use veet_core::routing::{NodeRegistry, RoomStore};
use veet_core::token::TokenAuthority;
use veet_core::{room_code, routing::redis::RedisRouting};
use veet_tests::lambda::{ConnectionsRecorder, Outcome, RuntimeApi};
use veet_tests::{binary_path, fake_node, ChildGuard, RedisServer, WAIT};

const SECRET: &str = "lambda-test-secret";
const ROOM: &str = "abc-defg-hij";
const DOMAIN: &str = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";

/// Starts `name` against `runtime`, with the environment Lambda gives a function plus Veet's
/// configuration. Nothing else of the test's environment leaks in (no AWS profile).
fn spawn_function(
    name: &str,
    runtime: &RuntimeApi,
    redis: &RedisServer,
    extra: &[(&str, String)],
) -> ChildGuard {
    let mut cmd = Command::new(binary_path(name));
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime.host_port())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2025/01/01/[1]0123456789abcdef",
        )
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("VEET_REDIS_URL", redis.url())
        .env("VEET_TOKEN_SECRET", SECRET)
        .env("RUST_LOG", "info");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    ChildGuard::spawn(name, cmd)
}

fn request_context(connection_id: &str, route: &str, event_type: &str) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut ctx = json!({
        "routeKey": route,
        "eventType": event_type,
        "extendedRequestId": "FAKE_extRequestId=",
        "requestTime": "01/Jan/2025:00:00:00 +0000",
        "messageDirection": "IN",
        "stage": "prod",
        "connectedAt": now - 1000,
        "requestTimeEpoch": now,
        "identity": {"sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0 (veet-tests)"},
        "requestId": "FAKE_requestId=",
        "domainName": DOMAIN,
        "connectionId": connection_id,
        "apiId": "a1b2c3d4e5",
    });
    if event_type == "MESSAGE" {
        ctx["messageId"] = json!("FAKE_messageId=");
    }
    ctx
}

/// A `$connect` event as API Gateway sends it, with `?token=` if given.
fn connect_event(connection_id: &str, token: Option<&str>) -> Value {
    let mut event = json!({
        "headers": {
            "Host": DOMAIN,
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Port": "443",
            "X-Forwarded-Proto": "https",
        },
        "multiValueHeaders": {
            "Host": [DOMAIN],
            "Sec-WebSocket-Key": ["dGhlIHNhbXBsZSBub25jZQ=="],
            "Sec-WebSocket-Version": ["13"],
            "X-Forwarded-For": ["203.0.113.7"],
            "X-Forwarded-Port": ["443"],
            "X-Forwarded-Proto": ["https"],
        },
        "requestContext": request_context(connection_id, "$connect", "CONNECT"),
        "isBase64Encoded": false,
    });
    if let Some(t) = token {
        event["queryStringParameters"] = json!({"token": t});
        event["multiValueQueryStringParameters"] = json!({"token": [t]});
    }
    event
}

/// A MESSAGE event for `body`, routed the way `$request.body.action` would route it.
fn message_event(connection_id: &str, body: &str) -> Value {
    let route = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["action"].as_str().map(str::to_owned))
        .filter(|a| veet_lambdas::ROUTES.contains(&a.as_str()))
        .unwrap_or_else(|| "$default".into());
    json!({
        "requestContext": request_context(connection_id, &route, "MESSAGE"),
        "body": body,
        "isBase64Encoded": false,
    })
}

fn disconnect_event(connection_id: &str) -> Value {
    let mut ctx = request_context(connection_id, "$disconnect", "DISCONNECT");
    ctx["disconnectStatusCode"] = json!(1001);
    ctx["disconnectReason"] = json!("Going away");
    json!({
        "headers": {"Host": DOMAIN},
        "multiValueHeaders": {"Host": [DOMAIN]},
        "requestContext": ctx,
        "isBase64Encoded": false,
    })
}

fn status(response: &Value) -> i64 {
    response["statusCode"].as_i64().unwrap_or(-1)
}

/// The JSON inside a proxy response's `body` string.
fn body_json(response: &Value) -> Value {
    response["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signaling_binary_serves_websocket_events() {
    let redis = RedisServer::start();
    let runtime = RuntimeApi::start("veet-signaling").await;
    let recorder = ConnectionsRecorder::start().await;
    let mut function = spawn_function(
        "veet-signaling",
        &runtime,
        &redis,
        &[("VEET_APIGW_ENDPOINT", recorder.endpoint())],
    );
    let tokens = TokenAuthority::new(SECRET);
    let token = |identity: &str| {
        tokens
            .issue(
                ROOM,
                identity,
                identity,
                Default::default(),
                Duration::from_secs(600),
            )
            .unwrap()
    };

    // $connect: refused without a token, with a forged one, accepted with a valid one.
    let refused = runtime.invoke(connect_event("NoTokenConn0=", None)).await;
    assert_eq!(status(&refused), 401, "{refused}");
    assert_eq!(body_json(&refused)["code"], "token_missing");
    let forged = TokenAuthority::new("not-the-secret")
        .issue(
            ROOM,
            "eve",
            "Eve",
            Default::default(),
            Duration::from_secs(60),
        )
        .unwrap();
    let refused = runtime
        .invoke(connect_event("ForgedConn00=", Some(&forged)))
        .await;
    assert_eq!(status(&refused), 401, "{refused}");

    let alice = "AliceConnId0=";
    let accepted = runtime
        .invoke(connect_event(alice, Some(&token("alice"))))
        .await;
    assert_eq!(status(&accepted), 200, "{accepted}");

    // ping → pong pushed through the management API.
    let answer = runtime
        .invoke(message_event(alice, r#"{"action":"ping"}"#))
        .await;
    assert_eq!(status(&answer), 200);
    recorder.expect_frame(alice, "pong").await;

    // join before any SFU node registered.
    runtime
        .invoke(message_event(alice, r#"{"action":"join"}"#))
        .await;
    let err = recorder.expect_frame(alice, "error").await;
    assert_eq!(err["code"], "no_node_available");

    // Register a fake node in that Redis and listen on its inbox.
    let routing = RedisRouting::connect(&redis.url()).await.unwrap();
    routing
        .heartbeat(&fake_node("node-1"), Duration::from_secs(600))
        .await
        .unwrap();
    let client = ::redis::Client::open(redis.url()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe("veet:inbox:node-1").await.unwrap();
    let mut inbox = pubsub.into_on_message();

    runtime
        .invoke(message_event(alice, r#"{"action":"join"}"#))
        .await;
    let joined = recorder.expect_frame(alice, "joined").await;
    assert_eq!(joined["room"], ROOM);
    assert_eq!(joined["participant"]["identity"], "alice");
    let routed: NodeMessage = serde_json::from_str(
        &tokio::time::timeout(WAIT, inbox.next())
            .await
            .expect("the join reached the node's inbox")
            .expect("inbox open")
            .get_payload::<String>()
            .unwrap(),
    )
    .unwrap();
    match routed {
        NodeMessage::Join {
            room,
            connection_id,
            participant,
            ..
        } => {
            assert_eq!(room, ROOM);
            assert_eq!(connection_id, alice);
            assert_eq!(
                participant.id,
                joined["participant"]["id"].as_str().unwrap()
            );
        }
        other => panic!("expected a join, got {other:?}"),
    }
    assert_eq!(
        routing.room(ROOM).await.unwrap().and_then(|r| r.node),
        Some("node-1".into())
    );

    // A second participant: alice hears of bob, bob of alice leaving.
    let bob = "BobConnId000=";
    assert_eq!(
        status(
            &runtime
                .invoke(connect_event(bob, Some(&token("bob"))))
                .await
        ),
        200
    );
    runtime
        .invoke(message_event(bob, r#"{"action":"join"}"#))
        .await;
    let bob_joined = recorder.expect_frame(bob, "joined").await;
    assert_eq!(bob_joined["participants"][0]["identity"], "alice");
    recorder.expect_frame(alice, "participant_joined").await;

    // Bad input is answered with error frames; the process stays up.
    for (body, code) in [
        ("{not json", "malformed_frame"),
        (r#"{"action":"dance"}"#, "unknown_action"),
        (r#"{"action":"chat"}"#, "invalid_frame"),
    ] {
        let r = runtime.invoke(message_event(bob, body)).await;
        assert_eq!(status(&r), 200);
        recorder.expect_frame(bob, "error").await;
        assert!(
            recorder
                .frames(bob)
                .iter()
                .any(|f| f["type"] == "error" && f["code"] == code),
            "no `{code}` error for {body}: {:?}",
            recorder.frames(bob)
        );
    }
    // An event that is not an API Gateway event at all fails that invocation only.
    match runtime
        .invoke_within(json!(["not", "an", "event"]), Duration::from_secs(30))
        .await
    {
        Some(Outcome::Error(_)) => {}
        other => panic!("expected an invocation error, got {other:?}"),
    }
    function.assert_running();
    let r = runtime
        .invoke(message_event(bob, r#"{"action":"chat","text":"still up"}"#))
        .await;
    assert_eq!(status(&r), 200);
    let chat = recorder.expect_frame(alice, "chat").await;
    assert_eq!(chat["text"], "still up");

    // $disconnect of alice: bob is told, the node too.
    let r = runtime.invoke(disconnect_event(alice)).await;
    assert_eq!(status(&r), 200);
    let left = recorder.expect_frame(bob, "participant_left").await;
    assert_eq!(left["participant_id"], joined["participant"]["id"]);
    function.assert_running();
}

/// An HTTP API (payload format 2.0) event.
fn http_event(method: &str, path: &str, body: Option<&str>) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "content-type": "application/json",
            "host": "rooms.example.com",
            "user-agent": "veet-tests",
            "x-forwarded-for": "203.0.113.7",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "r00m5api",
            "domainName": "rooms.example.com",
            "domainPrefix": "rooms",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "veet-tests",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2025:00:00:00 +0000",
            "timeEpoch": 1735689600000u64,
        },
        "body": body,
        "isBase64Encoded": false,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_api_binary_serves_http_api_events() {
    let redis = RedisServer::start();
    let runtime = RuntimeApi::start("veet-room-api").await;
    let mut function = spawn_function("veet-room-api", &runtime, &redis, &[]);

    let created = runtime
        .invoke(http_event("POST", "/api/rooms", Some("{}")))
        .await;
    assert_eq!(status(&created), 201, "{created}");
    let body = body_json(&created);
    let code = body["code"].as_str().expect("a room code").to_owned();
    assert!(room_code::is_valid(&code), "{code}");
    assert_eq!(body["url"], format!("https://rooms.example.com/{code}"));
    let routing = RedisRouting::connect(&redis.url()).await.unwrap();
    assert!(
        routing.room(&code).await.unwrap().is_some(),
        "the room is stored in Redis"
    );

    let token = runtime
        .invoke(http_event(
            "POST",
            &format!("/api/rooms/{code}/token"),
            Some(r#"{"name":"Ada"}"#),
        ))
        .await;
    assert_eq!(status(&token), 200, "{token}");
    let body = body_json(&token);
    let claims = TokenAuthority::new(SECRET)
        .verify_for_room(body["token"].as_str().unwrap(), &code)
        .expect("the token verifies with the shared secret");
    assert_eq!(claims.name, "Ada");
    assert_eq!(body["ws_url"], "wss://rooms.example.com/ws");

    // Wrong input is answered, not fatal.
    let r = runtime.invoke(http_event("GET", "/api/rooms", None)).await;
    assert_eq!(status(&r), 405);
    let r = runtime
        .invoke(http_event(
            "POST",
            &format!("/api/rooms/{code}/token"),
            Some("{not json"),
        ))
        .await;
    assert_eq!(status(&r), 400);
    let r = runtime
        .invoke(http_event("POST", "/api/rooms/NOT%20VALID/token", None))
        .await;
    assert_eq!(status(&r), 400);
    function.assert_running();
    let again = runtime.invoke(http_event("POST", "/api/rooms", None)).await;
    assert_eq!(status(&again), 201);
    function.assert_running();
}
