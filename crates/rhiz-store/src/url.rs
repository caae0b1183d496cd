//! Recognising database URLs, and masking their passwords for messages.

use std::path::PathBuf;

use crate::error::StoreError;

/// A database URL [`open`](crate::open) understands.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DatabaseUrl {
    /// `sqlite://PATH`: a database file (created with its directories).
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, handed to the driver as is.
    Postgres,
}

impl DatabaseUrl {
    /// Recognises `url`, or explains with a masked copy of it why not.
    pub(crate) fn parse(url: &str) -> Result<Self, StoreError> {
        let invalid = |reason: &str| StoreError::InvalidUrl {
            url: mask_password(url),
            reason: reason.to_owned(),
        };
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.contains('?') {
                return Err(invalid("sqlite URLs take no query parameters"));
            }
            if path.is_empty() || path == ":memory:" {
                return Err(invalid("sqlite URLs need a file path: sqlite://PATH"));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres);
        }
        Err(invalid(
            "expected sqlite://PATH, postgres://… or postgresql://…",
        ))
    }
}

/// Replaces the password in `url` (user-info `user:secret@` or a `password=`
/// query parameter) with `***`.
///
/// ```
/// # use rhiz_store::mask_password;
/// assert_eq!(mask_password("postgres://rhiz:s3cret@db:5432/rhiz"), "postgres://rhiz:***@db:5432/rhiz");
/// assert_eq!(mask_password("postgres://db/rhiz?user=a&password=x"), "postgres://db/rhiz?user=a&password=***");
/// assert_eq!(mask_password("sqlite:///data/rhiz.db"), "sqlite:///data/rhiz.db");
/// ```
pub fn mask_password(url: &str) -> String {
    let mut masked = url.to_owned();
    if let Some(scheme_end) = masked.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = masked[authority_start..]
            .find(['/', '?', '#'])
            .map_or(masked.len(), |i| authority_start + i);
        let authority = &masked[authority_start..authority_end];
        if let Some(at) = authority.rfind('@') {
            if let Some(colon) = authority[..at].find(':') {
                masked.replace_range(authority_start + colon + 1..authority_start + at, "***");
            }
        }
    }
    if let Some(query_start) = masked.find('?') {
        let (base, query) = masked.split_at(query_start + 1);
        let query = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        masked = format!("{base}{query}");
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_backends() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/rhiz/rhiz.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("/var/lib/rhiz/rhiz.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/rhiz.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("data/rhiz.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://h/db").unwrap(),
            DatabaseUrl::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://h/db").unwrap(),
            DatabaseUrl::Postgres
        );
    }

    #[test]
    fn rejects_others_with_the_password_masked() {
        for url in [
            "mysql://root:hunter2@localhost/db",
            "sqlite://",
            "sqlite://:memory:",
            "sqlite://x.db?mode=ro",
            "",
            "rhiz.db",
        ] {
            match DatabaseUrl::parse(url) {
                Err(StoreError::InvalidUrl { url: shown, reason }) => {
                    assert!(!shown.contains("hunter2"), "{shown}");
                    assert!(!reason.is_empty());
                }
                other => panic!("{url:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn masks_passwords_only() {
        assert_eq!(mask_password("postgres://u:p@h/d"), "postgres://u:***@h/d");
        assert_eq!(mask_password("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(
            mask_password("postgres://u:p:q@h/d?x=1"),
            "postgres://u:***@h/d?x=1"
        );
        assert_eq!(
            mask_password("postgres://h/d?PASSWORD=p&sslmode=require"),
            "postgres://h/d?PASSWORD=***&sslmode=require"
        );
    }
}
