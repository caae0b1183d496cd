//! XRPC routes (`/xrpc/<nsid>`), served under both `/` and `/api/v1`
//! (CONTRACT.md §7 #4).
//!
//! | NSID | handler |
//! |---|---|
//! | `net.rhiz.graph.findPath` | [`xrpc_graph`](super::xrpc_graph) |
//! | `net.rhiz.graph.getNeighbors` | [`xrpc_graph`](super::xrpc_graph) |
//! | `net.rhiz.conviction.getScore` | [`xrpc_conviction`](super::xrpc_conviction) |
//! | `net.rhiz.conviction.listAttestations` | [`xrpc_conviction`](super::xrpc_conviction) |
//! | `net.rhiz.trust.getMetrics` | [`xrpc_trust`](super::xrpc_trust) |
//! | `net.rhiz.trust.getMetricsBatch` | [`xrpc_trust`](super::xrpc_trust) |
//!
//! Every query is GET (HEAD too); another method is 405 `InvalidRequest`. Any
//! other valid NSID is 501 `MethodNotImplemented`.

use axum::extract::Path;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{any, get, MethodRouter};
use axum::Router;
use rhiz_protocol::Nsid;

use super::error::XrpcError;
use super::{xrpc_conviction, xrpc_graph, xrpc_trust};
use crate::AppState;

/// The XRPC routes, relative to where they are mounted.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/xrpc/net.rhiz.graph.findPath",
            query(xrpc_graph::find_path),
        )
        .route(
            "/xrpc/net.rhiz.graph.getNeighbors",
            query(xrpc_graph::get_neighbors),
        )
        .route(
            "/xrpc/net.rhiz.conviction.getScore",
            query(xrpc_conviction::get_score),
        )
        .route(
            "/xrpc/net.rhiz.conviction.listAttestations",
            query(xrpc_conviction::list_attestations),
        )
        .route(
            "/xrpc/net.rhiz.trust.getMetrics",
            query(xrpc_trust::get_metrics),
        )
        .route(
            "/xrpc/net.rhiz.trust.getMetricsBatch",
            query(xrpc_trust::get_metrics_batch),
        )
        .route("/xrpc/{method}", any(unknown_method))
}

/// A query route: `handler` on GET, 405 `InvalidRequest` on anything else.
fn query<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    get(handler).fallback(wrong_method)
}

async fn wrong_method(method: Method) -> XrpcError {
    XrpcError::method_not_allowed(method.as_str())
}

/// A valid NSID rhiz does not serve gets 501 `MethodNotImplemented`,
/// anything else 400 `InvalidRequest`.
async fn unknown_method(Path(method): Path<String>) -> XrpcError {
    match method.parse::<Nsid>() {
        Ok(nsid) => XrpcError::method_not_implemented(nsid.as_str()),
        Err(error) => XrpcError::invalid_request(error.to_string()),
    }
}
