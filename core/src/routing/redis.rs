//! Routing in Redis (ElastiCache in AWS).
//!
//! Layout (prefix `veet:`; a room's keys share the `{code}` hash tag so they sit in one slot):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `veet:conn:{id}` | string (JSON), TTL 2 h 10 min | [`Connection`] |
//! | `veet:room:{code}` | hash | `node`, `epoch` (bumped on each assignment), `created_at`, `settings` (JSON), `locked`, `lobby` |
//! | `veet:room:{code}:participants` | hash | participant id → [`ParticipantRecord`] JSON |
//! | `veet:room:{code}:identities` | hash | identity → participant id |
//! | `veet:room:{code}:denied` | set | identities and guest addresses removed from the meeting |
//! | `veet:room:{code}:lobby` | hash | knock id → [`LobbyEntry`] JSON (guests waiting for a host) |
//! | `veet:rooms` | set | room codes |
//! | `veet:node:{id}` | hash, TTL = heartbeat TTL | `info` ([`NodeInfo`] JSON), `draining` |
//! | `veet:nodes` | sorted set | node id → load score (+1 per room assigned since the last heartbeat) |
//! | `veet:inbox:{id}` | pub/sub channel | [`NodeMessage`] JSON |
//! | `veet:kv:{key}` | string, TTL | claims (idempotency, replay), counters, leases |
//! | `veet:queue:{name}` | list | outgoing webhook events, oldest first |
//! | `veet:generation` | string | id of this data set; a new one after Redis lost its data |
//!
//! Multi-key invariants (assignment, capacity, last-one-out) are Lua scripts, so they are
//! atomic without locks.

use std::collections::HashMap;
use std::time::Duration;

use ::redis::aio::ConnectionManager;
use ::redis::{AsyncCommands, Client, Script};
use async_trait::async_trait;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::retry::RetryingConnection;
use super::*;

const CONNECTION_TTL_SECS: u64 = 2 * 3600 + 600;
const NODES_KEY: &str = "veet:nodes";
const ROOMS_KEY: &str = "veet:rooms";
const NODE_PREFIX: &str = "veet:node:";
const GENERATION_KEY: &str = "veet:generation";

fn conn_key(id: &str) -> String {
    format!("veet:conn:{id}")
}
fn room_key(code: &str) -> String {
    format!("veet:room:{{{code}}}")
}
fn participants_key(code: &str) -> String {
    format!("veet:room:{{{code}}}:participants")
}
fn identities_key(code: &str) -> String {
    format!("veet:room:{{{code}}}:identities")
}
fn denied_key(code: &str) -> String {
    format!("veet:room:{{{code}}}:denied")
}
fn lobby_key(code: &str) -> String {
    format!("veet:room:{{{code}}}:lobby")
}
fn node_key(id: &str) -> String {
    format!("{NODE_PREFIX}{id}")
}
fn kv_key(key: &str) -> String {
    format!("veet:kv:{key}")
}
fn queue_key(queue: &str) -> String {
    format!("veet:queue:{queue}")
}
fn inbox_channel(node: &str) -> String {
    format!("veet:inbox:{node}")
}

/// Keeps a room's node if it is alive; otherwise claims the first live, non-draining
/// candidate (ARGV[5..]) and bumps the epoch. Returns {node, epoch} or false.
const CLAIM_NODE: &str = r#"
local cur = redis.call('HGET', KEYS[1], 'node')
if cur and redis.call('EXISTS', ARGV[1] .. cur) == 1 then
  return {cur, tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0')}
end
for i = 5, #ARGV do
  local id = ARGV[i]
  local nk = ARGV[1] .. id
  if redis.call('EXISTS', nk) == 1 and redis.call('HGET', nk, 'draining') ~= '1' then
    redis.call('HSET', KEYS[1], 'node', id)
    if redis.call('HSETNX', KEYS[1], 'created_at', ARGV[2]) == 1 then
      redis.call('HSET', KEYS[1], 'settings', ARGV[4])
    end
    local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
    redis.call('SADD', KEYS[3], ARGV[3])
    redis.call('ZINCRBY', KEYS[2], 1, id)
    return {id, epoch}
  end
end
return false
"#;

/// Moves a room from ARGV[1] to ARGV[2] if it is still on ARGV[1]; returns the new epoch.
const REASSIGN: &str = r#"
if redis.call('HGET', KEYS[1], 'node') ~= ARGV[1] then return false end
redis.call('HSET', KEYS[1], 'node', ARGV[2])
return redis.call('HINCRBY', KEYS[1], 'epoch', 1)
"#;

/// Re-records a lost room on its node with the participants it serves (ARGV[7..] in
/// triples: id, identity, record), unless another live node has it now.
const RESTORE_ROOM: &str = r#"
local cur = redis.call('HGET', KEYS[1], 'node')
if cur and cur ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. cur) == 1 then
  return {'elsewhere', cur, tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0'), 0}
end
if redis.call('HSETNX', KEYS[1], 'created_at', ARGV[4]) == 1 then
  redis.call('HSET', KEYS[1], 'settings', ARGV[5])
end
redis.call('HSET', KEYS[1], 'node', ARGV[2])
local epoch = tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0')
if tonumber(ARGV[3]) > epoch then
  epoch = tonumber(ARGV[3])
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
redis.call('PERSIST', KEYS[1])
redis.call('SADD', KEYS[4], ARGV[6])
local added = 0
for i = 7, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 2]) == 1 then
    added = added + 1
    redis.call('HSETNX', KEYS[3], ARGV[i + 1], ARGV[i])
  end
end
return {'restored', ARGV[2], epoch, added}
"#;

/// One participant record, changed in place: ARGV[2] is `put` (ARGV[3] the track JSON),
/// `remove` or `mute` (ARGV[3] the track id, ARGV[4] 1 or 0) for one of its tracks, or `hand`
/// (ARGV[3] when the hand went up, empty when it came down).
const TRACK_UPDATE: &str = r#"
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec then return 0 end
local r = cjson.decode(rec)
-- cjson cannot tell an empty array from an empty object.
local function store()
  local enc = cjson.encode(r)
  if #(r['info']['tracks'] or {}) == 0 then enc = (string.gsub(enc, '"tracks":{}', '"tracks":[]')) end
  redis.call('HSET', KEYS[1], ARGV[1], enc)
  return 1
end
if ARGV[2] == 'hand' then
  if ARGV[3] == '' then r['info']['hand_raised_at'] = nil else r['info']['hand_raised_at'] = tonumber(ARGV[3]) end
  return store()
end
local out = {}
local found = false
local put = nil
if ARGV[2] == 'put' then put = cjson.decode(ARGV[3]) end
for _, t in ipairs(r['info']['tracks'] or {}) do
  if put and t['id'] == put['id'] then
    table.insert(out, put)
    found = true
  elseif ARGV[2] == 'remove' and t['id'] == ARGV[3] then
    found = true
  else
    if ARGV[2] == 'mute' and t['id'] == ARGV[3] then
      t['muted'] = (ARGV[4] == '1')
      found = true
    end
    table.insert(out, t)
  end
end
if put and not found then
  table.insert(out, put)
  found = true
end
if not found then return 0 end
r['info']['tracks'] = out
return store()
"#;

/// Sets or clears (ARGV[1] empty) a stored connection's participant, keeping its TTL.
const SET_PARTICIPANT: &str = r#"
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local c = cjson.decode(v)
if ARGV[1] == '' then c['participant_id'] = nil else c['participant_id'] = ARGV[1] end
redis.call('SET', KEYS[1], cjson.encode(c), 'KEEPTTL')
return 1
"#;

/// The data set's generation marker, created on first use.
const GENERATION: &str = r#"
local g = redis.call('GET', KEYS[1])
if g then return g end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
"#;

/// Creates a room with its settings in one step, so no join ever sees it without them.
const CREATE_ROOM: &str = r#"
if redis.call('HSETNX', KEYS[1], 'created_at', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'settings', ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[3])
  -- A room nobody joins goes after its empty timeout; the first join cancels this.
  if tonumber(ARGV[4]) > 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[4])
  end
  return 1
end
return 0
"#;

/// Adds a participant unless the room is full; replaces one with the same identity.
/// Returns {status, replaced-record-or-empty}.
const ADD_PARTICIPANT: &str = r#"
if redis.call('HSETNX', KEYS[1], 'created_at', ARGV[4]) == 1 then
  redis.call('HSET', KEYS[1], 'settings', ARGV[5])
  redis.call('SADD', KEYS[4], ARGV[6])
end
local settings = cjson.decode(redis.call('HGET', KEYS[1], 'settings') or '{}')
local max = tonumber(settings['max_participants'] or 0)
local old_id = redis.call('HGET', KEYS[3], ARGV[2])
local replaced = ''
local count = redis.call('HLEN', KEYS[2])
if old_id then
  replaced = redis.call('HGET', KEYS[2], old_id) or ''
  if replaced ~= '' then count = count - 1 end
end
if max > 0 and count >= max then
  return {'full', ''}
end
if old_id then
  redis.call('HDEL', KEYS[2], old_id)
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
redis.call('PERSIST', KEYS[1])
return {'added', replaced}
"#;

/// Removes a participant; returns {record-or-empty, remaining}.
const REMOVE_PARTICIPANT: &str = r#"
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec then
  return {'', redis.call('HLEN', KEYS[1])}
end
redis.call('HDEL', KEYS[1], ARGV[1])
local ok, decoded = pcall(cjson.decode, rec)
if ok and decoded['info'] and decoded['info']['identity'] then
  local ident = decoded['info']['identity']
  if redis.call('HGET', KEYS[2], ident) == ARGV[1] then
    redis.call('HDEL', KEYS[2], ident)
  end
end
return {rec, redis.call('HLEN', KEYS[1])}
"#;

/// Returns 1 only if there was a room to delete.
const DELETE_IF_EMPTY: &str = r#"
if redis.call('HLEN', KEYS[2]) > 0 then return 0 end
local timeout = 0
local settings = redis.call('HGET', KEYS[1], 'settings')
if settings then
  local ok, d = pcall(cjson.decode, settings)
  if ok and type(d) == 'table' and d['empty_timeout_secs'] then
    timeout = tonumber(d['empty_timeout_secs']) or 0
  end
end
if timeout > 0 then
  if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
  redis.call('HDEL', KEYS[1], 'node', 'locked', 'lobby')
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[5], KEYS[6])
  redis.call('EXPIRE', KEYS[1], timeout)
  return 1
end
local existed = redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[5], KEYS[6])
existed = existed + redis.call('SREM', KEYS[4], ARGV[1])
if existed > 0 then return 1 end
return 0
"#;

const SET_FLAG: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], ARGV[1], '1')
else redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
"#;

const TAKE_KNOCK: &str = r#"
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then redis.call('HDEL', KEYS[1], ARGV[1]) end
return v
"#;

const CLAIM: &str = r#"
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"#;

const COUNT: &str = r#"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"#;

/// GCRA over every bucket in KEYS (see `crate::rate`): 0 and a token taken from each, or the
/// milliseconds until one is free and nothing taken. ARGV: now, interval, tolerance (ms).
const ADMIT: &str = r#"
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local wait = 0
local tats = {}
for i, k in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', k) or now) or now
  if tat < now then tat = now end
  if tat - now - tolerance > wait then wait = tat - now - tolerance end
  tats[i] = tat + interval
end
if wait > 0 then return math.ceil(wait) end
for i, k in ipairs(KEYS) do
  redis.call('SET', k, tostring(tats[i]), 'PX', math.ceil(tats[i] - now) + 1)
end
return 0
"#;

const LEASE: &str = r#"
local v = redis.call('GET', KEYS[1])
if (not v) or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"#;

const PUSH: &str = r#"
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1
"#;

/// Routing state in Redis.
#[derive(Clone)]
pub struct RedisRouting {
    client: Client,
    conn: ConnectionManager,
    create: Script,
    claim_node: Script,
    reassign: Script,
    restore: Script,
    track_update: Script,
    set_participant: Script,
    generation: Script,
    add: Script,
    remove: Script,
    delete_if_empty: Script,
    set_flag: Script,
    take_knock: Script,
    claim: Script,
    count: Script,
    admit: Script,
    lease: Script,
    push: Script,
}

impl RedisRouting {
    /// Connects to Redis at `url`; the connection reconnects by itself after failures.
    pub async fn connect(url: &str) -> Result<Self> {
        let client = Client::open(url)?;
        let conn = ConnectionManager::new(client.clone()).await?;
        Ok(Self {
            client,
            conn,
            create: Script::new(CREATE_ROOM),
            claim_node: Script::new(CLAIM_NODE),
            reassign: Script::new(REASSIGN),
            restore: Script::new(RESTORE_ROOM),
            track_update: Script::new(TRACK_UPDATE),
            set_participant: Script::new(SET_PARTICIPANT),
            generation: Script::new(GENERATION),
            add: Script::new(ADD_PARTICIPANT),
            remove: Script::new(REMOVE_PARTICIPANT),
            delete_if_empty: Script::new(DELETE_IF_EMPTY),
            set_flag: Script::new(SET_FLAG),
            take_knock: Script::new(TAKE_KNOCK),
            claim: Script::new(CLAIM),
            count: Script::new(COUNT),
            admit: Script::new(ADMIT),
            lease: Script::new(LEASE),
            push: Script::new(PUSH),
        })
    }

    fn conn(&self) -> RetryingConnection {
        RetryingConnection(self.conn.clone())
    }

    async fn update_track(
        &self,
        code: &str,
        participant_id: &str,
        op: &str,
        arg: &str,
        muted: bool,
    ) -> Result<bool> {
        let updated: i64 = self
            .track_update
            .key(participants_key(code))
            .arg(participant_id)
            .arg(op)
            .arg(arg)
            .arg(if muted { "1" } else { "0" })
            .invoke_async(&mut self.conn())
            .await?;
        Ok(updated == 1)
    }
}

fn decode<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    Ok(serde_json::from_str(s)?)
}

fn encode<T: Serialize>(v: &T) -> Result<String> {
    Ok(serde_json::to_string(v)?)
}

#[async_trait]
impl ConnectionStore for RedisRouting {
    async fn put_connection(&self, conn: &Connection) -> Result<()> {
        let _: () = self
            .conn()
            .set_ex(conn_key(&conn.id), encode(conn)?, CONNECTION_TTL_SECS)
            .await?;
        Ok(())
    }

    async fn connection(&self, id: &str) -> Result<Option<Connection>> {
        let v: Option<String> = self.conn().get(conn_key(id)).await?;
        v.as_deref().map(decode).transpose()
    }

    async fn remove_connection(&self, id: &str) -> Result<Option<Connection>> {
        let v: Option<String> = self.conn().get_del(conn_key(id)).await?;
        v.as_deref().map(decode).transpose()
    }

    async fn set_participant(&self, id: &str, participant_id: Option<&str>) -> Result<bool> {
        let set: i64 = self
            .set_participant
            .key(conn_key(id))
            .arg(participant_id.unwrap_or(""))
            .invoke_async(&mut self.conn())
            .await?;
        Ok(set == 1)
    }
}

#[async_trait]
impl RoomStore for RedisRouting {
    async fn create_room(&self, code: &str, settings: RoomSettings) -> Result<bool> {
        let created: i64 = self
            .create
            .key(room_key(code))
            .key(ROOMS_KEY)
            .arg(unix_millis())
            .arg(encode(&settings)?)
            .arg(code)
            .arg(settings.empty_timeout_secs)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(created == 1)
    }

    async fn room(&self, code: &str) -> Result<Option<RoomInfo>> {
        let fields: HashMap<String, String> = self.conn().hgetall(room_key(code)).await?;
        let Some(created_at) = fields.get("created_at") else {
            return Ok(None);
        };
        Ok(Some(RoomInfo {
            code: code.to_owned(),
            node: fields.get("node").cloned(),
            epoch: fields
                .get("epoch")
                .and_then(|e| e.parse().ok())
                .unwrap_or(0),
            created_at: created_at.parse().unwrap_or(0),
            settings: fields
                .get("settings")
                .map(|s| decode(s))
                .transpose()?
                .unwrap_or_default(),
            locked: fields.get("locked").is_some_and(|l| l == "1"),
            lobby: fields.get("lobby").is_some_and(|l| l == "1"),
        }))
    }

    async fn list_rooms(&self) -> Result<Vec<String>> {
        let mut c = self.conn();
        let codes: Vec<String> = c.smembers(ROOMS_KEY).await?;
        if codes.is_empty() {
            return Ok(codes);
        }
        // Rooms that outlived their empty timeout expired on their own: drop them here.
        let mut pipe = ::redis::pipe();
        for code in &codes {
            pipe.exists(room_key(code));
        }
        let exists: Vec<bool> = pipe.query_async(&mut c).await?;
        let mut live = Vec::with_capacity(codes.len());
        for (code, exists) in codes.into_iter().zip(exists) {
            if exists {
                live.push(code);
            } else {
                let _: () = c.srem(ROOMS_KEY, &code).await?;
            }
        }
        live.sort();
        Ok(live)
    }

    async fn claim_node(&self, code: &str, candidates: &[String]) -> Result<Option<Assignment>> {
        let claimed: Option<(String, u64)> = self
            .claim_node
            .key(room_key(code))
            .key(NODES_KEY)
            .key(ROOMS_KEY)
            .arg(NODE_PREFIX)
            .arg(unix_millis())
            .arg(code)
            .arg(encode(&RoomSettings::default())?)
            .arg(candidates)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(claimed.map(|(node, epoch)| Assignment { node, epoch }))
    }

    async fn reassign_room(&self, code: &str, from: &str, to: &str) -> Result<Option<Assignment>> {
        let epoch: Option<u64> = self
            .reassign
            .key(room_key(code))
            .arg(from)
            .arg(to)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(epoch.map(|epoch| Assignment {
            node: to.to_owned(),
            epoch,
        }))
    }

    async fn restore_room(&self, code: &str, snapshot: &RoomSnapshot) -> Result<Restore> {
        let mut invocation = self.restore.prepare_invoke();
        invocation
            .key(room_key(code))
            .key(participants_key(code))
            .key(identities_key(code))
            .key(ROOMS_KEY)
            .arg(NODE_PREFIX)
            .arg(&snapshot.assignment.node)
            .arg(snapshot.assignment.epoch)
            .arg(unix_millis())
            .arg(encode(&snapshot.settings)?)
            .arg(code);
        for p in &snapshot.participants {
            invocation
                .arg(&p.info.id)
                .arg(&p.info.identity)
                .arg(encode(p)?);
        }
        let (status, node, epoch, added): (String, String, u64, usize) =
            invocation.invoke_async(&mut self.conn()).await?;
        Ok(if status == "elsewhere" {
            Restore::Elsewhere(Assignment { node, epoch })
        } else {
            Restore::Restored { added }
        })
    }

    async fn add_participant(&self, code: &str, record: &ParticipantRecord) -> Result<AddOutcome> {
        let (status, replaced): (String, String) = self
            .add
            .key(room_key(code))
            .key(participants_key(code))
            .key(identities_key(code))
            .key(ROOMS_KEY)
            .arg(&record.info.id)
            .arg(&record.info.identity)
            .arg(encode(record)?)
            .arg(unix_millis())
            .arg(encode(&RoomSettings::default())?)
            .arg(code)
            .invoke_async(&mut self.conn())
            .await?;
        if status == "full" {
            return Ok(AddOutcome::Full);
        }
        let replaced = if replaced.is_empty() {
            None
        } else {
            Some(decode(&replaced)?)
        };
        Ok(AddOutcome::Added { replaced })
    }

    async fn remove_participant(&self, code: &str, participant_id: &str) -> Result<Removal> {
        let (rec, remaining): (String, usize) = self
            .remove
            .key(participants_key(code))
            .key(identities_key(code))
            .arg(participant_id)
            .invoke_async(&mut self.conn())
            .await?;
        let removed = if rec.is_empty() {
            None
        } else {
            Some(decode(&rec)?)
        };
        Ok(Removal { removed, remaining })
    }

    async fn put_track(&self, code: &str, participant_id: &str, track: &TrackInfo) -> Result<bool> {
        self.update_track(code, participant_id, "put", &encode(track)?, false)
            .await
    }

    async fn remove_track(&self, code: &str, participant_id: &str, track_id: &str) -> Result<bool> {
        self.update_track(code, participant_id, "remove", track_id, false)
            .await
    }

    async fn set_track_muted(
        &self,
        code: &str,
        participant_id: &str,
        track_id: &str,
        muted: bool,
    ) -> Result<bool> {
        self.update_track(code, participant_id, "mute", track_id, muted)
            .await
    }

    async fn set_hand(
        &self,
        code: &str,
        participant_id: &str,
        raised_at: Option<u64>,
    ) -> Result<bool> {
        let at = raised_at.map(|t| t.to_string()).unwrap_or_default();
        self.update_track(code, participant_id, "hand", &at, false)
            .await
    }

    async fn participant(
        &self,
        code: &str,
        participant_id: &str,
    ) -> Result<Option<ParticipantRecord>> {
        let v: Option<String> = self
            .conn()
            .hget(participants_key(code), participant_id)
            .await?;
        v.as_deref().map(decode).transpose()
    }

    async fn participants(&self, code: &str) -> Result<Vec<ParticipantRecord>> {
        let values: Vec<String> = self.conn().hvals(participants_key(code)).await?;
        let mut records: Vec<ParticipantRecord> =
            values.iter().map(|v| decode(v)).collect::<Result<_>>()?;
        records.sort_by(|a, b| {
            a.info
                .joined_at
                .cmp(&b.info.joined_at)
                .then_with(|| a.info.id.cmp(&b.info.id))
        });
        Ok(records)
    }

    async fn delete_room_if_empty(&self, code: &str) -> Result<bool> {
        let deleted: i64 = self
            .delete_if_empty
            .key(room_key(code))
            .key(participants_key(code))
            .key(identities_key(code))
            .key(ROOMS_KEY)
            .key(denied_key(code))
            .key(lobby_key(code))
            .arg(code)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(deleted == 1)
    }

    async fn delete_room(&self, code: &str) -> Result<()> {
        let mut c = self.conn();
        let _: () = c
            .del(&[
                room_key(code),
                participants_key(code),
                identities_key(code),
                denied_key(code),
                lobby_key(code),
            ])
            .await?;
        let _: () = c.srem(ROOMS_KEY, code).await?;
        Ok(())
    }

    async fn deny(&self, code: &str, entries: &[String]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let _: () = self.conn().sadd(denied_key(code), entries).await?;
        Ok(())
    }

    async fn is_denied(&self, code: &str, entries: &[String]) -> Result<bool> {
        if entries.is_empty() {
            return Ok(false);
        }
        let found: Vec<bool> = ::redis::cmd("SMISMEMBER")
            .arg(denied_key(code))
            .arg(entries)
            .query_async(&mut self.conn())
            .await?;
        Ok(found.into_iter().any(|f| f))
    }

    async fn set_flag(&self, code: &str, flag: RoomFlag, on: bool) -> Result<bool> {
        let done: i64 = self
            .set_flag
            .key(room_key(code))
            .arg(flag.field())
            .arg(u8::from(on))
            .invoke_async(&mut self.conn())
            .await?;
        Ok(done == 1)
    }

    async fn knock(&self, code: &str, entry: &LobbyEntry) -> Result<()> {
        let json = serde_json::to_string(entry)?;
        let _: () = self
            .conn()
            .hset(lobby_key(code), &entry.knock_id, json)
            .await?;
        Ok(())
    }

    async fn knocks(&self, code: &str) -> Result<Vec<LobbyEntry>> {
        let values: Vec<String> = self.conn().hvals(lobby_key(code)).await?;
        let mut entries = values
            .iter()
            .map(|v| decode::<LobbyEntry>(v))
            .collect::<Result<Vec<_>>>()?;
        entries.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.knock_id.cmp(&b.knock_id)));
        Ok(entries)
    }

    async fn take_knock(&self, code: &str, knock_id: &str) -> Result<Option<LobbyEntry>> {
        let v: Option<String> = self
            .take_knock
            .key(lobby_key(code))
            .arg(knock_id)
            .invoke_async(&mut self.conn())
            .await?;
        v.map(|v| decode(&v)).transpose()
    }
}

#[async_trait]
impl NodeRegistry for RedisRouting {
    async fn heartbeat(&self, node: &NodeInfo, ttl: Duration) -> Result<()> {
        let key = node_key(&node.id);
        let _: () = ::redis::pipe()
            .atomic()
            .hset(&key, "info", encode(node)?)
            .hset(&key, "draining", if node.draining { "1" } else { "0" })
            .pexpire(&key, ttl.as_millis().max(1) as i64)
            .zadd(NODES_KEY, &node.id, node.load.score())
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }

    async fn node(&self, id: &str) -> Result<Option<NodeInfo>> {
        let v: Option<String> = self.conn().hget(node_key(id), "info").await?;
        v.as_deref().map(decode).transpose()
    }

    async fn live_nodes(&self) -> Result<Vec<NodeInfo>> {
        let mut c = self.conn();
        let scored: Vec<(String, f64)> = c.zrange_withscores(NODES_KEY, 0, -1).await?;
        if scored.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = ::redis::pipe();
        for (id, _) in &scored {
            pipe.hget(node_key(id), "info");
        }
        let infos: Vec<Option<String>> = pipe.query_async(&mut c).await?;
        let mut live = Vec::with_capacity(scored.len());
        for ((id, score), info) in scored.iter().zip(infos) {
            match info {
                Some(json) => {
                    let mut node = decode::<NodeInfo>(&json)?;
                    // Rooms assigned since its last heartbeat count already (the score
                    // grows by one per assignment), so back-to-back new rooms spread.
                    let pending = (score - node.load.score()).floor();
                    if pending >= 1.0 {
                        node.load.rooms += pending as u32;
                    }
                    live.push(node);
                }
                None => {
                    let _: () = c.zrem(NODES_KEY, id).await?;
                }
            }
        }
        live.sort_by(|a, b| {
            a.load
                .score()
                .total_cmp(&b.load.score())
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(live)
    }

    async fn deregister(&self, id: &str) -> Result<()> {
        let _: () = ::redis::pipe()
            .del(node_key(id))
            .zrem(NODES_KEY, id)
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }

    async fn generation(&self) -> Result<String> {
        let fresh = format!("{:016x}", rand::random::<u64>());
        let g: String = self
            .generation
            .key(GENERATION_KEY)
            .arg(fresh)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(g)
    }
}

#[async_trait]
impl MessageBus for RedisRouting {
    async fn publish(&self, node: &str, message: &NodeMessage) -> Result<usize> {
        let n: usize = self
            .conn()
            .publish(inbox_channel(node), encode(message)?)
            .await?;
        Ok(n)
    }

    async fn subscribe(&self, node: &str) -> Result<Inbox> {
        let channel = inbox_channel(node);
        // Subscribe once here so the caller knows it is listening when this returns; the
        // task re-subscribes after a lost connection until the inbox is dropped.
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(&channel).await?;
        let (tx, rx) = mpsc::channel::<NodeMessage>(4096);
        let client = self.client.clone();
        tokio::spawn(async move {
            let mut first = Some(pubsub);
            // Messages published while nobody listens are lost: come back fast.
            let mut backoff = Duration::from_millis(50);
            loop {
                let pubsub = match first.take() {
                    Some(p) => p,
                    None => match resubscribe(&client, &channel).await {
                        Ok(p) => {
                            tracing::info!(%channel, "inbox resubscribed");
                            backoff = Duration::from_millis(50);
                            p
                        }
                        Err(e) => {
                            tracing::warn!(%channel, error = %e, "inbox resubscribe failed");
                            if tx.is_closed() {
                                return;
                            }
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(Duration::from_secs(1));
                            continue;
                        }
                    },
                };
                let mut messages = pubsub.into_on_message();
                loop {
                    tokio::select! {
                        _ = tx.closed() => return,
                        msg = messages.next() => {
                            let Some(msg) = msg else { break };
                            match serde_json::from_slice::<NodeMessage>(msg.get_payload_bytes()) {
                                Ok(m) => {
                                    if tx.send(m).await.is_err() {
                                        return;
                                    }
                                }
                                Err(e) => tracing::warn!(%channel, error = %e, "undecodable inbox message"),
                            }
                        }
                    }
                }
                tracing::warn!(%channel, "inbox connection lost; resubscribing");
            }
        });
        Ok(Box::pin(tokio_stream_from(rx)))
    }
}

/// How long one attempt to (re)subscribe may take: a connection made while Redis restarts
/// can hang rather than fail.
const RESUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(2);

async fn resubscribe(client: &Client, channel: &str) -> Result<::redis::aio::PubSub> {
    let attempt = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, RoutingError>(pubsub)
    };
    tokio::time::timeout(RESUBSCRIBE_TIMEOUT, attempt)
        .await
        .map_err(|_| RoutingError::Other(format!("subscribing to {channel} timed out")))?
}

fn tokio_stream_from<T: Send + 'static>(
    rx: mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) })
}

#[async_trait]
impl KeyStore for RedisRouting {
    async fn claim(&self, key: &str, value: &str, ttl: Duration) -> Result<Option<String>> {
        Ok(self
            .claim
            .key(kv_key(key))
            .arg(value)
            .arg(ttl.as_millis().max(1) as u64)
            .invoke_async(&mut self.conn())
            .await?)
    }

    async fn count(&self, key: &str, window: Duration) -> Result<u64> {
        Ok(self
            .count
            .key(kv_key(key))
            .arg(window.as_millis().max(1) as u64)
            .invoke_async(&mut self.conn())
            .await?)
    }

    async fn admit(&self, keys: &[String], rate: Rate, now_ms: u64) -> Result<Admission> {
        let mut script = self.admit.prepare_invoke();
        for key in keys {
            script.key(kv_key(key));
        }
        let wait: u64 = script
            .arg(now_ms)
            .arg(rate.interval_ms())
            .arg(rate.tolerance_ms())
            .invoke_async(&mut self.conn())
            .await?;
        Ok(if wait == 0 {
            Admission::Allowed
        } else {
            Admission::Limited {
                retry_after: Duration::from_millis(wait),
            }
        })
    }

    async fn lease(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let got: i64 = self
            .lease
            .key(kv_key(key))
            .arg(holder)
            .arg(ttl.as_millis().max(1) as u64)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(got == 1)
    }

    async fn release(&self, key: &str) -> Result<()> {
        let _: () = self.conn().del(kv_key(key)).await?;
        Ok(())
    }
}

#[async_trait]
impl EventQueue for RedisRouting {
    async fn push(&self, queue: &str, item: &str, bound: usize) -> Result<bool> {
        let added: i64 = self
            .push
            .key(queue_key(queue))
            .arg(item)
            .arg(bound)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(added == 1)
    }

    async fn peek(&self, queue: &str) -> Result<Option<String>> {
        Ok(self.conn().lindex(queue_key(queue), 0).await?)
    }

    async fn pop(&self, queue: &str) -> Result<()> {
        let _: Option<String> = self.conn().lpop(queue_key(queue), None).await?;
        Ok(())
    }

    async fn len(&self, queue: &str) -> Result<usize> {
        Ok(self.conn().llen(queue_key(queue)).await?)
    }
}
