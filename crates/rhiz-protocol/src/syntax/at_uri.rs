//! The AT-URI syntax.

use super::{string_identifier, Nsid};

string_identifier!(
    /// A syntactically valid AT-URI.
    AtUri,
    "AT-URI",
    check
);

/// Checks `s` against the AT-URI syntax; returns the broken rule.
fn check(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("must not be empty");
    }
    Ok(())
}

impl AtUri {
    /// The collection NSID of the URI, when it has one.
    pub fn collection(&self) -> Option<Nsid> {
        self.0.strip_prefix("at://")?.split('/').nth(1)?.parse().ok()
    }
}
