//! Deciding what each event of a batch does, before anything is written.
//!
//! The store rows an event's decision depends on (the record it replaces or
//! deletes, the relationship an attestation targets) are read for the whole
//! batch at once ([`Known::fetch`]). Each event is then planned in batch
//! order against that view, which the plans of earlier events in the batch
//! update, so an attestation sees a relationship created just before it in
//! the same batch.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rhiz_events::HandlerError;
use rhiz_graph::{AttestationInput, RelationshipInput};
use rhiz_protocol::{AtUri, Cid, Did, Event, EventBody};
use rhiz_store::{
    AttestationHead, RelationshipHead, Store, StoreError, StoreWrite, StoredAttestation,
    StoredRelationship,
};

use super::rows;

/// The stored state of the records a batch touches, as of its planning.
#[derive(Debug, Default)]
pub(super) struct Known {
    relationships: HashMap<AtUri, Option<RelationshipHead>, foldhash::fast::RandomState>,
    attestations: HashMap<AtUri, Option<AttestationHead>, foldhash::fast::RandomState>,
}

impl Known {
    /// Reads what the plans of `events` depend on: at most two reads of the
    /// store, whatever the size of the batch.
    pub(super) async fn fetch(store: &dyn Store, events: &[&Event]) -> Result<Self, StoreError> {
        let mut known = Known::default();
        let attestation_uris: Vec<AtUri> = events
            .iter()
            .filter(|event| {
                matches!(
                    event.body(),
                    EventBody::AttestationCreated(_)
                        | EventBody::AttestationUpdated(_)
                        | EventBody::AttestationDeleted
                )
            })
            .filter_map(|event| event.uri().cloned())
            .collect();
        let found = store.attestation_heads(&attestation_uris).await?;
        known.attestations = attestation_uris.into_iter().zip(found).collect();

        let mut relationship_uris: Vec<AtUri> = Vec::new();
        for event in events {
            match event.body() {
                EventBody::RelationshipCreated(_)
                | EventBody::RelationshipUpdated(_)
                | EventBody::RelationshipDeleted => relationship_uris.extend(event.uri().cloned()),
                EventBody::AttestationCreated(record) | EventBody::AttestationUpdated(record) => {
                    relationship_uris.push(record.target_relationship.clone());
                }
                _ => {}
            }
        }
        relationship_uris.extend(
            known
                .attestations
                .values()
                .flatten()
                .map(|a| a.target.clone()),
        );
        relationship_uris.sort();
        relationship_uris.dedup();
        let found = store.relationship_heads(&relationship_uris).await?;
        known.relationships = relationship_uris.into_iter().zip(found).collect();
        Ok(known)
    }

    fn relationship(&self, uri: &AtUri) -> Option<&RelationshipHead> {
        self.relationships.get(uri).and_then(Option::as_ref)
    }

    fn attestation(&self, uri: &AtUri) -> Option<&AttestationHead> {
        self.attestations.get(uri).and_then(Option::as_ref)
    }
}

/// A write the apply step asks of the store (the owned form of
/// [`StoreWrite`]).
#[derive(Debug)]
pub(super) enum Write {
    /// Insert or replace a relationship.
    Relationship(StoredRelationship),
    /// Delete a relationship.
    DeleteRelationship(AtUri),
    /// Insert or replace an attestation.
    Attestation(StoredAttestation),
    /// Delete an attestation.
    DeleteAttestation(AtUri),
}

impl Write {
    pub(super) fn as_store_write(&self) -> StoreWrite<'_> {
        match self {
            Write::Relationship(rel) => StoreWrite::UpsertRelationship(rel),
            Write::DeleteRelationship(uri) => StoreWrite::DeleteRelationship(uri),
            Write::Attestation(att) => StoreWrite::UpsertAttestation(att),
            Write::DeleteAttestation(uri) => StoreWrite::DeleteAttestation(uri),
        }
    }
}

/// The change an event makes to the in-memory graph.
#[derive(Debug)]
pub(super) enum GraphChange {
    UpsertRelationship(RelationshipInput),
    RemoveRelationship(AtUri),
    UpsertAttestation(AttestationInput),
    RemoveAttestation(AtUri),
}

/// What one event of a batch does.
///
/// Nearly every plan is a `Record`, so boxing it would only add an
/// allocation per event.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(super) enum Plan {
    /// Nothing: applied before, or a delete of a record not stored.
    Unchanged,
    /// A record write, then its graph change and a change on the feed.
    Record {
        write: Write,
        /// Taken when applied to the graph.
        graph: Option<GraphChange>,
        uri: AtUri,
        dids: Vec<Did>,
    },
    /// An entity profile: applied on its own, after the batch.
    Profile,
    /// Nothing to write; only a change to publish (trust invalidation).
    Publish { dids: Vec<Did> },
}

/// Plans `event` against `known`, and records its effect there for the
/// events after it. A broken rule is [`HandlerError::Permanent`].
pub(super) fn plan(
    event: &Event,
    known: &mut Known,
    now: DateTime<Utc>,
) -> Result<Plan, HandlerError> {
    Ok(match event.body() {
        EventBody::RelationshipCreated(record) | EventBody::RelationshipUpdated(record) => {
            let (uri, cid) = record_address(event)?;
            let previous = known.relationship(uri);
            if previous.is_some_and(|p| &p.cid == cid) {
                return Ok(Plan::Unchanged);
            }
            let mut dids = record.participants.to_vec();
            dids.extend(
                previous
                    .into_iter()
                    .flat_map(|p| p.participants.iter().cloned()),
            );
            let text = rows::record_json(event);
            let row = rows::relationship_row(uri, cid, event.author(), record, text, now);
            known
                .relationships
                .insert(uri.clone(), Some(RelationshipHead::from(&row)));
            Plan::Record {
                write: Write::Relationship(row),
                graph: Some(GraphChange::UpsertRelationship(
                    RelationshipInput::from_record(uri.clone(), cid.clone(), record),
                )),
                uri: uri.clone(),
                dids,
            }
        }
        EventBody::RelationshipDeleted => {
            let uri = record_uri(event)?;
            let Some(previous) = known.relationships.insert(uri.clone(), None).flatten() else {
                return Ok(Plan::Unchanged);
            };
            Plan::Record {
                write: Write::DeleteRelationship(uri.clone()),
                graph: Some(GraphChange::RemoveRelationship(uri.clone())),
                uri: uri.clone(),
                dids: previous.participants.to_vec(),
            }
        }
        EventBody::AttestationCreated(record) | EventBody::AttestationUpdated(record) => {
            let (uri, cid) = record_address(event)?;
            if known.attestation(uri).is_some_and(|p| &p.cid == cid) {
                return Ok(Plan::Unchanged);
            }
            let mut dids = vec![record.attester.clone()];
            if let Some(target) = known.relationship(&record.target_relationship) {
                if let Some(rule) = attestation_rule_violation(&record.attester, target) {
                    return Err(HandlerError::Permanent(rule));
                }
                dids.extend(target.participants.iter().cloned());
            }
            let text = rows::record_json(event);
            let row = rows::attestation_row(uri, cid, record, text, now);
            known
                .attestations
                .insert(uri.clone(), Some(AttestationHead::from(&row)));
            Plan::Record {
                write: Write::Attestation(row),
                graph: Some(GraphChange::UpsertAttestation(
                    AttestationInput::from_record(uri.clone(), record),
                )),
                uri: uri.clone(),
                dids,
            }
        }
        EventBody::AttestationDeleted => {
            let uri = record_uri(event)?;
            let Some(previous) = known.attestations.insert(uri.clone(), None).flatten() else {
                return Ok(Plan::Unchanged);
            };
            let mut dids = vec![previous.attester];
            if let Some(target) = known.relationship(&previous.target) {
                dids.extend(target.participants.iter().cloned());
            }
            Plan::Record {
                write: Write::DeleteAttestation(uri.clone()),
                graph: Some(GraphChange::RemoveAttestation(uri.clone())),
                uri: uri.clone(),
                dids,
            }
        }
        EventBody::EntityProfileCreated(_)
        | EventBody::EntityProfileUpdated(_)
        | EventBody::EntityProfileDeleted => Plan::Profile,
        EventBody::TrustInvalidated { .. } => Plan::Publish {
            dids: vec![event.author().clone()],
        },
    })
}

/// PROTOCOL.md: an attester cannot attest a relationship it participates
/// in, nor one whose owners refused attestation. The broken rule, if any.
pub fn attestation_rule_violation(attester: &Did, target: &RelationshipHead) -> Option<String> {
    if target.participants.contains(attester) {
        Some(format!(
            "{attester} participates in {} and cannot attest it",
            target.uri
        ))
    } else if !target.allow_attestation {
        Some(format!(
            "the participants of {} do not allow attestations",
            target.uri
        ))
    } else {
        None
    }
}

/// The URI of a record event (validated at ingest: every record event has one).
pub(super) fn record_uri(event: &Event) -> Result<&AtUri, HandlerError> {
    event
        .uri()
        .ok_or_else(|| HandlerError::Permanent(format!("a {} event needs a URI", event.kind())))
}

/// The URI and CID of a create or update (validated at ingest: both present).
pub(super) fn record_address(event: &Event) -> Result<(&AtUri, &Cid), HandlerError> {
    let cid = event
        .cid()
        .ok_or_else(|| HandlerError::Permanent(format!("a {} event needs a CID", event.kind())))?;
    Ok((record_uri(event)?, cid))
}
