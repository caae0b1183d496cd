//! The DID syntax.

use super::string_identifier;

string_identifier!(
    /// A syntactically valid DID.
    Did,
    "DID",
    check
);

/// Checks `s` against the DID syntax; returns the broken rule.
fn check(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("must not be empty");
    }
    Ok(())
}

impl Did {
    /// The DID method, e.g. `plc` in `did:plc:abc`.
    pub fn method(&self) -> &str {
        self.0.split(':').nth(1).unwrap_or_default()
    }
}
