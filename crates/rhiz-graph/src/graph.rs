//! The index: interned DIDs, adjacency sorted for the searches, relationships
//! and attestations by URI, and their incremental updates.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rhiz_protocol::{AtUri, Attestation, AttestationType, Cid, Did, Percent, RelationshipRecord};

use crate::compact::CompactCid;
use crate::names::{DidId, Names, RecordName, RecordSlab, UriParts};
use crate::paths::Scratch;
use crate::uri_order::{self, UriEntry};
use crate::GraphError;

/// Marks the end of an attestation list.
pub(crate) const NONE: u32 = u32::MAX;

/// The reputation an attester has until [`Graph::set_reputation`] says
/// otherwise: 50, the middle of the scale (multiplier 1.25).
pub const DEFAULT_REPUTATION: u8 = 50;

/// A relationship as the graph needs it, usually built from the stored
/// record with [`RelationshipInput::from_record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationshipInput {
    /// The record's AT-URI, `at://<did>/<collection>/<rkey>`.
    pub uri: AtUri,
    /// The CID of the version applied.
    pub cid: Cid,
    /// The two participants; they must differ.
    pub participants: [Did; 2],
    /// The relationship type, an open set of strings.
    pub relationship_type: String,
    /// Strength, 0–100.
    pub strength: Percent,
    /// Whether other parties may find it (visibility `public` and discovery
    /// allowed). A relationship that is not discoverable is kept and counted
    /// but never returned by [`Graph::neighbors`] nor used by
    /// [`Graph::find_paths`].
    pub discoverable: bool,
    /// `temporal.lastInteraction`.
    pub last_interaction: DateTime<Utc>,
    /// Whether `participants[i]` signed the record (has an entry in
    /// `signatures`). With authorship, this says who endorses the
    /// relationship for the trust metrics (rules on [`TrustTable`](crate::TrustTable)).
    pub signed: [bool; 2],
    /// How much the strength moved over time: the population standard
    /// deviation of the strengths of `temporal.history` together with the
    /// current strength, rounded (0–50; 0 without history). Feeds
    /// `consistency`.
    pub strength_deviation: u8,
}

impl RelationshipInput {
    /// The graph's view of a validated relationship record.
    pub fn from_record(uri: AtUri, cid: Cid, record: &RelationshipRecord) -> Self {
        Self {
            uri,
            cid,
            participants: record.participants.clone(),
            relationship_type: record.relationship_type.as_str().to_owned(),
            strength: record.strength,
            discoverable: record.is_discoverable(),
            last_interaction: record.temporal.last_interaction.to_utc(),
            signed: record.signed(),
            strength_deviation: record.strength_deviation(),
        }
    }
}

/// An attestation as the graph needs it, usually built from the stored
/// record with [`AttestationInput::from_record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationInput {
    /// The attestation record's AT-URI.
    pub uri: AtUri,
    /// Who attests.
    pub attester: Did,
    /// The relationship attested (it may not be in the graph yet).
    pub target: AtUri,
    /// What the attestation says.
    pub attestation_type: AttestationType,
    /// Confidence, 0–100.
    pub confidence: Percent,
    /// The record's `createdAt`: the age used by the decay.
    pub created_at: DateTime<Utc>,
}

impl AttestationInput {
    /// The graph's view of a validated attestation record.
    pub fn from_record(uri: AtUri, record: &Attestation) -> Self {
        Self {
            uri,
            attester: record.attester.clone(),
            target: record.target_relationship.clone(),
            attestation_type: record.attestation_type,
            confidence: record.confidence,
            created_at: record.created_at.to_utc(),
        }
    }
}

/// One side of a relationship in a DID's adjacency list.
///
/// Lists are sorted by [`Edge::order`]: discoverable edges first, strongest
/// first, so "discoverable with strength ≥ m" is always a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edge {
    /// The other participant.
    pub(crate) other: u32,
    /// The relationship's slot in [`Graph::targets`].
    pub(crate) rel: u32,
    /// The relationship type's index in [`Graph::types`].
    pub(crate) kind: u16,
    /// Strength, 0–100.
    pub(crate) strength: u8,
    /// Not discoverable: never used by queries.
    pub(crate) hidden: bool,
}

impl Edge {
    fn order(&self) -> (bool, Reverse<u8>, u32) {
        (self.hidden, Reverse(self.strength), self.rel)
    }
}

/// A live relationship's data.
#[derive(Debug, Clone)]
pub(crate) struct RelationshipData {
    pub(crate) cid: CompactCid,
    pub(crate) ends: [DidId; 2],
    pub(crate) kind: u16,
    pub(crate) strength: u8,
    pub(crate) discoverable: bool,
    /// `lastInteraction`, milliseconds since the Unix epoch.
    pub(crate) last_interaction_ms: i64,
    /// Which participants signed, as [`RelationshipInput::signed`].
    pub(crate) signed: [bool; 2],
    /// [`RelationshipInput::strength_deviation`].
    pub(crate) strength_deviation: u8,
}

/// Everything the graph holds under one relationship URI: the relationship
/// when it is live, and the attestations that name it (which may arrive
/// before it and outlive it).
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) live: Option<RelationshipData>,
    /// First attestation slot, ordered by (`createdAt`, URI); [`NONE`] when
    /// there is none.
    pub(crate) first_attestation: u32,
}

/// An attestation's data.
#[derive(Debug, Clone)]
pub(crate) struct AttestationData {
    pub(crate) attester: DidId,
    pub(crate) target: u32,
    pub(crate) kind: AttestationType,
    pub(crate) confidence: u8,
    pub(crate) created_ms: i64,
    /// Next attestation of the same target, or [`NONE`].
    pub(crate) next: u32,
}

/// The trust graph: see the [crate documentation](crate).
#[derive(Debug, Default)]
pub struct Graph {
    pub(crate) names: Names,
    /// Relationship type names, by index.
    pub(crate) types: Vec<Box<str>>,
    type_index: HashMap<Box<str>, u16>,
    /// Adjacency, by DID id.
    pub(crate) adjacency: Vec<Vec<Edge>>,
    /// The same relationships per DID as slots ordered by URI, for paging.
    pub(crate) by_uri: Vec<Vec<UriEntry>>,
    /// Attester reputation, by DID id.
    pub(crate) reputation: Vec<u8>,
    pub(crate) targets: RecordSlab<Target>,
    pub(crate) attestations: RecordSlab<AttestationData>,
    pub(crate) live_relationships: usize,
    pub(crate) connected_dids: usize,
    /// Updates applied so far: see [`Graph::version`].
    changes: u64,
    /// Search buffers, reused so a query allocates nothing of graph size.
    pub(crate) scratch: Mutex<Vec<Scratch>>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `did`, when the graph has seen it.
    pub fn did_id(&self, did: &Did) -> Option<DidId> {
        self.names.find_did(did.as_str())
    }

    /// The DID of `id`.
    ///
    /// # Panics
    ///
    /// When `id` does not come from this graph.
    pub fn did(&self, id: DidId) -> &Did {
        self.names.did(id)
    }

    /// How many relationship and attestation updates the graph has applied
    /// (each upsert, each removal that found its record, each relationship
    /// of [`Graph::bulk_load`]). A [`TrustTable`](crate::TrustTable) records
    /// the version it was computed from, so `graph.version() -
    /// table.graph_version()` is how many changes it does not reflect.
    /// [`Graph::set_reputation`] does not count.
    pub fn version(&self) -> u64 {
        self.changes
    }

    /// How many live relationships the graph holds (discoverable or not).
    pub fn relationship_count(&self) -> usize {
        self.live_relationships
    }

    /// Whether `did` takes part in at least one live relationship.
    pub fn has_relationships(&self, did: &Did) -> bool {
        self.did_id(did)
            .is_some_and(|id| !self.adjacency[id.index()].is_empty())
    }

    /// How many attestations the graph holds, counting or not.
    pub fn attestation_count(&self) -> usize {
        self.attestations.len()
    }

    /// The live relationship at `uri`, as it was last upserted (its last
    /// interaction kept to the millisecond).
    pub fn relationship(&self, uri: &AtUri) -> Option<RelationshipInput> {
        let slot = self.targets.get(self.targets.find(&self.names, uri)?);
        let data = slot.value.live.as_ref()?;
        Some(RelationshipInput {
            uri: self.names.uri(&slot.name),
            cid: data.cid.to_text().parse().ok()?,
            participants: data.ends.map(|end| self.names.did(end).clone()),
            relationship_type: self.types[usize::from(data.kind)].to_string(),
            strength: Percent::new(data.strength)?,
            discoverable: data.discoverable,
            last_interaction: DateTime::from_timestamp_millis(data.last_interaction_ms)?,
            signed: data.signed,
            strength_deviation: data.strength_deviation,
        })
    }

    /// Sets the reputation (0–100) used as the attester multiplier of
    /// conviction. DIDs never set have [`DEFAULT_REPUTATION`].
    pub fn set_reputation(&mut self, did: &Did, reputation: Percent) {
        let id = self.intern_did(did);
        self.reputation[id.index()] = reputation.get();
    }

    /// The attester reputation of `id`.
    pub(crate) fn reputation_of(&self, id: DidId) -> u8 {
        self.reputation[id.index()]
    }

    fn intern_did(&mut self, did: &Did) -> DidId {
        let id = self.names.intern_did(did);
        self.grow_per_did_arrays();
        id
    }

    /// Gives every interned DID its adjacency list and reputation.
    fn grow_per_did_arrays(&mut self) {
        let n = self.names.did_count();
        if self.adjacency.len() < n {
            self.adjacency.resize_with(n, Vec::new);
            self.by_uri.resize_with(n, Vec::new);
            self.reputation.resize(n, DEFAULT_REPUTATION);
        }
    }

    fn intern_type(&mut self, name: &str) -> u16 {
        if let Some(&kind) = self.type_index.get(name) {
            return kind;
        }
        let kind = u16::try_from(self.types.len()).expect("fewer than 2^16 relationship types");
        self.types.push(name.into());
        self.type_index.insert(name.into(), kind);
        kind
    }

    /// The index of a type name, when some relationship ever had it.
    pub(crate) fn type_id(&self, name: &str) -> Option<u16> {
        self.type_index.get(name).copied()
    }

    /// Adds a relationship, or replaces the one with the same URI (new CID,
    /// strength, type, privacy, participants, last interaction).
    ///
    /// Costs O(degree) of both participants for the sorted inserts.
    ///
    /// # Errors
    ///
    /// [`GraphError::SelfRelationship`] when both participants are the same
    /// DID, [`GraphError::NotARecordUri`] when the URI does not name a record
    /// by DID. The graph is unchanged then.
    pub fn upsert_relationship(&mut self, input: RelationshipInput) -> Result<(), GraphError> {
        if input.participants[0] == input.participants[1] {
            return Err(GraphError::SelfRelationship { uri: input.uri });
        }
        let slot = match self.targets.find(&self.names, &input.uri) {
            Some(slot) => slot,
            None => {
                let name = self.intern_name(&input.uri)?;
                self.targets.insert(
                    &self.names,
                    name,
                    Target {
                        live: None,
                        first_attestation: NONE,
                    },
                )
            }
        };
        if let Some(old) = self.targets.get_mut(slot).value.live.take() {
            self.unlink_edges(slot, &old);
            self.live_relationships -= 1;
        }
        let ends = input
            .participants
            .each_ref()
            .map(|did| self.intern_did(did));
        let data = RelationshipData {
            cid: CompactCid::new(input.cid.as_str()),
            ends,
            kind: self.intern_type(&input.relationship_type),
            strength: input.strength.get(),
            discoverable: input.discoverable,
            last_interaction_ms: input.last_interaction.timestamp_millis(),
            signed: input.signed,
            strength_deviation: input.strength_deviation,
        };
        self.link_edges(slot, &data);
        self.targets.get_mut(slot).value.live = Some(data);
        self.live_relationships += 1;
        self.changes += 1;
        Ok(())
    }

    /// Adds many relationships at once, as at start-up: each adjacency list
    /// is sorted once at the end instead of at every insert, so a DID with
    /// 100,000 relationships loads in O(d log d) rather than O(d²). A URI
    /// already present (or repeated) is upserted.
    ///
    /// # Errors
    ///
    /// As [`Graph::upsert_relationship`]; the relationships before the
    /// failing one are loaded, the rest are not.
    pub fn bulk_load(
        &mut self,
        relationships: impl IntoIterator<Item = RelationshipInput>,
    ) -> Result<(), GraphError> {
        let mut unsorted = Vec::new();
        let mut relationships = relationships.into_iter();
        self.targets
            .reserve(&self.names, relationships.size_hint().0);
        let result = relationships.try_for_each(|input| {
            if self.targets.find(&self.names, &input.uri).is_some() {
                self.sort_adjacency(&mut unsorted);
                return self.upsert_relationship(input);
            }
            if input.participants[0] == input.participants[1] {
                return Err(GraphError::SelfRelationship { uri: input.uri });
            }
            let name = self.intern_name(&input.uri)?;
            let ends = input
                .participants
                .each_ref()
                .map(|did| self.intern_did(did));
            let data = RelationshipData {
                cid: CompactCid::new(input.cid.as_str()),
                ends,
                kind: self.intern_type(&input.relationship_type),
                strength: input.strength.get(),
                discoverable: input.discoverable,
                last_interaction_ms: input.last_interaction.timestamp_millis(),
                signed: input.signed,
                strength_deviation: input.strength_deviation,
            };
            let slot = self.targets.insert(
                &self.names,
                name,
                Target {
                    live: None,
                    first_attestation: NONE,
                },
            );
            let entry = UriEntry::new(&self.names, slot, &self.targets.get(slot).name);
            for (owner, edge) in Self::edges_of(slot, &data) {
                let list = &mut self.adjacency[owner.index()];
                if list.is_empty() {
                    self.connected_dids += 1;
                }
                list.push(edge);
                self.by_uri[owner.index()].push(entry);
                unsorted.push(owner);
            }
            self.targets.get_mut(slot).value.live = Some(data);
            self.live_relationships += 1;
            self.changes += 1;
            Ok(())
        });
        self.sort_adjacency(&mut unsorted);
        result
    }

    /// Sorts the adjacency lists of `owners` and empties it.
    fn sort_adjacency(&mut self, owners: &mut Vec<DidId>) {
        owners.sort_unstable();
        owners.dedup();
        let (names, targets) = (&self.names, &self.targets);
        for owner in owners.drain(..) {
            let list = &mut self.adjacency[owner.index()];
            list.sort_unstable_by_key(Edge::order);
            list.shrink_to_fit();
            let by_uri = &mut self.by_uri[owner.index()];
            by_uri.sort_unstable_by(|&a, &b| uri_order::cmp(names, targets, a, b));
            by_uri.shrink_to_fit();
        }
    }

    /// Removes the relationship at `uri`; its attestations stay but stop
    /// counting. Returns whether it was present.
    pub fn remove_relationship(&mut self, uri: &AtUri) -> bool {
        let Some(slot) = self.targets.find(&self.names, uri) else {
            return false;
        };
        let Some(old) = self.targets.get_mut(slot).value.live.take() else {
            return false;
        };
        self.unlink_edges(slot, &old);
        self.live_relationships -= 1;
        self.changes += 1;
        self.release_target_if_empty(slot);
        true
    }

    /// Adds an attestation, or replaces the one with the same URI.
    ///
    /// Costs O(k) for the k attestations of its relationship (a sorted
    /// insert); nothing else is recomputed.
    ///
    /// # Errors
    ///
    /// [`GraphError::NotARecordUri`] when the attestation's or the target's
    /// URI does not name a record by DID. The graph is unchanged then.
    pub fn upsert_attestation(&mut self, input: AttestationInput) -> Result<(), GraphError> {
        if UriParts::of(&input.target).is_none() {
            return Err(GraphError::NotARecordUri(input.target));
        }
        let name = match self.attestations.find(&self.names, &input.uri) {
            Some(old) => {
                let old_target = self.detach_attestation(old);
                let name = self.attestations.remove(&self.names, old).name;
                self.release_target_if_empty(old_target);
                name
            }
            None => self.intern_name(&input.uri)?,
        };
        let target = match self.targets.find(&self.names, &input.target) {
            Some(slot) => slot,
            None => {
                let target_name = self.intern_name(&input.target)?;
                self.targets.insert(
                    &self.names,
                    target_name,
                    Target {
                        live: None,
                        first_attestation: NONE,
                    },
                )
            }
        };
        let data = AttestationData {
            attester: self.intern_did(&input.attester),
            target,
            kind: input.attestation_type,
            confidence: input.confidence.get(),
            created_ms: input.created_at.timestamp_millis(),
            next: NONE,
        };
        let id = self.attestations.insert(&self.names, name, data);
        self.attach_attestation(id);
        self.changes += 1;
        Ok(())
    }

    /// Removes the attestation at `uri`. Returns whether it was present.
    pub fn remove_attestation(&mut self, uri: &AtUri) -> bool {
        let Some(id) = self.attestations.find(&self.names, uri) else {
            return false;
        };
        let target = self.detach_attestation(id);
        self.attestations.remove(&self.names, id);
        self.release_target_if_empty(target);
        self.changes += 1;
        true
    }

    fn intern_name(&mut self, uri: &AtUri) -> Result<RecordName, GraphError> {
        let name = self.names.intern_name(uri)?;
        self.grow_per_did_arrays();
        Ok(name)
    }

    fn release_target_if_empty(&mut self, slot: u32) {
        let target = &self.targets.get(slot).value;
        if target.live.is_none() && target.first_attestation == NONE {
            self.targets.remove(&self.names, slot);
        }
    }

    /// Inserts attestation `id` into its target's list, keeping the order
    /// (`createdAt`, URI) so sums run in the same order whatever the history.
    fn attach_attestation(&mut self, id: u32) {
        let target = self.attestations.get(id).value.target;
        let goes_before = |graph: &Self, other: u32| {
            let (me, o) = (graph.attestations.get(id), graph.attestations.get(other));
            me.value
                .created_ms
                .cmp(&o.value.created_ms)
                .then_with(|| graph.names.cmp_names(&me.name, &o.name))
                .is_lt()
        };
        let mut prev = NONE;
        let mut cur = self.targets.get(target).value.first_attestation;
        while cur != NONE && !goes_before(self, cur) {
            prev = cur;
            cur = self.attestations.get(cur).value.next;
        }
        self.attestations.get_mut(id).value.next = cur;
        if prev == NONE {
            self.targets.get_mut(target).value.first_attestation = id;
        } else {
            self.attestations.get_mut(prev).value.next = id;
        }
    }

    /// Unlinks attestation `id` from its target's list; returns the target.
    fn detach_attestation(&mut self, id: u32) -> u32 {
        let (target, next) = {
            let a = &self.attestations.get(id).value;
            (a.target, a.next)
        };
        let mut prev = NONE;
        let mut cur = self.targets.get(target).value.first_attestation;
        while cur != id {
            prev = cur;
            cur = self.attestations.get(cur).value.next;
        }
        if prev == NONE {
            self.targets.get_mut(target).value.first_attestation = next;
        } else {
            self.attestations.get_mut(prev).value.next = next;
        }
        target
    }

    fn edges_of(slot: u32, data: &RelationshipData) -> [(DidId, Edge); 2] {
        let [a, b] = data.ends;
        let edge = |other: DidId| Edge {
            other: other.0,
            rel: slot,
            kind: data.kind,
            strength: data.strength,
            hidden: !data.discoverable,
        };
        [(a, edge(b)), (b, edge(a))]
    }

    fn link_edges(&mut self, slot: u32, data: &RelationshipData) {
        let entry = UriEntry::new(&self.names, slot, &self.targets.get(slot).name);
        for (owner, edge) in Self::edges_of(slot, data) {
            let list = &mut self.adjacency[owner.index()];
            if list.is_empty() {
                self.connected_dids += 1;
            }
            let at = list.partition_point(|e| e.order() < edge.order());
            list.insert(at, edge);
            uri_order::insert(
                &self.names,
                &self.targets,
                &mut self.by_uri[owner.index()],
                entry,
            );
        }
    }

    fn unlink_edges(&mut self, slot: u32, data: &RelationshipData) {
        for (owner, edge) in Self::edges_of(slot, data) {
            let list = &mut self.adjacency[owner.index()];
            if let Ok(at) = list.binary_search_by(|e| e.order().cmp(&edge.order())) {
                list.remove(at);
            }
            let by_uri = &mut self.by_uri[owner.index()];
            if let Some(at) = by_uri.iter().position(|rel| rel.slot() == slot) {
                by_uri.remove(at);
            }
            if list.is_empty() {
                self.connected_dids -= 1;
            }
        }
    }

    /// Approximate bytes held by the index (adjacency, relationships,
    /// attestations, interned DIDs), with a typical allocator's overheads.
    /// Search buffers are not counted.
    pub fn memory_bytes(&self) -> usize {
        let adjacency = self.adjacency.capacity() * size_of::<Vec<Edge>>()
            + self
                .adjacency
                .iter()
                .map(|l| l.capacity() * size_of::<Edge>())
                .sum::<usize>()
            + self.by_uri.capacity() * size_of::<Vec<u32>>()
            + self
                .by_uri
                .iter()
                .map(|l| l.capacity() * size_of::<UriEntry>())
                .sum::<usize>();
        let cids = self
            .targets
            .iter()
            .filter_map(|(_, s)| s.value.live.as_ref())
            .map(|d| d.cid.heap_bytes())
            .sum::<usize>();
        self.names.memory_bytes()
            + adjacency
            + self.reputation.capacity()
            + self.targets.memory_bytes()
            + cids
            + self.attestations.memory_bytes()
    }
}
