use thiserror::Error;

/// Everything that can go wrong in this crate.
///
/// Backpressure is not an error: a refused event is reported as
/// [`SubmitOutcome::Refused`](crate::SubmitOutcome::Refused) so the caller can
/// tell the producer when to retry.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EventsError {
    /// A configuration value is out of range; `field` names it.
    #[error("invalid configuration: `{field}` {reason}")]
    Config {
        /// The configuration field at fault.
        field: &'static str,
        /// The rule it breaks.
        reason: String,
    },
    /// The embedded log's database failed.
    #[error("event log storage failed while {operation}")]
    Storage {
        /// What the log was doing.
        operation: &'static str,
        /// The database error.
        #[source]
        source: rusqlite::Error,
    },
    /// The log's directory or file could not be prepared.
    #[error("event log file {path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A payload could not be encoded or decoded by the codec.
    #[error("payload codec failed for event `{event_id}`: {message}")]
    Codec {
        /// The event whose payload failed.
        event_id: String,
        /// The codec's message.
        message: String,
    },
    /// The log failed to write a group of submitted events; none of them was
    /// written.
    #[error("appending to the event log failed: {0}")]
    Append(String),
    /// The embedded log could not make a group of changes durable; none of
    /// them was kept.
    #[error("the event log could not commit: {0}")]
    Commit(String),
    /// The log or pipeline is shut down and takes no more work.
    #[error("the event log is closed")]
    Closed,
    /// Redis (the shared log or the apply lease) failed or is unreachable;
    /// check the Redis URL, the server and its memory limit.
    #[error("Redis failed while {operation}: {source}")]
    Redis {
        /// What the log or lease was doing.
        operation: &'static str,
        /// The client's error.
        #[source]
        source: redis::RedisError,
    },
    /// This process does not hold the apply lease (it expired or another
    /// instance took it over), so the state change was refused: the events
    /// stay pending for the current holder.
    #[error("the apply lease is not held by this process (fencing token {token:?}); another instance applies events now")]
    LeaseLost {
        /// The token this process used, if it had one.
        token: Option<u64>,
    },
    /// The log holds an entry this version cannot read (written by something
    /// else, or by an incompatible version).
    #[error("malformed event log entry {entry}: {reason}")]
    Corrupt {
        /// The entry's position or id.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The log cannot do what was asked; for instance following appends
    /// made by other processes, which a pipeline with an apply lease needs.
    #[error("this event log does not support {operation}; use a shared log such as RedisStreamsEventLog")]
    Unsupported {
        /// The operation asked for.
        operation: &'static str,
    },
}
