//! The SQLite backend: one embedded database file in WAL mode.
//!
//! SQLite serializes writers, so writes go through a pool of exactly one
//! connection (no `SQLITE_BUSY` between our own writers); reads go through a
//! separate read-only pool sized to the machine, which WAL lets run
//! concurrently with the writer. sqlx runs each connection on its own worker
//! thread, so no SQLite call blocks a runtime thread.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rhiz_protocol::{AtUri, Did, Handle};
use serde_json::Value;
use sqlx::error::DatabaseError;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use crate::error::{DbErrorClass, Result, SqlxResultExt, StoreError};
use crate::model::{
    handle_key, Entity, EntityPatch, NewEntity, StoredAttestation, StoredRelationship,
    TrustSnapshot,
};
use crate::rows::{self, corrupt, get, Columns};
use crate::{sql, timestamp, Backend, Store};

/// How long a connection waits on a lock held by another process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an operation waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`Store`] on an SQLite file.
#[derive(Debug)]
pub(crate) struct SqliteStore {
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

        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(
                options
                    .clone()
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal),
            )
            .await
            .or_store("open", classify)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|source| StoreError::Migration { source })?;

        let readers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
        let reader = SqlitePoolOptions::new()
            .max_connections(u32::try_from(readers).unwrap_or(2))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.read_only(true))
            .await
            .or_store("open", classify)?;

        tracing::info!(path = %path.display(), readers, "opened sqlite store");
        Ok(SqliteStore {
            path: path.to_owned(),
            writer,
            reader,
        })
    }
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

/// Reads `table.column` out of "UNIQUE constraint failed: t.c[, t.d]".
fn unique_key(message: &str) -> DbErrorClass {
    message
        .split_once("constraint failed: ")
        .and_then(|(_, keys)| keys.split(',').next())
        .and_then(|key| key.trim().split_once('.'))
        .map_or(DbErrorClass::Other, |(table, column)| {
            DbErrorClass::UniqueViolation {
                table: table.to_owned(),
                column: column.to_owned(),
            }
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

/// Text form of a timestamp for binding.
fn ts(at: DateTime<Utc>) -> String {
    timestamp::to_text(at)
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn create_entity(&self, new: &NewEntity) -> Result<Entity> {
        let created = sqlx::query(sql::CREATE_ENTITY)
            .bind(new.did.as_str())
            .bind(new.handle.as_ref().map(handle_key))
            .bind(&new.name)
            .bind(&new.entity_type)
            .bind(&new.bio)
            .bind(&new.avatar_url)
            .bind(new.profile_uri.as_ref().map(AtUri::as_str))
            .bind(new.profile_cid.as_ref().map(|cid| cid.as_str()))
            .bind(ts(new.created_at))
            .fetch_one(&self.writer)
            .await
            .or_store("create_entity", classify);
        match created {
            Ok(row) => rows::entity(&row),
            Err(err) => Err(crate::model::explain_create_conflict(self, new, err).await),
        }
    }

    async fn get_entity(&self, did: &Did) -> Result<Option<Entity>> {
        sqlx::query(sql::GET_ENTITY)
            .bind(did.as_str())
            .fetch_optional(&self.reader)
            .await
            .or_store("get_entity", classify)?
            .map(|row| rows::entity(&row))
            .transpose()
    }

    async fn get_entity_by_handle(&self, handle: &Handle) -> Result<Option<Entity>> {
        sqlx::query(sql::GET_ENTITY_BY_HANDLE)
            .bind(handle_key(handle))
            .fetch_optional(&self.reader)
            .await
            .or_store("get_entity_by_handle", classify)?
            .map(|row| rows::entity(&row))
            .transpose()
    }

    async fn update_entity(
        &self,
        did: &Did,
        patch: &EntityPatch,
        now: DateTime<Utc>,
    ) -> Result<Entity> {
        // The single writer connection serializes this read-modify-write.
        let mut tx = self
            .writer
            .begin()
            .await
            .or_store("update_entity", classify)?;
        let current = sqlx::query(sql::GET_ENTITY)
            .bind(did.as_str())
            .fetch_optional(&mut *tx)
            .await
            .or_store("update_entity", classify)?;
        let Some(current) = current else {
            return Err(StoreError::NotFound {
                what: "entity",
                key: did.to_string(),
            });
        };
        let mut entity = rows::entity(&current)?;
        patch.apply(&mut entity, now);
        let row = sqlx::query(sql::UPDATE_ENTITY)
            .bind(did.as_str())
            .bind(entity.handle.as_ref().map(handle_key))
            .bind(&entity.name)
            .bind(&entity.bio)
            .bind(&entity.avatar_url)
            .bind(entity.profile_uri.as_ref().map(AtUri::as_str))
            .bind(entity.profile_cid.as_ref().map(|cid| cid.as_str()))
            .bind(ts(now))
            .fetch_one(&mut *tx)
            .await
            .or_store("update_entity", classify)
            .map_err(|err| {
                err.with_conflict_value(|_| {
                    entity.handle.as_ref().map(handle_key).unwrap_or_default()
                })
            })?;
        let updated = rows::entity(&row)?;
        tx.commit().await.or_store("update_entity", classify)?;
        Ok(updated)
    }

    async fn delete_entity(&self, did: &Did) -> Result<()> {
        let done = sqlx::query(sql::DELETE_ENTITY)
            .bind(did.as_str())
            .execute(&self.writer)
            .await
            .or_store("delete_entity", classify)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "entity",
                key: did.to_string(),
            });
        }
        Ok(())
    }

    async fn upsert_relationship(&self, rel: &StoredRelationship) -> Result<()> {
        const OP: &str = "upsert_relationship";
        let mut tx = self.writer.begin().await.or_store(OP, classify)?;
        sqlx::query(sql::UPSERT_RELATIONSHIP)
            .bind(rel.uri.as_str())
            .bind(rel.cid.as_str())
            .bind(rel.author.as_str())
            .bind(&rel.rel_type)
            .bind(i64::from(rel.strength))
            .bind(&rel.context)
            .bind(&rel.visibility)
            .bind(rel.allow_discovery)
            .bind(rel.allow_attestation)
            .bind(ts(rel.started_at))
            .bind(ts(rel.last_interaction_at))
            .bind(ts(rel.created_at))
            .bind(ts(rel.indexed_at))
            .bind(rel.record.to_string())
            .execute(&mut *tx)
            .await
            .or_store(OP, classify)?;
        sqlx::query(sql::DELETE_PARTICIPANTS)
            .bind(rel.uri.as_str())
            .execute(&mut *tx)
            .await
            .or_store(OP, classify)?;
        sqlx::query(sql::INSERT_PARTICIPANTS)
            .bind(rel.uri.as_str())
            .bind(rel.participants[0].as_str())
            .bind(rel.participants[1].as_str())
            .execute(&mut *tx)
            .await
            .or_store(OP, classify)?;
        tx.commit().await.or_store(OP, classify)
    }

    async fn get_relationship(&self, uri: &AtUri) -> Result<Option<StoredRelationship>> {
        sqlx::query(sql::GET_RELATIONSHIP)
            .bind(uri.as_str())
            .fetch_optional(&self.reader)
            .await
            .or_store("get_relationship", classify)?
            .map(|row| rows::relationship(&row))
            .transpose()
    }

    async fn delete_relationship(&self, uri: &AtUri) -> Result<bool> {
        const OP: &str = "delete_relationship";
        let mut tx = self.writer.begin().await.or_store(OP, classify)?;
        sqlx::query(sql::DELETE_PARTICIPANTS)
            .bind(uri.as_str())
            .execute(&mut *tx)
            .await
            .or_store(OP, classify)?;
        let done = sqlx::query(sql::DELETE_RELATIONSHIP)
            .bind(uri.as_str())
            .execute(&mut *tx)
            .await
            .or_store(OP, classify)?;
        tx.commit().await.or_store(OP, classify)?;
        Ok(done.rows_affected() > 0)
    }

    async fn relationships_of(&self, did: &Did) -> Result<Vec<StoredRelationship>> {
        sqlx::query(sql::RELATIONSHIPS_OF)
            .bind(did.as_str())
            .fetch_all(&self.reader)
            .await
            .or_store("relationships_of", classify)?
            .iter()
            .map(rows::relationship)
            .collect()
    }

    async fn list_relationships(
        &self,
        after: Option<&AtUri>,
        limit: u32,
    ) -> Result<Vec<StoredRelationship>> {
        let query = match after {
            None => sqlx::query(sql::LIST_RELATIONSHIPS_FIRST),
            Some(after) => sqlx::query(sql::LIST_RELATIONSHIPS_AFTER).bind(after.as_str()),
        };
        query
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .or_store("list_relationships", classify)?
            .iter()
            .map(rows::relationship)
            .collect()
    }

    async fn upsert_attestation(&self, att: &StoredAttestation) -> Result<()> {
        sqlx::query(sql::UPSERT_ATTESTATION)
            .bind(att.uri.as_str())
            .bind(att.cid.as_str())
            .bind(att.attester.as_str())
            .bind(att.target.as_str())
            .bind(&att.attestation_type)
            .bind(i64::from(att.confidence))
            .bind(&att.evidence)
            .bind(att.suggested_strength.map(i64::from))
            .bind(ts(att.created_at))
            .bind(ts(att.indexed_at))
            .bind(att.record.to_string())
            .execute(&self.writer)
            .await
            .or_store("upsert_attestation", classify)?;
        Ok(())
    }

    async fn get_attestation(&self, uri: &AtUri) -> Result<Option<StoredAttestation>> {
        sqlx::query(sql::GET_ATTESTATION)
            .bind(uri.as_str())
            .fetch_optional(&self.reader)
            .await
            .or_store("get_attestation", classify)?
            .map(|row| rows::attestation(&row))
            .transpose()
    }

    async fn delete_attestation(&self, uri: &AtUri) -> Result<bool> {
        let done = sqlx::query(sql::DELETE_ATTESTATION)
            .bind(uri.as_str())
            .execute(&self.writer)
            .await
            .or_store("delete_attestation", classify)?;
        Ok(done.rows_affected() > 0)
    }

    async fn attestations_for(&self, target: &AtUri) -> Result<Vec<StoredAttestation>> {
        sqlx::query(sql::ATTESTATIONS_FOR)
            .bind(target.as_str())
            .fetch_all(&self.reader)
            .await
            .or_store("attestations_for", classify)?
            .iter()
            .map(rows::attestation)
            .collect()
    }

    async fn put_trust_snapshot(&self, snap: &TrustSnapshot) -> Result<()> {
        sqlx::query(sql::PUT_TRUST_SNAPSHOT)
            .bind(snap.did.as_str())
            .bind(i64::from(snap.trust_score))
            .bind(i64::from(snap.reputation))
            .bind(i64::from(snap.reciprocity))
            .bind(i64::from(snap.consistency))
            .bind(i64::from(snap.relationship_count))
            .bind(i64::from(snap.verified_relationship_count))
            .bind(ts(snap.calculated_at))
            .execute(&self.writer)
            .await
            .or_store("put_trust_snapshot", classify)?;
        Ok(())
    }

    async fn latest_trust_snapshot(&self, did: &Did) -> Result<Option<TrustSnapshot>> {
        sqlx::query(sql::LATEST_TRUST_SNAPSHOT)
            .bind(did.as_str())
            .fetch_optional(&self.reader)
            .await
            .or_store("latest_trust_snapshot", classify)?
            .map(|row| rows::trust_snapshot(&row))
            .transpose()
    }

    async fn get_state(&self, key: &str) -> Result<Option<String>> {
        sqlx::query(sql::GET_STATE)
            .bind(key)
            .fetch_optional(&self.reader)
            .await
            .or_store("get_state", classify)?
            .map(|row| row.text("value"))
            .transpose()
    }

    async fn put_state(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(sql::PUT_STATE)
            .bind(key)
            .bind(value)
            .execute(&self.writer)
            .await
            .or_store("put_state", classify)?;
        Ok(())
    }

    async fn ping(&self) -> Result<Duration> {
        let started = Instant::now();
        sqlx::query(sql::PING)
            .execute(&self.reader)
            .await
            .or_store("ping", classify)?;
        Ok(started.elapsed())
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
