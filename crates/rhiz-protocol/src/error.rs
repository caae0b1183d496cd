//! The one error type of this crate.

use std::fmt;

/// An identifier that broke one rule of its AT Protocol syntax.
///
/// `kind` names the syntax (`"DID"`, `"handle"`, …), `input` is the rejected
/// text and `rule` says, in words, which rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The syntax that was expected, e.g. `"DID"`.
    pub kind: &'static str,
    /// The rejected input, verbatim.
    pub input: String,
    /// The rule the input broke, e.g. `"method must be lowercase letters"`.
    pub rule: &'static str,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} {:?}: {}", self.kind, self.input, self.rule)
    }
}

impl std::error::Error for SyntaxError {}

/// Errors of `rhiz-protocol`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An identifier (DID, handle, NSID, …) is not valid syntax.
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// A lexicon record broke its schema.
    #[error(transparent)]
    Record(#[from] crate::RecordError),
    /// An event broke a protocol rule.
    #[error(transparent)]
    Event(#[from] crate::EventError),
}
