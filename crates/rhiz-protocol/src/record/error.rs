//! The error a lexicon record fails validation with.

use std::fmt;

/// A lexicon record that broke one rule of its schema.
///
/// [`path`](Self::path) names the field (`temporal.history[2].strength`,
/// `participants[1]`, `$type`; empty for the record itself) and
/// [`kind`](Self::kind) the rule. The [`Display`](fmt::Display) text is meant
/// for users, e.g. `temporal.history[2].strength: must be an integer from 0 to 100`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    path: String,
    kind: RecordErrorKind,
}

impl RecordError {
    pub(crate) fn new(path: impl Into<String>, kind: RecordErrorKind) -> Self {
        Self {
            path: path.into(),
            kind,
        }
    }

    /// The path of the offending field, empty when the record as a whole is at fault.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Which rule the field broke.
    pub fn kind(&self) -> &RecordErrorKind {
        &self.kind
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "record"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.kind)
    }
}

impl std::error::Error for RecordError {}

/// The lexicon rule a [`RecordError`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordErrorKind {
    /// A required field is absent (or `null`).
    Missing,
    /// The field has the wrong JSON type; `expected` describes the right one
    /// (`"a string"`, `"an integer from 0 to 100"`, …).
    WrongType {
        /// What the field must be, as a noun phrase.
        expected: String,
    },
    /// An integer outside its range. `max` is `None` when only a minimum applies.
    OutOfRange {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value, if any.
        max: Option<i64>,
    },
    /// A string outside a closed `enum`.
    NotAllowed {
        /// The allowed values.
        allowed: &'static [&'static str],
    },
    /// A string longer than its `maxLength`, counted in UTF-8 bytes.
    TooLong {
        /// The limit in bytes.
        max_bytes: usize,
        /// The length of the rejected string in bytes.
        actual_bytes: usize,
    },
    /// A string that is not valid for its `format` (`did`, `at-uri`, `datetime`, `uri`).
    BadFormat {
        /// The lexicon format name.
        format: &'static str,
        /// Which rule of the format the value broke.
        reason: String,
    },
    /// An array with too few or too many items.
    ItemCount {
        /// Fewest items allowed.
        min: usize,
        /// Most items allowed, if any.
        max: Option<usize>,
        /// How many items the array had.
        actual: usize,
    },
    /// An item that must be distinct repeats an earlier one.
    Duplicate {
        /// Index of the earlier, equal item.
        first: usize,
    },
    /// `$type` is present but is not the record's NSID.
    WrongRecordType {
        /// The NSID the record must declare.
        expected: &'static str,
    },
    /// A `verification` object that satisfies neither accepted shape.
    NoVerificationShape,
    /// No record type is known for the collection.
    UnknownCollection {
        /// The collection NSID that was asked for.
        collection: String,
    },
}

impl fmt::Display for RecordErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("is required"),
            Self::WrongType { expected } => write!(f, "must be {expected}"),
            Self::OutOfRange {
                min,
                max: Some(max),
            } => {
                write!(f, "must be an integer from {min} to {max}")
            }
            Self::OutOfRange { min, max: None } => {
                write!(f, "must be an integer of at least {min}")
            }
            Self::NotAllowed { allowed } => write!(f, "must be one of {}", allowed.join(", ")),
            Self::TooLong {
                max_bytes,
                actual_bytes,
            } => write!(
                f,
                "must be at most {max_bytes} bytes of UTF-8 (got {actual_bytes})"
            ),
            Self::BadFormat { format, reason } => write!(f, "must be a valid {format}: {reason}"),
            Self::ItemCount { min, max, actual } => match max {
                Some(max) if max == min => {
                    write!(f, "must have exactly {min} items (got {actual})")
                }
                Some(max) => write!(f, "must have from {min} to {max} items (got {actual})"),
                None => write!(f, "must have at least {min} items (got {actual})"),
            },
            Self::Duplicate { first } => write!(f, "must differ from item {first}"),
            Self::WrongRecordType { expected } => write!(f, "must be {expected:?} when present"),
            Self::NoVerificationShape => f.write_str(
                "must have either consensusScore, attestationCount and lastUpdated, \
                 or consensusScore, verifierCount, confidence and lastVerified",
            ),
            Self::UnknownCollection { collection } => write!(
                f,
                "unknown collection {collection:?}: expected one of {}",
                super::COLLECTIONS.join(", ")
            ),
        }
    }
}
