//! The embedded logs, SQLite and the dedicated file: the `EventLog`
//! contract and what only an embedded log promises (exact counts, one owner
//! at a time), then what is particular to each.

mod common;
mod contract;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rhiz_events::{async_trait, EventLog, FileLogOptions, Lane, SqliteEventLog, SqliteLogOptions};

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

/// File logs in a temporary directory of their own, with small files so
/// that the tests move the live state into new files often.
struct File(tempfile::TempDir);

impl File {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }
}

#[async_trait]
impl contract::Backend for File {
    async fn open(&self) -> Arc<dyn EventLog> {
        self.open_with_retention(FileLogOptions::default().idempotency_retention)
            .await
    }

    async fn open_with_retention(&self, retention: Duration) -> Arc<dyn EventLog> {
        let options = FileLogOptions {
            idempotency_retention: retention,
            file_bytes: 64 << 10,
            ..FileLogOptions::default()
        };
        common::open_file_log_with(self.0.path(), options).await
    }
}

mod sqlite {
    use super::*;
    contract_tests!(Sqlite::new());
    embedded_contract_tests!(Sqlite::new());
}

mod file {
    use super::*;
    contract_tests!(File::new());
    embedded_contract_tests!(File::new());
}

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
    contract::run_three_groups(&*log, "after").await;
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

/// The file log's own promises: one owner, compaction into new files, and
/// what reopening does with a torn, damaged or unfinished file.
mod file_only {
    use std::path::Path;

    use rhiz_events::{AppendOutcome, DeadLetterFilter, EventState, EventsError, FileEventLog};

    use super::*;

    fn small_files() -> FileLogOptions {
        FileLogOptions {
            file_bytes: 64 << 10,
            ..FileLogOptions::default()
        }
    }

    async fn open(dir: &Path) -> Arc<FileEventLog> {
        common::open_file_log_with(dir, small_files()).await
    }

    fn log_files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("events"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        files.sort();
        files
    }

    fn payload_event(i: usize) -> rhiz_events::NewEvent {
        let mut e = contract::event(&format!("e{i}"), &format!("k{}", i % 7), Lane::Normal);
        e.payload = format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(i % 300)).into_bytes();
        e
    }

    /// Options out of range are refused by name before anything is opened.
    #[tokio::test]
    async fn options_out_of_range_name_their_field() {
        let dir = tempfile::tempdir().unwrap();
        for (options, field) in [
            (
                FileLogOptions {
                    file_bytes: 100,
                    ..FileLogOptions::default()
                },
                "file_bytes",
            ),
            (
                FileLogOptions {
                    max_group_commit: 0,
                    ..FileLogOptions::default()
                },
                "max_group_commit",
            ),
        ] {
            let err = FileEventLog::open(dir.path().join("events"), options)
                .await
                .expect_err("out of range");
            assert!(
                matches!(&err, EventsError::Config { field: f, .. } if *f == field),
                "{err}"
            );
            assert!(err.to_string().contains(field), "{err}");
        }
        assert!(!dir.path().join("events").exists(), "nothing was created");
    }

    #[tokio::test]
    async fn a_second_opener_is_refused_while_the_log_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let _log = open(dir.path()).await;
        let second = FileEventLog::open(dir.path().join("events"), small_files()).await;
        let err = second.expect_err("the directory's lock keeps one owner at a time");
        assert!(
            err.to_string().contains("in use by another process"),
            "{err}"
        );
    }

    /// Thousands of events through files of 64 KiB: the live state moves
    /// to new files, old ones go, and a reopened log holds exactly the
    /// pending events (payloads intact), the dead letters and the applied ids.
    #[tokio::test]
    async fn compaction_keeps_live_events_and_applied_ids_and_drops_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path()).await;
        let mut pending = Vec::new();
        for chunk in (0..3_000).collect::<Vec<_>>().chunks(100) {
            let events: Vec<_> = chunk.iter().map(|&i| payload_event(i)).collect();
            let seqs = contract::append_new(&*log, events.clone()).await;
            let (keep, settle): (Vec<_>, Vec<_>) = seqs
                .into_iter()
                .zip(events)
                .partition(|(seq, _)| seq % 10 == 0);
            log.ack(settle.iter().map(|(seq, _)| *seq).collect())
                .await
                .unwrap();
            pending.extend(keep);
        }
        let (dead_seq, dead_event) = pending.remove(0);
        log.move_to_dead_letters(dead_seq, "poison".into())
            .await
            .unwrap();
        assert_eq!(log_files(dir.path()).len(), 1, "old files are deleted");
        let size = std::fs::metadata(&log_files(dir.path())[0]).unwrap().len();
        assert!(
            size < 256 << 10,
            "the file stays near its limit: {size} bytes"
        );
        log.close().await.unwrap();
        drop(log);

        let log = open(dir.path()).await;
        let read = log.pending(0, 10_000).await.unwrap();
        let expected: Vec<_> = pending.iter().map(|(seq, e)| (*seq, e.clone())).collect();
        let got: Vec<_> = read.into_iter().map(|s| (s.seq, s.event)).collect();
        assert_eq!(got, expected);
        let dead = log
            .dead_letters(DeadLetterFilter::all(), 0, 10)
            .await
            .unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!((dead[0].seq, &dead[0].event), (dead_seq, &dead_event));
        assert_eq!(dead[0].state, EventState::DeadLetter);
        assert_eq!(dead[0].last_error.as_deref(), Some("poison"));
        let counts = log.counts().await.unwrap();
        assert_eq!(counts.applied_retained, 2_700);
        for i in [1, 999, 2_999] {
            assert_eq!(
                log.append_one(payload_event(i)).await.unwrap(),
                AppendOutcome::Duplicate,
                "applied id e{i} is remembered through compaction and reopening"
            );
        }
        let next = log.append_one(payload_event(3_000)).await.unwrap();
        assert_eq!(next, AppendOutcome::Appended { seq: 3_001 });
    }

    /// A file that is mostly events still pending is not copied into a new
    /// one (the copy would free little of it); once they are applied, it is.
    #[tokio::test]
    async fn a_file_of_pending_events_moves_only_once_they_are_applied() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path()).await;
        let mut seqs = Vec::new();
        for chunk in (0..1_000).collect::<Vec<_>>().chunks(50) {
            let events = chunk.iter().map(|&i| payload_event(i)).collect();
            seqs.extend(contract::append_new(&*log, events).await);
        }
        let files = log_files(dir.path());
        assert_eq!(files.len(), 1);
        assert!(files[0].ends_with("00000000000000000001.log"), "{files:?}");
        let size = std::fs::metadata(&files[0]).unwrap().len();
        assert!(
            size > 2 * (64 << 10),
            "the file grew past its limit: {size}"
        );

        log.ack(seqs).await.unwrap();
        log.append_one(payload_event(1_000)).await.unwrap();
        let files = log_files(dir.path());
        assert_eq!(files.len(), 1);
        assert!(!files[0].ends_with("00000000000000000001.log"), "{files:?}");
        let size = std::fs::metadata(&files[0]).unwrap().len();
        assert!(size < 64 << 10, "only the live state moved: {size}");
        assert_eq!(log.counts().await.unwrap().applied_retained, 1_000);
    }

    /// A log in `dir` holding `n` pending events appended one at a time
    /// (a frame each), closed; returns its current file.
    async fn closed_log_with(dir: &Path, n: usize) -> PathBuf {
        let log = open(dir).await;
        for i in 0..n {
            log.append_one(payload_event(i)).await.unwrap();
        }
        log.close().await.unwrap();
        log_files(dir).pop().unwrap()
    }

    /// Opening the log in `dir` fails with an error that says `expected`.
    async fn refuses_to_open(dir: &Path, expected: &str) -> EventsError {
        let err = FileEventLog::open(dir.join("events"), small_files())
            .await
            .expect_err("the log must not open as if nothing happened");
        assert!(err.to_string().contains(expected), "{err}");
        err
    }

    /// Tails set aside by earlier crashes do not pile up: opening keeps the
    /// eight newest and deletes the rest.
    #[tokio::test]
    async fn opening_keeps_only_the_eight_newest_set_aside_tails() {
        let dir = tempfile::tempdir().unwrap();
        let file = closed_log_with(dir.path(), 2).await;
        let start = std::time::SystemTime::now() - Duration::from_secs(3600);
        let tails: Vec<PathBuf> = (0..11u64)
            .map(|i| {
                let tail = file.with_extension(format!("log.tail-{}", 1000 + i));
                std::fs::write(&tail, [1, 2, 3]).unwrap();
                let at = start + Duration::from_secs(60 * i);
                std::fs::File::options()
                    .write(true)
                    .open(&tail)
                    .unwrap()
                    .set_modified(at)
                    .unwrap();
                tail
            })
            .collect();
        let log = open(dir.path()).await;
        assert_eq!(log.pending(0, 10).await.unwrap().len(), 2);
        for (i, tail) in tails.iter().enumerate() {
            assert_eq!(tail.exists(), i >= 3, "{}", tail.display());
        }
    }

    /// A crash in the middle of a write leaves a torn last frame: reopening
    /// drops it (keeping its bytes beside the file), keeps everything
    /// before it, and appends after it.
    #[tokio::test]
    async fn a_torn_last_frame_is_dropped_on_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let file = closed_log_with(dir.path(), 5).await;
        let good = std::fs::metadata(&file).unwrap().len();
        let torn_tails: [&[u8]; 4] = [
            // A header cut short.
            &[200, 0, 0],
            // A whole frame whose body is not what its checksum says.
            &[
                16, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
            ],
            // Fewer body bytes than the header announces.
            &[64, 0, 0, 0, 1, 2, 3, 4, 9, 9],
            // Space the file system allocated and never filled.
            &[0; 4096],
        ];
        for torn in torn_tails {
            let mut bytes = std::fs::read(&file).unwrap();
            bytes.truncate(good as usize);
            bytes.extend_from_slice(torn);
            std::fs::write(&file, bytes).unwrap();

            let log = open(dir.path()).await;
            assert_eq!(log.pending(0, 100).await.unwrap().len(), 5);
            log.close().await.unwrap();
            let len = std::fs::metadata(&file).unwrap().len();
            assert_eq!(len, good, "the torn frame is cut off");
            let aside = file.with_extension(format!("log.tail-{good}"));
            assert_eq!(
                std::fs::read(&aside).unwrap(),
                torn,
                "and kept beside the file"
            );
        }
        let log = open(dir.path()).await;
        contract::append_new(&*log, vec![payload_event(5)]).await;
        log.close().await.unwrap();
        let log = open(dir.path()).await;
        assert_eq!(log.pending(0, 100).await.unwrap().len(), 6);
    }

    /// A damaged frame with more after it is not a torn write: the log
    /// refuses to open and names the file and the byte.
    #[tokio::test]
    async fn a_damaged_frame_before_the_end_refuses_to_open() {
        let dir = tempfile::tempdir().unwrap();
        let file = closed_log_with(dir.path(), 3).await;
        let mut bytes = std::fs::read(&file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        std::fs::write(&file, bytes).unwrap();
        let err = refuses_to_open(dir.path(), ".log at byte").await;
        assert!(matches!(err, EventsError::Corrupt { .. }), "{err}");
    }

    /// A file that is not an event log of this version is not mistaken for
    /// an unfinished one: the log refuses to open and leaves it alone.
    #[tokio::test]
    async fn a_file_of_another_format_refuses_to_open_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        closed_log_with(dir.path(), 1).await;
        let newer = dir.path().join("events").join("00000000000000000002.log");
        std::fs::write(&newer, b"RHIZEVL2 a format from a later version").unwrap();
        refuses_to_open(dir.path(), "not an event log file of this version").await;
        assert!(newer.exists());
    }

    /// A new file a crash left without its checkpoint is deleted, and the
    /// log opens from the file before it.
    #[tokio::test]
    async fn an_unfinished_new_file_is_deleted_on_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let current = closed_log_with(dir.path(), 3).await;
        // A new file starts with the log's magic bytes, then frames of
        // carried state; its checkpoint comes last.
        let unfinished = dir.path().join("events").join("00000000000000000002.log");
        let bytes = std::fs::read(&current).unwrap();
        std::fs::write(&unfinished, &bytes[..8 + 5]).unwrap();

        let log = open(dir.path()).await;
        assert_eq!(log.pending(0, 100).await.unwrap().len(), 3);
        assert_eq!(log_files(dir.path()), vec![current]);
    }
}
