use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::FailedAttempt;

/// A priority lane. Lanes are scheduled by weight, highest priority first, so a
/// flood in one lane slows the others but never stops them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    /// Dequeued first.
    Critical,
    /// Dequeued before normal and low.
    High,
    /// The default lane.
    Normal,
    /// Dequeued last.
    Low,
}

impl Lane {
    /// All lanes, highest priority first; the order of per-lane arrays.
    pub const ALL: [Lane; 4] = [Lane::Critical, Lane::High, Lane::Normal, Lane::Low];

    /// Position of this lane in [`Lane::ALL`] and in per-lane arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The lane for a numeric priority as the ingestion API sends it:
    /// 3 critical, 2 high, 1 normal, 0 low. Other values have no lane.
    pub fn from_priority(priority: u8) -> Option<Lane> {
        match priority {
            3 => Some(Lane::Critical),
            2 => Some(Lane::High),
            1 => Some(Lane::Normal),
            0 => Some(Lane::Low),
            _ => None,
        }
    }

    /// The numeric priority of this lane (inverse of [`Lane::from_priority`]).
    pub fn priority(self) -> u8 {
        3 - self as u8
    }

    /// The lane at `index` in [`Lane::ALL`], if there is one.
    pub fn from_index(index: usize) -> Option<Lane> {
        Lane::ALL.get(index).copied()
    }

    /// Lower-case name, used as a metrics label.
    pub fn name(self) -> &'static str {
        match self {
            Lane::Critical => "critical",
            Lane::High => "high",
            Lane::Normal => "normal",
            Lane::Low => "low",
        }
    }
}

/// An event offered to an [`EventLog`](crate::EventLog): the payload is
/// already encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Idempotency key: an id the log has seen before is not appended again.
    pub id: String,
    /// Partition key (for Rhiz, the record URI): events with the same key are
    /// applied one at a time, in append order.
    pub key: String,
    /// Priority lane.
    pub lane: Lane,
    /// Caller-given type label, kept for metrics and dead-letter listings.
    pub event_type: String,
    /// Encoded payload.
    pub payload: Vec<u8>,
}

/// Where an unsettled event is: waiting to be applied, or given up on.
/// (Applied events are only remembered by id, for idempotency.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventState {
    /// Accepted and not yet applied.
    Pending,
    /// Given up on; waiting in the dead-letter queue.
    DeadLetter,
}

/// An event as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in the log: increases with every append.
    pub seq: u64,
    /// The event as it was appended.
    pub event: NewEvent,
    /// When the log accepted it.
    pub enqueued_at: SystemTime,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Earliest time of the next attempt, after a failure.
    pub next_attempt_at: Option<SystemTime>,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// The last failed attempts, oldest first, at most
    /// [`FAILED_ATTEMPTS_KEPT`](crate::FAILED_ATTEMPTS_KEPT): each with its
    /// time and error. Kept through dead-lettering and replays, so a
    /// replayed event's new attempts follow its earlier ones.
    pub failed_attempts: Vec<FailedAttempt>,
    /// When the state last changed (appended, failed, dead-lettered, replayed).
    pub updated_at: SystemTime,
    /// Current state.
    pub state: EventState,
}

/// What happened to one event offered to [`EventLog::append`](crate::EventLog::append).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Written and synced to disk at this position.
    Appended {
        /// The event's position in the log.
        seq: u64,
    },
    /// The id was seen before (pending, applied within the retention, or dead
    /// letter, or earlier in the same batch); nothing was written.
    Duplicate,
}

/// Selects dead letters; every field set must match, an empty filter matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadLetterFilter {
    /// Only these event ids.
    pub ids: Option<Vec<String>>,
    /// Only this event type label.
    pub event_type: Option<String>,
    /// Only this lane.
    pub lane: Option<Lane>,
    /// Only this partition key.
    pub key: Option<String>,
}

impl DeadLetterFilter {
    /// A filter matching every dead letter.
    pub fn all() -> Self {
        Self::default()
    }

    /// A filter matching the dead letter with this id.
    pub fn id(id: impl Into<String>) -> Self {
        Self {
            ids: Some(vec![id.into()]),
            ..Self::default()
        }
    }

    /// Whether `event` passes every field set in the filter.
    pub fn matches(&self, event: &NewEvent) -> bool {
        self.ids.as_ref().is_none_or(|ids| ids.contains(&event.id))
            && self
                .event_type
                .as_ref()
                .is_none_or(|t| *t == event.event_type)
            && self.lane.is_none_or(|l| l == event.lane)
            && self.key.as_ref().is_none_or(|k| *k == event.key)
    }
}

/// How many events the log holds, by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogCounts {
    /// Pending events per lane, indexed by [`Lane::index`].
    pub pending: [u64; 4],
    /// Dead letters.
    pub dead_letters: u64,
    /// Applied events still remembered for idempotency.
    pub applied_retained: u64,
}

impl LogCounts {
    /// Pending events in all lanes.
    pub fn pending_total(&self) -> u64 {
        self.pending.iter().sum()
    }
}

pub(crate) fn to_micros(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(crate) fn from_micros(us: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(u64::try_from(us).unwrap_or(0))
}
