//! The embedded log: the `EventLog` contract, and what only a file-backed
//! log promises (one owner at a time).

mod common;
mod contract;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rhiz_events::{async_trait, EventLog, Lane, SqliteEventLog, SqliteLogOptions};

/// SQLite logs in a temporary directory of their own.
struct Sqlite(tempfile::TempDir);

impl Sqlite {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    fn dir(&self) -> PathBuf {
        self.0.path().to_path_buf()
    }
}

#[async_trait]
impl contract::Backend for Sqlite {
    async fn open(&self) -> Arc<dyn EventLog> {
        common::open_log(&self.dir()).await
    }

    async fn open_with_retention(&self, retention: Duration) -> Arc<dyn EventLog> {
        let options = SqliteLogOptions {
            idempotency_retention: retention,
            ..SqliteLogOptions::default()
        };
        common::open_log_with(&self.dir(), options).await
    }
}

contract_tests!(Sqlite::new());

#[tokio::test]
async fn a_second_opener_is_refused_while_the_log_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let log = common::open_log(dir.path()).await;
    log.append_one(contract::event("a", "k", Lane::Normal))
        .await
        .unwrap();
    let second = rhiz_events::SqliteEventLog::open(
        dir.path().join("events.db"),
        SqliteLogOptions::default(),
    )
    .await;
    assert!(
        second.is_err(),
        "exclusive locking keeps one owner at a time"
    );
}

/// The counts follow every move of an event, and a reopened log counts what
/// it holds.
#[tokio::test]
async fn counts_follow_every_move_and_survive_reopening() {
    use rhiz_events::{AppendOutcome, DeadLetterFilter, LogCounts};

    let dir = tempfile::tempdir().unwrap();
    let log = common::open_log(dir.path()).await;
    let mut seqs = Vec::new();
    for (i, lane) in [
        Lane::Critical,
        Lane::High,
        Lane::Normal,
        Lane::Normal,
        Lane::Low,
    ]
    .into_iter()
    .enumerate()
    {
        match log
            .append_one(contract::event(&format!("e{i}"), &format!("k{i}"), lane))
            .await
            .unwrap()
        {
            AppendOutcome::Appended { seq } => seqs.push(seq),
            other => panic!("{other:?}"),
        }
    }
    log.ack(vec![seqs[0], seqs[2]]).await.unwrap();
    log.move_to_dead_letters(seqs[3], "broken".into())
        .await
        .unwrap();
    log.move_to_dead_letters(seqs[4], "broken".into())
        .await
        .unwrap();
    assert_eq!(
        log.replay_dead_letters(DeadLetterFilter::all())
            .await
            .unwrap()
            .len(),
        2
    );
    let expected = log.counts().await.unwrap();
    assert_eq!(
        expected,
        LogCounts {
            pending: [0, 1, 1, 1],
            dead_letters: 0,
            applied_retained: 2,
        }
    );
    log.move_to_dead_letters(seqs[4], "again".into())
        .await
        .unwrap();
    assert_eq!(
        log.purge_dead_letters(DeadLetterFilter::all())
            .await
            .unwrap(),
        1
    );
    let expected = LogCounts {
        pending: [0, 1, 1, 0],
        dead_letters: 0,
        applied_retained: 2,
    };
    assert_eq!(log.counts().await.unwrap(), expected);
    log.close().await.unwrap();
    drop(log);

    let log = common::open_log(dir.path()).await;
    assert_eq!(log.counts().await.unwrap(), expected, "after reopening");
}

/// A log file written before the schema was versioned (no
/// `failed_attempts` column) opens, migrated: an event already failing or
/// dead has its last failure as its history, and new attempts follow it.
#[tokio::test]
async fn a_log_from_before_failure_histories_opens_with_its_last_failures() {
    use rhiz_events::DeadLetterFilter;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    let dir = tempfile::tempdir().unwrap();
    let failed_at = 1_763_935_200_000_000_i64;
    {
        let conn = unversioned_log(&dir.path().join("events.db"));
        let insert = "INSERT INTO events (id, key, lane, event_type, payload, enqueued_at,
                      attempts, state, next_attempt_at, last_error, updated_at)
                      VALUES (?1, 'k', 2, 'job', x'00', ?2, ?3, ?4, NULL, ?5, ?2)";
        for (id, attempts, state, error) in [
            ("failing", 2, 0, Some("busy")),
            ("dead", 1, 2, Some("broken")),
            ("fresh", 0, 0, None),
        ] {
            conn.execute(
                insert,
                rusqlite::params![id, failed_at, attempts, state, error],
            )
            .unwrap();
        }
    }

    let log = common::open_log(dir.path()).await;
    let at = UNIX_EPOCH + Duration::from_micros(failed_at as u64);
    let dead = log.dead_letter("dead").await.unwrap().unwrap();
    assert_eq!(dead.failed_attempts.len(), 1);
    assert_eq!(
        (
            dead.failed_attempts[0].at,
            dead.failed_attempts[0].error.as_str()
        ),
        (at, "broken")
    );
    let pending = log.pending(0, 10).await.unwrap();
    assert_eq!(pending.len(), 2);
    assert!(pending[1].failed_attempts.is_empty(), "never failed");
    log.record_failure(pending[0].seq, "busy again".into(), SystemTime::now())
        .await
        .unwrap();
    let failing = &log.pending(0, 1).await.unwrap()[0];
    let errors: Vec<&str> = failing
        .failed_attempts
        .iter()
        .map(|a| a.error.as_str())
        .collect();
    assert_eq!(errors, ["busy", "busy again"]);
    assert_eq!(failing.attempts, 3);
    assert_eq!(
        log.dead_letters(DeadLetterFilter::all(), 0, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    log.close().await.unwrap();
    drop(log);

    // Migrated once: adding the column again would fail the opening.
    let reopened = common::open_log(dir.path()).await;
    assert_eq!(
        reopened.pending(0, 1).await.unwrap()[0]
            .failed_attempts
            .len(),
        2
    );
}

/// A log file in the schema written before it was versioned (version 0),
/// empty.
fn unversioned_log(path: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE events (
            seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, key TEXT NOT NULL,
            lane INTEGER NOT NULL, event_type TEXT NOT NULL, payload BLOB NOT NULL,
            enqueued_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
            state INTEGER NOT NULL, next_attempt_at INTEGER, last_error TEXT,
            updated_at INTEGER NOT NULL);
         CREATE INDEX events_dead ON events(seq) WHERE state = 2;
         CREATE TABLE applied (seq INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);",
    )
    .unwrap();
    conn
}

/// A log file from when applied events kept their rows (and payloads)
/// opens with those rows gone and their ids still remembered (also those
/// of the first format, which marked an applied row `state = 1`); pending
/// events and dead letters are kept, and new positions follow every old
/// one, applied ones included.
#[tokio::test]
async fn a_log_that_kept_applied_payloads_opens_with_their_ids_only() {
    use rhiz_events::{AppendOutcome, DeadLetterFilter, LogCounts};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    {
        let conn = unversioned_log(&path);
        let insert = "INSERT INTO events (seq, id, key, lane, event_type, payload, enqueued_at,
                      attempts, state, last_error, updated_at)
                      VALUES (?1, ?2, 'k', 2, 'job', zeroblob(1000), 1, 0, ?3, ?4, 1)";
        for (seq, id, state, error) in [
            (1, "applied-early", 0, None),
            (2, "waiting", 0, None),
            (3, "dead", 2, Some("broken")),
            (4, "applied-first-format", 1, None),
            (5, "applied-last", 0, None),
        ] {
            conn.execute(insert, rusqlite::params![seq, id, state, error])
                .unwrap();
        }
        conn.execute_batch("INSERT INTO applied (seq, applied_at) VALUES (1, 1), (5, 1);")
            .unwrap();
    }

    let log = common::open_log(dir.path()).await;
    assert_eq!(
        log.counts().await.unwrap(),
        LogCounts {
            pending: [0, 0, 1, 0],
            dead_letters: 1,
            applied_retained: 3,
        }
    );
    let next = contract::seq(
        log.append_one(contract::event("new", "k", Lane::Normal))
            .await
            .unwrap(),
    );
    assert_eq!(next, 6, "the new position follows every old one");
    for id in [
        "applied-early",
        "applied-first-format",
        "applied-last",
        "waiting",
        "dead",
    ] {
        assert_eq!(
            log.append_one(contract::event(id, "k", Lane::Normal))
                .await
                .unwrap(),
            AppendOutcome::Duplicate,
            "{id} is remembered"
        );
    }
    let pending = log.pending(0, 10).await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|e| (e.seq, e.event.id.as_str()))
            .collect::<Vec<_>>(),
        [(2, "waiting"), (6, "new")]
    );
    let dead = log
        .dead_letters(DeadLetterFilter::all(), 0, 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("broken"));
    log.close().await.unwrap();
    drop(log);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 3, "waiting, dead and new: applied rows are gone");
}

/// Migrating a log whose applied events kept their payloads gives the
/// space they took back to the disk: the file shrinks, once.
#[tokio::test]
async fn migrating_away_applied_payloads_shrinks_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    {
        let conn = unversioned_log(&path);
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             INSERT INTO events (seq, id, key, lane, event_type, payload, enqueued_at, state, updated_at)
                SELECT i, 'e' || i, 'k', 2, 'job', zeroblob(4000), 1, 0, 1 FROM n;
             INSERT INTO applied (seq, applied_at) SELECT seq, 1 FROM events WHERE seq > 1;",
        )
        .unwrap();
    }
    let before = std::fs::metadata(&path).unwrap().len();
    assert!(before > 8_000_000, "2,000 payloads of 4 KB: {before} bytes");

    let log = common::open_log(dir.path()).await;
    assert_eq!(log.counts().await.unwrap().pending, [0, 0, 1, 0]);
    log.close().await.unwrap();
    drop(log);

    let after = std::fs::metadata(&path).unwrap().len();
    assert!(
        after < before / 10,
        "{before} bytes before migrating, {after} after"
    );
}

/// The file holds the payloads of unfinished work only: applying events
/// frees their space for the next ones.
#[tokio::test]
async fn applied_payloads_leave_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = common::open_log(dir.path()).await;
    let payload = vec![7_u8; 64 * 1024];
    for round in 0..20 {
        let events = (0..10)
            .map(|i| rhiz_events::NewEvent {
                payload: payload.clone(),
                ..contract::event(&format!("r{round}-{i}"), "k", Lane::Normal)
            })
            .collect();
        let seqs = contract::append_new(&*log, events).await;
        log.ack(seqs).await.unwrap();
    }
    assert_eq!(log.counts().await.unwrap().applied_retained, 200);
    log.close().await.unwrap();
    drop(log);

    // 200 payloads of 64 KiB were written: 12.5 MiB if they were kept.
    let size = std::fs::metadata(dir.path().join("events.db"))
        .unwrap()
        .len();
    assert!(size < 3 * 1024 * 1024, "events.db is {size} bytes");
}

/// Forgetting keeps up with acknowledgements: each sweep forgets a bounded
/// number of ids (10,000), and while a sweep forgets a full batch the next
/// group of commands sweeps again, without waiting for the interval
/// (100 ms here). Three quick appends after the retention forget 25,000.
#[tokio::test]
async fn expired_ids_are_forgotten_faster_than_one_batch_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_remembering_ids_for(dir.path(), Duration::from_secs(1)).await;
    for chunk in 0..5 {
        let events = (0..5_000)
            .map(|i| contract::event(&format!("c{chunk}-{i}"), "k", Lane::Normal))
            .collect();
        let seqs = contract::append_new(&*log, events).await;
        log.ack(seqs).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    run_three_groups(&*log, "after").await;
    assert_eq!(log.counts().await.unwrap().applied_retained, 0);
}

/// A log that forgets applied ids after `retention`.
async fn log_remembering_ids_for(
    dir: &std::path::Path,
    retention: Duration,
) -> Arc<SqliteEventLog> {
    let options = SqliteLogOptions {
        idempotency_retention: retention,
        ..SqliteLogOptions::default()
    };
    common::open_log_with(dir, options).await
}

/// Appends three new events one at a time: three groups of commands, after
/// each of which the log may sweep.
async fn run_three_groups(log: &impl EventLog, prefix: &str) {
    for i in 0..3 {
        log.append_one(contract::event(&format!("{prefix}-{i}"), "k", Lane::Normal))
            .await
            .unwrap();
    }
}

/// Ids are forgotten by the time they were applied, not by position: ids
/// applied late at early positions (a replayed backlog) neither hold back
/// the forgetting of older ones nor go before their time. The margins are
/// seconds wide so that a slow disk's commits cannot move an id across the
/// retention.
#[tokio::test]
async fn ids_are_forgotten_oldest_applied_first() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_remembering_ids_for(dir.path(), Duration::from_secs(4)).await;
    let mut appended = Vec::new();
    for (prefix, n) in [("late-", 10_001), ("early-", 5_000)] {
        let events = (0..n)
            .map(|i| contract::event(&format!("{prefix}{i}"), "k", Lane::Normal))
            .collect();
        appended.push(contract::append_new(&*log, events).await);
    }
    let [late, early] = <[Vec<u64>; 2]>::try_from(appended).unwrap();
    log.ack(early).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    log.ack(late).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    // The early ids are past the retention, the late ones are not.
    run_three_groups(&*log, "trigger").await;
    assert_eq!(log.counts().await.unwrap().applied_retained, 10_001);
    assert!(matches!(
        log.append_one(contract::event("early-0", "k", Lane::Normal))
            .await
            .unwrap(),
        rhiz_events::AppendOutcome::Appended { .. }
    ));
    assert_eq!(
        log.append_one(contract::event("late-0", "k", Lane::Normal))
            .await
            .unwrap(),
        rhiz_events::AppendOutcome::Duplicate
    );
}
