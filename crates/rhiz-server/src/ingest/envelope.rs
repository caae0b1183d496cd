//! The ingestion envelope: `event_type`, `payload`, `did`, `priority`,
//! `event_id` (CONTRACT.md §4.2).

use chrono::{DateTime, Utc};
use rhiz_protocol::{json_get, Datetime, Did, Event, EventId, EventKind, Json, Priority};
use serde_json::Value;
use serde_json_borrow::ObjectAsVec;

use super::payload;

/// Why an ingestion body was refused. Every variant names the field, as a
/// dotted path from the body (`payload.strength`, `payload.record.temporal.start`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// A required envelope field is missing or a field has the wrong JSON
    /// type (HTTP 422).
    #[error("{field}: {message}")]
    Schema {
        /// The field, e.g. `did` or `priority`.
        field: String,
        /// The FastAPI-style error kind: `missing`, `int_type`, `string_type`, `dict_type`.
        kind: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A value breaks a rule of the contract, the lexicon or the protocol
    /// (HTTP 400).
    #[error("{field}: {message}")]
    Invalid {
        /// The field, e.g. `payload.strength`.
        field: String,
        /// The rule broken, in words.
        message: String,
    },
}

impl IngestError {
    /// The dotted path of the offending field.
    pub fn field(&self) -> &str {
        match self {
            IngestError::Schema { field, .. } | IngestError::Invalid { field, .. } => field,
        }
    }

    pub(super) fn invalid(field: impl Into<String>, message: impl ToString) -> Self {
        IngestError::Invalid {
            field: field.into(),
            message: message.to_string(),
        }
    }

    fn schema(field: &str, kind: &'static str, message: &str) -> Self {
        IngestError::Schema {
            field: field.to_owned(),
            kind,
            message: message.to_owned(),
        }
    }

    fn missing(field: &str) -> Self {
        Self::schema(field, "missing", "Field required")
    }
}

/// Parses and validates one ingestion body into an [`Event`].
///
/// `now` is the ingestion time: the event's source time, and the id's
/// randomness aside (an absent `event_id` becomes a UUID v4), the only input
/// besides `body`.
pub fn parse_ingestion_body(body: &Value, now: DateTime<Utc>) -> Result<Event, IngestError> {
    parse_ingestion_json(&Json::from(body), now)
}

/// [`parse_ingestion_body`] over borrowed [`Json`], as parsed from a request
/// or a line of a file: half the parsing cost of a [`Value`].
pub fn parse_ingestion_json(body: &Json<'_>, now: DateTime<Utc>) -> Result<Event, IngestError> {
    let Some(body) = body.as_object() else {
        return Err(IngestError::schema(
            "body",
            "model_attributes_type",
            "Input should be a valid dictionary or object",
        ));
    };
    let event_type = required_string(body, "event_type")?;
    let payload = match json_get(body, "payload") {
        None | Some(Json::Null) => return Err(IngestError::missing("payload")),
        Some(Json::Object(payload)) => payload,
        Some(_) => {
            return Err(IngestError::schema(
                "payload",
                "dict_type",
                "Input should be a valid dictionary",
            ))
        }
    };
    let did = required_string(body, "did")?;
    let priority = match json_get(body, "priority") {
        None | Some(Json::Null) => None,
        Some(Json::Number(n)) if n.is_i64() || n.is_u64() => Some(n.as_i64().unwrap_or(i64::MAX)),
        Some(_) => {
            return Err(IngestError::schema(
                "priority",
                "int_type",
                "Input should be a valid integer",
            ))
        }
    };
    let event_id = match json_get(body, "event_id") {
        None | Some(Json::Null) => None,
        Some(Json::Str(id)) => Some(id.as_ref()),
        Some(_) => {
            return Err(IngestError::schema(
                "event_id",
                "string_type",
                "Input should be a valid string",
            ))
        }
    };

    let kind: EventKind = event_type
        .parse()
        .map_err(|error| IngestError::invalid("event_type", error))?;
    let did: Did = did
        .parse()
        .map_err(|error| IngestError::invalid("did", error))?;
    let priority = match priority {
        None => Priority::default(),
        Some(value) => {
            Priority::try_from(value).map_err(|error| IngestError::invalid("priority", error))?
        }
    };
    let id = match event_id {
        Some(id) => id
            .parse::<EventId>()
            .map_err(|error| IngestError::invalid("event_id", error))?,
        None => uuid::Uuid::new_v4()
            .to_string()
            .parse::<EventId>()
            .map_err(|error| IngestError::invalid("event_id", error))?,
    };
    let source_time = Datetime::from_utc(now);
    let event = payload::event_from_payload(kind, id, did, payload, source_time)?;
    Ok(event.with_priority(priority))
}

fn required_string<'a>(body: &'a ObjectAsVec<'_>, field: &str) -> Result<&'a str, IngestError> {
    match json_get(body, field) {
        None | Some(Json::Null) => Err(IngestError::missing(field)),
        Some(Json::Str(s)) => Ok(s),
        Some(_) => Err(IngestError::schema(
            field,
            "string_type",
            "Input should be a valid string",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<Event, IngestError> {
        parse_ingestion_body(&body, Utc::now())
    }

    fn schema_kind(error: IngestError) -> (String, &'static str) {
        match error {
            IngestError::Schema { field, kind, .. } => (field, kind),
            other => panic!("expected a schema error, got {other:?}"),
        }
    }

    #[test]
    fn envelope_schema_errors_name_the_field() {
        let cases = [
            (json!([]), ("body", "model_attributes_type")),
            (
                json!({"did": "did:plc:a", "payload": {}}),
                ("event_type", "missing"),
            ),
            (
                json!({"event_type": 3, "did": "did:plc:a", "payload": {}}),
                ("event_type", "string_type"),
            ),
            (
                json!({"event_type": "trust.invalidated", "did": "did:plc:a"}),
                ("payload", "missing"),
            ),
            (
                json!({"event_type": "trust.invalidated", "did": "did:plc:a", "payload": [1]}),
                ("payload", "dict_type"),
            ),
            (
                json!({"event_type": "trust.invalidated", "payload": {}}),
                ("did", "missing"),
            ),
            (
                json!({"event_type": "trust.invalidated", "did": "did:plc:a", "payload": {}, "priority": "high"}),
                ("priority", "int_type"),
            ),
            (
                json!({"event_type": "trust.invalidated", "did": "did:plc:a", "payload": {}, "priority": 1.5}),
                ("priority", "int_type"),
            ),
            (
                json!({"event_type": "trust.invalidated", "did": "did:plc:a", "payload": {}, "event_id": 7}),
                ("event_id", "string_type"),
            ),
        ];
        for (body, (field, kind)) in cases {
            let got = schema_kind(parse(body.clone()).unwrap_err());
            assert_eq!(got, (field.to_owned(), kind), "{body}");
        }
    }

    #[test]
    fn envelope_rule_errors_name_the_field() {
        let cases = [
            (
                json!({"event_type": "nope", "did": "did:plc:a", "payload": {}}),
                "event_type",
            ),
            (
                json!({"event_type": "trust.invalidated", "did": "alice", "payload": {}}),
                "did",
            ),
            (
                json!({"event_type": "trust.invalidated", "did": "did:plc:a", "payload": {}, "priority": 4}),
                "priority",
            ),
            (
                json!({"event_type": "trust.invalidated", "did": "did:plc:a", "payload": {}, "priority": -1}),
                "priority",
            ),
            (
                json!({"event_type": "trust.invalidated", "did": "did:plc:a", "payload": {}, "event_id": ""}),
                "event_id",
            ),
            (
                json!({"event_type": "trust.invalidated", "did": "did:plc:a", "payload": {}, "event_id": "x".repeat(129)}),
                "event_id",
            ),
        ];
        for (body, field) in cases {
            match parse(body.clone()).unwrap_err() {
                IngestError::Invalid { field: got, .. } => assert_eq!(got, field, "{body}"),
                other => panic!("{body}: expected a rule error, got {other:?}"),
            }
        }
    }

    #[test]
    fn defaults_apply_when_optional_fields_are_absent() {
        let event =
            parse(json!({"event_type": "trust.invalidated", "did": "did:plc:a", "payload": {}}))
                .unwrap();
        assert_eq!(event.priority(), Priority::default());
        assert!(uuid::Uuid::parse_str(event.id().as_str()).is_ok());
        let event = parse(json!({"event_type": "trust.invalidated", "did": "did:plc:a", "payload": {}, "priority": 3, "event_id": "k"})).unwrap();
        assert_eq!(event.priority(), Priority::try_from(3).unwrap());
        assert_eq!(event.id().as_str(), "k");
    }
}
