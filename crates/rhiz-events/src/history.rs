//! The failed attempts an event keeps, and how both logs store them: a JSON
//! array of `[at, error]` pairs, oldest first, `at` in microseconds since
//! the Unix epoch written as a decimal string (Redis's Lua JSON encoder
//! keeps only 14 significant digits of a number, too few for microseconds).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::event::{from_micros, to_micros};

/// How many failed attempts an event keeps: the last ones, oldest first.
/// An event retried for as long as its database is down fails without
/// end; its history stays this long while
/// [`StoredEvent::attempts`](crate::StoredEvent::attempts) keeps counting.
pub const FAILED_ATTEMPTS_KEPT: usize = 16;

/// One failed attempt at applying an event, as the log recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedAttempt {
    /// When the log recorded the failure (its own clock: the embedded log's
    /// host, or the Redis server).
    pub at: SystemTime,
    /// The error the attempt ended with.
    pub error: String,
}

/// A failed attempt as the logs store it: `[at_µs, error]`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredAttempt(String, String);

impl StoredAttempt {
    fn decode(self) -> Result<FailedAttempt, String> {
        let micros = self
            .0
            .parse()
            .map_err(|_| format!("attempt time `{}` is not a number", self.0))?;
        Ok(FailedAttempt {
            at: from_micros(micros),
            error: self.1,
        })
    }
}

/// The history of stored attempts, checked.
pub(crate) fn decode_attempts(stored: Vec<StoredAttempt>) -> Result<Vec<FailedAttempt>, String> {
    stored.into_iter().map(StoredAttempt::decode).collect()
}

/// A history as a log stores it (see the module docs).
pub(crate) fn decode(text: &str) -> Result<Vec<FailedAttempt>, String> {
    let stored: Vec<StoredAttempt> =
        serde_json::from_str(text).map_err(|e| format!("malformed failed-attempt history: {e}"))?;
    decode_attempts(stored)
}

/// The stored form of `history`.
pub(crate) fn encode(history: &[FailedAttempt]) -> String {
    let stored: Vec<StoredAttempt> = history
        .iter()
        .map(|a| StoredAttempt(to_micros(a.at).to_string(), a.error.clone()))
        .collect();
    serde_json::to_string(&stored).expect("a list of string pairs always serializes")
}

/// Adds `attempt` at the end of `history`, dropping the oldest attempts
/// beyond [`FAILED_ATTEMPTS_KEPT`].
pub(crate) fn push(history: &mut Vec<FailedAttempt>, attempt: FailedAttempt) {
    history.push(attempt);
    let excess = history.len().saturating_sub(FAILED_ATTEMPTS_KEPT);
    history.drain(..excess);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn attempt(n: u64) -> FailedAttempt {
        FailedAttempt {
            at: SystemTime::UNIX_EPOCH + Duration::from_micros(1_763_935_200_000_000 + n),
            error: format!("failure {n}"),
        }
    }

    #[test]
    fn histories_round_trip_with_microsecond_times() {
        let history = vec![attempt(1), attempt(2)];
        let text = encode(&history);
        assert_eq!(
            text,
            r#"[["1763935200000001","failure 1"],["1763935200000002","failure 2"]]"#
        );
        assert_eq!(decode(&text).unwrap(), history);
        assert!(decode(r#"[["soon","x"]]"#).is_err());
        assert!(decode("not json").is_err());
    }

    #[test]
    fn push_keeps_the_last_attempts_only() {
        let mut history = Vec::new();
        for n in 0..FAILED_ATTEMPTS_KEPT as u64 + 3 {
            push(&mut history, attempt(n));
        }
        assert_eq!(history.len(), FAILED_ATTEMPTS_KEPT);
        assert_eq!(history[0], attempt(3));
        assert_eq!(
            history.last(),
            Some(&attempt(FAILED_ATTEMPTS_KEPT as u64 + 2))
        );
    }
}
