//! Times the full trust recomputation on the graph of the other examples
//! (see `support/dataset.rs`: the seeded preferential attachment by
//! default, `DATASET=gen` for `rhiz gen` data), the table lookups, and
//! `apply_reputations`; prints the spread of the scores.
//!
//! ```text
//! cargo run --release -p rhiz-graph --example trust_recompute -- [DIDS] [PER_DID] [RUNS]
//! DATASET=gen cargo run --release -p rhiz-graph --example trust_recompute -- 0 0 [RUNS]
//! ```
//!
//! Defaults: 200,000 DIDs × 5 = 1,000,000 relationships, 3 runs.

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/dataset.rs"]
mod dataset;

use std::hint::black_box;
use std::time::{Duration, Instant};

use dataset::Dataset;
use rhiz_graph::synthetic::{latency_percentiles, SplitMix64};
use rhiz_graph::Graph;
use rhiz_protocol::Did;

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .map_or(default, |a| a.parse().expect("a number"))
}

fn main() {
    let (dids, per_did, runs) = (arg(1, 200_000), arg(2, 5), arg(3, 3));
    let data = Dataset::from_env(dids, per_did);
    println!("{}", data.description);
    let count = data.relationships.len();
    let mut graph = Graph::new();
    graph
        .bulk_load(data.relationships)
        .expect("valid relationships");
    let graph_bytes = graph.memory_bytes();
    for att in data.attestations {
        graph.upsert_attestation(att).expect("valid attestation");
    }
    let (now, seeds) = (data.now, data.seeds);
    println!(
        "{count} relationships, {} DIDs, {} seeds; graph before attestations {:.1} bytes/relationship",
        data.dids.len(),
        seeds.len(),
        graph_bytes as f64 / count as f64
    );

    let mut times = Vec::new();
    let mut snapshot_times = Vec::new();
    let mut table = None;
    for _ in 0..runs {
        let started = Instant::now();
        let snapshot = graph.trust_snapshot(&seeds, now);
        snapshot_times.push(started.elapsed());
        table = Some(snapshot.compute());
        times.push(started.elapsed());
    }
    snapshot_times.sort();
    println!(
        "trust_snapshot (the part under the graph's lock): median {:?}",
        snapshot_times[snapshot_times.len() / 2]
    );
    let table = table.expect("at least one run");
    let (iterations, converged) = table.iterations();
    println!(
        "table: {} DIDs, {:.1} MB ({:.0} bytes/DID)",
        table.len(),
        table.memory_bytes() as f64 / 1e6,
        table.memory_bytes() as f64 / table.len() as f64
    );
    times.sort();
    println!(
        "compute_trust: min {:?}  median {:?}  max {:?}  ({iterations} iterations, converged {converged})",
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );

    let mut histogram = [0usize; 11];
    for (_, m) in table.iter() {
        histogram[usize::from(m.reputation / 10)] += 1;
    }
    println!("reputation by decile (0-9, …, 90-99, 100): {histogram:?}");
    let mut histogram = [0usize; 11];
    for (_, m) in table.iter() {
        histogram[usize::from(m.trust_score / 10)] += 1;
    }
    println!("trustScore by decile: {histogram:?}");

    let mut rng = SplitMix64::new(7);
    let probes: Vec<Did> = (0..10_000)
        .map(|_| data.dids[rng.below(data.dids.len() as u64) as usize].clone())
        .collect();
    let mut samples: Vec<Duration> = Vec::with_capacity(probes.len());
    for probe in &probes {
        let started = Instant::now();
        black_box(table.get(black_box(probe)));
        samples.push(started.elapsed());
    }
    println!("get, 10,000 random DIDs: {}", latency_percentiles(samples));
    let started = Instant::now();
    for _ in 0..10 {
        for probe in &probes {
            black_box(table.get(black_box(probe)));
        }
    }
    println!(
        "get, mean over 100,000 lookups: {:?}",
        started.elapsed() / 100_000
    );
    let mut samples: Vec<Duration> = Vec::with_capacity(1000);
    for probe in &probes[..1000] {
        let started = Instant::now();
        black_box(table.explain(black_box(probe)));
        samples.push(started.elapsed());
    }
    println!(
        "explain, 1,000 random DIDs: {}",
        latency_percentiles(samples)
    );

    let started = Instant::now();
    let applied = graph.apply_reputations(&table);
    println!(
        "apply_reputations: {applied} DIDs in {:?}",
        started.elapsed()
    );
}
