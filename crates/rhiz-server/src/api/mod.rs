//! The HTTP API: REST (`/api/v1`), XRPC (`/xrpc` and `/api/v1/xrpc`) and
//! health routes, each family with its own error shape.

mod analytics;
mod api_key;
mod attestations;
mod cache_admin;
mod entities;
mod error;
mod graph;
mod health;
mod internal_events;
mod json_body;
mod metrics;
mod params;
mod profiles;
mod scale;
mod validate;
mod xrpc;
mod xrpc_conviction;
mod xrpc_graph;
mod xrpc_trust;

pub use entities::rfc3339;
pub use error::{ApiError, InternalError, ValidationIssue, XrpcError};
pub use json_body::JsonBody;

use axum::Router;

use crate::AppState;

/// Every route of the service, without middleware.
pub fn routes() -> Router<AppState> {
    let v1 = entities::routes()
        .merge(attestations::routes())
        .merge(graph::routes())
        .merge(analytics::routes())
        .merge(cache_admin::routes())
        .merge(xrpc::routes());
    Router::new()
        .merge(health::routes())
        .merge(xrpc::routes())
        .merge(internal_events::routes())
        .nest("/api/v1", v1)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on {}", uri.path()),
    )
}
