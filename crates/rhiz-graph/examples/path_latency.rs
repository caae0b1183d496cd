//! Builds a graph (see `support/dataset.rs`: the seeded preferential
//! attachment by default, `DATASET=gen` for `rhiz gen` data) and prints
//! build time, bytes per relationship, and the latency distribution of
//! `find_paths`, `neighbors` and `conviction` over random pairs. As a
//! baseline in the same run it times an exact strongest-path computation
//! without the index: a dynamic program by hop count (Bellman–Ford limited
//! to `maxHops`) over a plain adjacency list, on 50 other random pairs.
//!
//! ```text
//! cargo run --release -p rhiz-graph --example path_latency -- [DIDS] [PER_DID] [PAIRS]
//! DATASET=gen cargo run --release -p rhiz-graph --example path_latency -- 0 0 [PAIRS]
//! ```
//!
//! Defaults: 200,000 DIDs × 5 = 1,000,000 relationships, 1,000 pairs. With
//! `SHOW_SLOWEST=1` it also prints the 15 slowest pairs (time, hops, strength).

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/dataset.rs"]
mod dataset;

use std::collections::HashMap;
use std::time::Instant;

use dataset::Dataset;
use rhiz_graph::synthetic::{latency_percentiles, SplitMix64};
use rhiz_graph::{Graph, NeighborQuery, PathQuery};
use rhiz_protocol::Did;

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .map_or(default, |a| a.parse().expect("a number"))
}

fn main() {
    let (dids, per_did, pairs) = (arg(1, 200_000), arg(2, 5), arg(3, 1_000));
    let data = Dataset::from_env(dids, per_did);
    println!("{}", data.description);
    let count = data.relationships.len();
    let baseline = PlainGraph::new(&data.relationships);

    let started = Instant::now();
    let mut graph = Graph::new();
    graph
        .bulk_load(data.relationships)
        .expect("valid relationships");
    let build = started.elapsed();
    let bytes = graph.memory_bytes();
    println!(
        "{count} relationships, {} DIDs: bulk load {build:?}, {bytes} bytes = {:.1} bytes/relationship",
        data.dids.len(),
        bytes as f64 / count as f64
    );

    let now = data.now;
    let started = Instant::now();
    let attested: Vec<_> = data.attestations.iter().map(|a| a.target.clone()).collect();
    for att in data.attestations {
        graph.upsert_attestation(att).expect("valid attestation");
    }
    println!(
        "{} attestations upserted in {:?}",
        attested.len(),
        started.elapsed()
    );

    let mut rng = SplitMix64::new(7);
    let dids = &data.dids;
    let pick =
        |rng: &mut SplitMix64| -> Did { dids[rng.below(dids.len() as u64) as usize].clone() };
    let query = PathQuery::default();
    let mut times = Vec::with_capacity(pairs as usize);
    let mut slowest = Vec::new();
    let mut found = 0;
    let mut hops = 0;
    for _ in 0..pairs {
        let (a, b) = (pick(&mut rng), pick(&mut rng));
        if a == b {
            continue;
        }
        let started = Instant::now();
        let paths = graph.find_paths(&a, &b, &query).expect("valid query");
        times.push(started.elapsed());
        slowest.push((
            started.elapsed(),
            paths.first().map(|p| (p.hops.len(), p.total_strength)),
        ));
        if let Some(p) = paths.first() {
            found += 1;
            hops += p.hops.len();
        }
    }
    println!(
        "find_paths (maxHops 6, minStrength 50, limit 5) over {} pairs, {found} with a path (mean {:.2} hops): {}",
        times.len(),
        hops as f64 / found.max(1) as f64,
        latency_percentiles(times)
    );
    if std::env::var_os("SHOW_SLOWEST").is_some() {
        slowest.sort();
        println!("slowest: {:?}", &slowest[slowest.len() - 15..]);
    }

    let mut rng_baseline = SplitMix64::new(99);
    let mut times = Vec::new();
    let mut agree = 0;
    for _ in 0..50 {
        let (a, b) = (pick(&mut rng_baseline), pick(&mut rng_baseline));
        if a == b {
            continue;
        }
        let started = Instant::now();
        let expected = baseline.strongest(&a, &b, 6, 50);
        times.push(started.elapsed());
        let found = graph.find_paths(&a, &b, &query).expect("valid query");
        let product = |p: &rhiz_graph::Path| {
            p.hops
                .iter()
                .map(|h| f64::from(h.strength) / 100.0)
                .product::<f64>()
        };
        let same = match (found.first().map(product), expected) {
            (Some(p), Some(e)) => (p - e).abs() <= 1e-12 * e,
            (p, e) => p.is_none() && e.is_none(),
        };
        if same {
            agree += 1;
        }
    }
    println!(
        "baseline: exact DP by hop count over a plain adjacency list, {} pairs ({agree} agree with find_paths): {}",
        times.len(),
        latency_percentiles(times)
    );

    let one = PathQuery {
        limit: 1,
        ..PathQuery::default()
    };
    let mut times = Vec::new();
    for _ in 0..pairs {
        let (a, b) = (pick(&mut rng), pick(&mut rng));
        if a != b {
            let started = Instant::now();
            graph.find_paths(&a, &b, &one).expect("valid query");
            times.push(started.elapsed());
        }
    }
    println!("find_paths with limit 1: {}", latency_percentiles(times));

    let mut times = Vec::new();
    for _ in 0..10_000 {
        let a = pick(&mut rng);
        let started = Instant::now();
        graph
            .neighbors(&a, &NeighborQuery::default())
            .expect("valid query");
        times.push(started.elapsed());
    }
    println!("neighbors (limit 50): {}", latency_percentiles(times));

    let mut times = Vec::new();
    for _ in 0..10_000 {
        let uri = &attested[rng.below(attested.len() as u64) as usize];
        let started = Instant::now();
        graph.conviction(uri, now).expect("known");
        times.push(started.elapsed());
    }
    println!("conviction: {}", latency_percentiles(times));

    let started = Instant::now();
    let stats = graph.network_stats();
    println!(
        "network_stats in {:?}: {} components, largest {}",
        started.elapsed(),
        stats.component_count,
        stats.largest_component
    );
}

/// The baseline: discoverable relationships as plain adjacency lists, no
/// index.
struct PlainGraph {
    ids: HashMap<String, usize>,
    adjacency: Vec<Vec<(usize, u8)>>,
}

impl PlainGraph {
    fn new(relationships: &[rhiz_graph::RelationshipInput]) -> Self {
        let mut ids = HashMap::new();
        let mut adjacency: Vec<Vec<(usize, u8)>> = Vec::new();
        for r in relationships {
            let [a, b] = r.participants.each_ref().map(|d| {
                let next = ids.len();
                *ids.entry(d.as_str().to_owned()).or_insert(next)
            });
            adjacency.resize_with(ids.len(), Vec::new);
            if r.discoverable {
                adjacency[a].push((b, r.strength.get()));
                adjacency[b].push((a, r.strength.get()));
            }
        }
        Self { ids, adjacency }
    }

    /// The strongest product within `max_hops` hops (walks; a strongest walk
    /// shortcuts to a path as strong).
    fn strongest(&self, from: &Did, to: &Did, max_hops: u8, min_strength: u8) -> Option<f64> {
        let (s, t) = (self.ids[from.as_str()], self.ids[to.as_str()]);
        let mut layer = vec![0.0f64; self.adjacency.len()];
        layer[s] = 1.0;
        let mut best: Option<f64> = None;
        for _ in 0..max_hops {
            let mut next = vec![0.0f64; self.adjacency.len()];
            for (v, &p) in layer.iter().enumerate().filter(|(_, p)| **p > 0.0) {
                for &(w, strength) in self.adjacency[v]
                    .iter()
                    .filter(|(_, st)| *st >= min_strength)
                {
                    next[w] = next[w].max(p * f64::from(strength) / 100.0);
                }
            }
            if next[t] > 0.0 {
                best = Some(best.map_or(next[t], |b| b.max(next[t])));
            }
            layer = next;
        }
        best
    }
}
