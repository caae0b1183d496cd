//! Apply: the only writer. Per event: the protocol's indexing rules, one
//! store write, the graph update, the invalidation of the cached answers it
//! may change, then one change on the [`ChangeFeed`]. Events come in batches
//! of distinct records ([`Applier::apply_events`]): one read, one
//! transaction and one graph lock serve the whole batch.
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
//! reason; an unavailable database is [`HandlerError::Unavailable`]: the
//! event waits and is retried, with a growing backoff, until the database
//! is back, and is never dead-lettered for it.
//!
//! [PROTOCOL.md]: https://github.com/rhiz-protocol/rhiz

mod plan;
mod rows;
mod watch;

use std::sync::Arc;

use chrono::Utc;
use rhiz_events::{async_trait, Handler, HandlerError};
use rhiz_protocol::{AtUri, Cid, Did, EntityProfile, Event, EventBody};
use rhiz_store::{Store, StoreError, StoreWrite};

use crate::change_feed::{Change, ChangeFeed};
use crate::live_graph::LiveGraph;
pub use plan::attestation_rule_violation;
use plan::{record_address, record_uri, GraphChange, Known, Plan};
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
    graph: Option<Arc<LiveGraph>>,
    feed: Arc<ChangeFeed>,
    cache: rhiz_cache::Cache,
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
        let mut results = self.apply_batch(&[event]).await;
        results.pop().unwrap_or(Ok(()))
    }

    /// The events of a batch have distinct records: see
    /// [`Applier::apply_events`].
    async fn apply_batch(&self, events: &[&Event]) -> Vec<Result<(), HandlerError>> {
        let results = self.apply_events(events).await;
        events
            .iter()
            .zip(results)
            .map(|(event, result)| {
                self.watchers.settle(event.id().as_str(), &result);
                result.map(|_| ())
            })
            .collect()
    }
}

impl Applier {
    /// An applier writing to `store` and `graph` (none for an offline
    /// import, see [`crate::ImportState`]), invalidating in `cache` and
    /// publishing on `feed`.
    pub fn new(
        store: Arc<dyn Store>,
        graph: Option<Arc<LiveGraph>>,
        feed: Arc<ChangeFeed>,
        cache: rhiz_cache::Cache,
    ) -> Self {
        Self {
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

    /// Applies events of distinct records; one result per event, in order.
    ///
    /// The whole batch costs two store reads (what the events replace,
    /// delete or target: `plan`), one store transaction for every record
    /// write, and one hold of the graph's write lock. Entity profiles are
    /// then applied one by one. Each change is invalidated in the cache and
    /// published only after its write committed.
    pub async fn apply_events(&self, events: &[&Event]) -> Vec<Result<Applied, HandlerError>> {
        let mut known = match Known::fetch(&*self.store, events).await {
            Ok(known) => known,
            Err(error) => {
                let error = store_error(error);
                return events.iter().map(|_| Err(error.clone())).collect();
            }
        };
        let now = Utc::now();
        let mut plans: Vec<Result<Plan, HandlerError>> = events
            .iter()
            .map(|event| plan::plan(event, &mut known, now))
            .collect();
        self.write(&mut plans).await;
        self.update_graph(&mut plans);

        // Changes are invalidated together, then published one by one;
        // their results (and the profiles') are filled in below.
        let mut results = Vec::with_capacity(events.len());
        let mut changes = Vec::new();
        let mut profiles = Vec::new();
        for (i, (event, plan)) in events.iter().zip(plans).enumerate() {
            results.push(match plan {
                Ok(Plan::Record { uri, dids, .. }) => {
                    changes.push((i, change_of(event, Some(&uri), dids)));
                    Ok(Applied::Unchanged)
                }
                Ok(Plan::Publish { dids }) => {
                    changes.push((i, change_of(event, None, dids)));
                    Ok(Applied::Unchanged)
                }
                Ok(Plan::Profile) => {
                    profiles.push(i);
                    Ok(Applied::Unchanged)
                }
                Ok(Plan::Unchanged) => Ok(Applied::Unchanged),
                Err(error) => Err(error),
            });
        }
        crate::answer_cache::invalidate_changes(&self.cache, changes.iter().map(|(_, c)| c)).await;
        for (i, change) in changes {
            results[i] = Ok(Applied::Changed(self.feed.publish(change)));
        }
        for i in profiles {
            results[i] = self.apply_profile(events[i]).await;
        }
        results
    }

    /// Commits the record writes of `plans` in one transaction. If it
    /// fails, each write is tried alone, so one bad write cannot fail the
    /// others; a plan whose write fails becomes that failure.
    async fn write(&self, plans: &mut [Result<Plan, HandlerError>]) {
        let (indices, batch): (Vec<usize>, Vec<StoreWrite<'_>>) = plans
            .iter()
            .enumerate()
            .filter_map(|(i, plan)| match plan {
                Ok(Plan::Record { write, .. }) => Some((i, write.as_store_write())),
                _ => None,
            })
            .unzip();
        if batch.is_empty() {
            return;
        }
        let failed: Vec<(usize, HandlerError)> = match self.store.write_batch(&batch).await {
            Ok(_) => Vec::new(),
            Err(error) if batch.len() == 1 => vec![(indices[0], store_error(error))],
            Err(_) => {
                let mut failed = Vec::new();
                for (i, write) in indices.into_iter().zip(batch) {
                    if let Err(error) = self.store.write_batch(&[write]).await {
                        failed.push((i, store_error(error)));
                    }
                }
                failed
            }
        };
        for (i, error) in failed {
            plans[i] = Err(error);
        }
    }

    /// Applies the graph changes of `plans` under one hold of the write lock.
    fn update_graph(&self, plans: &mut [Result<Plan, HandlerError>]) {
        let Some(graph) = &self.graph else {
            return;
        };
        let mut graph = graph.write();
        for plan in plans.iter_mut() {
            let Ok(Plan::Record { graph: change, .. }) = plan else {
                continue;
            };
            let Some(change) = change.take() else {
                continue;
            };
            let updated = match change {
                GraphChange::UpsertRelationship(input) => graph.upsert_relationship(input),
                GraphChange::RemoveRelationship(uri) => {
                    graph.remove_relationship(&uri);
                    Ok(())
                }
                GraphChange::UpsertAttestation(input) => graph.upsert_attestation(input),
                GraphChange::RemoveAttestation(uri) => {
                    graph.remove_attestation(&uri);
                    Ok(())
                }
            };
            if let Err(error) = updated {
                *plan = Err(permanent(error));
            }
        }
    }

    /// Applies a profile event on its own: entities are not batched.
    async fn apply_profile(&self, event: &Event) -> Result<Applied, HandlerError> {
        match event.body() {
            EventBody::EntityProfileCreated(record) | EventBody::EntityProfileUpdated(record) => {
                let (uri, cid) = record_address(event)?;
                self.put_profile(event, uri, cid, record).await
            }
            _ => self.delete_profile(event, record_uri(event)?).await,
        }
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
    async fn publish(&self, event: &Event, uri: Option<&AtUri>, dids: Vec<Did>) -> Applied {
        let change = change_of(event, uri, dids);
        crate::answer_cache::invalidate_changes(&self.cache, [&change]).await;
        Applied::Changed(self.feed.publish(change))
    }
}

/// The change `event` made to the record at `uri` (if any), concerning `dids`.
fn change_of(event: &Event, uri: Option<&AtUri>, mut dids: Vec<Did>) -> Change {
    dids.sort();
    dids.dedup();
    Change {
        seq: 0,
        event_id: event.id().as_str().to_owned(),
        kind: event.kind(),
        uri: uri.cloned(),
        dids,
    }
}

fn store_error(error: StoreError) -> HandlerError {
    if error.is_retryable() {
        HandlerError::Unavailable(error.to_string())
    } else {
        HandlerError::Permanent(error.to_string())
    }
}

fn permanent(error: impl std::fmt::Display) -> HandlerError {
    HandlerError::Permanent(error.to_string())
}
