//! The crate's one error type.

use std::sync::Arc;

/// Everything that can go wrong in the cache, in kinds a caller can act on.
///
/// An L2 (Redis) outage is not an error for readers: lookups fall back to L1
/// and to the computation. It only surfaces from calls that are about L2
/// itself, such as [`Cache::health`](crate::Cache::health).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The builder's options do not make a usable cache.
    #[error("invalid cache configuration: {0}")]
    Config(String),
    /// A key class name that was not registered on the builder.
    #[error("unknown key class {0:?}")]
    UnknownClass(String),
    /// Redis answered with an error, or the connection failed.
    #[error("redis error: {0}")]
    Redis(#[source] Arc<redis::RedisError>),
    /// Redis did not answer within the configured call timeout.
    #[error("redis call timed out after {0:?}")]
    Timeout(std::time::Duration),
    /// The circuit breaker is open: L2 was skipped without being asked.
    #[error("L2 skipped: circuit breaker open")]
    BreakerOpen,
    /// A value could not be encoded for storage.
    #[error("cannot encode value: {0}")]
    Encode(#[source] postcard::Error),
    /// The computation failed and no value within the allowed staleness was
    /// available to stand in for it.
    #[error("computation failed: {0}")]
    Compute(#[source] Arc<dyn std::error::Error + Send + Sync>),
}

impl From<redis::RedisError> for CacheError {
    fn from(e: redis::RedisError) -> Self {
        CacheError::Redis(Arc::new(e))
    }
}
