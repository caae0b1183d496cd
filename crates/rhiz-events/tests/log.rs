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
