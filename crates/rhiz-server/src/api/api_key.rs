//! Shared secrets in a request header, compared in constant time against
//! every configured key so keys can be rotated without downtime:
//! `X-Internal-Key` for the `/internal` routes (CONTRACT.md §4.1) and
//! `X-Admin-Key` for the operator routes (`/api/v1/cache/*`). A missing
//! header is a 422; no key configured (the routes are closed) or no match
//! is a 403.

use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::error::{ApiError, ValidationIssue};

/// One family of routes guarded by a shared secret.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ApiKey {
    /// The header carrying the secret (lowercase).
    header: &'static str,
    /// Why the routes are closed when no key is configured.
    closed: &'static str,
    /// What a wrong key is told.
    wrong: &'static str,
}

/// `X-Internal-Key`, checked against `internal_api_key`.
pub(crate) const INTERNAL: ApiKey = ApiKey {
    header: "x-internal-key",
    closed: "internal ingestion is disabled: no internal_api_key is configured \
             (set RHIZ_INTERNAL_API_KEY)",
    wrong: "invalid X-Internal-Key",
};

/// `X-Admin-Key`, checked against `admin_api_key`.
pub(crate) const ADMIN: ApiKey = ApiKey {
    header: "x-admin-key",
    closed: "the operator API is disabled: no admin_api_key is configured \
             (set RHIZ_ADMIN_API_KEY)",
    wrong: "invalid X-Admin-Key",
};

impl ApiKey {
    /// The secret sent, if the header is there (and is text).
    pub(crate) fn presented<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        headers
            .get(self.header)
            .and_then(|value| value.to_str().ok())
    }

    /// The 422 issue of a missing header.
    pub(crate) fn missing(&self) -> ValidationIssue {
        ValidationIssue::new(
            "missing",
            vec![json!("header"), json!(self.header)],
            "Field required",
        )
    }

    /// Checks a presented secret against the configured keys: 403 when no
    /// key is configured (the routes are closed) or none matches.
    pub(crate) fn authorize(&self, presented: &str, configured: &[String]) -> Result<(), ApiError> {
        if configured.is_empty() {
            return Err(ApiError::new(StatusCode::FORBIDDEN, self.closed));
        }
        // Every key is compared, whatever the outcome, so timing does not
        // tell which key (or how much of one) matched.
        let matched = configured
            .iter()
            .fold(false, |found, key| constant_time_eq(presented, key) | found);
        if matched {
            Ok(())
        } else {
            Err(ApiError::new(StatusCode::FORBIDDEN, self.wrong))
        }
    }

    /// The whole check for a route without a body: 422 without the header,
    /// then [`authorize`](Self::authorize).
    pub(crate) fn check(&self, headers: &HeaderMap, configured: &[String]) -> Result<(), ApiError> {
        let presented = self
            .presented(headers)
            .ok_or_else(|| ApiError::validation(vec![self.missing()]))?;
        self.authorize(presented, configured)
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
        for family in [INTERNAL, ADMIN] {
            assert!(family.authorize("old-key-0123456789", &keys).is_ok());
            assert!(family.authorize("new-key-0123456789", &keys).is_ok());
            assert!(family.authorize("other-key-0123456", &keys).is_err());
            assert!(family.authorize("old-key-0123456789", &[]).is_err());
        }
    }
}
