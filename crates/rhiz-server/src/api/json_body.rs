//! The JSON body extractor of the REST family.
//!
//! [`JsonBody<T>`] replaces axum's `Json<T>` so that every way a body can be
//! wrong answers in the contract's shape, naming the field and the rule:
//!
//! | problem | status |
//! |---|---|
//! | not `Content-Type: application/json` | 415 |
//! | larger than `max_body_bytes` | 413 |
//! | not JSON | 422 `json_invalid` |
//! | JSON but not an object | 422 `model_attributes_type` |
//! | a field of the wrong JSON type | 422 with `loc` = `["body", field…]` |

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::error::{ApiError, ValidationIssue};

/// A request body parsed from JSON into `T`, rejecting with [`ApiError`].
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(&request) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the request body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_rejection)?;
        parse_object(&bytes).map(JsonBody)
    }
}

fn has_json_content_type(request: &Request) -> bool {
    let Some(value) = request.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is larger than the configured limit (max_body_bytes)",
        ),
        status => ApiError::new(status, format!("cannot read the request body: {rejection}")),
    }
}

/// Parses `bytes` as a JSON object and deserializes it into `T`.
pub(crate) fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|error| {
        ApiError::validation(vec![ValidationIssue::new(
            "json_invalid",
            vec![json!("body"), json!(error.column())],
            format!(
                "JSON decode error at line {} column {}: {error}",
                error.line(),
                error.column()
            ),
        )])
    })?;
    if !value.is_object() {
        return Err(ApiError::validation(vec![ValidationIssue::new(
            "model_attributes_type",
            vec![json!("body")],
            "Input should be a valid dictionary or object",
        )
        .with_input(value)]));
    }
    serde_path_to_error::deserialize(&value).map_err(|error| {
        let mut loc = vec![json!("body")];
        for segment in error.path().iter() {
            loc.push(match segment {
                serde_path_to_error::Segment::Seq { index } => json!(index),
                serde_path_to_error::Segment::Map { key } => json!(key),
                serde_path_to_error::Segment::Enum { variant } => json!(variant),
                serde_path_to_error::Segment::Unknown => json!("?"),
            });
        }
        let input = lookup(&value, &loc[1..]).cloned();
        let issue = ValidationIssue::new("type_error", loc, error.inner().to_string());
        ApiError::validation(vec![match input {
            Some(input) => issue.with_input(input),
            None => issue,
        }])
    })
}

fn lookup<'a>(value: &'a Value, path: &[Value]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, segment| match segment {
        Value::String(key) => value.get(key),
        Value::Number(index) => value.get(usize::try_from(index.as_u64()?).ok()?),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: Option<String>,
        tags: Option<Vec<String>>,
    }

    fn issue_of(error: ApiError) -> Value {
        let response = axum::response::IntoResponse::into_response(error);
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let bytes = futures_body(response);
        serde_json::from_slice::<Value>(&bytes).unwrap()["detail"][0].clone()
    }

    fn futures_body(response: axum::response::Response) -> Vec<u8> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
            .unwrap()
            .to_vec()
    }

    #[test]
    fn malformed_json_is_json_invalid() {
        let issue = issue_of(parse_object::<Body>(b"{\"name\": ").unwrap_err());
        assert_eq!(issue["type"], "json_invalid");
        assert_eq!(issue["loc"][0], "body");
    }

    #[test]
    fn a_non_object_is_rejected() {
        let issue = issue_of(parse_object::<Body>(b"[1,2]").unwrap_err());
        assert_eq!(issue["type"], "model_attributes_type");
        assert_eq!(issue["input"], json!([1, 2]));
    }

    #[test]
    fn a_wrong_type_names_the_nested_field() {
        let issue = issue_of(parse_object::<Body>(br#"{"tags": ["a", 7]}"#).unwrap_err());
        assert_eq!(issue["loc"], json!(["body", "tags", 1]));
        assert_eq!(issue["input"], json!(7));
        assert!(issue["msg"].as_str().unwrap().contains("expected a string"));
    }

    #[test]
    fn a_valid_object_parses() {
        let body: Body = parse_object(br#"{"name": "Ada", "unknown": true}"#).unwrap();
        assert_eq!(body.name.as_deref(), Some("Ada"));
    }
}
