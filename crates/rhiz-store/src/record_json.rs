//! A record's JSON as text: written once when the record is applied,
//! stored and read back without building a JSON tree on the way.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// The JSON text of a stored record.
///
/// Equality is JSON equality: PostgreSQL's JSONB keeps its own key order
/// and spacing, so two texts of one record are equal as values.
///
/// ```
/// use rhiz_store::RecordJson;
/// use serde_json::json;
///
/// let record = RecordJson::of(&json!({"strength": 35, "type": "personal"})).unwrap();
/// assert_eq!(record.as_str(), r#"{"strength":35,"type":"personal"}"#);
/// let reordered = RecordJson::parse(r#"{"type": "personal", "strength": 35}"#.into()).unwrap();
/// assert_eq!(record, reordered);
/// ```
#[derive(Clone)]
pub struct RecordJson(Box<RawValue>);

impl RecordJson {
    /// The JSON of `record`, serialized once.
    pub fn of<T: Serialize + ?Sized>(record: &T) -> serde_json::Result<Self> {
        serde_json::value::to_raw_value(record).map(Self)
    }

    /// Keeps JSON text that is already checked, such as a record's text
    /// an event serialized once for every use.
    pub fn from_raw(raw: Box<RawValue>) -> Self {
        Self(raw)
    }

    /// Checks that `text` is JSON and keeps it as it is.
    pub fn parse(text: String) -> serde_json::Result<Self> {
        RawValue::from_string(text).map(Self)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The JSON as a tree.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.as_str()).expect("a RecordJson holds valid JSON")
    }

    pub(crate) fn raw(&self) -> &RawValue {
        &self.0
    }
}

impl From<Value> for RecordJson {
    fn from(value: Value) -> Self {
        Self::of(&value).expect("a JSON value serializes")
    }
}

impl PartialEq for RecordJson {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str() || self.to_value() == other.to_value()
    }
}

impl fmt::Debug for RecordJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RecordJson {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Self)
    }
}

impl Serialize for RecordJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}
