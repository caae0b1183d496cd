//! XRPC `net.rhiz.conviction.getScore` and
//! `net.rhiz.conviction.listAttestations` (CONTRACT.md §3.1, §3.2, §3.5).

use std::cmp::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use rhiz_graph::Conviction;
use rhiz_protocol::AtUri;
use rhiz_store::StoredAttestation;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::XrpcError;
use super::params::QueryParams;
use super::profiles::{Attester, Profiles};
use super::rfc3339;
use crate::answer_cache::{graph_stamp, CONVICTION};
use crate::AppState;

/// The attestation types `listAttestations` filters on.
const ATTESTATION_TYPES: [&str; 4] = ["verify", "dispute", "strengthen", "weaken"];
/// The lexicon type of an attestation record.
const ATTESTATION_NSID: &str = "net.rhiz.relationship.attestation";

/// `net.rhiz.conviction.defs#convictionScore`, every field sent.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConvictionScore {
    score: u8,
    attestation_count: u32,
    verify_count: u32,
    dispute_count: u32,
    strengthen_count: u32,
    weaken_count: u32,
    last_updated: String,
    trend: String,
    top_attester_reputation: u8,
}

impl From<Conviction> for ConvictionScore {
    fn from(c: Conviction) -> Self {
        ConvictionScore {
            score: c.score,
            attestation_count: c.attestation_count,
            verify_count: c.verify_count,
            dispute_count: c.dispute_count,
            strengthen_count: c.strengthen_count,
            weaken_count: c.weaken_count,
            last_updated: rfc3339(c.last_updated),
            trend: c.trend.as_str().to_owned(),
            top_attester_reputation: c.top_attester_reputation,
        }
    }
}

/// The output of `getScore`.
#[derive(Debug, Serialize)]
pub(super) struct ScoreOutput {
    uri: String,
    conviction: ConvictionScore,
}

/// `net.rhiz.conviction.getScore`: the conviction of a record as the graph
/// holds it now; 404 `RecordNotFound` when neither the record nor any
/// attestation of it is known. Cached (class `conviction`) under the graph
/// stamp, which also names the trust table whose reputations weigh it.
pub(super) async fn get_score(
    State(state): State<AppState>,
    uri: Uri,
) -> Result<Json<ScoreOutput>, XrpcError> {
    let params = QueryParams::from_uri(&uri)?;
    let target: AtUri = params.required_parsed("uri")?;
    let key = format!("{}:{target}", graph_stamp(&state));
    let (graph, owned) = (Arc::clone(&state.graph), target.clone());
    let compute = move || async move {
        let conviction = graph.read().conviction(&owned, Utc::now());
        Ok::<_, std::convert::Infallible>(conviction.map(ConvictionScore::from))
    };
    let tags = [target.as_str()];
    match state
        .cache
        .get_or_compute(CONVICTION, &key, &tags, compute)
        .await?
    {
        Some(conviction) => Ok(Json(ScoreOutput {
            uri: target.into_string(),
            conviction,
        })),
        None => Err(XrpcError::not_found(
            "RecordNotFound",
            format!("no record and no attestation known for {target}"),
        )),
    }
}

/// Where a `listAttestations` page starts: strictly after this position in
/// the order `createdAt` descending, then URI descending.
#[derive(Debug, PartialEq)]
enum Cursor {
    /// `<createdAt>::<uri>`, the cursor rhiz issues.
    After(DateTime<Utc>, String),
    /// A bare RFC 3339 timestamp (the prototype's cursor): items created
    /// strictly before it.
    Before(DateTime<Utc>),
}

impl Cursor {
    fn parse(text: &str) -> Result<Self, XrpcError> {
        let invalid = || XrpcError::invalid_request(format!("cursor: not a cursor: {text:?}"));
        let timestamp = |t: &str| {
            DateTime::parse_from_rfc3339(t)
                .map(|at| at.to_utc())
                .map_err(|_| invalid())
        };
        match text.split_once("::") {
            Some((at, uri)) => {
                let uri: AtUri = uri.parse().map_err(|_| invalid())?;
                Ok(Cursor::After(timestamp(at)?, uri.into_string()))
            }
            None => Ok(Cursor::Before(timestamp(text)?)),
        }
    }

    /// The cursor after `item`: its `createdAt` to the microsecond, `::`,
    /// its URI.
    fn after(item: &StoredAttestation) -> String {
        format!(
            "{}::{}",
            item.created_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            item.uri
        )
    }

    /// Whether `item` comes after the cursor in the listing order.
    fn admits(&self, item: &StoredAttestation) -> bool {
        match self {
            Cursor::Before(at) => item.created_at < *at,
            Cursor::After(at, uri) => {
                newest_first((&item.created_at, item.uri.as_str()), (at, uri)) == Ordering::Greater
            }
        }
    }
}

/// The listing order: `createdAt` descending, then URI descending (by
/// bytes, whatever the database's collation).
fn newest_first(a: (&DateTime<Utc>, &str), b: (&DateTime<Utc>, &str)) -> Ordering {
    b.0.cmp(a.0).then_with(|| b.1.cmp(a.1))
}

/// `attestationView`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AttestationView {
    uri: String,
    cid: String,
    record: Value,
    attester: Attester,
    #[serde(skip_serializing_if = "Option::is_none")]
    attester_reputation: Option<u8>,
}

/// The output of `listAttestations`.
#[derive(Debug, Serialize)]
pub(super) struct AttestationList {
    attestations: Vec<AttestationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

/// `net.rhiz.conviction.listAttestations`: the stored attestations of a
/// record, newest first, in keyset pages.
pub(super) async fn list_attestations(
    State(state): State<AppState>,
    uri: Uri,
) -> Result<Json<AttestationList>, XrpcError> {
    let params = QueryParams::from_uri(&uri)?;
    let target: AtUri = params.required_parsed("uri")?;
    let kind = params.optional("type")?;
    if let Some(kind) = kind.filter(|k| !ATTESTATION_TYPES.contains(k)) {
        return Err(XrpcError::invalid_request(format!(
            "type: must be one of verify, dispute, strengthen, weaken, got {kind:?}"
        )));
    }
    let min_confidence: u8 = params.integer("minConfidence", 0..=100, 0)?;
    let limit: usize = params.integer("limit", 1..=100, 50)?;
    let cursor = params.optional("cursor")?.map(Cursor::parse).transpose()?;

    let mut items: Vec<StoredAttestation> = state
        .store
        .attestations_for(&target)
        .await?
        .into_iter()
        .filter(|a| kind.is_none_or(|k| a.attestation_type == k))
        .filter(|a| a.confidence >= min_confidence)
        .filter(|a| cursor.as_ref().is_none_or(|c| c.admits(a)))
        .collect();
    items.sort_by(|a, b| {
        newest_first(
            (&a.created_at, a.uri.as_str()),
            (&b.created_at, b.uri.as_str()),
        )
    });
    let more = items.len() > limit;
    items.truncate(limit);
    let next = more.then(|| items.last().map(Cursor::after)).flatten();

    let attesters = items.iter().map(|a| a.attester.clone()).collect();
    let profiles = Profiles::load(&state, attesters).await?;
    let trust = state.trust.current();
    let attestations = items
        .into_iter()
        .map(|item| {
            let mut record = item.record.to_value();
            if let Some(object) = record.as_object_mut() {
                object
                    .entry("$type")
                    .or_insert_with(|| Value::from(ATTESTATION_NSID));
            }
            AttestationView {
                attester: profiles.attester(&item.attester),
                attester_reputation: trust.get(&item.attester).map(|m| m.reputation),
                uri: item.uri.into_string(),
                cid: item.cid.into_string(),
                record,
            }
        })
        .collect();
    Ok(Json(AttestationList {
        attestations,
        cursor: next,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_parse_both_forms_and_refuse_garbage() {
        let uri = "at://did:plc:a/net.rhiz.relationship.attestation/3kabc";
        let at: DateTime<Utc> = "2026-01-02T00:00:00.123456Z".parse().unwrap();
        assert_eq!(
            Cursor::parse(&format!("2026-01-02T00:00:00.123456Z::{uri}")).unwrap(),
            Cursor::After(at, uri.to_owned())
        );
        assert_eq!(
            Cursor::parse("2026-01-02T00:00:00.123456Z").unwrap(),
            Cursor::Before(at)
        );
        for garbage in ["", "yesterday", "2026-01-02T00:00:00Z::not-a-uri", "::"] {
            assert!(Cursor::parse(garbage).is_err(), "{garbage}");
        }
    }
}
