//! The handle syntax.

use super::string_identifier;

string_identifier!(
    /// A syntactically valid handle.
    Handle,
    "handle",
    check
);

/// Checks `s` against the handle syntax; returns the broken rule.
fn check(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("must not be empty");
    }
    Ok(())
}
