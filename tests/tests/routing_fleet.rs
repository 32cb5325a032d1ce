//! Conformance of the routing state a changing fleet relies on — per-track updates that never
//! lose a concurrent one, connections a late join cannot resurrect, compare-and-set room
//! moves with epochs, restoring a lost room, the data-set generation — run against both
//! backends (see `veet_tests::conformance`).

use std::time::Duration;

use veet_core::protocol::{Grants, TrackKind};
use veet_core::routing::selector::LeastLoaded;
use veet_core::routing::{
    AddOutcome, Assignment, Connection, ParticipantRecord, Restore, RoomAccess, RoomSettings,
    RoomSnapshot,
};
use veet_tests::conformance::{ids, node, participant, track, Fixture};
use veet_tests::{eventually, routing_suite};

routing_suite!(
    track_updates_are_atomic_field_updates,
    hands_go_up_and_down_without_touching_the_rest,
    set_participant_never_resurrects_a_closed_connection,
    reassignment_is_a_compare_and_set_with_epochs,
    restore_puts_back_a_lost_room_unless_it_lives_elsewhere,
    generation_is_stable_until_the_data_is_lost,
);

async fn hands_go_up_and_down_without_touching_the_rest(f: Fixture) {
    let r = f.routing().await;
    r.rooms
        .add_participant("room-1", &participant("PA_a", "alice", 1))
        .await
        .unwrap();
    // A participant with no tracks: its empty list must stay a list.
    let at = 1_796_000_000_123;
    assert!(r.rooms.set_hand("room-1", "PA_a", Some(at)).await.unwrap());
    let got = r
        .rooms
        .participant("room-1", "PA_a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.info.hand_raised_at, Some(at));
    assert!(got.info.tracks.is_empty());
    // A hand survives a track update, and a track update survives the hand coming down.
    assert!(r
        .rooms
        .put_track("room-1", "PA_a", &track("TR_1"))
        .await
        .unwrap());
    let got = r
        .rooms
        .participant("room-1", "PA_a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.info.hand_raised_at, Some(at));
    assert!(r.rooms.set_hand("room-1", "PA_a", None).await.unwrap());
    let got = r
        .rooms
        .participant("room-1", "PA_a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.info.hand_raised_at, None);
    assert_eq!(got.info.tracks.len(), 1);
    // Everyone's view (`participants`) shows it too.
    assert!(r
        .rooms
        .set_hand("room-1", "PA_a", Some(at + 1))
        .await
        .unwrap());
    let all = r.rooms.participants("room-1").await.unwrap();
    assert_eq!(all[0].info.hand_raised_at, Some(at + 1));
    // Nobody there, nothing changes.
    assert!(!r
        .rooms
        .set_hand("room-1", "PA_ghost", Some(at))
        .await
        .unwrap());
    assert!(!r.rooms.set_hand("room-2", "PA_a", Some(at)).await.unwrap());
}

async fn track_updates_are_atomic_field_updates(f: Fixture) {
    let r = f.routing().await;
    let a = participant("PA_a", "alice", 1);
    r.rooms.add_participant("room-1", &a).await.unwrap();
    assert!(r
        .rooms
        .put_track("room-1", "PA_a", &track("TR_1"))
        .await
        .unwrap());
    assert!(r
        .rooms
        .put_track("room-1", "PA_a", &track("TR_2"))
        .await
        .unwrap());
    assert!(r
        .rooms
        .set_track_muted("room-1", "PA_a", "TR_1", true)
        .await
        .unwrap());
    assert!(!r
        .rooms
        .set_track_muted("room-1", "PA_a", "TR_none", true)
        .await
        .unwrap());
    let got = f
        .routing()
        .await
        .rooms
        .participant("room-1", "PA_a")
        .await
        .unwrap()
        .unwrap();
    let muted: Vec<(String, bool)> = got
        .info
        .tracks
        .iter()
        .map(|t| (t.id.clone(), t.muted))
        .collect();
    assert_eq!(muted, [("TR_1".into(), true), ("TR_2".into(), false)]);
    // Replacing a track keeps its place; removing the last leaves an empty list.
    let mut replaced = track("TR_2");
    replaced.kind = TrackKind::Video;
    assert!(r
        .rooms
        .put_track("room-1", "PA_a", &replaced)
        .await
        .unwrap());
    assert!(r
        .rooms
        .remove_track("room-1", "PA_a", "TR_1")
        .await
        .unwrap());
    assert!(!r
        .rooms
        .remove_track("room-1", "PA_a", "TR_1")
        .await
        .unwrap());
    assert!(r
        .rooms
        .remove_track("room-1", "PA_a", "TR_2")
        .await
        .unwrap());
    let got = r
        .rooms
        .participant("room-1", "PA_a")
        .await
        .unwrap()
        .unwrap();
    assert!(got.info.tracks.is_empty());
    assert_eq!(got.info.name, a.info.name);
    // Absent participants and rooms are left alone.
    assert!(!r
        .rooms
        .put_track("room-1", "PA_ghost", &track("TR_1"))
        .await
        .unwrap());
    assert!(!r
        .rooms
        .put_track("room-2", "PA_a", &track("TR_1"))
        .await
        .unwrap());
    assert_eq!(
        r.rooms.participant("room-1", "PA_ghost").await.unwrap(),
        None
    );

    // Concurrent updates from different handles (the node publishing, signaling muting)
    // are all kept: no read-modify-write of the whole record.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let h = f.routing().await;
        tasks.push(tokio::spawn(async move {
            h.rooms
                .put_track("room-1", "PA_a", &track(&format!("TR_c{i}")))
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap());
    }
    let got = r
        .rooms
        .participant("room-1", "PA_a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.info.tracks.len(), 20, "{:?}", got.info.tracks);
}

async fn set_participant_never_resurrects_a_closed_connection(f: Fixture) {
    let r = f.routing().await;
    let c = Connection {
        id: "conn-1".into(),
        room: "room-1".into(),
        identity: "alice".into(),
        name: "Alice ünïcode \"q\"".into(),
        grants: Grants::default(),
        participant_id: None,
        connected_at: 1_796_171_432_123,
        guest: false,
        source_ip: None,
    };
    r.connections.put_connection(&c).await.unwrap();
    assert!(r
        .connections
        .set_participant("conn-1", Some("PA_1"))
        .await
        .unwrap());
    let got = r.connections.connection("conn-1").await.unwrap().unwrap();
    assert_eq!(got.participant_id.as_deref(), Some("PA_1"));
    assert_eq!(got.name, c.name);
    assert_eq!(got.connected_at, c.connected_at);
    assert!(r.connections.set_participant("conn-1", None).await.unwrap());
    assert_eq!(
        r.connections.connection("conn-1").await.unwrap(),
        Some(c.clone())
    );
    // `$disconnect` ran first: a late join must not store the connection again.
    r.connections.remove_connection("conn-1").await.unwrap();
    assert!(!r
        .connections
        .set_participant("conn-1", Some("PA_2"))
        .await
        .unwrap());
    assert_eq!(r.connections.connection("conn-1").await.unwrap(), None);
}

async fn reassignment_is_a_compare_and_set_with_epochs(f: Fixture) {
    let r = f.routing().await;
    for id in ["node-a", "node-b", "node-c"] {
        r.nodes
            .heartbeat(&node(id, 0), Duration::from_secs(30))
            .await
            .unwrap();
    }
    let first = r
        .assign_node("room-1", &LeastLoaded)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first,
        Assignment {
            node: "node-a".into(),
            epoch: 1
        }
    );
    // Assigned rooms keep their node and epoch.
    assert_eq!(
        r.assign_node("room-1", &LeastLoaded).await.unwrap(),
        Some(first.clone())
    );
    let moved = r
        .rooms
        .reassign_room("room-1", "node-a", "node-b")
        .await
        .unwrap();
    assert_eq!(
        moved,
        Some(Assignment {
            node: "node-b".into(),
            epoch: 2
        })
    );
    // A second mover that still thinks the room is on node-a loses.
    assert_eq!(
        r.rooms
            .reassign_room("room-1", "node-a", "node-c")
            .await
            .unwrap(),
        None
    );
    let info = r.rooms.room("room-1").await.unwrap().unwrap();
    assert_eq!((info.node.as_deref(), info.epoch), (Some("node-b"), 2));
    assert_eq!(
        r.rooms
            .reassign_room("no-room", "node-a", "node-b")
            .await
            .unwrap(),
        None
    );

    // Concurrent movers of one room: exactly one wins.
    let mut tasks = Vec::new();
    for to in ["node-a", "node-c"] {
        let h = f.routing().await;
        tasks.push(tokio::spawn(async move {
            h.rooms.reassign_room("room-1", "node-b", to).await.unwrap()
        }));
    }
    let mut wins = Vec::new();
    for t in tasks {
        wins.extend(t.await.unwrap());
    }
    assert_eq!(wins.len(), 1, "{wins:?}");
    assert_eq!(wins[0].epoch, 3);
}

async fn restore_puts_back_a_lost_room_unless_it_lives_elsewhere(f: Fixture) {
    let r = f.routing().await;
    for id in ["node-a", "node-b"] {
        r.nodes
            .heartbeat(&node(id, 0), Duration::from_secs(30))
            .await
            .unwrap();
    }
    let mut a = participant("PA_a", "alice", 1);
    a.info.tracks.push(track("TR_a"));
    let b = participant("PA_b", "bob", 2);
    let settings = RoomSettings {
        max_participants: 7,
        name: Some("Board".into()),
        access: RoomAccess::InviteOnly,
        ..RoomSettings::default()
    };
    let snapshot = |participants: &[ParticipantRecord]| RoomSnapshot {
        assignment: Assignment {
            node: "node-a".into(),
            epoch: 4,
        },
        settings: settings.clone(),
        participants: participants.to_vec(),
    };
    assert_eq!(
        r.rooms
            .restore_room("room-1", &snapshot(&[a.clone(), b.clone()]))
            .await
            .unwrap(),
        Restore::Restored { added: 2 }
    );
    let info = r.rooms.room("room-1").await.unwrap().unwrap();
    assert_eq!((info.node.as_deref(), info.epoch), (Some("node-a"), 4));
    // An invite-only room does not come back open.
    assert_eq!(info.settings, settings);
    assert!(r
        .rooms
        .list_rooms()
        .await
        .unwrap()
        .contains(&"room-1".to_owned()));
    assert_eq!(
        ids(&r.rooms.participants("room-1").await.unwrap()),
        ["PA_a", "PA_b"]
    );
    assert_eq!(
        r.rooms
            .participant("room-1", "PA_a")
            .await
            .unwrap()
            .unwrap()
            .info
            .tracks,
        a.info.tracks
    );
    // Restoring again adds nothing; a participant who joined meanwhile stays.
    let c = participant("PA_c", "carol", 3);
    r.rooms.add_participant("room-1", &c).await.unwrap();
    assert_eq!(
        r.rooms
            .restore_room("room-1", &snapshot(&[a.clone(), b.clone()]))
            .await
            .unwrap(),
        Restore::Restored { added: 0 }
    );
    assert_eq!(r.rooms.participants("room-1").await.unwrap().len(), 3);
    // Identity replacement still works on restored participants.
    let a2 = participant("PA_a2", "alice", 9);
    match r.rooms.add_participant("room-1", &a2).await.unwrap() {
        AddOutcome::Added {
            replaced: Some(old),
        } => assert_eq!(old.info.id, "PA_a"),
        other => panic!("alice's restored record should be replaced: {other:?}"),
    }
    // A room that went to another live node while ours was unreachable is left there.
    r.rooms
        .reassign_room("room-1", "node-a", "node-b")
        .await
        .unwrap();
    match r
        .rooms
        .restore_room("room-1", &snapshot(std::slice::from_ref(&b)))
        .await
        .unwrap()
    {
        Restore::Elsewhere(x) => assert_eq!(x.node, "node-b"),
        other => panic!("expected elsewhere, got {other:?}"),
    }
    assert!(r
        .rooms
        .list_rooms()
        .await
        .unwrap()
        .contains(&"room-1".to_owned()));
}

async fn generation_is_stable_until_the_data_is_lost(mut f: Fixture) {
    let r = f.routing().await;
    let g1 = r.nodes.generation().await.unwrap();
    assert!(!g1.is_empty());
    assert_eq!(f.routing().await.nodes.generation().await.unwrap(), g1);
    if let Fixture::Redis(server) = &mut f {
        server.restart();
    }
    if matches!(f, Fixture::Redis(_)) {
        let g2 = eventually("redis back after restart", || async {
            f.routing().await.nodes.generation().await.ok()
        })
        .await;
        assert_ne!(g2, g1, "a restart without persistence is a new data set");
    }
}
