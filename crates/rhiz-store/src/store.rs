//! The sqlx implementation of [`Store`], generic over the backend (today
//! PostgreSQL; SQLite has its own, on rusqlite: [`crate::sqlite`]).
//!
//! The SQL is shared ([`crate::sql`]) and so is decoding ([`crate::rows`]);
//! what is left to a backend is a [`Dialect`]: how it binds timestamps,
//! 0–100 values and JSON, how it classifies its error codes, its pool, and
//! how it closes.

use crate::RecordJson;
use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rhiz_protocol::{AtUri, Did, Handle};
use sqlx::error::DatabaseError;
use sqlx::{Database, Encode, Executor, IntoArguments, Pool, Type};

use crate::error::{DbErrorClass, Result, SqlxResultExt, StoreError};
use crate::model::{
    handle_key, AttestationEdge, AttestationHead, Entity, EntityCensus, EntityPatch, NewEntity,
    RelationshipEdge, RelationshipHead, StoreWrite, StoredAttestation, StoredRelationship,
    TrustSnapshot,
};
use crate::rows::{self, Columns};
use crate::{sql, Backend, Store};

/// What one database backend contributes to [`SqlStore`].
pub(crate) trait Dialect: Debug + Send + Sync + 'static {
    /// The sqlx driver; its rows decode through [`Columns`].
    type DB: Database<Row: Columns>;
    /// How a timestamp is bound (TIMESTAMPTZ on PostgreSQL).
    type Timestamp: for<'q> Encode<'q, Self::DB> + Type<Self::DB> + Send + 'static;
    /// How a 0–100 value is bound.
    type Percent: for<'q> Encode<'q, Self::DB> + Type<Self::DB> + Send + 'static;
    /// How a JSON record is bound (JSONB on PostgreSQL).
    type Json<'a>: for<'q> Encode<'q, Self::DB> + Type<Self::DB> + Send + 'a;

    /// Which database this is.
    const BACKEND: Backend;

    /// A timestamp for binding, truncated to microseconds.
    fn timestamp(at: DateTime<Utc>) -> Self::Timestamp;
    /// A 0–100 value for binding.
    fn percent(value: u8) -> Self::Percent;
    /// A record's JSON for binding.
    fn json(value: &RecordJson) -> Self::Json<'_>;
    /// Classifies one of the backend's database errors.
    fn classify(err: &dyn DatabaseError) -> DbErrorClass;
    /// How many rows a statement changed.
    fn rows_affected(done: &<Self::DB as Database>::QueryResult) -> u64;

    /// The connection pool.
    fn pool(&self) -> &Pool<Self::DB>;
    /// Closes the pool, waiting for connections in use to be returned.
    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// A [`Store`] on the database of dialect `D`.
#[derive(Debug)]
pub(crate) struct SqlStore<D> {
    db: D,
}

impl<D> SqlStore<D> {
    /// A store over the (opened and migrated) pools of `db`.
    pub(crate) fn new(db: D) -> Self {
        SqlStore { db }
    }
}

/// Statements keyed by one text parameter, `$1`.
impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut <D::DB as Database>::Connection: Executor<'c, Database = D::DB>,
    for<'q> <D::DB as Database>::Arguments<'q>: IntoArguments<'q, D::DB>,
    for<'q> &'q str: Encode<'q, D::DB> + Type<D::DB>,
{
    /// Runs `statement` with `key` bound to `$1` on the reader and decodes
    /// the row it returns, if any.
    async fn fetch_optional<T>(
        &self,
        op: &'static str,
        statement: &'static str,
        key: &str,
        decode: impl Fn(&<D::DB as Database>::Row) -> Result<T> + Send,
    ) -> Result<Option<T>> {
        sqlx::query(statement)
            .bind(key)
            .fetch_optional(self.db.pool())
            .await
            .or_store(op, D::classify)?
            .map(|row| decode(&row))
            .transpose()
    }

    /// Runs `statement` with `key` bound to `$1` on the reader and decodes
    /// every row it returns.
    async fn fetch_all<T>(
        &self,
        op: &'static str,
        statement: &'static str,
        key: &str,
        decode: impl Fn(&<D::DB as Database>::Row) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        sqlx::query(statement)
            .bind(key)
            .fetch_all(self.db.pool())
            .await
            .or_store(op, D::classify)?
            .iter()
            .map(decode)
            .collect()
    }

    /// Runs `statement` (no parameters) on the reader and decodes every
    /// row it returns.
    async fn fetch_every<T>(
        &self,
        op: &'static str,
        statement: &'static str,
        decode: impl Fn(&<D::DB as Database>::Row) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        sqlx::query(statement)
            .fetch_all(self.db.pool())
            .await
            .or_store(op, D::classify)?
            .iter()
            .map(decode)
            .collect()
    }

    /// The rows `statement` returns for `keys` bound to `$1` as one array,
    /// matched back to the keys by `key_of`: one per key, in order (`None`
    /// where there is none), in one round trip.
    async fn fetch_by_keys<T: Clone>(
        &self,
        op: &'static str,
        statement: &'static str,
        keys: Vec<String>,
        decode: impl Fn(&<D::DB as Database>::Row) -> Result<T> + Send,
        key_of: impl Fn(&T) -> &str,
    ) -> Result<Vec<Option<T>>>
    where
        for<'q> Vec<String>: Encode<'q, D::DB> + Type<D::DB>,
    {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(statement)
            .bind(keys.clone())
            .fetch_all(self.db.pool())
            .await
            .or_store(op, D::classify)?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in &rows {
            let value = decode(row)?;
            found.insert(key_of(&value).to_owned(), value);
        }
        Ok(keys.iter().map(|key| found.get(key).cloned()).collect())
    }

    /// One keyset page ordered by URI: `statements[0]` (`$1` limit) for the
    /// first page, `statements[1]` (`$1` exclusive lower bound, `$2` limit)
    /// for the next ones.
    async fn list_page<T>(
        &self,
        op: &'static str,
        statements: [&'static str; 2],
        after: Option<&AtUri>,
        limit: u32,
        decode: impl Fn(&<D::DB as Database>::Row) -> Result<T> + Send,
    ) -> Result<Vec<T>>
    where
        for<'q> i64: Encode<'q, D::DB> + Type<D::DB>,
    {
        let query = match after {
            None => sqlx::query(statements[0]),
            Some(after) => sqlx::query(statements[1]).bind(after.as_str()),
        };
        query
            .bind(i64::from(limit))
            .fetch_all(self.db.pool())
            .await
            .or_store(op, D::classify)?
            .iter()
            .map(decode)
            .collect()
    }

    /// Runs `statement` with `key` bound to `$1` on the writer; `true` if
    /// it changed a row.
    async fn delete(&self, op: &'static str, statement: &'static str, key: &str) -> Result<bool> {
        let done = sqlx::query(statement)
            .bind(key)
            .execute(self.db.pool())
            .await
            .or_store(op, D::classify)?;
        Ok(D::rows_affected(&done) > 0)
    }
}

pub(crate) fn entity_not_found(did: &Did) -> StoreError {
    StoreError::NotFound {
        what: "entity",
        key: did.to_string(),
    }
}

#[async_trait::async_trait]
impl<D: Dialect> Store for SqlStore<D>
where
    for<'c> &'c mut <D::DB as Database>::Connection: Executor<'c, Database = D::DB>,
    for<'q> <D::DB as Database>::Arguments<'q>: IntoArguments<'q, D::DB>,
    for<'q> &'q str: Encode<'q, D::DB> + Type<D::DB>,
    for<'q> Option<&'q str>: Encode<'q, D::DB>,
    for<'q> String: Encode<'q, D::DB> + Type<D::DB>,
    for<'q> Option<String>: Encode<'q, D::DB>,
    for<'q> Option<D::Percent>: Encode<'q, D::DB>,
    for<'q> i64: Encode<'q, D::DB> + Type<D::DB>,
    for<'q> bool: Encode<'q, D::DB> + Type<D::DB>,
    for<'q> Vec<String>: Encode<'q, D::DB> + Type<D::DB>,
{
    fn backend(&self) -> Backend {
        D::BACKEND
    }

    async fn get_entities(&self, dids: &[Did]) -> Result<Vec<Option<Entity>>> {
        let keys = dids.iter().map(ToString::to_string).collect();
        self.fetch_by_keys(
            "get_entities",
            sql::GET_ENTITIES_ANY,
            keys,
            rows::entity,
            |entity| entity.did.as_str(),
        )
        .await
    }

    async fn relationship_heads(&self, uris: &[AtUri]) -> Result<Vec<Option<RelationshipHead>>> {
        let keys = uris.iter().map(ToString::to_string).collect();
        self.fetch_by_keys(
            "relationship_heads",
            sql::GET_RELATIONSHIP_HEADS_ANY,
            keys,
            rows::relationship_head,
            |head| head.uri.as_str(),
        )
        .await
    }

    async fn attestation_heads(&self, uris: &[AtUri]) -> Result<Vec<Option<AttestationHead>>> {
        let keys = uris.iter().map(ToString::to_string).collect();
        self.fetch_by_keys(
            "attestation_heads",
            sql::GET_ATTESTATION_HEADS_ANY,
            keys,
            rows::attestation_head,
            |head| head.uri.as_str(),
        )
        .await
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
            .bind(D::timestamp(new.created_at))
            .fetch_one(self.db.pool())
            .await
            .or_store("create_entity", D::classify);
        match created {
            Ok(row) => rows::entity(&row),
            Err(err) => Err(crate::model::explain_create_conflict(self, new, err).await),
        }
    }

    async fn get_entity(&self, did: &Did) -> Result<Option<Entity>> {
        self.fetch_optional("get_entity", sql::GET_ENTITY, did.as_str(), rows::entity)
            .await
    }

    async fn get_entity_by_handle(&self, handle: &Handle) -> Result<Option<Entity>> {
        let key = handle_key(handle);
        self.fetch_optional(
            "get_entity_by_handle",
            sql::GET_ENTITY_BY_HANDLE,
            &key,
            rows::entity,
        )
        .await
    }

    async fn update_entity(
        &self,
        did: &Did,
        patch: &EntityPatch,
        now: DateTime<Utc>,
    ) -> Result<Entity> {
        const OP: &str = "update_entity";
        let mut tx = self.db.pool().begin().await.or_store(OP, D::classify)?;
        let current = sqlx::query(sql::GET_ENTITY_FOR_UPDATE)
            .bind(did.as_str())
            .fetch_optional(&mut *tx)
            .await
            .or_store(OP, D::classify)?;
        let Some(current) = current else {
            return Err(entity_not_found(did));
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
            .bind(D::timestamp(now))
            .bind(&entity.entity_type)
            .fetch_one(&mut *tx)
            .await
            .or_store(OP, D::classify)
            .map_err(|err| {
                err.with_conflict_value(|_| {
                    entity.handle.as_ref().map(handle_key).unwrap_or_default()
                })
            })?;
        let updated = rows::entity(&row)?;
        tx.commit().await.or_store(OP, D::classify)?;
        Ok(updated)
    }

    async fn delete_entity(&self, did: &Did) -> Result<()> {
        if self
            .delete("delete_entity", sql::DELETE_ENTITY, did.as_str())
            .await?
        {
            Ok(())
        } else {
            Err(entity_not_found(did))
        }
    }

    async fn write_batch(&self, writes: &[StoreWrite<'_>]) -> Result<Vec<bool>> {
        let mut tx = self
            .db
            .pool()
            .begin()
            .await
            .or_store("write_batch", D::classify)?;
        let mut changed = Vec::with_capacity(writes.len());
        for write in writes {
            let op = write.operation();
            changed.push(match write {
                StoreWrite::UpsertRelationship(rel) => {
                    sqlx::query(sql::UPSERT_RELATIONSHIP)
                        .bind(rel.uri.as_str())
                        .bind(rel.cid.as_str())
                        .bind(rel.author.as_str())
                        .bind(&rel.rel_type)
                        .bind(D::percent(rel.strength))
                        .bind(&rel.context)
                        .bind(&rel.visibility)
                        .bind(rel.allow_discovery)
                        .bind(rel.allow_attestation)
                        .bind(D::timestamp(rel.started_at))
                        .bind(D::timestamp(rel.last_interaction_at))
                        .bind(D::timestamp(rel.created_at))
                        .bind(D::timestamp(rel.indexed_at))
                        .bind(D::json(&rel.record))
                        .bind(rel.signed[0])
                        .bind(rel.signed[1])
                        .bind(D::percent(rel.strength_deviation))
                        .bind(rel.participants[0].as_str())
                        .bind(rel.participants[1].as_str())
                        .execute(&mut *tx)
                        .await
                        .or_store(op, D::classify)?;
                    true
                }
                StoreWrite::DeleteRelationship(uri) => {
                    let done = sqlx::query(sql::DELETE_RELATIONSHIP)
                        .bind(uri.as_str())
                        .execute(&mut *tx)
                        .await
                        .or_store(op, D::classify)?;
                    D::rows_affected(&done) > 0
                }
                StoreWrite::UpsertAttestation(att) => {
                    sqlx::query(sql::UPSERT_ATTESTATION)
                        .bind(att.uri.as_str())
                        .bind(att.cid.as_str())
                        .bind(att.attester.as_str())
                        .bind(att.target.as_str())
                        .bind(&att.attestation_type)
                        .bind(D::percent(att.confidence))
                        .bind(&att.evidence)
                        .bind(att.suggested_strength.map(D::percent))
                        .bind(D::timestamp(att.created_at))
                        .bind(D::timestamp(att.indexed_at))
                        .bind(D::json(&att.record))
                        .execute(&mut *tx)
                        .await
                        .or_store(op, D::classify)?;
                    true
                }
                StoreWrite::DeleteAttestation(uri) => {
                    let done = sqlx::query(sql::DELETE_ATTESTATION)
                        .bind(uri.as_str())
                        .execute(&mut *tx)
                        .await
                        .or_store(op, D::classify)?;
                    D::rows_affected(&done) > 0
                }
            });
        }
        tx.commit().await.or_store("write_batch", D::classify)?;
        Ok(changed)
    }

    async fn get_relationship(&self, uri: &AtUri) -> Result<Option<StoredRelationship>> {
        self.fetch_optional(
            "get_relationship",
            sql::GET_RELATIONSHIP,
            uri.as_str(),
            rows::relationship,
        )
        .await
    }

    async fn list_relationships(
        &self,
        after: Option<&AtUri>,
        limit: u32,
    ) -> Result<Vec<StoredRelationship>> {
        self.list_page(
            "list_relationships",
            [sql::LIST_RELATIONSHIPS_FIRST, sql::LIST_RELATIONSHIPS_AFTER],
            after,
            limit,
            rows::relationship,
        )
        .await
    }

    async fn relationship_edges(&self) -> Result<Vec<RelationshipEdge>> {
        self.fetch_every(
            "relationship_edges",
            sql::RELATIONSHIP_EDGES,
            rows::relationship_edge,
        )
        .await
    }

    async fn attestation_edges(&self) -> Result<Vec<AttestationEdge>> {
        self.fetch_every(
            "attestation_edges",
            sql::ATTESTATION_EDGES,
            rows::attestation_edge,
        )
        .await
    }

    async fn entity_census(&self) -> Result<EntityCensus> {
        let rows = self
            .fetch_every("entity_census", sql::ENTITY_CENSUS, rows::census_row)
            .await?;
        Ok(rows::entity_census(rows))
    }

    async fn get_attestation(&self, uri: &AtUri) -> Result<Option<StoredAttestation>> {
        self.fetch_optional(
            "get_attestation",
            sql::GET_ATTESTATION,
            uri.as_str(),
            rows::attestation,
        )
        .await
    }

    async fn attestations_for(&self, target: &AtUri) -> Result<Vec<StoredAttestation>> {
        self.fetch_all(
            "attestations_for",
            sql::ATTESTATIONS_FOR,
            target.as_str(),
            rows::attestation,
        )
        .await
    }

    async fn put_trust_snapshot(&self, snap: &TrustSnapshot) -> Result<()> {
        sqlx::query(sql::PUT_TRUST_SNAPSHOT)
            .bind(snap.did.as_str())
            .bind(D::percent(snap.trust_score))
            .bind(D::percent(snap.reputation))
            .bind(D::percent(snap.reciprocity))
            .bind(D::percent(snap.consistency))
            .bind(i64::from(snap.relationship_count))
            .bind(i64::from(snap.verified_relationship_count))
            .bind(D::timestamp(snap.calculated_at))
            .execute(self.db.pool())
            .await
            .or_store("put_trust_snapshot", D::classify)?;
        Ok(())
    }

    async fn latest_trust_snapshot(&self, did: &Did) -> Result<Option<TrustSnapshot>> {
        self.fetch_optional(
            "latest_trust_snapshot",
            sql::LATEST_TRUST_SNAPSHOT,
            did.as_str(),
            rows::trust_snapshot,
        )
        .await
    }

    async fn get_state(&self, key: &str) -> Result<Option<String>> {
        self.fetch_optional("get_state", sql::GET_STATE, key, |row| row.text("value"))
            .await
    }

    async fn put_state(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(sql::PUT_STATE)
            .bind(key)
            .bind(value)
            .execute(self.db.pool())
            .await
            .or_store("put_state", D::classify)?;
        Ok(())
    }

    async fn ping(&self) -> Result<Duration> {
        let started = Instant::now();
        sqlx::query(sql::PING)
            .execute(self.db.pool())
            .await
            .or_store("ping", D::classify)?;
        Ok(started.elapsed())
    }

    async fn close(&self) {
        self.db.close().await;
    }
}
