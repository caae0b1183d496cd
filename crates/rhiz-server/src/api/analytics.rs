//! REST `/api/v1/analytics` (CONTRACT.md §2.9–§2.11): trust metrics,
//! trust health and network statistics, snake_case with the 0–100 metrics
//! as fractions 0.0–1.0. Metrics come from the background trust table;
//! `last_calculated` says when it was computed.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use rhiz_protocol::Did;
use rhiz_store::StoreError;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::metrics::{cached_lookup, Figures, Served};
use super::rfc3339;
use super::scale::to_fraction;
use crate::answer_cache::{graph_stamp, ENTITIES_TAG, NETWORK};
use crate::AppState;

/// The analytics routes, relative to `/api/v1`.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/analytics/trust-metrics/{*entity_id}", get(trust_metrics))
        .route("/analytics/trust-health/{*entity_id}", get(trust_health))
        .route("/analytics/network-stats", get(network_stats))
}

/// The metrics of a DID in the path, or 404: not a DID, or neither an
/// entity nor a relationship known for it.
async fn metrics_of(state: &AppState, entity_id: &str) -> Result<(Did, Served), ApiError> {
    let not_found = || {
        ApiError::not_found(format!(
            "no entity and no relationship known for {entity_id}"
        ))
    };
    let did: Did = entity_id.parse().map_err(|_| not_found())?;
    match cached_lookup(state, &did).await? {
        Some(found) => Ok((did, found)),
        None => Err(not_found()),
    }
}

/// The TS `TrustMetrics` (§2.10), plus where the seeds came from.
#[derive(Debug, Serialize)]
struct TrustMetricsResponse {
    entity_id: String,
    trust_score: f64,
    reputation: f64,
    reciprocity: f64,
    consistency: f64,
    relationship_count: u32,
    verified_relationship_count: u32,
    last_calculated: String,
    seed_source: String,
}

async fn trust_metrics(
    State(state): State<AppState>,
    Path(entity_id): Path<String>,
) -> Result<Json<TrustMetricsResponse>, ApiError> {
    let (did, found) = metrics_of(&state, &entity_id).await?;
    let f = found.figures;
    Ok(Json(TrustMetricsResponse {
        entity_id: did.into_string(),
        trust_score: to_fraction(f.trust_score),
        reputation: to_fraction(f.reputation),
        reciprocity: to_fraction(f.reciprocity),
        consistency: to_fraction(f.consistency),
        relationship_count: f.relationship_count,
        verified_relationship_count: f.verified_relationship_count,
        last_calculated: found.last_calculated,
        seed_source: found.seed_source,
    }))
}

/// The TS `TrustHealthResponse` (§2.9), plus `last_calculated`.
#[derive(Debug, Serialize)]
struct TrustHealthResponse {
    entity_id: String,
    trust_level: &'static str,
    trust_score: f64,
    network_size: u32,
    verified_ratio: f64,
    recent_activity: u32,
    recommendations: Vec<&'static str>,
    last_calculated: String,
}

/// `trust_level` from the trust score (0–100), per §2.9's fractions.
fn trust_level(trust_score: u8) -> &'static str {
    match trust_score {
        90.. => "very_high",
        75.. => "high",
        50.. => "medium",
        25.. => "low",
        _ => "very_low",
    }
}

/// One advice per rule of §2.9 that fires.
fn recommendations(f: &Figures) -> Vec<&'static str> {
    let rules: [(bool, &'static str); 4] = [
        (
            f.verified_relationship_count < 5,
            "Ask people who know your relationships to attest them: fewer than 5 are verified.",
        ),
        (
            f.relationship_count < 10,
            "Record more of your relationships: you have fewer than 10.",
        ),
        (
            f.consistency < 60,
            "Keep your relationships current: recent interactions and stable strengths raise consistency.",
        ),
        (
            f.reciprocity < 70,
            "Ask the other participants to sign or reciprocate your relationships.",
        ),
    ];
    rules
        .into_iter()
        .filter_map(|(fires, advice)| fires.then_some(advice))
        .collect()
}

async fn trust_health(
    State(state): State<AppState>,
    Path(entity_id): Path<String>,
) -> Result<Json<TrustHealthResponse>, ApiError> {
    let (did, found) = metrics_of(&state, &entity_id).await?;
    let f = found.figures;
    let verified_ratio = match f.relationship_count {
        0 => 0.0,
        n => f64::from(f.verified_relationship_count) / f64::from(n),
    };
    Ok(Json(TrustHealthResponse {
        entity_id: did.into_string(),
        trust_level: trust_level(f.trust_score),
        trust_score: to_fraction(f.trust_score),
        network_size: f.relationship_count,
        verified_ratio,
        recent_activity: f.recent_relationship_count,
        recommendations: recommendations(&f),
        last_calculated: found.last_calculated,
    }))
}

/// The TS `NetworkStatsResponse` (§2.11), plus `last_calculated` and the
/// graph's own figures (extra keys, which the SDKs ignore).
#[derive(Debug, Serialize, Deserialize)]
struct NetworkStatsResponse {
    total_entities: usize,
    total_relationships: usize,
    avg_trust_score: f64,
    verified_entities: usize,
    last_calculated: String,
    /// Attestations held, whether they count for conviction or not.
    total_attestations: usize,
    /// Attestations that count (live target, attester not a participant).
    counting_attestations: usize,
    /// Connected components among the DIDs with relationships.
    connected_components: usize,
    /// DIDs in the largest component.
    largest_component: usize,
    /// DIDs by degree, in power-of-two buckets.
    degree_distribution: Vec<DegreeCount>,
    /// Relationships by strength: `0–9`, `10–19`, …, `90–100`.
    strength_histogram: [usize; 10],
}

/// DIDs whose number of relationships is within `min..=max`.
#[derive(Debug, Serialize, Deserialize)]
struct DegreeCount {
    min: usize,
    max: usize,
    count: usize,
}

/// `GET /analytics/network-stats`. `total_entities` is every DID known:
/// the graph's participants plus the stored entities that take part in no
/// relationship; `total_relationships` and the graph's figures (counts,
/// degree distribution, strength histogram, components) are the graph's
/// now; `verified_entities` the stored entities marked verified;
/// `avg_trust_score` the mean over the DIDs with relationships in the
/// latest trust table. Cached (class `network`) under the graph stamp, so
/// any change to the graph or a new table is a new key, and tagged
/// [`ENTITIES_TAG`], which every entity change invalidates.
async fn network_stats(
    State(state): State<AppState>,
) -> Result<Json<NetworkStatsResponse>, ApiError> {
    let stamp = graph_stamp(&state);
    let owned = state.clone();
    let compute = move || async move { compute_network_stats(&owned).await };
    Ok(Json(
        state
            .cache
            .get_or_compute(NETWORK, &stamp, &[ENTITIES_TAG], compute)
            .await?,
    ))
}

async fn compute_network_stats(state: &AppState) -> Result<NetworkStatsResponse, StoreError> {
    let census = state.store.entity_census().await?;
    let (graph, without_relationships) = {
        let graph = state.graph.read();
        let unlinked = census
            .dids
            .iter()
            .filter(|did| !graph.has_relationships(did))
            .count();
        (graph.network_stats(), unlinked)
    };
    let table = state.trust.current();
    let (scored, score_sum) = table
        .iter()
        .filter(|(_, m)| m.relationship_count > 0)
        .fold((0usize, 0u64), |(n, sum), (_, m)| {
            (n + 1, sum + u64::from(m.trust_score))
        });
    let avg_trust_score = match scored {
        0 => 0.0,
        n => score_sum as f64 / n as f64 / 100.0,
    };
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    Ok(NetworkStatsResponse {
        total_entities: graph.entity_count.saturating_add(without_relationships),
        total_relationships: graph.relationship_count,
        avg_trust_score,
        verified_entities: count(census.verified),
        last_calculated: rfc3339(table.computed_at()),
        total_attestations: graph.attestation_count,
        counting_attestations: graph.counting_attestation_count,
        connected_components: graph.component_count,
        largest_component: graph.largest_component,
        degree_distribution: graph
            .degree_histogram
            .iter()
            .map(|b| DegreeCount {
                min: b.min,
                max: b.max,
                count: b.count,
            })
            .collect(),
        strength_histogram: graph.strength_histogram,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_levels_follow_the_contract_thresholds() {
        for (score, level) in [
            (100, "very_high"),
            (90, "very_high"),
            (89, "high"),
            (75, "high"),
            (74, "medium"),
            (50, "medium"),
            (49, "low"),
            (25, "low"),
            (24, "very_low"),
            (0, "very_low"),
        ] {
            assert_eq!(trust_level(score), level, "{score}");
        }
    }

    #[test]
    fn each_recommendation_rule_fires_on_its_own_boundary() {
        let healthy = Figures {
            verified_relationship_count: 5,
            relationship_count: 10,
            consistency: 60,
            reciprocity: 70,
            ..Figures::default()
        };
        assert!(recommendations(&healthy).is_empty());
        let broken = [
            Figures {
                verified_relationship_count: 4,
                ..healthy
            },
            Figures {
                relationship_count: 9,
                ..healthy
            },
            Figures {
                consistency: 59,
                ..healthy
            },
            Figures {
                reciprocity: 69,
                ..healthy
            },
        ];
        for (i, figures) in broken.iter().enumerate() {
            let advice = recommendations(figures);
            assert_eq!(advice.len(), 1, "rule {i}: {advice:?}");
        }
        assert_eq!(recommendations(&Figures::default()).len(), 4);
    }
}
