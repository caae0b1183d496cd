//! Times the full trust recomputation on the seeded preferential-attachment
//! graph of the other examples (1,000,000 relationships, 100,000
//! attestations), the table lookups, and `apply_reputations`; prints the
//! spread of the scores.
//!
//! ```text
//! cargo run --release -p rhiz-graph --example trust_recompute -- [DIDS] [PER_DID] [RUNS]
//! ```
//!
//! Defaults: 200,000 DIDs × 5 = 1,000,000 relationships, 3 runs. Seeds: the
//! 20 oldest DIDs (the first of the preferential attachment, hubs).

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use rhiz_graph::synthetic::{
    attestation, did, latency_percentiles, preferential_attachment, SplitMix64,
};
use rhiz_graph::Graph;
use rhiz_protocol::{AttestationType, Did};

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .map_or(default, |a| a.parse().expect("a number"))
}

fn main() {
    let (dids, per_did, runs) = (arg(1, 200_000), arg(2, 5), arg(3, 3));
    let relationships = preferential_attachment(dids, per_did, 42);
    let count = relationships.len();
    let uris: Vec<_> = relationships.iter().map(|r| r.uri.clone()).collect();
    let mut graph = Graph::new();
    graph.bulk_load(relationships).expect("valid relationships");
    let graph_bytes = graph.memory_bytes();
    let now = Utc
        .with_ymd_and_hms(2026, 6, 1, 0, 0, 0)
        .single()
        .expect("date");
    let mut rng = SplitMix64::new(7);
    for i in 0..100_000u64 {
        let target = &uris[rng.below(count as u64) as usize];
        let kind = if rng.below(10) == 0 {
            AttestationType::Dispute
        } else {
            AttestationType::Verify
        };
        let days = rng.below(730) as i64;
        graph
            .upsert_attestation(attestation(
                &did(rng.below(dids)),
                target,
                kind,
                90,
                now - chrono::Duration::days(days),
                &format!("a{i}"),
            ))
            .expect("valid attestation");
    }
    let seeds: Vec<Did> = (0..20)
        .map(|i| did(i).parse().expect("valid DID"))
        .collect();
    println!(
        "{count} relationships, {dids} DIDs, 100,000 attestations, 20 seeds; \
         graph before attestations {:.1} bytes/relationship",
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

    let probes: Vec<Did> = (0..10_000)
        .map(|_| did(rng.below(dids)).parse().expect("valid DID"))
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
