//! Criterion benchmarks of `rhiz-graph` on a seeded preferential-attachment
//! graph of 200,000 DIDs and 1,000,000 relationships (strengths uniform in
//! 30–100): `find_paths` (maxHops 6, minStrength 50), `neighbors`,
//! `conviction`, the trust table (full recomputation, lookup), and 100,000
//! relationships loaded in bulk (start-up) and upserted one by one (apply).
//!
//! ```text
//! cargo bench -p rhiz-graph
//! ```

use std::hint::black_box;
use std::sync::LazyLock;

use chrono::{DateTime, TimeZone, Utc};
use criterion::{criterion_main, BatchSize, Criterion, Throughput};
use rhiz_graph::synthetic::{attestation, did, preferential_attachment, SplitMix64};
use rhiz_graph::{Graph, NeighborQuery, PathQuery};
use rhiz_protocol::{AtUri, AttestationType, Did};

const DIDS: u64 = 200_000;
const PER_DID: u64 = 5;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// The 1M-relationship graph, with 100,000 attestations on random
/// relationships, and the URIs attested.
static GRAPH: LazyLock<(Graph, Vec<AtUri>)> = LazyLock::new(|| {
    let relationships = preferential_attachment(DIDS, PER_DID, 42);
    let uris: Vec<AtUri> = relationships.iter().map(|r| r.uri.clone()).collect();
    let mut graph = Graph::new();
    graph.bulk_load(relationships).expect("valid relationships");
    let mut rng = SplitMix64::new(7);
    let mut attested = Vec::new();
    for i in 0..100_000u64 {
        let target = &uris[usize::try_from(rng.below(uris.len() as u64)).expect("index")];
        let kind = if rng.below(10) == 0 {
            AttestationType::Dispute
        } else {
            AttestationType::Verify
        };
        let days = i64::try_from(rng.below(730)).expect("small");
        let att = attestation(
            &did(rng.below(DIDS)),
            target,
            kind,
            90,
            now() - chrono::Duration::days(days),
            &format!("a{i}"),
        );
        graph.upsert_attestation(att).expect("valid attestation");
        attested.push(target.clone());
    }
    (graph, attested)
});

fn random_did(rng: &mut SplitMix64) -> Did {
    did(rng.below(DIDS)).parse().expect("valid DID")
}

fn find_paths(c: &mut Criterion) {
    let (graph, _) = &*GRAPH;
    let mut group = c.benchmark_group("find_paths_1m");
    for limit in [1, 5] {
        let query = PathQuery {
            limit,
            ..PathQuery::default()
        };
        let mut rng = SplitMix64::new(11);
        group.bench_function(format!("limit_{limit}"), |b| {
            b.iter_batched(
                || (random_did(&mut rng), random_did(&mut rng)),
                |(from, to)| {
                    if from != to {
                        black_box(graph.find_paths(&from, &to, &query).expect("valid query"));
                    }
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

fn neighbors(c: &mut Criterion) {
    let (graph, _) = &*GRAPH;
    let mut rng = SplitMix64::new(13);
    let query = NeighborQuery::default();
    c.bench_function("neighbors_1m", |b| {
        b.iter_batched(
            || random_did(&mut rng),
            |d| black_box(graph.neighbors(&d, &query).expect("valid query")),
            BatchSize::SmallInput,
        );
    });
}

fn conviction(c: &mut Criterion) {
    let (graph, attested) = &*GRAPH;
    let mut rng = SplitMix64::new(17);
    c.bench_function("conviction_1m", |b| {
        b.iter_batched(
            || &attested[usize::try_from(rng.below(attested.len() as u64)).expect("index")],
            |uri| black_box(graph.conviction(uri, now())),
            BatchSize::SmallInput,
        );
    });
}

/// The 20 oldest DIDs, hubs of the preferential attachment.
fn seeds() -> Vec<Did> {
    (0..20)
        .map(|i| did(i).parse().expect("valid DID"))
        .collect()
}

fn trust(c: &mut Criterion) {
    let (graph, _) = &*GRAPH;
    let mut group = c.benchmark_group("trust_1m");
    group.sample_size(10);
    group.bench_function("compute_trust", |b| {
        b.iter(|| black_box(graph.compute_trust(&seeds(), now())));
    });
    group.finish();
    let table = graph.compute_trust(&seeds(), now());
    let mut rng = SplitMix64::new(19);
    c.bench_function("trust_1m/get", |b| {
        b.iter_batched(
            || random_did(&mut rng),
            |d| black_box(table.get(&d)),
            BatchSize::SmallInput,
        );
    });
    c.bench_function("trust_1m/explain", |b| {
        b.iter_batched(
            || random_did(&mut rng),
            |d| black_box(table.explain(&d)),
            BatchSize::SmallInput,
        );
    });
}

fn bulk_load(c: &mut Criterion) {
    let relationships = preferential_attachment(20_000, PER_DID, 3);
    let mut group = c.benchmark_group("bulk_load");
    group.sample_size(10);
    group.throughput(Throughput::Elements(relationships.len() as u64));
    group.bench_function("100k_relationships", |b| {
        b.iter_batched(
            || relationships.clone(),
            |rels| {
                let mut graph = Graph::new();
                graph.bulk_load(rels).expect("valid relationships");
                graph
            },
            BatchSize::LargeInput,
        );
    });
    group.bench_function("100k_upserts", |b| {
        b.iter_batched(
            || relationships.clone(),
            |rels| {
                let mut graph = Graph::new();
                for rel in rels {
                    graph.upsert_relationship(rel).expect("valid relationship");
                }
                graph
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

/// The benchmarks, in one group.
mod group {
    #![allow(
        missing_docs,
        reason = "criterion_group! generates an undocumented function"
    )]
    use super::{bulk_load, conviction, find_paths, neighbors, trust};

    criterion::criterion_group!(benches, find_paths, neighbors, conviction, trust, bulk_load);
}

criterion_main!(group::benches);
