//! `POST /api/v1/attestations` (CONTRACT.md §4.8): the direct attestation
//! write the TypeScript indexer uses. No key; the body is the flat
//! `attestation.created` payload.
//!
//! It goes through the same pipeline as every other write: enqueued as an
//! `attestation.created` event, then awaited until applied, so the response
//! carries the conviction that includes it. A rule broken at apply time is a
//! 400; an event not applied within [`APPLY_WAIT`] is a 503 with
//! `Retry-After` (it stays durable and will be applied).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use rhiz_events::SubmitOutcome;
use rhiz_protocol::{AtUri, EventBody};
use serde_json::{json, Map, Value};

use super::error::{ApiError, ValidationIssue};
use super::internal_events::{refused, submit_one};
use super::json_body::JsonBody;
use crate::apply::ApplyOutcome;
use crate::ingest::{self, IngestError};
use crate::AppState;

/// How long the route waits for its event to be applied.
pub(crate) const APPLY_WAIT: Duration = Duration::from_secs(10);

/// Keys the TS indexer always sends; a missing one is a 422.
const REQUIRED: [&str; 8] = [
    "uri",
    "cid",
    "attester_did",
    "target_uri",
    "attestation_type",
    "confidence",
    "created_at",
    "indexed_at",
];

/// The route.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/attestations", post(create_attestation))
}

async fn create_attestation(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    let missing: Vec<ValidationIssue> = REQUIRED
        .iter()
        .filter(|key| body.get(**key).is_none_or(Value::is_null))
        .map(|key| {
            ValidationIssue::new("missing", vec![json!("body"), json!(key)], "Field required")
        })
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::validation(missing));
    }
    let attester = body.get("attester_did").cloned().unwrap_or(Value::Null);
    let envelope = json!({
        "event_type": "attestation.created",
        "did": attester,
        "payload": Value::Object(body),
    });
    let event =
        ingest::parse_ingestion_body(&envelope, Utc::now()).map_err(|error| match error {
            IngestError::Schema {
                field,
                kind,
                message,
            } => ApiError::validation(vec![ValidationIssue::new(
                kind,
                vec![json!("body"), json!(field)],
                message,
            )]),
            IngestError::Invalid { field, message } => {
                let field = field.strip_prefix("payload.").unwrap_or(&field).to_owned();
                let field = if field == "did" {
                    "attester_did".to_owned()
                } else {
                    field
                };
                ApiError::bad_request(format!("{field}: {message}"))
            }
        })?;
    let EventBody::AttestationCreated(record) = event.body() else {
        return Err(ApiError::internal("an attestation body made another event"));
    };
    let target = record.target_relationship.clone();
    check_target(&state, &target, &record.attester).await?;
    let uri = event.uri().map(AtUri::to_string).unwrap_or_default();
    let watch = state.applier.watch(event.id().as_str());
    match submit_one(&state, event).await? {
        SubmitOutcome::Accepted { .. } | SubmitOutcome::Duplicate => {}
        SubmitOutcome::Refused { retry_after } => return Err(refused(retry_after)),
    }
    match watch.wait(APPLY_WAIT).await {
        ApplyOutcome::Applied(_) => {}
        ApplyOutcome::Rejected(reason) => return Err(ApiError::bad_request(reason)),
        ApplyOutcome::TimedOut => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the attestation is accepted but not applied yet; retry later",
            )
            .with_retry_after(Duration::from_secs(1)))
        }
    }
    let conviction = state.graph.read().conviction(&target, Utc::now());
    let conviction = match conviction {
        Some(c) => json!({
            "score": c.score,
            "attestation_count": c.attestation_count,
            "verify_count": c.verify_count,
            "dispute_count": c.dispute_count,
            "strengthen_count": c.strengthen_count,
            "weaken_count": c.weaken_count,
            "trend": c.trend.as_str(),
            "top_attester_reputation": c.top_attester_reputation,
        }),
        None => json!({
            "score": 50, "attestation_count": 0, "verify_count": 0, "dispute_count": 0,
            "strengthen_count": 0, "weaken_count": 0, "trend": "stable",
            "top_attester_reputation": 0,
        }),
    };
    Ok(Json(json!({
        "status": "success",
        "attestation_uri": uri,
        "conviction": conviction,
    })))
}

/// The rules that need the stored target, checked before anything is
/// written so the client gets a 400 rather than a dead letter (apply checks
/// them again for events from other sources).
async fn check_target(
    state: &AppState,
    target: &AtUri,
    attester: &rhiz_protocol::Did,
) -> Result<(), ApiError> {
    let Some(relationship) = state.store.get_relationship(target).await? else {
        return Ok(());
    };
    match crate::apply::attestation_rule_violation(
        attester,
        &rhiz_store::RelationshipHead::from(&relationship),
    ) {
        Some(rule) => Err(ApiError::bad_request(rule)),
        None => Ok(()),
    }
}
