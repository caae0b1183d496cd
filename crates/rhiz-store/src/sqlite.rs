//! The SQLite backend: one embedded database file in WAL mode.
//!
//! SQLite serializes writers, so writes go through a pool of exactly one
//! connection (no `SQLITE_BUSY` between our own writers); reads go through a
//! separate read-only pool sized to the machine, which WAL lets run
//! concurrently with the writer. sqlx runs each connection on its own worker
//! thread, so no SQLite call blocks a runtime thread.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::error::DatabaseError;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteQueryResult, SqliteRow, SqliteSynchronous,
};

use crate::error::{DbErrorClass, Result, SqlxResultExt, StoreError};
use crate::rows::{corrupt, get, Columns};
use crate::store::{Dialect, SqlStore};
use crate::{sql, timestamp, Backend};

/// How long a connection waits on a lock held by another process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an operation waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`Store`](crate::Store) on an SQLite file.
pub(crate) type SqliteStore = SqlStore<SqliteDialect>;

/// The pools of an SQLite file.
#[derive(Debug)]
pub(crate) struct SqliteDialect {
    path: PathBuf,
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub(crate) async fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|err| StoreError::Unavailable {
                source: sqlx::Error::Io(err),
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT);

        // A local file's connection cannot go stale: no ping before each use
        // (sqlx's default), which would add a round trip to every operation.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(
                options
                    .clone()
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal),
            )
            .await
            .or_store("open", SqliteDialect::classify)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|source| StoreError::Migration { source })?;

        let readers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
        let reader = SqlitePoolOptions::new()
            .max_connections(u32::try_from(readers).unwrap_or(2))
            .test_before_acquire(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.read_only(true))
            .await
            .or_store("open", SqliteDialect::classify)?;

        tracing::info!(path = %path.display(), readers, "opened sqlite store");
        Ok(SqlStore::new(SqliteDialect {
            path: path.to_owned(),
            writer,
            reader,
        }))
    }
}

/// Reads `table.column` out of "UNIQUE constraint failed: t.c[, t.d]".
fn unique_key(message: &str) -> DbErrorClass {
    message
        .split_once("constraint failed: ")
        .and_then(|(_, keys)| keys.split(',').next())
        .and_then(|key| key.trim().split_once('.'))
        .map_or(DbErrorClass::Other, |(table, column)| {
            DbErrorClass::unique_violation(table, column)
        })
}

impl Columns for SqliteRow {
    fn text(&self, column: &'static str) -> Result<String> {
        get(self, column)
    }

    fn opt_text(&self, column: &'static str) -> Result<Option<String>> {
        get(self, column)
    }

    fn opt_int(&self, column: &'static str) -> Result<Option<i64>> {
        get(self, column)
    }

    fn flag(&self, column: &'static str) -> Result<bool> {
        get(self, column)
    }

    fn timestamp(&self, column: &'static str) -> Result<DateTime<Utc>> {
        timestamp::from_text(&self.text(column)?).map_err(|err| corrupt(column, err))
    }

    fn json(&self, column: &'static str) -> Result<Value> {
        serde_json::from_str(&self.text(column)?).map_err(|err| corrupt(column, err))
    }
}

impl Dialect for SqliteDialect {
    type DB = Sqlite;
    type Timestamp = String;
    type Percent = i64;
    type Json<'a> = String;

    const BACKEND: Backend = Backend::Sqlite;
    /// The single writer connection already serializes the read-modify-write.
    const GET_ENTITY_FOR_UPDATE: &'static str = sql::GET_ENTITY;

    fn timestamp(at: DateTime<Utc>) -> String {
        timestamp::to_text(at)
    }

    fn percent(value: u8) -> i64 {
        i64::from(value)
    }

    fn json(value: &Value) -> String {
        value.to_string()
    }

    /// Classifies SQLite's extended result codes.
    fn classify(err: &dyn DatabaseError) -> DbErrorClass {
        const SQLITE_CONSTRAINT_PRIMARYKEY: i32 = 1555;
        const SQLITE_CONSTRAINT_UNIQUE: i32 = 2067;
        // Primary codes (low byte): BUSY, LOCKED, NOMEM, IOERR, FULL, CANTOPEN.
        const TRANSIENT: [i32; 6] = [5, 6, 7, 10, 13, 14];

        let code: i32 = err.code().and_then(|code| code.parse().ok()).unwrap_or(0);
        match code {
            SQLITE_CONSTRAINT_PRIMARYKEY | SQLITE_CONSTRAINT_UNIQUE => unique_key(err.message()),
            _ if TRANSIENT.contains(&(code & 0xff)) => DbErrorClass::Unavailable,
            _ => DbErrorClass::Other,
        }
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    async fn close(&self) {
        self.reader.close().await;
        if !self.writer.is_closed() {
            if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.writer)
                .await
            {
                tracing::warn!(path = %self.path.display(), error = %err, "sqlite checkpoint on close failed");
            }
        }
        self.writer.close().await;
        tracing::info!(path = %self.path.display(), "closed sqlite store");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_messages_name_table_and_column() {
        assert_eq!(
            unique_key("UNIQUE constraint failed: entities.handle"),
            DbErrorClass::UniqueViolation {
                table: "entities".into(),
                column: "handle".into()
            }
        );
        assert_eq!(
            unique_key(
                "UNIQUE constraint failed: trust_snapshots.did, trust_snapshots.calculated_at"
            ),
            DbErrorClass::UniqueViolation {
                table: "trust_snapshots".into(),
                column: "did".into()
            }
        );
        assert_eq!(unique_key("something else"), DbErrorClass::Other);
    }
}
