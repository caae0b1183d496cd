//! The trust graph the queries run on: built from the store at start-up,
//! then changed only by the apply step, in the same order as the store.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use rhiz_graph::{AttestationInput, Graph, RelationshipInput};
use rhiz_protocol::{Attestation, RelationshipRecord};
use rhiz_store::{Store, StoreError, StoredAttestation, StoredRelationship};

/// Rows read from the store per page during the start-up load.
const LOAD_PAGE: u32 = 10_000;

/// The in-memory graph behind a read/write lock.
///
/// Readers hold the read lock for one query; the apply step holds the write
/// lock for one update, after the store transaction committed, so a query
/// never sees a relationship the store does not hold.
#[derive(Debug, Default)]
pub struct LiveGraph {
    graph: RwLock<Graph>,
}

/// What the start-up load read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadReport {
    /// Relationships loaded.
    pub relationships: usize,
    /// Attestations loaded.
    pub attestations: usize,
    /// How long it took.
    pub elapsed: Duration,
}

impl LiveGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the graph from every relationship and attestation in `store`.
    ///
    /// A stored record that no longer parses is a [`StoreError::Corrupt`]:
    /// the graph never holds anything the store does not.
    pub async fn load(store: &dyn Store) -> Result<(Self, LoadReport), StoreError> {
        let started = Instant::now();
        let mut relationships = Vec::new();
        let mut after = None;
        loop {
            let page = store.list_relationships(after.as_ref(), LOAD_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.uri.clone());
            for stored in &page {
                relationships.push(relationship_input(stored)?);
            }
        }
        let mut graph = Graph::new();
        let relationship_count = relationships.len();
        graph
            .bulk_load(relationships)
            .map_err(|error| corrupt("relationships", error))?;
        let mut attestation_count = 0;
        let mut after = None;
        loop {
            let page = store.list_attestations(after.as_ref(), LOAD_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.uri.clone());
            for stored in &page {
                graph
                    .upsert_attestation(attestation_input(stored)?)
                    .map_err(|error| corrupt("attestations", error))?;
                attestation_count += 1;
            }
        }
        let report = LoadReport {
            relationships: relationship_count,
            attestations: attestation_count,
            elapsed: started.elapsed(),
        };
        Ok((
            Self {
                graph: RwLock::new(graph),
            },
            report,
        ))
    }

    /// The graph for reading.
    pub fn read(&self) -> RwLockReadGuard<'_, Graph> {
        self.graph.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The graph for one update by the apply step.
    pub fn write(&self) -> RwLockWriteGuard<'_, Graph> {
        self.graph.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The graph's view of a stored relationship, from its full record.
pub fn relationship_input(stored: &StoredRelationship) -> Result<RelationshipInput, StoreError> {
    let record = RelationshipRecord::from_json(&stored.record)
        .map_err(|error| corrupt("relationships.record", error))?;
    Ok(RelationshipInput::from_record(
        stored.uri.clone(),
        stored.cid.clone(),
        &record,
    ))
}

/// The graph's view of a stored attestation, from its full record.
pub fn attestation_input(stored: &StoredAttestation) -> Result<AttestationInput, StoreError> {
    let record = Attestation::from_json(&stored.record)
        .map_err(|error| corrupt("attestations.record", error))?;
    Ok(AttestationInput::from_record(stored.uri.clone(), &record))
}

fn corrupt(column: &'static str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        column,
        reason: error.to_string(),
    }
}
