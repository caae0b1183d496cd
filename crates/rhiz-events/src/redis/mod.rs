//! The shared event log on Redis Streams, and the apply lease that lets one
//! instance at a time apply its events. The layout, positions, trimming and
//! durability are documented on [`RedisStreamsEventLog`] (`docs/redis.md`).

mod lease;
mod log;
mod scripts;

use std::time::{Duration, SystemTime};

use ::redis::Value;

pub use lease::{ApplyLease, LeaseOptions};
pub use log::{RedisLogOptions, RedisStreamsEventLog};

use serde::Deserialize;

use crate::event::from_micros;
use crate::history::{self, decode_attempts, StoredAttempt};
use crate::{EventState, EventsError, FailedAttempt, Lane, NewEvent, StoredEvent};

/// Bits of a `seq` holding the sequence part of a stream id.
const SEQ_BITS: u32 = 20;

/// The `seq` of a stream id `ms-n`.
fn seq_of(sid: &str) -> Result<u64, EventsError> {
    let corrupt = |reason: &str| EventsError::Corrupt {
        entry: sid.to_owned(),
        reason: reason.to_owned(),
    };
    let (ms, n) = sid
        .split_once('-')
        .ok_or_else(|| corrupt("a stream id is `ms-n`"))?;
    let ms: u64 = ms.parse().map_err(|_| corrupt("bad milliseconds"))?;
    let n: u64 = n.parse().map_err(|_| corrupt("bad sequence number"))?;
    if n >= 1 << SEQ_BITS || ms >= 1 << (64 - SEQ_BITS) {
        return Err(corrupt("the stream id does not fit a 64-bit position"));
    }
    Ok(ms << SEQ_BITS | n)
}

/// The stream id of a `seq`.
fn sid_of(seq: u64) -> String {
    format!("{}-{}", seq >> SEQ_BITS, seq & ((1 << SEQ_BITS) - 1))
}

/// An entry as the scripts describe it: stream id, flat field list,
/// deliveries to consumers, recorded failure.
type Described = (String, Vec<Vec<u8>>, u64, Option<String>);

/// Reads a fenced script's reply: `-1` means the lease was not ours.
fn fenced<T: ::redis::FromRedisValue>(
    value: Value,
    token: Option<u64>,
    operation: &'static str,
) -> Result<T, EventsError> {
    if value == Value::Int(-1) {
        return Err(EventsError::LeaseLost { token });
    }
    T::from_redis_value(value).map_err(|e| EventsError::Redis {
        operation,
        source: e.into(),
    })
}

/// The named fields of a flat `name, value, …` list.
struct Fields(Vec<Vec<u8>>);

impl Fields {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .chunks_exact(2)
            .find(|pair| pair[0] == name.as_bytes())
            .map(|pair| pair[1].as_slice())
    }

    fn text(&self, name: &str, entry: &str) -> Result<String, EventsError> {
        let bytes = self.get(name).ok_or_else(|| EventsError::Corrupt {
            entry: entry.to_owned(),
            reason: format!("field `{name}` is missing"),
        })?;
        String::from_utf8(bytes.to_vec()).map_err(|_| EventsError::Corrupt {
            entry: entry.to_owned(),
            reason: format!("field `{name}` is not UTF-8"),
        })
    }

    fn number(&self, name: &str, entry: &str) -> Result<i64, EventsError> {
        self.text(name, entry)?
            .parse()
            .map_err(|_| EventsError::Corrupt {
                entry: entry.to_owned(),
                reason: format!("field `{name}` is not a number"),
            })
    }

    /// The event the entry or dead-letter record holds.
    fn event(&self, entry: &str) -> Result<(NewEvent, SystemTime), EventsError> {
        let lane = usize::try_from(self.number("l", entry)?)
            .ok()
            .and_then(Lane::from_index)
            .ok_or_else(|| EventsError::Corrupt {
                entry: entry.to_owned(),
                reason: "no such lane".into(),
            })?;
        let event = NewEvent {
            id: self.text("i", entry)?,
            key: self.text("k", entry)?,
            lane,
            event_type: self.text("t", entry)?,
            payload: self.get("p").unwrap_or_default().to_vec(),
        };
        Ok((event, from_micros(self.number("a", entry)?)))
    }
}

/// A pending entry's failure record as the scripts keep it (JSON; times
/// in µs as decimal strings): attempts, next attempt, last change, history.
#[derive(Deserialize)]
struct FailureRecord {
    n: u32,
    #[serde(default)]
    next: Option<String>,
    u: String,
    h: Vec<StoredAttempt>,
}

/// A pending event from a script's description of its stream entry.
///
/// Attempts are the recorded failures, or the deliveries beyond the first
/// when more: a delivery that never settled (its consumer died) counts as a
/// failed attempt, so an event that kills its consumer every time still
/// reaches the dead letters.
fn pending_event(
    (sid, fields, deliveries, failure): Described,
) -> Result<StoredEvent, EventsError> {
    let fields = Fields(fields);
    let (event, enqueued_at) = fields.event(&sid)?;
    let mut stored = StoredEvent {
        seq: seq_of(&sid)?,
        event,
        enqueued_at,
        attempts: u32::try_from(deliveries.saturating_sub(1)).unwrap_or(u32::MAX),
        next_attempt_at: None,
        last_error: None,
        updated_at: enqueued_at,
        failed_attempts: Vec::new(),
        state: EventState::Pending,
    };
    if let Some(failure) = failure {
        let corrupt = |reason: String| EventsError::Corrupt {
            entry: sid.clone(),
            reason: format!("malformed failure record: {reason}"),
        };
        let record: FailureRecord =
            serde_json::from_str(&failure).map_err(|e| corrupt(e.to_string()))?;
        let micros = |text: &str| {
            text.parse()
                .map(from_micros)
                .map_err(|_| corrupt(format!("`{text}` is not a time")))
        };
        stored.attempts = stored.attempts.max(record.n);
        stored.next_attempt_at = record.next.as_deref().map(micros).transpose()?;
        stored.updated_at = micros(&record.u)?;
        stored.failed_attempts = decode_attempts(record.h).map_err(corrupt)?;
        stored.last_error = (record.n > 0)
            .then(|| stored.failed_attempts.last().map(|a| a.error.clone()))
            .flatten();
    }
    Ok(stored)
}

/// A dead letter from its record hash (`HGETALL dl:<id>` as a flat list).
/// A record from before histories were kept (no `h`) has its last failure
/// as its history.
fn dead_letter(id: &str, record: Vec<Vec<u8>>) -> Result<StoredEvent, EventsError> {
    let fields = Fields(record);
    let (event, enqueued_at) = fields.event(id)?;
    let sid = fields.text("s", id)?;
    let last_error = fields.text("e", id)?;
    let updated_at = from_micros(fields.number("u", id)?);
    let failed_attempts = match fields.get("h") {
        Some(_) => {
            history::decode(&fields.text("h", id)?).map_err(|reason| EventsError::Corrupt {
                entry: id.to_owned(),
                reason,
            })?
        }
        None => vec![FailedAttempt {
            at: updated_at,
            error: last_error.clone(),
        }],
    };
    Ok(StoredEvent {
        seq: seq_of(&sid)?,
        event,
        enqueued_at,
        attempts: u32::try_from(fields.number("n", id)?).unwrap_or(0),
        next_attempt_at: None,
        last_error: Some(last_error),
        updated_at,
        failed_attempts,
        state: EventState::DeadLetter,
    })
}

/// Whole milliseconds of `d`, for Redis arguments.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_keep_stream_order_and_round_trip() {
        let ids = [
            "0-1",
            "1-0",
            "1-5",
            "1763935200000-0",
            "1763935200000-1048575",
            "1763935200001-0",
        ];
        let seqs: Vec<u64> = ids.iter().map(|s| seq_of(s).unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        for (sid, seq) in ids.iter().zip(&seqs) {
            assert_eq!(sid_of(*seq), *sid);
        }
        assert_eq!(
            sid_of(seqs[4] + 1),
            "1763935200001-0",
            "seq + 1 is the next id"
        );
        assert!(seq_of("5-1048576").is_err());
        assert!(seq_of("nonsense").is_err());
    }
}
