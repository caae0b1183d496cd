//! Root and liveness routes (CONTRACT.md §5).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::AppState;

/// `GET /` and `GET /health`.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/health", get(liveness))
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

fn unix_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs_f64())
        .unwrap_or_default()
}
