//! The SQLite backend: one embedded database file in WAL mode, on rusqlite.
//!
//! Writes go to one thread that owns the only read-write connection
//! ([`writer`]): SQLite serializes writers anyway, and a batch of
//! statements then costs one hand-off between threads instead of one per
//! statement. Reads run on read-only connections on tokio's blocking threads
//! ([`readers`]), concurrently with the writer. The statements are the ones
//! PostgreSQL runs ([`crate::sql`]) and rows decode through the same
//! [`crate::rows`], so the two backends keep the same behaviour.

mod connection;
mod migrate;
mod params;
mod readers;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rhiz_protocol::{AtUri, Did, Handle};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, ToSql};

use self::connection::{execute, query, query_each, query_optional, store_error, NamedRow};
use self::params::Params;
use self::readers::Readers;
use self::writer::Writer;
use crate::error::{Result, StoreError};
use crate::model::{
    explain_create_conflict, handle_key, AttestationEdge, AttestationHead, Entity, EntityCensus,
    EntityPatch, NewEntity, RelationshipEdge, RelationshipHead, StoreWrite, StoredAttestation,
    StoredRelationship, TrustSnapshot,
};
use crate::rows::Columns;
use crate::store::entity_not_found;
use crate::{rows, sql, timestamp, Backend, Store};

/// A [`Store`] on an SQLite file.
#[derive(Debug)]
pub(crate) struct SqliteStore {
    writer: Writer,
    readers: Arc<Readers>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub(crate) async fn open(path: &Path) -> Result<Self> {
        let path = path.to_owned();
        let opened = tokio::task::spawn_blocking(move || {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(unavailable)?;
            }
            let mut conn = connection::open_writer(&path).map_err(store_error("open"))?;
            migrate::run(&mut conn)?;
            Ok::<_, StoreError>((conn, path))
        })
        .await
        .map_err(unavailable)??;
        let (conn, path) = opened;
        // Reads are short and many wait on I/O: twice the cores, at least 4.
        let readers =
            std::thread::available_parallelism().map_or(4, |n| (2 * n.get()).clamp(4, 16));
        tracing::info!(path = %path.display(), readers, "opened sqlite store");
        Ok(Self {
            writer: Writer::start(conn, path.clone()).map_err(unavailable)?,
            readers: Readers::new(path, readers),
        })
    }

    /// Reads the row `sql` returns for `key` (bound to `$1`), if any.
    async fn read_optional<T: Send + 'static>(
        &self,
        op: &'static str,
        sql: &'static str,
        key: String,
        decode: impl FnOnce(&NamedRow<'_>) -> Result<T> + Send + 'static,
    ) -> Result<Option<T>> {
        self.readers
            .run(op, move |conn| {
                query_optional(conn, op, sql, &[key], decode)
            })
            .await
    }

    /// Reads every row `sql` returns for `values`.
    async fn read_all<T: Send + 'static>(
        &self,
        op: &'static str,
        sql: &'static str,
        values: Vec<SqlValue>,
        decode: impl FnMut(&NamedRow<'_>) -> Result<T> + Send + 'static,
    ) -> Result<Vec<T>> {
        self.readers
            .run(op, move |conn| query(conn, op, sql, &values, decode))
            .await
    }

    /// One keyset page ordered by URI: `statements[0]` (`$1` limit) for the
    /// first page, `statements[1]` (`$1` exclusive lower bound, `$2` limit)
    /// for the next ones.
    async fn list_page<T: Send + 'static>(
        &self,
        op: &'static str,
        statements: [&'static str; 2],
        after: Option<&AtUri>,
        limit: u32,
        decode: impl FnMut(&NamedRow<'_>) -> Result<T> + Send + 'static,
    ) -> Result<Vec<T>> {
        let limit = SqlValue::Integer(i64::from(limit));
        let (statement, values) = match after {
            None => (statements[0], vec![limit]),
            Some(after) => (statements[1], vec![text(after.as_str()), limit]),
        };
        self.read_all(op, statement, values, decode).await
    }

    /// Reads the row `sql` returns for each of `keys` (bound to `$1`), in
    /// one job on one connection.
    async fn read_each<T: Send + 'static>(
        &self,
        op: &'static str,
        sql: &'static str,
        keys: Vec<String>,
        decode: impl Fn(&NamedRow<'_>) -> Result<T> + Send + 'static,
    ) -> Result<Vec<Option<T>>> {
        self.readers
            .run(op, move |conn| query_each(conn, op, sql, &keys, decode))
            .await
    }

    /// Runs one statement on the writer; how many rows it changed.
    async fn write(
        &self,
        op: &'static str,
        sql: &'static str,
        values: Vec<SqlValue>,
    ) -> Result<usize> {
        self.writer
            .run(move |conn| execute(conn, op, sql, &values))
            .await
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn create_entity(&self, new: &NewEntity) -> Result<Entity> {
        let values = vec![
            text(new.did.as_str()),
            opt_text(new.handle.as_ref().map(handle_key).as_deref()),
            text(&new.name),
            text(&new.entity_type),
            opt_text(new.bio.as_deref()),
            opt_text(new.avatar_url.as_deref()),
            opt_text(new.profile_uri.as_ref().map(AtUri::as_str)),
            opt_text(new.profile_cid.as_ref().map(|cid| cid.as_str())),
            time(new.created_at),
        ];
        let created = self
            .writer
            .run(move |conn| {
                query_optional(conn, "create_entity", sql::CREATE_ENTITY, &values, |row| {
                    rows::entity(row)
                })
            })
            .await;
        match created {
            Ok(Some(entity)) => Ok(entity),
            Ok(None) => Err(entity_not_found(&new.did)),
            Err(err) => Err(explain_create_conflict(self, new, err).await),
        }
    }

    async fn get_entity(&self, did: &Did) -> Result<Option<Entity>> {
        self.read_optional("get_entity", sql::GET_ENTITY, did.to_string(), |row| {
            rows::entity(row)
        })
        .await
    }

    async fn get_entity_by_handle(&self, handle: &Handle) -> Result<Option<Entity>> {
        self.read_optional(
            "get_entity_by_handle",
            sql::GET_ENTITY_BY_HANDLE,
            handle_key(handle),
            |row| rows::entity(row),
        )
        .await
    }

    async fn update_entity(
        &self,
        did: &Did,
        patch: &EntityPatch,
        now: DateTime<Utc>,
    ) -> Result<Entity> {
        let (did, patch) = (did.clone(), patch.clone());
        self.writer
            .run(move |conn| update_entity(conn, &did, &patch, now))
            .await
    }

    async fn delete_entity(&self, did: &Did) -> Result<()> {
        let deleted = self
            .write(
                "delete_entity",
                sql::DELETE_ENTITY,
                vec![text(did.as_str())],
            )
            .await?;
        if deleted > 0 {
            Ok(())
        } else {
            Err(entity_not_found(did))
        }
    }

    async fn get_entities(&self, dids: &[Did]) -> Result<Vec<Option<Entity>>> {
        let keys = dids.iter().map(ToString::to_string).collect();
        self.read_each("get_entities", sql::GET_ENTITY, keys, |row| {
            rows::entity(row)
        })
        .await
    }

    async fn get_relationship(&self, uri: &AtUri) -> Result<Option<StoredRelationship>> {
        self.read_optional(
            "get_relationship",
            sql::GET_RELATIONSHIP,
            uri.to_string(),
            |row| rows::relationship(row),
        )
        .await
    }

    async fn relationship_heads(&self, uris: &[AtUri]) -> Result<Vec<Option<RelationshipHead>>> {
        let keys = uris.iter().map(ToString::to_string).collect();
        self.read_each(
            "relationship_heads",
            sql::GET_RELATIONSHIP_HEAD,
            keys,
            |row| rows::relationship_head(row),
        )
        .await
    }

    async fn write_batch(&self, writes: &[StoreWrite<'_>]) -> Result<Vec<bool>> {
        let writes: Vec<OwnedWrite> = writes.iter().map(OwnedWrite::from).collect();
        self.writer
            .run(move |conn| {
                let tx = conn.transaction().map_err(store_error("write_batch"))?;
                let changed = writes
                    .iter()
                    .map(|write| write.run(&tx))
                    .collect::<Result<Vec<bool>>>()?;
                tx.commit().map_err(store_error("write_batch"))?;
                Ok(changed)
            })
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
            |row| rows::relationship(row),
        )
        .await
    }

    /// Read in as many rowid ranges as there are reader connections, in
    /// parallel: the load is mostly reading pages.
    async fn relationship_edges(&self) -> Result<Vec<RelationshipEdge>> {
        const OP: &str = "relationship_edges";
        let max_rowid = self
            .read_all(OP, sql::MAX_RELATIONSHIP_ROWID, Vec::new(), |row| {
                row.opt_int("max_rowid")
            })
            .await?
            .into_iter()
            .flatten()
            .next()
            .unwrap_or(0);
        let parts = i64::try_from(self.readers.size()).unwrap_or(1).max(1);
        let step = max_rowid / parts + 1;
        let reads = (0..parts).map(|part| {
            let range = vec![
                SqlValue::Integer(part * step),
                SqlValue::Integer((part + 1) * step - 1),
            ];
            self.read_all(OP, sql::RELATIONSHIP_EDGES_IN_ROWIDS, range, |row| {
                rows::relationship_edge(row)
            })
        });
        let mut edges = Vec::new();
        for part in futures_util::future::try_join_all(reads).await? {
            edges.extend(part);
        }
        Ok(edges)
    }

    async fn attestation_edges(&self) -> Result<Vec<AttestationEdge>> {
        self.read_all(
            "attestation_edges",
            sql::ATTESTATION_EDGES,
            Vec::new(),
            |row| rows::attestation_edge(row),
        )
        .await
    }

    async fn entity_census(&self) -> Result<EntityCensus> {
        let rows = self
            .read_all("entity_census", sql::ENTITY_CENSUS, Vec::new(), |row| {
                rows::census_row(row)
            })
            .await?;
        Ok(rows::entity_census(rows))
    }

    async fn get_attestation(&self, uri: &AtUri) -> Result<Option<StoredAttestation>> {
        self.read_optional(
            "get_attestation",
            sql::GET_ATTESTATION,
            uri.to_string(),
            |row| rows::attestation(row),
        )
        .await
    }

    async fn attestation_heads(&self, uris: &[AtUri]) -> Result<Vec<Option<AttestationHead>>> {
        let keys = uris.iter().map(ToString::to_string).collect();
        self.read_each(
            "attestation_heads",
            sql::GET_ATTESTATION_HEAD,
            keys,
            |row| rows::attestation_head(row),
        )
        .await
    }

    async fn attestations_for(&self, target: &AtUri) -> Result<Vec<StoredAttestation>> {
        self.read_all(
            "attestations_for",
            sql::ATTESTATIONS_FOR,
            vec![text(target.as_str())],
            |row| rows::attestation(row),
        )
        .await
    }

    async fn put_trust_snapshot(&self, snap: &TrustSnapshot) -> Result<()> {
        let values = vec![
            text(snap.did.as_str()),
            percent(snap.trust_score),
            percent(snap.reputation),
            percent(snap.reciprocity),
            percent(snap.consistency),
            SqlValue::Integer(i64::from(snap.relationship_count)),
            SqlValue::Integer(i64::from(snap.verified_relationship_count)),
            time(snap.calculated_at),
        ];
        self.write("put_trust_snapshot", sql::PUT_TRUST_SNAPSHOT, values)
            .await
            .map(|_| ())
    }

    async fn latest_trust_snapshot(&self, did: &Did) -> Result<Option<TrustSnapshot>> {
        self.read_optional(
            "latest_trust_snapshot",
            sql::LATEST_TRUST_SNAPSHOT,
            did.to_string(),
            |row| rows::trust_snapshot(row),
        )
        .await
    }

    async fn get_state(&self, key: &str) -> Result<Option<String>> {
        self.read_optional("get_state", sql::GET_STATE, key.to_owned(), |row| {
            row.text("value")
        })
        .await
    }

    async fn put_state(&self, key: &str, value: &str) -> Result<()> {
        self.write("put_state", sql::PUT_STATE, vec![text(key), text(value)])
            .await
            .map(|_| ())
    }

    async fn ping(&self) -> Result<Duration> {
        let started = Instant::now();
        self.readers
            .run("ping", |conn| {
                query_optional::<SqlValue, ()>(conn, "ping", sql::PING, &[], |_| Ok(()))
            })
            .await?;
        Ok(started.elapsed())
    }

    async fn close(&self) {
        self.readers.close();
        self.writer.close().await;
        tracing::info!("closed sqlite store");
    }
}

/// `update_entity` on the writer: read, patch and write back in one
/// transaction (the single writer serializes it with every other write).
fn update_entity(
    conn: &mut Connection,
    did: &Did,
    patch: &EntityPatch,
    now: DateTime<Utc>,
) -> Result<Entity> {
    const OP: &str = "update_entity";
    let tx = conn.transaction().map_err(store_error(OP))?;
    let mut entity = query_optional(&tx, OP, sql::GET_ENTITY, &[did.as_str()], |row| {
        rows::entity(row)
    })?
    .ok_or_else(|| entity_not_found(did))?;
    patch.apply(&mut entity, now);
    let handle = entity.handle.as_ref().map(handle_key);
    let values: [&dyn ToSql; 9] = [
        &did.as_str(),
        &handle,
        &entity.name,
        &entity.bio,
        &entity.avatar_url,
        &entity.profile_uri.as_ref().map(AtUri::as_str),
        &entity.profile_cid.as_ref().map(|cid| cid.as_str()),
        &timestamp::to_text(now),
        &entity.entity_type,
    ];
    let updated = query_optional(&tx, OP, sql::UPDATE_ENTITY, &values, |row| {
        rows::entity(row)
    })
    .map_err(|err| err.with_conflict_value(|_| handle.clone().unwrap_or_default()))?
    .ok_or_else(|| entity_not_found(did))?;
    tx.commit().map_err(store_error(OP))?;
    Ok(updated)
}

/// One [`StoreWrite`] as an owned statement, to send to the writer thread.
struct OwnedWrite {
    op: &'static str,
    sql: &'static str,
    params: Params,
    /// Whether the rows the statement changes say if the write changed
    /// anything (deletes); otherwise it always does (upserts).
    counts_rows: bool,
}

impl OwnedWrite {
    /// Runs the statement; whether the write changed a row.
    fn run(&self, conn: &Connection) -> Result<bool> {
        let changed = execute(conn, self.op, self.sql, &self.params.bound())?;
        Ok(!self.counts_rows || changed > 0)
    }
}

impl From<&StoreWrite<'_>> for OwnedWrite {
    fn from(write: &StoreWrite<'_>) -> Self {
        let op = write.operation();
        let (sql, params, counts_rows) = match write {
            StoreWrite::UpsertRelationship(rel) => {
                let mut p = Params::with_capacity(19, rel.record.as_str().len() + 512);
                p.text(rel.uri.as_str());
                p.text(rel.cid.as_str());
                p.text(rel.author.as_str());
                p.text(&rel.rel_type);
                p.integer(rel.strength);
                p.text(&rel.context);
                p.text(&rel.visibility);
                p.integer(rel.allow_discovery);
                p.integer(rel.allow_attestation);
                p.time(rel.started_at);
                p.time(rel.last_interaction_at);
                p.time(rel.created_at);
                p.time(rel.indexed_at);
                p.text(rel.record.as_str());
                p.integer(rel.signed[0]);
                p.integer(rel.signed[1]);
                p.integer(rel.strength_deviation);
                p.text(rel.participants[0].as_str());
                p.text(rel.participants[1].as_str());
                (sql::UPSERT_RELATIONSHIP, p, false)
            }
            StoreWrite::DeleteRelationship(uri) => (sql::DELETE_RELATIONSHIP, uri_only(uri), true),
            StoreWrite::UpsertAttestation(att) => {
                let mut p = Params::with_capacity(11, att.record.as_str().len() + 384);
                p.text(att.uri.as_str());
                p.text(att.cid.as_str());
                p.text(att.attester.as_str());
                p.text(att.target.as_str());
                p.text(&att.attestation_type);
                p.integer(att.confidence);
                p.opt_text(att.evidence.as_deref());
                p.opt_integer(att.suggested_strength);
                p.time(att.created_at);
                p.time(att.indexed_at);
                p.text(att.record.as_str());
                (sql::UPSERT_ATTESTATION, p, false)
            }
            StoreWrite::DeleteAttestation(uri) => (sql::DELETE_ATTESTATION, uri_only(uri), true),
        };
        Self {
            op,
            sql,
            params,
            counts_rows,
        }
    }
}

/// The values of a statement whose one value is `uri`.
fn uri_only(uri: &AtUri) -> Params {
    let mut params = Params::with_capacity(1, uri.as_str().len());
    params.text(uri.as_str());
    params
}

fn text(value: &str) -> SqlValue {
    SqlValue::Text(value.to_owned())
}

fn opt_text(value: Option<&str>) -> SqlValue {
    value.map_or(SqlValue::Null, text)
}

fn percent(value: u8) -> SqlValue {
    SqlValue::Integer(i64::from(value))
}

fn time(at: DateTime<Utc>) -> SqlValue {
    SqlValue::Text(timestamp::to_text(at))
}

fn unavailable(err: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable {
        source: Box::new(err),
    }
}
