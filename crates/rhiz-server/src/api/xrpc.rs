//! XRPC routes (`/xrpc/<nsid>`), served under both `/` and `/api/v1`
//! (CONTRACT.md §7 #4).

use axum::extract::Path;
use axum::routing::any;
use axum::Router;
use rhiz_protocol::Nsid;

use super::error::XrpcError;
use crate::AppState;

/// The XRPC routes, relative to where they are mounted.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/xrpc/{method}", any(unknown_method))
}

/// No XRPC method is served yet: a valid NSID gets 501
/// `MethodNotImplemented`, anything else 400 `InvalidRequest`.
async fn unknown_method(Path(method): Path<String>) -> XrpcError {
    match method.parse::<Nsid>() {
        Ok(nsid) => XrpcError::method_not_implemented(nsid.as_str()),
        Err(error) => XrpcError::invalid_request(error.to_string()),
    }
}
