//! The Rhiz trust graph in memory: strongest paths, neighbors, conviction
//! and network statistics over relationships between DIDs.
//!
//! A [`Graph`] is an index kept current by four updates —
//! [`Graph::upsert_relationship`], [`Graph::remove_relationship`],
//! [`Graph::upsert_attestation`], [`Graph::remove_attestation`] — and read by
//! [`Graph::find_paths`], [`Graph::neighbors`], [`Graph::conviction`] and
//! [`Graph::network_stats`], and summarized per DID by
//! [`Graph::compute_trust`] (the trust metrics; formulas on [`TrustTable`]).
//! Everything is pure and deterministic: no I/O,
//! no clock (a query that needs "now" takes it as an argument), no
//! randomness. Reads take `&self` and may run from many threads at once.
//!
//! ```
//! use rhiz_graph::synthetic::relationship;
//! use rhiz_graph::{Graph, NeighborQuery, PathQuery};
//!
//! let mut graph = Graph::new();
//! graph.upsert_relationship(relationship("did:plc:alice", "did:plc:bob", 85, "3kabc"))?;
//! graph.upsert_relationship(relationship("did:plc:bob", "did:plc:carol", 78, "3kabd"))?;
//! graph.upsert_relationship(relationship("did:plc:alice", "did:plc:carol", 60, "3kabe"))?;
//!
//! let (alice, carol) = ("did:plc:alice".parse()?, "did:plc:carol".parse()?);
//! let paths = graph.find_paths(&alice, &carol, &PathQuery::default())?;
//! // Two hops of 85 and 78 (66) beat the direct 60.
//! assert_eq!(paths[0].total_strength, 66);
//! assert_eq!(paths[1].total_strength, 60);
//!
//! let page = graph.neighbors(&alice, &NeighborQuery::default())?;
//! assert_eq!(page.neighbors.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Memory: about 186 bytes per relationship on a million of them, interned
//! DIDs included (`Graph::memory_bytes`; figures in `BENCHMARKS.md`). At
//! start-up, load the stored relationships with [`Graph::bulk_load`], then
//! apply each change of the feed with the four updates.

mod compact;
mod conviction;
mod error;
mod graph;
mod names;
mod neighbors;
mod paths;
mod stats;
#[doc(hidden)]
pub mod synthetic;
mod trust;
mod uri_order;

#[cfg(test)]
mod tests;

pub use conviction::Conviction;
pub use error::GraphError;
pub use graph::{AttestationInput, Graph, RelationshipInput, DEFAULT_REPUTATION};
pub use names::DidId;
pub use neighbors::{Neighbor, NeighborPage, NeighborQuery};
pub use paths::{Hop, Path, PathAlgorithm, PathQuery};
pub use stats::{DegreeBucket, NetworkStats};
pub use trust::{
    Explanation, SeedSource, TrustConfig, TrustMetrics, TrustSnapshot, TrustTable, DISTRUST_TYPE,
};
