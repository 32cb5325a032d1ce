//! The routing conformance suite: one set of test functions, each run against
//! `MemoryRouting` (module `memory`) and `RedisRouting` on a private redis-server (module
//! `redis`), so both backends provably behave alike.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use veet_core::protocol::{Grants, NodeMessage};
use veet_core::routing::selector::LeastLoaded;
use veet_core::routing::{
    unix_millis, AddOutcome, Connection, Inbox, LobbyEntry, NodeInfo, Removal, RoomFlag,
    RoomSettings, Routing,
};
use veet_tests::conformance::{ids, node, participant, Fixture};
use veet_tests::{eventually, routing_suite, RedisServer, WAIT};

routing_suite!(
    connections_put_get_remove,
    rooms_create_get_list_delete,
    participants_add_get_remove,
    capacity_is_enforced,
    settings_apply_from_the_moment_a_room_exists,
    same_identity_replaces_earlier_participant,
    delete_room_if_empty_only_when_empty,
    denials_lock_and_lobby_last_for_the_meeting,
    node_registry_heartbeat_ordering_deregister,
    node_expires_after_its_ttl,
    concurrent_assignment_picks_one_least_loaded_node,
    back_to_back_new_rooms_spread_over_nodes,
    dead_node_is_never_chosen,
    draining_node_takes_no_new_rooms,
    room_of_dead_node_is_reassigned,
    no_node_means_no_assignment,
    bus_delivers_only_to_the_addressed_node,
    bus_keeps_order_and_forgets_dropped_inboxes,
    empty_room_waits_out_its_timeout,
    key_store_claims_counts_and_leases,
    token_buckets_hold_across_handles_and_contenders,
    event_queue_is_a_bounded_fifo,
);

fn leave(participant_id: &str) -> NodeMessage {
    NodeMessage::Leave {
        room: "room-1".into(),
        participant_id: participant_id.into(),
    }
}

async fn next(inbox: &mut Inbox) -> NodeMessage {
    tokio::time::timeout(WAIT, inbox.next())
        .await
        .expect("no message arrived in the inbox in time")
        .expect("the inbox ended")
}

const LONG: Duration = Duration::from_secs(600);
const SHORT: Duration = Duration::from_millis(300);

async fn connections_put_get_remove(f: Fixture) {
    let r = f.routing().await;
    let mut c = Connection {
        id: "AbCdEfGhIjKlMnO=".into(),
        room: "abc-defg-hij".into(),
        identity: "alice".into(),
        name: "Alice".into(),
        grants: Grants {
            can_publish: false,
            ..Grants::default()
        },
        participant_id: None,
        connected_at: unix_millis(),
        guest: true,
        source_ip: Some("192.0.2.7".into()),
    };
    assert_eq!(r.connections.connection(&c.id).await.unwrap(), None);
    r.connections.put_connection(&c).await.unwrap();
    assert_eq!(
        r.connections.connection(&c.id).await.unwrap(),
        Some(c.clone())
    );

    c.participant_id = Some("PA_1".into());
    r.connections.put_connection(&c).await.unwrap();
    let other = f.routing().await;
    assert_eq!(
        other.connections.connection(&c.id).await.unwrap(),
        Some(c.clone()),
        "another handle sees the update"
    );
    assert_eq!(
        r.connections.connection("someone-else").await.unwrap(),
        None
    );

    assert_eq!(
        other.connections.remove_connection(&c.id).await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(r.connections.connection(&c.id).await.unwrap(), None);
    assert_eq!(r.connections.remove_connection(&c.id).await.unwrap(), None);
}

async fn rooms_create_get_list_delete(f: Fixture) {
    let r = f.routing().await;
    assert_eq!(r.rooms.room("room-b").await.unwrap(), None);
    assert!(r.rooms.list_rooms().await.unwrap().is_empty());

    let before = unix_millis();
    let five = RoomSettings {
        max_participants: 5,
        ..RoomSettings::default()
    };
    assert!(r.rooms.create_room("room-b", five.clone()).await.unwrap());
    assert!(
        !r.rooms
            .create_room("room-b", RoomSettings::default())
            .await
            .unwrap(),
        "a second create is refused"
    );
    let info = r.rooms.room("room-b").await.unwrap().expect("room exists");
    assert_eq!(info.code, "room-b");
    assert_eq!(info.settings, five, "settings are not overwritten");
    assert_eq!(info.node, None);
    assert!(info.created_at >= before && info.created_at <= unix_millis());

    assert!(r
        .rooms
        .create_room("room-a", RoomSettings::default())
        .await
        .unwrap());
    assert_eq!(
        r.rooms.list_rooms().await.unwrap(),
        vec!["room-a", "room-b"]
    );

    r.rooms.delete_room("room-b").await.unwrap();
    assert_eq!(r.rooms.room("room-b").await.unwrap(), None);
    assert_eq!(r.rooms.list_rooms().await.unwrap(), vec!["room-a"]);
    r.rooms.delete_room("never-existed").await.unwrap();
    assert_eq!(r.rooms.list_rooms().await.unwrap(), vec!["room-a"]);
}

async fn participants_add_get_remove(f: Fixture) {
    let r = f.routing().await;
    r.rooms
        .create_room("room-1", RoomSettings::default())
        .await
        .unwrap();
    let a = participant("PA_a", "alice", 1);
    let b = participant("PA_b", "bob", 2);
    for p in [&a, &b] {
        assert_eq!(
            r.rooms.add_participant("room-1", p).await.unwrap(),
            AddOutcome::Added { replaced: None }
        );
    }
    let all = r.rooms.participants("room-1").await.unwrap();
    assert_eq!(ids(&all), vec!["PA_a", "PA_b"]);
    assert!(all.contains(&a) && all.contains(&b), "records round-trip");
    assert_eq!(
        r.rooms.participant("room-1", "PA_a").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(r.rooms.participant("room-1", "PA_x").await.unwrap(), None);
    assert_eq!(r.rooms.participant("room-2", "PA_a").await.unwrap(), None);
    assert!(r.rooms.participants("room-2").await.unwrap().is_empty());

    assert_eq!(
        r.rooms.remove_participant("room-1", "PA_a").await.unwrap(),
        Removal {
            removed: Some(a.clone()),
            remaining: 1
        }
    );
    assert_eq!(
        r.rooms.remove_participant("room-1", "PA_a").await.unwrap(),
        Removal {
            removed: None,
            remaining: 1
        }
    );
    assert_eq!(
        r.rooms.remove_participant("room-2", "PA_b").await.unwrap(),
        Removal {
            removed: None,
            remaining: 0
        }
    );
    assert_eq!(
        ids(&r.rooms.participants("room-1").await.unwrap()),
        vec!["PA_b"]
    );

    // Adding to a room nobody created creates it with default settings.
    r.rooms
        .add_participant("room-3", &participant("PA_c", "carol", 3))
        .await
        .unwrap();
    let info = r.rooms.room("room-3").await.unwrap().expect("room created");
    assert_eq!(info.settings, RoomSettings::default());
    assert!(r
        .rooms
        .list_rooms()
        .await
        .unwrap()
        .contains(&"room-3".to_owned()));
}

async fn capacity_is_enforced(f: Fixture) {
    let r = f.routing().await;
    let two = RoomSettings {
        max_participants: 2,
        ..RoomSettings::default()
    };
    r.rooms.create_room("small", two).await.unwrap();
    let a = participant("PA_a", "alice", 1);
    let b = participant("PA_b", "bob", 2);
    let c = participant("PA_c", "carol", 3);
    r.rooms.add_participant("small", &a).await.unwrap();
    r.rooms.add_participant("small", &b).await.unwrap();
    assert_eq!(
        r.rooms.add_participant("small", &c).await.unwrap(),
        AddOutcome::Full
    );
    assert_eq!(
        ids(&r.rooms.participants("small").await.unwrap()),
        vec!["PA_a", "PA_b"],
        "a refused add changes nothing"
    );

    // Someone already inside may come back while the room is full.
    let a2 = participant("PA_a2", "alice", 4);
    assert_eq!(
        r.rooms.add_participant("small", &a2).await.unwrap(),
        AddOutcome::Added {
            replaced: Some(a.clone())
        }
    );
    assert_eq!(
        ids(&r.rooms.participants("small").await.unwrap()),
        vec!["PA_a2", "PA_b"]
    );

    r.rooms.remove_participant("small", "PA_b").await.unwrap();
    assert_eq!(
        r.rooms.add_participant("small", &c).await.unwrap(),
        AddOutcome::Added { replaced: None }
    );
    assert_eq!(
        r.rooms
            .add_participant("small", &participant("PA_d", "dave", 5))
            .await
            .unwrap(),
        AddOutcome::Full
    );

    // Concurrent joins never overfill a room.
    let three = RoomSettings {
        max_participants: 3,
        ..RoomSettings::default()
    };
    r.rooms.create_room("race", three).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let h = f.routing().await;
        tasks.push(tokio::spawn(async move {
            h.rooms
                .add_participant(
                    "race",
                    &participant(&format!("PA_{i}"), &format!("p{i}"), i),
                )
                .await
                .unwrap()
        }));
    }
    let mut added = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), AddOutcome::Added { .. }) {
            added += 1;
        }
    }
    assert_eq!(added, 3);
    assert_eq!(r.rooms.participants("race").await.unwrap().len(), 3);

    // 0 means no limit.
    let unlimited = RoomSettings {
        max_participants: 0,
        ..RoomSettings::default()
    };
    r.rooms.create_room("big", unlimited).await.unwrap();
    for i in 0..120 {
        let p = participant(&format!("PA_{i}"), &format!("p{i}"), i);
        assert!(matches!(
            r.rooms.add_participant("big", &p).await.unwrap(),
            AddOutcome::Added { replaced: None }
        ));
    }
    assert_eq!(r.rooms.participants("big").await.unwrap().len(), 120);
}

async fn same_identity_replaces_earlier_participant(f: Fixture) {
    let r = f.routing().await;
    let a1 = participant("PA_a1", "alice", 1);
    let a2 = participant("PA_a2", "alice", 2);
    let b = participant("PA_b", "bob", 3);
    r.rooms.add_participant("room-1", &a1).await.unwrap();
    r.rooms.add_participant("room-1", &b).await.unwrap();
    assert_eq!(
        r.rooms.add_participant("room-1", &a2).await.unwrap(),
        AddOutcome::Added {
            replaced: Some(a1.clone())
        }
    );
    assert_eq!(
        ids(&r.rooms.participants("room-1").await.unwrap()),
        vec!["PA_a2", "PA_b"]
    );
    assert_eq!(r.rooms.participant("room-1", "PA_a1").await.unwrap(), None);

    // The old session's late leave must not remove the new one.
    assert_eq!(
        r.rooms.remove_participant("room-1", "PA_a1").await.unwrap(),
        Removal {
            removed: None,
            remaining: 2
        }
    );
    assert_eq!(
        r.rooms.participant("room-1", "PA_a2").await.unwrap(),
        Some(a2.clone())
    );

    // Once the new session leaves, the identity may join afresh (nothing to replace).
    r.rooms.remove_participant("room-1", "PA_a2").await.unwrap();
    assert_eq!(
        r.rooms
            .add_participant("room-1", &participant("PA_a3", "alice", 4))
            .await
            .unwrap(),
        AddOutcome::Added { replaced: None }
    );
    // The same identity in another room is someone else's business.
    assert_eq!(
        r.rooms
            .add_participant("room-2", &participant("PA_a4", "alice", 5))
            .await
            .unwrap(),
        AddOutcome::Added { replaced: None }
    );
    assert_eq!(r.rooms.participants("room-1").await.unwrap().len(), 2);
}

async fn delete_room_if_empty_only_when_empty(f: Fixture) {
    let r = f.routing().await;
    r.nodes.heartbeat(&node("n1", 0), LONG).await.unwrap();
    assert_eq!(
        r.assign_node("room-1", &LeastLoaded)
            .await
            .unwrap()
            .map(|a| a.node)
            .as_deref(),
        Some("n1")
    );
    r.rooms
        .add_participant("room-1", &participant("PA_a", "alice", 1))
        .await
        .unwrap();
    assert!(!r.rooms.delete_room_if_empty("room-1").await.unwrap());
    assert!(r.rooms.room("room-1").await.unwrap().is_some());
    assert_eq!(r.rooms.list_rooms().await.unwrap(), vec!["room-1"]);

    r.rooms.remove_participant("room-1", "PA_a").await.unwrap();
    assert!(r.rooms.delete_room_if_empty("room-1").await.unwrap());
    assert_eq!(
        r.rooms.room("room-1").await.unwrap(),
        None,
        "room and assignment gone"
    );
    assert!(r.rooms.list_rooms().await.unwrap().is_empty());

    assert!(
        !r.rooms.delete_room_if_empty("never-existed").await.unwrap(),
        "nothing was deleted"
    );
    assert!(r.rooms.list_rooms().await.unwrap().is_empty());
}

async fn denials_lock_and_lobby_last_for_the_meeting(f: Fixture) {
    let r = f.routing().await;
    let other = f.routing().await;
    let kept = RoomSettings {
        empty_timeout_secs: 600,
        ..RoomSettings::default()
    };
    assert!(r.rooms.create_room("room-d", kept).await.unwrap());
    assert!(!r.rooms.room("room-d").await.unwrap().unwrap().locked);
    assert!(!r
        .rooms
        .set_flag("no-room", RoomFlag::Locked, true)
        .await
        .unwrap());
    r.rooms
        .add_participant("room-d", &participant("PA_a", "alice", 1))
        .await
        .unwrap();
    let mallory = vec!["id:mallory".to_owned(), "ip:10.0.0.9".to_owned()];
    r.rooms.deny("room-d", &mallory).await.unwrap();
    assert!(r
        .rooms
        .set_flag("room-d", RoomFlag::Locked, true)
        .await
        .unwrap());
    // Seen from another handle; any one matching entry is enough.
    assert!(other.rooms.room("room-d").await.unwrap().unwrap().locked);
    assert!(other
        .rooms
        .is_denied("room-d", &["id:new-guest".into(), "ip:10.0.0.9".into()])
        .await
        .unwrap());
    assert!(!other
        .rooms
        .is_denied("room-d", &["id:alice".into()])
        .await
        .unwrap());
    assert!(!other.rooms.is_denied("room-x", &mallory).await.unwrap());
    assert!(other
        .rooms
        .set_flag("room-d", RoomFlag::Locked, false)
        .await
        .unwrap());
    assert!(!r.rooms.room("room-d").await.unwrap().unwrap().locked);
    assert!(r
        .rooms
        .set_flag("room-d", RoomFlag::Locked, true)
        .await
        .unwrap());

    // The lobby: a switch of its own, and knocks in order that exactly one answer takes.
    assert!(r
        .rooms
        .set_flag("room-d", RoomFlag::Lobby, true)
        .await
        .unwrap());
    let info = other.rooms.room("room-d").await.unwrap().unwrap();
    assert!(info.lobby && info.locked && info.knocks());
    for (i, who) in ["gus", "ida"].iter().enumerate() {
        let entry = LobbyEntry {
            knock_id: format!("KN_{who}"),
            connection_id: format!("conn-{who}"),
            identity: format!("guest-{who}"),
            name: who.to_string(),
            at: 1_000 + i as u64,
        };
        r.rooms.knock("room-d", &entry).await.unwrap();
    }
    let waiting = other.rooms.knocks("room-d").await.unwrap();
    assert_eq!(
        waiting.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["gus", "ida"]
    );
    let (a, b) = tokio::join!(
        r.rooms.take_knock("room-d", "KN_gus"),
        other.rooms.take_knock("room-d", "KN_gus")
    );
    let taken: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(taken.len(), 1, "one of two answers takes the knock");
    assert_eq!(taken[0].connection_id, "conn-gus");
    assert_eq!(r.rooms.knocks("room-d").await.unwrap().len(), 1);

    // The meeting ends when the last one leaves: the room stays for its timeout, but the
    // lock, the lobby and the denials were for that meeting.
    r.rooms.remove_participant("room-d", "PA_a").await.unwrap();
    assert!(r.rooms.delete_room_if_empty("room-d").await.unwrap());
    let info = r
        .rooms
        .room("room-d")
        .await
        .unwrap()
        .expect("kept for its timeout");
    assert!(!info.locked);
    assert!(!r.rooms.is_denied("room-d", &mallory).await.unwrap());

    r.rooms.deny("room-d", &mallory).await.unwrap();
    r.rooms.delete_room("room-d").await.unwrap();
    assert!(!r.rooms.is_denied("room-d", &mallory).await.unwrap());
}

async fn node_registry_heartbeat_ordering_deregister(f: Fixture) {
    let r = f.routing().await;
    assert!(r.nodes.live_nodes().await.unwrap().is_empty());
    let (n1, n2, n3) = (node("n1", 3), node("n2", 1), node("n3", 2));
    for n in [&n1, &n2, &n3] {
        r.nodes.heartbeat(n, LONG).await.unwrap();
    }
    let live_ids = |nodes: Vec<NodeInfo>| nodes.into_iter().map(|n| n.id).collect::<Vec<_>>();
    assert_eq!(
        live_ids(r.nodes.live_nodes().await.unwrap()),
        vec!["n2", "n3", "n1"],
        "least loaded first"
    );
    assert_eq!(r.nodes.node("n1").await.unwrap(), Some(n1.clone()));
    assert_eq!(r.nodes.node("n9").await.unwrap(), None);

    // A heartbeat carries the new load.
    let busy = node("n2", 5);
    f.routing()
        .await
        .nodes
        .heartbeat(&busy, LONG)
        .await
        .unwrap();
    assert_eq!(
        live_ids(r.nodes.live_nodes().await.unwrap()),
        vec!["n3", "n1", "n2"]
    );
    assert_eq!(r.nodes.node("n2").await.unwrap(), Some(busy));

    r.nodes.deregister("n3").await.unwrap();
    assert_eq!(r.nodes.node("n3").await.unwrap(), None);
    assert_eq!(
        live_ids(r.nodes.live_nodes().await.unwrap()),
        vec!["n1", "n2"]
    );
    r.nodes.deregister("never-registered").await.unwrap();

    // Equal load: a stable order, by id.
    r.nodes.heartbeat(&node("m2", 0), LONG).await.unwrap();
    r.nodes.heartbeat(&node("m1", 0), LONG).await.unwrap();
    assert_eq!(
        live_ids(r.nodes.live_nodes().await.unwrap()),
        vec!["m1", "m2", "n1", "n2"]
    );
}

async fn node_expires_after_its_ttl(f: Fixture) {
    let r = f.routing().await;
    r.nodes.heartbeat(&node("keeper", 4), LONG).await.unwrap();
    r.nodes.heartbeat(&node("mayfly", 0), LONG).await.unwrap();
    assert!(r.nodes.node("mayfly").await.unwrap().is_some());
    // The next heartbeat comes with a short TTL, and then no more heartbeats.
    r.nodes.heartbeat(&node("mayfly", 0), SHORT).await.unwrap();
    eventually("mayfly's heartbeat TTL to expire", || async {
        r.nodes
            .node("mayfly")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    let live: Vec<String> = r
        .nodes
        .live_nodes()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(live, vec!["keeper"]);
    // A heartbeat brings it back.
    r.nodes.heartbeat(&node("mayfly", 0), LONG).await.unwrap();
    assert!(r.nodes.node("mayfly").await.unwrap().is_some());
}

/// Runs `n` concurrent `assign_node(room)` calls, each on its own handle, released together.
async fn assign_concurrently(f: &Fixture, room: &str, n: usize) -> Vec<Option<String>> {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let h = f.routing().await;
        let barrier = barrier.clone();
        let room = room.to_owned();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            h.assign_node(&room, &LeastLoaded)
                .await
                .unwrap()
                .map(|a| a.node)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn concurrent_assignment_picks_one_least_loaded_node(f: Fixture) {
    let r = f.routing().await;
    for n in [node("busy", 3), node("idle", 1), node("medium", 2)] {
        r.nodes.heartbeat(&n, LONG).await.unwrap();
    }
    let got = assign_concurrently(&f, "room-1", 64).await;
    let distinct: HashSet<_> = got.iter().cloned().collect();
    assert_eq!(
        distinct,
        HashSet::from([Some("idle".to_owned())]),
        "every caller gets the least-loaded node"
    );
    let info = r.rooms.room("room-1").await.unwrap().expect("room created");
    assert_eq!(info.node.as_deref(), Some("idle"));
    assert_eq!(info.settings, RoomSettings::default());

    // Equal loads: still exactly one node, whichever it is.
    for id in ["busy", "idle", "medium"] {
        r.nodes.deregister(id).await.unwrap();
    }
    for id in ["e1", "e2", "e3", "e4"] {
        r.nodes.heartbeat(&node(id, 0), LONG).await.unwrap();
    }
    let got = assign_concurrently(&f, "room-2", 64).await;
    let distinct: HashSet<_> = got.iter().cloned().collect();
    assert_eq!(distinct.len(), 1, "one node for the room: {distinct:?}");
    assert!(distinct.iter().all(|n| n.is_some()));
}

async fn back_to_back_new_rooms_spread_over_nodes(f: Fixture) {
    let r = f.routing().await;
    r.nodes.heartbeat(&node("a", 0), LONG).await.unwrap();
    r.nodes.heartbeat(&node("b", 0), LONG).await.unwrap();
    let first = r
        .assign_node("room-1", &LeastLoaded)
        .await
        .unwrap()
        .map(|a| a.node)
        .expect("a node");
    let second = r
        .assign_node("room-2", &LeastLoaded)
        .await
        .unwrap()
        .map(|a| a.node)
        .expect("a node");
    assert_ne!(
        first, second,
        "a new room counts against its node before the next heartbeat"
    );
    // An assigned room keeps its node.
    assert_eq!(
        r.assign_node("room-1", &LeastLoaded)
            .await
            .unwrap()
            .map(|a| a.node),
        Some(first)
    );
}

async fn dead_node_is_never_chosen(f: Fixture) {
    let r = f.routing().await;
    r.nodes.heartbeat(&node("alive", 5), LONG).await.unwrap();
    r.nodes.heartbeat(&node("dead", 0), LONG).await.unwrap();
    r.nodes.heartbeat(&node("dead", 0), SHORT).await.unwrap();
    eventually("the dead node to expire", || async {
        r.nodes.node("dead").await.unwrap().is_none().then_some(())
    })
    .await;
    let got = assign_concurrently(&f, "room-1", 50).await;
    assert!(got.iter().all(|n| n.as_deref() == Some("alive")), "{got:?}");
    for i in 0..10 {
        assert_eq!(
            r.assign_node(&format!("room-x{i}"), &LeastLoaded)
                .await
                .unwrap()
                .map(|a| a.node)
                .as_deref(),
            Some("alive")
        );
    }
}

async fn draining_node_takes_no_new_rooms(f: Fixture) {
    let r = f.routing().await;
    let mut drain = node("drain", 0);
    r.nodes.heartbeat(&drain, LONG).await.unwrap();
    r.nodes.heartbeat(&node("busy", 5), LONG).await.unwrap();
    assert_eq!(
        r.assign_node("old-room", &LeastLoaded)
            .await
            .unwrap()
            .map(|a| a.node)
            .as_deref(),
        Some("drain")
    );

    drain.draining = true;
    r.nodes.heartbeat(&drain, LONG).await.unwrap();
    let got = assign_concurrently(&f, "new-room", 50).await;
    assert!(got.iter().all(|n| n.as_deref() == Some("busy")), "{got:?}");
    assert_eq!(
        r.assign_node("old-room", &LeastLoaded)
            .await
            .unwrap()
            .map(|a| a.node)
            .as_deref(),
        Some("drain"),
        "a draining node keeps its rooms"
    );

    r.nodes.deregister("busy").await.unwrap();
    assert_eq!(
        r.assign_node("third-room", &LeastLoaded)
            .await
            .unwrap()
            .map(|a| a.node),
        None,
        "only a draining node is left"
    );
}

async fn room_of_dead_node_is_reassigned(f: Fixture) {
    let r = f.routing().await;
    r.nodes.heartbeat(&node("first", 0), LONG).await.unwrap();
    r.nodes.heartbeat(&node("second", 2), LONG).await.unwrap();
    r.nodes.heartbeat(&node("third", 3), LONG).await.unwrap();
    assert_eq!(
        r.assign_node("room-1", &LeastLoaded)
            .await
            .unwrap()
            .map(|a| a.node)
            .as_deref(),
        Some("first")
    );
    r.nodes.heartbeat(&node("first", 0), SHORT).await.unwrap();
    eventually("the first node to expire", || async {
        r.nodes.node("first").await.unwrap().is_none().then_some(())
    })
    .await;
    let got = assign_concurrently(&f, "room-1", 50).await;
    assert!(
        got.iter().all(|n| n.as_deref() == Some("second")),
        "{got:?}"
    );
    assert_eq!(
        r.rooms.room("room-1").await.unwrap().and_then(|i| i.node),
        Some("second".into())
    );
}

async fn no_node_means_no_assignment(f: Fixture) {
    let r = f.routing().await;
    assert_eq!(
        r.assign_node("room-1", &LeastLoaded)
            .await
            .unwrap()
            .map(|a| a.node),
        None
    );
    r.nodes.heartbeat(&node("gone", 0), LONG).await.unwrap();
    r.nodes.deregister("gone").await.unwrap();
    assert_eq!(
        r.assign_node("room-1", &LeastLoaded)
            .await
            .unwrap()
            .map(|a| a.node),
        None
    );
    // And once a node appears, the room gets it.
    r.nodes.heartbeat(&node("new", 0), LONG).await.unwrap();
    assert_eq!(
        r.assign_node("room-1", &LeastLoaded)
            .await
            .unwrap()
            .map(|a| a.node)
            .as_deref(),
        Some("new")
    );
}

async fn bus_delivers_only_to_the_addressed_node(f: Fixture) {
    let r = f.routing().await;
    let mut a = r.bus.subscribe("node-a").await.unwrap();
    let mut b = r.bus.subscribe("node-b").await.unwrap();
    // Published through another handle, as a Lambda would.
    let publisher = f.routing().await;
    assert_eq!(
        publisher
            .bus
            .publish("node-a", &leave("for-a"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        publisher
            .bus
            .publish("node-b", &leave("for-b"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(next(&mut a).await, leave("for-a"));
    // Messages to one channel arrive in order, so B's first message being its own proves
    // A's never reached it.
    assert_eq!(next(&mut b).await, leave("for-b"));
    assert_eq!(
        publisher
            .bus
            .publish("node-a", &leave("again-a"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(next(&mut a).await, leave("again-a"));
    assert!(
        tokio::time::timeout(veet_tests::QUIET, b.next())
            .await
            .is_err(),
        "node B got a message meant for A"
    );
    assert_eq!(
        publisher
            .bus
            .publish("node-c", &leave("nobody"))
            .await
            .unwrap(),
        0
    );

    // Two subscribers of one inbox (an old and a new process of one node) both get it.
    let mut a2 = r.bus.subscribe("node-a").await.unwrap();
    assert_eq!(
        publisher
            .bus
            .publish("node-a", &leave("both"))
            .await
            .unwrap(),
        2
    );
    assert_eq!(next(&mut a).await, leave("both"));
    assert_eq!(next(&mut a2).await, leave("both"));
}

async fn bus_keeps_order_and_forgets_dropped_inboxes(f: Fixture) {
    let r = f.routing().await;
    let mut a = r.bus.subscribe("node-a").await.unwrap();
    for i in 0..200 {
        r.bus
            .publish("node-a", &leave(&format!("p{i}")))
            .await
            .unwrap();
    }
    for i in 0..200 {
        assert_eq!(next(&mut a).await, leave(&format!("p{i}")));
    }
    drop(a);
    eventually("the dropped inbox to unsubscribe", || async {
        (r.bus.publish("node-a", &leave("late")).await.unwrap() == 0).then_some(())
    })
    .await;
}

/// Redis only: a node's inbox outlives the Redis server crashing and coming back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_inbox_survives_server_restart() {
    let mut redis = RedisServer::start();
    let r = Routing::redis(&redis.url()).await.unwrap();
    let mut inbox = r.bus.subscribe("node-a").await.unwrap();
    assert_eq!(r.bus.publish("node-a", &leave("before")).await.unwrap(), 1);
    assert_eq!(next(&mut inbox).await, leave("before"));

    redis.kill();
    redis.restart();

    // Publish until the resubscribed inbox counts as a receiver; that message must arrive.
    let mut i = 0;
    let delivered = eventually("the inbox to resubscribe after the restart", || {
        i += 1;
        let msg = leave(&format!("after-{i}"));
        let r = r.clone();
        async move {
            match r.bus.publish("node-a", &msg).await {
                Ok(n) if n >= 1 => Some(msg),
                _ => None,
            }
        }
    })
    .await;
    assert_eq!(next(&mut inbox).await, delivered);

    // Publishing (the connection manager) and the registry work again too.
    r.nodes.heartbeat(&node("n1", 0), LONG).await.unwrap();
    assert_eq!(
        r.assign_node("room-1", &LeastLoaded)
            .await
            .unwrap()
            .map(|a| a.node)
            .as_deref(),
        Some("n1")
    );
}

/// `create_room` racing joins: a join never sees the room without its settings (which would
/// let it past `max_participants`).
async fn settings_apply_from_the_moment_a_room_exists(f: Fixture) {
    let one = RoomSettings {
        max_participants: 1,
        ..RoomSettings::default()
    };
    let mut handles = Vec::new();
    for _ in 0..4 {
        handles.push(f.routing().await);
    }
    for round in 0..300 {
        let room = format!("race-{round}");
        let (creator, j1, j2) = (handles[0].clone(), handles[1].clone(), handles[2].clone());
        let (r1, r2) = (room.clone(), room.clone());
        let settings = one.clone();
        let create = tokio::spawn(async move { creator.rooms.create_room(&room, settings).await });
        let add1 = tokio::spawn(async move {
            j1.rooms
                .add_participant(&r1, &participant("PA_1", "one", 1))
                .await
        });
        let add2 = tokio::spawn(async move {
            j2.rooms
                .add_participant(&r2, &participant("PA_2", "two", 2))
                .await
        });
        let created = create.await.unwrap().unwrap();
        add1.await.unwrap().unwrap();
        add2.await.unwrap().unwrap();
        let room = format!("race-{round}");
        let info = handles[3]
            .rooms
            .room(&room)
            .await
            .unwrap()
            .expect("room exists");
        let count = handles[3].rooms.participants(&room).await.unwrap().len();
        let limit = info.settings.max_participants as usize;
        assert!(
            limit == 0 || count <= limit,
            "round {round}: {count} participants in a room of {limit} (created here: {created})"
        );
        assert!(
            !created || info.settings == one,
            "round {round}: the creator's settings were lost: {:?}",
            info.settings
        );
    }
}

async fn empty_room_waits_out_its_timeout(f: Fixture) {
    let r = f.routing().await;
    r.nodes.heartbeat(&node("n1", 0), LONG).await.unwrap();
    let lingering = RoomSettings {
        empty_timeout_secs: 1,
        ..RoomSettings::default()
    };
    r.rooms
        .create_room("lobby", lingering.clone())
        .await
        .unwrap();
    assert_eq!(
        r.assign_node("lobby", &LeastLoaded)
            .await
            .unwrap()
            .map(|a| a.node)
            .as_deref(),
        Some("n1")
    );
    r.rooms
        .add_participant("lobby", &participant("PA_a", "alice", 1))
        .await
        .unwrap();
    r.rooms.remove_participant("lobby", "PA_a").await.unwrap();
    assert!(r.rooms.delete_room_if_empty("lobby").await.unwrap());
    let waiting = r
        .rooms
        .room("lobby")
        .await
        .unwrap()
        .expect("the room waits");
    assert_eq!(waiting.node, None, "its node is released at once");
    assert_eq!(waiting.settings, lingering);

    // Someone comes back in time: the room stays, whatever the clock says.
    assert_eq!(
        r.assign_node("lobby", &LeastLoaded)
            .await
            .unwrap()
            .map(|a| a.node)
            .as_deref(),
        Some("n1")
    );
    r.rooms
        .add_participant("lobby", &participant("PA_b", "bob", 2))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        r.rooms.room("lobby").await.unwrap().is_some(),
        "an occupied room does not expire"
    );
    assert_eq!(r.rooms.participants("lobby").await.unwrap().len(), 1);

    // Once empty again and nobody returns, it goes.
    r.rooms.remove_participant("lobby", "PA_b").await.unwrap();
    assert!(r.rooms.delete_room_if_empty("lobby").await.unwrap());
    eventually("the empty room to expire", || async {
        let gone = r.rooms.room("lobby").await.unwrap().is_none()
            && !r
                .rooms
                .list_rooms()
                .await
                .unwrap()
                .contains(&"lobby".to_owned());
        gone.then_some(())
    })
    .await;
    assert!(
        r.rooms
            .create_room("lobby", RoomSettings::default())
            .await
            .unwrap(),
        "the code is free again"
    );
}

async fn key_store_claims_counts_and_leases(f: Fixture) {
    let r = f.routing().await;
    let other = f.routing().await;
    // Claims: first one wins, others see its value.
    assert_eq!(r.keys.claim("idem:1", "first", LONG).await.unwrap(), None);
    assert_eq!(
        r.keys
            .claim("idem:1", "second", LONG)
            .await
            .unwrap()
            .as_deref(),
        Some("first")
    );
    assert_eq!(
        other
            .keys
            .claim("idem:1", "third", LONG)
            .await
            .unwrap()
            .as_deref(),
        Some("first")
    );
    assert_eq!(r.keys.claim("idem:2", "x", LONG).await.unwrap(), None);
    assert_eq!(r.keys.claim("brief", "old", SHORT).await.unwrap(), None);
    eventually("the short claim to expire", || async {
        r.keys
            .claim("brief", "new", LONG)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(
        r.keys
            .claim("brief", "newer", LONG)
            .await
            .unwrap()
            .as_deref(),
        Some("new")
    );

    // Counters: hits within a window add up, across handles; a new window starts at 1.
    for expected in 1..=3 {
        assert_eq!(r.keys.count("rate:a", LONG).await.unwrap(), expected);
    }
    assert_eq!(other.keys.count("rate:a", LONG).await.unwrap(), 4);
    assert_eq!(r.keys.count("rate:b", LONG).await.unwrap(), 1);
    assert_eq!(r.keys.count("rate:short", SHORT).await.unwrap(), 1);
    eventually("the short window to end", || async {
        (r.keys.count("rate:short", LONG).await.unwrap() == 1).then_some(())
    })
    .await;

    // Leases: one holder at a time; the holder renews; an expired lease is up for grabs.
    assert!(r.keys.lease("lease:x", "node-a", LONG).await.unwrap());
    assert!(!other.keys.lease("lease:x", "node-b", LONG).await.unwrap());
    assert!(r.keys.lease("lease:x", "node-a", SHORT).await.unwrap());
    eventually("node-a's lease to lapse", || async {
        other
            .keys
            .lease("lease:x", "node-b", LONG)
            .await
            .unwrap()
            .then_some(())
    })
    .await;
    assert!(!r.keys.lease("lease:x", "node-a", LONG).await.unwrap());

    // Many contenders for a fresh lease: exactly one wins.
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let h = f.routing().await;
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            h.keys
                .lease("lease:contended", &format!("holder-{i}"), LONG)
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        if t.await.unwrap() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

async fn token_buckets_hold_across_handles_and_contenders(f: Fixture) {
    use veet_core::rate::{Admission, Rate};
    let r = f.routing().await;
    let other = f.routing().await;
    // Slow enough that the keys outlive a slow test machine (they expire once full again).
    let rate = Rate::per_second(1, 3);
    let conn = vec!["rl:{r}:chat:c:1".to_owned()];
    let both = vec!["rl:{r}:chat:c:2".to_owned(), "rl:{r}:chat:i:ann".to_owned()];
    // The burst, then a refusal that says when a token is back (a second at 1/s).
    for _ in 0..3 {
        assert!(r.keys.admit(&conn, rate, 1_000).await.unwrap().is_allowed());
    }
    assert_eq!(
        other.keys.admit(&conn, rate, 1_000).await.unwrap(),
        Admission::Limited {
            retry_after: Duration::from_secs(1)
        }
    );
    assert!(r.keys.admit(&conn, rate, 2_000).await.unwrap().is_allowed());
    // Two buckets: the identity's is spent from another connection, so this one is refused
    // and its own connection's bucket keeps its tokens.
    let ann = vec!["rl:{r}:chat:c:3".to_owned(), "rl:{r}:chat:i:ann".to_owned()];
    for _ in 0..3 {
        assert!(r.keys.admit(&ann, rate, 5_000).await.unwrap().is_allowed());
    }
    assert!(!r.keys.admit(&both, rate, 5_000).await.unwrap().is_allowed());
    let own = vec!["rl:{r}:chat:c:2".to_owned()];
    for _ in 0..3 {
        assert!(r.keys.admit(&own, rate, 5_000).await.unwrap().is_allowed());
    }

    // Contenders from many handles at one instant: exactly the burst gets through.
    let key = vec!["rl:{r}:signal:c:9".to_owned()];
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let h = f.routing().await;
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            h.keys
                .admit(&key, Rate::per_second(1, 5), 9_000)
                .await
                .unwrap()
                .is_allowed()
        }));
    }
    let mut allowed = 0;
    for t in tasks {
        if t.await.unwrap() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5);
}

async fn event_queue_is_a_bounded_fifo(f: Fixture) {
    let r = f.routing().await;
    let other = f.routing().await;
    assert_eq!(r.events.len("hooks").await.unwrap(), 0);
    assert_eq!(r.events.peek("hooks").await.unwrap(), None);
    r.events.pop("hooks").await.unwrap();
    for item in ["a", "b", "c"] {
        assert!(r.events.push("hooks", item, 3).await.unwrap());
    }
    assert!(!r.events.push("hooks", "d", 3).await.unwrap(), "bounded");
    assert_eq!(r.events.len("hooks").await.unwrap(), 3);
    assert!(other.events.push("other", "z", 3).await.unwrap());
    assert_eq!(r.events.peek("hooks").await.unwrap().as_deref(), Some("a"));
    assert_eq!(
        other.events.peek("hooks").await.unwrap().as_deref(),
        Some("a"),
        "peek leaves the item"
    );
    r.events.pop("hooks").await.unwrap();
    assert_eq!(
        other.events.peek("hooks").await.unwrap().as_deref(),
        Some("b")
    );
    assert!(r.events.push("hooks", "d", 3).await.unwrap());
    let mut drained = Vec::new();
    while let Some(item) = r.events.peek("hooks").await.unwrap() {
        drained.push(item);
        r.events.pop("hooks").await.unwrap();
    }
    assert_eq!(drained, vec!["b", "c", "d"]);
    assert_eq!(r.events.len("hooks").await.unwrap(), 0);
    assert_eq!(r.events.peek("other").await.unwrap().as_deref(), Some("z"));
}
