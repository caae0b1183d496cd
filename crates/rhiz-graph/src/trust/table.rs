//! The computed table: metrics and their inputs per DID, looked up by DID.

use chrono::{DateTime, Utc};
use hashbrown::HashTable;
use rhiz_protocol::Did;

use crate::names::hash_str;
use crate::trust::inputs::Inputs;
use crate::trust::propagation::{propagate, Propagation};
use crate::trust::scores::{own_figures, reputation, trust_score, OwnFigures};
use crate::trust::TrustConfig;
use crate::Graph;

/// The trust metrics of one DID (PROTOCOL.md "Trust metrics"; the lexicon's
/// `net.rhiz.trust.metrics` fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustMetrics {
    /// `trustScore`, 0–100.
    pub trust_score: u8,
    /// `reputation`, 0–100.
    pub reputation: u8,
    /// `reciprocity`, 0–100.
    pub reciprocity: u8,
    /// `consistency`, 0–100.
    pub consistency: u8,
    /// `relationshipCount`: live relationships, distrust records aside.
    pub relationship_count: u32,
    /// `verifiedRelationshipCount`: those with conviction ≥ 70.
    pub verified_relationship_count: u32,
    /// Those with a last interaction in the 30 days before `now` (or
    /// after): the trust-health route's `recent_activity`. Not part of any
    /// score.
    pub recent_relationship_count: u32,
}

/// Where the seeds of a table come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedSource {
    /// The seed DIDs the caller gave (those the graph knows).
    Configured,
    /// None of the given seeds was known: the DIDs with the largest weighted
    /// degree. Not Sybil-resistant.
    Fallback,
}

impl SeedSource {
    /// `"configured"` or `"fallback"`, for responses and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Configured => "configured",
            Self::Fallback => "fallback",
        }
    }
}

/// Every input of one DID's metrics, from [`TrustTable::explain`]: the
/// formulas of [`TrustTable`] applied to these numbers give
/// the metrics back.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The DID explained.
    pub did: Did,
    /// Its metrics.
    pub metrics: TrustMetrics,
    /// The seeds of the propagation, in DID order.
    pub seeds: Vec<Did>,
    /// Where the seeds come from.
    pub seed_source: SeedSource,
    /// α, the restart probability.
    pub restart_probability: f64,
    /// Power iterations run.
    pub iterations: u32,
    /// Whether the iteration reached the tolerance.
    pub converged: bool,
    /// The L1 change of the last iteration.
    pub residual: f64,
    /// `N`: DIDs in the propagation.
    pub participants: usize,
    /// `r(v)`: the propagated mass, before distrust.
    pub propagated_mass: f64,
    /// `p(v)`: the distrust penalty.
    pub distrust_penalty: f64,
    /// `m(v) = max(0, r(v) − p(v))`, the mass the reputation scales.
    pub mass: f64,
    /// DIDs with a trust edge to this one (endorsing a discoverable
    /// relationship with it, weight > 0).
    pub trusted_by: u32,
    /// DIDs this one has a trust edge to.
    pub trusts: u32,
    /// DIDs distrusting this one.
    pub distrusted_by: u32,
    /// Σ strength of its mutual relationships (reciprocity's numerator).
    pub mutual_strength: u64,
    /// Σ strength of its relationships (reciprocity's denominator).
    pub total_strength: u64,
    /// Mean recency of its relationships (consistency's first term).
    pub mean_recency: f64,
    /// Mean `1 − σ/50` of its relationships (consistency's second term).
    pub mean_stability: f64,
    /// `n_v / n`, 0 when `n = 0` (trust score's last term).
    pub verified_share: f64,
    /// The `now` of the computation.
    pub computed_at: DateTime<Utc>,
    /// [`Graph::version`] at the computation.
    pub graph_version: u64,
}

/// DIDs as one text buffer: two allocations rather than one per DID.
#[derive(Debug, Default)]
struct DidText {
    text: String,
    /// Where each DID ends in `text`; it starts where the previous ends.
    ends: Vec<usize>,
}

impl DidText {
    fn push(&mut self, did: &str) {
        self.text.push_str(did);
        self.ends.push(self.text.len());
    }

    /// The DID at `pos`, which must be below the number pushed.
    fn get(&self, pos: usize) -> &str {
        let start = pos.checked_sub(1).map_or(0, |prev| self.ends[prev]);
        &self.text[start..self.ends[pos]]
    }
}

/// One DID's row.
#[derive(Debug, Clone, Copy)]
struct Row {
    metrics: TrustMetrics,
    own: OwnFigures,
    propagated_mass: f64,
    distrust_penalty: f64,
    trusted_by: u32,
    trusts: u32,
    distrusted_by: u32,
}

/// The trust metrics of every DID a graph knew, from
/// [`Graph::compute_trust`]: an immutable snapshot, cheap to share between
/// threads (`Send + Sync`; wrap it in an `Arc` and swap it when a newer one
/// is ready).
///
#[doc = include_str!("../../docs/trust.md")]
#[derive(Debug)]
pub struct TrustTable {
    computed_at: DateTime<Utc>,
    graph_version: u64,
    config: TrustConfig,
    seeds: Vec<Did>,
    seed_source: SeedSource,
    ignored_seeds: Vec<Did>,
    iterations: u32,
    converged: bool,
    residual: f64,
    participants: usize,
    /// DIDs in DID order; `rows` is parallel.
    dids: DidText,
    rows: Vec<Row>,
    /// Positions in `dids`, hashed by DID.
    index: HashTable<u32>,
}

impl TrustTable {
    /// The metrics of `did`; `None` when the graph did not know it.
    /// A hash lookup.
    pub fn get(&self, did: &Did) -> Option<TrustMetrics> {
        Some(self.rows[self.position(did)?].metrics)
    }

    /// The metrics of `did` with every input that produced them.
    pub fn explain(&self, did: &Did) -> Option<Explanation> {
        let row = &self.rows[self.position(did)?];
        Some(Explanation {
            did: did.clone(),
            metrics: row.metrics,
            seeds: self.seeds.clone(),
            seed_source: self.seed_source,
            restart_probability: self.config.restart_probability,
            iterations: self.iterations,
            converged: self.converged,
            residual: self.residual,
            participants: self.participants,
            propagated_mass: row.propagated_mass,
            distrust_penalty: row.distrust_penalty,
            mass: (row.propagated_mass - row.distrust_penalty).max(0.0),
            trusted_by: row.trusted_by,
            trusts: row.trusts,
            distrusted_by: row.distrusted_by,
            mutual_strength: row.own.mutual_strength,
            total_strength: row.own.total_strength,
            mean_recency: row.own.mean(row.own.recency_sum),
            mean_stability: row.own.mean(row.own.stability_sum),
            verified_share: match row.own.relationships {
                0 => 0.0,
                n => f64::from(row.own.verified) / f64::from(n),
            },
            computed_at: self.computed_at,
            graph_version: self.graph_version,
        })
    }

    fn position(&self, did: &Did) -> Option<usize> {
        self.index
            .find(hash_str(did.as_str()), |&pos| {
                self.dids.get(pos as usize) == did.as_str()
            })
            .map(|&pos| pos as usize)
    }

    /// Every DID (as text) with its metrics, in DID order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, TrustMetrics)> + '_ {
        (0..self.rows.len()).map(|pos| (self.dids.get(pos), self.rows[pos].metrics))
    }

    /// How many DIDs the table holds: every DID the graph knew.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table holds no DID.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The `now` the table was computed for (`calculatedAt`).
    pub fn computed_at(&self) -> DateTime<Utc> {
        self.computed_at
    }

    /// [`Graph::version`] when the table was computed: the table reflects
    /// exactly the updates counted up to it.
    pub fn graph_version(&self) -> u64 {
        self.graph_version
    }

    /// The seeds used, in DID order.
    pub fn seeds(&self) -> &[Did] {
        &self.seeds
    }

    /// Where the seeds come from.
    pub fn seed_source(&self) -> SeedSource {
        self.seed_source
    }

    /// Seeds given that the graph did not know, in DID order.
    pub fn ignored_seeds(&self) -> &[Did] {
        &self.ignored_seeds
    }

    /// Power iterations run, and whether they reached the tolerance.
    pub fn iterations(&self) -> (u32, bool) {
        (self.iterations, self.converged)
    }

    /// The parameters used.
    pub fn config(&self) -> TrustConfig {
        self.config
    }

    /// Approximate bytes held (rows, DIDs, index): a server swapping
    /// tables holds two for a moment.
    pub fn memory_bytes(&self) -> usize {
        size_of::<Self>()
            + self.rows.capacity() * size_of::<Row>()
            + self.dids.text.capacity()
            + self.dids.ends.capacity() * size_of::<usize>()
            + self.index.capacity() * (size_of::<u32>() + 1)
            + (self.seeds.capacity() + self.ignored_seeds.capacity()) * size_of::<Did>()
    }
}

/// Computes the table of `graph` (the config is checked by the caller).
pub(crate) fn compute(
    graph: &Graph,
    seeds: &[Did],
    now: DateTime<Utc>,
    config: TrustConfig,
) -> TrustTable {
    TrustSnapshot::read(graph, seeds, now, config).compute()
}

/// Everything a trust computation needs from the graph, copied out of it:
/// [`Graph::trust_snapshot`] takes it (the part that needs the graph, a
/// fraction of the whole cost), and [`TrustSnapshot::compute`] runs the
/// propagation without it, so a caller holding the graph behind a lock
/// releases the lock for the long part.
#[derive(Debug)]
pub struct TrustSnapshot {
    inputs: Inputs,
    dids: DidText,
    seed_positions: Vec<u32>,
    seed_source: SeedSource,
    ignored_seeds: Vec<Did>,
    now: DateTime<Utc>,
    graph_version: u64,
    config: TrustConfig,
}

impl TrustSnapshot {
    pub(crate) fn read(
        graph: &Graph,
        seeds: &[Did],
        now: DateTime<Utc>,
        config: TrustConfig,
    ) -> TrustSnapshot {
        let inputs = Inputs::read(graph, now.timestamp_millis());
        let (mut seed_positions, mut ignored_seeds) = (Vec::new(), Vec::new());
        for did in seeds {
            match graph.did_id(did) {
                Some(id) => seed_positions.push(inputs.position[id.index()]),
                None => ignored_seeds.push(did.clone()),
            }
        }
        seed_positions.sort_unstable();
        seed_positions.dedup();
        ignored_seeds.sort_unstable();
        ignored_seeds.dedup();
        let seed_source = if seed_positions.is_empty() {
            seed_positions = inputs.fallback_seeds(config.fallback_seed_count);
            SeedSource::Fallback
        } else {
            SeedSource::Configured
        };
        let mut dids = DidText::default();
        for &id in &inputs.order {
            dids.push(graph.did(id).as_str());
        }
        TrustSnapshot {
            inputs,
            dids,
            seed_positions,
            seed_source,
            ignored_seeds,
            now,
            graph_version: graph.version(),
            config,
        }
    }

    /// The trust table of the snapshot: the propagation and the scores.
    pub fn compute(self) -> TrustTable {
        let TrustSnapshot {
            inputs,
            dids,
            seed_positions,
            seed_source,
            ignored_seeds,
            now,
            graph_version,
            config,
        } = self;
        let n = inputs.len();
        let propagation = propagate(&inputs, &seed_positions, &config);
        let participants = (0..n)
            .filter(|&v| inputs.has_edges(v) || seed_positions.binary_search(&(v as u32)).is_ok())
            .count();
        let own = own_figures(&inputs);
        let mut trusts = vec![0u32; n];
        for (_, u, _) in inputs.trust.iter() {
            trusts[u as usize] += 1;
        }
        let rows: Vec<Row> = own
            .iter()
            .enumerate()
            .map(|(v, own)| row(v, own, &propagation, &inputs, trusts[v], participants))
            .collect();
        let mut index = HashTable::with_capacity(n);
        for pos in 0..n {
            let pos = u32::try_from(pos).expect("fewer than 2^32 DIDs");
            index.insert_unique(hash_str(dids.get(pos as usize)), pos, |&other| {
                hash_str(dids.get(other as usize))
            });
        }
        let seeds = seed_positions
            .iter()
            .map(|&v| {
                dids.get(v as usize)
                    .parse()
                    .expect("a DID the graph interned")
            })
            .collect();
        TrustTable {
            computed_at: now,
            graph_version,
            config,
            seeds,
            seed_source,
            ignored_seeds,
            iterations: propagation.iterations,
            converged: propagation.converged,
            residual: propagation.residual,
            participants,
            dids,
            rows,
            index,
        }
    }
}

/// The row of the DID at position `v`.
fn row(
    v: usize,
    own: &OwnFigures,
    propagation: &Propagation,
    inputs: &Inputs,
    trusts: u32,
    participants: usize,
) -> Row {
    let count = |range: std::ops::Range<usize>| u32::try_from(range.len()).unwrap_or(u32::MAX);
    let reputation = reputation(propagation.final_mass(v), participants);
    let (reciprocity, consistency) = (own.reciprocity(), own.consistency());
    Row {
        metrics: TrustMetrics {
            trust_score: trust_score(
                reputation,
                reciprocity,
                consistency,
                own.verified,
                own.relationships,
            ),
            reputation,
            reciprocity,
            consistency,
            relationship_count: own.relationships,
            verified_relationship_count: own.verified,
            recent_relationship_count: own.recent,
        },
        own: *own,
        propagated_mass: propagation.mass[v],
        distrust_penalty: propagation.penalty[v],
        trusted_by: count(inputs.trust.edges_into(v)),
        trusts,
        distrusted_by: count(inputs.distrust.edges_into(v)),
    }
}
