//! Field validation for request bodies and parameters, collecting every
//! problem into one 422 (CONTRACT.md §1.4) instead of stopping at the first.

use std::str::FromStr;

use serde_json::{json, Value};

use super::error::{ApiError, ValidationIssue};

/// Where the checked values come from: the first element of every `loc`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Origin {
    /// The JSON body.
    Body,
    /// A path segment.
    Path,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Body => "body",
            Origin::Path => "path",
        }
    }
}

/// Collects validation issues for fields of one origin.
#[derive(Debug)]
pub(crate) struct Checks {
    origin: Origin,
    issues: Vec<ValidationIssue>,
}

impl Checks {
    /// Starts an empty collection for fields of `origin`.
    pub(crate) fn new(origin: Origin) -> Self {
        Checks {
            origin,
            issues: Vec::new(),
        }
    }

    fn loc(&self, field: &str) -> Vec<Value> {
        vec![json!(self.origin.as_str()), json!(field)]
    }

    /// Records an issue for `field`.
    pub(crate) fn push(
        &mut self,
        field: &str,
        kind: &'static str,
        msg: impl Into<String>,
    ) -> &mut ValidationIssue {
        let issue = ValidationIssue::new(kind, self.loc(field), msg);
        self.issues.push(issue);
        self.issues.last_mut().expect("just pushed")
    }

    /// A required field: `None` (absent or null) is an issue.
    pub(crate) fn required<'a>(&mut self, field: &str, value: Option<&'a str>) -> Option<&'a str> {
        if value.is_none() {
            self.push(field, "missing", "Field required");
        }
        value
    }

    /// A string whose length in characters must be within `min..=max`.
    pub(crate) fn length<'a>(
        &mut self,
        field: &str,
        value: &'a str,
        min: usize,
        max: usize,
    ) -> Option<&'a str> {
        let chars = value.chars().count();
        if chars < min {
            let issue = self.push(
                field,
                "string_too_short",
                format!("String should have at least {min} character(s)"),
            );
            issue.input = Some(json!(value));
            issue.ctx = Some(json!({ "min_length": min }));
            return None;
        }
        if chars > max {
            let issue = self.push(
                field,
                "string_too_long",
                format!("String should have at most {max} characters, got {chars}"),
            );
            issue.ctx = Some(json!({ "max_length": max }));
            return None;
        }
        Some(value)
    }

    /// A value that must parse as `T` (a DID, a handle, …); the issue
    /// carries the parser's rule.
    pub(crate) fn parse<T>(&mut self, field: &str, value: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match value.parse() {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                self.push(field, "value_error", error.to_string()).input = Some(json!(value));
                None
            }
        }
    }

    /// An item of an array field that must parse as `T`; the issue's `loc`
    /// ends with the item's index.
    pub(crate) fn parse_item<T>(&mut self, field: &str, index: usize, value: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let parsed = self.parse(field, value);
        if parsed.is_none() {
            if let Some(issue) = self.issues.last_mut() {
                issue.loc.push(json!(index));
            }
        }
        parsed
    }

    /// A number that must lie within `min..=max`, in FastAPI's words
    /// (`greater_than_equal` / `less_than_equal`).
    pub(crate) fn range<T>(&mut self, field: &str, value: T, min: T, max: T) -> Option<T>
    where
        T: PartialOrd + std::fmt::Display + Into<Value> + Copy,
    {
        use std::cmp::Ordering::{Greater, Less};
        // An incomparable value (NaN) fails the lower bound.
        let (kind, key, word, bound) = if matches!(value.partial_cmp(&min), None | Some(Less)) {
            ("greater_than_equal", "ge", "greater than or equal to", min)
        } else if value.partial_cmp(&max) == Some(Greater) {
            ("less_than_equal", "le", "less than or equal to", max)
        } else {
            return Some(value);
        };
        let issue = self.push(field, kind, format!("Input should be {word} {bound}"));
        issue.input = Some(value.into());
        issue.ctx = Some(json!({ key: bound.into() }));
        None
    }

    /// A value that must be one of `allowed`.
    pub(crate) fn one_of<'a>(
        &mut self,
        field: &str,
        value: &'a str,
        allowed: &[&str],
    ) -> Option<&'a str> {
        if allowed.contains(&value) {
            return Some(value);
        }
        let expected = allowed
            .iter()
            .map(|v| format!("'{v}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let issue = self.push(field, "enum", format!("Input should be one of {expected}"));
        issue.input = Some(json!(value));
        issue.ctx = Some(json!({ "expected": expected }));
        None
    }

    /// `Ok(value)` when no issue was recorded, else the 422 listing them all.
    pub(crate) fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, ApiError> {
        if self.issues.is_empty() {
            if let Some(value) = value() {
                return Ok(value);
            }
        }
        Err(ApiError::validation(self.issues))
    }
}
