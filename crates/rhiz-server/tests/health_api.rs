//! Readiness and detailed health (CONTRACT.md §5): what each dependency's
//! failure does to them.

mod support;

use serde_json::Value;
use support::events::relationship;
use support::TestApp;

#[tokio::test]
async fn a_fresh_service_is_ready_and_healthy() {
    let app = TestApp::sqlite().await;
    for path in ["/health/ready", "/ready"] {
        let reply = app.call("GET", path, None).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.body["status"], "ready");
        assert_eq!(reply.body["checks"]["database"], "healthy");
        assert_eq!(reply.body["checks"]["event_pipeline"], "healthy");
        assert!(reply.body["timestamp"].as_f64().unwrap() > 1.7e9);
    }
    let reply = app.call("GET", "/health/detailed", None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["status"], "healthy");
    let pipeline = &reply.body["dependencies"]["event_pipeline"];
    assert_eq!(pipeline["status"], "healthy");
    for field in [
        "events_processed",
        "events_failed",
        "events_in_queue",
        "avg_processing_time_ms",
        "throughput_per_second",
        "worker_utilization",
        "backpressure_active",
    ] {
        assert!(
            !pipeline["metrics"][field].is_null(),
            "{field} missing: {pipeline}"
        );
    }
    assert_eq!(pipeline["dead_letter_count"], 0);
    assert!(reply.body["dependencies"]["database"]["latency_ms"].is_number());
}

#[tokio::test]
async fn backpressure_makes_the_pipeline_degraded_and_the_service_not_ready() {
    let app = TestApp::ingesting(|c| {
        c.event_queue_capacity = 10;
        c.event_lane_capacity = 10;
    })
    .await;
    let batch = Value::Array(
        (0..30)
            .map(|n| relationship("alice", "bob", n, 50))
            .collect(),
    );
    app.post_internal("/internal/events/batch", &batch).await;
    let reply = app.call("GET", "/health/ready", None).await;
    assert_eq!(reply.status, 503, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "degraded");
    assert_eq!(reply.body["checks"]["event_pipeline"], "degraded");
    let detailed = app.call("GET", "/health/detailed", None).await;
    assert_eq!(detailed.status, 200, "detailed always answers 200");
    assert_eq!(
        detailed.body["dependencies"]["event_pipeline"]["status"],
        "degraded"
    );
    assert_eq!(
        detailed.body["status"], "healthy",
        "a degraded pipeline still counts as healthy overall"
    );
}

#[tokio::test]
async fn a_database_that_is_gone_makes_the_service_not_ready() {
    let app = TestApp::sqlite().await;
    app.state.store.close().await;
    let reply = app.call("GET", "/health/ready", None).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.body["checks"]["database"], "unhealthy");
    let detailed = app.call("GET", "/health/detailed", None).await;
    assert_eq!(detailed.body["status"], "degraded");
    assert_eq!(
        detailed.body["dependencies"]["database"]["status"],
        "unhealthy"
    );
    assert!(detailed.body["dependencies"]["database"]["error"].is_string());
    // Liveness does not depend on anything.
    assert_eq!(app.call("GET", "/health", None).await.status, 200);
}
