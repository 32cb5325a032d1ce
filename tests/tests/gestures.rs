//! Raised hands and reactions over real WebSockets, on both backends: hands line up in the
//! order they went up (late joiners see the line in `joined`), only hosts lower someone
//! else's, reactions reach everyone from a fixed set, and a reaction flood is held to its
//! bucket without dropping anyone.

use serde_json::{json, Value};
use veet_tests::{panics, Backend, QUIET, WAIT};

veet_tests::for_both_backends!(
    hands_line_up_and_only_hosts_lower_others,
    reactions_reach_everyone_and_floods_are_held_back,
);

const ROOM: &str = "hnd-rect-abc";

fn pid(joined: &Value) -> String {
    joined["participant"]["id"].as_str().unwrap().to_owned()
}

async fn hands_line_up_and_only_hosts_lower_others(backend: Backend) {
    panics::watch();
    let s = veet_tests::TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut ann, ann_joined) = s.join(ROOM, "ann").await;
    let (mut bob, bob_joined) = s.join(ROOM, "bob").await;
    let (ann_id, bob_id) = (pid(&ann_joined), pid(&bob_joined));

    ann.send(json!({"action": "raise_hand", "raised": true}))
        .await;
    let mut first_at = 0;
    for c in [&mut ann, &mut bob] {
        let f = c.expect("hand_changed").await;
        assert_eq!(f["participant_id"], ann_id.as_str());
        first_at = f["raised_at"].as_u64().expect("raised_at");
    }
    // Raising again keeps Ann's place; nobody hears of it.
    ann.send(json!({"action": "raise_hand", "raised": true}))
        .await;
    bob.expect_none("hand_changed", QUIET).await;
    bob.send(json!({"action": "raise_hand", "raised": true}))
        .await;
    let f = ann.expect("hand_changed").await;
    assert!(f["raised_at"].as_u64().unwrap() >= first_at, "{f}");

    // A late joiner sees both hands, Ann's first.
    let (mut hana, hana_joined) = s.join_as_host(ROOM, "hana").await;
    let mut line: Vec<(u64, String)> = hana_joined["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            Some((
                p["hand_raised_at"].as_u64()?,
                p["name"].as_str()?.to_owned(),
            ))
        })
        .collect();
    line.sort();
    let names: Vec<&str> = line.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["ann", "bob"], "{hana_joined}");

    // A guest may not lower someone else's hand; a host may, and is named.
    bob.send(json!({"action": "lower_hand", "participant_id": ann_id}))
        .await;
    bob.expect_error("forbidden").await;
    hana.send(json!({"action": "lower_hand", "participant_id": ann_id}))
        .await;
    let hana_id = pid(&hana_joined);
    for c in [&mut ann, &mut bob, &mut hana] {
        let f = c
            .expect_where("hand_changed", |f| f["participant_id"] == ann_id.as_str())
            .await;
        assert!(f.get("raised_at").is_none(), "{f}");
        assert_eq!(f["by"], hana_id.as_str());
    }
    // Bob lowers his own; lowering a hand that is down, or nobody's, changes nothing.
    bob.send(json!({"action": "lower_hand", "participant_id": bob_id}))
        .await;
    let f = ann.expect("hand_changed").await;
    assert!(f.get("by").is_none(), "own hand: no `by`: {f}");
    hana.send(json!({"action": "lower_hand", "participant_id": bob_id}))
        .await;
    hana.send(json!({"action": "lower_hand", "participant_id": "PA_nobody"}))
        .await;
    hana.expect_error("not_found").await;
    ann.expect_none("hand_changed", QUIET).await;
    let stored = s.routing().rooms.participants(ROOM).await.unwrap();
    assert!(
        stored.iter().all(|p| p.info.hand_raised_at.is_none()),
        "{stored:?}"
    );
    panics::assert_no_server_panics();
}

async fn reactions_reach_everyone_and_floods_are_held_back(backend: Backend) {
    panics::watch();
    let s = veet_tests::TestServer::start(backend).await;
    s.add_node("node-1").await;
    let (mut ann, ann_joined) = s.join(ROOM, "ann").await;
    let (mut bob, _) = s.join(ROOM, "bob").await;
    let ann_id = pid(&ann_joined);

    ann.send(json!({"action": "react", "emoji": "🎉"})).await;
    for c in [&mut ann, &mut bob] {
        let f = c.expect("reaction").await;
        assert_eq!(
            (f["participant_id"].as_str(), f["emoji"].as_str()),
            (Some(ann_id.as_str()), Some("🎉"))
        );
    }
    // Only the fixed set: never free text.
    ann.send(json!({"action": "react", "emoji": "buy my stuff"}))
        .await;
    let err = ann.expect_error("invalid_frame").await;
    assert!(err["message"].as_str().unwrap().contains("👍"), "{err}");

    // A flood: the room hears at most the bucket, Ann hears `rate_limited`, nobody drops.
    let started = std::time::Instant::now();
    ann.send_burst((0..300).map(|_| json!({"action": "react", "emoji": "👏"}).to_string()))
        .await;
    let (mut echoed, mut limited) = (0u32, 0u32);
    while echoed + limited < 300 {
        let f = ann
            .recv(WAIT)
            .await
            .unwrap_or_else(|| panic!("only {} of 300 answers arrived", echoed + limited));
        match f["type"].as_str() {
            Some("reaction") => echoed += 1,
            Some("error") => {
                assert_eq!(f["code"], "rate_limited", "{f}");
                limited += 1;
            }
            _ => {}
        }
    }
    // The reaction bucket: 15 at once, then 3 a second (the first 🎉 took one).
    let allowed = 15.0 + 3.0 * started.elapsed().as_secs_f64().ceil() + 1.0;
    assert!(
        (10..=allowed as u32).contains(&echoed),
        "{echoed} of 300 got through (limit {allowed})"
    );
    for _ in 0..echoed {
        bob.expect_where("reaction", |f| f["emoji"] == "👏").await;
    }
    bob.expect_none_where("reaction", |f| f["emoji"] == "👏", QUIET)
        .await;
    bob.send(json!({"action": "chat", "text": "still here"}))
        .await;
    ann.expect_where("chat", |f| f["text"] == "still here")
        .await;
    panics::assert_no_server_panics();
}
