//! The embedded log: the `EventLog` contract, and what only a file-backed
//! log promises (one owner at a time).

mod common;
mod contract;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rhiz_events::{async_trait, EventLog, Lane, SqliteLogOptions};

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
