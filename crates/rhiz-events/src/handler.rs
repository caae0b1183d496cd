use async_trait::async_trait;

/// Why applying an event failed, which decides what happens next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerError {
    /// Worth retrying (a failure that may pass): the event is tried again
    /// after a backoff, up to the configured attempts, then dead-lettered.
    Transient(String),
    /// A dependency the handler needs is down (the database cannot be
    /// reached): the event waits and is tried again after a backoff (growing
    /// to `backoff_max`) for as long as the outage lasts, or as soon as
    /// another event is applied, which shows the dependency is back. It is
    /// never dead-lettered for this, so an outage delays events and loses none;
    /// the attempts still count, so a [`Transient`](Self::Transient)
    /// failure after them dead-letters the event at once.
    Unavailable(String),
    /// Retrying cannot help (a rule is broken): the event goes to the
    /// dead-letter queue at once.
    Permanent(String),
}

impl HandlerError {
    /// The error message.
    pub fn message(&self) -> &str {
        match self {
            HandlerError::Transient(m)
            | HandlerError::Unavailable(m)
            | HandlerError::Permanent(m) => m,
        }
    }
}

impl std::fmt::Display for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandlerError::Transient(m) => write!(f, "transient: {m}"),
            HandlerError::Unavailable(m) => write!(f, "unavailable: {m}"),
            HandlerError::Permanent(m) => write!(f, "permanent: {m}"),
        }
    }
}

impl std::error::Error for HandlerError {}

/// Applies events; provided by the caller.
///
/// The pipeline delivers every accepted event at least once, one at a time per
/// partition key and in append order. After a crash between a successful
/// `apply` and its acknowledgement reaching the disk, the event is delivered
/// again: a handler that must apply exactly once in effect makes `apply`
/// idempotent (for Rhiz, by event id or record (URI, CID)).
#[async_trait]
pub trait Handler<P: Sync>: Send + Sync + 'static {
    /// Applies one event. A panic counts as a permanent failure: the event
    /// goes to the dead letters and the worker carries on.
    async fn apply(&self, event: &P) -> Result<(), HandlerError>;

    /// Applies several events of different partition keys, returning one
    /// result per event, in order; each event is then settled, retried or
    /// dead-lettered on its own. Called with up to
    /// [`PipelineConfig::apply_batch_max`](crate::PipelineConfig::apply_batch_max)
    /// events, so a handler can share one storage transaction among them.
    /// The default applies them one by one. If it panics, the events are
    /// applied again one by one, so one bad event cannot fail the others.
    async fn apply_batch(&self, events: &[&P]) -> Vec<Result<(), HandlerError>> {
        let mut results = Vec::with_capacity(events.len());
        for event in events {
            results.push(self.apply(event).await);
        }
        results
    }
}
