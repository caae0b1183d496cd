//! XRPC `net.rhiz.graph.findPath` and `net.rhiz.graph.getNeighbors`
//! (CONTRACT.md §3.3, §3.4), answered from the in-memory graph; paths
//! through the answer cache (class `paths`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::Json;
use rhiz_graph::{Graph, GraphError, NeighborQuery, Path, PathQuery};
use rhiz_protocol::{AtUri, Did};
use serde::{Deserialize, Serialize};

use super::error::XrpcError;
use super::params::QueryParams;
use super::profiles::{EntityView, Profiles};
use crate::answer_cache::{graph_stamp, PATHS};
use crate::AppState;

/// How many paths `findPath` returns at most (implementation-defined, ≥ 1).
const PATHS_RETURNED: usize = 5;

/// `net.rhiz.graph.defs#graphHop`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphHop {
    from: String,
    to: String,
    relationship_uri: String,
    relationship_cid: String,
    strength: u8,
}

/// `net.rhiz.graph.defs#graphPath`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphPath {
    from: String,
    to: String,
    hops: Vec<GraphHop>,
    total_strength: u8,
    distance: usize,
}

impl GraphPath {
    fn new(from: &Did, to: &Did, path: Path) -> Self {
        GraphPath {
            from: from.to_string(),
            to: to.to_string(),
            distance: path.hops.len(),
            total_strength: path.total_strength,
            hops: path
                .hops
                .into_iter()
                .map(|hop| GraphHop {
                    from: hop.from.into_string(),
                    to: hop.to.into_string(),
                    relationship_uri: hop.relationship.into_string(),
                    relationship_cid: hop.cid.into_string(),
                    strength: hop.strength,
                })
                .collect(),
        }
    }
}

/// The output of `findPath`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct PathList {
    paths: Vec<GraphPath>,
}

/// `net.rhiz.graph.findPath`.
pub(super) async fn find_path(
    State(state): State<AppState>,
    uri: Uri,
) -> Result<Json<PathList>, XrpcError> {
    let params = QueryParams::from_uri(&uri)?;
    let from: Did = params.required_parsed("from")?;
    let to: Did = params.required_parsed("to")?;
    let query = PathQuery {
        max_hops: params.integer("maxHops", 1..=10, 6)?,
        min_strength: params.integer("minStrength", 0..=100, 50)?,
        relationship_types: Some(params.list("relationshipTypes")),
        exclude_dids: params.parsed_list("excludeDids")?,
        limit: PATHS_RETURNED,
        ..PathQuery::default()
    };
    if from == to {
        return Err(XrpcError::invalid_request(
            "from and to are the same DID: a path needs two",
        ));
    }
    let key = format!("{}:xrpc:{from}:{to}:{query:?}", graph_stamp(&state));
    let tags = [from.as_str(), to.as_str()];
    let (graph, owned_from, owned_to) = (Arc::clone(&state.graph), from.clone(), to.clone());
    let compute = move || async move {
        let found = path_list(&graph.read(), &owned_from, &owned_to, &query);
        Ok::<_, std::convert::Infallible>(found)
    };
    let found = state
        .cache
        .get_or_compute(PATHS, &key, &tags, compute)
        .await?;
    found.map(Json).map_err(XrpcError::invalid_request)
}

/// The paths found, or why the query is invalid (cached as it is: the
/// message depends only on the query and the graph).
fn path_list(graph: &Graph, from: &Did, to: &Did, query: &PathQuery) -> Result<PathList, String> {
    let paths = match graph.find_paths(from, to, query) {
        Ok(paths) => paths,
        Err(GraphError::UnknownDid(_)) => Vec::new(),
        Err(error) => return Err(error.to_string()),
    };
    Ok(PathList {
        paths: paths
            .into_iter()
            .map(|path| GraphPath::new(from, to, path))
            .collect(),
    })
}

/// One item of `neighborsList`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct NeighborItem {
    entity: EntityView,
    relationship_uri: String,
    relationship_cid: String,
    strength: u8,
    #[serde(rename = "type")]
    relationship_type: String,
}

/// The output of `getNeighbors` (`neighborsList`).
#[derive(Debug, Serialize)]
pub(super) struct NeighborsList {
    neighbors: Vec<NeighborItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

/// `net.rhiz.graph.getNeighbors`: ordered by relationship URI; the cursor
/// is the last URI of the page, so paging is stable while the graph changes.
pub(super) async fn get_neighbors(
    State(state): State<AppState>,
    uri: Uri,
) -> Result<Json<NeighborsList>, XrpcError> {
    let params = QueryParams::from_uri(&uri)?;
    let did: Did = params.required_parsed("did")?;
    let query = NeighborQuery {
        min_strength: params.integer("minStrength", 0..=100, 0)?,
        relationship_types: Some(params.list("relationshipTypes")),
        limit: params.integer("limit", 1..=100, 50)?,
        cursor: params.parsed::<AtUri>("cursor")?,
    };
    let page = state
        .graph
        .read()
        .neighbors(&did, &query)
        .map_err(|error| XrpcError::invalid_request(error.to_string()))?;
    let dids = page.neighbors.iter().map(|n| n.did.clone()).collect();
    let profiles = Profiles::load(&state, dids).await?;
    Ok(Json(NeighborsList {
        neighbors: page
            .neighbors
            .into_iter()
            .map(|n| NeighborItem {
                entity: profiles.entity_view(&n.did),
                relationship_uri: n.relationship.into_string(),
                relationship_cid: n.cid.into_string(),
                strength: n.strength,
                relationship_type: n.relationship_type,
            })
            .collect(),
        cursor: page.cursor.map(AtUri::into_string),
    }))
}
