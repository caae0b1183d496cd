//! [`RedisStreamsEventLog`]: the [`EventLog`] on Redis Streams.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::streams::StreamInfoConsumersReply;
use ::redis::Value;
use async_trait::async_trait;
use tokio::sync::{watch, Mutex as AsyncMutex, MutexGuard as AsyncMutexGuard};

use super::lease::{ApplyLease, LeaseOptions};
use super::scripts::{self, Script};
use super::{dead_letter, fenced, millis, pending_event, seq_of, sid_of, Described};
use crate::event::{from_micros, to_micros};
use crate::{
    AppendOutcome, DeadLetterFilter, EventLog, EventState, EventsError, Lane, LogCounts, NewEvent,
    StoredEvent, FAILED_ATTEMPTS_KEPT,
};

/// A stream entry as Redis returns it: id and flat field list.
type Entry = (String, Vec<Vec<u8>>);

/// The consumer group every process reads the stream in.
const GROUP: &str = "apply";

/// Most entries the lease holder's appends let wait in [`Delivered`]
/// besides the append at hand: beyond it, appends leave new entries to
/// [`EventLog::follow`]'s reads.
const DELIVERED_MAX: usize = 8_192;

/// Lane indices as the stream's `l` field holds them.
const LANE_FIELDS: [&str; 4] = ["0", "1", "2", "3"];

/// Options of the Redis Streams log.
#[derive(Debug, Clone)]
pub struct RedisLogOptions {
    /// Prefix of every key of this log; instances sharing a log use the same.
    /// Default `rhiz:events`.
    pub prefix: String,
    /// This process's consumer name in the group; must be unique among live
    /// processes. Default: `hostname-pid-random`.
    pub consumer: Option<String>,
    /// How long the ids of applied events are remembered as duplicates.
    /// Default 24 hours.
    pub idempotency_retention: Duration,
    /// How long another consumer's entries must have been idle before a new
    /// lease holder claims them (`XAUTOCLAIM`): the takeover waits until every
    /// other consumer holding entries has been silent that long. Default
    /// zero: the expiry of the old holder's lease already proves it silent.
    pub claim_min_idle: Duration,
    /// How often the lease holder trims deleted entries from the stream.
    /// Default 10 s.
    pub trim_interval: Duration,
    /// Longest wait for a Redis reply (the blocking read excepted).
    /// Default 10 s.
    pub response_timeout: Duration,
}

impl Default for RedisLogOptions {
    fn default() -> Self {
        Self {
            prefix: "rhiz:events".into(),
            consumer: None,
            idempotency_retention: Duration::from_secs(24 * 3600),
            claim_min_idle: Duration::ZERO,
            trim_interval: Duration::from_secs(10),
            response_timeout: Duration::from_secs(10),
        }
    }
}

impl RedisLogOptions {
    fn validate(&self) -> Result<(), EventsError> {
        let invalid = |field, reason: &str| {
            Err(EventsError::Config {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.prefix.is_empty() || self.prefix.contains(['{', '}']) {
            return invalid("prefix", "must be non-empty and free of `{` and `}`");
        }
        if self.consumer.as_ref().is_some_and(String::is_empty) {
            return invalid("consumer", "must not be empty");
        }
        if self.idempotency_retention.is_zero() {
            return invalid("idempotency_retention", "must be positive");
        }
        if self.trim_interval.is_zero() || self.response_timeout.is_zero() {
            return invalid("trim_interval", "and `response_timeout` must be positive");
        }
        Ok(())
    }
}

/// Names of the log's keys.
pub(super) struct Keys {
    stream: String,
    failures: String,
    ids: String,
    applied: String,
    lanes: String,
    dead: String,
    /// Prefix of the per-dead-letter hashes, followed by the event id.
    record: String,
    pub(super) lease: String,
    pub(super) fencing: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        let key = |name: &str| format!("{{{prefix}}}:{name}");
        Self {
            stream: key("stream"),
            failures: key("failures"),
            ids: key("ids"),
            applied: key("applied"),
            lanes: key("lanes"),
            dead: key("dead"),
            record: key("dl:"),
            lease: key("lease"),
            fencing: key("lease:fencing"),
        }
    }
}

/// Entries Redis handed to this consumer that the caller of
/// [`EventLog::follow`] has not taken yet.
#[derive(Default)]
struct Delivered {
    /// The lease token appends take delivery under: set when following
    /// starts under it (after the takeover's claims), cleared by the next
    /// takeover, whose claims cover whatever is left here.
    token: Option<u64>,
    /// In log order. An entry that does not decode is reported by the
    /// follow that takes it, as a read would report it.
    events: VecDeque<Result<StoredEvent, EventsError>>,
}

struct Scripts {
    append: Script,
    ack: Script,
    fail: Script,
    dead: Script,
    replay: Script,
    purge: Script,
    pending: Script,
    claim: Script,
    read: Script,
    trim: Script,
}

#[doc = include_str!("../../docs/redis.md")]
pub struct RedisStreamsEventLog {
    conn: ConnectionManager,
    /// For the blocking read only: a blocked connection delays every
    /// command queued behind it.
    blocking: ConnectionManager,
    keys: Keys,
    consumer: String,
    options: RedisLogOptions,
    scripts: Scripts,
    /// The lease's token, once [`RedisStreamsEventLog::lease`] attached one:
    /// from then on every state change of a pending event is fenced by it.
    fence: OnceLock<watch::Receiver<Option<u64>>>,
    /// Event id and lane of the pending events this log appended or handed
    /// out, so an acknowledgement need not read the entries back.
    handed: Mutex<HashMap<u64, (String, Lane)>>,
    /// Events the lease holder's own appends handed to it in Redis, in log
    /// order, until [`EventLog::follow`] hands them to the caller. Locked
    /// across every call that hands entries over, so they reach the caller
    /// in the order Redis handed them.
    delivered: AsyncMutex<Delivered>,
    last_trim: Mutex<Instant>,
    closed: AtomicBool,
}

impl std::fmt::Debug for RedisStreamsEventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStreamsEventLog")
            .field("stream", &self.keys.stream)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

fn redis_error(operation: &'static str) -> impl FnOnce(::redis::RedisError) -> EventsError {
    move |source| EventsError::Redis { operation, source }
}

impl RedisStreamsEventLog {
    /// Connects to the Redis at `url` (`redis://…`) and creates the stream
    /// and its consumer group if needed. Needs Redis 7.0 or later.
    pub async fn connect(url: &str, options: RedisLogOptions) -> Result<Self, EventsError> {
        options.validate()?;
        let client = ::redis::Client::open(url).map_err(redis_error("parsing the Redis URL"))?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(options.response_timeout))
            .set_number_of_retries(3);
        let conn = ConnectionManager::new_with_config(client.clone(), config.clone())
            .await
            .map_err(redis_error("connecting"))?;
        let blocking =
            ConnectionManager::new_with_config(client, config.set_response_timeout(None))
                .await
                .map_err(redis_error("connecting"))?;
        let keys = Keys::new(&options.prefix);
        let created: Result<(), _> = ::redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&keys.stream)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn.clone())
            .await;
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => {
                return Err(redis_error("creating the consumer group")(e))
            }
            _ => {}
        }
        let consumer = options.consumer.clone().unwrap_or_else(default_consumer);
        Ok(Self {
            conn,
            blocking,
            keys,
            consumer,
            scripts: Scripts {
                append: Script::new(scripts::APPEND),
                ack: Script::new(scripts::ACK),
                fail: Script::new(scripts::FAIL),
                dead: Script::new(scripts::DEAD),
                replay: Script::new(scripts::REPLAY),
                purge: Script::new(scripts::PURGE),
                pending: Script::new(scripts::PENDING),
                claim: Script::new(scripts::CLAIM),
                read: Script::new(scripts::READ),
                trim: Script::new(scripts::TRIM),
            },
            options,
            fence: OnceLock::new(),
            handed: Mutex::new(HashMap::new()),
            delivered: AsyncMutex::new(Delivered::default()),
            last_trim: Mutex::new(Instant::now()),
            closed: AtomicBool::new(false),
        })
    }

    /// This process's consumer name in the group.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// Starts competing for the apply lease of this log, and fences this
    /// log's state changes (acknowledge, record a failure, dead-letter,
    /// claim, follow) by its token: without the lease they fail with
    /// [`EventsError::LeaseLost`]. Appends and the dead-letter operations
    /// stay open to every instance. One lease per log.
    pub fn lease(&self, options: LeaseOptions) -> Result<ApplyLease, EventsError> {
        let lease = ApplyLease::start(self.conn.clone(), &self.keys, options)?;
        self.fence
            .set(lease.subscribe())
            .map_err(|_| EventsError::Config {
                field: "lease",
                reason: "this log already has an apply lease".into(),
            })?;
        Ok(lease)
    }

    /// Trims the stream below its oldest unsettled entry (see
    /// [Trimming](RedisStreamsEventLog#trimming)); returns how many
    /// deleted entries' slots were reclaimed. The lease holder calls it every
    /// `trim_interval`.
    pub async fn trim(&self) -> Result<u64, EventsError> {
        let mut conn = self.conn()?;
        self.scripts
            .trim
            .run(
                &mut conn,
                &[&self.keys.stream],
                &GROUP,
                "trimming the stream",
            )
            .await
    }

    fn conn(&self) -> Result<ConnectionManager, EventsError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(EventsError::Closed);
        }
        Ok(self.conn.clone())
    }

    /// The token to fence a state change with: `''` without a lease.
    fn token(&self) -> Result<(String, Option<u64>), EventsError> {
        match self.fence.get() {
            None => Ok((String::new(), None)),
            Some(held) => match *held.borrow() {
                Some(token) => Ok((token.to_string(), Some(token))),
                None => Err(EventsError::LeaseLost { token: None }),
            },
        }
    }

    async fn trim_if_due(&self) {
        {
            let mut last = self.last_trim.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() < self.options.trim_interval {
                return;
            }
            *last = Instant::now();
        }
        if let Err(e) = self.trim().await {
            tracing::warn!(error = %e, "trimming the event stream failed");
        }
    }

    /// One non-blocking read for this consumer: the entries, or none and the
    /// stream's last generated id.
    async fn read(&self, limit: usize) -> Result<(String, Vec<Described>), EventsError> {
        let (token, held) = self.token()?;
        let mut conn = self.conn()?;
        let reply: Value = self
            .scripts
            .read
            .run(
                &mut conn,
                &[&self.keys.stream, &self.keys.failures, &self.keys.lease],
                &(GROUP, token, &self.consumer, limit),
                "reading new events",
            )
            .await?;
        let (last, entries): (String, Vec<Entry>) = fenced(reply, held, "reading new events")?;
        let first_delivery = entries
            .into_iter()
            .map(|(sid, fields)| (sid, fields, 1, None))
            .collect();
        Ok((last, first_delivery))
    }

    /// Waits until every other consumer holding entries has been idle for
    /// `claim_min_idle`, so none of them is still applying.
    async fn wait_for_idle_consumers(&self) -> Result<(), EventsError> {
        let min_idle = millis(self.options.claim_min_idle);
        loop {
            let busiest = self
                .other_consumers()
                .await?
                .into_iter()
                .filter(|c| c.pending > 0)
                .map(|c| c.idle as u64)
                .min();
            match busiest {
                Some(idle) if idle < min_idle => {
                    tokio::time::sleep(Duration::from_millis(min_idle - idle)).await;
                }
                _ => return Ok(()),
            }
        }
    }

    /// Deletes the other consumers left with nothing pending (processes
    /// that held the lease before), so the group does not grow forever.
    async fn forget_idle_consumers(&self) -> Result<(), EventsError> {
        let mut conn = self.conn()?;
        for consumer in self.other_consumers().await? {
            if consumer.pending == 0 {
                ::redis::cmd("XGROUP")
                    .arg("DELCONSUMER")
                    .arg(&self.keys.stream)
                    .arg(GROUP)
                    .arg(&consumer.name)
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(redis_error("deleting an idle consumer"))?;
            }
        }
        Ok(())
    }

    async fn other_consumers(
        &self,
    ) -> Result<Vec<::redis::streams::StreamInfoConsumer>, EventsError> {
        let reply: StreamInfoConsumersReply = ::redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(&self.keys.stream)
            .arg(GROUP)
            .query_async(&mut self.conn()?)
            .await
            .map_err(redis_error("listing consumers"))?;
        Ok(reply
            .consumers
            .into_iter()
            .filter(|c| c.name != self.consumer)
            .collect())
    }

    /// Dead-letter ids matching `filter`, with their stream ids, in log order.
    async fn dead_ids(&self, filter: &DeadLetterFilter) -> Result<Vec<(String, u64)>, EventsError> {
        let mut conn = self.conn()?;
        let pairs: Vec<(String, String)> = match &filter.ids {
            Some(ids) if ids.is_empty() => Vec::new(),
            Some(ids) => {
                let sids: Vec<Option<String>> = ::redis::cmd("HMGET")
                    .arg(&self.keys.dead)
                    .arg(ids)
                    .query_async(&mut conn)
                    .await
                    .map_err(redis_error("listing dead letters"))?;
                ids.iter()
                    .zip(sids)
                    .filter_map(|(id, sid)| sid.map(|sid| (id.clone(), sid)))
                    .collect()
            }
            None => ::redis::cmd("HGETALL")
                .arg(&self.keys.dead)
                .query_async::<HashMap<String, String>>(&mut conn)
                .await
                .map_err(redis_error("listing dead letters"))?
                .into_iter()
                .collect(),
        };
        let mut ids = pairs
            .into_iter()
            .map(|(id, sid)| Ok((id, seq_of(&sid)?)))
            .collect::<Result<Vec<_>, EventsError>>()?;
        ids.sort_by_key(|(_, seq)| *seq);
        ids.dedup();
        Ok(ids)
    }

    /// Every dead letter matching `filter`, in log order. Costs one read of
    /// the dead-letter index and one per candidate record.
    async fn matching_dead_letters(
        &self,
        filter: &DeadLetterFilter,
    ) -> Result<Vec<StoredEvent>, EventsError> {
        let ids = self.dead_ids(filter).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = ::redis::pipe();
        for (id, _) in &ids {
            pipe.cmd("HGETALL").arg(format!("{}{id}", self.keys.record));
        }
        let records: Vec<Vec<Vec<u8>>> = pipe
            .query_async(&mut self.conn()?)
            .await
            .map_err(redis_error("reading dead letters"))?;
        let mut found = Vec::new();
        for ((id, _), record) in ids.iter().zip(records) {
            if record.is_empty() {
                continue; // replayed or purged meanwhile
            }
            let letter = dead_letter(id, record)?;
            if filter.matches(&letter.event) {
                found.push(letter);
            }
        }
        Ok(found)
    }

    /// [`Delivered`], locked, and the lease token when this log follows
    /// under the lease it holds and has room for more: then an append takes
    /// delivery of its new entries.
    async fn delivering(&self) -> Option<(AsyncMutexGuard<'_, Delivered>, u64)> {
        let Ok((_, Some(token))) = self.token() else {
            return None;
        };
        let delivered = self.delivered.lock().await;
        (delivered.token == Some(token) && delivered.events.len() < DELIVERED_MAX)
            .then_some((delivered, token))
    }

    /// Takes at most `limit` entries: those appends took delivery of, else
    /// a read of entries no consumer had. With none, also returns the
    /// stream's last generated id to wait on.
    async fn take(&self, limit: usize) -> Result<(String, Vec<StoredEvent>), EventsError> {
        let (_, held) = self.token()?;
        let mut delivered = self.delivered.lock().await;
        if delivered.token != held {
            *delivered = Delivered {
                token: held,
                events: VecDeque::new(),
            };
        }
        if !delivered.events.is_empty() {
            let n = limit.min(delivered.events.len());
            let events = delivered.events.drain(..n).collect::<Result<_, _>>()?;
            return Ok((String::new(), events));
        }
        let (last, described) = self.read(limit).await?;
        let events = described
            .into_iter()
            .map(pending_event)
            .collect::<Result<_, _>>()?;
        Ok((last, events))
    }

    /// Waits up to `wait` for an entry after `last` (on the blocking
    /// connection).
    async fn wait_for_appends(&self, last: &str, wait: Duration) -> Result<(), EventsError> {
        let mut blocking = self.blocking.clone();
        let _: Value = ::redis::cmd("XREAD")
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(millis(wait).max(1))
            .arg("STREAMS")
            .arg(&self.keys.stream)
            .arg(last)
            .query_async(&mut blocking)
            .await
            .map_err(redis_error("waiting for new events"))?;
        Ok(())
    }

    fn handed(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (String, Lane)>> {
        self.handed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers the ids and lanes of events handed out.
    fn remember(
        &self,
        events: Result<Vec<StoredEvent>, EventsError>,
    ) -> Result<Vec<StoredEvent>, EventsError> {
        if let Ok(events) = &events {
            let mut handed = self.handed();
            for e in events {
                handed.insert(e.seq, (e.event.id.clone(), e.event.lane));
            }
        }
        events
    }

    /// Remembers events read for a caller, unless a lease is attached: the
    /// lease holder learns of events by claiming and following, and an
    /// instance without the lease settles none.
    fn remember_unleased(
        &self,
        events: Result<Vec<StoredEvent>, EventsError>,
    ) -> Result<Vec<StoredEvent>, EventsError> {
        if self.fence.get().is_some() {
            return events;
        }
        self.remember(events)
    }

    fn retention_ms(&self) -> u64 {
        millis(self.options.idempotency_retention)
    }
}

#[async_trait]
impl EventLog for RedisStreamsEventLog {
    /// Appends in one script. When this log follows under the lease it
    /// holds, the same script hands it the new entries (and any no consumer
    /// had yet), kept in `Delivered` for [`EventLog::follow`]: the holder
    /// does not read its own appends back.
    async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<AppendOutcome>, EventsError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let delivering = self.delivering().await;
        let (token, room) = match &delivering {
            Some((delivered, token)) => (token.to_string(), DELIVERED_MAX - delivered.events.len()),
            None => (String::new(), 0),
        };
        let (retention, room) = (self.retention_ms().to_string(), room.to_string());
        let mut args: Vec<&[u8]> = Vec::with_capacity(5 + events.len() * 5);
        args.extend([
            GROUP.as_bytes(),
            retention.as_bytes(),
            self.consumer.as_bytes(),
            token.as_bytes(),
            room.as_bytes(),
        ]);
        for e in &events {
            args.extend([
                e.id.as_bytes(),
                e.key.as_bytes(),
                LANE_FIELDS[e.lane.index()].as_bytes(),
                e.event_type.as_bytes(),
                e.payload.as_slice(),
            ]);
        }
        let k = &self.keys;
        let (at, handed_over, earlier, sids): (i64, bool, Vec<Entry>, Vec<String>) = self
            .scripts
            .append
            .run(
                &mut self.conn()?,
                &[&k.stream, &k.ids, &k.applied, &k.lanes, &k.lease],
                &args,
                "appending events",
            )
            .await?;
        let outcomes = sids
            .iter()
            .map(|sid| match sid.as_str() {
                "" => Ok(AppendOutcome::Duplicate),
                sid => Ok(AppendOutcome::Appended { seq: seq_of(sid)? }),
            })
            .collect::<Result<Vec<_>, EventsError>>()?;
        let appended = events
            .into_iter()
            .zip(&outcomes)
            .filter_map(|(e, o)| match o {
                AppendOutcome::Appended { seq } => Some((*seq, e)),
                AppendOutcome::Duplicate => None,
            });
        match delivering {
            Some((mut delivered, _)) => {
                delivered.events.extend(
                    earlier
                        .into_iter()
                        .map(|(sid, fields)| pending_event((sid, fields, 1, None))),
                );
                if handed_over {
                    let enqueued_at = from_micros(at);
                    delivered
                        .events
                        .extend(appended.map(|(seq, e)| Ok(appended_event(seq, e, enqueued_at))));
                }
            }
            // With a lease, an instance applies only what it follows or
            // claims: remembering its appends would keep those another
            // instance applies.
            None if self.fence.get().is_none() => {
                let mut handed = self.handed();
                for (seq, e) in appended {
                    handed.insert(seq, (e.id, e.lane));
                }
            }
            None => {}
        }
        Ok(outcomes)
    }

    async fn pending(&self, after_seq: u64, limit: usize) -> Result<Vec<StoredEvent>, EventsError> {
        let described: Vec<Described> = self
            .scripts
            .pending
            .run(
                &mut self.conn()?,
                &[&self.keys.stream, &self.keys.failures],
                &(GROUP, format!("({}", sid_of(after_seq)), limit),
                "reading pending events",
            )
            .await?;
        self.remember_unleased(described.into_iter().map(pending_event).collect())
    }

    async fn ack(&self, mut seqs: Vec<u64>) -> Result<(), EventsError> {
        if seqs.is_empty() {
            return Ok(());
        }
        let (token, held) = self.token()?;
        seqs.sort_unstable();
        seqs.dedup();
        let mut args = vec![GROUP.to_owned(), token, self.retention_ms().to_string()];
        {
            let mut handed = self.handed();
            for seq in seqs {
                let (id, lane) = handed
                    .remove(&seq)
                    .map(|(id, lane)| (id, lane.index().to_string()))
                    .unwrap_or_default();
                args.extend([sid_of(seq), id, lane]);
            }
        }
        let k = &self.keys;
        let reply: Value = self
            .scripts
            .ack
            .run(
                &mut self.conn()?,
                &[
                    &k.stream,
                    &k.failures,
                    &k.ids,
                    &k.applied,
                    &k.lanes,
                    &k.lease,
                ],
                &args,
                "acknowledging events",
            )
            .await?;
        fenced::<u64>(reply, held, "acknowledging events").map(drop)
    }

    async fn record_failure(
        &self,
        seq: u64,
        error: String,
        next_attempt_at: SystemTime,
    ) -> Result<u32, EventsError> {
        let (token, held) = self.token()?;
        let k = &self.keys;
        let reply: Value = self
            .scripts
            .fail
            .run(
                &mut self.conn()?,
                &[&k.stream, &k.failures, &k.lease],
                &(
                    GROUP,
                    token,
                    sid_of(seq),
                    to_micros(next_attempt_at),
                    error,
                    FAILED_ATTEMPTS_KEPT,
                ),
                "recording a failure",
            )
            .await?;
        fenced(reply, held, "recording a failure")
    }

    async fn move_to_dead_letters(&self, seq: u64, error: String) -> Result<(), EventsError> {
        let (token, held) = self.token()?;
        self.handed().remove(&seq);
        let k = &self.keys;
        let reply: Value = self
            .scripts
            .dead
            .run(
                &mut self.conn()?,
                &[&k.stream, &k.failures, &k.dead, &k.lanes, &k.lease, &k.ids],
                &(
                    GROUP,
                    token,
                    sid_of(seq),
                    error,
                    &k.record,
                    FAILED_ATTEMPTS_KEPT,
                ),
                "moving an event to the dead letters",
            )
            .await?;
        fenced::<u64>(reply, held, "moving an event to the dead letters").map(drop)
    }

    async fn dead_letters(
        &self,
        filter: DeadLetterFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, EventsError> {
        let found = self.matching_dead_letters(&filter).await?;
        Ok(found.into_iter().skip(offset).take(limit).collect())
    }

    async fn replay_dead_letters(
        &self,
        filter: DeadLetterFilter,
    ) -> Result<Vec<StoredEvent>, EventsError> {
        let letters = self.matching_dead_letters(&filter).await?;
        if letters.is_empty() {
            return Ok(Vec::new());
        }
        let k = &self.keys;
        let mut args = vec![GROUP.to_owned(), k.record.clone()];
        args.extend(letters.iter().map(|l| l.event.id.clone()));
        let replayed: Vec<(String, String)> = self
            .scripts
            .replay
            .run(
                &mut self.conn()?,
                &[&k.stream, &k.failures, &k.ids, &k.dead, &k.lanes],
                &args,
                "replaying dead letters",
            )
            .await?;
        let new_seqs = replayed
            .into_iter()
            .map(|(id, sid)| Ok((id, seq_of(&sid)?)))
            .collect::<Result<HashMap<_, _>, EventsError>>()?;
        let now = SystemTime::now();
        let mut events: Vec<StoredEvent> = letters
            .into_iter()
            .filter_map(|letter| {
                let seq = *new_seqs.get(&letter.event.id)?;
                Some(StoredEvent {
                    seq,
                    attempts: 0,
                    next_attempt_at: None,
                    last_error: None,
                    updated_at: now,
                    state: EventState::Pending,
                    ..letter
                })
            })
            .collect();
        events.sort_by_key(|e| e.seq);
        self.remember_unleased(Ok(events))
    }

    async fn purge_dead_letters(&self, filter: DeadLetterFilter) -> Result<u64, EventsError> {
        let letters = self.matching_dead_letters(&filter).await?;
        if letters.is_empty() {
            return Ok(0);
        }
        let k = &self.keys;
        let mut args = vec![GROUP.to_owned(), k.record.clone()];
        args.extend(letters.into_iter().map(|l| l.event.id));
        self.scripts
            .purge
            .run(
                &mut self.conn()?,
                &[&k.stream, &k.failures, &k.ids, &k.dead],
                &args,
                "purging dead letters",
            )
            .await
    }

    async fn counts(&self) -> Result<LogCounts, EventsError> {
        let cutoff = to_micros(SystemTime::now()) / 1000 - self.retention_ms() as i64;
        let (lanes, dead, applied): (HashMap<usize, i64>, u64, u64) = ::redis::pipe()
            .cmd("HGETALL")
            .arg(&self.keys.lanes)
            .cmd("HLEN")
            .arg(&self.keys.dead)
            .cmd("ZCOUNT")
            .arg(&self.keys.applied)
            .arg(cutoff)
            .arg("+inf")
            .query_async(&mut self.conn()?)
            .await
            .map_err(redis_error("counting events"))?;
        let mut counts = LogCounts {
            dead_letters: dead,
            applied_retained: applied,
            ..LogCounts::default()
        };
        for (lane, n) in lanes {
            if let Some(slot) = counts.pending.get_mut(lane) {
                *slot = u64::try_from(n).unwrap_or(0);
            }
        }
        Ok(counts)
    }

    async fn claim_pending(
        &self,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, EventsError> {
        if after_seq == 0 {
            // A takeover: what was handed out before is claimed again now.
            self.handed().clear();
            *self.delivered.lock().await = Delivered::default();
            self.wait_for_idle_consumers().await?;
        }
        let mut cursor = if after_seq == 0 {
            "0-0".to_owned()
        } else {
            sid_of(after_seq + 1)
        };
        loop {
            let (token, held) = self.token()?;
            let reply: Value = self
                .scripts
                .claim
                .run(
                    &mut self.conn()?,
                    &[&self.keys.stream, &self.keys.failures, &self.keys.lease],
                    &(GROUP, token, &self.consumer, &cursor, limit.max(1)),
                    "claiming pending events",
                )
                .await?;
            let (next, described): (String, Vec<Described>) =
                fenced(reply, held, "claiming pending events")?;
            if !described.is_empty() {
                return self.remember(described.into_iter().map(pending_event).collect());
            }
            if next == "0-0" {
                self.forget_idle_consumers().await?;
                return Ok(Vec::new());
            }
            cursor = next;
        }
    }

    async fn follow(&self, limit: usize, wait: Duration) -> Result<Vec<StoredEvent>, EventsError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.trim_if_due().await;
        let (last, mut events) = self.take(limit).await?;
        if events.is_empty() && !wait.is_zero() {
            self.wait_for_appends(&last, wait).await?;
            events = self.take(limit).await?.1;
        }
        self.remember(Ok(events))
    }

    async fn close(&self) -> Result<(), EventsError> {
        self.closed.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// An event as just appended: pending, never attempted.
fn appended_event(seq: u64, event: NewEvent, enqueued_at: SystemTime) -> StoredEvent {
    StoredEvent {
        seq,
        event,
        enqueued_at,
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
        updated_at: enqueued_at,
        failed_attempts: Vec::new(),
        state: EventState::Pending,
    }
}

/// `hostname-pid-random`: unique among the processes sharing a log.
fn default_consumer() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!(
        "{host}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redis_url() -> String {
        std::env::var("RHIZ_TEST_REDIS_URL")
            .expect("RHIZ_TEST_REDIS_URL must name a real Redis, e.g. redis://127.0.0.1:6379/")
    }

    async fn log(prefix: &str, consumer: &str) -> RedisStreamsEventLog {
        let options = RedisLogOptions {
            prefix: prefix.to_owned(),
            consumer: Some(consumer.to_owned()),
            ..RedisLogOptions::default()
        };
        RedisStreamsEventLog::connect(&redis_url(), options)
            .await
            .expect("the test Redis is reachable")
    }

    fn event(id: &str) -> NewEvent {
        NewEvent {
            id: id.to_owned(),
            key: "k".into(),
            lane: Lane::Normal,
            event_type: "t".into(),
            payload: id.as_bytes().to_vec(),
        }
    }

    fn ids(events: &[StoredEvent]) -> Vec<&str> {
        events.iter().map(|e| e.event.id.as_str()).collect()
    }

    /// How many entries Redis counts as delivered to a consumer and not
    /// yet acknowledged (`XPENDING`).
    async fn handed_out(log: &RedisStreamsEventLog) -> usize {
        let pending: ::redis::streams::StreamPendingReply = ::redis::cmd("XPENDING")
            .arg(&log.keys.stream)
            .arg(GROUP)
            .query_async(&mut log.conn.clone())
            .await
            .unwrap();
        pending.count()
    }

    /// A log holding its lease and following, and another instance's log.
    async fn holder_and_other(
        test: &str,
    ) -> (RedisStreamsEventLog, ApplyLease, RedisStreamsEventLog) {
        let prefix = format!("rhiz-events-test:{test}:{:016x}", rand::random::<u64>());
        let holder = log(&prefix, "holder").await;
        let lease = holder.lease(LeaseOptions::default()).unwrap();
        lease.acquired().await;
        assert!(holder.follow(10, Duration::ZERO).await.unwrap().is_empty());
        (holder, lease, log(&prefix, "other").await)
    }

    #[tokio::test]
    async fn the_holder_takes_delivery_of_its_appends_after_entries_no_one_had() {
        let (holder, _lease, other) = holder_and_other("delivery").await;
        other.append(vec![event("a1"), event("a2")]).await.unwrap();
        let outcomes = holder
            .append(vec![event("h1"), event("a1"), event("h2")])
            .await
            .unwrap();
        assert_eq!(outcomes[1], AppendOutcome::Duplicate);

        assert_eq!(
            handed_out(&holder).await,
            4,
            "all four handed to the holder in Redis"
        );
        let taken = holder.follow(10, Duration::ZERO).await.unwrap();
        assert_eq!(ids(&taken), ["a1", "a2", "h1", "h2"], "in log order");
        assert!(taken.windows(2).all(|w| w[0].seq < w[1].seq));
        assert!(taken.iter().all(|e| e.attempts == 0));
        assert!(
            holder.follow(10, Duration::ZERO).await.unwrap().is_empty(),
            "the group's last delivered id moved past the holder's appends"
        );
        holder
            .ack(taken.iter().map(|e| e.seq).collect())
            .await
            .unwrap();
        assert_eq!(holder.counts().await.unwrap().pending_total(), 0);
    }

    #[tokio::test]
    async fn a_stalled_holders_appends_succeed_but_hand_it_nothing() {
        let (holder, lease, _other) = holder_and_other("delivery-fenced").await;
        let mut conn = holder.conn.clone();
        // Another instance's token in the lease key; the holder still believes.
        let _: () = ::redis::cmd("SET")
            .arg(&holder.keys.lease)
            .arg(lease.token().unwrap() + 1)
            .query_async(&mut conn)
            .await
            .unwrap();
        let outcomes = holder.append(vec![event("late")]).await.unwrap();
        assert!(matches!(outcomes[0], AppendOutcome::Appended { .. }));
        assert_eq!(
            handed_out(&holder).await,
            0,
            "nothing handed over under a stale token"
        );
        assert!(matches!(
            holder.follow(10, Duration::ZERO).await,
            Err(EventsError::LeaseLost { .. })
        ));
    }

    #[tokio::test]
    async fn a_takeover_claims_what_appends_delivered_but_follow_did_not_hand_out() {
        let (holder, _lease, _other) = holder_and_other("delivered-claim").await;
        holder.append(vec![event("h1"), event("h2")]).await.unwrap();
        let claimed = holder.claim_pending(0, 10).await.unwrap();
        assert_eq!(ids(&claimed), ["h1", "h2"]);
        assert!(
            holder.follow(10, Duration::ZERO).await.unwrap().is_empty(),
            "claimed events are not handed out a second time"
        );
    }
}
