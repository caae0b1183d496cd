//! The field checks every lexicon record shares: presence, JSON types,
//! integer ranges, string lengths in bytes, formats, closed enums, and the
//! bookkeeping of unknown keys.
//!
//! Records are validated by hand over [`Json`], a JSON tree whose strings
//! borrow from the parsed text, so that each error carries the full path of
//! the field it is about.

use std::fmt;
use std::str::FromStr;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use serde_json_borrow::ObjectAsVec;

use super::error::{RecordError, RecordErrorKind};
use super::Percent;
use crate::SyntaxError;

/// A JSON value whose strings borrow from the text it was parsed from, as
/// records are validated: parsing one costs about half of parsing a
/// [`serde_json::Value`] (no allocation per string or key, objects are
/// vectors of entries).
///
/// An object's repeated key resolves to its last entry, as in a
/// [`serde_json::Value`].
///
/// ```
/// use rhiz_protocol::Json;
///
/// let text = r#"{"strength": 85, "strength": 90}"#;
/// let json: Json<'_> = serde_json::from_str(text).unwrap();
/// assert!(json.as_object().is_some());
/// ```
pub type Json<'a> = serde_json_borrow::Value<'a>;

/// The value of `key` in `object`, the last entry if the key repeats; `None`
/// when absent.
///
/// ```
/// use rhiz_protocol::{json_get, Json};
///
/// let json: Json<'_> = serde_json::from_str(r#"{"a": 1, "a": 2}"#).unwrap();
/// let value = json_get(json.as_object().unwrap(), "a").unwrap();
/// assert_eq!(value.as_u64(), Some(2));
/// ```
pub fn json_get<'o, 'a>(object: &'o ObjectAsVec<'a>, key: &str) -> Option<&'o Json<'a>> {
    object
        .as_vec()
        .iter()
        .rev()
        .find(|(k, _)| **k == *key)
        .map(|(_, v)| v)
}

/// Where a field is: the record itself, a key of an object, or an item of
/// an array. Built on the stack as validation descends and made into text
/// (`temporal.history[2].strength`) only for an error: every field checked
/// has a path, and joining each into a string on the way down cost a third
/// of a relationship record's checks.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Path<'p> {
    /// The record.
    Root,
    /// The member `key` of the object at the path.
    Key(&'p Path<'p>, &'p str),
    /// Item `i` of the array at the path.
    Item(&'p Path<'p>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Item(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

fn wrong_type(path: &Path<'_>, expected: impl Into<String>) -> RecordError {
    RecordError::new(
        path.to_string(),
        RecordErrorKind::WrongType {
            expected: expected.into(),
        },
    )
}

/// A closed lexicon `enum`: anything outside [`ClosedEnum::ALLOWED`] is rejected.
pub(crate) trait ClosedEnum: Sized {
    /// The allowed wire values.
    const ALLOWED: &'static [&'static str];
    /// The variant for a wire value, if it is allowed.
    fn from_wire(s: &str) -> Option<Self>;
}

/// Checks that `value` is a string of at most `max_bytes` UTF-8 bytes.
pub(crate) fn string(
    value: &Json<'_>,
    path: &Path<'_>,
    max_bytes: Option<usize>,
) -> Result<String, RecordError> {
    let s = value.as_str().ok_or_else(|| wrong_type(path, "a string"))?;
    if let Some(max_bytes) = max_bytes {
        if s.len() > max_bytes {
            return Err(RecordError::new(
                path.to_string(),
                RecordErrorKind::TooLong {
                    max_bytes,
                    actual_bytes: s.len(),
                },
            ));
        }
    }
    Ok(s.to_owned())
}

/// Checks that `value` is a JSON integer in `min..=max` and converts it.
pub(crate) fn integer<T: TryFrom<i64>>(
    value: &Json<'_>,
    path: &Path<'_>,
    min: i64,
    max: Option<i64>,
) -> Result<T, RecordError> {
    let range = RecordErrorKind::OutOfRange { min, max };
    let Json::Number(n) = value else {
        return Err(wrong_type(
            path,
            range.to_string().trim_start_matches("must be "),
        ));
    };
    let out_of_range = || RecordError::new(path.to_string(), range.clone());
    match n.as_i64() {
        Some(i) if i >= min && max.is_none_or(|max| i <= max) => {
            T::try_from(i).map_err(|_| out_of_range())
        }
        Some(_) => Err(out_of_range()),
        // A u64 above i64::MAX is out of every range used by the lexicons.
        None if n.is_u64() => Err(out_of_range()),
        None => Err(wrong_type(
            path,
            range.to_string().trim_start_matches("must be "),
        )),
    }
}

/// Checks that `value` is an integer from 0 to 100.
pub(crate) fn percent(value: &Json<'_>, path: &Path<'_>) -> Result<Percent, RecordError> {
    let n: u8 = integer(value, path, 0, Some(100))?;
    Percent::new(n).ok_or_else(|| {
        RecordError::new(
            path.to_string(),
            RecordErrorKind::OutOfRange {
                min: 0,
                max: Some(100),
            },
        )
    })
}

/// Checks that `value` is a boolean.
pub(crate) fn boolean(value: &Json<'_>, path: &Path<'_>) -> Result<bool, RecordError> {
    value.as_bool().ok_or_else(|| wrong_type(path, "a boolean"))
}

/// Checks that `value` is a string in the lexicon `format`, parsed by `T`.
pub(crate) fn formatted<T>(
    value: &Json<'_>,
    path: &Path<'_>,
    format: &'static str,
) -> Result<T, RecordError>
where
    T: FromStr<Err = SyntaxError>,
{
    let s = value
        .as_str()
        .ok_or_else(|| wrong_type(path, format!("a {format} string")))?;
    s.parse().map_err(|e: SyntaxError| {
        RecordError::new(
            path.to_string(),
            RecordErrorKind::BadFormat {
                format,
                reason: e.rule.to_owned(),
            },
        )
    })
}

/// Checks that `value` is a string in the lexicon `uri` format: a scheme
/// (a letter, then letters, digits, `+`, `-` or `.`), `:`, then at least one
/// more character; no whitespace or control characters; at most 8 KiB.
pub(crate) fn uri(value: &Json<'_>, path: &Path<'_>) -> Result<String, RecordError> {
    let s = value
        .as_str()
        .ok_or_else(|| wrong_type(path, "a uri string"))?;
    check_uri(s).map_err(|reason| {
        RecordError::new(
            path.to_string(),
            RecordErrorKind::BadFormat {
                format: "uri",
                reason: reason.to_owned(),
            },
        )
    })?;
    Ok(s.to_owned())
}

fn check_uri(s: &str) -> Result<(), &'static str> {
    const MAX_BYTES: usize = 8 * 1024;
    if s.len() > MAX_BYTES {
        return Err("must be at most 8192 bytes");
    }
    let Some((scheme, rest)) = s.split_once(':') else {
        return Err("must start with a scheme followed by ':'");
    };
    let mut chars = scheme.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return Err("scheme must start with a letter");
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
        return Err("scheme may contain only letters, digits, '+', '-' and '.'");
    }
    if rest.is_empty() {
        return Err("must have something after the scheme");
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain whitespace or control characters");
    }
    Ok(())
}

/// Checks that `value` is one of `T`'s allowed strings.
pub(crate) fn closed<T: ClosedEnum>(value: &Json<'_>, path: &Path<'_>) -> Result<T, RecordError> {
    let not_allowed = || {
        RecordError::new(
            path.to_string(),
            RecordErrorKind::NotAllowed {
                allowed: T::ALLOWED,
            },
        )
    };
    let s = value.as_str().ok_or_else(not_allowed)?;
    T::from_wire(s).ok_or_else(not_allowed)
}

/// Checks that `value` is an array of `min..=max` items and validates each
/// item with `each(item, item_path)`.
pub(crate) fn array<T>(
    value: &Json<'_>,
    path: &Path<'_>,
    min: usize,
    max: Option<usize>,
    mut each: impl FnMut(&Json<'_>, &Path<'_>) -> Result<T, RecordError>,
) -> Result<Vec<T>, RecordError> {
    let items = value
        .as_array()
        .ok_or_else(|| wrong_type(path, "an array"))?;
    if items.len() < min || max.is_some_and(|max| items.len() > max) {
        return Err(RecordError::new(
            path.to_string(),
            RecordErrorKind::ItemCount {
                min,
                max,
                actual: items.len(),
            },
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| each(v, &Path::Item(path, i)))
        .collect()
}

/// A JSON object being validated: hands out its fields with their paths and
/// collects the keys nobody asked for.
pub(crate) struct Object<'o, 'a> {
    map: &'o ObjectAsVec<'a>,
    path: &'o Path<'o>,
}

impl<'o, 'a> Object<'o, 'a> {
    /// Checks that `value` is an object.
    pub(crate) fn new(value: &'o Json<'a>, path: &'o Path<'o>) -> Result<Self, RecordError> {
        let map = value
            .as_object()
            .ok_or_else(|| wrong_type(path, "an object"))?;
        Ok(Self { map, path })
    }

    /// The path of `key` in this object.
    pub(crate) fn at<'k>(&'k self, key: &'k str) -> Path<'k> {
        Path::Key(self.path, key)
    }

    /// Whether `key` is present and not `null`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The value of an optional field; `null` counts as absent.
    pub(crate) fn get(&self, key: &str) -> Option<&'o Json<'a>> {
        json_get(self.map, key).filter(|v| !v.is_null())
    }

    /// The value of a required field.
    pub(crate) fn require(&self, key: &str) -> Result<&'o Json<'a>, RecordError> {
        self.get(key)
            .ok_or_else(|| RecordError::new(self.at(key).to_string(), RecordErrorKind::Missing))
    }

    /// A required field checked by `check(value, path)`.
    pub(crate) fn field<T>(
        &self,
        key: &str,
        check: impl FnOnce(&Json<'_>, &Path<'_>) -> Result<T, RecordError>,
    ) -> Result<T, RecordError> {
        check(self.require(key)?, &self.at(key))
    }

    /// An optional field checked by `check(value, path)` when present.
    pub(crate) fn opt_field<T>(
        &self,
        key: &str,
        check: impl FnOnce(&Json<'_>, &Path<'_>) -> Result<T, RecordError>,
    ) -> Result<Option<T>, RecordError> {
        self.get(key).map(|v| check(v, &self.at(key))).transpose()
    }

    /// A required string of at most `max_bytes` bytes.
    pub(crate) fn string(
        &self,
        key: &str,
        max_bytes: Option<usize>,
    ) -> Result<String, RecordError> {
        self.field(key, |v, p| string(v, p, max_bytes))
    }

    /// An optional string of at most `max_bytes` bytes.
    pub(crate) fn opt_string(
        &self,
        key: &str,
        max_bytes: Option<usize>,
    ) -> Result<Option<String>, RecordError> {
        self.opt_field(key, |v, p| string(v, p, max_bytes))
    }

    /// A required integer from 0 to 100.
    pub(crate) fn percent(&self, key: &str) -> Result<Percent, RecordError> {
        self.field(key, percent)
    }

    /// An optional integer from 0 to 100.
    pub(crate) fn opt_percent(&self, key: &str) -> Result<Option<Percent>, RecordError> {
        self.opt_field(key, percent)
    }

    /// A required count: an integer from 0 to `u32::MAX`.
    pub(crate) fn count(&self, key: &str) -> Result<u32, RecordError> {
        self.field(key, |v, p| integer(v, p, 0, Some(u32::MAX.into())))
    }

    /// An optional count: an integer from 0 to `u32::MAX`.
    pub(crate) fn opt_count(&self, key: &str) -> Result<Option<u32>, RecordError> {
        self.opt_field(key, |v, p| integer(v, p, 0, Some(u32::MAX.into())))
    }

    /// An optional boolean.
    pub(crate) fn opt_bool(&self, key: &str) -> Result<Option<bool>, RecordError> {
        self.opt_field(key, boolean)
    }

    /// A required string in the lexicon `format`.
    pub(crate) fn formatted<T: FromStr<Err = SyntaxError>>(
        &self,
        key: &str,
        format: &'static str,
    ) -> Result<T, RecordError> {
        self.field(key, |v, p| formatted(v, p, format))
    }

    /// An optional string in the lexicon `format`.
    pub(crate) fn opt_formatted<T: FromStr<Err = SyntaxError>>(
        &self,
        key: &str,
        format: &'static str,
    ) -> Result<Option<T>, RecordError> {
        self.opt_field(key, |v, p| formatted(v, p, format))
    }

    /// A required value of a closed enum.
    pub(crate) fn closed<T: ClosedEnum>(&self, key: &str) -> Result<T, RecordError> {
        self.field(key, closed)
    }

    /// An optional value of a closed enum.
    pub(crate) fn opt_closed<T: ClosedEnum>(&self, key: &str) -> Result<Option<T>, RecordError> {
        self.opt_field(key, closed)
    }

    /// Checks the record's `$type`, which may be absent but otherwise must be `nsid`.
    pub(crate) fn record_type(&self, nsid: &'static str) -> Result<(), RecordError> {
        match json_get(self.map, "$type") {
            None => Ok(()),
            Some(Json::Str(s)) if s == nsid => Ok(()),
            Some(_) => Err(RecordError::new(
                self.at("$type").to_string(),
                RecordErrorKind::WrongRecordType { expected: nsid },
            )),
        }
    }

    /// The entries whose key is not in `known`, kept for re-emission (the
    /// last of a repeated key).
    ///
    /// `null` values of known keys count as absent and are dropped.
    pub(crate) fn extra(&self, known: &[&str]) -> Map<String, Value> {
        self.map
            .iter()
            .filter(|(k, _)| !known.contains(k))
            .map(|(k, v)| (k.to_owned(), Value::from(v)))
            .collect()
    }
}

/// Writes a record or nested object to a serializer as a JSON map: known
/// fields in order, then the preserved unknown ones. Streaming: nothing is
/// built on the way, so encoding a record costs what writing it does.
pub(crate) struct JsonWriter<M> {
    map: M,
    known: &'static [&'static str],
    /// Whether `$type` was written first (then it is a known key).
    typed: bool,
}

impl<M: SerializeMap> JsonWriter<M> {
    /// Starts an object of the type whose `known` keys are given, with
    /// `$type` first when `record_type` is given.
    pub(crate) fn new<S>(
        serializer: S,
        record_type: Option<&str>,
        known: &'static [&'static str],
    ) -> Result<Self, M::Error>
    where
        S: Serializer<SerializeMap = M, Ok = M::Ok, Error = M::Error>,
    {
        let mut map = serializer.serialize_map(None)?;
        if let Some(t) = record_type {
            map.serialize_entry("$type", t)?;
        }
        Ok(Self {
            map,
            known,
            typed: record_type.is_some(),
        })
    }

    /// Writes `key`.
    pub(crate) fn put<T: Serialize>(mut self, key: &str, value: T) -> Result<Self, M::Error> {
        self.map.serialize_entry(key, &value)?;
        Ok(self)
    }

    /// Writes `key` when `value` is `Some`.
    pub(crate) fn put_opt<T: Serialize>(
        self,
        key: &str,
        value: Option<T>,
    ) -> Result<Self, M::Error> {
        match value {
            Some(v) => self.put(key, v),
            None => Ok(self),
        }
    }

    /// Writes the preserved unknown entries, never one with a known key.
    pub(crate) fn finish(mut self, extra: &Map<String, Value>) -> Result<M::Ok, M::Error> {
        for (k, v) in extra {
            let written = self.known.contains(&k.as_str()) || (self.typed && k == "$type");
            if !written {
                self.map.serialize_entry(k, v)?;
            }
        }
        self.map.end()
    }
}

/// `Display` and `Serialize` through the type's `as_str()`, shared by the
/// open and closed enum declarations.
macro_rules! display_and_serialize_as_str {
    ($name:ident) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use display_and_serialize_as_str;

/// Declares an enum for an open `knownValues` string: the known values get a
/// variant, anything else is kept in `Other`.
macro_rules! open_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A value outside the known set, kept verbatim: the set is open.
            /// Build it with `From<&str>` so a known value never lands here.
            Other(String),
        }

        impl $name {
            /// The values this version of rhiz knows about.
            pub const KNOWN: &'static [&'static str] = &[$($wire),+];

            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(s) => s,
                }
            }

            /// Whether the value is one of [`Self::KNOWN`].
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($wire => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match Self::from(s.as_str()) {
                    Self::Other(_) => Self::Other(s),
                    known => known,
                }
            }
        }

        $crate::record::validate::display_and_serialize_as_str!($name);

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self::from)
            }
        }
    };
}
pub(crate) use open_enum;

/// Declares an enum for a closed lexicon `enum` string.
macro_rules! closed_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every allowed wire value.
            pub const ALLOWED: &'static [&'static str] = &[$($wire),+];

            /// The wire value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }
        }

        impl $crate::record::validate::ClosedEnum for $name {
            const ALLOWED: &'static [&'static str] = $name::ALLOWED;

            fn from_wire(s: &str) -> Option<Self> {
                match s {
                    $($wire => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::record::RecordError;

            /// Parses a wire value; the error (with an empty path) lists the allowed ones.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <Self as $crate::record::validate::ClosedEnum>::from_wire(s).ok_or_else(|| {
                    $crate::record::RecordError::new(
                        "",
                        $crate::record::RecordErrorKind::NotAllowed { allowed: Self::ALLOWED },
                    )
                })
            }
        }

        $crate::record::validate::display_and_serialize_as_str!($name);

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use closed_enum;

/// Implements `Serialize` through the type's `write_json`, which writes
/// the lexicon JSON with a [`JsonWriter`].
macro_rules! serialize_via_write_json {
    ($($name:ident),+ $(,)?) => {
        $(
            impl serde::Serialize for $name {
                fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    self.write_json(serializer)
                }
            }
        )+
    };
}
pub(crate) use serialize_via_write_json;

/// Implements serde for a record type: the serialized form is the lexicon
/// JSON, and deserializing validates through its `from_json`.
macro_rules! serde_via_json {
    ($name:ident) => {
        $crate::record::validate::serialize_via_write_json!($name);

        impl $name {
            /// [`Self::from_json_ref`] over a [`serde_json::Value`].
            pub fn from_json(value: &serde_json::Value) -> Result<Self, $crate::RecordError> {
                Self::from_json_ref(&$crate::Json::from(value))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = $crate::Json::deserialize(deserializer)?;
                Self::from_json_ref(&value).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_via_json;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uri_format_table() {
        for ok in [
            "https://example.com/a.png",
            "ipfs:bafy",
            "data:image/png;base64,AAAA",
            "a+b-c.d:x",
        ] {
            assert!(check_uri(ok).is_ok(), "{ok} should be a uri");
        }
        for bad in [
            "",
            "example.com/a.png",
            "1http://x",
            "ht tp://x",
            "https:",
            "https://a b",
            ":x",
            "h_t://x",
        ] {
            assert!(check_uri(bad).is_err(), "{bad:?} should not be a uri");
        }
        assert!(check_uri(&format!("https://{}", "a".repeat(8200))).is_err());
    }

    /// The path of a top-level field.
    fn key(name: &'static str) -> Path<'static> {
        Path::Key(&Path::Root, name)
    }

    #[test]
    fn integers_reject_floats_strings_and_out_of_range() {
        assert_eq!(
            integer::<u8>(&Json::from(&json!(7)), &key("n"), 0, Some(100)),
            Ok(7)
        );
        for (v, msg) in [
            (json!(7.0), "n: must be an integer from 0 to 100"),
            (json!("7"), "n: must be an integer from 0 to 100"),
            (json!(101), "n: must be an integer from 0 to 100"),
            (json!(-1), "n: must be an integer from 0 to 100"),
            (json!(u64::MAX), "n: must be an integer from 0 to 100"),
        ] {
            let e = integer::<u8>(&Json::from(&v), &key("n"), 0, Some(100)).unwrap_err();
            assert_eq!(e.to_string(), msg, "{v}");
        }
        let e = integer::<u32>(&Json::from(&json!(-5)), &key("c"), 0, None).unwrap_err();
        assert_eq!(e.to_string(), "c: must be an integer of at least 0");
        assert!(matches!(
            integer::<u8>(&Json::from(&json!(1.5)), &key("n"), 0, Some(100))
                .unwrap_err()
                .kind(),
            RecordErrorKind::WrongType { .. }
        ));
    }

    #[test]
    fn string_length_counts_bytes() {
        // "é" is two bytes: three of them are six bytes.
        assert!(string(&Json::from(&json!("ééé")), &key("s"), Some(6)).is_ok());
        let e = string(&Json::from(&json!("ééé")), &key("s"), Some(5)).unwrap_err();
        assert_eq!(e.to_string(), "s: must be at most 5 bytes of UTF-8 (got 6)");
    }

    #[test]
    fn paths_compose() {
        assert_eq!(Path::Root.to_string(), "");
        assert_eq!(key("a").to_string(), "a");
        let temporal = key("temporal");
        let history = Path::Key(&temporal, "history");
        let point = Path::Item(&history, 2);
        assert_eq!(
            Path::Key(&point, "strength").to_string(),
            "temporal.history[2].strength"
        );
        assert_eq!(Path::Item(&Path::Root, 0).to_string(), "[0]");
    }
}
