use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::{AppendOutcome, DeadLetterFilter, EventsError, LogCounts, NewEvent, StoredEvent};

/// A durable, ordered log of events with a dead-letter queue.
///
/// The log is the source of truth: an event exists once `append` returned
/// [`AppendOutcome::Appended`], and stays pending until it is acknowledged
/// with [`EventLog::ack`] or moved to the dead letters. The
/// [`Pipeline`](crate::Pipeline) drives it; other code calls it for the
/// dead-letter operations that need no scheduling (list, inspect, purge).
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Appends events in order, returning one outcome per event, in the same
    /// order. Returns only once every appended event is durable. Either all
    /// new events of the call are written or, on error, none is.
    async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<AppendOutcome>, EventsError>;

    /// Appends a single event; see [`EventLog::append`].
    async fn append_one(&self, event: NewEvent) -> Result<AppendOutcome, EventsError> {
        let mut outcomes = self.append(vec![event]).await?;
        outcomes.pop().ok_or(EventsError::Closed)
    }

    /// Pending events with a position above `after_seq`, in log order, at most `limit`.
    async fn pending(&self, after_seq: u64, limit: usize) -> Result<Vec<StoredEvent>, EventsError>;

    /// Marks pending events as applied. Their ids are remembered as duplicates
    /// for the configured retention. Unknown or already settled positions are ignored.
    async fn ack(&self, seqs: Vec<u64>) -> Result<(), EventsError>;

    /// Records a failed attempt of a pending event, with the log's time and
    /// `error`, in its [`StoredEvent::failed_attempts`], and when to try
    /// next; returns the number of failed attempts so far.
    async fn record_failure(
        &self,
        seq: u64,
        error: String,
        next_attempt_at: SystemTime,
    ) -> Result<u32, EventsError>;

    /// Counts and records (as [`EventLog::record_failure`] does) a last
    /// failed attempt and moves the pending event to the dead letters with
    /// its error and failed attempts.
    async fn move_to_dead_letters(&self, seq: u64, error: String) -> Result<(), EventsError>;

    /// Dead letters matching `filter`, oldest first, skipping `offset`, at most `limit`.
    async fn dead_letters(
        &self,
        filter: DeadLetterFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, EventsError>;

    /// The dead letter with this event id, if there is one (inspect).
    async fn dead_letter(&self, id: &str) -> Result<Option<StoredEvent>, EventsError> {
        let mut found = self.dead_letters(DeadLetterFilter::id(id), 0, 1).await?;
        Ok(found.pop())
    }

    /// Makes the dead letters matching `filter` pending again with their
    /// attempt count reset, and returns them in log order. They keep their
    /// failed attempts; later ones follow. The caller (the pipeline)
    /// schedules them.
    async fn replay_dead_letters(
        &self,
        filter: DeadLetterFilter,
    ) -> Result<Vec<StoredEvent>, EventsError>;

    /// Deletes the dead letters matching `filter`; returns how many. Their ids
    /// are forgotten: the same id may be appended again.
    async fn purge_dead_letters(&self, filter: DeadLetterFilter) -> Result<u64, EventsError>;

    /// Takes over, for this process, a page of the pending events that were
    /// handed to a process (this one or another) and not settled: the
    /// events of an apply-lease holder that died or lost its lease. Pages
    /// follow each other in log order: pass the last `seq` of the previous
    /// page as `after_seq` (0 for the first page); an empty page ends.
    ///
    /// A pipeline with an apply lease calls it on every acquisition, then
    /// [`EventLog::follow`] for the rest. The default, for a log only one
    /// process uses, is [`EventLog::pending`].
    async fn claim_pending(
        &self,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, EventsError> {
        self.pending(after_seq, limit).await
    }

    /// Hands this process, in log order, at most `limit` events appended by
    /// any process that no process has been handed yet, waiting up to `wait`
    /// for some to arrive. A pipeline with an apply lease learns of every
    /// event (its own appends included) this way. With `limit` 0 it returns
    /// at once, which tells whether the log supports following.
    ///
    /// The default returns [`EventsError::Unsupported`]: a log one process
    /// owns has nothing to follow, its pipeline schedules its own appends.
    async fn follow(&self, limit: usize, wait: Duration) -> Result<Vec<StoredEvent>, EventsError> {
        let _ = (limit, wait);
        Err(EventsError::Unsupported {
            operation: "following appends made by other processes",
        })
    }

    /// Counts events by state.
    async fn counts(&self) -> Result<LogCounts, EventsError>;

    /// Finishes every write in progress and stops accepting work.
    async fn close(&self) -> Result<(), EventsError>;
}
