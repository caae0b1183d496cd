//! Trust metrics on graphs small enough to compute by hand, determinism,
//! privacy, and the table's bookkeeping. The Sybil test and the check
//! against networkx are in their own files.

mod crosscheck;
mod sybil;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rhiz_protocol::{AttestationType, Did, RelationshipRecord};

use super::scores::trust_score;
use crate::synthetic::{attestation, preferential_attachment, relationship, relationship_of_type};
use crate::{
    Graph, GraphError, RelationshipInput, SeedSource, TrustConfig, TrustTable, DISTRUST_TYPE,
};

/// The last interaction of every synthetic relationship: recency 1.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap()
}

fn did(name: &str) -> Did {
    format!("did:plc:{name}").parse().unwrap()
}

/// A relationship authored by `a`, signed by both, strength `s`.
fn rel(a: &str, b: &str, s: u8, rkey: &str) -> RelationshipInput {
    relationship(&format!("did:plc:{a}"), &format!("did:plc:{b}"), s, rkey)
}

/// A relationship authored by `a` that only `a` endorses.
fn one_sided(a: &str, b: &str, s: u8, rkey: &str) -> RelationshipInput {
    RelationshipInput {
        signed: [false, false],
        ..rel(a, b, s, rkey)
    }
}

fn distrust(a: &str, b: &str, s: u8, rkey: &str) -> RelationshipInput {
    RelationshipInput {
        signed: [true, false],
        ..relationship_of_type(
            &format!("did:plc:{a}"),
            &format!("did:plc:{b}"),
            s,
            rkey,
            DISTRUST_TYPE,
        )
    }
}

fn graph(relationships: Vec<RelationshipInput>) -> Graph {
    let mut g = Graph::new();
    for r in relationships {
        g.upsert_relationship(r).unwrap();
    }
    g
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() < 1e-9
}

#[test]
fn a_chain_from_one_seed_matches_the_closed_form() {
    // A – B – C, all mutual, equal weights, seed A, β = 1 − α = 0.85:
    // r_B = 0.15β/(1 − β²) = 17/37, r_C = β·r_B/2 = 289/1480,
    // r_A = 0.15 + β·r_B/2 = 511/1480.
    let g = graph(vec![rel("a", "b", 100, "r1"), rel("b", "c", 100, "r2")]);
    let t = g.compute_trust(&[did("a")], now());
    let mass = |n: &str| t.explain(&did(n)).unwrap().propagated_mass;
    assert!(close(mass("a"), 511.0 / 1480.0), "{}", mass("a"));
    assert!(close(mass("b"), 17.0 / 37.0), "{}", mass("b"));
    assert!(close(mass("c"), 289.0 / 1480.0), "{}", mass("c"));
    // reputation = round(50 + 50/3·log10(3·r)): 50.25, 52.32, 46.13.
    let rep = |n: &str| t.get(&did(n)).unwrap().reputation;
    assert_eq!((rep("a"), rep("b"), rep("c")), (50, 52, 46));
    // Mutual, fresh, stable, unattested (conviction 50, not verified):
    // trustScore = round(rep·(0.4 + 0.2 + 0.2 + 0)) = 40, 41.6, 36.8.
    let b = t.get(&did("b")).unwrap();
    assert_eq!(
        (b.reciprocity, b.consistency, b.relationship_count),
        (100, 100, 2)
    );
    assert_eq!(b.verified_relationship_count, 0);
    let score = |n: &str| t.get(&did(n)).unwrap().trust_score;
    assert_eq!((score("a"), score("b"), score("c")), (40, 42, 37));
    let why = t.explain(&did("b")).unwrap();
    assert_eq!((why.trusted_by, why.trusts, why.distrusted_by), (2, 2, 0));
    assert_eq!(
        (why.participants, why.seed_source),
        (3, SeedSource::Configured)
    );
    assert!(why.converged && why.residual < 1e-9);
}

#[test]
fn distrust_sends_its_share_back_to_the_seeds_and_is_subtracted_once() {
    // A – B – C mutual, and A distrusts C; equal weights 0.5, seed A.
    // O(A) = 1: half of A's walk goes to B, half back to the seeds.
    // With β = 0.85 and k = β/(2 − β²): r_B = k·r_A, r_C = β/2·r_B,
    // r_A = 1/(1 + k + βk/2). Penalty p(C) = β·r_A·0.5/1 > r_C.
    let g = graph(vec![
        rel("a", "b", 100, "r1"),
        rel("b", "c", 100, "r2"),
        distrust("a", "c", 100, "r3"),
    ]);
    let t = g.compute_trust(&[did("a")], now());
    let beta = 0.85;
    let k = beta / (2.0 - beta * beta);
    let r_a = 1.0 / (1.0 + k + beta * k / 2.0);
    let (r_b, r_c) = (k * r_a, beta / 2.0 * k * r_a);
    let why = |n: &str| t.explain(&did(n)).unwrap();
    assert!(close(why("a").propagated_mass, r_a));
    assert!(close(why("b").propagated_mass, r_b));
    assert!(close(why("c").propagated_mass, r_c));
    assert!(close(why("c").distrust_penalty, beta * r_a * 0.5));
    assert_eq!(why("c").mass, 0.0);
    assert_eq!(why("c").distrusted_by, 1);
    assert_eq!(t.get(&did("c")).unwrap().reputation, 0);
    assert_eq!(t.get(&did("c")).unwrap().trust_score, 0);
    // The distrust record is an opinion, not a relationship.
    assert_eq!(t.get(&did("a")).unwrap().relationship_count, 1);
    assert_eq!(t.get(&did("c")).unwrap().relationship_count, 1);
    // Without the distrust, C keeps a positive reputation.
    let g = graph(vec![rel("a", "b", 100, "r1"), rel("b", "c", 100, "r2")]);
    assert!(
        g.compute_trust(&[did("a")], now())
            .get(&did("c"))
            .unwrap()
            .reputation
            > 0
    );
}

#[test]
fn trust_flows_only_from_the_participants_that_endorse() {
    // A authors A – B and B never signs: B receives, gives nothing back;
    // B is dangling, so its walk returns to the seed A.
    // r_A = 0.15 + 0.85·r_B, r_B = 0.85·r_A → r_A = 1/1.85.
    let g = graph(vec![one_sided("a", "b", 100, "r1")]);
    let t = g.compute_trust(&[did("a")], now());
    let why = |n: &str| t.explain(&did(n)).unwrap();
    assert!(close(why("a").propagated_mass, 1.0 / 1.85));
    assert!(close(why("b").propagated_mass, 0.85 / 1.85));
    assert_eq!((why("b").trusted_by, why("b").trusts), (1, 0));
    // Seeded at B, nothing reaches A.
    let t = g.compute_trust(&[did("b")], now());
    assert_eq!(t.explain(&did("a")).unwrap().propagated_mass, 0.0);
    assert_eq!(t.get(&did("a")).unwrap().reputation, 0);
}

#[test]
fn reciprocity_weighs_mutual_pairs_by_strength() {
    // X – P 80 signed by both: mutual.
    // X – Q 60 by X alone: not mutual.
    // X – R 40 by X alone and R – X 20 by R alone: reciprocal records,
    // both mutual.
    let g = graph(vec![
        rel("x", "p", 80, "r1"),
        one_sided("x", "q", 60, "r2"),
        one_sided("x", "r", 40, "r3"),
        one_sided("r", "x", 20, "r4"),
    ]);
    let t = g.compute_trust(&[did("x")], now());
    let reciprocity = |n: &str| t.get(&did(n)).unwrap().reciprocity;
    // X: (80 + 40 + 20) / 200 = 70 %. Q: 0 / 60. R: 60 / 60. P: 80 / 80.
    assert_eq!(reciprocity("x"), 70);
    assert_eq!(reciprocity("q"), 0);
    assert_eq!(reciprocity("r"), 100);
    assert_eq!(reciprocity("p"), 100);
    let why = t.explain(&did("x")).unwrap();
    assert_eq!((why.mutual_strength, why.total_strength), (140, 200));
    // A relationship of strength 0 only: no weight, reciprocity 0.
    let t = graph(vec![rel("x", "y", 0, "r1")]).compute_trust(&[], now());
    assert_eq!(t.get(&did("x")).unwrap().reciprocity, 0);
}

#[test]
fn consistency_averages_recency_and_stability() {
    let mut stale = rel("y", "b", 50, "r2");
    stale.last_interaction = now() - Duration::days(180);
    stale.strength_deviation = 25;
    let mut older = rel("y", "c", 50, "r3");
    older.last_interaction = now() - Duration::days(360);
    older.strength_deviation = 50;
    let mut future = rel("z", "d", 50, "r4");
    future.last_interaction = now() + Duration::days(30);
    let g = graph(vec![rel("y", "a", 50, "r1"), stale, older, future]);
    let t = g.compute_trust(&[did("y")], now());
    // Terms ½·recency + ½·(1 − σ/50): 1, ½·½ + ½·½ = 0.5, ½·¼ + 0 = 0.125.
    // Mean 1.625/3 = 54.2 %.
    assert_eq!(t.get(&did("y")).unwrap().consistency, 54);
    assert_eq!(t.get(&did("b")).unwrap().consistency, 50);
    assert_eq!(t.get(&did("c")).unwrap().consistency, 13); // 12.5 rounds up
                                                           // An interaction dated after now counts as fresh.
    assert_eq!(t.get(&did("z")).unwrap().consistency, 100);
    // Recent activity: interactions in the last 30 days (or later).
    assert_eq!(t.get(&did("y")).unwrap().recent_relationship_count, 1);
    assert_eq!(t.get(&did("z")).unwrap().recent_relationship_count, 1);
    assert_eq!(t.get(&did("c")).unwrap().recent_relationship_count, 0);
    let why = t.explain(&did("y")).unwrap();
    assert!(close(why.mean_recency, 1.75 / 3.0));
    assert!(close(why.mean_stability, 1.5 / 3.0));
}

#[test]
fn recency_and_conviction_weigh_the_edges() {
    // The seed S splits its walk between A (fresh) and B (a year old,
    // weight ¼): A receives four times what B does.
    let mut old = rel("s", "b", 100, "r2");
    old.last_interaction = now() - Duration::days(360);
    let g = graph(vec![rel("s", "a", 100, "r1"), old]);
    let t = g.compute_trust(&[did("s")], now());
    let mass = |t: &TrustTable, n: &str| t.explain(&did(n)).unwrap().propagated_mass;
    assert!(close(mass(&t, "a"), 4.0 * mass(&t, "b")));
    // A verify by a third party lifts S – B's conviction to 100 (factor 1
    // against 0.5): now A receives twice what B does.
    let mut g = g;
    let uri = "at://did:plc:s/net.rhiz.relationship.record/r2"
        .parse()
        .unwrap();
    g.upsert_attestation(attestation(
        "did:plc:w",
        &uri,
        AttestationType::Verify,
        100,
        now(),
        "a1",
    ))
    .unwrap();
    let t = g.compute_trust(&[did("s")], now());
    assert!(close(mass(&t, "a"), 2.0 * mass(&t, "b")));
    // And S – B is now verified for both its participants.
    let s = t.get(&did("s")).unwrap();
    assert_eq!(
        (s.relationship_count, s.verified_relationship_count),
        (2, 1)
    );
    // The attester is in the table with no relationship.
    let w = t.get(&did("w")).unwrap();
    assert_eq!(
        (w.relationship_count, w.reputation, w.trust_score),
        (0, 0, 0)
    );
}

#[test]
fn trust_score_follows_from_the_published_figures() {
    let g = graph(preferential_attachment(300, 3, 5));
    let t = g.compute_trust(&[crate::synthetic::did(0).parse().unwrap()], now());
    for (did, m) in t.iter() {
        let expected = trust_score(
            m.reputation,
            m.reciprocity,
            m.consistency,
            m.verified_relationship_count,
            m.relationship_count,
        );
        assert_eq!(m.trust_score, expected, "{did}");
        let why = t.explain(&did.parse().unwrap()).unwrap();
        let reputation = if why.mass > 0.0 {
            (50.0 + 50.0 / 3.0 * (why.participants as f64 * why.mass).log10())
                .round()
                .clamp(0.0, 100.0) as u8
        } else {
            0
        };
        assert_eq!(m.reputation, reputation, "{did}");
    }
}

#[test]
fn without_a_known_seed_the_table_falls_back_to_the_highest_weighted_degree() {
    let g = graph(vec![rel("a", "b", 100, "r1"), rel("b", "c", 100, "r2")]);
    let config = TrustConfig {
        fallback_seed_count: 1,
        ..TrustConfig::default()
    };
    let t = g
        .compute_trust_with(&[did("nobody")], now(), config)
        .unwrap();
    assert_eq!(t.seed_source(), SeedSource::Fallback);
    assert_eq!(t.seed_source().as_str(), "fallback");
    assert_eq!(t.seeds(), [did("b")]);
    assert_eq!(t.ignored_seeds(), [did("nobody")]);
    // The default takes up to 10: all three here, in DID order.
    let t = g.compute_trust(&[], now());
    assert_eq!(t.seeds(), [did("a"), did("b"), did("c")]);
    assert_eq!(
        t.explain(&did("a")).unwrap().seed_source,
        SeedSource::Fallback
    );
    // A known seed wins; unknown ones are listed.
    let t = g.compute_trust(&[did("nobody"), did("c"), did("c")], now());
    assert_eq!(
        (t.seed_source(), t.seeds()),
        (SeedSource::Configured, &[did("c")][..])
    );
    assert_eq!(t.ignored_seeds(), [did("nobody")]);
}

#[test]
fn an_empty_graph_gives_an_empty_table() {
    let t = Graph::new().compute_trust(&[did("a")], now());
    assert!(t.is_empty());
    assert_eq!(t.get(&did("a")), None);
    assert_eq!(t.iterations(), (0, true));
}

#[test]
fn hidden_relationships_change_no_one_elses_metrics() {
    let visible = vec![
        rel("a", "b", 90, "r1"),
        rel("b", "c", 70, "r2"),
        rel("c", "d", 60, "r3"),
        distrust("a", "d", 50, "r4"),
    ];
    let mut hidden = rel("a", "e", 100, "r5");
    hidden.discoverable = false;
    let mut hidden_distrust = distrust("e", "b", 100, "r6");
    hidden_distrust.discoverable = false;
    let mut with_hidden = visible.clone();
    with_hidden.extend([hidden, hidden_distrust]);
    let (g1, g2) = (graph(visible), graph(with_hidden));
    let (t1, t2) = (
        g1.compute_trust(&[did("a")], now()),
        g2.compute_trust(&[did("a")], now()),
    );
    for name in ["b", "c", "d"] {
        assert_eq!(t1.get(&did(name)), t2.get(&did(name)), "{name}");
        let (x, y) = (
            t1.explain(&did(name)).unwrap(),
            t2.explain(&did(name)).unwrap(),
        );
        assert_eq!((x.propagated_mass, x.mass), (y.propagated_mass, y.mass));
    }
    // A's standing is unchanged; its own count includes the hidden one.
    let (a1, a2) = (t1.get(&did("a")).unwrap(), t2.get(&did("a")).unwrap());
    assert_eq!(a1.reputation, a2.reputation);
    assert_eq!((a1.relationship_count, a2.relationship_count), (1, 2));
    // E exists for itself only: a count, no reputation.
    let e = t2.get(&did("e")).unwrap();
    assert_eq!((e.relationship_count, e.reputation), (1, 0));
}

/// Relationships of every kind the metrics distinguish, attestations, and
/// the DIDs to seed.
fn mixed_graph_records() -> (Vec<RelationshipInput>, Vec<crate::AttestationInput>) {
    let mut relationships = preferential_attachment(400, 3, 9);
    for (i, r) in relationships.iter_mut().enumerate() {
        r.last_interaction = now() - Duration::days((i * 37 % 500) as i64);
        r.strength_deviation = (i % 7 * 5) as u8;
        match i % 11 {
            0 => r.signed = [false, false],
            1 => r.signed = [false, true],
            2 => r.discoverable = false,
            3 => r.relationship_type = DISTRUST_TYPE.to_owned(),
            _ => {}
        }
    }
    let attestations = (0..200)
        .map(|i| {
            let kind = [
                AttestationType::Verify,
                AttestationType::Dispute,
                AttestationType::Strengthen,
            ][i % 3];
            attestation(
                &crate::synthetic::did((i * 13 % 400) as u64),
                &relationships[i * 7 % relationships.len()].uri,
                kind,
                (i % 100) as u8,
                now() - Duration::days((i % 90) as i64),
                &format!("att{i}"),
            )
        })
        .collect();
    (relationships, attestations)
}

/// Every explanation but the graph version (which counts updates).
fn rows(t: &TrustTable) -> Vec<String> {
    t.iter()
        .map(|(did, _)| {
            let mut why = t.explain(&did.parse().unwrap()).unwrap();
            why.graph_version = 0;
            format!("{why:?}")
        })
        .collect()
}

#[test]
fn the_same_graph_gives_the_same_table_whatever_the_insertion_order() {
    let (relationships, attestations) = mixed_graph_records();
    let seeds: Vec<Did> = [0, 1, 2, 399]
        .map(|i| crate::synthetic::did(i).parse().unwrap())
        .to_vec();
    let mut forward = Graph::new();
    forward.bulk_load(relationships.clone()).unwrap();
    for a in &attestations {
        forward.upsert_attestation(a.clone()).unwrap();
    }
    // Reversed, attestations first, DIDs interned in another order, and
    // some relationships removed and upserted again (other slots).
    let mut backward = Graph::new();
    for a in attestations.iter().rev() {
        backward.upsert_attestation(a.clone()).unwrap();
    }
    for r in relationships.iter().rev() {
        backward.upsert_relationship(r.clone()).unwrap();
    }
    for r in relationships.iter().step_by(5) {
        assert!(backward.remove_relationship(&r.uri));
    }
    for r in relationships.iter().step_by(5) {
        backward.upsert_relationship(r.clone()).unwrap();
    }
    let mut seeds_shuffled = seeds.clone();
    seeds_shuffled.reverse();
    let (t1, t2) = (
        forward.compute_trust(&seeds, now()),
        backward.compute_trust(&seeds_shuffled, now()),
    );
    assert!(t1.len() > 300);
    assert_eq!(rows(&t1), rows(&t2));
    assert_eq!(rows(&t1), rows(&forward.compute_trust(&seeds, now())));
    // The mixture did exercise every rule.
    let whys: Vec<_> = t1
        .iter()
        .map(|(d, _)| t1.explain(&d.parse().unwrap()).unwrap())
        .collect();
    assert!(whys.iter().any(|w| w.distrust_penalty > 0.0));
    assert!(whys
        .iter()
        .any(|w| w.metrics.reciprocity > 0 && w.metrics.reciprocity < 100));
    assert!(whys
        .iter()
        .any(|w| w.metrics.verified_relationship_count > 0));
    let spread: std::collections::BTreeSet<u8> =
        whys.iter().map(|w| w.metrics.reputation).collect();
    assert!(spread.len() > 20, "{spread:?}");
}

#[test]
fn the_table_records_its_time_and_graph_version() {
    let mut g = graph(vec![rel("a", "b", 100, "r1")]);
    assert_eq!(g.version(), 1);
    let t = g.compute_trust(&[did("a")], now());
    assert_eq!((t.graph_version(), t.computed_at()), (1, now()));
    g.upsert_relationship(rel("b", "c", 100, "r2")).unwrap();
    assert!(g.remove_relationship(&rel("b", "c", 100, "r2").uri));
    assert!(!g.remove_relationship(&rel("b", "c", 100, "r2").uri));
    assert_eq!(g.version() - t.graph_version(), 2);
    let why = t.explain(&did("a")).unwrap();
    assert_eq!((why.graph_version, why.computed_at), (1, now()));
}

#[test]
fn apply_reputations_feeds_conviction() {
    // W verifies A – B, V disputes it. Seeded at W, W's reputation is high
    // and V's 0: after applying, the verify outweighs the dispute.
    let mut g = graph(vec![rel("a", "b", 100, "r1"), rel("w", "a", 100, "r2")]);
    g.upsert_relationship(rel("v", "z", 100, "r3")).unwrap();
    let uri = rel("a", "b", 100, "r1").uri;
    for (who, kind) in [
        ("w", AttestationType::Verify),
        ("v", AttestationType::Dispute),
    ] {
        g.upsert_attestation(attestation(
            &format!("did:plc:{who}"),
            &uri,
            kind,
            100,
            now(),
            "att",
        ))
        .unwrap();
    }
    // Equal default reputations: 50 + 50·(1 − 1.5)/2.5 = 40.
    assert_eq!(g.conviction(&uri, now()).unwrap().score, 40);
    let t = g.compute_trust(&[did("w")], now());
    let (w, v) = (t.get(&did("w")).unwrap(), t.get(&did("v")).unwrap());
    assert!(w.reputation > 50 && v.reputation == 0);
    assert_eq!(g.apply_reputations(&t), t.len());
    let c = g.conviction(&uri, now()).unwrap();
    assert_eq!(c.top_attester_reputation, w.reputation);
    assert!(c.score > 50, "{}", c.score);
}

#[test]
fn an_out_of_range_config_is_an_error() {
    let g = Graph::new();
    for config in [
        TrustConfig {
            restart_probability: 0.0,
            ..TrustConfig::default()
        },
        TrustConfig {
            restart_probability: f64::NAN,
            ..TrustConfig::default()
        },
        TrustConfig {
            tolerance: 0.0,
            ..TrustConfig::default()
        },
        TrustConfig {
            max_iterations: 0,
            ..TrustConfig::default()
        },
        TrustConfig {
            fallback_seed_count: 0,
            ..TrustConfig::default()
        },
    ] {
        assert!(matches!(
            g.compute_trust_with(&[], now(), config),
            Err(GraphError::TrustConfig(_))
        ));
    }
}

#[test]
fn the_table_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<TrustTable>();
}

#[test]
fn from_record_reads_signatures_and_the_strength_history() {
    let record = serde_json::json!({
        "participants": ["did:plc:alice", "did:plc:bob"],
        "type": "professional",
        "strength": 80,
        "context": "",
        "verification": {"consensusScore": 80, "attestationCount": 0, "lastUpdated": "2025-01-01T00:00:00Z"},
        "privacy": {"visibility": "public", "consent": "full"},
        "temporal": {
            "start": "2024-01-01T00:00:00Z",
            "lastInteraction": "2025-01-01T00:00:00Z",
            "history": [
                {"timestamp": "2024-01-01T00:00:00Z", "strength": 40},
                {"timestamp": "2024-06-01T00:00:00Z", "strength": 60}
            ]
        },
        "signatures": [{"did": "did:plc:bob", "signature": "c2ln"}],
        "createdAt": "2025-01-01T00:00:00Z"
    });
    let record = RelationshipRecord::from_json(&record).unwrap();
    let uri = "at://did:plc:alice/net.rhiz.relationship.record/3kabc"
        .parse()
        .unwrap();
    let cid = crate::synthetic::cid(1).parse().unwrap();
    let input = RelationshipInput::from_record(uri, cid, &record);
    assert_eq!(input.signed, [false, true]);
    // 80, 40, 60: mean 60, deviation √(800/3) = 16.3.
    assert_eq!(input.strength_deviation, 16);
    let mut g = Graph::new();
    g.upsert_relationship(input.clone()).unwrap();
    assert_eq!(g.relationship(&input.uri), Some(input));
}

#[test]
fn paths_do_not_travel_along_distrust_unless_asked() {
    let g = graph(vec![
        distrust("a", "b", 100, "r1"),
        rel("a", "c", 90, "r2"),
        rel("c", "b", 90, "r3"),
    ]);
    let query = crate::PathQuery::default();
    let paths = g.find_paths(&did("a"), &did("b"), &query).unwrap();
    assert_eq!(paths.len(), 1);
    assert_eq!(paths[0].total_strength, 81);
    let query = crate::PathQuery {
        relationship_types: Some(vec![DISTRUST_TYPE.to_owned()]),
        ..crate::PathQuery::default()
    };
    let paths = g.find_paths(&did("a"), &did("b"), &query).unwrap();
    assert_eq!(paths.len(), 1);
    assert_eq!(paths[0].total_strength, 100);
}
