//! Host controls, enforced by the server: only `room_admin` participants may mute others,
//! remove them, lock the meeting or end it; a removed participant stays out (old token and
//! fresh guest token alike); a locked meeting admits only hosts; and a host's mute stops the
//! node forwarding that track until its owner unmutes (real SFU node, synthetic peers).

use std::time::Duration;

use serde_json::json;
use veet::peer::{PeerOptions, SyntheticPeer};
use veet_core::protocol::{ClientFrame, ServerFrame};
use veet_tests::cluster::Cluster;
use veet_tests::{panics, Backend, TestServer, WsClient, QUIET};

veet_tests::for_both_backends!(
    only_hosts_may_use_host_controls,
    a_removed_participant_stays_out_for_the_meeting,
    a_locked_meeting_admits_only_hosts_and_those_inside,
    a_host_ends_the_meeting_for_everyone,
    guests_join_only_meetings_someone_created,
    a_knocking_guest_waits_until_a_host_answers,
    a_host_turns_the_lobby_on_and_off,
);

const ROOM: &str = "hst-ctrl-abc";

/// Neither the room nor anyone in it is left in the routing store.
async fn assert_no_meeting(s: &TestServer) {
    assert!(s.routing().rooms.room(ROOM).await.unwrap().is_none());
    let left = s.routing().rooms.participants(ROOM).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}

fn pid(joined: &serde_json::Value) -> String {
    joined["participant"]["id"].as_str().unwrap().to_owned()
}

async fn only_hosts_may_use_host_controls(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut alice, alice_joined) = s.join(ROOM, "alice").await;
    let (mut bob, _) = s.join(ROOM, "bob").await;
    let target = pid(&alice_joined);
    for frame in [
        json!({"action": "mute_participant", "participant_id": target}),
        json!({"action": "remove_participant", "participant_id": target}),
        json!({"action": "lock_meeting", "locked": true}),
        json!({"action": "end_meeting"}),
    ] {
        bob.send(frame.clone()).await;
        let err = bob.expect_error("forbidden").await;
        assert!(
            err["message"].as_str().is_some_and(|m| m.contains("host")),
            "{err}"
        );
    }
    // Nothing happened: both are in, the meeting is open, alice heard nothing.
    assert_eq!(s.routing().rooms.participants(ROOM).await.unwrap().len(), 2);
    assert!(!s.routing().rooms.room(ROOM).await.unwrap().unwrap().locked);
    for ty in ["mute_changed", "meeting_locked", "room_closed", "error"] {
        alice.expect_none(ty, QUIET).await;
    }
    // A host may, and asking about someone not in the meeting is `not_found`.
    let (mut host, _) = s.join_as_host(ROOM, "hana").await;
    host.send(json!({"action": "mute_participant", "participant_id": "PA_nobody"}))
        .await;
    host.expect_error("not_found").await;
    host.send(json!({"action": "lock_meeting", "locked": true}))
        .await;
    for c in [&mut alice, &mut bob, &mut host] {
        let f = c.expect("meeting_locked").await;
        assert_eq!(f["locked"], true);
    }
    panics::assert_no_server_panics();
}

async fn a_removed_participant_stays_out_for_the_meeting(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut host, _) = s.join_as_host(ROOM, "hana").await;
    let (mut bob, _) = s.join(ROOM, "bob").await;
    // Mallory came in as a guest, the way the web app joins.
    let (status, token) = s.guest_token(ROOM, "Mallory").await;
    assert_eq!(status, 200);
    let token = token.unwrap();
    let (mut mallory, joined) =
        TestServer::join_on(WsClient::connect_ok(&s.url_with_token(&token)).await).await;
    let mallory_id = pid(&joined);
    host.expect("participant_joined").await;

    host.send(json!({"action": "remove_participant", "participant_id": mallory_id}))
        .await;
    mallory.expect_error("removed").await;
    mallory.expect_closed().await;
    for c in [&mut host, &mut bob] {
        c.expect_where("participant_left", |f| {
            f["participant_id"] == mallory_id.as_str()
        })
        .await;
    }
    // Neither the old token, nor a fresh guest token, nor a guest token minted some other way
    // gets back in.
    let (status, body) = WsClient::connect_refused(&s.url_with_token(&token)).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("removed")));
    let (status, fresh) = s.guest_token(ROOM, "Mallory again").await;
    assert_eq!((status, fresh), (403, None));
    let minted = s
        .tokens
        .issue_guest(ROOM, "guest-other", "M.", Duration::from_secs(600))
        .unwrap();
    let (status, body) = WsClient::connect_refused(&s.url_with_token(&minted)).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("removed")));
    // Everyone else carries on, and invited people still join.
    bob.send(json!({"action": "chat", "text": "still here"}))
        .await;
    host.expect_where("chat", |f| f["text"] == "still here")
        .await;
    let (_carol, _) = s.join(ROOM, "carol").await;
    assert_eq!(s.routing().rooms.participants(ROOM).await.unwrap().len(), 3);
    panics::assert_no_server_panics();
}

async fn a_locked_meeting_admits_only_hosts_and_those_inside(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    s.routing()
        .rooms
        .create_room(ROOM, Default::default())
        .await
        .unwrap();
    let (mut host, host_joined) = s.join_as_host(ROOM, "hana").await;
    let (_bob, _) = s.join(ROOM, "bob").await;
    host.send(json!({"action": "lock_meeting", "locked": true}))
        .await;
    let locked = host.expect("meeting_locked").await;
    assert_eq!(locked["by"], pid(&host_joined).as_str());

    let mut carol = s.connect(ROOM, "carol").await;
    carol.send(json!({"action": "join"})).await;
    carol.expect_error("meeting_locked").await;
    carol.expect_none("joined", QUIET).await;
    // Bob reconnecting (a new socket, same identity) is someone inside; a second host gets in.
    let (_bob_again, _) = s.join(ROOM, "bob").await;
    let (mut host2, _) = s.join_as_host(ROOM, "henk").await;
    let told = host2.expect("meeting_locked").await;
    assert_eq!(told["locked"], true, "a host let in sees the lock");

    host.send(json!({"action": "lock_meeting", "locked": false}))
        .await;
    host.expect_where("meeting_locked", |f| f["locked"] == false)
        .await;
    carol.send(json!({"action": "join"})).await;
    carol.expect("joined").await;
    panics::assert_no_server_panics();
}

async fn a_host_ends_the_meeting_for_everyone(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut host, _) = s.join_as_host(ROOM, "hana").await;
    let (mut bob, _) = s.join(ROOM, "bob").await;
    host.send(json!({"action": "end_meeting"})).await;
    for c in [&mut host, &mut bob] {
        let f = c.expect("room_closed").await;
        assert_eq!(f["reason"], "ended");
        c.expect_closed().await;
    }
    assert_no_meeting(&s).await;
    // A new meeting can start in the room later.
    let (_dan, _) = s.join(ROOM, "dan").await;
    panics::assert_no_server_panics();
}

async fn guests_join_only_meetings_someone_created(backend: Backend) {
    panics::watch();
    let s = TestServer::start_without_public_rooms(backend).await;
    s.add_node("node-1").await;
    // A guest with a valid code nobody made a meeting for is told so, and no room appears.
    let (status, token) = s.guest_token(ROOM, "Eve").await;
    assert_eq!(status, 200);
    let mut eve = WsClient::connect_ok(&s.url_with_token(&token.unwrap())).await;
    eve.send(json!({"action": "join"})).await;
    eve.expect_error("room_not_found").await;
    assert_no_meeting(&s).await;
    // A token the room API issued starts it (as the web app's "new meeting" creates it);
    // then the guest gets in.
    let (_host, _) = s.join_as_host(ROOM, "hana").await;
    eve.send(json!({"action": "join"})).await;
    eve.expect("joined").await;
    panics::assert_no_server_panics();
}

/// A guest (a token from the public endpoint, as the web app gets one) that sent `join`.
async fn guest_joining(s: &TestServer, name: &str) -> WsClient {
    let (status, token) = s.guest_token(ROOM, name).await;
    assert_eq!(status, 200);
    let mut c = WsClient::connect_ok(&s.url_with_token(&token.unwrap())).await;
    c.send(json!({"action": "join"})).await;
    c
}

async fn a_knocking_guest_waits_until_a_host_answers(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let knock = veet_core::routing::RoomSettings {
        access: veet_core::routing::RoomAccess::Knock,
        ..Default::default()
    };
    assert!(s.routing().rooms.create_room(ROOM, knock).await.unwrap());
    let (mut host, _) = s.join_as_host(ROOM, "hana").await;
    host.expect_where("lobby_changed", |f| f["enabled"] == true)
        .await;
    // Invited people (room API tokens) do not knock.
    let (mut bob, _) = s.join(ROOM, "bob").await;

    let mut gus = guest_joining(&s, "Gus").await;
    gus.expect("waiting_in_lobby").await;
    let k = host.expect_where("knock", |f| f["name"] == "Gus").await;
    let gus_knock = k["knock_id"].as_str().unwrap().to_owned();
    // Nothing of the meeting reaches the lobby: no joined, no roster, no chat.
    bob.send(json!({"action": "chat", "text": "inside talk"}))
        .await;
    host.expect_where("chat", |f| f["text"] == "inside talk")
        .await;
    for ty in ["joined", "participant_joined", "chat"] {
        gus.expect_none(ty, QUIET).await;
    }
    assert_eq!(s.routing().rooms.participants(ROOM).await.unwrap().len(), 2);
    // Only hosts answer.
    bob.send(json!({"action": "admit_guest", "knock_id": gus_knock}))
        .await;
    bob.expect_error("forbidden").await;

    host.send(json!({"action": "admit_guest", "knock_id": gus_knock}))
        .await;
    host.expect_where("knock_resolved", |f| {
        f["knock_id"] == gus_knock.as_str() && f["admitted"] == true
    })
    .await;
    let joined = gus.expect("joined").await;
    assert_eq!(joined["participants"].as_array().unwrap().len(), 2);
    bob.expect_where("participant_joined", |f| f["participant"]["name"] == "Gus")
        .await;
    // Answering again finds nothing.
    host.send(json!({"action": "admit_guest", "knock_id": gus_knock}))
        .await;
    host.expect_error("not_found").await;

    // Ida knocks; a host who joins later is shown her; a host turns her away.
    let mut ida = guest_joining(&s, "Ida").await;
    ida.expect("waiting_in_lobby").await;
    let (mut henk, _) = s.join_as_host(ROOM, "henk").await;
    let k = henk.expect_where("knock", |f| f["name"] == "Ida").await;
    henk.send(json!({"action": "deny_guest", "knock_id": k["knock_id"]}))
        .await;
    ida.expect_error("knock_denied").await;
    ida.expect_closed().await;
    for h in [&mut host, &mut henk] {
        h.expect_where("knock_resolved", |f| f["admitted"] == false)
            .await;
    }

    // Zed gives up: closing the socket takes the knock away.
    let mut zed = guest_joining(&s, "Zed").await;
    zed.expect("waiting_in_lobby").await;
    host.expect_where("knock", |f| f["name"] == "Zed").await;
    zed.close().await;
    host.expect_where("knock_resolved", |f| f["admitted"] == false)
        .await;
    assert!(s.routing().rooms.knocks(ROOM).await.unwrap().is_empty());
    assert_eq!(s.routing().rooms.participants(ROOM).await.unwrap().len(), 4);
    panics::assert_no_server_panics();
}

async fn a_host_turns_the_lobby_on_and_off(backend: Backend) {
    panics::watch();
    let s = TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut host, _) = s.join_as_host(ROOM, "hana").await;
    let mut ann = guest_joining(&s, "Ann").await;
    ann.expect("joined").await;
    host.send(json!({"action": "set_lobby", "enabled": true}))
        .await;
    for c in [&mut host, &mut ann] {
        c.expect_where("lobby_changed", |f| f["enabled"] == true)
            .await;
    }
    let mut gus = guest_joining(&s, "Gus").await;
    gus.expect("waiting_in_lobby").await;
    host.expect("knock").await;
    // Off again: new guests walk in; the one waiting still waits for an answer.
    host.send(json!({"action": "set_lobby", "enabled": false}))
        .await;
    host.expect_where("lobby_changed", |f| f["enabled"] == false)
        .await;
    let mut ida = guest_joining(&s, "Ida").await;
    ida.expect("joined").await;
    gus.expect_none("joined", QUIET).await;
    assert_eq!(s.routing().rooms.knocks(ROOM).await.unwrap().len(), 1);
    panics::assert_no_server_panics();
}

/// Packets `peer` received, per publisher identity.
fn packets_from(peer: &SyntheticPeer, identity: &str) -> u64 {
    peer.received()
        .values()
        .filter(|t| t.publisher_identity == identity)
        .map(|t| t.packets)
        .sum()
}

async fn wait_flowing(peer: &SyntheticPeer, identity: &str, tracks: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = peer.received();
        let flowing = r
            .values()
            .filter(|t| t.publisher_identity == identity && t.packets > 0)
            .count();
        if flowing >= tracks {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{identity}'s {tracks} tracks did not flow: {r:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn peer(url: &str, token: String) -> SyntheticPeer {
    SyntheticPeer::join(PeerOptions::new(url, token))
        .await
        .expect("joining")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_host_muted_track_is_not_forwarded_until_its_owner_unmutes() {
    veet_tests::init_tracing();
    let cluster = Cluster::start(1).await;
    let room = "hst-mute-abc";
    let url = cluster.ws_url();
    let host = peer(&url, veet_tests::host_token(&cluster.tokens, room, "hana")).await;
    let bob = peer(&url, cluster.token(room, "bob")).await;
    let carol = peer(&url, cluster.token(room, "carol")).await;
    wait_flowing(&carol, "bob", 2).await;

    // A non-host may not; bob's media keeps flowing.
    let mute_bob = ClientFrame::MuteParticipant {
        participant_id: bob.participant.id.clone(),
        track_id: None,
    };
    let forbidden = carol.wait_frame(Duration::from_secs(10), |f| {
        matches!(f, ServerFrame::Error { code, .. } if *code == veet_core::protocol::ErrorCode::Forbidden)
    });
    carol.send(&mute_bob).await.unwrap();
    forbidden.await.expect("carol is told `forbidden`");
    assert!(packets_from(&carol, "bob") > 0);

    // The host mutes bob. Bob's synthetic client ignores it and keeps sending: the node is
    // what stops his media.
    let muted = carol.wait_frame(Duration::from_secs(10), |f| {
        matches!(
            f,
            ServerFrame::MuteChanged {
                muted: true,
                by: Some(_),
                ..
            }
        )
    });
    host.send(&mute_bob).await.unwrap();
    muted.await.expect("the room hears of the mute");
    tokio::time::sleep(Duration::from_millis(500)).await; // packets already in flight
    carol.reset_received();
    host.reset_received();
    let sent_before = bob.sent_packets();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(bob.sent_packets() > sent_before + 50, "bob kept sending");
    assert_eq!(
        packets_from(&carol, "bob"),
        0,
        "the node forwarded a muted track"
    );
    assert_eq!(
        packets_from(&host, "bob"),
        0,
        "the node forwarded a muted track"
    );

    // Only bob can unmute; then both his tracks flow again (video from a fresh keyframe).
    for track_id in &bob.published_track_ids {
        bob.send(&ClientFrame::Mute {
            track_id: track_id.clone(),
            muted: false,
        })
        .await
        .unwrap();
    }
    wait_flowing(&carol, "bob", 2).await;
    wait_flowing(&host, "bob", 2).await;
    let metrics = cluster.metrics(0).await;
    let dropped = veet_tests::cluster::metric(&metrics, "veet_sfu_muted_dropped_total");
    assert!(dropped.is_some_and(|d| d > 50.0), "{dropped:?}");
}
