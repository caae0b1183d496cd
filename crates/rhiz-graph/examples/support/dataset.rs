//! The graphs the latency examples run on, chosen by the `DATASET`
//! environment variable:
//!
//! - `synthetic` (default): the seeded preferential-attachment graph of
//!   `rhiz_graph::synthetic` (`DIDS` × `PER_DID` relationships from the
//!   example's arguments), then 100,000 attestations on random
//!   relationships (10 % disputes). Trust seeds: the 20 oldest DIDs.
//! - `gen`: what `rhiz gen --seed 3 --dids 100000 --relationships 1000000
//!   --attestation-ratio 0.1 --now 2026-11-01T00:00:00Z` writes (the data
//!   of the server's start-up benchmark), generated in memory and read back
//!   line by line as the server's apply reads it. `GEN_DIDS` and
//!   `GEN_RELATIONSHIPS` change the sizes. No trust seeds: the table falls
//!   back to the best-connected DIDs, as a server with no `trust_seeds`.
//!   Queries pick among the DIDs with at least one relationship.

use std::collections::HashSet;
use std::io::{self, Write};

use chrono::{DateTime, TimeZone, Utc};
use rhiz_graph::synthetic::{attestation, did, preferential_attachment, SplitMix64};
use rhiz_graph::{AttestationInput, RelationshipInput};
use rhiz_protocol::{AtUri, Attestation, AttestationType, Cid, Did, RelationshipRecord};
use serde_json::Value;

/// Relationships and attestations to load, the DIDs to query, and the time
/// the queries run at.
pub(crate) struct Dataset {
    /// One line saying what this is, for the example's output.
    pub(crate) description: String,
    /// Every relationship, for `Graph::bulk_load`.
    pub(crate) relationships: Vec<RelationshipInput>,
    /// Every attestation, applied after the load.
    pub(crate) attestations: Vec<AttestationInput>,
    /// The DIDs queries pick from.
    pub(crate) dids: Vec<Did>,
    /// The pre-trusted DIDs (none: the table's fallback).
    #[allow(dead_code, reason = "only trust_recompute computes trust")]
    pub(crate) seeds: Vec<Did>,
    /// The time queries and trust computations use.
    pub(crate) now: DateTime<Utc>,
}

impl Dataset {
    /// The dataset `DATASET` names; `dids` and `per_did` size the synthetic
    /// one.
    pub(crate) fn from_env(dids: u64, per_did: u64) -> Self {
        match std::env::var("DATASET").as_deref() {
            Ok("gen") => Self::generated(
                env_or("GEN_DIDS", 100_000),
                env_or("GEN_RELATIONSHIPS", 1_000_000),
            ),
            Ok("synthetic") | Err(_) => Self::synthetic(dids, per_did),
            Ok(other) => panic!("DATASET must be synthetic or gen, not {other:?}"),
        }
    }

    /// The preferential-attachment graph plus 100,000 random attestations.
    fn synthetic(dids: u64, per_did: u64) -> Self {
        let relationships = preferential_attachment(dids, per_did, 42);
        let now = Utc
            .with_ymd_and_hms(2026, 6, 1, 0, 0, 0)
            .single()
            .expect("date");
        let mut rng = SplitMix64::new(7);
        let attestations = (0..100_000u64)
            .map(|i| {
                let target = &relationships[rng.below(relationships.len() as u64) as usize].uri;
                let kind = if rng.below(10) == 0 {
                    AttestationType::Dispute
                } else {
                    AttestationType::Verify
                };
                attestation(
                    &did(rng.below(dids)),
                    target,
                    kind,
                    50 + rng.below(51) as u8,
                    now - chrono::Duration::days(rng.below(730) as i64),
                    &format!("a{i}"),
                )
            })
            .collect();
        let names = |n: u64| -> Vec<Did> { (0..n).map(|i| did(i).parse().expect("DID")).collect() };
        Self {
            description: format!(
                "synthetic preferential attachment, {dids} DIDs × {per_did}, 100,000 random attestations"
            ),
            relationships,
            attestations,
            dids: names(dids),
            seeds: names(20),
            now,
        }
    }

    /// `rhiz gen` data, seed 3, 10 % of the attestable relationships attested.
    fn generated(dids: u32, relationships: u64) -> Self {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .single()
            .expect("date");
        let config = rhiz_datasets::GenConfig {
            seed: 3,
            dids,
            relationships,
            attestation_ratio: 0.1,
            ..rhiz_datasets::GenConfig::new(now)
        };
        let mut reader = GenReader::default();
        rhiz_datasets::generate(&config, &mut reader).expect("valid generator settings");
        let linked: HashSet<&Did> = reader
            .dataset
            .relationships
            .iter()
            .flat_map(|r| &r.participants)
            .collect();
        let linked_dids = reader
            .dataset
            .dids
            .iter()
            .filter(|d| linked.contains(d))
            .cloned()
            .collect();
        Self {
            description: format!(
                "rhiz gen --seed 3 --dids {dids} --relationships {relationships} --attestation-ratio 0.1: {} attestations",
                reader.dataset.attestations.len()
            ),
            now,
            dids: linked_dids,
            ..reader.dataset
        }
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .ok()
            .unwrap_or_else(|| panic!("{name} must be a number"))
    })
}

/// Reads the generator's NDJSON as it is written: profiles give the DIDs,
/// relationship and attestation lines the graph's inputs.
struct GenReader {
    pending: Vec<u8>,
    dataset: Dataset,
}

impl Default for GenReader {
    fn default() -> Self {
        Self {
            pending: Vec::new(),
            dataset: Dataset {
                description: String::new(),
                relationships: Vec::new(),
                attestations: Vec::new(),
                dids: Vec::new(),
                seeds: Vec::new(),
                now: DateTime::UNIX_EPOCH,
            },
        }
    }
}

impl GenReader {
    fn line(&mut self, line: &[u8]) {
        let body: Value = serde_json::from_slice(line).expect("the generator writes JSON");
        let payload = &body["payload"];
        let text = |v: &Value| v.as_str().expect("a string field").to_owned();
        let uri = || -> AtUri { text(&payload["uri"]).parse().expect("valid URI") };
        let data = &mut self.dataset;
        match body["event_type"].as_str() {
            Some("entity.profile.updated") => {
                data.dids.push(text(&body["did"]).parse().expect("DID"))
            }
            Some("relationship.created") => {
                let record =
                    RelationshipRecord::from_json(&payload["record"]).expect("valid record");
                let cid: Cid = text(&payload["cid"]).parse().expect("valid CID");
                data.relationships
                    .push(RelationshipInput::from_record(uri(), cid, &record));
            }
            Some("attestation.created") => {
                let record = Attestation::from_json(&payload["record"]).expect("valid record");
                data.attestations
                    .push(AttestationInput::from_record(uri(), &record));
            }
            other => panic!("unexpected generated event {other:?}"),
        }
    }
}

impl Write for GenReader {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(buf);
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|&b| b == b'\n') {
            self.line(&pending[start..start + end]);
            start += end + 1;
        }
        pending.drain(..start);
        self.pending = pending;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
