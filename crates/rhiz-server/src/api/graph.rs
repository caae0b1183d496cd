//! REST `/api/v1/graph` (CONTRACT.md §2.7, §2.8): the SDKs' path and
//! neighbors calls, snake_case with strengths as fractions 0.0–1.0.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::Uri;
use axum::routing::{get, post};
use axum::{Json, Router};
use rhiz_graph::{Graph, GraphError, NeighborQuery, PathQuery};
use rhiz_protocol::Did;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::json_body::JsonBody;
use super::params::QueryParams;
use super::scale::{threshold_from_fraction, to_fraction};
use super::validate::{Checks, Origin};
use crate::answer_cache::{graph_stamp, PATHS};
use crate::AppState;

/// The graph routes, relative to `/api/v1`.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/graph/find-path", post(find_path))
        .route("/graph/neighbors/{*did}", get(neighbors))
}

/// Body of `POST /graph/find-path`; unknown keys are ignored (§1.2).
#[derive(Debug, Deserialize)]
struct FindPathBody {
    from: Option<String>,
    from_entity: Option<String>,
    to: Option<String>,
    to_entity: Option<String>,
    max_hops: Option<i64>,
    min_strength: Option<f64>,
    relationship_types: Option<Vec<String>>,
    exclude_entities: Option<Vec<String>>,
}

impl FindPathBody {
    /// The endpoints and the query, or a 422 listing every problem.
    fn validate(self) -> Result<(Did, Did, PathQuery), ApiError> {
        let mut checks = Checks::new(Origin::Body);
        let mut endpoint = |name: &str, value: Option<String>, alias: Option<String>| {
            let value = value.or(alias);
            checks
                .required(name, value.as_deref())
                .and_then(|did| checks.parse::<Did>(name, did))
        };
        let from = endpoint("from", self.from, self.from_entity);
        let to = endpoint("to", self.to, self.to_entity);
        let max_hops = checks.range("max_hops", self.max_hops.unwrap_or(6), 1, 10);
        let min_strength = checks.range("min_strength", self.min_strength.unwrap_or(0.5), 0.0, 1.0);
        let excluded: Vec<Option<Did>> = self
            .exclude_entities
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, did)| checks.parse_item("exclude_entities", i, did))
            .collect();
        checks.finish(|| {
            Some((
                from?,
                to?,
                PathQuery {
                    max_hops: u8::try_from(max_hops?).ok()?,
                    min_strength: threshold_from_fraction(min_strength?),
                    relationship_types: self.relationship_types,
                    exclude_dids: excluded.into_iter().collect::<Option<_>>()?,
                    limit: 1,
                    ..PathQuery::default()
                },
            ))
        })
    }
}

/// A hop of the REST path.
#[derive(Debug, Serialize, Deserialize)]
struct RestHop {
    from: String,
    to: String,
    relationship_id: String,
    strength: f64,
}

/// The REST `GraphPath`.
#[derive(Debug, Serialize, Deserialize)]
struct RestPath {
    from: String,
    to: String,
    hops: Vec<RestHop>,
    total_strength: f64,
    distance: usize,
}

/// `POST /graph/find-path`: the single strongest path; 404 when there is
/// none, including `from == to` (as the prototype). Cached (class `paths`)
/// under the graph stamp and the canonical query.
async fn find_path(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<FindPathBody>,
) -> Result<Json<RestPath>, ApiError> {
    let (from, to, query) = body.validate()?;
    let key = format!("{}:rest:{from}:{to}:{query:?}", graph_stamp(&state));
    let tags = [from.as_str(), to.as_str()];
    let (graph, owned_from, owned_to) = (Arc::clone(&state.graph), from.clone(), to.clone());
    let compute =
        move || async move { strongest_path(&graph.read(), &owned_from, &owned_to, &query) };
    let path = state
        .cache
        .get_or_compute(PATHS, &key, &tags, compute)
        .await?;
    path.map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no path from {from} to {to}")))
}

/// The strongest path as REST renders it; `None` when there is none.
fn strongest_path(
    graph: &Graph,
    from: &Did,
    to: &Did,
    query: &PathQuery,
) -> Result<Option<RestPath>, GraphError> {
    let path = match graph.find_paths(from, to, query) {
        Ok(paths) => paths.into_iter().next(),
        Err(GraphError::UnknownDid(_) | GraphError::SameEndpoints(_)) => None,
        Err(error) => return Err(error),
    };
    Ok(path.map(|path| RestPath {
        from: from.to_string(),
        to: to.to_string(),
        distance: path.hops.len(),
        total_strength: to_fraction(path.total_strength),
        hops: path
            .hops
            .into_iter()
            .map(|hop| RestHop {
                from: hop.from.into_string(),
                to: hop.to.into_string(),
                relationship_id: hop.relationship.into_string(),
                strength: to_fraction(hop.strength),
            })
            .collect(),
    }))
}

/// One neighbor, per relationship.
#[derive(Debug, Serialize)]
struct RestNeighbor {
    entity_id: String,
    relationship_id: String,
    strength: f64,
    #[serde(rename = "type")]
    relationship_type: String,
}

/// The neighbors response.
#[derive(Debug, Serialize)]
struct RestNeighbors {
    entity_id: String,
    neighbors: Vec<RestNeighbor>,
    count: usize,
}

/// `GET /graph/neighbors/{did}?min_strength=`: every discoverable
/// relationship of the DID, strongest first, then by relationship URI. An
/// unknown DID has none; a value that is not a DID is a 404 (§1.2).
async fn neighbors(
    State(state): State<AppState>,
    Path(did): Path<String>,
    uri: Uri,
) -> Result<Json<RestNeighbors>, ApiError> {
    let params = QueryParams::from_uri(&uri)?;
    let min_strength = params.number("min_strength", 0.0..=1.0, 0.0)?;
    let parsed: Did = did
        .parse()
        .map_err(|_| ApiError::not_found(format!("entity {did} not found")))?;
    let mut neighbors = all_neighbors(
        &state.graph.read(),
        &parsed,
        threshold_from_fraction(min_strength),
    )
    .map_err(ApiError::internal)?;
    neighbors.sort_by(|a, b| {
        b.strength
            .total_cmp(&a.strength)
            .then_with(|| a.relationship_id.cmp(&b.relationship_id))
    });
    Ok(Json(RestNeighbors {
        entity_id: parsed.into_string(),
        count: neighbors.len(),
        neighbors,
    }))
}

/// Every page of the DID's neighbors, read under one lock so the list is
/// one consistent state of the graph.
fn all_neighbors(
    graph: &Graph,
    did: &Did,
    min_strength: u8,
) -> Result<Vec<RestNeighbor>, GraphError> {
    let mut query = NeighborQuery {
        min_strength,
        limit: 100,
        ..NeighborQuery::default()
    };
    let mut all = Vec::new();
    loop {
        let page = graph.neighbors(did, &query)?;
        all.extend(page.neighbors.into_iter().map(|n| RestNeighbor {
            entity_id: n.did.into_string(),
            relationship_id: n.relationship.into_string(),
            strength: to_fraction(n.strength),
            relationship_type: n.relationship_type,
        }));
        match page.cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return Ok(all),
        }
    }
}
