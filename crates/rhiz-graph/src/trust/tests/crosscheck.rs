//! The propagation against an independent implementation:
//! `tools/trust_check.py` recomputes the weights from the raw relationship
//! fields and the stationary vector with networkx. Runs when `python3` can
//! import networkx; otherwise prints a notice and passes.

use std::fmt::Write as _;
use std::process::Command;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rhiz_protocol::{AttestationType, Did};

use crate::synthetic::{attestation, did, preferential_attachment};
use crate::{Graph, RelationshipInput, TrustConfig, DISTRUST_TYPE};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().unwrap()
}

fn networkx_available() -> bool {
    Command::new("python3")
        .args(["-c", "import networkx"])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// 80 DIDs with every kind of relationship the propagation distinguishes,
/// and attestations for varied convictions.
fn mixed_graph() -> (Graph, Vec<RelationshipInput>, Vec<Did>) {
    let mut relationships = preferential_attachment(80, 2, 17);
    for (i, r) in relationships.iter_mut().enumerate() {
        r.last_interaction = now() - Duration::days((i * 29 % 400) as i64);
        match i % 9 {
            0 => r.signed = [false, false],
            1 => r.signed = [false, true],
            2 => r.discoverable = false,
            3 | 7 => r.relationship_type = DISTRUST_TYPE.to_owned(),
            _ => {}
        }
    }
    let mut graph = Graph::new();
    graph.bulk_load(relationships.clone()).unwrap();
    for i in 0..60 {
        let kind = [AttestationType::Verify, AttestationType::Dispute][i % 2];
        graph
            .upsert_attestation(attestation(
                &did((i * 11 % 80) as u64),
                &relationships[i * 5 % relationships.len()].uri,
                kind,
                (30 + i) as u8,
                now() - Duration::days(i as i64),
                &format!("att{i}"),
            ))
            .unwrap();
    }
    let seeds = [0, 1, 5].map(|n| did(n).parse().unwrap()).to_vec();
    (graph, relationships, seeds)
}

/// The export read by `tools/trust_check.py` (format in its docstring).
fn export(graph: &Graph, relationships: &[RelationshipInput], seeds: &[Did]) -> String {
    let bit = |b: bool| u8::from(b);
    let mut out = format!("now_ms {}\nrestart 0.15\n", now().timestamp_millis());
    for seed in seeds {
        writeln!(out, "seed {seed}").unwrap();
    }
    for r in relationships {
        let conviction = graph.conviction(&r.uri, now()).unwrap().score;
        writeln!(
            out,
            "rel {} {} {} {} {} {} {} {} {} {}",
            r.uri.authority(),
            r.participants[0],
            r.participants[1],
            bit(r.signed[0]),
            bit(r.signed[1]),
            bit(r.discoverable),
            bit(r.relationship_type == DISTRUST_TYPE),
            r.strength.get(),
            conviction,
            r.last_interaction.timestamp_millis(),
        )
        .unwrap();
    }
    out
}

#[test]
fn propagation_matches_networkx_to_1e_6() {
    if !networkx_available() {
        println!("skipped: python3 cannot import networkx (pip install networkx scipy)");
        return;
    }
    let (graph, relationships, seeds) = mixed_graph();
    let config = TrustConfig {
        tolerance: 1e-15,
        max_iterations: 10_000,
        ..TrustConfig::default()
    };
    let table = graph.compute_trust_with(&seeds, now(), config).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), export(&graph, &relationships, &seeds)).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/trust_check.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut checked = 0;
    let (mut worst_mass, mut worst_penalty) = (0.0f64, 0.0f64);
    for line in stdout.lines() {
        let [did, mass, penalty, reputation] = line.split(' ').collect::<Vec<_>>()[..] else {
            panic!("unexpected line {line:?}");
        };
        let why = table.explain(&did.parse().unwrap()).unwrap();
        let (mass, penalty): (f64, f64) = (mass.parse().unwrap(), penalty.parse().unwrap());
        worst_mass = worst_mass.max((why.propagated_mass - mass).abs());
        worst_penalty = worst_penalty.max((why.distrust_penalty - penalty).abs());
        assert_eq!(why.metrics.reputation.to_string(), reputation, "{did}");
        checked += 1;
    }
    println!("{checked} DIDs: largest difference {worst_mass:.1e} in mass, {worst_penalty:.1e} in penalty");
    assert!(worst_mass < 1e-6 && worst_penalty < 1e-6);
    // networkx lists the DIDs of the propagation; every other has no mass.
    assert_eq!(checked, table.explain(&seeds[0]).unwrap().participants);
    assert!(checked > 60);
    assert!(table.iter().any(|(did, _)| table
        .explain(&did.parse().unwrap())
        .unwrap()
        .distrust_penalty
        > 0.0));
    assert!(table.iter().all(|(did, _)| stdout.contains(did)
        || table
            .explain(&did.parse().unwrap())
            .unwrap()
            .propagated_mass
            == 0.0));
}
