//! The one error type of this crate, and the per-line error of edge lists.

use std::fmt;

use rhiz_protocol::{Did, EventError, SyntaxError};

/// Errors of `rhiz-datasets`: bad settings, I/O, and the rules an edge-list
/// line can break (see [`LineError`] for the line number).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// Reading the input or writing the output failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A generator or import setting is out of its range.
    #[error("invalid setting {field}: {rule}")]
    InvalidSetting {
        /// The setting, e.g. `dids` or `sybil.attack_edges`.
        field: &'static str,
        /// The rule it broke.
        rule: String,
    },
    /// A built event broke a protocol rule. This is a bug in this crate:
    /// every event is built to satisfy the rules.
    #[error("built an invalid event: {0}")]
    Event(#[from] EventError),
    /// An identifier built by this crate is invalid. This is a bug in this
    /// crate, like [`Event`](Self::Event).
    #[error("built an invalid identifier: {0}")]
    Syntax(#[from] SyntaxError),
    /// A line is not UTF-8 text.
    #[error("line is not valid UTF-8")]
    NotUtf8,
    /// A line does not have 3 or 4 fields.
    #[error("expected 3 or 4 comma-separated fields (source,target,weight[,time]), got {got}")]
    FieldCount {
        /// How many fields the line has.
        got: usize,
    },
    /// A required field is empty.
    #[error("field {field} is empty")]
    EmptyField {
        /// `source`, `target`, `weight` or `time`.
        field: &'static str,
    },
    /// A quoted field is not closed on its line.
    #[error("a quoted field is not closed on its line (fields may not span lines)")]
    UnterminatedQuote,
    /// Characters other than spaces follow a quoted field's closing quote.
    #[error("only spaces may follow the closing quote of a quoted field")]
    TextAfterQuote,
    /// The weight is not a finite decimal number.
    #[error("weight {value:?} is not a finite number")]
    WeightNotNumber {
        /// The weight field as written.
        value: String,
    },
    /// The weight is outside its scale's range.
    #[error("weight {value} is outside the {scale} range {min} to {max}")]
    WeightOutOfRange {
        /// The weight.
        value: f64,
        /// The scale's name (`rating`, `percent`).
        scale: &'static str,
        /// The smallest weight allowed.
        min: f64,
        /// The largest weight allowed.
        max: f64,
    },
    /// The time field is not Unix seconds between 1970 and 9999.
    #[error("time {value:?} must be Unix seconds from 0 to 253402300799 (a finite number)")]
    BadTime {
        /// The time field as written.
        value: String,
    },
    /// Source and target are the same DID.
    #[error("self-loop: source and target are both {did}")]
    SelfLoop {
        /// The DID both ends map to.
        did: Did,
    },
}

/// An edge-list line that was skipped, with why.
#[derive(Debug, thiserror::Error)]
pub struct LineError {
    /// The line number, from 1.
    pub line: u64,
    /// The rule the line broke.
    #[source]
    pub error: DatasetError,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.error)
    }
}
