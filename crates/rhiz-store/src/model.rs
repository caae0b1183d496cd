//! The domain types the store reads and writes.

use crate::RecordJson;
use chrono::{DateTime, Utc};
use rhiz_protocol::{AtUri, Cid, Did, Handle};

use crate::error::StoreError;

/// A DID known to rhiz, with its profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// The entity's DID: its primary key.
    pub did: Did,
    /// Its handle, lowercased; unique across entities when present.
    pub handle: Option<Handle>,
    /// Display name.
    pub name: String,
    /// `person`, `organization` or `agent` (validated above the store).
    pub entity_type: String,
    /// Free-text biography.
    pub bio: Option<String>,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// AT-URI of the `net.rhiz.entity.profile` record it came from.
    pub profile_uri: Option<AtUri>,
    /// CID of that profile record.
    pub profile_cid: Option<Cid>,
    /// Set by the server only; `false` at creation.
    pub verified: bool,
    /// When the entity was created (microsecond precision).
    pub created_at: DateTime<Utc>,
    /// When the entity last changed (microsecond precision).
    pub updated_at: DateTime<Utc>,
}

/// What [`Store::create_entity`](crate::Store::create_entity) needs. The new
/// entity starts unverified, with `updated_at = created_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntity {
    /// The entity's DID.
    pub did: Did,
    /// Its handle, if any; stored lowercased.
    pub handle: Option<Handle>,
    /// Display name.
    pub name: String,
    /// `person`, `organization` or `agent`.
    pub entity_type: String,
    /// Free-text biography.
    pub bio: Option<String>,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// AT-URI of the profile record, if the entity came from one.
    pub profile_uri: Option<AtUri>,
    /// CID of that profile record.
    pub profile_cid: Option<Cid>,
    /// Creation time; truncated to microseconds when stored.
    pub created_at: DateTime<Utc>,
}

/// A partial update of an [`Entity`].
///
/// For every field, `None` leaves it as it is; for optional fields
/// `Some(None)` clears it.
///
/// ```
/// use rhiz_store::EntityPatch;
///
/// // Rename and clear the bio; everything else stays.
/// let patch = EntityPatch { name: Some("Alice".into()), bio: Some(None), ..EntityPatch::default() };
/// assert!(patch.avatar_url.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityPatch {
    /// New display name.
    pub name: Option<String>,
    /// New entity type (`person`, `organization` or `agent`).
    pub entity_type: Option<String>,
    /// New biography, or `Some(None)` to clear it.
    pub bio: Option<Option<String>>,
    /// New avatar URL, or `Some(None)` to clear it.
    pub avatar_url: Option<Option<String>>,
    /// New handle, or `Some(None)` to clear it. Taken handles are a conflict.
    pub handle: Option<Option<Handle>>,
    /// New profile record URI, or `Some(None)` to clear it.
    pub profile_uri: Option<Option<AtUri>>,
    /// New profile record CID, or `Some(None)` to clear it.
    pub profile_cid: Option<Option<Cid>>,
}

impl EntityPatch {
    /// Applies the patch to `entity` and stamps `updated_at = now`.
    pub(crate) fn apply(&self, entity: &mut Entity, now: DateTime<Utc>) {
        fn set<T: Clone>(target: &mut T, value: &Option<T>) {
            if let Some(value) = value {
                target.clone_from(value);
            }
        }
        set(&mut entity.name, &self.name);
        set(&mut entity.entity_type, &self.entity_type);
        set(&mut entity.bio, &self.bio);
        set(&mut entity.avatar_url, &self.avatar_url);
        set(&mut entity.handle, &self.handle);
        set(&mut entity.profile_uri, &self.profile_uri);
        set(&mut entity.profile_cid, &self.profile_cid);
        entity.updated_at = now;
    }
}

/// A `net.rhiz.relationship.record` as indexed.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRelationship {
    /// The record's AT-URI: the primary key.
    pub uri: AtUri,
    /// The CID of the latest version applied.
    pub cid: Cid,
    /// The repository owner who wrote it.
    pub author: Did,
    /// The two participants, in record order.
    pub participants: [Did; 2],
    /// The relationship type (an open set of strings).
    pub rel_type: String,
    /// Strength, 0–100.
    pub strength: u8,
    /// Free-text context.
    pub context: String,
    /// `public`, `network` or `private` (an open set).
    pub visibility: String,
    /// Whether other parties may discover it.
    pub allow_discovery: bool,
    /// Whether third parties may attest it.
    pub allow_attestation: bool,
    /// `temporal.start`.
    pub started_at: DateTime<Utc>,
    /// `temporal.lastInteraction`.
    pub last_interaction_at: DateTime<Utc>,
    /// The record's `createdAt`.
    pub created_at: DateTime<Utc>,
    /// When rhiz indexed this version.
    pub indexed_at: DateTime<Utc>,
    /// The full record, as JSON text.
    pub record: RecordJson,
    /// Whether `participants[i]` signed the record
    /// ([`RelationshipRecord::signed`](rhiz_protocol::RelationshipRecord::signed)).
    pub signed: [bool; 2],
    /// How much the strength moved over time
    /// ([`RelationshipRecord::strength_deviation`](rhiz_protocol::RelationshipRecord::strength_deviation)).
    pub strength_deviation: u8,
}

/// What the in-memory graph keeps of a stored relationship: its columns,
/// without the record (see [`Store::relationship_edges`](crate::Store::relationship_edges)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationshipEdge {
    /// Its URI.
    pub uri: AtUri,
    /// The CID of the stored version.
    pub cid: Cid,
    /// Its two participants.
    pub participants: [Did; 2],
    /// Its type.
    pub rel_type: String,
    /// Strength, 0–100.
    pub strength: u8,
    /// Visibility `public` and discovery allowed.
    pub discoverable: bool,
    /// `temporal.lastInteraction`.
    pub last_interaction_at: DateTime<Utc>,
    /// Whether `participants[i]` signed the record.
    pub signed: [bool; 2],
    /// How much the strength moved over time (0–50).
    pub strength_deviation: u8,
}

/// Who the stored entities are and how many are verified, for the network
/// statistics (see [`Store::entity_census`](crate::Store::entity_census)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityCensus {
    /// The DID of every stored entity, in no particular order.
    pub dids: Vec<Did>,
    /// Entities with `verified = true`.
    pub verified: u64,
}

/// What the in-memory graph keeps of a stored attestation: its columns,
/// without the record (see [`Store::attestation_edges`](crate::Store::attestation_edges)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationEdge {
    /// Its URI.
    pub uri: AtUri,
    /// Who attests.
    pub attester: Did,
    /// The relationship it attests.
    pub target: AtUri,
    /// `verify`, `dispute`, … as stored.
    pub attestation_type: String,
    /// Confidence, 0–100.
    pub confidence: u8,
    /// The record's `createdAt`.
    pub created_at: DateTime<Utc>,
}

/// A `net.rhiz.relationship.attestation` as indexed.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAttestation {
    /// The record's AT-URI: the primary key.
    pub uri: AtUri,
    /// The CID of the latest version applied.
    pub cid: Cid,
    /// Who attests.
    pub attester: Did,
    /// The relationship attested.
    pub target: AtUri,
    /// `verify`, `dispute`, `strengthen` or `weaken`.
    pub attestation_type: String,
    /// Confidence, 0–100.
    pub confidence: u8,
    /// Free-text evidence.
    pub evidence: Option<String>,
    /// Suggested strength, 0–100.
    pub suggested_strength: Option<u8>,
    /// The record's `createdAt`.
    pub created_at: DateTime<Utc>,
    /// When rhiz indexed this version.
    pub indexed_at: DateTime<Utc>,
    /// The full record, as JSON text.
    pub record: RecordJson,
}

/// Trust metrics of one DID as computed at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustSnapshot {
    /// The DID the metrics are about.
    pub did: Did,
    /// Overall trust score, 0–100.
    pub trust_score: u8,
    /// Reputation, 0–100.
    pub reputation: u8,
    /// Reciprocity, 0–100.
    pub reciprocity: u8,
    /// Consistency, 0–100.
    pub consistency: u8,
    /// Number of relationships of the DID.
    pub relationship_count: u32,
    /// Number of those with conviction ≥ 70.
    pub verified_relationship_count: u32,
    /// When the metrics were computed; the snapshot's key with `did`.
    pub calculated_at: DateTime<Utc>,
}

/// The stored form of a handle: lowercased, so that uniqueness and lookups
/// ignore case (handles are case-insensitive DNS names).
pub(crate) fn handle_key(handle: &Handle) -> String {
    handle.as_str().to_ascii_lowercase()
}

/// Turns the error of a failed entity insert into the error callers see.
///
/// A taken DID is reported as such even when the backend happened to check
/// the handle first, so both backends agree on which conflict wins.
pub(crate) async fn explain_create_conflict<S>(
    store: &S,
    new: &NewEntity,
    err: StoreError,
) -> StoreError
where
    S: crate::Store + ?Sized,
{
    let err = match err {
        StoreError::Conflict {
            field: "handle", ..
        } => match store.get_entity(&new.did).await {
            Ok(Some(_)) => StoreError::Conflict {
                field: "did",
                value: new.did.to_string(),
            },
            _ => err,
        },
        other => other,
    };
    err.with_conflict_value(|field| match field {
        "did" => new.did.to_string(),
        "handle" => new.handle.as_ref().map(handle_key).unwrap_or_default(),
        _ => String::new(),
    })
}

/// What the indexing rules need of a stored relationship: its identity,
/// participants and consent to attestation, without its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationshipHead {
    /// Its URI.
    pub uri: AtUri,
    /// The CID of the stored version.
    pub cid: Cid,
    /// Its two participants.
    pub participants: [Did; 2],
    /// Whether third parties may attest it.
    pub allow_attestation: bool,
}

impl From<&StoredRelationship> for RelationshipHead {
    fn from(stored: &StoredRelationship) -> Self {
        Self {
            uri: stored.uri.clone(),
            cid: stored.cid.clone(),
            participants: stored.participants.clone(),
            allow_attestation: stored.allow_attestation,
        }
    }
}

/// What the apply step needs of a stored attestation, without its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationHead {
    /// Its URI.
    pub uri: AtUri,
    /// The CID of the stored version.
    pub cid: Cid,
    /// Who attests.
    pub attester: Did,
    /// The relationship it attests.
    pub target: AtUri,
}

impl From<&StoredAttestation> for AttestationHead {
    fn from(stored: &StoredAttestation) -> Self {
        Self {
            uri: stored.uri.clone(),
            cid: stored.cid.clone(),
            attester: stored.attester.clone(),
            target: stored.target.clone(),
        }
    }
}

/// One write of [`Store::write_batch`](crate::Store::write_batch), borrowing
/// what it writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StoreWrite<'a> {
    /// As [`Store::upsert_relationship`](crate::Store::upsert_relationship).
    UpsertRelationship(&'a StoredRelationship),
    /// As [`Store::delete_relationship`](crate::Store::delete_relationship).
    DeleteRelationship(&'a AtUri),
    /// As [`Store::upsert_attestation`](crate::Store::upsert_attestation).
    UpsertAttestation(&'a StoredAttestation),
    /// As [`Store::delete_attestation`](crate::Store::delete_attestation).
    DeleteAttestation(&'a AtUri),
}

impl StoreWrite<'_> {
    /// The single operation this write stands for, to name it in errors.
    pub(crate) fn operation(&self) -> &'static str {
        match self {
            StoreWrite::UpsertRelationship(_) => "upsert_relationship",
            StoreWrite::DeleteRelationship(_) => "delete_relationship",
            StoreWrite::UpsertAttestation(_) => "upsert_attestation",
            StoreWrite::DeleteAttestation(_) => "delete_attestation",
        }
    }
}
