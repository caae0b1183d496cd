//! The hub case: the 1M-relationship preferential-attachment graph of
//! `path_latency` plus one DID with 100,000 relationships (strengths uniform in
//! 30–100) to random DIDs. Prints `find_paths` latencies between random pairs,
//! from the hub, and `neighbors` of the hub.
//!
//! ```text
//! cargo run --release -p rhiz-graph --example hub_latency
//! ```

#[path = "support/allocator.rs"]
mod allocator;

use std::time::Instant;

use rhiz_graph::synthetic::{
    did, latency_percentiles, preferential_attachment, relationship, SplitMix64,
};
use rhiz_graph::{Graph, NeighborQuery, PathQuery};
use rhiz_protocol::Did;

const DIDS: u64 = 200_000;
const HUB_DEGREE: u64 = 100_000;

fn main() {
    let mut rng = SplitMix64::new(21);
    let hub = "did:plc:hubhubhubhubhubhubhubhub";
    let mut relationships = preferential_attachment(DIDS, 5, 42);
    relationships.extend((0..HUB_DEGREE).map(|i| {
        let strength = 30 + u8::try_from(rng.below(71)).expect("below 71");
        relationship(hub, &did(rng.below(DIDS)), strength, &format!("hub{i}"))
    }));
    let mut graph = Graph::new();
    graph.bulk_load(relationships).expect("valid relationships");
    let hub: Did = hub.parse().expect("valid DID");
    let pick = |rng: &mut SplitMix64| -> Did { did(rng.below(DIDS)).parse().expect("valid DID") };

    let query = PathQuery::default();
    let mut times = Vec::new();
    let mut via_hub = 0;
    for _ in 0..1_000 {
        let (a, b) = (pick(&mut rng), pick(&mut rng));
        if a == b {
            continue;
        }
        let started = Instant::now();
        let paths = graph.find_paths(&a, &b, &query).expect("valid query");
        times.push(started.elapsed());
        if paths
            .first()
            .is_some_and(|p| p.hops.iter().any(|h| h.to == hub))
        {
            via_hub += 1;
        }
    }
    println!(
        "find_paths between random DIDs, {} pairs ({via_hub} strongest via the hub): {}",
        times.len(),
        latency_percentiles(times)
    );

    let mut times = Vec::new();
    for _ in 0..1_000 {
        let b = pick(&mut rng);
        let started = Instant::now();
        graph.find_paths(&hub, &b, &query).expect("valid query");
        times.push(started.elapsed());
    }
    println!(
        "find_paths from the hub, 1000 targets: {}",
        latency_percentiles(times)
    );

    let mut times = Vec::new();
    let mut cursor = None;
    for _ in 0..200 {
        let q = NeighborQuery {
            cursor: cursor.clone(),
            ..NeighborQuery::default()
        };
        let started = Instant::now();
        let page = graph.neighbors(&hub, &q).expect("valid query");
        times.push(started.elapsed());
        cursor = page.cursor;
    }
    println!(
        "neighbors of the hub, 200 consecutive pages of 50: {}",
        latency_percentiles(times)
    );
}
