//! In-process routing for local mode: one mutex over plain maps, inboxes as channels.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::*;

/// Inbox channel depth; a node that falls this far behind loses the oldest messages (and
/// logs it), as a Redis pub/sub subscriber with a full output buffer would be cut off.
const INBOX_CAPACITY: usize = 4096;

#[derive(Default)]
struct RoomEntry {
    info: Option<RoomInfo>,
    participants: Vec<ParticipantRecord>,
    /// Set while the room is empty and waiting out its `empty_timeout_secs`.
    expires_at: Option<Instant>,
    /// Kept out of the current meeting.
    denied: std::collections::HashSet<String>,
    /// Guests waiting for a host, oldest first.
    lobby: Vec<LobbyEntry>,
}

struct NodeEntry {
    info: NodeInfo,
    expires: Instant,
}

#[derive(Default)]
struct State {
    connections: HashMap<String, Connection>,
    rooms: HashMap<String, RoomEntry>,
    nodes: HashMap<String, NodeEntry>,
    keys: HashMap<String, (String, Instant)>,
    queues: HashMap<String, VecDeque<String>>,
}

impl State {
    /// The room store after dropping rooms whose empty timeout passed.
    fn rooms(&mut self) -> &mut HashMap<String, RoomEntry> {
        let now = Instant::now();
        self.rooms
            .retain(|_, r| r.expires_at.is_none_or(|t| t > now));
        &mut self.rooms
    }

    /// The live value of a key.
    fn key(&mut self, key: &str) -> Option<&mut (String, Instant)> {
        let now = Instant::now();
        self.keys.retain(|_, (_, expires)| *expires > now);
        self.keys.get_mut(key)
    }

    fn live_node(&self, id: &str) -> Option<&NodeInfo> {
        self.nodes
            .get(id)
            .filter(|n| n.expires > Instant::now())
            .map(|n| &n.info)
    }
}

/// Routing state held in this process.
pub struct MemoryRouting {
    generation: String,
    state: Mutex<State>,
    inboxes: Mutex<HashMap<String, broadcast::Sender<NodeMessage>>>,
}

impl Default for MemoryRouting {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRouting {
    pub fn new() -> Self {
        Self {
            generation: format!("mem-{:016x}", rand::random::<u64>()),
            state: Mutex::new(State::default()),
            inboxes: Mutex::new(HashMap::new()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than losing every room, so recover the guard.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `change` on a participant's record under the lock; false if it is not there.
    fn with_participant(
        &self,
        code: &str,
        participant_id: &str,
        change: impl FnOnce(&mut ParticipantRecord) -> bool,
    ) -> bool {
        let mut st = self.state();
        st.rooms()
            .get_mut(code)
            .and_then(|r| {
                r.participants
                    .iter_mut()
                    .find(|p| p.info.id == participant_id)
            })
            .is_some_and(change)
    }

    fn inbox(&self, node: &str) -> broadcast::Sender<NodeMessage> {
        let mut inboxes = self.inboxes.lock().unwrap_or_else(|e| e.into_inner());
        inboxes
            .entry(node.to_owned())
            .or_insert_with(|| broadcast::channel(INBOX_CAPACITY).0)
            .clone()
    }
}

#[async_trait]
impl ConnectionStore for MemoryRouting {
    async fn put_connection(&self, conn: &Connection) -> Result<()> {
        self.state()
            .connections
            .insert(conn.id.clone(), conn.clone());
        Ok(())
    }

    async fn connection(&self, id: &str) -> Result<Option<Connection>> {
        Ok(self.state().connections.get(id).cloned())
    }

    async fn remove_connection(&self, id: &str) -> Result<Option<Connection>> {
        Ok(self.state().connections.remove(id))
    }

    async fn set_participant(&self, id: &str, participant_id: Option<&str>) -> Result<bool> {
        Ok(match self.state().connections.get_mut(id) {
            Some(c) => {
                c.participant_id = participant_id.map(str::to_owned);
                true
            }
            None => false,
        })
    }
}

fn new_room(code: &str, settings: RoomSettings) -> RoomInfo {
    RoomInfo {
        code: code.to_owned(),
        node: None,
        epoch: 0,
        created_at: unix_millis(),
        settings,
        locked: false,
        lobby: false,
    }
}

#[async_trait]
impl RoomStore for MemoryRouting {
    async fn create_room(&self, code: &str, settings: RoomSettings) -> Result<bool> {
        let mut st = self.state();
        let entry = st.rooms().entry(code.to_owned()).or_default();
        if entry.info.is_some() {
            return Ok(false);
        }
        // A room nobody joins goes after its empty timeout; the first join cancels this.
        if settings.empty_timeout_secs > 0 {
            entry.expires_at =
                Some(Instant::now() + Duration::from_secs(settings.empty_timeout_secs));
        }
        entry.info = Some(new_room(code, settings));
        Ok(true)
    }

    async fn room(&self, code: &str) -> Result<Option<RoomInfo>> {
        Ok(self.state().rooms().get(code).and_then(|r| r.info.clone()))
    }

    async fn list_rooms(&self) -> Result<Vec<String>> {
        let mut st = self.state();
        let mut codes: Vec<String> = st
            .rooms()
            .iter()
            .filter(|(_, r)| r.info.is_some())
            .map(|(c, _)| c.clone())
            .collect();
        codes.sort();
        Ok(codes)
    }

    async fn claim_node(&self, code: &str, candidates: &[String]) -> Result<Option<Assignment>> {
        let mut st = self.state();
        let current = st
            .rooms()
            .get(code)
            .and_then(|r| r.info.as_ref())
            .and_then(|i| {
                i.node.clone().map(|node| Assignment {
                    node,
                    epoch: i.epoch,
                })
            });
        if let Some(a) = current.filter(|a| st.live_node(&a.node).is_some()) {
            return Ok(Some(a));
        }
        let chosen = candidates
            .iter()
            .find(|id| st.live_node(id).is_some_and(|n| !n.draining))
            .cloned();
        let Some(node) = chosen else {
            return Ok(None);
        };
        // Count the room at once so back-to-back new rooms spread before the next heartbeat.
        if let Some(n) = st.nodes.get_mut(&node) {
            n.info.load.rooms += 1;
        }
        let entry = st.rooms().entry(code.to_owned()).or_default();
        let info = entry
            .info
            .get_or_insert_with(|| new_room(code, RoomSettings::default()));
        info.node = Some(node.clone());
        info.epoch += 1;
        Ok(Some(Assignment {
            node,
            epoch: info.epoch,
        }))
    }

    async fn reassign_room(&self, code: &str, from: &str, to: &str) -> Result<Option<Assignment>> {
        let mut st = self.state();
        let Some(info) = st.rooms().get_mut(code).and_then(|r| r.info.as_mut()) else {
            return Ok(None);
        };
        if info.node.as_deref() != Some(from) {
            return Ok(None);
        }
        info.node = Some(to.to_owned());
        info.epoch += 1;
        Ok(Some(Assignment {
            node: to.to_owned(),
            epoch: info.epoch,
        }))
    }

    async fn restore_room(&self, code: &str, snapshot: &RoomSnapshot) -> Result<Restore> {
        let mut st = self.state();
        let current = st
            .rooms()
            .get(code)
            .and_then(|r| r.info.as_ref())
            .and_then(|i| i.node.clone().map(|n| (n, i.epoch)));
        if let Some((node, epoch)) = current {
            if node != snapshot.assignment.node && st.live_node(&node).is_some() {
                return Ok(Restore::Elsewhere(Assignment { node, epoch }));
            }
        }
        let entry = st.rooms().entry(code.to_owned()).or_default();
        let info = entry
            .info
            .get_or_insert_with(|| new_room(code, snapshot.settings.clone()));
        info.node = Some(snapshot.assignment.node.clone());
        info.epoch = info.epoch.max(snapshot.assignment.epoch);
        let mut added = 0;
        for p in &snapshot.participants {
            if !entry.participants.iter().any(|q| q.info.id == p.info.id) {
                entry.participants.push(p.clone());
                added += 1;
            }
        }
        entry.expires_at = None;
        Ok(Restore::Restored { added })
    }

    async fn add_participant(&self, code: &str, record: &ParticipantRecord) -> Result<AddOutcome> {
        let mut st = self.state();
        let entry = st.rooms().entry(code.to_owned()).or_default();
        let max = entry
            .info
            .get_or_insert_with(|| new_room(code, RoomSettings::default()))
            .settings
            .max_participants as usize;
        let replaced = entry
            .participants
            .iter()
            .position(|p| p.info.identity == record.info.identity)
            .map(|i| entry.participants.remove(i));
        if max > 0 && entry.participants.len() >= max {
            if let Some(r) = replaced {
                entry.participants.push(r);
            }
            return Ok(AddOutcome::Full);
        }
        entry.participants.push(record.clone());
        entry.expires_at = None;
        Ok(AddOutcome::Added { replaced })
    }

    async fn remove_participant(&self, code: &str, participant_id: &str) -> Result<Removal> {
        let mut st = self.state();
        let Some(entry) = st.rooms().get_mut(code) else {
            return Ok(Removal {
                removed: None,
                remaining: 0,
            });
        };
        let removed = entry
            .participants
            .iter()
            .position(|p| p.info.id == participant_id)
            .map(|i| entry.participants.remove(i));
        Ok(Removal {
            removed,
            remaining: entry.participants.len(),
        })
    }

    async fn put_track(&self, code: &str, participant_id: &str, track: &TrackInfo) -> Result<bool> {
        Ok(self.with_participant(code, participant_id, |p| {
            match p.track_mut(&track.id) {
                Some(t) => *t = track.clone(),
                None => p.info.tracks.push(track.clone()),
            }
            true
        }))
    }

    async fn remove_track(&self, code: &str, participant_id: &str, track_id: &str) -> Result<bool> {
        Ok(self.with_participant(code, participant_id, |p| {
            let before = p.info.tracks.len();
            p.info.tracks.retain(|t| t.id != track_id);
            p.info.tracks.len() != before
        }))
    }

    async fn set_track_muted(
        &self,
        code: &str,
        participant_id: &str,
        track_id: &str,
        muted: bool,
    ) -> Result<bool> {
        Ok(self.with_participant(code, participant_id, |p| {
            p.track_mut(track_id).map(|t| t.muted = muted).is_some()
        }))
    }

    async fn set_hand(
        &self,
        code: &str,
        participant_id: &str,
        raised_at: Option<u64>,
    ) -> Result<bool> {
        Ok(self.with_participant(code, participant_id, |p| {
            p.info.hand_raised_at = raised_at;
            true
        }))
    }

    async fn participant(
        &self,
        code: &str,
        participant_id: &str,
    ) -> Result<Option<ParticipantRecord>> {
        Ok(self.state().rooms().get(code).and_then(|r| {
            r.participants
                .iter()
                .find(|p| p.info.id == participant_id)
                .cloned()
        }))
    }

    async fn participants(&self, code: &str) -> Result<Vec<ParticipantRecord>> {
        Ok(self
            .state()
            .rooms()
            .get(code)
            .map(|r| r.participants.clone())
            .unwrap_or_default())
    }

    async fn delete_room_if_empty(&self, code: &str) -> Result<bool> {
        let mut st = self.state();
        let rooms = st.rooms();
        let Some(entry) = rooms.get_mut(code).filter(|r| r.participants.is_empty()) else {
            return Ok(false);
        };
        let timeout = entry
            .info
            .as_ref()
            .map_or(0, |i| i.settings.empty_timeout_secs);
        if timeout == 0 {
            rooms.remove(code);
        } else {
            if let Some(info) = entry.info.as_mut() {
                info.node = None;
                info.locked = false;
                info.lobby = false;
            }
            entry.denied.clear();
            entry.lobby.clear();
            entry.expires_at = Some(Instant::now() + Duration::from_secs(timeout));
        }
        Ok(true)
    }

    async fn delete_room(&self, code: &str) -> Result<()> {
        self.state().rooms().remove(code);
        Ok(())
    }

    async fn deny(&self, code: &str, entries: &[String]) -> Result<()> {
        let mut st = self.state();
        let entry = st.rooms().entry(code.to_owned()).or_default();
        entry.denied.extend(entries.iter().cloned());
        Ok(())
    }

    async fn is_denied(&self, code: &str, entries: &[String]) -> Result<bool> {
        let mut st = self.state();
        Ok(st
            .rooms()
            .get(code)
            .is_some_and(|r| entries.iter().any(|e| r.denied.contains(e))))
    }

    async fn set_flag(&self, code: &str, flag: RoomFlag, on: bool) -> Result<bool> {
        let mut st = self.state();
        match st.rooms().get_mut(code).and_then(|r| r.info.as_mut()) {
            Some(info) => {
                match flag {
                    RoomFlag::Locked => info.locked = on,
                    RoomFlag::Lobby => info.lobby = on,
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn knock(&self, code: &str, entry: &LobbyEntry) -> Result<()> {
        let mut st = self.state();
        let room = st.rooms().entry(code.to_owned()).or_default();
        room.lobby.retain(|e| e.knock_id != entry.knock_id);
        room.lobby.push(entry.clone());
        Ok(())
    }

    async fn knocks(&self, code: &str) -> Result<Vec<LobbyEntry>> {
        let mut st = self.state();
        Ok(st
            .rooms()
            .get(code)
            .map(|r| r.lobby.clone())
            .unwrap_or_default())
    }

    async fn take_knock(&self, code: &str, knock_id: &str) -> Result<Option<LobbyEntry>> {
        let mut st = self.state();
        let Some(room) = st.rooms().get_mut(code) else {
            return Ok(None);
        };
        let at = room.lobby.iter().position(|e| e.knock_id == knock_id);
        Ok(at.map(|i| room.lobby.remove(i)))
    }
}

#[async_trait]
impl NodeRegistry for MemoryRouting {
    async fn heartbeat(&self, node: &NodeInfo, ttl: Duration) -> Result<()> {
        self.state().nodes.insert(
            node.id.clone(),
            NodeEntry {
                info: node.clone(),
                expires: Instant::now() + ttl,
            },
        );
        Ok(())
    }

    async fn node(&self, id: &str) -> Result<Option<NodeInfo>> {
        Ok(self.state().live_node(id).cloned())
    }

    async fn live_nodes(&self) -> Result<Vec<NodeInfo>> {
        let mut st = self.state();
        let now = Instant::now();
        st.nodes.retain(|_, n| n.expires > now);
        let mut nodes: Vec<NodeInfo> = st.nodes.values().map(|n| n.info.clone()).collect();
        // Ties by id, as `assign_node` breaks them, so the order is stable.
        nodes.sort_by(|a, b| {
            a.load
                .score()
                .total_cmp(&b.load.score())
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(nodes)
    }

    async fn deregister(&self, id: &str) -> Result<()> {
        self.state().nodes.remove(id);
        Ok(())
    }

    async fn generation(&self) -> Result<String> {
        // Memory is never lost while the process lives.
        Ok(self.generation.clone())
    }
}

#[async_trait]
impl MessageBus for MemoryRouting {
    async fn publish(&self, node: &str, message: &NodeMessage) -> Result<usize> {
        Ok(self.inbox(node).send(message.clone()).unwrap_or(0))
    }

    async fn subscribe(&self, node: &str) -> Result<Inbox> {
        let rx = self.inbox(node).subscribe();
        let node = node.to_owned();
        Ok(Box::pin(futures::stream::unfold(rx, move |mut rx| {
            let node = node.clone();
            async move {
                loop {
                    match rx.recv().await {
                        Ok(m) => return Some((m, rx)),
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(node, lost = n, "inbox lagged; messages dropped");
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        })))
    }
}

#[async_trait]
impl KeyStore for MemoryRouting {
    async fn claim(&self, key: &str, value: &str, ttl: Duration) -> Result<Option<String>> {
        let mut st = self.state();
        if let Some((v, _)) = st.key(key) {
            return Ok(Some(v.clone()));
        }
        st.keys
            .insert(key.to_owned(), (value.to_owned(), Instant::now() + ttl));
        Ok(None)
    }

    async fn count(&self, key: &str, window: Duration) -> Result<u64> {
        let mut st = self.state();
        let n = match st.key(key) {
            Some((v, _)) => {
                let n = v.parse::<u64>().unwrap_or(0) + 1;
                *v = n.to_string();
                n
            }
            None => {
                st.keys
                    .insert(key.to_owned(), ("1".into(), Instant::now() + window));
                1
            }
        };
        Ok(n)
    }

    async fn admit(&self, keys: &[String], rate: Rate, now_ms: u64) -> Result<Admission> {
        let mut st = self.state();
        let now = now_ms as f64;
        let tats: Vec<Option<f64>> = keys
            .iter()
            .map(|k| st.key(k).and_then(|(v, _)| v.parse().ok()))
            .collect();
        let (admission, next) = crate::rate::admit(&tats, now, rate);
        for (key, tat) in keys.iter().zip(next) {
            let expires = Instant::now() + crate::rate::key_ttl(tat, now);
            st.keys.insert(key.clone(), (tat.to_string(), expires));
        }
        Ok(admission)
    }

    async fn lease(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let mut st = self.state();
        match st.key(key) {
            Some((v, _)) if v != holder => Ok(false),
            _ => {
                st.keys
                    .insert(key.to_owned(), (holder.to_owned(), Instant::now() + ttl));
                Ok(true)
            }
        }
    }

    async fn release(&self, key: &str) -> Result<()> {
        self.state().keys.remove(key);
        Ok(())
    }
}

#[async_trait]
impl EventQueue for MemoryRouting {
    async fn push(&self, queue: &str, item: &str, bound: usize) -> Result<bool> {
        let mut st = self.state();
        let q = st.queues.entry(queue.to_owned()).or_default();
        if q.len() >= bound {
            return Ok(false);
        }
        q.push_back(item.to_owned());
        Ok(true)
    }

    async fn peek(&self, queue: &str) -> Result<Option<String>> {
        Ok(self
            .state()
            .queues
            .get(queue)
            .and_then(|q| q.front().cloned()))
    }

    async fn pop(&self, queue: &str) -> Result<()> {
        if let Some(q) = self.state().queues.get_mut(queue) {
            q.pop_front();
        }
        Ok(())
    }

    async fn len(&self, queue: &str) -> Result<usize> {
        Ok(self.state().queues.get(queue).map_or(0, VecDeque::len))
    }
}
