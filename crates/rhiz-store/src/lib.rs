//! Persistence for rhiz behind one [`Store`] trait, with two backends that
//! behave identically: SQLite (embedded, the default) and PostgreSQL.
//!
//! [`open`] picks the backend from the URL, creates what is missing (the
//! SQLite file and its directories), applies the embedded migrations and
//! hands back a shared `dyn Store`. Everything above the store speaks in
//! domain types ([`Entity`], [`StoredRelationship`], [`StoredAttestation`],
//! [`TrustSnapshot`]) and portable errors ([`StoreError`]); nobody needs to
//! know which database answers.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use rhiz_store::{EntityPatch, NewEntity};
//!
//! let dir = tempfile::tempdir()?;
//! let store = rhiz_store::open(&rhiz_store::sqlite_url_for_data_dir(dir.path())).await?;
//!
//! let now = chrono::Utc::now();
//! store
//!     .create_entity(&NewEntity {
//!         did: "did:plc:alice".parse()?,
//!         handle: Some("Alice.Example.com".parse()?),
//!         name: "Alice".into(),
//!         entity_type: "person".into(),
//!         bio: None,
//!         avatar_url: None,
//!         profile_uri: None,
//!         profile_cid: None,
//!         created_at: now,
//!     })
//!     .await?;
//!
//! // Handles match case-insensitively.
//! let alice = store.get_entity_by_handle(&"alice.example.COM".parse()?).await?.unwrap();
//! assert_eq!(alice.name, "Alice");
//!
//! let patch = EntityPatch { bio: Some(Some("Gardener".into())), ..EntityPatch::default() };
//! let alice = store.update_entity(&alice.did, &patch, chrono::Utc::now()).await?;
//! assert_eq!(alice.bio.as_deref(), Some("Gardener"));
//! store.close().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour both backends share
//!
//! - Timestamps are truncated to microseconds on write, so what is read back
//!   equals what was written, and ordering is by instant on both backends.
//! - Identifiers are stored as text and parsed again on read; a stored value
//!   that does not parse is [`StoreError::Corrupt`], naming the column.
//! - Handles are stored lowercased and are unique; lookups by handle ignore
//!   case.
//! - Unique violations are [`StoreError::Conflict`] naming the field;
//!   connection, pool and I/O failures are [`StoreError::Unavailable`].

mod error;
mod model;
mod postgres;
mod record_json;
mod rows;
mod sql;
mod sqlite;
mod store;
mod timestamp;
mod url;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rhiz_protocol::{AtUri, Did, Handle};

pub use error::{Result, SourceError, StoreError};
pub use model::{
    AttestationEdge, AttestationHead, Entity, EntityCensus, EntityPatch, NewEntity,
    RelationshipEdge, RelationshipHead, StoreWrite, StoredAttestation, StoredRelationship,
    TrustSnapshot,
};
pub use record_json::RecordJson;
pub use url::mask_password;

/// Which database a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// Everything rhiz persists. Both backends implement it with the same
/// behaviour; the conformance suite in `tests/contract` checks that.
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Which database this store runs on.
    fn backend(&self) -> Backend;

    /// Creates an entity: unverified, `updated_at = created_at`, handle
    /// lowercased. [`StoreError::Conflict`] with field `"did"` if the DID
    /// exists, `"handle"` if another entity holds the handle.
    async fn create_entity(&self, new: &NewEntity) -> Result<Entity>;

    /// The entity with this DID, if any.
    async fn get_entity(&self, did: &Did) -> Result<Option<Entity>>;

    /// The entities with these DIDs, in the same order (`None` where there
    /// is none), in one round trip.
    async fn get_entities(&self, dids: &[Did]) -> Result<Vec<Option<Entity>>>;

    /// The entity holding this handle, compared case-insensitively.
    async fn get_entity_by_handle(&self, handle: &Handle) -> Result<Option<Entity>>;

    /// Applies `patch` and sets `updated_at = now` (even for an empty
    /// patch). [`StoreError::NotFound`] if there is no such entity,
    /// [`StoreError::Conflict`] (`"handle"`) if the new handle is taken.
    async fn update_entity(
        &self,
        did: &Did,
        patch: &EntityPatch,
        now: DateTime<Utc>,
    ) -> Result<Entity>;

    /// Deletes the entity. [`StoreError::NotFound`] if there is none.
    /// Relationships naming it stay: they live in AT Protocol repos.
    async fn delete_entity(&self, did: &Did) -> Result<()>;

    /// Inserts the relationship, or replaces every field of the one with the
    /// same URI (so the latest CID wins).
    async fn upsert_relationship(&self, rel: &StoredRelationship) -> Result<()> {
        write_one(self, StoreWrite::UpsertRelationship(rel))
            .await
            .map(|_| ())
    }

    /// The relationship with this URI, if any.
    async fn get_relationship(&self, uri: &AtUri) -> Result<Option<StoredRelationship>>;

    /// The heads of the relationships with these URIs, in the same order
    /// (`None` where there is none), in one round trip: what the apply step
    /// reads before a batch of writes.
    async fn relationship_heads(&self, uris: &[AtUri]) -> Result<Vec<Option<RelationshipHead>>>;

    /// Applies `writes` in order in one transaction: all of them or, on
    /// error, none. Returns, per write, whether it changed a row (upserts
    /// always do; a delete of an unknown URI does not). This is how the
    /// apply step writes many events for the price of one commit.
    async fn write_batch(&self, writes: &[StoreWrite<'_>]) -> Result<Vec<bool>>;

    /// Deletes the relationship; `false` if the URI was unknown.
    /// Attestations of it stay stored.
    async fn delete_relationship(&self, uri: &AtUri) -> Result<bool> {
        write_one(self, StoreWrite::DeleteRelationship(uri)).await
    }

    /// Up to `limit` relationships with URI greater than `after`, ordered by
    /// URI: keyset paging over the whole table, full rows.
    async fn list_relationships(
        &self,
        after: Option<&AtUri>,
        limit: u32,
    ) -> Result<Vec<StoredRelationship>>;

    /// Every relationship as the in-memory graph keeps it, in no
    /// particular order: columns only, read in one pass, so the start-up
    /// load parses no record (except those of rows stored before the
    /// columns existed).
    async fn relationship_edges(&self) -> Result<Vec<RelationshipEdge>>;

    /// Every attestation as the in-memory graph keeps it, in no particular
    /// order: columns only.
    async fn attestation_edges(&self) -> Result<Vec<AttestationEdge>>;

    /// Every stored entity's DID, and how many are verified: one pass over
    /// the entities. (Which of them take part in relationships is the
    /// in-memory graph's to say: the store keeps no index by participant.)
    async fn entity_census(&self) -> Result<EntityCensus>;

    /// Inserts the attestation, or replaces every field of the one with the
    /// same URI.
    async fn upsert_attestation(&self, att: &StoredAttestation) -> Result<()> {
        write_one(self, StoreWrite::UpsertAttestation(att))
            .await
            .map(|_| ())
    }

    /// The attestation with this URI, if any.
    async fn get_attestation(&self, uri: &AtUri) -> Result<Option<StoredAttestation>>;

    /// The heads of the attestations with these URIs, in the same order
    /// (`None` where there is none), in one round trip.
    async fn attestation_heads(&self, uris: &[AtUri]) -> Result<Vec<Option<AttestationHead>>>;

    /// Deletes the attestation; `false` if the URI was unknown.
    async fn delete_attestation(&self, uri: &AtUri) -> Result<bool> {
        write_one(self, StoreWrite::DeleteAttestation(uri)).await
    }

    /// Attestations of the relationship `target`, newest first
    /// (`created_at` descending, then URI descending).
    async fn attestations_for(&self, target: &AtUri) -> Result<Vec<StoredAttestation>>;

    /// Stores a trust snapshot; one with the same DID and `calculated_at` is
    /// replaced.
    async fn put_trust_snapshot(&self, snap: &TrustSnapshot) -> Result<()>;

    /// The snapshot of `did` with the latest `calculated_at`, if any.
    async fn latest_trust_snapshot(&self, did: &Did) -> Result<Option<TrustSnapshot>>;

    /// A value of the key/value state table (cursors and the like).
    async fn get_state(&self, key: &str) -> Result<Option<String>>;

    /// Sets a state value, replacing any previous one.
    async fn put_state(&self, key: &str, value: &str) -> Result<()>;

    /// Runs a trivial query and returns its round-trip time, for health
    /// checks. Fails with [`StoreError::Unavailable`] when the database is
    /// unreachable.
    async fn ping(&self) -> Result<Duration>;

    /// Closes the pools cleanly, waiting for connections in use to be
    /// returned (SQLite also checkpoints its write-ahead log). Later calls
    /// fail with [`StoreError::Unavailable`].
    async fn close(&self);
}

/// One write as a batch of one; whether it changed a row.
async fn write_one<S: Store + ?Sized>(store: &S, write: StoreWrite<'_>) -> Result<bool> {
    let changed = store.write_batch(&[write]).await?;
    Ok(changed.first().copied().unwrap_or(false))
}

/// Opens the store at `url` and applies pending migrations.
///
/// - `sqlite://PATH` opens (or creates, with its parent directories) the
///   SQLite file at `PATH`; `sqlite:///abs/path` is absolute,
///   `sqlite://rel/path` relative to the working directory.
/// - `postgres://…` or `postgresql://…` connects a pool to PostgreSQL.
///
/// Anything else is [`StoreError::InvalidUrl`] (with passwords masked). A
/// database that cannot be reached is [`StoreError::Unavailable`]; a
/// migration that fails is [`StoreError::Migration`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), rhiz_store::StoreError> {
/// use rhiz_store::{Backend, StoreError};
///
/// let dir = tempfile::tempdir().unwrap();
/// let url = rhiz_store::sqlite_url_for_data_dir(&dir.path().join("nested"));
/// let store = rhiz_store::open(&url).await?;
/// assert_eq!(store.backend(), Backend::Sqlite);
/// store.put_state("jetstream.cursor", "1725911162329308").await?;
/// store.close().await;
///
/// let err = rhiz_store::open("mysql://root:hunter2@db/rhiz").await.unwrap_err();
/// assert!(matches!(err, StoreError::InvalidUrl { .. }));
/// assert!(!err.to_string().contains("hunter2"));
/// # Ok(())
/// # }
/// ```
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    match url::DatabaseUrl::parse(url)? {
        url::DatabaseUrl::Sqlite(path) => Ok(Arc::new(sqlite::SqliteStore::open(&path).await?)),
        url::DatabaseUrl::Postgres => Ok(Arc::new(postgres::PgStore::connect(url).await?)),
    }
}

/// The URL of the default SQLite database in data directory `dir`:
/// `sqlite://<dir>/rhiz.db`.
///
/// ```
/// use std::path::Path;
///
/// assert_eq!(rhiz_store::sqlite_url_for_data_dir(Path::new("/var/lib/rhiz")), "sqlite:///var/lib/rhiz/rhiz.db");
/// ```
pub fn sqlite_url_for_data_dir(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("rhiz.db").display())
}
