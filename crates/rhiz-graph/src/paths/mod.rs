//! `find_paths`: the strongest (or shortest) paths between two DIDs.

mod search;

use std::sync::PoisonError;

use rhiz_protocol::{AtUri, Cid, Did};

#[cfg(test)]
pub(crate) use search::cmp_strength;
pub(crate) use search::total_strength;
pub(crate) use search::Scratch;
use search::{Filter, RawPath};

use crate::{Graph, GraphError};

/// How [`Graph::find_paths`] ranks paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PathAlgorithm {
    /// Strongest first: the highest `total_strength` (product of the hop
    /// strengths) within `max_hops`.
    #[default]
    Strongest,
    /// Fewest hops first, then strongest among those.
    Shortest,
}

/// The constraints of a path query (PROTOCOL.md "Graph queries").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathQuery {
    /// At most this many hops, 1–10, inclusive: a target exactly at
    /// `max_hops` is found. Default 6.
    pub max_hops: u8,
    /// Every relationship on the path has at least this strength, 0–100.
    /// Default 50.
    pub min_strength: u8,
    /// When `Some` and not empty, every relationship on the path has one of
    /// these types (exact match; unknown names match nothing). `None` or an
    /// empty list allow every type but [`DISTRUST_TYPE`](crate::DISTRUST_TYPE):
    /// a distrust record is an opinion, not a tie to travel along; name it
    /// to allow it.
    pub relationship_types: Option<Vec<String>>,
    /// DIDs the path never visits, endpoints included.
    pub exclude_dids: Vec<Did>,
    /// At most this many distinct paths, 1–100. Default 5.
    pub limit: usize,
    /// Strongest or shortest first.
    pub algorithm: PathAlgorithm,
}

impl Default for PathQuery {
    fn default() -> Self {
        Self {
            max_hops: 6,
            min_strength: 50,
            relationship_types: None,
            exclude_dids: Vec::new(),
            limit: 5,
            algorithm: PathAlgorithm::Strongest,
        }
    }
}

/// One hop of a path: a relationship crossed from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The DID the hop leaves.
    pub from: Did,
    /// The DID the hop reaches.
    pub to: Did,
    /// The relationship's AT-URI.
    pub relationship: AtUri,
    /// The relationship's CID.
    pub cid: Cid,
    /// The relationship's strength, 0–100.
    pub strength: u8,
}

/// A path between two DIDs that visits no DID twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// The hops in order, from the query's `from` to its `to`.
    pub hops: Vec<Hop>,
    /// `round(100 × Π strength/100)` over the hops (halves round up).
    pub total_strength: u8,
}

impl Graph {
    /// The best paths from `from` to `to` under `query`, best first
    /// (PROTOCOL.md): the first is exactly the strongest (or, with
    /// [`PathAlgorithm::Shortest`], the strongest of the fewest hops).
    ///
    /// The following ones are the strongest other paths the search met on
    /// its way, distinct and sorted the same way; they are usually, but not
    /// provably, the true runners-up. Paths of equal strength come fewer
    /// hops first. An empty result means no path satisfies the query.
    /// Relationships that are not discoverable are never used.
    ///
    /// # Errors
    ///
    /// [`GraphError::SameEndpoints`] when `from == to`;
    /// [`GraphError::MaxHopsOutOfRange`], [`GraphError::MinStrengthOutOfRange`]
    /// and [`GraphError::LimitOutOfRange`] for bad parameters;
    /// [`GraphError::UnknownDid`] when `from` or `to` was never seen.
    ///
    /// ```
    /// # use rhiz_graph::synthetic::relationship;
    /// use rhiz_graph::{Graph, PathQuery};
    ///
    /// let mut graph = Graph::new();
    /// graph.upsert_relationship(relationship("did:plc:a", "did:plc:b", 85, "r1"))?;
    /// graph.upsert_relationship(relationship("did:plc:b", "did:plc:c", 78, "r2"))?;
    ///
    /// let paths = graph.find_paths(
    ///     &"did:plc:a".parse()?,
    ///     &"did:plc:c".parse()?,
    ///     &PathQuery::default(),
    /// )?;
    /// assert_eq!(paths[0].hops.len(), 2);
    /// assert_eq!(paths[0].total_strength, 66);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn find_paths(
        &self,
        from: &Did,
        to: &Did,
        query: &PathQuery,
    ) -> Result<Vec<Path>, GraphError> {
        if from == to {
            return Err(GraphError::SameEndpoints(from.clone()));
        }
        if !(1..=10).contains(&query.max_hops) {
            return Err(GraphError::MaxHopsOutOfRange(query.max_hops));
        }
        if query.min_strength > 100 {
            return Err(GraphError::MinStrengthOutOfRange(query.min_strength));
        }
        if !(1..=100).contains(&query.limit) {
            return Err(GraphError::LimitOutOfRange(query.limit));
        }
        let s = self.known(from)?;
        let t = self.known(to)?;
        let filter = Filter {
            min_strength: query.min_strength,
            allowed_types: self.path_types(query.relationship_types.as_deref()),
        };
        let excluded: Vec<u32> = query
            .exclude_dids
            .iter()
            .filter_map(|did| self.did_id(did))
            .map(|id| id.0)
            .collect();
        let mut scratch = self
            .scratch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default();
        let raw = scratch.find(
            self,
            s,
            t,
            &excluded,
            &filter,
            query.max_hops,
            query.algorithm == PathAlgorithm::Shortest,
            query.limit,
        );
        self.scratch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(scratch);
        Ok(raw.iter().map(|p| self.render_path(p)).collect())
    }

    fn known(&self, did: &Did) -> Result<u32, GraphError> {
        self.did_id(did)
            .map(|id| id.0)
            .ok_or_else(|| GraphError::UnknownDid(did.clone()))
    }

    /// The type filter as a table by type index; `None` allows all.
    pub(crate) fn allowed_types(&self, names: Option<&[String]>) -> Option<Vec<bool>> {
        let names = names.filter(|n| !n.is_empty())?;
        let mut allowed = vec![false; self.types.len()];
        for kind in names.iter().filter_map(|n| self.type_id(n)) {
            allowed[usize::from(kind)] = true;
        }
        Some(allowed)
    }

    /// [`Graph::allowed_types`], with distrust records left out when no
    /// type is named.
    fn path_types(&self, names: Option<&[String]>) -> Option<Vec<bool>> {
        if names.is_some_and(|n| !n.is_empty()) {
            return self.allowed_types(names);
        }
        let distrust = self.type_id(crate::DISTRUST_TYPE)?;
        let mut allowed = vec![true; self.types.len()];
        allowed[usize::from(distrust)] = false;
        Some(allowed)
    }

    fn render_path(&self, path: &RawPath) -> Path {
        let hops = path
            .edges
            .iter()
            .zip(path.nodes.windows(2))
            .map(|(&(rel, strength), pair)| {
                let slot = self.targets.get(rel);
                let data = slot
                    .value
                    .live
                    .as_ref()
                    .expect("paths use live relationships");
                Hop {
                    from: self.names.did(crate::DidId(pair[0])).clone(),
                    to: self.names.did(crate::DidId(pair[1])).clone(),
                    relationship: self.names.uri(&slot.name),
                    cid: data.cid.to_text().parse().expect("stored from a valid CID"),
                    strength,
                }
            })
            .collect();
        Path {
            hops,
            total_strength: total_strength(path.product, path.hops()),
        }
    }
}

#[cfg(test)]
mod tests;
