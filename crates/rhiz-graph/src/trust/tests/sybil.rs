//! Sybil resistance: an honest network of communities (preferential
//! attachment inside each, random bridges between them) and a region of
//! 1,000 Sybil DIDs densely linked to each other at strength 100, attached
//! to the honest network by 3 attack edges that honest DIDs chose at random
//! (mutual, strength 100: the worst case of an honest endorsement).
//!
//! Sizes: 100,000 honest DIDs under `--release`
//! (`cargo test -p rhiz-graph --release sybil`); 20,000 in a debug build
//! (the CI default), where building the full graph alone would take
//! minutes. The Sybil region is 1,000 DIDs in both.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use rhiz_protocol::Did;

use crate::synthetic::{did, preferential_attachment_from, relationship, SplitMix64};
use crate::{Graph, RelationshipInput};

const COMMUNITIES: u64 = 10;
const SYBILS: u64 = 1_000;
/// Each Sybil links to this many others.
const SYBIL_LINKS: u64 = 10;
const ATTACK_EDGES: u64 = 3;

fn honest_count() -> u64 {
    if cfg!(debug_assertions) {
        20_000
    } else {
        100_000
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap()
}

/// The honest DIDs are `did(0..honest)`, the Sybils the next 1,000.
struct Scenario {
    relationships: Vec<RelationshipInput>,
    honest: u64,
    seeds: Vec<Did>,
}

fn scenario() -> Scenario {
    let honest = honest_count();
    let size = honest / COMMUNITIES;
    let mut rng = SplitMix64::new(2024);
    let mut relationships = Vec::new();
    for c in 0..COMMUNITIES {
        relationships.extend(preferential_attachment_from(c * size, size, 3, 100 + c));
    }
    // Bridges between communities: 1 per 100 honest DIDs.
    for i in 0..honest / 100 {
        let a = rng.below(honest);
        let b = (a + size * (1 + rng.below(COMMUNITIES - 1))) % honest;
        let strength = 30 + rng.below(71) as u8;
        relationships.push(relationship(
            &did(a),
            &did(b),
            strength,
            &format!("bridge{i}"),
        ));
    }
    for s in 0..SYBILS {
        for k in 0..SYBIL_LINKS {
            let other = (s + 1 + rng.below(SYBILS - 1)) % SYBILS;
            relationships.push(relationship(
                &did(honest + s),
                &did(honest + other),
                100,
                &format!("sybil{k}"),
            ));
        }
    }
    for i in 0..ATTACK_EDGES {
        let victim = rng.below(honest);
        let sybil = honest + rng.below(SYBILS);
        relationships.push(relationship(
            &did(victim),
            &did(sybil),
            100,
            &format!("attack{i}"),
        ));
    }
    // Seeds: the two founding DIDs of each community.
    let seeds = (0..COMMUNITIES)
        .flat_map(|c| [c * size, c * size + 1])
        .map(|n| did(n).parse().unwrap())
        .collect();
    Scenario {
        relationships,
        honest,
        seeds,
    }
}

/// The median of `values`.
fn median<T: Copy + PartialOrd>(values: &[T]) -> T {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    sorted[sorted.len() / 2]
}

/// Test-only baselines on a plain adjacency list: DIDs numbered as in the
/// scenario.
struct Plain {
    /// Neighbours with the relationship's strength / 100, both directions.
    adjacency: Vec<Vec<(usize, f64)>>,
}

impl Plain {
    fn new(scenario: &Scenario) -> Self {
        let n = (scenario.honest + SYBILS) as usize;
        let number: HashMap<String, usize> = (0..n).map(|i| (did(i as u64), i)).collect();
        let mut adjacency = vec![Vec::new(); n];
        for r in &scenario.relationships {
            let [a, b] = r.participants.each_ref().map(|d| number[d.as_str()]);
            let w = f64::from(r.strength.get()) / 100.0;
            adjacency[a].push((b, w));
            adjacency[b].push((a, w));
        }
        Self { adjacency }
    }

    /// Degree centrality: the number of relationships.
    fn degree(&self) -> Vec<f64> {
        self.adjacency.iter().map(|l| l.len() as f64).collect()
    }

    /// Classic PageRank: uniform teleport (α = 0.15) over every DID,
    /// strength-weighted steps, 100 iterations.
    fn pagerank(&self) -> Vec<f64> {
        let n = self.adjacency.len();
        let out: Vec<f64> = self
            .adjacency
            .iter()
            .map(|l| l.iter().map(|e| e.1).sum())
            .collect();
        let mut r = vec![1.0 / n as f64; n];
        for _ in 0..100 {
            let mut next = vec![0.15 / n as f64; n];
            for (u, list) in self.adjacency.iter().enumerate() {
                for &(v, w) in list {
                    next[v] += 0.85 * r[u] * w / out[u];
                }
            }
            r = next;
        }
        r
    }
}

/// How many Sybils score strictly above the median honest DID.
fn sybils_above_median(score: &[f64], honest: usize) -> usize {
    let m = median(&score[..honest]);
    score[honest..].iter().filter(|&&s| s > m).count()
}

#[test]
fn sybil_region_stays_below_the_median_honest_did_where_degree_and_pagerank_do_not() {
    let scenario = scenario();
    let honest = scenario.honest as usize;
    let mut graph = Graph::new();
    graph.bulk_load(scenario.relationships.clone()).unwrap();
    let table = graph.compute_trust(&scenario.seeds, now());
    assert!(table.iterations().1, "converged");

    let explain = |n: usize| table.explain(&did(n as u64).parse().unwrap()).unwrap();
    let rows: Vec<_> = (0..honest + SYBILS as usize).map(explain).collect();
    let mass: Vec<f64> = rows.iter().map(|w| w.mass).collect();
    let reputation: Vec<u8> = rows.iter().map(|w| w.metrics.reputation).collect();
    let median_mass = median(&mass[..honest]);
    let median_reputation = median(&reputation[..honest]);
    let top_sybil_mass = mass[honest..].iter().cloned().fold(0.0, f64::max);
    let top_sybil_reputation = reputation[honest..].iter().max().copied().unwrap_or(0);
    let sybil_total: f64 = mass[honest..].iter().sum();
    println!(
        "{honest} honest: median mass {median_mass:.3e}, reputation {median_reputation}; \
         sybils: top mass {top_sybil_mass:.3e}, top reputation {top_sybil_reputation}, \
         total mass {sybil_total:.3e}"
    );
    assert!(top_sybil_mass < median_mass);
    assert!(top_sybil_reputation <= median_reputation);
    // The whole region holds less than one median honest DID's mass ×
    // 1,000 / 10: dense self-links bring it nothing.
    assert!(sybil_total < median_mass * SYBILS as f64 / 10.0);

    // The baselines would rank (almost) every Sybil above the median.
    let plain = Plain::new(&scenario);
    let by_degree = sybils_above_median(&plain.degree(), honest);
    let by_pagerank = sybils_above_median(&plain.pagerank(), honest);
    println!("above the median honest DID: degree {by_degree}, PageRank {by_pagerank} of {SYBILS}");
    assert_eq!(by_degree, SYBILS as usize);
    assert!(by_pagerank > SYBILS as usize * 9 / 10);
    let by_reputation = sybils_above_median(&mass, honest);
    assert_eq!(by_reputation, 0);
}
