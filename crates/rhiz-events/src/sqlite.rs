//! The embedded log: one SQLite file (WAL, `synchronous=FULL`) owned by a
//! dedicated writer thread that commits every command waiting in its queue in
//! one transaction (group commit), so one fsync covers many appends.
//!
//! The `events` table holds what is still to do: pending events and dead
//! letters, with their payloads. An acknowledgement deletes the event's row
//! and records its id in the small `applied` table, which is all that
//! idempotency needs: the file holds the payloads of unfinished work only,
//! and freed pages are reused by the next appends, so the file stays small
//! and its pages stay in memory. Applied ids are forgotten when the
//! idempotency retention has passed. Positions (`seq`) are never reused.
//!
//! An event's row also keeps its last failed attempts (the
//! `failed_attempts` column, bounded by
//! [`FAILED_ATTEMPTS_KEPT`](crate::FAILED_ATTEMPTS_KEPT)); a replay leaves
//! them, so new attempts follow. The schema is versioned by SQLite's
//! `user_version` and migrated when a file is opened ([`MIGRATIONS`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rusqlite::types::{Type, Value};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use crate::event::{from_micros, to_micros};
use crate::history;
use crate::writer::{
    embedded_event_log, GroupStore, Handle, DEFAULT_IDEMPOTENCY_RETENTION, DEFAULT_MAX_GROUP_COMMIT,
};
use crate::{
    AppendOutcome, DeadLetterFilter, EventState, EventsError, FailedAttempt, Lane, LogCounts,
    NewEvent, StoredEvent,
};

/// The schema, one migration per version. A log file's `user_version` is
/// the number of migrations applied to it; files made before the schema was
/// versioned have version 0 and the tables of the first migration, which
/// creates only what is missing.
const MIGRATIONS: [&str; 4] = [
    "CREATE TABLE IF NOT EXISTS events (
        seq             INTEGER PRIMARY KEY,
        id              TEXT    NOT NULL UNIQUE,
        key             TEXT    NOT NULL,
        lane            INTEGER NOT NULL,
        event_type      TEXT    NOT NULL,
        payload         BLOB    NOT NULL,
        enqueued_at     INTEGER NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        state           INTEGER NOT NULL,
        next_attempt_at INTEGER,
        last_error      TEXT,
        updated_at      INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS events_dead ON events(seq) WHERE state = 2;
    CREATE TABLE IF NOT EXISTS applied (
        seq        INTEGER PRIMARY KEY,
        applied_at INTEGER NOT NULL
    );",
    // Each event's failed attempts (`history.rs` encoding). An event that
    // already failed, or is dead, starts with its last failure, recorded
    // when the row last changed.
    "ALTER TABLE events ADD COLUMN failed_attempts TEXT;
     UPDATE events SET failed_attempts = json_array(json_array(CAST(updated_at AS TEXT), last_error))
     WHERE attempts > 0 AND last_error IS NOT NULL;",
    // Applied events keep their id only. `events` is rebuilt with
    // AUTOINCREMENT so that deleting rows never lets a position be reused,
    // and its sequence starts past every position the old table gave out.
    "ALTER TABLE events RENAME TO events_v2;
     DROP INDEX IF EXISTS events_dead;
     CREATE TABLE events (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        id              TEXT    NOT NULL UNIQUE,
        key             TEXT    NOT NULL,
        lane            INTEGER NOT NULL,
        event_type      TEXT    NOT NULL,
        payload         BLOB    NOT NULL,
        enqueued_at     INTEGER NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        state           INTEGER NOT NULL,
        next_attempt_at INTEGER,
        last_error      TEXT,
        updated_at      INTEGER NOT NULL,
        failed_attempts TEXT
     );
     CREATE INDEX events_dead ON events(seq) WHERE state = 2;
     CREATE TABLE applied_ids (
        seq        INTEGER PRIMARY KEY,
        id         TEXT    NOT NULL UNIQUE,
        applied_at INTEGER NOT NULL
     );
     INSERT INTO applied_ids (seq, id, applied_at)
        SELECT a.seq, e.id, a.applied_at FROM applied a JOIN events_v2 e ON e.seq = a.seq
        WHERE e.state != 2;
     INSERT INTO applied_ids (seq, id, applied_at)
        SELECT seq, id, updated_at FROM events_v2 e
        WHERE e.state = 1 AND NOT EXISTS (SELECT 1 FROM applied a WHERE a.seq = e.seq);
     INSERT INTO events (seq, id, key, lane, event_type, payload, enqueued_at, attempts,
                         state, next_attempt_at, last_error, updated_at, failed_attempts)
        SELECT seq, id, key, lane, event_type, payload, enqueued_at, attempts,
               state, next_attempt_at, last_error, updated_at, failed_attempts
        FROM events_v2 e
        WHERE e.state = 2
           OR (e.state = 0 AND NOT EXISTS (SELECT 1 FROM applied a WHERE a.seq = e.seq));
     DELETE FROM sqlite_sequence WHERE name = 'events';
     INSERT INTO sqlite_sequence (name, seq)
        SELECT 'events', MAX(IFNULL((SELECT MAX(seq) FROM events_v2), 0),
                             IFNULL((SELECT MAX(seq) FROM applied), 0));
     DROP TABLE events_v2;
     DROP TABLE applied;
     ALTER TABLE applied_ids RENAME TO applied;",
    // The retention sweep forgets the ids applied longest ago, by time.
    "CREATE INDEX IF NOT EXISTS applied_time ON applied(applied_at);",
];

const COLUMNS: &str =
    "seq, id, key, lane, event_type, payload, enqueued_at, attempts, state, next_attempt_at, last_error, updated_at, failed_attempts";

/// `events.state` of a dead letter; every other row is pending.
const DEAD: i64 = 2;

/// Applied rows removed per retention sweep, so a sweep never stalls appends for long.
const SWEEP_BATCH: i64 = 10_000;

/// Options of the embedded log.
#[derive(Debug, Clone)]
pub struct SqliteLogOptions {
    /// How long the ids of applied events are remembered as duplicates.
    /// Default 24 hours.
    pub idempotency_retention: Duration,
    /// Most commands committed in one transaction. Default 4,096.
    pub max_group_commit: usize,
}

impl Default for SqliteLogOptions {
    fn default() -> Self {
        Self {
            idempotency_retention: DEFAULT_IDEMPOTENCY_RETENTION,
            max_group_commit: DEFAULT_MAX_GROUP_COMMIT,
        }
    }
}

/// The embedded, durable [`EventLog`](crate::EventLog) on SQLite: a database
/// file in WAL mode with `synchronous=FULL`, opened in exclusive locking mode
/// (one process at a time), written by one dedicated thread with group
/// commit.
///
/// Every call is a command to that thread; a call returns after the
/// transaction holding its command has committed, so an appended event is on
/// disk when `append` returns.
#[derive(Debug)]
pub struct SqliteEventLog {
    writer: Handle,
}

impl SqliteEventLog {
    /// Opens (creating if needed) the log at `path` and starts its writer thread.
    pub async fn open(
        path: impl AsRef<Path>,
        options: SqliteLogOptions,
    ) -> Result<Self, EventsError> {
        let path = path.as_ref().to_path_buf();
        let max_group = options.max_group_commit;
        let writer = Handle::spawn("rhiz-events-writer", max_group, move || {
            Writer::open(&path, options)
        })
        .await?;
        Ok(Self { writer })
    }
}

embedded_event_log!(SqliteEventLog);

/// Owns the connection; runs on the writer thread only.
struct Writer {
    conn: Connection,
    options: SqliteLogOptions,
    last_sweep: Instant,
    /// The last sweep forgot a full batch: more may be due at once.
    sweep_behind: bool,
    tally: Tally,
    /// What the commands of the open transaction did to the counts.
    moved: Vec<Moved>,
}

/// The log's counts, kept by the writer thread: read by one scan when the
/// log opens, then moved by every committed command, so that
/// [`EventLog::counts`] costs no query (a scan on this thread held appends
/// up for as long as the retained events took to read; triggers doing the
/// counting cost a bulk import 15 %).
#[derive(Debug, Default)]
struct Tally {
    counts: LogCounts,
    /// The lane of every pending event: appended, neither applied nor dead.
    pending: HashMap<u64, Lane>,
}

/// What a command did to the counts; applied once its transaction commits.
enum Moved {
    Appended(u64, Lane),
    Applied(u64),
    Dead(u64),
    Replayed(u64, Lane),
    Purged(u64),
    Forgotten(u64),
}

impl Tally {
    fn load(conn: &Connection) -> Result<Self, rusqlite::Error> {
        let mut tally = Tally::default();
        let mut pending = conn.prepare("SELECT seq, lane FROM events WHERE state = 0")?;
        let rows = pending.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (seq, lane) = row?;
            tally.apply(Moved::Appended(seq as u64, lane_of(lane)));
        }
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
        tally.counts.dead_letters = count("SELECT COUNT(*) FROM events WHERE state = 2")? as u64;
        tally.counts.applied_retained = count("SELECT COUNT(*) FROM applied")? as u64;
        Ok(tally)
    }

    fn apply(&mut self, moved: Moved) {
        let counts = &mut self.counts;
        match moved {
            Moved::Appended(seq, lane) | Moved::Replayed(seq, lane) => {
                if matches!(moved, Moved::Replayed(..)) {
                    counts.dead_letters = counts.dead_letters.saturating_sub(1);
                }
                if self.pending.insert(seq, lane).is_none() {
                    counts.pending[lane.index()] += 1;
                }
            }
            Moved::Applied(seq) => {
                if let Some(lane) = self.pending.remove(&seq) {
                    counts.pending[lane.index()] -= 1;
                    counts.applied_retained += 1;
                }
            }
            Moved::Dead(seq) => {
                if let Some(lane) = self.pending.remove(&seq) {
                    counts.pending[lane.index()] -= 1;
                    counts.dead_letters += 1;
                }
            }
            Moved::Purged(n) => counts.dead_letters = counts.dead_letters.saturating_sub(n),
            Moved::Forgotten(n) => {
                counts.applied_retained = counts.applied_retained.saturating_sub(n);
            }
        }
    }
}

fn storage(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> EventsError {
    move |source| EventsError::Storage { operation, source }
}

impl GroupStore for Writer {
    fn begin(&mut self) -> Result<(), EventsError> {
        self.moved.clear();
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(storage("starting a transaction"))
    }

    fn append(&mut self, events: &[NewEvent]) -> Result<Vec<AppendOutcome>, EventsError> {
        let outcomes = self.in_savepoint(|w| w.append_new(events))?;
        self.moved
            .extend(events.iter().zip(&outcomes).filter_map(|(e, o)| match o {
                AppendOutcome::Appended { seq } => Some(Moved::Appended(*seq, e.lane)),
                AppendOutcome::Duplicate => None,
            }));
        Ok(outcomes)
    }

    fn ack(&mut self, seqs: &[u64]) -> Result<(), EventsError> {
        self.in_savepoint(|w| w.remember_applied(seqs))?;
        self.moved.extend(seqs.iter().copied().map(Moved::Applied));
        Ok(())
    }

    fn fail(&mut self, seq: u64, error: &str, next: SystemTime) -> Result<u32, EventsError> {
        let now = SystemTime::now();
        let Some(history) = self.history_with(seq, error, now)? else {
            return Ok(0);
        };
        let attempts: Option<i64> = self
            .conn
            .prepare_cached(
                "UPDATE events SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3,
                 updated_at = ?4, failed_attempts = ?5
                 WHERE seq = ?1 AND state = 0 RETURNING attempts",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![seq as i64, error, to_micros(next), to_micros(now), history],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(storage("recording a failure"))?;
        Ok(attempts.unwrap_or(0) as u32)
    }

    fn dead(&mut self, seq: u64, error: &str) -> Result<(), EventsError> {
        self.bury(seq, error)?;
        self.moved.push(Moved::Dead(seq));
        Ok(())
    }

    fn replay(&mut self, filter: &DeadLetterFilter) -> Result<Vec<StoredEvent>, EventsError> {
        let events = self.revive(filter)?;
        self.moved
            .extend(events.iter().map(|e| Moved::Replayed(e.seq, e.event.lane)));
        Ok(events)
    }

    fn purge(&mut self, filter: &DeadLetterFilter) -> Result<u64, EventsError> {
        let purged = self.delete_dead(filter)?;
        self.moved.push(Moved::Purged(purged));
        Ok(purged)
    }

    /// The first `limit` pending events after `after`, in log order. The
    /// tally knows which they are, so they are read by key: retained
    /// applied events are never scanned.
    fn pending(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, EventsError> {
        let mut seqs: Vec<u64> = self
            .tally
            .pending
            .keys()
            .copied()
            .filter(|&seq| seq > after)
            .collect();
        if seqs.len() > limit {
            seqs.select_nth_unstable(limit);
            seqs.truncate(limit);
        }
        seqs.sort_unstable();
        let read = || -> Result<Vec<StoredEvent>, rusqlite::Error> {
            let mut stmt = self
                .conn
                .prepare_cached(&format!("SELECT {COLUMNS} FROM events WHERE seq = ?1"))?;
            let mut events = Vec::with_capacity(seqs.len());
            for &seq in &seqs {
                events.extend(stmt.query_row([seq as i64], stored_event).optional()?);
            }
            Ok(events)
        };
        read().map_err(storage("reading pending events"))
    }

    fn dead_letters(
        &self,
        filter: &DeadLetterFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, EventsError> {
        let (condition, mut values) = filter_sql(filter);
        values.push(limit_value(limit));
        values.push(Value::Integer(offset as i64));
        let sql = format!(
            "SELECT {COLUMNS} FROM events WHERE {condition} ORDER BY seq LIMIT ?{} OFFSET ?{}",
            values.len() - 1,
            values.len()
        );
        self.query(&sql, values)
            .map_err(storage("listing dead letters"))
    }

    fn counts(&self) -> LogCounts {
        self.tally.counts
    }

    fn commit(&mut self) -> Result<(), String> {
        let moved = std::mem::take(&mut self.moved);
        match self.conn.execute_batch("COMMIT") {
            Ok(()) => {
                for m in moved {
                    self.tally.apply(m);
                }
                Ok(())
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(format!("committing to the SQLite log: {e}"))
            }
        }
    }

    fn between_groups(&mut self) {
        self.sweep_if_due();
    }
}

impl Writer {
    fn open(path: &PathBuf, options: SqliteLogOptions) -> Result<Self, EventsError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| EventsError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(storage("opening the log"))?;
        conn.busy_timeout(Duration::ZERO)
            .map_err(storage("configuring the log"))?;
        // Savepoint journals stay in memory (they spilled to a temporary
        // file on every group commit) and a 64 MiB page cache keeps the id
        // indexes from being re-read out of the WAL.
        // A new log has 16 KiB pages: an event's row is about 900 bytes,
        // and on 4 KiB pages every fourth append split a page (the log
        // writer's instructions −10 %, an import of 100,000 events −12 %
        // on disk, for 16 % more bytes written to the WAL; a log made
        // with other pages keeps them).
        // Checkpoints every 4,096 WAL frames (64 MiB), not SQLite's 1,000:
        // most of the log's pages are written, then freed when their events
        // are applied, then reused, and each checkpoint copies only the last
        // version of a page, so rarer checkpoints copy far fewer pages (an
        // import of 100,000 events: −7 % wall time). The WAL file keeps that
        // size between checkpoints.
        conn.execute_batch(
            "PRAGMA page_size = 16384;
             PRAGMA locking_mode = EXCLUSIVE;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -65536;
             PRAGMA wal_autocheckpoint = 4096;",
        )
        .map_err(storage("locking the log (is another process using it?)"))?;
        migrate(&conn, path)?;
        let tally = Tally::load(&conn).map_err(storage("counting the log"))?;
        Ok(Self {
            conn,
            options,
            last_sweep: Instant::now(),
            sweep_behind: false,
            tally,
            moved: Vec::new(),
        })
    }

    /// Runs `f` so that its writes are all kept or all undone.
    fn in_savepoint<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, EventsError>,
    ) -> Result<T, EventsError> {
        self.conn
            .execute_batch("SAVEPOINT command")
            .map_err(storage("opening a savepoint"))?;
        let result = f(self);
        let end = if result.is_ok() {
            "RELEASE command"
        } else {
            "ROLLBACK TO command; RELEASE command"
        };
        self.conn
            .execute_batch(end)
            .map_err(storage("closing a savepoint"))?;
        result
    }

    /// Appends each event whose id is neither applied nor in the log.
    ///
    /// Every statement here and in [`Writer::remember_applied`] changes at most one row,
    /// so SQLite opens no statement journal for them (an `INSERT … SELECT`
    /// or a `DELETE … RETURNING` does, and spilled it to a temporary file:
    /// +25 % on an import of 100,000 events).
    fn append_new(&mut self, events: &[NewEvent]) -> Result<Vec<AppendOutcome>, EventsError> {
        let now = to_micros(SystemTime::now());
        let mut applied = self
            .conn
            .prepare_cached("SELECT 1 FROM applied WHERE id = ?1")
            .map_err(storage("preparing an append"))?;
        let mut insert = self
            .conn
            .prepare_cached(
                "INSERT INTO events (id, key, lane, event_type, payload, enqueued_at, state, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?6) ON CONFLICT(id) DO NOTHING",
            )
            .map_err(storage("preparing an append"))?;
        let mut outcomes = Vec::with_capacity(events.len());
        for e in events {
            if applied.exists([&e.id]).map_err(storage("appending"))? {
                outcomes.push(AppendOutcome::Duplicate);
                continue;
            }
            let inserted = insert
                .execute(params![
                    e.id,
                    e.key,
                    e.lane.index() as i64,
                    e.event_type,
                    e.payload,
                    now
                ])
                .map_err(storage("appending"))?;
            outcomes.push(if inserted == 0 {
                AppendOutcome::Duplicate
            } else {
                AppendOutcome::Appended {
                    seq: self.conn.last_insert_rowid() as u64,
                }
            });
        }
        Ok(outcomes)
    }

    /// Deletes each pending event at `seqs` and remembers its id as applied.
    /// Run in a savepoint: an event is either still pending or applied with
    /// its id remembered, never gone and forgotten.
    fn remember_applied(&mut self, seqs: &[u64]) -> Result<(), EventsError> {
        let now = to_micros(SystemTime::now());
        let mut pending_id = self
            .conn
            .prepare_cached("SELECT id FROM events WHERE seq = ?1 AND state = 0")
            .map_err(storage("preparing an ack"))?;
        let mut delete = self
            .conn
            .prepare_cached("DELETE FROM events WHERE seq = ?1")
            .map_err(storage("preparing an ack"))?;
        let mut remember = self
            .conn
            .prepare_cached("INSERT INTO applied (seq, id, applied_at) VALUES (?1, ?2, ?3)")
            .map_err(storage("preparing an ack"))?;
        for &seq in seqs {
            let id: Option<String> = pending_id
                .query_row(params![seq as i64], |r| r.get(0))
                .optional()
                .map_err(storage("acknowledging"))?;
            if let Some(id) = id {
                delete
                    .execute(params![seq as i64])
                    .map_err(storage("acknowledging"))?;
                remember
                    .execute(params![seq as i64, id, now])
                    .map_err(storage("acknowledging"))?;
            }
        }
        Ok(())
    }

    fn bury(&mut self, seq: u64, error: &str) -> Result<(), EventsError> {
        let now = SystemTime::now();
        let Some(history) = self.history_with(seq, error, now)? else {
            return Ok(());
        };
        self.conn
            .prepare_cached(
                "UPDATE events SET state = 2, attempts = attempts + 1, last_error = ?2,
                 next_attempt_at = NULL, updated_at = ?3, failed_attempts = ?4
                 WHERE seq = ?1 AND state = 0",
            )
            .and_then(|mut s| s.execute(params![seq as i64, error, to_micros(now), history]))
            .map_err(storage("moving to dead letters"))?;
        Ok(())
    }

    /// The stored failure history of the pending event at `seq` with one
    /// more failed attempt, at `at` with `error`; `None` when no event is
    /// pending there.
    fn history_with(
        &self,
        seq: u64,
        error: &str,
        at: SystemTime,
    ) -> Result<Option<String>, EventsError> {
        let stored: Option<Option<String>> = self
            .conn
            .prepare_cached("SELECT failed_attempts FROM events WHERE seq = ?1 AND state = 0")
            .and_then(|mut s| s.query_row(params![seq as i64], |r| r.get(0)).optional())
            .map_err(storage("reading failed attempts"))?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let mut attempts = match stored {
            Some(text) => history::decode(&text).map_err(|reason| EventsError::Corrupt {
                entry: seq.to_string(),
                reason,
            })?,
            None => Vec::new(),
        };
        history::push(
            &mut attempts,
            FailedAttempt {
                at,
                error: error.to_owned(),
            },
        );
        Ok(Some(history::encode(&attempts)))
    }

    fn revive(&mut self, filter: &DeadLetterFilter) -> Result<Vec<StoredEvent>, EventsError> {
        let (condition, mut values) = filter_sql(filter);
        values.push(Value::Integer(to_micros(SystemTime::now())));
        let sql = format!(
            "UPDATE events SET state = 0, attempts = 0, next_attempt_at = NULL, updated_at = ?{}
             WHERE {condition} RETURNING {COLUMNS}",
            values.len()
        );
        let mut events = self
            .query(&sql, values)
            .map_err(storage("replaying dead letters"))?;
        events.sort_by_key(|e| e.seq);
        Ok(events)
    }

    fn delete_dead(&mut self, filter: &DeadLetterFilter) -> Result<u64, EventsError> {
        let (condition, values) = filter_sql(filter);
        let sql = format!("DELETE FROM events WHERE {condition}");
        let deleted = self
            .conn
            .execute(&sql, params_from_iter(values))
            .map_err(storage("purging dead letters"))?;
        Ok(deleted as u64)
    }

    fn query(&self, sql: &str, values: Vec<Value>) -> Result<Vec<StoredEvent>, rusqlite::Error> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map(params_from_iter(values), stored_event)?;
        rows.collect()
    }

    /// Forgets applied ids older than the retention, a bounded number at a
    /// time: once per interval, and after every group of commands while the
    /// last sweep forgot a full batch, so that forgetting keeps up with any
    /// rate of acknowledgements without a sweep after every group once it
    /// has caught up.
    fn sweep_if_due(&mut self) {
        let interval = (self.options.idempotency_retention / 16)
            .clamp(Duration::from_millis(100), Duration::from_secs(60));
        if !self.sweep_behind && self.last_sweep.elapsed() < interval {
            return;
        }
        self.last_sweep = Instant::now();
        let cutoff = SystemTime::now()
            .checked_sub(self.options.idempotency_retention)
            .map_or(0, to_micros);
        let result = self.conn.execute(
            "DELETE FROM applied WHERE seq IN
             (SELECT seq FROM applied WHERE applied_at < ?1 ORDER BY applied_at LIMIT ?2)",
            params![cutoff, SWEEP_BATCH],
        );
        match result {
            Ok(forgotten) => {
                self.sweep_behind = forgotten as i64 == SWEEP_BATCH;
                self.tally.apply(Moved::Forgotten(forgotten as u64));
            }
            Err(e) => {
                self.sweep_behind = false;
                tracing::warn!(error = %e, "event log retention sweep failed");
            }
        }
    }
}

fn limit_value(limit: usize) -> Value {
    Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX))
}

/// The SQL condition selecting dead letters by `filter`, with its parameters
/// numbered from 1.
fn filter_sql(filter: &DeadLetterFilter) -> (String, Vec<Value>) {
    let mut condition = String::from("state = 2");
    let mut values = Vec::new();
    let mut push = |column: &str, value: Value, condition: &mut String| {
        values.push(value);
        condition.push_str(&format!(" AND {column} = ?{}", values.len()));
    };
    if let Some(t) = &filter.event_type {
        push("event_type", Value::Text(t.clone()), &mut condition);
    }
    if let Some(lane) = filter.lane {
        push("lane", Value::Integer(lane.index() as i64), &mut condition);
    }
    if let Some(key) = &filter.key {
        push("key", Value::Text(key.clone()), &mut condition);
    }
    if let Some(ids) = &filter.ids {
        let start = values.len();
        let placeholders: Vec<String> = (0..ids.len())
            .map(|i| format!("?{}", start + i + 1))
            .collect();
        values.extend(ids.iter().map(|id| Value::Text(id.clone())));
        condition.push_str(&format!(" AND id IN ({})", placeholders.join(", ")));
    }
    (condition, values)
}

fn lane_of(index: i64) -> Lane {
    usize::try_from(index)
        .ok()
        .and_then(Lane::from_index)
        .unwrap_or(Lane::Low)
}

fn stored_event(r: &Row<'_>) -> Result<StoredEvent, rusqlite::Error> {
    let state = if r.get::<_, i64>(8)? == DEAD {
        EventState::DeadLetter
    } else {
        EventState::Pending
    };
    Ok(StoredEvent {
        seq: r.get::<_, i64>(0)? as u64,
        event: NewEvent {
            id: r.get(1)?,
            key: r.get(2)?,
            lane: lane_of(r.get(3)?),
            event_type: r.get(4)?,
            payload: r.get(5)?,
        },
        enqueued_at: from_micros(r.get(6)?),
        attempts: r.get::<_, i64>(7)? as u32,
        state,
        next_attempt_at: r.get::<_, Option<i64>>(9)?.map(from_micros),
        last_error: r.get(10)?,
        updated_at: from_micros(r.get(11)?),
        failed_attempts: failed_attempts(r, 12)?,
    })
}

/// The failed attempts in column `index` (none when NULL).
fn failed_attempts(r: &Row<'_>, index: usize) -> Result<Vec<FailedAttempt>, rusqlite::Error> {
    match r.get::<_, Option<String>>(index)? {
        Some(text) => history::decode(&text).map_err(|reason| {
            rusqlite::Error::FromSqlConversionFailure(index, Type::Text, reason.into())
        }),
        None => Ok(Vec::new()),
    }
}

/// Brings the schema of the log at `path` up to date (see [`MIGRATIONS`]),
/// one transaction per migration.
fn migrate(conn: &Connection, path: &Path) -> Result<(), EventsError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(storage("reading the schema version"))?;
    let done = usize::try_from(version).unwrap_or(usize::MAX);
    if done > MIGRATIONS.len() {
        return Err(EventsError::Corrupt {
            entry: path.display().to_string(),
            reason: format!(
                "schema version {version} is newer than this program's {}",
                MIGRATIONS.len()
            ),
        });
    }
    for (applied, migration) in MIGRATIONS.iter().enumerate().skip(done) {
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {migration} PRAGMA user_version = {}; COMMIT;",
            applied + 1
        ))
        .map_err(storage("migrating the schema"))?;
    }
    if done < MIGRATIONS.len() {
        give_back_free_space(conn).map_err(storage("compacting the log after migrating"))?;
    }
    Ok(())
}

/// Rewrites the file when most of its pages are free, so that a migration
/// that drops most of the data (the payloads of applied events, in version
/// 3) gives the space back to the disk instead of leaving the file at its
/// old size. Run once, after migrating: SQLite reuses free pages, so a log
/// in use never needs it.
fn give_back_free_space(conn: &Connection) -> Result<(), rusqlite::Error> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    if free * 2 > pages {
        conn.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")?;
    }
    Ok(())
}
