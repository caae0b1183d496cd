//! What the trust computation reads from the graph: DIDs in DID order,
//! each relationship's conviction and recency, and the directed trust and
//! distrust edges of the propagation, grouped by target in a canonical
//! order.

use std::cmp::Ordering;

use crate::names::DidId;
use crate::trust::DISTRUST_TYPE;
use crate::Graph;

const DAY_MS: f64 = 86_400_000.0;
/// An interaction within this many milliseconds before now is recent.
const RECENT_MS: i64 = 30 * 86_400_000;
/// Half-life of `recency`, in days.
const RECENCY_HALF_LIFE_DAYS: f64 = 180.0;

/// `0.5 ^ (max(0, now − last) / 180 days)`.
pub(crate) fn recency(now_ms: i64, last_interaction_ms: i64) -> f64 {
    let age_days = now_ms.saturating_sub(last_interaction_ms).max(0) as f64 / DAY_MS;
    (-age_days / RECENCY_HALF_LIFE_DAYS).exp2()
}

/// Directed weighted edges grouped by target (compressed sparse rows),
/// sources ascending, parallel edges merged.
#[derive(Debug, Default)]
pub(crate) struct EdgesByTarget {
    /// The edges into `v` are `start[v]..start[v + 1]`.
    start: Vec<usize>,
    /// Source position of each edge.
    pub(crate) source: Vec<u32>,
    /// Weight of each edge (> 0).
    pub(crate) weight: Vec<f64>,
}

impl EdgesByTarget {
    /// Groups `(target, source, weight)` triples over `dids` positions: a
    /// counting sort by target, then each target's edges sorted by (source,
    /// weight) and parallel edges summed in that order, which makes every
    /// sum independent of the input order.
    fn build(edges: &[(u32, u32, f64)], dids: usize) -> Self {
        let mut start = vec![0usize; dids + 1];
        for &(target, _, _) in edges {
            start[target as usize + 1] += 1;
        }
        for v in 0..dids {
            start[v + 1] += start[v];
        }
        let mut fill = start.clone();
        let mut scattered = vec![(0u32, 0.0f64); edges.len()];
        for &(target, source, weight) in edges {
            let at = &mut fill[target as usize];
            scattered[*at] = (source, weight);
            *at += 1;
        }
        let mut grouped = Self {
            start: Vec::with_capacity(dids + 1),
            source: Vec::with_capacity(edges.len()),
            weight: Vec::with_capacity(edges.len()),
        };
        grouped.start.push(0);
        for v in 0..dids {
            let into = &mut scattered[start[v]..start[v + 1]];
            into.sort_unstable_by_key(|&(source, weight)| (source, weight.to_bits()));
            let first = grouped.source.len();
            for &(source, weight) in &*into {
                if grouped.source.len() > first && grouped.source.last() == Some(&source) {
                    if let Some(w) = grouped.weight.last_mut() {
                        *w += weight;
                    }
                } else {
                    grouped.source.push(source);
                    grouped.weight.push(weight);
                }
            }
            grouped.start.push(grouped.source.len());
        }
        grouped
    }

    /// The edge indexes into `v`.
    pub(crate) fn edges_into(&self, v: usize) -> std::ops::Range<usize> {
        self.start[v]..self.start[v + 1]
    }

    /// Every edge as `(target, source, weight)`, in the canonical order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, u32, f64)> + '_ {
        (0..self.start.len() - 1).flat_map(move |v| {
            self.edges_into(v)
                .map(move |e| (v, self.source[e], self.weight[e]))
        })
    }

    /// Sums of the weights by source, in the canonical order.
    fn out_sums(&self, dids: usize) -> Vec<f64> {
        let mut sums = vec![0.0; dids];
        for (_, source, weight) in self.iter() {
            sums[source as usize] += weight;
        }
        sums
    }
}

/// What one live relationship contributes, with its participants'
/// positions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts {
    /// The participants' positions.
    pub(crate) ends: [u32; 2],
    /// Whether each participant endorses it (author or signer).
    pub(crate) endorsed: [bool; 2],
    /// `recency(R)`.
    pub(crate) recency: f64,
    /// Last interaction within 30 days before now, or after now.
    pub(crate) recent: bool,
    /// Strength, 0–100.
    pub(crate) strength: u8,
    /// Strength deviation σ, 0–50.
    pub(crate) deviation: u8,
    /// Conviction score, 0–100.
    pub(crate) conviction: u8,
    /// Of type [`DISTRUST_TYPE`].
    pub(crate) distrust: bool,
}

/// The inputs of one trust computation.
#[derive(Debug)]
pub(crate) struct Inputs {
    /// Graph ids in DID order: the position of a DID is its index here.
    pub(crate) order: Vec<DidId>,
    /// The position of each graph id.
    pub(crate) position: Vec<u32>,
    /// Every live relationship.
    pub(crate) relationships: Vec<Facts>,
    /// Trust edges `u → v`, grouped by `v`.
    pub(crate) trust: EdgesByTarget,
    /// Distrust edges `u ⊣ v`, grouped by `v`.
    pub(crate) distrust: EdgesByTarget,
    /// `T(u)` by position.
    pub(crate) trust_out: Vec<f64>,
    /// `D(u)` by position.
    pub(crate) distrust_out: Vec<f64>,
}

impl Inputs {
    /// Reads `graph` as of `now_ms`.
    pub(crate) fn read(graph: &Graph, now_ms: i64) -> Self {
        let order = did_order(graph);
        let dids = order.len();
        let mut position = vec![0u32; dids];
        for (pos, id) in (0u32..).zip(&order) {
            position[id.index()] = pos;
        }
        let distrust_kind = graph.type_id(DISTRUST_TYPE);
        let mut relationships = Vec::with_capacity(graph.relationship_count());
        let mut trust = Vec::with_capacity(2 * graph.relationship_count());
        let mut distrust = Vec::new();
        for (_, target) in graph.targets.iter() {
            let Some(data) = &target.value.live else {
                continue;
            };
            let author = target.name.author;
            let facts = Facts {
                ends: data.ends.map(|end| position[end.index()]),
                endorsed: [0, 1].map(|i| data.signed[i] || data.ends[i] == author),
                recency: recency(now_ms, data.last_interaction_ms),
                recent: now_ms.saturating_sub(data.last_interaction_ms) <= RECENT_MS,
                strength: data.strength,
                deviation: data.strength_deviation,
                conviction: graph.conviction_score(&target.value),
                distrust: Some(data.kind) == distrust_kind,
            };
            relationships.push(facts);
            let weight = f64::from(facts.strength) / 100.0 * f64::from(facts.conviction) / 100.0
                * facts.recency;
            if !data.discoverable || weight <= 0.0 {
                continue;
            }
            let [a, b] = facts.ends;
            if facts.distrust {
                if let Some(i) = data.ends.iter().position(|&end| end == author) {
                    distrust.push(if i == 0 {
                        (b, a, weight)
                    } else {
                        (a, b, weight)
                    });
                }
                continue;
            }
            if facts.endorsed[0] {
                trust.push((b, a, weight));
            }
            if facts.endorsed[1] {
                trust.push((a, b, weight));
            }
        }
        let trust = EdgesByTarget::build(&trust, dids);
        let distrust = EdgesByTarget::build(&distrust, dids);
        Self {
            trust_out: trust.out_sums(dids),
            distrust_out: distrust.out_sums(dids),
            order,
            position,
            relationships,
            trust,
            distrust,
        }
    }

    /// How many DIDs the table covers.
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether the DID at `v` has a trust or distrust edge, in or out.
    pub(crate) fn has_edges(&self, v: usize) -> bool {
        self.trust_out[v] > 0.0
            || self.distrust_out[v] > 0.0
            || !self.trust.edges_into(v).is_empty()
            || !self.distrust.edges_into(v).is_empty()
    }

    /// The fallback seeds: the `k` positions with the largest weighted
    /// degree `T(u) + Σ_v t(v,u)`, ties by position (DID order), degree > 0.
    pub(crate) fn fallback_seeds(&self, k: usize) -> Vec<u32> {
        let degree = |v: usize| -> f64 {
            self.trust_out[v]
                + self
                    .trust
                    .edges_into(v)
                    .map(|e| self.trust.weight[e])
                    .sum::<f64>()
        };
        let mut ranked: Vec<(f64, u32)> = (0..self.len())
            .map(|v| (degree(v), u32::try_from(v).expect("fewer than 2^32 DIDs")))
            .filter(|&(d, _)| d > 0.0)
            .collect();
        ranked.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut seeds: Vec<u32> = ranked.into_iter().take(k).map(|(_, v)| v).collect();
        seeds.sort_unstable();
        seeds
    }
}

/// The graph's DID ids sorted by DID. The sort compares the first 16 bytes
/// as one integer and the whole DID only on a tie.
fn did_order(graph: &Graph) -> Vec<DidId> {
    let head = |id: DidId| {
        let mut bytes = [0u8; 16];
        let did = graph.did(id).as_str().as_bytes();
        let len = did.len().min(16);
        bytes[..len].copy_from_slice(&did[..len]);
        u128::from_be_bytes(bytes)
    };
    let mut keyed: Vec<(u128, DidId)> = (0..graph.names.did_count())
        .map(|i| DidId(u32::try_from(i).expect("fewer than 2^32 DIDs")))
        .map(|id| (head(id), id))
        .collect();
    keyed.sort_unstable_by(|a, b| match a.0.cmp(&b.0) {
        Ordering::Equal => graph.did(a.1).cmp(graph.did(b.1)),
        unequal => unequal,
    });
    keyed.into_iter().map(|(_, id)| id).collect()
}
