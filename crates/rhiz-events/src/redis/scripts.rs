//! The Lua scripts that make every multi-key change atomic, and how they are
//! called: `EVALSHA` of the SHA1 that `SCRIPT LOAD` returned, loading again
//! after a `NOSCRIPT` (a restarted or flushed Redis).
//!
//! Conventions shared by the scripts (the [`PRELUDE`] relies on them):
//! `KEYS[1]` is the stream, `KEYS[2]` the failures hash, `ARGV[1]` the
//! consumer group; a fenced script takes the lease key and the caller's token
//! (`''` for a log without a lease) and returns `-1` when the token is not the
//! one the lease key holds (the append script, open to every instance, only
//! skips handing entries over then). Every script starts with `#!lua`, so Redis (≥ 7.0)
//! refuses it as a whole when out of memory instead of failing half-way.
//!
//! Stream entry fields: `i` event id, `k` partition key, `l` lane index, `t`
//! event type, `p` payload, `a` enqueued-at (µs, Redis clock). A pending
//! entry's failure record is JSON, `{"n": attempts, "next": µs, "u": µs,
//! "h": history}`, the history being the last failed attempts as
//! `[[µs, error], …]` (`history.rs`), every time a decimal string (the Lua
//! JSON encoder keeps only 14 significant digits of a number). A record
//! from before histories were kept, `attempts \t next_µs \t updated_µs \t
//! error`, reads as one attempt at `updated_µs`.

use std::sync::Mutex;

use ::redis::aio::ConnectionManager;
use ::redis::{FromRedisValue, ServerErrorKind, ToRedisArgs};

use crate::EventsError;

/// Helpers every script may use.
const PRELUDE: &str = r#"#!lua
local function fenced(lease_key, token)
  return token ~= '' and redis.call('GET', lease_key) ~= token
end
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function fmt(n) return string.format('%.0f', n) end
local function field(fields, name)
  for j = 1, #fields, 2 do
    if fields[j] == name then return fields[j + 1] end
  end
end
-- A failure record (or false: none) as a table {n, next, u, h}.
local function failure_of(record)
  if not record then return {n = 0, h = {}} end
  if string.sub(record, 1, 1) == '{' then return cjson.decode(record) end
  local n, next, u, err = string.match(record, '^(%d+)\t(%d+)\t(%d+)\t(.*)$')
  return {n = tonumber(n), next = next, u = u, h = {{u, err}}}
end
-- Counts a failed attempt now with `err`, keeping the last `keep` of the history.
local function add_attempt(failure, err, keep)
  local at = fmt(now_us())
  failure.n = failure.n + 1
  failure.u = at
  failure.h[#failure.h + 1] = {at, err}
  while #failure.h > keep do table.remove(failure.h, 1) end
end
-- A failure record in the current (JSON) form.
local function current(record)
  if record and string.sub(record, 1, 1) ~= '{' then return cjson.encode(failure_of(record)) end
  return record
end
-- {sid, fields, deliveries, failure} for each stream entry.
local function describe(entries)
  local out = {}
  for i, e in ipairs(entries) do
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
    local d = 0
    if #p > 0 then d = p[1][4] end
    out[i] = {e[1], e[2], d, current(redis.call('HGET', KEYS[2], e[1]))}
  end
  return out
end
"#;

/// KEYS: stream, ids, applied, lanes, lease. ARGV: group, retention ms,
/// consumer, token, room, then id, key, lane, type, payload per event.
/// Appends the events whose id is neither pending, dead nor applied within
/// the retention, checking and recording ids a chunk at a time.
///
/// With the lease's token (`''`: none), also hands this consumer what an
/// `XREADGROUP >` would: first the entries no consumer had yet (at most
/// `room`), then, if those were all of them, its own new entries, which
/// are put in its pending list (`XCLAIM … FORCE`, first delivery) and mark
/// the group's last delivered id (`LASTID`) without being read back. The
/// lease holder so takes delivery of its appends in the same script, and
/// the same fsync, that writes them.
///
/// Returns enqueued-at µs, 1 if the new entries were handed over (else 0),
/// the earlier entries handed over (stream id and fields), and one stream
/// id per event (`''` for a duplicate).
pub(crate) const APPEND: &str = r#"
local now = now_us()
local cutoff = now / 1000 - tonumber(ARGV[2])
local at = fmt(now)
local room = tonumber(ARGV[5])
local earlier, deliver = {}, ARGV[4] ~= '' and not fenced(KEYS[5], ARGV[4])
if deliver then
  local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[3], 'COUNT', room, 'STREAMS', KEYS[1], '>')
  if r then earlier = r[1][2] end
  deliver = #earlier < room
end
local seen = {}
for c = 6, #ARGV, 5000 do
  local ids = {}
  for b = c, math.min(c + 4999, #ARGV), 5 do ids[#ids + 1] = ARGV[b] end
  local pending = redis.call('HMGET', KEYS[2], unpack(ids))
  local applied = redis.call('ZMSCORE', KEYS[3], unpack(ids))
  for j, id in ipairs(ids) do
    if pending[j] or (applied[j] and tonumber(applied[j]) >= cutoff) then seen[id] = true end
  end
end
local sids, recorded, new, added = {}, {}, {}, {0, 0, 0, 0}
local function flush()
  if #new == 0 then return end
  redis.call('HSET', KEYS[2], unpack(recorded))
  if deliver then
    local claim = {'XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0}
    for j, sid in ipairs(new) do claim[5 + j] = sid end
    for _, option in ipairs({'RETRYCOUNT', 1, 'FORCE', 'JUSTID', 'LASTID', new[#new]}) do
      claim[#claim + 1] = option
    end
    redis.call(unpack(claim))
  end
  recorded, new = {}, {}
end
for b = 6, #ARGV, 5 do
  local id = ARGV[b]
  if seen[id] then
    sids[#sids + 1] = ''
  else
    seen[id] = true
    local sid = redis.call('XADD', KEYS[1], '*', 'i', id, 'k', ARGV[b + 1], 'l', ARGV[b + 2],
      't', ARGV[b + 3], 'p', ARGV[b + 4], 'a', at)
    sids[#sids + 1] = sid
    recorded[#recorded + 1] = id
    recorded[#recorded + 1] = sid
    new[#new + 1] = sid
    local lane = tonumber(ARGV[b + 2]) + 1
    added[lane] = added[lane] + 1
    if #new == 1000 then flush() end
  end
end
flush()
for l = 1, 4 do
  if added[l] > 0 then redis.call('HINCRBY', KEYS[4], l - 1, added[l]) end
end
return {at, deliver and 1 or 0, earlier, sids}
"#;

/// KEYS: stream, failures, ids, applied, lanes, lease. ARGV: group, token,
/// retention ms, then stream id, event id, lane per event (an empty event id
/// when the caller does not know it: read from the entry then). Settles the
/// events still pending (`ids` maps their event id to their stream id), a
/// chunk of 1,000 at a time: acknowledges and deletes their entries, so the
/// stream only holds unsettled events, and remembers their ids as applied.
/// Returns how many.
pub(crate) const ACK: &str = r#"
if fenced(KEYS[6], ARGV[2]) then return -1 end
local now_ms = fmt(math.floor(now_us() / 1000))
local failing = redis.call('HLEN', KEYS[2]) > 0
local removed, settled = {0, 0, 0, 0}, 0
local function settle(sids, ids, lanes)
  if #ids == 0 then return end
  local current = redis.call('HMGET', KEYS[3], unpack(ids))
  local done, done_ids, scored = {}, {}, {}
  for j, id in ipairs(ids) do
    if current[j] == sids[j] then
      done[#done + 1] = sids[j]
      done_ids[#done_ids + 1] = id
      scored[#scored + 1] = now_ms
      scored[#scored + 1] = id
      local l = tonumber(lanes[j]) + 1
      removed[l] = removed[l] + 1
    end
  end
  if #done == 0 then return end
  redis.call('XACK', KEYS[1], ARGV[1], unpack(done))
  redis.call('XDEL', KEYS[1], unpack(done))
  if failing then redis.call('HDEL', KEYS[2], unpack(done)) end
  redis.call('HDEL', KEYS[3], unpack(done_ids))
  redis.call('ZADD', KEYS[4], unpack(scored))
  settled = settled + #done
end
for c = 4, #ARGV, 3000 do
  local sids, ids, lanes = {}, {}, {}
  for b = c, math.min(c + 2999, #ARGV), 3 do
    local sid, id, lane = ARGV[b], ARGV[b + 1], ARGV[b + 2]
    if id == '' then
      local e = redis.call('XRANGE', KEYS[1], sid, sid)
      if #e > 0 then id, lane = field(e[1][2], 'i'), field(e[1][2], 'l') end
    end
    if id ~= '' then
      sids[#sids + 1], ids[#ids + 1], lanes[#lanes + 1] = sid, id, lane
    end
  end
  settle(sids, ids, lanes)
end
for l = 1, 4 do
  if removed[l] > 0 then redis.call('HINCRBY', KEYS[5], l - 1, -removed[l]) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. fmt(tonumber(now_ms) - tonumber(ARGV[3])))
return settled
"#;

/// KEYS: stream, failures, lease. ARGV: group, token, stream id, next
/// attempt µs, error, attempts kept. Adds the attempt to the entry's failure
/// record. Returns the attempts so far, 0 if not pending.
pub(crate) const FAIL: &str = r#"
if fenced(KEYS[3], ARGV[2]) then return -1 end
if #redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3]) == 0 then return 0 end
local failure = failure_of(redis.call('HGET', KEYS[2], ARGV[3]))
add_attempt(failure, ARGV[5], tonumber(ARGV[6]))
failure.next = ARGV[4]
redis.call('HSET', KEYS[2], ARGV[3], cjson.encode(failure))
return failure.n
"#;

/// KEYS: stream, failures, dead, lanes, lease, ids. ARGV: group, token,
/// stream id, error, dead-letter key prefix, attempts kept. Copies the
/// entry and its failed attempts, this last one added, into a dead-letter
/// hash (`h`: the history) and removes it from the stream; its id stays
/// known (a duplicate) but no longer names a pending entry. Returns 1, or 0
/// if not pending.
pub(crate) const DEAD: &str = r#"
if fenced(KEYS[5], ARGV[2]) then return -1 end
local sid = ARGV[3]
local e = redis.call('XRANGE', KEYS[1], sid, sid)
if #e == 0 then return 0 end
local fields = e[1][2]
local id, lane = field(fields, 'i'), field(fields, 'l')
local failure = failure_of(redis.call('HGET', KEYS[2], sid))
add_attempt(failure, ARGV[4], tonumber(ARGV[6]))
local record = ARGV[5] .. id
redis.call('DEL', record)
redis.call('HSET', record, unpack(fields))
redis.call('HSET', record, 's', sid, 'n', failure.n, 'e', ARGV[4], 'u', failure.u,
  'h', cjson.encode(failure.h))
redis.call('HSET', KEYS[3], id, sid)
redis.call('HSET', KEYS[6], id, 'dead')
redis.call('XACK', KEYS[1], ARGV[1], sid)
redis.call('XDEL', KEYS[1], sid)
redis.call('HDEL', KEYS[2], sid)
redis.call('HINCRBY', KEYS[4], lane, -1)
return 1
"#;

/// KEYS: stream, failures, ids, dead, lanes. ARGV: group, dead-letter key
/// prefix, then event ids. Appends each dead letter again as a new entry
/// with no attempts counted, whose failure record keeps the dead letter's
/// history (a dead letter from before histories were kept: its last
/// failure). Returns event id, new stream id pairs.
pub(crate) const REPLAY: &str = r#"
local out = {}
local now = fmt(now_us())
for i = 3, #ARGV do
  local id = ARGV[i]
  if redis.call('HEXISTS', KEYS[4], id) == 1 then
    local record = ARGV[2] .. id
    local r = redis.call('HMGET', record, 'k', 'l', 't', 'p', 'a', 'h', 'u', 'e')
    local sid = redis.call('XADD', KEYS[1], '*', 'i', id, 'k', r[1], 'l', r[2], 't', r[3],
      'p', r[4], 'a', r[5])
    local history = r[6] and cjson.decode(r[6]) or {{r[7], r[8]}}
    redis.call('HSET', KEYS[2], sid, cjson.encode({n = 0, u = now, h = history}))
    redis.call('HSET', KEYS[3], id, sid)
    redis.call('HDEL', KEYS[4], id)
    redis.call('DEL', record)
    redis.call('HINCRBY', KEYS[5], r[2], 1)
    out[#out + 1] = id
    out[#out + 1] = sid
  end
end
return out
"#;

/// KEYS: stream, failures, ids, dead. ARGV: group, dead-letter key prefix,
/// then event ids. Deletes those dead letters and forgets their ids.
pub(crate) const PURGE: &str = r#"
local n = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  if redis.call('HDEL', KEYS[4], id) == 1 then
    redis.call('DEL', ARGV[2] .. id)
    redis.call('HDEL', KEYS[3], id)
    n = n + 1
  end
end
return n
"#;

/// KEYS: stream, failures. ARGV: group, first stream id (inclusive or
/// `(`-exclusive), count. Unsettled entries in log order, described.
pub(crate) const PENDING: &str = r#"
return describe(redis.call('XRANGE', KEYS[1], ARGV[2], '+', 'COUNT', ARGV[3]))
"#;

/// KEYS: stream, failures, lease. ARGV: group, token, consumer, cursor,
/// count. Claims a page of entries handed to any consumer (XAUTOCLAIM, idle
/// 0: the caller holds the lease). Returns the next cursor and the entries.
pub(crate) const CLAIM: &str = r#"
if fenced(KEYS[3], ARGV[2]) then return -1 end
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[4], 'COUNT', ARGV[5])
return {r[1], describe(r[2])}
"#;

/// KEYS: stream, failures, lease. ARGV: group, token, consumer, count. Hands
/// this consumer entries no consumer had (XREADGROUP `>`), as stream id and
/// fields (first delivery, no failure yet); when there are none, returns the
/// stream's last generated id to block on instead.
pub(crate) const READ: &str = r#"
if fenced(KEYS[3], ARGV[2]) then return -1 end
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[3], 'COUNT', ARGV[4], 'STREAMS', KEYS[1], '>')
if r then return {'', r[1][2]} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for j = 1, #info, 2 do
  if info[j] == 'last-generated-id' then return {info[j + 1], {}} end
end
return {'0-0', {}}
"#;

/// KEYS: stream. Trims the stream below its oldest entry. Every entry left
/// in the stream is unsettled (settling deletes the entry), so this only
/// drops the deleted entries' space, never an unsettled event.
pub(crate) const TRIM: &str = r#"
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
if #first == 0 then return redis.call('XTRIM', KEYS[1], 'MAXLEN', 0) end
return redis.call('XTRIM', KEYS[1], 'MINID', first[1][1])
"#;

/// KEYS: lease, fencing counter. ARGV: ttl ms. Takes the lease if free with
/// a new fencing token; returns the token, or 0 if someone holds it.
pub(crate) const ACQUIRE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[1])
return token
"#;

/// KEYS: lease. ARGV: token, ttl ms. Extends the lease if still ours: 1 or 0.
pub(crate) const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"#;

/// KEYS: lease. ARGV: token. Gives the lease up if still ours: 1 or 0.
pub(crate) const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"#;

/// A script and the SHA1 Redis knows it by, once loaded.
pub(crate) struct Script {
    source: String,
    sha: Mutex<Option<String>>,
}

impl Script {
    /// A script running `body` after the [`PRELUDE`].
    pub(crate) fn new(body: &str) -> Self {
        Self {
            source: format!("{PRELUDE}{body}"),
            sha: Mutex::new(None),
        }
    }

    /// Runs the script; `operation` names it in errors.
    pub(crate) async fn run<T: FromRedisValue, A: ToRedisArgs>(
        &self,
        conn: &mut ConnectionManager,
        keys: &[&str],
        args: &A,
        operation: &'static str,
    ) -> Result<T, EventsError> {
        let redis_error = |source| EventsError::Redis { operation, source };
        let call = |sha: &str| {
            let mut call = ::redis::cmd("EVALSHA");
            call.arg(sha).arg(keys.len()).arg(keys).arg(args);
            call
        };
        let known = self.sha.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let sha = match known {
            Some(sha) => sha,
            None => self.load(conn).await.map_err(redis_error)?,
        };
        match call(&sha).query_async(conn).await {
            Err(e) if e.kind() == ::redis::ErrorKind::Server(ServerErrorKind::NoScript) => {
                let sha = self.load(conn).await.map_err(redis_error)?;
                call(&sha).query_async(conn).await.map_err(redis_error)
            }
            other => other.map_err(redis_error),
        }
    }

    async fn load(&self, conn: &mut ConnectionManager) -> Result<String, ::redis::RedisError> {
        let sha: String = ::redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(&self.source)
            .query_async(conn)
            .await?;
        *self.sha.lock().unwrap_or_else(|e| e.into_inner()) = Some(sha.clone());
        Ok(sha)
    }
}
