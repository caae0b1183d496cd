//! A statement's values packed for the writer thread: every text value in
//! one string and a list saying what each value is, so an owned write
//! costs two allocations however many text columns it has (a relationship
//! has fifteen), and binding borrows from them.

use std::ops::Range;

use chrono::{DateTime, Utc};
use rusqlite::types::{ToSqlOutput, ValueRef};

use crate::timestamp;

/// The values of one statement, in parameter order (`$1`, `$2`, …).
#[derive(Debug, Default)]
pub(super) struct Params {
    text: String,
    values: Vec<Param>,
}

#[derive(Debug)]
enum Param {
    Null,
    Integer(i64),
    Text(Range<usize>),
}

impl Params {
    /// Room for `count` values whose texts take about `text_bytes`.
    pub(super) fn with_capacity(count: usize, text_bytes: usize) -> Self {
        Self {
            text: String::with_capacity(text_bytes),
            values: Vec::with_capacity(count),
        }
    }

    /// Adds a text value.
    pub(super) fn text(&mut self, value: &str) {
        let start = self.text.len();
        self.text.push_str(value);
        self.values.push(Param::Text(start..self.text.len()));
    }

    /// Adds a text value, or NULL.
    pub(super) fn opt_text(&mut self, value: Option<&str>) {
        match value {
            Some(value) => self.text(value),
            None => self.values.push(Param::Null),
        }
    }

    /// Adds an integer value.
    pub(super) fn integer(&mut self, value: impl Into<i64>) {
        self.values.push(Param::Integer(value.into()));
    }

    /// Adds an integer value, or NULL.
    pub(super) fn opt_integer(&mut self, value: Option<impl Into<i64>>) {
        match value {
            Some(value) => self.integer(value),
            None => self.values.push(Param::Null),
        }
    }

    /// Adds a timestamp in the store's text form.
    pub(super) fn time(&mut self, at: DateTime<Utc>) {
        let start = self.text.len();
        timestamp::write_text(&mut self.text, at);
        self.values.push(Param::Text(start..self.text.len()));
    }

    /// The values to bind, borrowing their text.
    pub(super) fn bound(&self) -> Vec<ToSqlOutput<'_>> {
        self.values
            .iter()
            .map(|value| {
                ToSqlOutput::Borrowed(match value {
                    Param::Null => ValueRef::Null,
                    Param::Integer(i) => ValueRef::Integer(*i),
                    Param::Text(range) => ValueRef::Text(&self.text.as_bytes()[range.clone()]),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn each_value_binds_as_added() {
        let at = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
        let mut params = Params::with_capacity(6, 0);
        params.text("at://did:plc:a/c/1");
        params.opt_text(None);
        params.integer(42u8);
        params.opt_integer(None::<u8>);
        params.time(at);
        params.opt_text(Some(""));
        let bound: Vec<ValueRef<'_>> = params
            .bound()
            .into_iter()
            .map(|out| match out {
                ToSqlOutput::Borrowed(value) => value,
                other => panic!("not borrowed: {other:?}"),
            })
            .collect();
        assert_eq!(
            bound,
            [
                ValueRef::Text(b"at://did:plc:a/c/1"),
                ValueRef::Null,
                ValueRef::Integer(42),
                ValueRef::Null,
                ValueRef::Text(b"2025-01-02T03:04:05.000000Z"),
                ValueRef::Text(b""),
            ]
        );
    }
}
