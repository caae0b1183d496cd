//! The router with its middleware: request ids, request spans, body limit,
//! CORS and optional trailing slashes.

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, Response};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::normalize_path::NormalizePath;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::api::{self, InternalError};
use crate::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the complete application for `state`.
///
/// ```no_run
/// # async fn demo(state: rhiz_server::AppState) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(listener, rhiz_server::app(state)).await
/// # }
/// ```
pub fn app(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    let cors = cors_layer(&state.config.cors_origins);
    let routes = api::routes()
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state);
    let routes = NormalizePath::trim_trailing_slash(routes);
    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(log_response)
                // 5xx are logged by `log_response` with their cause; an
                // expected 503 (backpressure) is not an error.
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID));
    let router = Router::new().fallback_service(routes).layer(middleware);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

fn request_span<B>(request: &Request<B>) -> Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id,
    )
}

fn log_response<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    let status = response.status().as_u16();
    let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    match response.extensions().get::<InternalError>() {
        Some(InternalError(cause)) => tracing::error!(status, latency_us, cause, "request failed"),
        None => tracing::info!(status, latency_us, "request served"),
    }
}

/// CORS for the configured origins, with credentials, methods and headers
/// allowed (CONTRACT.md §1.2). `None` when no origin is configured.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::mirror_request()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_credentials(true)
            .allow_methods(tower_http::cors::AllowMethods::mirror_request())
            .allow_headers(tower_http::cors::AllowHeaders::mirror_request()),
    )
}
