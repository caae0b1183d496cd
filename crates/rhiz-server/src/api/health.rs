//! Root and liveness routes (CONTRACT.md §5).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::cache_admin;
use crate::AppState;

/// `GET /`, `GET /health`, `GET /health/ready` (alias `/ready`) and
/// `GET /health/detailed`.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/health", get(liveness))
        .route("/health/ready", get(readiness))
        .route("/ready", get(readiness))
        .route("/health/detailed", get(detailed))
}

async fn root(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "service": "rhiz",
        "version": env!("CARGO_PKG_VERSION"),
        "status": "healthy",
        "environment": state.config.environment.as_str(),
    }))
}

/// Liveness: answers 200 as long as the process serves HTTP.
async fn liveness() -> Json<Value> {
    Json(json!({ "status": "healthy", "timestamp": unix_seconds() }))
}

/// The store's health: its round trip, or why it failed.
async fn database(state: &AppState) -> Result<f64, String> {
    state
        .store
        .ping()
        .await
        .map(|rtt| rtt.as_secs_f64() * 1e3)
        .map_err(|error| error.to_string())
}

/// `healthy`, or `degraded` when backpressure is on or the queue is above
/// 80 % of its capacity.
fn pipeline_status(state: &AppState, metrics: &rhiz_events::MetricsSnapshot) -> &'static str {
    let high_water = state.config.event_queue_capacity as u64 * 8 / 10;
    if metrics.backpressure_active || metrics.events_in_queue > high_water {
        "degraded"
    } else {
        "healthy"
    }
}

/// Readiness: 200 `ready` when the store answers and the pipeline takes
/// events, else 503 `degraded` (CONTRACT.md §5).
///
/// `checks.cache` is `degraded` while Redis is unreachable (or the breaker
/// is not closed), but readiness stays 200: the contract ties the 503 to
/// the overall status only, and an instance without Redis still answers
/// every request correctly from L1 and its computations. Taking instances
/// out of rotation because the Redis they all share is down would turn a
/// slower service into none. The L1 tier cannot fail, so the cache is never
/// `unhealthy`.
async fn readiness(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let (database, cache) = tokio::join!(database(&state), state.cache.health());
    let pipeline = pipeline_status(&state, &state.pipeline.metrics());
    let ready = database.is_ok() && pipeline == "healthy";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": if ready { "ready" } else { "degraded" },
            "checks": {
                "database": if database.is_ok() { "healthy" } else { "unhealthy" },
                "cache": cache_admin::status(&cache),
                "event_pipeline": pipeline,
            },
            "timestamp": unix_seconds(),
        })),
    )
}

/// The state of every dependency, always 200 with the overall status in the body.
async fn detailed(State(state): State<AppState>) -> Json<Value> {
    let round2 = |x: f64| (x * 100.0).round() / 100.0;
    let (database, cache) = tokio::join!(database(&state), state.cache.health());
    let cache = cache_admin::summary(&state, &cache);
    let database = match database {
        Ok(latency_ms) => json!({"status": "healthy", "latency_ms": round2(latency_ms)}),
        Err(error) => json!({"status": "unhealthy", "error": error}),
    };
    let metrics = state.pipeline.metrics();
    let pipeline = pipeline_status(&state, &metrics);
    let dead_letters = state.pipeline.log().counts().await.map(|c| c.dead_letters);
    let event_pipeline = match dead_letters {
        Ok(dead_letter_count) => json!({
            "status": pipeline,
            "metrics": {
                "events_processed": metrics.events_processed,
                "events_failed": metrics.events_failed,
                "events_in_queue": metrics.events_in_queue,
                "avg_processing_time_ms": round2(metrics.avg_processing_time_ms),
                "throughput_per_second": round2(metrics.throughput_per_second),
                "worker_utilization": round2(metrics.worker_utilization),
                "backpressure_active": metrics.backpressure_active,
            },
            "dead_letter_count": dead_letter_count,
        }),
        Err(error) => json!({"status": "unhealthy", "error": error.to_string()}),
    };
    let healthy = database["status"] == "healthy"
        && cache["status"] == "healthy"
        && event_pipeline["status"] != "unhealthy";
    Json(json!({
        "status": if healthy { "healthy" } else { "degraded" },
        "uptime_seconds": state.started_at.elapsed().as_secs(),
        "version": env!("CARGO_PKG_VERSION"),
        "environment": state.config.environment.as_str(),
        "dependencies": {
            "database": database,
            "cache": cache,
            "event_pipeline": event_pipeline,
        },
        "timestamp": unix_seconds(),
    }))
}

fn unix_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs_f64())
        .unwrap_or_default()
}
