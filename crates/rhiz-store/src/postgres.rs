//! The PostgreSQL backend: a connection pool, TIMESTAMPTZ timestamps and
//! JSONB records.

use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rhiz_protocol::{AtUri, Did, Handle};
use serde_json::Value;
use sqlx::error::DatabaseError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Column, Row, TypeInfo};

use crate::error::{DbErrorClass, Result, SqlxResultExt, StoreError};
use crate::model::{
    handle_key, Entity, EntityPatch, NewEntity, StoredAttestation, StoredRelationship,
    TrustSnapshot,
};
use crate::rows::{self, corrupt, get, Columns};
use crate::url::mask_password;
use crate::{sql, timestamp, Backend, Store};

/// Connections in the pool.
const MAX_CONNECTIONS: u32 = 10;
/// How long an operation waits for a pooled connection (or to connect).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`Store`] on a PostgreSQL database.
#[derive(Debug)]
pub(crate) struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` and migrates the database.
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url).map_err(|err| StoreError::InvalidUrl {
            url: mask_password(url),
            reason: err.to_string(),
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .or_store("open", classify)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migration { source })?;
        tracing::info!(url = %mask_password(url), "opened postgres store");
        Ok(PgStore { pool })
    }
}

/// Classifies PostgreSQL's SQLSTATE codes.
fn classify(err: &dyn DatabaseError) -> DbErrorClass {
    let Some(code) = err.code() else {
        return DbErrorClass::Other;
    };
    match code.as_ref() {
        "23505" => match (err.table(), err.constraint()) {
            (Some(table), Some(constraint)) => unique_key(table, constraint),
            _ => DbErrorClass::Other,
        },
        // connection exceptions, insufficient resources, operator
        // intervention (shutdown), serialization failure, deadlock
        code if code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") => {
            DbErrorClass::Unavailable
        }
        "40001" | "40P01" => DbErrorClass::Unavailable,
        _ => DbErrorClass::Other,
    }
}

/// Reads the column out of a constraint named `<table>_<column>_key`.
fn unique_key(table: &str, constraint: &str) -> DbErrorClass {
    constraint
        .strip_prefix(table)
        .and_then(|rest| rest.strip_prefix('_'))
        .and_then(|rest| rest.strip_suffix("_key"))
        .map_or(DbErrorClass::Other, |column| {
            DbErrorClass::UniqueViolation {
                table: table.to_owned(),
                column: column.to_owned(),
            }
        })
}

impl Columns for PgRow {
    fn text(&self, column: &'static str) -> Result<String> {
        get(self, column)
    }

    fn opt_text(&self, column: &'static str) -> Result<Option<String>> {
        get(self, column)
    }

    fn opt_int(&self, column: &'static str) -> Result<Option<i64>> {
        let ty = self
            .try_column(column)
            .map_err(|err| corrupt(column, err))?
            .type_info()
            .name();
        match ty {
            "INT2" => Ok(get::<_, Option<i16>>(self, column)?.map(i64::from)),
            "INT4" => Ok(get::<_, Option<i32>>(self, column)?.map(i64::from)),
            _ => get(self, column),
        }
    }

    fn flag(&self, column: &'static str) -> Result<bool> {
        get(self, column)
    }

    fn timestamp(&self, column: &'static str) -> Result<DateTime<Utc>> {
        get(self, column)
    }

    fn json(&self, column: &'static str) -> Result<Value> {
        get::<_, Json<Value>>(self, column).map(|json| json.0)
    }
}

/// A timestamp for binding, at the precision both backends keep.
fn ts(at: DateTime<Utc>) -> DateTime<Utc> {
    timestamp::truncate(at)
}

/// A 0–100 value for binding to a SMALLINT column.
fn small(value: u8) -> i16 {
    i16::from(value)
}

#[async_trait::async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
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
            .fetch_one(&self.pool)
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
            .fetch_optional(&self.pool)
            .await
            .or_store("get_entity", classify)?
            .map(|row| rows::entity(&row))
            .transpose()
    }

    async fn get_entity_by_handle(&self, handle: &Handle) -> Result<Option<Entity>> {
        sqlx::query(sql::GET_ENTITY_BY_HANDLE)
            .bind(handle_key(handle))
            .fetch_optional(&self.pool)
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
        let mut tx = self
            .pool
            .begin()
            .await
            .or_store("update_entity", classify)?;
        // The row lock makes concurrent patches of one entity apply in turn.
        let current = sqlx::query(sql::GET_ENTITY_FOR_UPDATE)
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
            .execute(&self.pool)
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
        let mut tx = self.pool.begin().await.or_store(OP, classify)?;
        sqlx::query(sql::UPSERT_RELATIONSHIP)
            .bind(rel.uri.as_str())
            .bind(rel.cid.as_str())
            .bind(rel.author.as_str())
            .bind(&rel.rel_type)
            .bind(small(rel.strength))
            .bind(&rel.context)
            .bind(&rel.visibility)
            .bind(rel.allow_discovery)
            .bind(rel.allow_attestation)
            .bind(ts(rel.started_at))
            .bind(ts(rel.last_interaction_at))
            .bind(ts(rel.created_at))
            .bind(ts(rel.indexed_at))
            .bind(Json(&rel.record))
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
            .fetch_optional(&self.pool)
            .await
            .or_store("get_relationship", classify)?
            .map(|row| rows::relationship(&row))
            .transpose()
    }

    async fn delete_relationship(&self, uri: &AtUri) -> Result<bool> {
        const OP: &str = "delete_relationship";
        let mut tx = self.pool.begin().await.or_store(OP, classify)?;
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
            .fetch_all(&self.pool)
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
            .fetch_all(&self.pool)
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
            .bind(small(att.confidence))
            .bind(&att.evidence)
            .bind(att.suggested_strength.map(small))
            .bind(ts(att.created_at))
            .bind(ts(att.indexed_at))
            .bind(Json(&att.record))
            .execute(&self.pool)
            .await
            .or_store("upsert_attestation", classify)?;
        Ok(())
    }

    async fn get_attestation(&self, uri: &AtUri) -> Result<Option<StoredAttestation>> {
        sqlx::query(sql::GET_ATTESTATION)
            .bind(uri.as_str())
            .fetch_optional(&self.pool)
            .await
            .or_store("get_attestation", classify)?
            .map(|row| rows::attestation(&row))
            .transpose()
    }

    async fn delete_attestation(&self, uri: &AtUri) -> Result<bool> {
        let done = sqlx::query(sql::DELETE_ATTESTATION)
            .bind(uri.as_str())
            .execute(&self.pool)
            .await
            .or_store("delete_attestation", classify)?;
        Ok(done.rows_affected() > 0)
    }

    async fn attestations_for(&self, target: &AtUri) -> Result<Vec<StoredAttestation>> {
        sqlx::query(sql::ATTESTATIONS_FOR)
            .bind(target.as_str())
            .fetch_all(&self.pool)
            .await
            .or_store("attestations_for", classify)?
            .iter()
            .map(rows::attestation)
            .collect()
    }

    async fn put_trust_snapshot(&self, snap: &TrustSnapshot) -> Result<()> {
        sqlx::query(sql::PUT_TRUST_SNAPSHOT)
            .bind(snap.did.as_str())
            .bind(small(snap.trust_score))
            .bind(small(snap.reputation))
            .bind(small(snap.reciprocity))
            .bind(small(snap.consistency))
            .bind(i64::from(snap.relationship_count))
            .bind(i64::from(snap.verified_relationship_count))
            .bind(ts(snap.calculated_at))
            .execute(&self.pool)
            .await
            .or_store("put_trust_snapshot", classify)?;
        Ok(())
    }

    async fn latest_trust_snapshot(&self, did: &Did) -> Result<Option<TrustSnapshot>> {
        sqlx::query(sql::LATEST_TRUST_SNAPSHOT)
            .bind(did.as_str())
            .fetch_optional(&self.pool)
            .await
            .or_store("latest_trust_snapshot", classify)?
            .map(|row| rows::trust_snapshot(&row))
            .transpose()
    }

    async fn get_state(&self, key: &str) -> Result<Option<String>> {
        sqlx::query(sql::GET_STATE)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .or_store("get_state", classify)?
            .map(|row| row.text("value"))
            .transpose()
    }

    async fn put_state(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(sql::PUT_STATE)
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
            .or_store("put_state", classify)?;
        Ok(())
    }

    async fn ping(&self) -> Result<Duration> {
        let started = Instant::now();
        sqlx::query(sql::PING)
            .execute(&self.pool)
            .await
            .or_store("ping", classify)?;
        Ok(started.elapsed())
    }

    async fn close(&self) {
        self.pool.close().await;
        tracing::info!("closed postgres store");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_names_give_the_column() {
        assert_eq!(
            unique_key("entities", "entities_handle_key"),
            DbErrorClass::UniqueViolation {
                table: "entities".into(),
                column: "handle".into()
            }
        );
        assert_eq!(
            unique_key(
                "relationship_participants",
                "relationship_participants_position_key"
            ),
            DbErrorClass::UniqueViolation {
                table: "relationship_participants".into(),
                column: "position".into()
            }
        );
        assert_eq!(unique_key("entities", "entities_pkey"), DbErrorClass::Other);
    }
}
