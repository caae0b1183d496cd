//! Query-string parameters, shared by the XRPC queries (CONTRACT.md §3) and
//! the REST routes that take query numbers (§2.8).
//!
//! Arrays are repeated keys (`relationshipTypes=a&relationshipTypes=b`);
//! `key[]=a` is the same key, as axios writes it. A single-valued parameter
//! given twice, a number that does not parse or lies outside its range, and a
//! malformed identifier are errors, never clamped or guessed. Unknown
//! parameters are ignored. Each family turns a [`ParamError`] into its own
//! shape: XRPC 400 `InvalidRequest`, REST 422 with `loc = ["query", name]`.

use std::ops::RangeInclusive;
use std::str::FromStr;

use axum::extract::Query;
use axum::http::Uri;
use serde_json::json;

use super::error::{ApiError, ValidationIssue, XrpcError};

/// One parameter that is missing or wrong.
#[derive(Debug)]
pub(crate) struct ParamError {
    name: String,
    kind: &'static str,
    message: String,
    input: Option<String>,
}

impl ParamError {
    fn new(name: &str, kind: &'static str, message: impl Into<String>) -> Self {
        ParamError {
            name: name.to_owned(),
            kind,
            message: message.into(),
            input: None,
        }
    }

    fn with_input(mut self, input: &str) -> Self {
        self.input = Some(input.to_owned());
        self
    }
}

impl From<ParamError> for XrpcError {
    fn from(error: ParamError) -> Self {
        XrpcError::invalid_request(format!("{}: {}", error.name, error.message))
    }
}

impl From<ParamError> for ApiError {
    fn from(error: ParamError) -> Self {
        let issue = ValidationIssue::new(
            error.kind,
            vec![json!("query"), json!(error.name)],
            error.message,
        );
        ApiError::validation(vec![match error.input {
            Some(input) => issue.with_input(json!(input)),
            None => issue,
        }])
    }
}

/// The decoded `key=value` pairs of a query string, in order.
#[derive(Debug, Default)]
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// Decodes the query string of `uri` (none is no parameter).
    pub(crate) fn from_uri(uri: &Uri) -> Result<Self, ParamError> {
        match Query::<Vec<(String, String)>>::try_from_uri(uri) {
            Ok(Query(pairs)) => Ok(QueryParams(pairs)),
            Err(error) => Err(ParamError::new(
                "query",
                "query_invalid",
                format!("malformed query string: {error}"),
            )),
        }
    }

    /// Every value of `name`, given as `name` or `name[]`, in order.
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(key, _)| key.strip_suffix("[]").unwrap_or(key) == name)
            .map(|(_, value)| value.as_str())
    }

    /// The value of a single-valued parameter; giving it twice is an error.
    pub(crate) fn optional<'a>(&'a self, name: &'a str) -> Result<Option<&'a str>, ParamError> {
        let mut values = self.values(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(ParamError::new(
                name,
                "value_error",
                "must be given at most once",
            ));
        }
        Ok(first)
    }

    /// The value of a required single-valued parameter.
    pub(crate) fn required<'a>(&'a self, name: &'a str) -> Result<&'a str, ParamError> {
        self.optional(name)?
            .ok_or_else(|| ParamError::new(name, "missing", "is required"))
    }

    /// A required parameter parsed as `T` (a DID, an AT-URI, …).
    pub(crate) fn required_parsed<T>(&self, name: &str) -> Result<T, ParamError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        parse_value(name, self.required(name)?)
    }

    /// An optional parameter parsed as `T`.
    pub(crate) fn parsed<T>(&self, name: &str) -> Result<Option<T>, ParamError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        self.optional(name)?
            .map(|value| parse_value(name, value))
            .transpose()
    }

    /// Every value of an array parameter, as given.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        self.values(name).map(str::to_owned).collect()
    }

    /// Every value of an array parameter, each parsed as `T`.
    pub(crate) fn parsed_list<T>(&self, name: &str) -> Result<Vec<T>, ParamError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        self.values(name)
            .map(|value| parse_value(name, value))
            .collect()
    }

    /// A decimal integer within `range`, or `default` when absent.
    pub(crate) fn integer<T>(
        &self,
        name: &str,
        range: RangeInclusive<T>,
        default: T,
    ) -> Result<T, ParamError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(value) = self.optional(name)? else {
            return Ok(default);
        };
        let number: T = value.trim().parse().map_err(|_| {
            ParamError::new(name, "int_parsing", "must be a decimal integer").with_input(value)
        })?;
        if !range.contains(&number) {
            return Err(out_of_range(name, value, range.start(), range.end()));
        }
        Ok(number)
    }

    /// A decimal number within `range`, or `default` when absent.
    pub(crate) fn number(
        &self,
        name: &str,
        range: RangeInclusive<f64>,
        default: f64,
    ) -> Result<f64, ParamError> {
        let Some(value) = self.optional(name)? else {
            return Ok(default);
        };
        let number: f64 = value.trim().parse().map_err(|_| {
            ParamError::new(name, "float_parsing", "must be a number").with_input(value)
        })?;
        // NaN fails `contains`, so it is out of range too.
        if !range.contains(&number) {
            return Err(out_of_range(name, value, range.start(), range.end()));
        }
        Ok(number)
    }

    /// `true` or `false`, or `default` when absent.
    pub(crate) fn boolean(&self, name: &str, default: bool) -> Result<bool, ParamError> {
        match self.optional(name)? {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(
                ParamError::new(name, "bool_parsing", "must be true or false").with_input(other),
            ),
        }
    }
}

fn parse_value<T>(name: &str, value: &str) -> Result<T, ParamError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|error: T::Err| {
        ParamError::new(name, "value_error", error.to_string()).with_input(value)
    })
}

fn out_of_range(
    name: &str,
    value: &str,
    min: impl std::fmt::Display,
    max: impl std::fmt::Display,
) -> ParamError {
    ParamError::new(
        name,
        "value_out_of_range",
        format!("must be between {min} and {max}, got {value}"),
    )
    .with_input(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> QueryParams {
        QueryParams::from_uri(&format!("/x?{query}").parse().unwrap()).unwrap()
    }

    #[test]
    fn arrays_take_repeated_keys_and_the_axios_brackets() {
        let p = params("t=a&t%5B%5D=b&t[]=c&other=d");
        assert_eq!(p.list("t"), ["a", "b", "c"]);
        assert!(p.list("missing").is_empty());
    }

    #[test]
    fn single_values_refuse_repeats_and_integers_refuse_clamping() {
        let p = params("limit=5&limit=6&max=11&n=x&ok=7");
        assert!(p.optional("limit").is_err());
        assert!(p.integer("max", 1..=10, 6).is_err());
        assert!(p.integer("n", 1..=10, 6).is_err());
        assert_eq!(p.integer("ok", 1..=10, 6).unwrap(), 7);
        assert_eq!(p.integer("absent", 1..=10, 6).unwrap(), 6);
        assert!(p.integer::<u8>("ok", 0..=5, 0).is_err());
    }

    #[test]
    fn numbers_and_booleans() {
        let p = params("f=0.25&g=1.5&h=NaN&b=true&c=yes");
        assert_eq!(p.number("f", 0.0..=1.0, 0.0).unwrap(), 0.25);
        assert!(p.number("g", 0.0..=1.0, 0.0).is_err());
        assert!(p.number("h", 0.0..=1.0, 0.0).is_err());
        assert!(p.boolean("b", false).unwrap());
        assert!(p.boolean("c", false).is_err());
        assert!(!p.boolean("absent", false).unwrap());
    }
}
