//! The node's rooms by code, and the rules that keep routed messages from being lost between
//! them: a `Join` for a room whose task is ending starts a new task instead of vanishing, and
//! signals that arrive before their room's `Join` (another node moved the room here, or the
//! inbox delivered out of the order they were sent in) wait a little for it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use veet_core::protocol::NodeMessage;

use crate::room::RoomEvent;

/// How long a message for a room not (yet) on this node is kept.
pub const EARLY_TTL: Duration = Duration::from_secs(5);
/// At most this many such messages per room, and in all.
pub const EARLY_PER_ROOM: usize = 64;
pub const EARLY_TOTAL: usize = 4096;

/// What [`RoomDirectory::route`] did with a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Routed {
    /// Queued on the room's task.
    Delivered,
    /// A `Join` for a room not here: the caller must start one (see [`RoomDirectory::start`]).
    StartRoom,
    /// Kept until the room's `Join` comes, or [`EARLY_TTL`] passes.
    Held,
    /// Dropped: the room's queue is full, or too much is held already.
    Dropped,
}

#[derive(Default)]
struct Inner {
    rooms: HashMap<String, mpsc::Sender<RoomEvent>>,
    early: HashMap<String, Vec<(Instant, NodeMessage)>>,
    early_len: usize,
}

/// Rooms on this node. Senders are used only under the lock, so a room that retires (see
/// [`RoomDirectory::retire_if_idle`]) knows no message is on its way to it.
#[derive(Default)]
pub struct RoomDirectory {
    inner: Mutex<Inner>,
}

impl RoomDirectory {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands `message` to its room's task if there is one.
    pub fn route(&self, message: NodeMessage, now: Instant) -> Routed {
        let mut inner = self.lock();
        let code = message.room().to_owned();
        if let Some(tx) = inner.rooms.get(&code) {
            return match tx.try_send(RoomEvent::Message(message)) {
                Ok(()) => Routed::Delivered,
                Err(e) => {
                    tracing::warn!(room = %code, error = %e, "room queue full; message dropped");
                    Routed::Dropped
                }
            };
        }
        if matches!(message, NodeMessage::Join { .. }) {
            return Routed::StartRoom;
        }
        // Leaves and closes for a room that is not here have nothing to act on.
        if !matches!(
            message,
            NodeMessage::Signal { .. } | NodeMessage::Mute { .. }
        ) {
            return Routed::Dropped;
        }
        inner.expire(now);
        if inner.early_len >= EARLY_TOTAL {
            return Routed::Dropped;
        }
        let held = inner.early.entry(code).or_default();
        if held.len() >= EARLY_PER_ROOM {
            return Routed::Dropped;
        }
        held.push((now, message));
        inner.early_len += 1;
        Routed::Held
    }

    /// Registers a new room task and delivers `join` and what was held for the room.
    pub fn start(&self, code: &str, tx: mpsc::Sender<RoomEvent>, join: NodeMessage, now: Instant) {
        let mut inner = self.lock();
        inner.expire(now);
        let held = inner.early.remove(code).unwrap_or_default();
        inner.early_len -= held.len();
        for m in std::iter::once(join).chain(held.into_iter().map(|(_, m)| m)) {
            if tx.try_send(RoomEvent::Message(m)).is_err() {
                tracing::warn!(room = %code, "new room queue full; message dropped");
            }
        }
        inner.rooms.insert(code.to_owned(), tx);
    }

    /// Removes an empty room, unless messages are queued for it (a `Join` that raced its
    /// last `Leave`): then it must keep running. Returns whether it retired.
    /// `events` is the room's own sender, `rx` its queue.
    pub fn retire_if_idle(
        &self,
        code: &str,
        events: &mpsc::Sender<RoomEvent>,
        rx: &mpsc::Receiver<RoomEvent>,
    ) -> bool {
        let mut inner = self.lock();
        if !rx.is_empty() {
            return false;
        }
        if inner
            .rooms
            .get(code)
            .is_some_and(|tx| tx.same_channel(events))
        {
            inner.rooms.remove(code);
        }
        true
    }

    /// Removes a room that moved away or was closed, whatever is queued for it.
    pub fn retire(&self, code: &str, events: &mpsc::Sender<RoomEvent>) {
        let mut inner = self.lock();
        if inner
            .rooms
            .get(code)
            .is_some_and(|tx| tx.same_channel(events))
        {
            inner.rooms.remove(code);
        }
    }

    /// Every room's queue.
    pub fn all(&self) -> Vec<(String, mpsc::Sender<RoomEvent>)> {
        self.lock()
            .rooms
            .iter()
            .map(|(c, tx)| (c.clone(), tx.clone()))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.lock().rooms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn expire(&mut self, now: Instant) {
        let mut dropped = 0;
        self.early.retain(|_, held| {
            let before = held.len();
            held.retain(|(at, _)| now.duration_since(*at) < EARLY_TTL);
            dropped += before - held.len();
            !held.is_empty()
        });
        self.early_len -= dropped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use veet_core::protocol::{ParticipantInfo, PeerRole, Signal};

    fn join(room: &str) -> NodeMessage {
        NodeMessage::Join {
            room: room.into(),
            connection_id: "c".into(),
            participant: ParticipantInfo {
                id: "p".into(),
                identity: "i".into(),
                name: "n".into(),
                joined_at: 0,
                tracks: Vec::new(),
                grants: Default::default(),
                hand_raised_at: None,
            },
            epoch: 1,
        }
    }

    fn signal(room: &str) -> NodeMessage {
        NodeMessage::Signal {
            room: room.into(),
            participant_id: "p".into(),
            role: PeerRole::Publisher,
            signal: Signal::Answer { sdp: "x".into() },
        }
    }

    fn kinds(rx: &mut mpsc::Receiver<RoomEvent>) -> Vec<&'static str> {
        let mut out = Vec::new();
        while let Ok(RoomEvent::Message(m)) = rx.try_recv() {
            out.push(match m {
                NodeMessage::Join { .. } => "join",
                NodeMessage::Signal { .. } => "signal",
                _ => "other",
            });
        }
        out
    }

    #[test]
    fn signals_before_the_join_are_held_then_delivered_after_it() {
        let d = RoomDirectory::default();
        let t0 = Instant::now();
        assert_eq!(d.route(signal("r"), t0), Routed::Held);
        assert_eq!(d.route(signal("r"), t0), Routed::Held);
        assert_eq!(d.route(join("r"), t0), Routed::StartRoom);
        let (tx, mut rx) = mpsc::channel(16);
        d.start("r", tx, join("r"), t0);
        assert_eq!(kinds(&mut rx), ["join", "signal", "signal"]);
        assert_eq!(d.route(signal("r"), t0), Routed::Delivered);
    }

    #[test]
    fn held_signals_expire_and_are_bounded() {
        let d = RoomDirectory::default();
        let t0 = Instant::now();
        for _ in 0..EARLY_PER_ROOM {
            assert_eq!(d.route(signal("r"), t0), Routed::Held);
        }
        assert_eq!(d.route(signal("r"), t0), Routed::Dropped);
        let later = t0 + EARLY_TTL + Duration::from_millis(1);
        let (tx, mut rx) = mpsc::channel(256);
        d.start("r", tx, join("r"), later);
        assert_eq!(kinds(&mut rx), ["join"]);
    }

    #[test]
    fn a_room_with_queued_messages_does_not_retire() {
        let d = RoomDirectory::default();
        let t0 = Instant::now();
        let (tx, rx) = mpsc::channel(16);
        d.start("r", tx.clone(), join("r"), t0);
        // The Join is still queued: the room must keep running.
        assert!(!d.retire_if_idle("r", &tx, &rx));
        let mut rx = rx;
        let _ = rx.try_recv();
        assert!(d.retire_if_idle("r", &tx, &rx));
        assert!(d.is_empty());
        // A Join now starts a new room rather than reaching the retired one.
        assert_eq!(d.route(join("r"), t0), Routed::StartRoom);
    }

    #[test]
    fn leaves_for_absent_rooms_are_not_held() {
        let d = RoomDirectory::default();
        let leave = NodeMessage::Leave {
            room: "r".into(),
            participant_id: "p".into(),
        };
        assert_eq!(d.route(leave, Instant::now()), Routed::Dropped);
    }
}
