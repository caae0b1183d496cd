//! One DID's trust metrics as both families serve them (REST analytics
//! §2.9–§2.10, XRPC `net.rhiz.trust.*`): which DIDs have metrics, when a
//! reader waits for a fresher table, and the cached answer (class `trust`,
//! keyed by the current table, tagged with the DID).

use std::sync::Arc;
use std::time::Duration;

use rhiz_graph::{TrustMetrics, TrustTable};
use rhiz_protocol::Did;
use rhiz_store::StoreError;
use serde::{Deserialize, Serialize};

use super::rfc3339;
use crate::answer_cache::{table_stamp, TRUST};
use crate::AppState;

/// How long a read waits for a table that includes a DID the graph learned
/// after the current table was computed ("computed on demand when not
/// cached", §2.10). The background interval still applies.
const FRESH_WAIT: Duration = Duration::from_secs(5);

/// A DID's metrics and the table they come from.
#[derive(Debug)]
pub(super) struct DidMetrics {
    /// The table (its `computed_at` is `last_calculated`).
    pub(super) table: Arc<TrustTable>,
    /// The figures; all 0 for an entity the table does not hold.
    pub(super) figures: Figures,
}

/// The served figures of one DID, on the 0–100 scale.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Figures {
    pub(super) trust_score: u8,
    pub(super) reputation: u8,
    pub(super) reciprocity: u8,
    pub(super) consistency: u8,
    pub(super) relationship_count: u32,
    pub(super) verified_relationship_count: u32,
    pub(super) recent_relationship_count: u32,
}

impl From<TrustMetrics> for Figures {
    fn from(m: TrustMetrics) -> Self {
        Figures {
            trust_score: m.trust_score,
            reputation: m.reputation,
            reciprocity: m.reciprocity,
            consistency: m.consistency,
            relationship_count: m.relationship_count,
            verified_relationship_count: m.verified_relationship_count,
            recent_relationship_count: m.recent_relationship_count,
        }
    }
}

/// The metrics of `did`, or `None` when neither an entity nor a
/// relationship is known for it (a 404 in both families).
///
/// The current table answers when it holds relationships of the DID. A DID
/// the graph knows but the table does not yet reflect waits for the next
/// computation (at most [`FRESH_WAIT`]). An entity without relationships
/// has zero figures.
pub(super) async fn lookup(state: &AppState, did: &Did) -> Result<Option<DidMetrics>, StoreError> {
    let participant = |table: &Arc<TrustTable>| {
        table
            .get(did)
            .filter(|m| m.relationship_count > 0)
            .map(|m| DidMetrics {
                table: Arc::clone(table),
                figures: m.into(),
            })
    };
    let mut table = state.trust.current();
    if let Some(found) = participant(&table) {
        return Ok(Some(found));
    }
    let (in_graph, version) = {
        let graph = state.graph.read();
        (graph.did_id(did).is_some(), graph.version())
    };
    if in_graph && table.graph_version() < version {
        table = state.trust.fresh(version, FRESH_WAIT).await;
        if let Some(found) = participant(&table) {
            return Ok(Some(found));
        }
    }
    if state.store.get_entity(did).await?.is_none() {
        return Ok(None);
    }
    let figures = table.get(did).map(Figures::from).unwrap_or_default();
    Ok(Some(DidMetrics { table, figures }))
}

/// A DID's metrics as served and cached: the figures and what the
/// responses say of their table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Served {
    pub(super) figures: Figures,
    /// When the table was computed, RFC 3339.
    pub(super) last_calculated: String,
    /// Where the table's seeds came from.
    pub(super) seed_source: String,
}

impl From<&DidMetrics> for Served {
    fn from(found: &DidMetrics) -> Self {
        Served {
            figures: found.figures,
            last_calculated: rfc3339(found.table.computed_at()),
            seed_source: found.table.seed_source().as_str().to_owned(),
        }
    }
}

/// [`lookup`] through the cache. The key names the current table, so a
/// cached answer is never older than the table the uncached path would
/// use; the DID's tag is invalidated by every change naming it (which is
/// what can turn a 404 or zero figures into figures).
pub(super) async fn cached_lookup(
    state: &AppState,
    did: &Did,
) -> Result<Option<Served>, rhiz_cache::CacheError> {
    let key = format!("{}:{did}", table_stamp(&state.trust.current()));
    let (owned_state, owned_did) = (state.clone(), did.clone());
    let compute = move || async move {
        let found = lookup(&owned_state, &owned_did).await?;
        Ok::<_, StoreError>(found.as_ref().map(Served::from))
    };
    state
        .cache
        .get_or_compute(TRUST, &key, &[did.as_str()], compute)
        .await
}
