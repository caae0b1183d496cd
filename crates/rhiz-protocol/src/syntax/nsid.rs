//! The NSID syntax.

use super::string_identifier;

string_identifier!(
    /// A syntactically valid NSID.
    Nsid,
    "NSID",
    check
);

/// Checks `s` against the NSID syntax; returns the broken rule.
fn check(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("must not be empty");
    }
    Ok(())
}
