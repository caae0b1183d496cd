//! XRPC `net.rhiz.trust.getMetrics` and `net.rhiz.trust.getMetricsBatch`:
//! the trust metrics of DIDs as `net.rhiz.trust.defs#trustMetrics`
//! (integers 0–100, camelCase), with where the seeds came from and, on
//! request (`explain=true`), every input that produced them. Answers
//! without the explanation come from the answer cache (class `trust`).

use axum::extract::State;
use axum::http::Uri;
use axum::Json;
use rhiz_graph::Explanation;
use rhiz_protocol::Did;
use serde::Serialize;

use super::error::XrpcError;
use super::metrics::{cached_lookup, lookup, Served};
use super::params::QueryParams;
use super::rfc3339;
use crate::AppState;

/// Most DIDs in one `getMetricsBatch`.
const BATCH_MAX: usize = 100;

/// `trust.defs#trustMetrics` plus `seedSource` and the optional explanation.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MetricsView {
    entity_did: String,
    trust_score: u8,
    reputation: u8,
    reciprocity: u8,
    consistency: u8,
    relationship_count: u32,
    verified_relationship_count: u32,
    last_calculated: String,
    seed_source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<ExplanationView>,
}

impl MetricsView {
    fn new(did: &Did, found: Served, explanation: Option<ExplanationView>) -> Self {
        let f = found.figures;
        MetricsView {
            entity_did: did.to_string(),
            trust_score: f.trust_score,
            reputation: f.reputation,
            reciprocity: f.reciprocity,
            consistency: f.consistency,
            relationship_count: f.relationship_count,
            verified_relationship_count: f.verified_relationship_count,
            last_calculated: found.last_calculated,
            seed_source: found.seed_source,
            explanation,
        }
    }
}

/// The view of `did`'s metrics, or `None` when it is unknown. Without
/// `explain` the answer is cached; with it, computed (the explanation
/// needs the whole table, and is a debugging aid).
async fn metrics_view(
    state: &AppState,
    did: &Did,
    explain: bool,
) -> Result<Option<MetricsView>, XrpcError> {
    if !explain {
        let found = cached_lookup(state, did).await?;
        return Ok(found.map(|found| MetricsView::new(did, found, None)));
    }
    Ok(lookup(state, did).await?.map(|found| {
        let explanation = found.table.explain(did).map(ExplanationView::from);
        MetricsView::new(did, Served::from(&found), explanation)
    }))
}

/// The inputs of one DID's metrics ([`Explanation`]), camelCase.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ExplanationView {
    seeds: Vec<String>,
    seed_source: &'static str,
    restart_probability: f64,
    iterations: u32,
    converged: bool,
    residual: f64,
    participants: usize,
    propagated_mass: f64,
    distrust_penalty: f64,
    mass: f64,
    trusted_by: u32,
    trusts: u32,
    distrusted_by: u32,
    mutual_strength: u64,
    total_strength: u64,
    mean_recency: f64,
    mean_stability: f64,
    verified_share: f64,
    computed_at: String,
    graph_version: u64,
}

impl From<Explanation> for ExplanationView {
    fn from(e: Explanation) -> Self {
        ExplanationView {
            seeds: e.seeds.into_iter().map(Did::into_string).collect(),
            seed_source: e.seed_source.as_str(),
            restart_probability: e.restart_probability,
            iterations: e.iterations,
            converged: e.converged,
            residual: e.residual,
            participants: e.participants,
            propagated_mass: e.propagated_mass,
            distrust_penalty: e.distrust_penalty,
            mass: e.mass,
            trusted_by: e.trusted_by,
            trusts: e.trusts,
            distrusted_by: e.distrusted_by,
            mutual_strength: e.mutual_strength,
            total_strength: e.total_strength,
            mean_recency: e.mean_recency,
            mean_stability: e.mean_stability,
            verified_share: e.verified_share,
            computed_at: rfc3339(e.computed_at),
            graph_version: e.graph_version,
        }
    }
}

/// `net.rhiz.trust.getMetrics?did=…[&explain=true]`; 404 `NotFound` when
/// neither an entity nor a relationship is known for the DID.
pub(super) async fn get_metrics(
    State(state): State<AppState>,
    uri: Uri,
) -> Result<Json<MetricsView>, XrpcError> {
    let params = QueryParams::from_uri(&uri)?;
    let did: Did = params.required_parsed("did")?;
    let explain = params.boolean("explain", false)?;
    match metrics_view(&state, &did, explain).await? {
        Some(view) => Ok(Json(view)),
        None => Err(XrpcError::not_found(
            "NotFound",
            format!("no entity and no relationship known for {did}"),
        )),
    }
}

/// The output of `getMetricsBatch`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MetricsBatch {
    /// The known DIDs, in request order, each once.
    metrics: Vec<MetricsView>,
    /// The requested DIDs with neither an entity nor a relationship.
    not_found: Vec<String>,
}

/// `net.rhiz.trust.getMetricsBatch?dids=…&dids=…[&explain=true]`: 1 to
/// [`BATCH_MAX`] DIDs.
pub(super) async fn get_metrics_batch(
    State(state): State<AppState>,
    uri: Uri,
) -> Result<Json<MetricsBatch>, XrpcError> {
    let params = QueryParams::from_uri(&uri)?;
    let mut dids: Vec<Did> = params.parsed_list("dids")?;
    if !(1..=BATCH_MAX).contains(&dids.len()) {
        return Err(XrpcError::invalid_request(format!(
            "dids: give between 1 and {BATCH_MAX} DIDs, got {}",
            dids.len()
        )));
    }
    let explain = params.boolean("explain", false)?;
    let mut seen = std::collections::HashSet::new();
    dids.retain(|did| seen.insert(did.clone()));
    let mut batch = MetricsBatch {
        metrics: Vec::new(),
        not_found: Vec::new(),
    };
    for did in dids {
        match metrics_view(&state, &did, explain).await? {
            Some(view) => batch.metrics.push(view),
            None => batch.not_found.push(did.into_string()),
        }
    }
    Ok(Json(batch))
}
