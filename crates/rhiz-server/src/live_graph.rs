//! The trust graph the queries run on: built from the store at start-up,
//! then changed only by the apply step, in the same order as the store.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use rhiz_graph::{AttestationInput, Graph, RelationshipInput};
use rhiz_protocol::Percent;
use rhiz_store::{AttestationEdge, RelationshipEdge, Store, StoreError};

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

    /// Builds the graph from every relationship and attestation in `store`,
    /// reading their columns ([`Store::relationship_edges`],
    /// [`Store::attestation_edges`]), not their records.
    ///
    /// A stored value the graph rejects is a [`StoreError::Corrupt`]: the
    /// graph never holds anything the store does not.
    pub async fn load(store: &dyn Store) -> Result<(Self, LoadReport), StoreError> {
        let started = Instant::now();
        let (relationships, attestations) =
            tokio::try_join!(store.relationship_edges(), store.attestation_edges())?;
        let relationships = relationships
            .into_iter()
            .map(relationship_input)
            .collect::<Result<Vec<_>, _>>()?;
        let mut graph = Graph::new();
        let relationship_count = relationships.len();
        graph
            .bulk_load(relationships)
            .map_err(|error| corrupt("relationships", error))?;
        let attestation_count = attestations.len();
        for edge in attestations {
            graph
                .upsert_attestation(attestation_input(edge)?)
                .map_err(|error| corrupt("attestations", error))?;
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

/// The graph's view of a stored relationship.
fn relationship_input(edge: RelationshipEdge) -> Result<RelationshipInput, StoreError> {
    Ok(RelationshipInput {
        strength: percent("relationships.strength", edge.strength)?,
        uri: edge.uri,
        cid: edge.cid,
        participants: edge.participants,
        relationship_type: edge.rel_type,
        discoverable: edge.discoverable,
        last_interaction: edge.last_interaction_at,
        signed: edge.signed,
        strength_deviation: edge.strength_deviation,
    })
}

/// The graph's view of a stored attestation.
fn attestation_input(edge: AttestationEdge) -> Result<AttestationInput, StoreError> {
    Ok(AttestationInput {
        attestation_type: edge
            .attestation_type
            .parse()
            .map_err(|error| corrupt("attestations.attestation_type", error))?,
        confidence: percent("attestations.confidence", edge.confidence)?,
        uri: edge.uri,
        attester: edge.attester,
        target: edge.target,
        created_at: edge.created_at,
    })
}

fn percent(column: &'static str, value: u8) -> Result<Percent, StoreError> {
    Percent::new(value).ok_or_else(|| corrupt(column, format!("{value} is not within 0..=100")))
}

fn corrupt(column: &'static str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        column,
        reason: error.to_string(),
    }
}
