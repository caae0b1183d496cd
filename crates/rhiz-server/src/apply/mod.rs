//! Apply: the only writer. One handler per event kind: the protocol's
//! indexing rules, one store write, the graph update, the invalidation of
//! the cached answers it may change, then one change on the [`ChangeFeed`].
//! The invalidation is awaited before the change is published and the
//! event settled, so no answer cached before the event is served once it is
//! applied (see [`crate::answer_cache`]).
//!
//! The pipeline delivers each event at least once, in order per record URI.
//! Apply makes that exactly once in effect: a create or update whose
//! (URI, CID) is already stored, a delete of a record that is not stored, and
//! a profile whose CID the entity already carries change nothing and publish
//! nothing.
//!
//! Failures are classified for the pipeline: a broken rule
//! ([PROTOCOL.md], "Rules rhiz enforces when indexing") is
//! [`HandlerError::Permanent`] and goes to the dead letters at once with the
//! reason; an unavailable database is [`HandlerError::Transient`] and is
//! retried.
//!
//! [PROTOCOL.md]: https://github.com/rhiz-protocol/rhiz

mod group_writer;
mod rows;
mod watch;

use std::sync::Arc;

use chrono::Utc;
use rhiz_events::{async_trait, Handler, HandlerError};
use rhiz_graph::{AttestationInput, RelationshipInput};
use rhiz_protocol::{
    AtUri, Attestation, Cid, Did, EntityProfile, Event, EventBody, RelationshipRecord,
};
use rhiz_store::{Store, StoreError};

use crate::change_feed::{Change, ChangeFeed};
use crate::live_graph::LiveGraph;
use group_writer::{GroupWriter, Write};
pub use watch::{ApplyOutcome, Watch};

/// What applying one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The store and graph changed; this is the change's number on the feed.
    Changed(u64),
    /// Nothing to do: the event was applied before, or deletes a record
    /// that is not stored.
    Unchanged,
}

/// Applies [`Event`]s to the store and the graph; the pipeline's handler.
pub struct Applier {
    store: Arc<dyn Store>,
    graph: Arc<LiveGraph>,
    feed: Arc<ChangeFeed>,
    cache: rhiz_cache::Cache,
    writes: GroupWriter,
    watchers: watch::Watchers,
}

impl std::fmt::Debug for Applier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applier")
            .field("store", &self.store.backend())
            .field("feed", &self.feed)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Handler<Event> for Applier {
    async fn apply(&self, event: &Event) -> Result<(), HandlerError> {
        let result = self.apply_event(event).await;
        self.watchers.settle(event.id().as_str(), &result);
        result.map(|_| ())
    }

    /// The events of a batch have distinct records: they are applied
    /// concurrently, and their store writes share one transaction (see
    /// [`group_writer`]).
    async fn apply_batch(&self, events: &[&Event]) -> Vec<Result<(), HandlerError>> {
        let applies = events
            .iter()
            .map(|event| self.writes.track(self.apply(event)));
        futures_util::future::join_all(applies).await
    }
}

impl Applier {
    /// An applier writing to `store` and `graph`, invalidating in `cache`
    /// and publishing on `feed`.
    pub fn new(
        store: Arc<dyn Store>,
        graph: Arc<LiveGraph>,
        feed: Arc<ChangeFeed>,
        cache: rhiz_cache::Cache,
    ) -> Self {
        Self {
            writes: GroupWriter::start(Arc::clone(&store)),
            store,
            graph,
            feed,
            cache,
            watchers: watch::Watchers::default(),
        }
    }

    /// Waits for the event with this id to be applied or to fail for good.
    /// Register before submitting the event, so its outcome cannot be missed.
    pub fn watch(&self, event_id: &str) -> Watch<'_> {
        self.watchers.watch(event_id)
    }

    /// Applies one event; see the module documentation.
    pub async fn apply_event(&self, event: &Event) -> Result<Applied, HandlerError> {
        let _span = tracing::debug_span!("apply", event_id = %event.id(), kind = %event.kind());
        match event.body() {
            EventBody::RelationshipCreated(record) | EventBody::RelationshipUpdated(record) => {
                let (uri, cid) = record_address(event)?;
                self.put_relationship(event, uri, cid, record).await
            }
            EventBody::RelationshipDeleted => {
                self.delete_relationship(event, record_uri(event)?).await
            }
            EventBody::AttestationCreated(record) | EventBody::AttestationUpdated(record) => {
                let (uri, cid) = record_address(event)?;
                self.put_attestation(event, uri, cid, record).await
            }
            EventBody::AttestationDeleted => {
                self.delete_attestation(event, record_uri(event)?).await
            }
            EventBody::EntityProfileCreated(record) | EventBody::EntityProfileUpdated(record) => {
                let (uri, cid) = record_address(event)?;
                self.put_profile(event, uri, cid, record).await
            }
            EventBody::EntityProfileDeleted => self.delete_profile(event, record_uri(event)?).await,
            EventBody::TrustInvalidated { .. } => Ok(self
                .publish(event, None, vec![event.author().clone()])
                .await),
        }
    }

    async fn put_relationship(
        &self,
        event: &Event,
        uri: &AtUri,
        cid: &Cid,
        record: &RelationshipRecord,
    ) -> Result<Applied, HandlerError> {
        let previous = self
            .store
            .get_relationship(uri)
            .await
            .map_err(store_error)?;
        if previous.as_ref().is_some_and(|p| &p.cid == cid) {
            return Ok(Applied::Unchanged);
        }
        let row = rows::relationship_row(uri, cid, event.author(), record, Utc::now());
        self.writes.write(Write::Relationship(row)).await?;
        self.graph
            .write()
            .upsert_relationship(RelationshipInput::from_record(
                uri.clone(),
                cid.clone(),
                record,
            ))
            .map_err(permanent)?;
        let mut dids = record.participants.to_vec();
        if let Some(previous) = previous {
            dids.extend(previous.participants);
        }
        Ok(self.publish(event, Some(uri), dids).await)
    }

    async fn delete_relationship(
        &self,
        event: &Event,
        uri: &AtUri,
    ) -> Result<Applied, HandlerError> {
        let Some(previous) = self
            .store
            .get_relationship(uri)
            .await
            .map_err(store_error)?
        else {
            return Ok(Applied::Unchanged);
        };
        self.writes
            .write(Write::DeleteRelationship(uri.clone()))
            .await?;
        self.graph.write().remove_relationship(uri);
        Ok(self
            .publish(event, Some(uri), previous.participants.to_vec())
            .await)
    }

    async fn put_attestation(
        &self,
        event: &Event,
        uri: &AtUri,
        cid: &Cid,
        record: &Attestation,
    ) -> Result<Applied, HandlerError> {
        let previous = self.store.get_attestation(uri).await.map_err(store_error)?;
        if previous.as_ref().is_some_and(|p| &p.cid == cid) {
            return Ok(Applied::Unchanged);
        }
        let target = self
            .store
            .get_relationship(&record.target_relationship)
            .await
            .map_err(store_error)?;
        let mut dids = vec![record.attester.clone()];
        if let Some(target) = &target {
            if let Some(rule) = attestation_rule_violation(&record.attester, target) {
                return Err(HandlerError::Permanent(rule));
            }
            dids.extend(target.participants.iter().cloned());
        }
        let row = rows::attestation_row(uri, cid, record, Utc::now());
        self.writes.write(Write::Attestation(row)).await?;
        self.graph
            .write()
            .upsert_attestation(AttestationInput::from_record(uri.clone(), record))
            .map_err(permanent)?;
        Ok(self.publish(event, Some(uri), dids).await)
    }

    async fn delete_attestation(
        &self,
        event: &Event,
        uri: &AtUri,
    ) -> Result<Applied, HandlerError> {
        let Some(previous) = self.store.get_attestation(uri).await.map_err(store_error)? else {
            return Ok(Applied::Unchanged);
        };
        self.writes
            .write(Write::DeleteAttestation(uri.clone()))
            .await?;
        self.graph.write().remove_attestation(uri);
        let mut dids = vec![previous.attester];
        if let Some(target) = self
            .store
            .get_relationship(&previous.target)
            .await
            .map_err(store_error)?
        {
            dids.extend(target.participants);
        }
        Ok(self.publish(event, Some(uri), dids).await)
    }

    async fn put_profile(
        &self,
        event: &Event,
        uri: &AtUri,
        cid: &Cid,
        record: &EntityProfile,
    ) -> Result<Applied, HandlerError> {
        let did = event.author();
        let current = self.store.get_entity(did).await.map_err(store_error)?;
        match current {
            Some(entity) if entity.profile_cid.as_ref() == Some(cid) => {
                return Ok(Applied::Unchanged);
            }
            Some(_) => {
                let patch = rows::profile_patch(uri, cid, record);
                self.store
                    .update_entity(did, &patch, Utc::now())
                    .await
                    .map_err(store_error)?;
            }
            None => {
                self.store
                    .create_entity(&rows::new_entity(did, uri, cid, record))
                    .await
                    .map_err(store_error)?;
            }
        }
        Ok(self.publish(event, Some(uri), vec![did.clone()]).await)
    }

    /// Deletes the entity the profile made. An entity made through the REST
    /// API, or from another profile record, is left alone.
    async fn delete_profile(&self, event: &Event, uri: &AtUri) -> Result<Applied, HandlerError> {
        let did = event.author();
        let Some(entity) = self.store.get_entity(did).await.map_err(store_error)? else {
            return Ok(Applied::Unchanged);
        };
        if entity.profile_uri.as_ref() != Some(uri) {
            return Ok(Applied::Unchanged);
        }
        match self.store.delete_entity(did).await {
            Ok(()) | Err(StoreError::NotFound { .. }) => {}
            Err(error) => return Err(store_error(error)),
        }
        Ok(self.publish(event, Some(uri), vec![did.clone()]).await)
    }

    /// Invalidates what the change may have changed, then publishes it.
    async fn publish(&self, event: &Event, uri: Option<&AtUri>, mut dids: Vec<Did>) -> Applied {
        dids.sort();
        dids.dedup();
        let change = Change {
            seq: 0,
            event_id: event.id().as_str().to_owned(),
            kind: event.kind(),
            uri: uri.cloned(),
            dids,
        };
        crate::answer_cache::invalidate_change(&self.cache, &change).await;
        Applied::Changed(self.feed.publish(change))
    }
}

/// PROTOCOL.md: an attester cannot attest a relationship it participates
/// in, nor one whose owners refused attestation. The broken rule, if any.
pub fn attestation_rule_violation(
    attester: &Did,
    target: &rhiz_store::StoredRelationship,
) -> Option<String> {
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
fn record_uri(event: &Event) -> Result<&AtUri, HandlerError> {
    event
        .uri()
        .ok_or_else(|| HandlerError::Permanent(format!("a {} event needs a URI", event.kind())))
}

/// The URI and CID of a create or update (validated at ingest: both present).
fn record_address(event: &Event) -> Result<(&AtUri, &Cid), HandlerError> {
    let cid = event
        .cid()
        .ok_or_else(|| HandlerError::Permanent(format!("a {} event needs a CID", event.kind())))?;
    Ok((record_uri(event)?, cid))
}

fn store_error(error: StoreError) -> HandlerError {
    if error.is_retryable() {
        HandlerError::Transient(error.to_string())
    } else {
        HandlerError::Permanent(error.to_string())
    }
}

fn permanent(error: impl std::fmt::Display) -> HandlerError {
    HandlerError::Permanent(error.to_string())
}
