//! Error bodies, one shape per API family (CONTRACT.md §1.4).
//!
//! * [`ApiError`] is the REST and internal family: `{"detail": "…"}`, or for
//!   request validation failures the FastAPI list
//!   `{"detail": [{"type", "loc", "msg", "input"?, "ctx"?}]}`.
//! * [`XrpcError`] is the XRPC family: `{"error", "message", "detail"}`.
//!
//! Internal failures never reach the client: the body is a generic 500 and
//! the real error travels in the response extensions as [`InternalError`],
//! where the request-logging layer writes it to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

/// The real cause of a 500, kept in response extensions for the log.
#[derive(Debug, Clone)]
pub struct InternalError(pub String);

/// One entry of a 422 `detail` list, in FastAPI's shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationIssue {
    /// Machine-readable kind, e.g. `missing`, `string_too_long`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where: `["body", "name"]`, `["path", "did"]`, …
    pub loc: Vec<Value>,
    /// What rule was broken, in words.
    pub msg: String,
    /// The offending value, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// Parameters of the rule (e.g. `max_length`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx: Option<Value>,
}

impl ValidationIssue {
    /// An issue at `loc` with no input or context.
    pub fn new(kind: &'static str, loc: Vec<Value>, msg: impl Into<String>) -> Self {
        ValidationIssue {
            kind,
            loc,
            msg: msg.into(),
            input: None,
            ctx: None,
        }
    }

    /// Adds the offending value.
    pub fn with_input(mut self, input: Value) -> Self {
        self.input = Some(input);
        self
    }

    /// Adds the rule's parameters.
    pub fn with_ctx(mut self, ctx: Value) -> Self {
        self.ctx = Some(ctx);
        self
    }
}

/// A REST or internal API error: a status and a `detail`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: Value,
    internal: Option<String>,
    retry_after_seconds: Option<u64>,
}

impl ApiError {
    /// An error with a human-readable `detail` string.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: Value::String(detail.into()),
            internal: None,
            retry_after_seconds: None,
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 404 Not Found.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 409 Conflict.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }

    /// 422 with a list of validation issues.
    pub fn validation(issues: Vec<ValidationIssue>) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: serde_json::to_value(issues).unwrap_or_else(|_| json!([])),
            internal: None,
            retry_after_seconds: None,
        }
    }

    /// 500 with a generic message; `cause` is logged, never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            detail: Value::String("internal server error".to_owned()),
            internal: Some(cause.to_string()),
            retry_after_seconds: None,
        }
    }

    /// 503 Service Unavailable; `cause` is logged, the detail is sent.
    pub fn unavailable(detail: impl Into<String>, cause: impl std::fmt::Display) -> Self {
        ApiError {
            internal: Some(cause.to_string()),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, detail)
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Adds `Retry-After`, in whole seconds rounded up (at least 1).
    pub fn with_retry_after(mut self, after: std::time::Duration) -> Self {
        self.retry_after_seconds = Some(retry_after_seconds(after));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "detail": self.detail }))).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        if let Some(cause) = self.internal {
            response.extensions_mut().insert(InternalError(cause));
        }
        response
    }
}

/// A `Retry-After` value: whole seconds, rounded up, at least 1.
pub(crate) fn retry_after_seconds(after: std::time::Duration) -> u64 {
    (after.as_secs_f64().ceil() as u64).max(1)
}

impl From<rhiz_store::StoreError> for ApiError {
    fn from(error: rhiz_store::StoreError) -> Self {
        use rhiz_store::StoreError;
        match error {
            StoreError::NotFound { what, key } => {
                ApiError::not_found(format!("{what} {key} not found"))
            }
            StoreError::Conflict { field, value } => {
                ApiError::conflict(format!("{field} {value:?} is already taken"))
            }
            StoreError::Unavailable { .. } => {
                ApiError::unavailable("the database is unavailable, try again later", error)
            }
            other => ApiError::internal(other),
        }
    }
}

/// An XRPC error: `{"error": name, "message": text, "detail": text}`.
#[derive(Debug)]
pub struct XrpcError {
    status: StatusCode,
    name: &'static str,
    message: String,
    internal: Option<String>,
}

impl XrpcError {
    /// 400 `InvalidRequest`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        XrpcError {
            status: StatusCode::BAD_REQUEST,
            name: "InvalidRequest",
            message: message.into(),
            internal: None,
        }
    }

    /// 501 `MethodNotImplemented`.
    pub fn method_not_implemented(nsid: &str) -> Self {
        XrpcError {
            status: StatusCode::NOT_IMPLEMENTED,
            name: "MethodNotImplemented",
            message: format!("method {nsid} is not implemented by this server"),
            internal: None,
        }
    }

    /// 404 with a lexicon-declared error name, e.g. `RecordNotFound`.
    pub fn not_found(name: &'static str, message: impl Into<String>) -> Self {
        XrpcError {
            status: StatusCode::NOT_FOUND,
            name,
            message: message.into(),
            internal: None,
        }
    }

    /// 405 `InvalidRequest`: XRPC queries are GET only.
    pub fn method_not_allowed(method: &str) -> Self {
        XrpcError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            name: "InvalidRequest",
            message: format!("method {method} is not allowed: XRPC queries use GET"),
            internal: None,
        }
    }

    /// 500 `InternalServerError` with a generic message; `cause` is logged
    /// through the response extensions, never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        XrpcError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            name: "InternalServerError",
            message: "internal server error".to_owned(),
            internal: Some(cause.to_string()),
        }
    }
}

impl From<rhiz_store::StoreError> for XrpcError {
    fn from(error: rhiz_store::StoreError) -> Self {
        XrpcError::internal(error)
    }
}

impl IntoResponse for XrpcError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.name, "message": self.message, "detail": self.message });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(cause) = self.internal {
            response.extensions_mut().insert(InternalError(cause));
        }
        response
    }
}

/// Whether a cache failure is a store that cannot be reached right now: a
/// computation of a cached answer failed with a retryable store error.
fn store_unavailable(error: &rhiz_cache::CacheError) -> bool {
    match error {
        rhiz_cache::CacheError::Compute(cause) => {
            let cause: &(dyn std::error::Error + 'static) = &**cause;
            cause
                .downcast_ref::<rhiz_store::StoreError>()
                .is_some_and(rhiz_store::StoreError::is_retryable)
        }
        _ => false,
    }
}

impl From<rhiz_cache::CacheError> for ApiError {
    /// 503 when the answer's computation found the store unavailable (as
    /// [`From<StoreError>`](rhiz_store::StoreError)), else 500.
    fn from(error: rhiz_cache::CacheError) -> Self {
        if store_unavailable(&error) {
            ApiError::unavailable("the database is unavailable, try again later", error)
        } else {
            ApiError::internal(error)
        }
    }
}

impl From<rhiz_cache::CacheError> for XrpcError {
    fn from(error: rhiz_cache::CacheError) -> Self {
        XrpcError::internal(error)
    }
}
