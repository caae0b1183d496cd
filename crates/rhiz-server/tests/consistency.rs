//! The consistency rule (issue 4 item 3): once an event is applied, no query
//! answer contradicts it.
//!
//! A writer applies deletes, strength drops and attestations through
//! `/internal/events`, one at a time, and records each one once it is
//! applied. Readers query at the same time; before each query a reader
//! takes the writer's record, and the answer must agree with every change
//! in it: no path over a relationship deleted or weakened below the
//! threshold, no deleted neighbor, a weakened neighbor at its new strength,
//! no attestation missing from a conviction.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use support::events::{
    attestation, did, relationship, relationship_deleted, relationship_event, relationship_uri,
    CID2,
};
use support::TestApp;

/// DIDs `n0`…`n9` on a chain with shortcuts, every relationship at 90.
const NODES: u64 = 10;
/// The strength a weakened relationship drops to (below every threshold
/// the readers use).
const WEAK: u8 = 20;

/// The changed relationships: `(author index, other index, record number)`.
fn volatile() -> Vec<(u64, u64, u64)> {
    let chain = (0..NODES - 1).map(|i| (i, i + 1, i + 1));
    let shortcuts = (0..NODES - 2).map(|i| (i, i + 2, 20 + i));
    chain.chain(shortcuts).collect()
}

fn node(i: u64) -> String {
    format!("n{i}")
}

/// Relationships between other DIDs that only receive attestations.
const ATTESTED: [(&str, &str, u64); 3] = [("p0", "p1", 100), ("p1", "p2", 101), ("p2", "p3", 102)];

/// What the writer has seen applied.
#[derive(Debug, Clone, Default)]
struct Applied {
    deleted: BTreeSet<String>,
    weakened: BTreeSet<String>,
    attestations: BTreeMap<String, u64>,
}

/// What the readers checked, to be sure they ran.
#[derive(Debug, Default)]
struct Checked {
    paths: u64,
    neighbors: u64,
    scores: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_answer_contradicts_an_applied_event() {
    no_answer_contradicts(TestApp::ingesting(|_| {}).await).await;
}

/// The same with Redis behind the answer cache (issue 5): L2 and the
/// invalidation channel in the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_answer_contradicts_an_applied_event_with_redis_behind_the_cache() {
    let redis = std::env::var("RHIZ_TEST_REDIS_URL").expect("RHIZ_TEST_REDIS_URL is not set");
    let app = TestApp::ingesting(|config| {
        config.redis_url = Some(redis);
        config.redis_prefix = format!("rhiz-consistency-{}", uuid::Uuid::new_v4());
    })
    .await;
    no_answer_contradicts(app).await;
}

async fn no_answer_contradicts(app: TestApp) {
    let app = Arc::new(app);
    for (a, b, n) in volatile() {
        app.apply(&relationship(&node(a), &node(b), n, 90)).await;
    }
    for (a, b, n) in ATTESTED {
        app.apply(&relationship(a, b, n, 90)).await;
    }
    let applied = Arc::new(Mutex::new(Applied::default()));
    let done = Arc::new(AtomicBool::new(false));
    let checked = Arc::new(Mutex::new(Checked::default()));

    let readers: Vec<_> = (0..3)
        .map(|reader| {
            let (app, applied, done, checked) = (
                Arc::clone(&app),
                Arc::clone(&applied),
                Arc::clone(&done),
                Arc::clone(&checked),
            );
            tokio::spawn(async move {
                let mut round = reader;
                while !done.load(Ordering::Acquire) {
                    let before = applied.lock().unwrap().clone();
                    match round % 3 {
                        0 => check_path(&app, &before).await,
                        1 => check_neighbors(&app, &before, round % NODES).await,
                        _ => check_scores(&app, &before).await,
                    }
                    let mut c = checked.lock().unwrap();
                    match round % 3 {
                        0 => c.paths += 1,
                        1 => c.neighbors += 1,
                        _ => c.scores += 1,
                    }
                    round += 1;
                }
            })
        })
        .collect();

    // The writer: each volatile relationship is deleted or weakened once,
    // with an attestation between any two.
    for (k, (a, b, n)) in volatile().into_iter().enumerate() {
        let uri = relationship_uri(&node(a), n);
        if k % 2 == 0 {
            app.apply(&relationship_deleted(&node(a), n)).await;
            applied.lock().unwrap().deleted.insert(uri);
        } else {
            let update =
                relationship_event("relationship.updated", &node(a), &node(b), n, WEAK, CID2);
            app.apply(&update).await;
            applied.lock().unwrap().weakened.insert(uri);
        }
        let (author, _, target) = ATTESTED[k % ATTESTED.len()];
        let target = relationship_uri(author, target);
        app.apply(&attestation(&format!("w{k}"), k as u64, &target, "verify"))
            .await;
        *applied
            .lock()
            .unwrap()
            .attestations
            .entry(target)
            .or_default() += 1;
    }
    done.store(true, Ordering::Release);
    for reader in readers {
        reader.await.expect("a reader failed");
    }
    {
        let c = checked.lock().unwrap();
        assert!(c.paths > 0 && c.neighbors > 0 && c.scores > 0, "{c:?}");
    }
    let stats = app.state.cache.stats();
    assert!(
        stats.l1_hits + stats.l1_misses > 0,
        "the cache was not asked"
    );

    // At rest: every node's neighbors are exactly the surviving ones.
    let last = applied.lock().unwrap().clone();
    for i in 0..NODES {
        let reply = app
            .call(
                "GET",
                &format!("/api/v1/graph/neighbors/{}", did(&node(i))),
                None,
            )
            .await;
        let expected = volatile()
            .into_iter()
            .filter(|&(a, b, n)| {
                (a == i || b == i) && !last.deleted.contains(&relationship_uri(&node(a), n))
            })
            .count();
        assert_eq!(reply.body["count"], expected, "n{i}");
    }
}

/// n0 → n9 at strength ≥ 50: never over a deleted or weakened relationship.
async fn check_path(app: &TestApp, before: &Applied) {
    let query = format!(
        "/xrpc/net.rhiz.graph.findPath?from={}&to={}&maxHops=10&minStrength=50",
        did("n0"),
        did(&node(NODES - 1))
    );
    let reply = app.call("GET", &query, None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    for path in reply.body["paths"].as_array().unwrap() {
        for hop in path["hops"].as_array().unwrap() {
            let uri = hop["relationshipUri"].as_str().unwrap();
            assert!(!before.deleted.contains(uri), "path over deleted {uri}");
            assert!(!before.weakened.contains(uri), "path over weakened {uri}");
            assert!(hop["strength"].as_u64().unwrap() >= 50);
        }
    }
}

/// A node's neighbors, both families: no deleted one, weakened ones weak.
async fn check_neighbors(app: &TestApp, before: &Applied, i: u64) {
    let who = did(&node(i));
    let xrpc = app
        .call(
            "GET",
            &format!("/xrpc/net.rhiz.graph.getNeighbors?did={who}&limit=100"),
            None,
        )
        .await;
    assert_eq!(xrpc.status, 200, "{:?}", xrpc.body);
    let rest = app
        .call("GET", &format!("/api/v1/graph/neighbors/{who}"), None)
        .await;
    assert_eq!(rest.status, 200, "{:?}", rest.body);
    let items = |body: &Value, uri_key: &str, scale: f64| -> Vec<(String, f64)> {
        body["neighbors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n[uri_key].as_str().unwrap().to_owned(),
                    n["strength"].as_f64().unwrap() * scale,
                )
            })
            .collect()
    };
    let all = items(&xrpc.body, "relationshipUri", 1.0)
        .into_iter()
        .chain(items(&rest.body, "relationship_id", 100.0));
    for (uri, strength) in all {
        assert!(!before.deleted.contains(&uri), "deleted neighbor {uri}");
        if before.weakened.contains(&uri) {
            assert!(
                (strength - f64::from(WEAK)).abs() < 1e-9,
                "{uri} at {strength}"
            );
        }
    }
}

/// Every attested relationship counts at least the attestations applied.
async fn check_scores(app: &TestApp, before: &Applied) {
    for (author, _, n) in ATTESTED {
        let uri = relationship_uri(author, n);
        let reply = app
            .call(
                "GET",
                &format!("/xrpc/net.rhiz.conviction.getScore?uri={uri}"),
                None,
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let count = reply.body["conviction"]["attestationCount"]
            .as_u64()
            .unwrap();
        let applied = before.attestations.get(&uri).copied().unwrap_or(0);
        assert!(count >= applied, "{uri}: {count} < {applied} applied");
    }
}
