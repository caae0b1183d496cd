//! Internal ingestion (CONTRACT.md §4): events in, one at a time or in
//! batches; pipeline metrics; the dead-letter queue.
//!
//! Every route needs `X-Internal-Key`. Checks run in the contract's order:
//! shape (422: a missing header, a body that is not a JSON object, a missing
//! envelope field or a wrong JSON type), then the key (403), then the rules
//! (400), then admission (503 with `Retry-After` under backpressure).
//!
//! A batch is a JSON array or NDJSON (one body per line) of at most
//! `ingest_batch_max` bodies. Each item is checked and admitted on its own and
//! gets its own result; the batch answers 200 with the results, unless every
//! valid item was refused by backpressure (503, `Retry-After`). A refused or
//! invalid item is never written.

use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rhiz_events::{DeadLetterFilter, Lane, StoredEvent, SubmitOutcome};
use rhiz_protocol::Event;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::api_key::INTERNAL;
use super::error::{retry_after_seconds, ApiError, ValidationIssue};
use super::json_body::JsonBody;
use crate::ingest::{self, IngestError};
use crate::AppState;

/// The `/internal` routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/internal/events", post(enqueue_one))
        .route("/internal/events/batch", post(enqueue_batch))
        .route("/internal/events/metrics", get(metrics))
        .route(
            "/internal/events/dead-letter",
            get(list_dead_letters).delete(purge_dead_letters),
        )
        .route(
            "/internal/events/dead-letter/replay",
            post(replay_dead_letters),
        )
        .route(
            "/internal/events/dead-letter/{event_id}",
            get(inspect_dead_letter),
        )
}

/// The key check alone, for routes without a body.
fn authorized(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    INTERNAL.check(headers, &state.config.internal_api_key)
}

async fn enqueue_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let presented = INTERNAL.presented(&headers);
    let parsed = ingest::parse_ingestion_body(&body, Utc::now());
    let mut issues = Vec::new();
    if presented.is_none() {
        issues.push(INTERNAL.missing());
    }
    if let Err(IngestError::Schema {
        field,
        kind,
        message,
    }) = &parsed
    {
        issues.push(ValidationIssue::new(
            kind,
            vec![json!("body"), json!(field)],
            message.clone(),
        ));
    }
    if !issues.is_empty() {
        return Err(ApiError::validation(issues));
    }
    INTERNAL.authorize(
        presented.unwrap_or_default(),
        &state.config.internal_api_key,
    )?;
    let event =
        parsed.map_err(|error| ApiError::new(StatusCode::BAD_REQUEST, error.to_string()))?;
    let event_id = event.id().as_str().to_owned();
    match submit_one(&state, event).await? {
        SubmitOutcome::Accepted { .. } => {
            Ok(Json(json!({"status": "enqueued", "event_id": event_id})).into_response())
        }
        SubmitOutcome::Duplicate => {
            Ok(Json(json!({"status": "duplicate", "event_id": event_id})).into_response())
        }
        SubmitOutcome::Refused { retry_after } => Err(refused(retry_after)),
    }
}

/// Submits one validated event to the pipeline.
pub(crate) async fn submit_one(state: &AppState, event: Event) -> Result<SubmitOutcome, ApiError> {
    state
        .pipeline
        .submit(ingest::submission(event))
        .await
        .map_err(pipeline_error)
}

/// The 503 of backpressure, with `Retry-After` in whole seconds (at least 1).
pub(crate) fn refused(retry_after: Duration) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "the event queue is full; retry after {} s",
            retry_after_seconds(retry_after)
        ),
    )
    .with_retry_after(retry_after)
}

/// A pipeline failure: 503 while it is stopping, 500 (logged) otherwise.
pub(crate) fn pipeline_error(error: rhiz_events::EventsError) -> ApiError {
    match error {
        rhiz_events::EventsError::Closed => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the event pipeline is shutting down",
        ),
        other => ApiError::internal(format!("event pipeline: {other}")),
    }
}

async fn enqueue_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let presented = INTERNAL.presented(&headers);
    let items = batch_items(&body);
    let items = match (presented, items) {
        (Some(presented), Ok(items)) => {
            INTERNAL.authorize(presented, &state.config.internal_api_key)?;
            items
        }
        (presented, items) => {
            let issues = presented
                .is_none()
                .then(|| INTERNAL.missing())
                .into_iter()
                .chain(items.err().map(|issue| *issue))
                .collect();
            return Err(ApiError::validation(issues));
        }
    };
    let max = state.config.ingest_batch_max;
    if items.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the batch holds {} events; at most {max} are accepted per request (ingest_batch_max)",
                items.len()
            ),
        ));
    }
    let now = Utc::now();
    let mut results: Vec<ItemResult> = Vec::with_capacity(items.len());
    let mut valid = Vec::with_capacity(items.len());
    let mut valid_index = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match item {
            Ok(value) => match ingest::parse_ingestion_json(value, now) {
                Ok(event) => {
                    results.push(ItemResult::new(index, "enqueued"));
                    valid_index.push(index);
                    valid.push(ingest::submission(event));
                }
                Err(error) => results.push(ItemResult::rejected(index, error)),
            },
            Err(message) => results.push(ItemResult::invalid(
                index,
                422,
                "body".to_owned(),
                message.clone(),
            )),
        }
    }
    let ids: Vec<String> = valid.iter().map(|s| s.id.clone()).collect();
    let outcomes = state
        .pipeline
        .submit_batch(valid)
        .await
        .map_err(pipeline_error)?;
    let mut counts = [0usize; 4];
    let mut retry_after = None;
    for ((index, id), outcome) in valid_index.into_iter().zip(ids).zip(outcomes) {
        let result = &mut results[index];
        result.event_id = Some(id);
        match outcome {
            SubmitOutcome::Accepted { .. } => counts[0] += 1,
            SubmitOutcome::Duplicate => {
                counts[1] += 1;
                result.status = "duplicate";
            }
            SubmitOutcome::Refused { retry_after: after } => {
                counts[2] += 1;
                retry_after = Some(after);
                result.status = "refused";
                result.retry_after_seconds = Some(after.as_secs_f64());
            }
        }
    }
    let invalid = results.len() - counts[0] - counts[1] - counts[2];
    let summary = BatchAnswer {
        enqueued: counts[0],
        duplicate: counts[1],
        refused: counts[2],
        invalid,
        results,
    };
    let status = match retry_after {
        Some(_) if counts[0] + counts[1] == 0 => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    let mut response = (status, Json(summary)).into_response();
    if let Some(after) = retry_after {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(retry_after_seconds(after)),
        );
    }
    Ok(response)
}

/// The answer to a batch: counts by outcome, then one result per item.
#[derive(Serialize)]
struct BatchAnswer {
    enqueued: usize,
    duplicate: usize,
    refused: usize,
    invalid: usize,
    results: Vec<ItemResult>,
}

/// One item's result in a batch answer; the keys a status does not use are
/// left out.
#[derive(Serialize)]
struct ItemResult {
    index: usize,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ItemError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<f64>,
}

/// Why an item is invalid: the field and the rule it breaks.
#[derive(Serialize)]
struct ItemError {
    field: String,
    message: String,
}

impl ItemResult {
    fn new(index: usize, status: &'static str) -> Self {
        Self {
            index,
            status,
            event_id: None,
            http_status: None,
            error: None,
            retry_after_seconds: None,
        }
    }

    /// An invalid item, answered as `http_status` would be alone.
    fn invalid(index: usize, http_status: u16, field: String, message: String) -> Self {
        Self {
            http_status: Some(http_status),
            error: Some(ItemError { field, message }),
            ..Self::new(index, "invalid")
        }
    }

    /// An item the ingest checks rejected: 422 for a wrong shape, 400 for a
    /// broken rule.
    fn rejected(index: usize, error: IngestError) -> Self {
        match error {
            IngestError::Schema { field, message, .. } => Self::invalid(index, 422, field, message),
            IngestError::Invalid { field, message } => Self::invalid(index, 400, field, message),
        }
    }
}

/// The items of a batch body: a JSON array, or NDJSON (one JSON value per
/// non-blank line). An item that is not valid JSON is an error of its own;
/// a body that is neither shape is a 422.
fn batch_items(
    body: &[u8],
) -> Result<Vec<Result<rhiz_protocol::Json<'_>, String>>, Box<ValidationIssue>> {
    let text = std::str::from_utf8(body).map_err(|_| {
        Box::new(ValidationIssue::new(
            "json_invalid",
            vec![json!("body")],
            "the body is not UTF-8",
        ))
    })?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let items: Vec<rhiz_protocol::Json<'_>> =
            serde_json::from_str(trimmed).map_err(|error| {
                Box::new(ValidationIssue::new(
                    "json_invalid",
                    vec![json!("body")],
                    format!("not a JSON array: {error}"),
                ))
            })?;
        return Ok(items.into_iter().map(Ok).collect());
    }
    let items: Vec<Result<rhiz_protocol::Json<'_>, String>> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|error| format!("NDJSON line {} is not JSON: {error}", i + 1))
        })
        .collect();
    if items.is_empty() {
        return Err(Box::new(ValidationIssue::new(
            "missing",
            vec![json!("body")],
            "the batch is empty: send a JSON array or NDJSON lines of ingestion bodies",
        )));
    }
    Ok(items)
}

async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    authorized(&state, &headers)?;
    let m = state.pipeline.metrics();
    let counts = state
        .pipeline
        .log()
        .counts()
        .await
        .map_err(pipeline_error)?;
    let lanes: serde_json::Map<String, Value> = Lane::ALL
        .iter()
        .map(|lane| {
            let c = &m.lanes[lane.index()];
            (lane.name().to_owned(), {
                let mut counts = counters_json(c);
                counts["queue_depth"] = json!(m.queue_depth[lane.index()]);
                counts
            })
        })
        .collect();
    let by_type: serde_json::Map<String, Value> = m
        .by_type
        .iter()
        .map(|(name, c)| (name.clone(), counters_json(c)))
        .collect();
    let histogram = |h: &rhiz_events::HistogramSnapshot| {
        json!({
            "count": h.count,
            "mean_ms": h.mean.as_secs_f64() * 1e3,
            "p50_ms": h.p50.as_secs_f64() * 1e3,
            "p99_ms": h.p99.as_secs_f64() * 1e3,
            "max_ms": h.max.as_secs_f64() * 1e3,
        })
    };
    Ok(Json(json!({
        "events_processed": m.events_processed,
        "events_failed": m.events_failed,
        "events_in_queue": m.events_in_queue,
        "avg_processing_time_ms": m.avg_processing_time_ms,
        "throughput_per_second": m.throughput_per_second,
        "worker_utilization": m.worker_utilization,
        "backpressure_active": m.backpressure_active,
        "workers": m.workers,
        "busy_workers": m.busy_workers,
        "dead_letter_count": counts.dead_letters,
        "totals": counters_json(&m.total),
        "lanes": lanes,
        "by_type": by_type,
        "apply_latency": histogram(&m.apply_latency),
        "ingest_to_applied_latency": histogram(&m.ingest_to_applied_latency),
        "change_feed_seq": state.changes.last_seq(),
        "apply_lease": state.pipeline.lease().map(|lease| json!({
            "held": lease.is_held(),
            "token": lease.token(),
        })),
    })))
}

/// The pipeline's counts of one lane, one event type or all events.
fn counters_json(c: &rhiz_events::CounterSnapshot) -> Value {
    json!({
        "accepted": c.accepted, "refused": c.refused, "applied": c.applied,
        "retried": c.retried, "failed": c.failed, "dead_lettered": c.dead_lettered,
    })
}

/// Filters of the dead-letter routes, from the query string.
#[derive(Debug, Default, Deserialize)]
struct DeadLetterQuery {
    event_id: Option<String>,
    event_type: Option<String>,
    priority: Option<u8>,
    offset: Option<usize>,
    limit: Option<usize>,
}

impl DeadLetterQuery {
    fn filter(&self) -> Result<DeadLetterFilter, ApiError> {
        let lane = self
            .priority
            .map(|p| {
                Lane::from_priority(p).ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("priority must be an integer from 0 to 3, got {p}"),
                    )
                })
            })
            .transpose()?;
        Ok(DeadLetterFilter {
            ids: self.event_id.clone().map(|id| vec![id]),
            event_type: self.event_type.clone(),
            lane,
            key: None,
        })
    }
}

const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1_000;

async fn list_dead_letters(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<DeadLetterQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    authorized(&state, &headers)?;
    let Query(query) = query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("limit must be from 1 to {MAX_PAGE}, got {limit}"),
        ));
    }
    let offset = query.offset.unwrap_or(0);
    let log = state.pipeline.log();
    let events = log
        .dead_letters(query.filter()?, offset, limit)
        .await
        .map_err(pipeline_error)?;
    let total = log.counts().await.map_err(pipeline_error)?.dead_letters;
    let events: Vec<Value> = events.iter().map(dead_letter_json).collect();
    let next_offset = (events.len() == limit).then_some(offset + limit);
    Ok(Json(json!({
        "count": total,
        "offset": offset,
        "next_offset": next_offset,
        "events": events,
    })))
}

async fn inspect_dead_letter(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(event_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    authorized(&state, &headers)?;
    match state
        .pipeline
        .log()
        .dead_letter(&event_id)
        .await
        .map_err(pipeline_error)?
    {
        Some(event) => Ok(Json(dead_letter_json(&event))),
        None => Err(ApiError::not_found(format!(
            "no dead letter with event_id {event_id:?}"
        ))),
    }
}

/// The body of `POST /internal/events/dead-letter/replay`: which dead
/// letters to make pending again. An empty body replays nothing; replaying
/// everything takes `{"all": true}`.
#[derive(Debug, Default, Deserialize)]
struct ReplayRequest {
    #[serde(default)]
    event_ids: Option<Vec<String>>,
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    all: bool,
}

async fn replay_dead_letters(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<ReplayRequest>,
) -> Result<Json<Value>, ApiError> {
    authorized(&state, &headers)?;
    if request.event_ids.is_none() && request.event_type.is_none() && !request.all {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "say which dead letters to replay: event_ids, event_type, or all: true",
        ));
    }
    let filter = DeadLetterFilter {
        ids: request.event_ids,
        event_type: request.event_type,
        lane: None,
        key: None,
    };
    let replayed = state
        .pipeline
        .replay_dead_letters(filter)
        .await
        .map_err(pipeline_error)?;
    Ok(Json(json!({"replayed": replayed})))
}

async fn purge_dead_letters(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<DeadLetterQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    authorized(&state, &headers)?;
    let Query(query) = query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let purged = state
        .pipeline
        .log()
        .purge_dead_letters(query.filter()?)
        .await
        .map_err(pipeline_error)?;
    Ok(Json(json!({"purged": purged})))
}

/// A dead letter in the contract's shape (§4.7), plus its error, lane and
/// record key. `stages` is what the log recorded: validation passed when
/// the event was accepted, then one failed stage per failed apply attempt
/// the log keeps (the last
/// [`FAILED_ATTEMPTS_KEPT`](rhiz_events::FAILED_ATTEMPTS_KEPT), replays
/// included), in order, under the §4.5 name of what applying that event
/// type does ([`apply_stage`]).
pub(crate) fn dead_letter_json(stored: &StoredEvent) -> Value {
    let payload: Value = serde_json::from_slice(&stored.event.payload).unwrap_or(Value::Null);
    json!({
        "event_id": stored.event.id,
        "event_type": stored.event.event_type,
        "did": payload.get("author").cloned().unwrap_or(Value::Null),
        "uri": payload.get("uri").cloned().unwrap_or(Value::Null),
        "priority": stored.event.lane.priority(),
        "retry_count": stored.attempts,
        "timestamp": timestamp(stored.enqueued_at),
        "error": stored.last_error,
        "stages": processing_stages(stored),
        "payload": payload,
    })
}

/// The §4.5 `processing_stages` of an event: validation at acceptance,
/// then its failed attempts.
fn processing_stages(stored: &StoredEvent) -> Vec<Value> {
    let validation = json!({
        "stage": "validation",
        "timestamp": timestamp(stored.enqueued_at),
        "success": true,
        "error": null,
    });
    let stage = apply_stage(&stored.event.event_type);
    let failures = stored.failed_attempts.iter().map(|attempt| {
        json!({
            "stage": stage,
            "timestamp": timestamp(attempt.at),
            "success": false,
            "error": attempt.error,
        })
    });
    std::iter::once(validation).chain(failures).collect()
}

/// A §4.5 stage timestamp: RFC 3339 in UTC.
fn timestamp(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339()
}

/// The §4.5 stage name of applying an event of `event_type` (a §4.3 wire
/// name): creates of relationships and attestations are their
/// `*_processing`, other creates a `database_write`, updates an
/// `update_processing`, deletes a `database_delete`, and a trust
/// invalidation a `cache_invalidation`.
fn apply_stage(event_type: &str) -> &'static str {
    match event_type {
        "relationship.created" => "relationship_processing",
        "attestation.created" => "attestation_processing",
        "trust.invalidated" => "cache_invalidation",
        kind if kind.ends_with(".deleted") => "database_delete",
        kind if kind.ends_with(".updated") => "update_processing",
        _ => "database_write",
    }
}

#[cfg(test)]
mod tests {
    use rhiz_protocol::EventKind;

    use super::apply_stage;

    #[test]
    fn every_event_type_fails_under_a_contract_stage_name() {
        let stages: Vec<&str> = EventKind::ALL
            .iter()
            .map(|kind| apply_stage(kind.as_str()))
            .collect();
        assert_eq!(
            stages,
            [
                "relationship_processing",
                "update_processing",
                "database_delete",
                "attestation_processing",
                "update_processing",
                "database_delete",
                "database_write",
                "update_processing",
                "database_delete",
                "cache_invalidation",
            ]
        );
    }
}
