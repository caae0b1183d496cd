//! `X-Internal-Key`: the shared secret of the `/internal` routes
//! (CONTRACT.md §4.1), compared in constant time against every configured
//! key so keys can be rotated without downtime.

use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::error::{ApiError, ValidationIssue};

/// The header carrying the secret.
pub(crate) const HEADER: &str = "x-internal-key";

/// The secret sent, if the header is there (and is text).
pub(crate) fn presented(headers: &HeaderMap) -> Option<&str> {
    headers.get(HEADER).and_then(|value| value.to_str().ok())
}

/// The 422 issue of a missing header.
pub(crate) fn missing() -> ValidationIssue {
    ValidationIssue::new(
        "missing",
        vec![json!("header"), json!(HEADER)],
        "Field required",
    )
}

/// Checks a presented secret against the configured keys: 403 when no key
/// is configured (ingestion closed) or none matches.
pub(crate) fn authorize(presented: &str, configured: &[String]) -> Result<(), ApiError> {
    if configured.is_empty() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "internal ingestion is disabled: no internal_api_key is configured \
             (set RHIZ_INTERNAL_API_KEY)",
        ));
    }
    // Every key is compared, whatever the outcome, so timing does not tell
    // which key (or how much of one) matched.
    let matched = configured
        .iter()
        .fold(false, |found, key| constant_time_eq(presented, key) | found);
    if matched {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid X-Internal-Key",
        ))
    }
}

/// Compares two secrets in time that depends only on their lengths.
fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let longest = a.len().max(b.len());
    let mut difference = u8::from(a.len() != b.len());
    for i in 0..longest {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        difference |= x ^ y;
    }
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_only_when_every_byte_and_the_length_match() {
        assert!(constant_time_eq("secret-key-0001", "secret-key-0001"));
        assert!(!constant_time_eq("secret-key-0001", "secret-key-0002"));
        assert!(!constant_time_eq("secret-key-0001", "secret-key-000"));
        assert!(!constant_time_eq("", "x"));
        assert!(constant_time_eq("", ""));
    }

    #[test]
    fn any_configured_key_is_accepted_and_none_configured_is_closed() {
        let keys = vec![
            "old-key-0123456789".to_owned(),
            "new-key-0123456789".to_owned(),
        ];
        assert!(authorize("old-key-0123456789", &keys).is_ok());
        assert!(authorize("new-key-0123456789", &keys).is_ok());
        assert!(authorize("other-key-0123456", &keys).is_err());
        assert!(authorize("old-key-0123456789", &[]).is_err());
    }
}
