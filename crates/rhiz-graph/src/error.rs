//! The one error type of this crate.

use rhiz_protocol::{AtUri, Did};

/// Errors of `rhiz-graph`: inputs a query or an update cannot accept.
///
/// Every variant is the caller's fault and names the offending value, so an
/// API layer can turn any of them into a 400-class answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// A path was asked from a DID to itself (PROTOCOL.md: an error, not an
    /// empty path).
    #[error("a path from {0} to itself is not a path")]
    SameEndpoints(Did),
    /// A DID the graph has never seen in any relationship or attestation.
    #[error("unknown DID {0}")]
    UnknownDid(Did),
    /// `max_hops` outside 1–10.
    #[error("max_hops must be between 1 and 10, got {0}")]
    MaxHopsOutOfRange(u8),
    /// `min_strength` above 100.
    #[error("min_strength must be between 0 and 100, got {0}")]
    MinStrengthOutOfRange(u8),
    /// `limit` outside 1–100.
    #[error("limit must be between 1 and 100, got {0}")]
    LimitOutOfRange(usize),
    /// A relationship whose two participants are the same DID.
    #[error("relationship {uri} has the same DID twice as participant")]
    SelfRelationship {
        /// The relationship's URI.
        uri: AtUri,
    },
    /// An AT-URI that does not name a record by DID: the graph indexes
    /// `at://<did>/<collection>/<rkey>` only.
    #[error("{0} does not name a record as at://<did>/<collection>/<rkey>")]
    NotARecordUri(AtUri),
    /// A [`TrustConfig`](crate::TrustConfig) parameter out of range; the
    /// text names the parameter and its range.
    #[error("invalid trust configuration: {0}")]
    TrustConfig(&'static str),
}
