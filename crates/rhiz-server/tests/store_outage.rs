//! The database going away and coming back under ingestion: events keep
//! being accepted, wait while the store is unreachable (never
//! dead-lettered for it), and are all applied once it answers again.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::events::relationship;
use support::tcp_proxy::proxied;
use support::TestApp;

/// Relationships applied: the graph holds exactly what the store holds.
fn applied(app: &TestApp) -> usize {
    app.state.graph.read().relationship_count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_wait_out_a_database_outage_and_are_all_applied() {
    let (proxy, url) = proxied(&support::fresh_postgres_database().await).await;
    let app = TestApp::ingesting(|config| {
        config.database_url = Some(url);
        config.event_retry_base_ms = 50;
    })
    .await;
    app.apply(&relationship("a", "b", 0, 80)).await;

    proxy.cut();
    let batch: Vec<Value> = (1..=20)
        .map(|n| {
            let mut body = relationship("a", &format!("p{n}"), n, 70);
            body["event_id"] = json!(format!("outage-{n}"));
            body
        })
        .collect();
    let reply = app
        .post_internal("/internal/events/batch", &Value::Array(batch))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["enqueued"], 20, "{:?}", reply.body);

    // Well past max_attempts (3) backoffs of 50, 100, 200 ms: still waiting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ready = app.call("GET", "/health/ready", None).await;
    assert_eq!(ready.status, 503, "{:?}", ready.body);
    let metrics = app.state.pipeline.metrics();
    assert_eq!(metrics.total.dead_lettered, 0);
    assert!(metrics.total.retried >= 20, "{:?}", metrics.total);
    assert_eq!(applied(&app), 1);

    // An event that failed n times waits up to 50 ms × 2^(n−1) before its
    // next try, at most the pipeline's backoff ceiling (60 s): on a loaded
    // machine the outage can outlast several doublings, so the bound is
    // that ceiling, not a fixed few seconds.
    proxy.restore();
    app.eventually_within(
        "every waiting event to be applied",
        Duration::from_secs(65),
        || async { applied(&app) == 21 },
    )
    .await;
    let ready = app.call("GET", "/health/ready", None).await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    assert_eq!(app.state.pipeline.metrics().total.dead_lettered, 0);
}
