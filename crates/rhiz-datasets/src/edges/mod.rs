#![doc = include_str!("../../docs/edges.md")]

mod csv;

use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rhiz_protocol::{
    AtUri, AttestationSummary, Cid, Consent, Datetime, Did, EventBody, EventError, EventId, Nsid,
    Percent, Privacy, Record, RecordKey, RelationshipRecord, RelationshipType, StrengthPoint,
    Temporal, Tid, Verification, Visibility,
};
use serde_json::Map;

use crate::hash::hash128;
use crate::ids::map_identifier;
use crate::time::datetime_us;
use crate::{DatasetError, IngestionLine, LineError};

/// The relationship `type` of a negative rating: a distrust signal from
/// the source about the target, its strength the strength of the distrust.
pub const DISTRUST_TYPE: &str = "distrust";

/// How edge weights are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// −10 to +10 (Bitcoin OTC, Bitcoin Alpha): strength = round(|w| × 10),
    /// negative weights are distrust.
    Rating,
    /// 0 to 100: strength = round(w).
    Percent,
}

impl Scale {
    /// The scale's name, as the `--scale` flag spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rating => "rating",
            Self::Percent => "percent",
        }
    }

    /// The smallest and largest weight accepted.
    pub const fn range(self) -> (f64, f64) {
        match self {
            Self::Rating => (-10.0, 10.0),
            Self::Percent => (0.0, 100.0),
        }
    }

    /// The strength of weight `w`, and whether it is distrust.
    fn signal(self, w: f64) -> Result<(Percent, bool), DatasetError> {
        let (min, max) = self.range();
        if !(min..=max).contains(&w) {
            return Err(DatasetError::WeightOutOfRange {
                value: w,
                scale: self.as_str(),
                min,
                max,
            });
        }
        let strength = match self {
            Self::Rating => (w.abs() * 10.0).round(),
            Self::Percent => w.round(),
        };
        // The range check bounds the strength to 0..=100.
        let strength = Percent::new(strength as u8).unwrap_or(Percent::MAX);
        Ok((strength, w < 0.0))
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scale {
    type Err = DatasetError;

    /// `rating` or `percent`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rating" => Ok(Self::Rating),
            "percent" => Ok(Self::Percent),
            other => Err(DatasetError::InvalidSetting {
                field: "scale",
                rule: format!("must be rating or percent, got {other:?}"),
            }),
        }
    }
}

/// How an edge list is converted.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeOptions {
    /// How weights are read.
    pub scale: Scale,
    /// The instant of line 0 when the file has no time column: line `n` is
    /// at `base_time + n` milliseconds. Default 2024-01-01T00:00:00Z.
    pub base_time: DateTime<Utc>,
    /// The type of relationships of non-negative weight. Default
    /// `transactional` (rating networks rate trades).
    pub relationship_type: RelationshipType,
    /// The `context` of every relationship, at most 500 bytes. Default
    /// `imported from an edge list`.
    pub context: String,
}

impl EdgeOptions {
    /// The default options with `scale`.
    pub fn new(scale: Scale) -> Self {
        Self {
            scale,
            base_time: DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default(),
            relationship_type: RelationshipType::Transactional,
            context: "imported from an edge list".to_owned(),
        }
    }
}

/// The largest Unix time in seconds a datetime can write (9999-12-31T23:59:59Z).
const MAX_UNIX_SECONDS: f64 = 253_402_300_799.0;

/// What is remembered of a pair already seen, to update it.
#[derive(Debug, Clone, Copy)]
struct PairState {
    tid_micros: u64,
    tid_clock: u16,
    created_ms: i64,
    last_ms: i64,
    last_strength: Percent,
}

/// Reads an edge list and yields one [`IngestionLine`] per good line and
/// one [`LineError`] per bad line (see the [module docs](self) for the
/// rules). An I/O error is yielded once and ends the iteration.
///
/// Memory grows with the distinct identifiers and pairs seen (a few dozen
/// bytes each), to recognise repeated pairs.
#[derive(Debug)]
pub struct EdgeListReader<R> {
    input: R,
    options: EdgeOptions,
    collection: Nsid,
    base_ms: i64,
    line: u64,
    seen_data: bool,
    done: bool,
    buf: Vec<u8>,
    ids: HashMap<Did, u32>,
    pairs: HashMap<u64, PairState>,
}

impl<R: BufRead> EdgeListReader<R> {
    /// A reader of `input`. Fails when the options are out of range (a
    /// context over 500 bytes, a base time before 1970 or after 9000).
    pub fn new(input: R, options: EdgeOptions) -> Result<Self, DatasetError> {
        if options.context.len() > RelationshipRecord::CONTEXT_MAX_BYTES {
            return Err(DatasetError::InvalidSetting {
                field: "context",
                rule: format!("must be at most 500 bytes (got {})", options.context.len()),
            });
        }
        let base_ms = options.base_time.timestamp_millis();
        if !(0..=32_503_680_000_000).contains(&base_ms) {
            return Err(DatasetError::InvalidSetting {
                field: "base_time",
                rule: "must be from 1970-01-01 to 3000-01-01".to_owned(),
            });
        }
        Ok(Self {
            input,
            options,
            collection: RelationshipRecord::NSID.parse()?,
            base_ms,
            line: 0,
            seen_data: false,
            done: false,
            buf: Vec::new(),
            ids: HashMap::new(),
            pairs: HashMap::new(),
        })
    }

    /// The number of the last line read, from 1.
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// The line for `fields`, or the rule they break.
    fn convert(&mut self, fields: &[String]) -> Result<IngestionLine, DatasetError> {
        let (source, target, weight, time) = match fields {
            [s, t, w] => (s, t, w, None),
            [s, t, w, time] => (s, t, w, Some(time)),
            _ => return Err(DatasetError::FieldCount { got: fields.len() }),
        };
        for (field, value) in [("source", source), ("target", target), ("weight", weight)] {
            if value.is_empty() {
                return Err(DatasetError::EmptyField { field });
            }
        }
        let w = parse_number(weight).ok_or_else(|| DatasetError::WeightNotNumber {
            value: weight.clone(),
        })?;
        let (strength, distrust) = self.options.scale.signal(w)?;
        let (instant_ms, tid_micros, tid_clock) = match time {
            None => {
                let ms = self.base_ms + self.line as i64;
                (ms, ms as u64 * 1000, 0)
            }
            Some(time) => {
                let ms = parse_time_ms(time)?;
                let micros = ms as u64 * 1000 + self.line % 1000;
                (ms, micros, ((self.line / 1000) % 1024) as u16)
            }
        };
        let (source, target) = (map_identifier(source), map_identifier(target));
        if source == target {
            return Err(DatasetError::SelfLoop { did: source });
        }
        let relationship_type = if distrust {
            RelationshipType::from(DISTRUST_TYPE.to_owned())
        } else {
            self.options.relationship_type.clone()
        };
        let key = self.pair_key(&source, &target);
        let instant = datetime_ms(instant_ms);
        let (state, body_of): (PairState, fn(Record) -> EventBody) = match self.pairs.get(&key) {
            Some(&previous) => (
                PairState {
                    last_ms: instant_ms,
                    last_strength: strength,
                    ..previous
                },
                EventBody::updated,
            ),
            None => (
                PairState {
                    tid_micros,
                    tid_clock,
                    created_ms: instant_ms,
                    last_ms: instant_ms,
                    last_strength: strength,
                },
                EventBody::created,
            ),
        };
        let history = self.pairs.get(&key).map(|previous| {
            let mut points = [
                (previous.last_ms, previous.last_strength),
                (instant_ms, strength),
            ];
            points.sort_by_key(|p| p.0);
            points
                .iter()
                .map(|&(ms, strength)| StrengthPoint {
                    timestamp: datetime_ms(ms),
                    strength,
                    event: None,
                    extra: Map::new(),
                })
                .collect()
        });
        let created = datetime_ms(state.created_ms);
        let record = RelationshipRecord {
            participants: [source.clone(), target],
            relationship_type,
            strength,
            context: self.options.context.clone(),
            verification: Verification::Attestations(AttestationSummary {
                consensus_score: Percent::new(50).unwrap_or_default(),
                attestation_count: 0,
                verify_count: None,
                dispute_count: None,
                last_updated: instant.clone(),
                trend: None,
                top_attester_reputation: None,
                extra: Map::new(),
            }),
            privacy: Privacy {
                visibility: Visibility::Public,
                consent: Consent::Full,
                allow_discovery: None,
                allow_attestation: None,
                extra: Map::new(),
            },
            temporal: Temporal {
                start: created.clone(),
                last_interaction: if state.created_ms > instant_ms {
                    created.clone()
                } else {
                    instant
                },
                history,
                extra: Map::new(),
            },
            signatures: None,
            created_at: created,
            extra: Map::new(),
        };
        let rkey = RecordKey::from(Tid::from_parts(state.tid_micros, state.tid_clock));
        let uri = AtUri::from_parts(&source, &self.collection, &rkey);
        let line =
            IngestionLine::with_id_from(source, uri, body_of(Record::from(record)), edge_event_id)?;
        self.pairs.insert(key, state);
        Ok(line)
    }

    /// The key of the ordered pair `(source, target)`, interning both.
    fn pair_key(&mut self, source: &Did, target: &Did) -> u64 {
        let mut intern = |did: &Did| {
            let next = self.ids.len() as u32;
            *self.ids.entry(did.clone()).or_insert(next)
        };
        (u64::from(intern(source)) << 32) | u64::from(intern(target))
    }

    /// Whether the first data line's fields are a header.
    fn is_header(fields: &[String]) -> bool {
        fields.get(2).is_some_and(|w| {
            parse_number(w).is_none() && w.starts_with(|c: char| c.is_ascii_alphabetic())
        })
    }
}

impl<R: BufRead> Iterator for EdgeListReader<R> {
    type Item = Result<IngestionLine, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            let read = self.input.read_until(b'\n', &mut self.buf);
            let error = |line, error| Some(Err(LineError { line, error }));
            match read {
                Ok(0) => self.done = true,
                Err(e) => {
                    self.done = true;
                    return error(self.line + 1, DatasetError::Io(e));
                }
                Ok(_) => {
                    self.line += 1;
                    let Ok(text) = std::str::from_utf8(&self.buf) else {
                        return error(self.line, DatasetError::NotUtf8);
                    };
                    let text = text.trim_matches([' ', '\t', '\r', '\n', '\u{feff}']);
                    if text.is_empty() || text.starts_with('#') {
                        continue;
                    }
                    let first = !std::mem::replace(&mut self.seen_data, true);
                    let fields = match csv::split_fields(text) {
                        Ok(fields) => fields,
                        Err(e) => return error(self.line, e),
                    };
                    if first && Self::is_header(&fields) {
                        continue;
                    }
                    return Some(self.convert(&fields).map_err(|error| LineError {
                        line: self.line,
                        error,
                    }));
                }
            }
        }
        None
    }
}

/// A finite decimal number.
fn parse_number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Unix seconds, as milliseconds.
fn parse_time_ms(text: &str) -> Result<i64, DatasetError> {
    match parse_number(text) {
        Some(s) if (0.0..=MAX_UNIX_SECONDS).contains(&s) => Ok((s * 1000.0).floor() as i64),
        _ if text.is_empty() => Err(DatasetError::EmptyField { field: "time" }),
        _ => Err(DatasetError::BadTime {
            value: text.to_owned(),
        }),
    }
}

/// The datetime of Unix milliseconds `ms`, within 1970–9999.
fn datetime_ms(ms: i64) -> Datetime {
    datetime_us(ms.saturating_mul(1000))
}

/// `edge-` + 32 hex digits of a hash of the URI and the CID.
fn edge_event_id(uri: &AtUri, cid: &Cid) -> Result<EventId, EventError> {
    let (hi, lo) = hash128(format!("{uri} {cid}").as_bytes());
    format!("edge-{hi:016x}{lo:016x}").parse()
}
