//! The record key syntax.

use super::string_identifier;

string_identifier!(
    /// A syntactically valid record key.
    RecordKey,
    "record key",
    check
);

/// Checks `s` against the record key syntax; returns the broken rule.
fn check(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("must not be empty");
    }
    Ok(())
}
