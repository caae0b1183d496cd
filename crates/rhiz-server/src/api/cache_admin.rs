//! The operator API of the answer cache, behind `X-Admin-Key`
//! (`admin_api_key`; none configured = closed, 403):
//!
//! - `GET /api/v1/cache/stats`: the statistics of this instance (per class
//!   and tier, invalidations, L2 errors and latency, the breaker), read from
//!   atomics.
//! - `POST /api/v1/cache/invalidate` with exactly one of `{"key": "class:key"}`,
//!   `{"tag": "did:…"}`, `{"pattern": "profile:*"}` (a Redis glob over
//!   full keys): here, in L2 and on every other instance.
//! - `GET /api/v1/cache/health`: one Redis round trip (which also probes,
//!   and may close, the circuit breaker) and the summary `/health/detailed`
//!   reports.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use rhiz_cache::{BreakerState, CacheStats, Health, Invalidation, L2Health};
use serde::Deserialize;
use serde_json::{json, Value};

use super::api_key::ADMIN;
use super::error::{ApiError, ValidationIssue};
use super::json_body::JsonBody;
use crate::AppState;

/// The operator routes, relative to `/api/v1`.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/cache/stats", get(stats))
        .route("/cache/invalidate", post(invalidate))
        .route("/cache/health", get(health))
}

async fn stats(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    ADMIN.check(&headers, &state.config.admin_api_key)?;
    let stats = state.cache.stats();
    Ok(Json(json!({
        "backend": backend(&state),
        "hit_rate": round3(Totals::of(&stats).hit_rate()),
        "stats": stats,
    })))
}

/// Body of `POST /cache/invalidate`: exactly one of the three.
#[derive(Debug, Deserialize)]
struct InvalidateBody {
    key: Option<String>,
    tag: Option<String>,
    pattern: Option<String>,
}

impl InvalidateBody {
    fn validate(self) -> Result<Invalidation, ApiError> {
        let given = [
            self.key.map(Invalidation::Key),
            self.tag.map(Invalidation::Tag),
            self.pattern.map(Invalidation::Pattern),
        ];
        let mut given = given.into_iter().flatten();
        match (given.next(), given.next()) {
            (Some(what), None) if !target(&what).is_empty() => Ok(what),
            _ => Err(ApiError::validation(vec![ValidationIssue::new(
                "value_error",
                vec![json!("body")],
                "give exactly one non-empty field of key, tag, pattern",
            )])),
        }
    }
}

/// The text an invalidation addresses.
fn target(what: &Invalidation) -> &str {
    match what {
        Invalidation::Key(text) | Invalidation::Tag(text) | Invalidation::Pattern(text) => text,
        _ => "",
    }
}

async fn invalidate(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<InvalidateBody>,
) -> Result<Json<Value>, ApiError> {
    ADMIN.check(&headers, &state.config.admin_api_key)?;
    let what = body.validate()?;
    let kind = match &what {
        Invalidation::Key(_) => "key",
        Invalidation::Tag(_) => "tag",
        _ => "pattern",
    };
    let invalidated = json!({ kind: target(&what) });
    tracing::info!(%invalidated, "cache invalidated by an operator");
    let delivery = state.cache.invalidate(what).await;
    Ok(Json(
        json!({"invalidated": invalidated, "delivery": delivery}),
    ))
}

async fn health(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    ADMIN.check(&headers, &state.config.admin_api_key)?;
    let health = state.cache.health().await;
    let mut summary = summary(&state, &health);
    summary["l2"] = json!(health.l2);
    Ok(Json(summary))
}

/// `memory` (L1 only) or `redis` (L1 in front of Redis).
fn backend(state: &AppState) -> &'static str {
    if state.config.redis_url.is_some() {
        "redis"
    } else {
        "memory"
    }
}

/// `healthy`, or `degraded` when Redis does not answer or the breaker is
/// not closed: answers are still served (from L1 and the computations),
/// only slower and without sharing between instances.
pub(super) fn status(health: &Health) -> &'static str {
    let l2_down = matches!(health.l2, L2Health::Down { .. });
    let breaker_open = health.breaker.is_some_and(|b| b != BreakerState::Closed);
    if l2_down || breaker_open {
        "degraded"
    } else {
        "healthy"
    }
}

/// The cache object of `/health/detailed` (CONTRACT.md §5), plus the
/// breaker's state.
pub(super) fn summary(state: &AppState, health: &Health) -> Value {
    let stats = state.cache.stats();
    let totals = Totals::of(&stats);
    let memory_mb = round2(stats.l1_weight_bytes as f64 / (1024.0 * 1024.0));
    json!({
        "status": status(health),
        "backend": backend(state),
        "has_fallback": state.config.redis_url.is_some(),
        "hit_rate": round3(totals.hit_rate()),
        "total_keys": stats.l1_entries,
        "memory_usage_mb": memory_mb,
        "breaker": health.breaker,
        "stats": {
            "hit_rate": round3(totals.hit_rate()),
            "total_keys": stats.l1_entries,
            "hits": totals.hits,
            "misses": totals.misses(),
            "memory_mb": memory_mb,
        },
    })
}

/// Hits and lookups over both tiers. Every class is placed in L1, so every
/// lookup asks L1 first; a lookup L1 misses is a hit if L2 answers.
struct Totals {
    lookups: u64,
    hits: u64,
}

impl Totals {
    fn of(stats: &CacheStats) -> Self {
        Totals {
            lookups: stats.l1_hits + stats.l1_misses,
            hits: stats.l1_hits + stats.l2_hits,
        }
    }

    fn misses(&self) -> u64 {
        self.lookups.saturating_sub(self.hits)
    }

    fn hit_rate(&self) -> f64 {
        match self.lookups {
            0 => 0.0,
            n => self.hits as f64 / n as f64,
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
