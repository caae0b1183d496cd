//! Model-based property tests: random relationships, attestations and
//! updates against a brute-force reference model, and incremental updates
//! against a graph built from scratch.

#![allow(
    clippy::unwrap_in_result,
    reason = "test checks return proptest results; a panic is a failure too"
)]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::collection::vec;
use proptest::prelude::*;
use rhiz_protocol::{AtUri, AttestationType, Percent, Trend};

use crate::paths::cmp_strength;
use crate::synthetic::{attestation, relationship_of_type};
use crate::{Graph, GraphError, NeighborQuery, PathAlgorithm, PathQuery};

const DIDS: usize = 7;
const TYPES: [&str; 3] = ["professional", "family", "social"];

fn did(i: usize) -> String {
    format!("did:plc:m{i}")
}

fn rel_uri(i: usize) -> AtUri {
    format!("at://{}/net.rhiz.relationship.record/r{i}", did(i % 3))
        .parse()
        .unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single().unwrap()
}

#[derive(Debug, Clone, PartialEq)]
struct Rel {
    a: usize,
    b: usize,
    strength: u8,
    kind: usize,
    discoverable: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Att {
    attester: usize,
    target: usize,
    kind: AttestationType,
    confidence: u8,
    age_days: i64,
}

#[derive(Debug, Clone)]
enum Op {
    UpsertRel(usize, Rel),
    RemoveRel(usize),
    UpsertAtt(usize, Att),
    RemoveAtt(usize),
    SetReputation(usize, u8),
}

#[derive(Debug, Default, Clone)]
struct Model {
    rels: BTreeMap<usize, Rel>,
    atts: BTreeMap<usize, Att>,
    reputation: BTreeMap<usize, u8>,
}

fn strength() -> impl Strategy<Value = u8> {
    prop_oneof![Just(0u8), Just(50), Just(100), 30u8..=100, 0u8..=100]
}

fn kind() -> impl Strategy<Value = AttestationType> {
    prop_oneof![
        Just(AttestationType::Verify),
        Just(AttestationType::Dispute),
        Just(AttestationType::Strengthen),
        Just(AttestationType::Weaken),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let rel = (
        0..DIDS,
        0..DIDS,
        strength(),
        0..TYPES.len(),
        prop::bool::weighted(0.85),
    )
        .prop_map(|(a, b, strength, kind, discoverable)| Rel {
            a,
            b,
            strength,
            kind,
            discoverable,
        });
    let att = (0..DIDS, 0..12usize, kind(), 0u8..=100, 0i64..400).prop_map(
        |(attester, target, kind, confidence, age_days)| Att {
            attester,
            target,
            kind,
            confidence,
            age_days,
        },
    );
    prop_oneof![
        6 => (0..12usize, rel).prop_map(|(i, r)| Op::UpsertRel(i, r)),
        1 => (0..12usize).prop_map(Op::RemoveRel),
        3 => (0..10usize, att).prop_map(|(i, a)| Op::UpsertAtt(i, a)),
        1 => (0..10usize).prop_map(Op::RemoveAtt),
        1 => (0..DIDS, 0u8..=100).prop_map(|(d, r)| Op::SetReputation(d, r)),
    ]
}

fn upsert_rel(g: &mut Graph, i: usize, r: &Rel) -> Result<(), GraphError> {
    let mut input = relationship_of_type(
        &did(r.a),
        &did(r.b),
        r.strength,
        &format!("r{i}"),
        TYPES[r.kind],
    );
    input.uri = rel_uri(i);
    input.discoverable = r.discoverable;
    g.upsert_relationship(input)
}

fn upsert_att(g: &mut Graph, i: usize, a: &Att) {
    let input = attestation(
        &did(a.attester),
        &rel_uri(a.target),
        a.kind,
        a.confidence,
        now() - Duration::days(a.age_days),
        &format!("a{i}"),
    );
    g.upsert_attestation(input).unwrap();
}

fn att_uri(model_att: (usize, &Att)) -> AtUri {
    format!(
        "at://{}/net.rhiz.relationship.attestation/a{}",
        did(model_att.1.attester),
        model_att.0
    )
    .parse()
    .unwrap()
}

/// Applies `ops` to `g` and `model`.
fn apply(g: &mut Graph, model: &mut Model, ops: &[Op]) {
    for op in ops {
        match op {
            Op::UpsertRel(i, r) => {
                let result = upsert_rel(g, *i, r);
                if r.a == r.b {
                    assert!(matches!(result, Err(GraphError::SelfRelationship { .. })));
                } else {
                    result.unwrap();
                    model.rels.insert(*i, r.clone());
                }
            }
            Op::RemoveRel(i) => {
                assert_eq!(
                    g.remove_relationship(&rel_uri(*i)),
                    model.rels.remove(i).is_some()
                );
            }
            Op::UpsertAtt(i, a) => {
                // The attestation's URI names its attester: a new attester is a new record.
                if let Some(old) = model.atts.get(i) {
                    if old.attester != a.attester {
                        assert!(g.remove_attestation(&att_uri((*i, old))));
                    }
                }
                upsert_att(g, *i, a);
                model.atts.insert(*i, a.clone());
            }
            Op::RemoveAtt(i) => {
                let removed = model.atts.remove(i);
                let present = removed
                    .as_ref()
                    .is_some_and(|a| g.remove_attestation(&att_uri((*i, a))));
                assert_eq!(present, removed.is_some());
            }
            Op::SetReputation(d, r) => {
                g.set_reputation(&did(*d).parse().unwrap(), Percent::new(*r).unwrap());
                model.reputation.insert(*d, *r);
            }
        }
    }
}

/// A graph built from the model's final state, in reverse order.
fn rebuild(model: &Model) -> Graph {
    let mut g = Graph::new();
    for (d, r) in model.reputation.iter().rev() {
        g.set_reputation(&did(*d).parse().unwrap(), Percent::new(*r).unwrap());
    }
    for (i, a) in model.atts.iter().rev() {
        upsert_att(&mut g, *i, a);
    }
    for (i, r) in model.rels.iter().rev() {
        upsert_rel(&mut g, *i, r).unwrap();
    }
    g
}

/// The brute-force best `(product, hops)` from `s` to `t`.
fn brute_force_best(
    model: &Model,
    s: usize,
    t: usize,
    q: &PathQuery,
    allowed: &dyn Fn(&Rel) -> bool,
) -> Option<(u128, u8)> {
    #[allow(clippy::too_many_arguments, reason = "a recursive search's state")]
    fn dfs(
        model: &Model,
        at: usize,
        t: usize,
        q: &PathQuery,
        allowed: &dyn Fn(&Rel) -> bool,
        visited: &mut Vec<usize>,
        product: u128,
        best: &mut Option<(u128, u8)>,
    ) {
        let hops = u8::try_from(visited.len() - 1).unwrap();
        if at == t {
            let better = match (*best, q.algorithm) {
                (None, _) => true,
                (Some((bp, bh)), PathAlgorithm::Strongest) => {
                    cmp_strength(product, hops, bp, bh).is_gt()
                }
                (Some((bp, bh)), PathAlgorithm::Shortest) => {
                    hops < bh || (hops == bh && cmp_strength(product, hops, bp, bh).is_gt())
                }
            };
            if better {
                *best = Some((product, hops));
            }
            return;
        }
        if hops == q.max_hops {
            return;
        }
        for r in model.rels.values().filter(|r| allowed(r)) {
            let next = if r.a == at {
                r.b
            } else if r.b == at {
                r.a
            } else {
                continue;
            };
            if visited.contains(&next) {
                continue;
            }
            visited.push(next);
            dfs(
                model,
                next,
                t,
                q,
                allowed,
                visited,
                product * u128::from(r.strength),
                best,
            );
            visited.pop();
        }
    }
    let excluded = |d: usize| q.exclude_dids.iter().any(|x| x.as_str() == did(d));
    if excluded(s) || excluded(t) {
        return None;
    }
    let usable = |r: &Rel| allowed(r) && !excluded(r.a) && !excluded(r.b);
    let mut best = None;
    dfs(model, s, t, q, &usable, &mut vec![s], 1, &mut best);
    best
}

fn query() -> impl Strategy<Value = PathQuery> {
    (
        1u8..=5,
        prop_oneof![Just(0u8), Just(40), Just(50), Just(70)],
        prop::option::weighted(0.2, prop::sample::subsequence(TYPES.to_vec(), 1..=2)),
        prop::option::weighted(0.3, 0..DIDS),
        1usize..=5,
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(max_hops, min_strength, types, exclude, limit, shortest)| PathQuery {
                max_hops,
                min_strength,
                relationship_types: types.map(|t| t.into_iter().map(str::to_owned).collect()),
                exclude_dids: exclude
                    .into_iter()
                    .map(|d| did(d).parse().unwrap())
                    .collect(),
                limit,
                algorithm: if shortest {
                    PathAlgorithm::Shortest
                } else {
                    PathAlgorithm::Strongest
                },
            },
        )
}

/// Checks every path `g` returns against the model, and the first one
/// against the brute-force best.
fn check_paths(g: &Graph, model: &Model, q: &PathQuery) -> Result<(), TestCaseError> {
    let allowed = |r: &Rel| {
        r.discoverable
            && r.strength >= q.min_strength
            && q.relationship_types
                .as_ref()
                .is_none_or(|t| t.is_empty() || t.iter().any(|n| n == TYPES[r.kind]))
    };
    for s in 0..DIDS {
        for t in (0..DIDS).filter(|&t| t != s) {
            let found = match g.find_paths(&did(s).parse().unwrap(), &did(t).parse().unwrap(), q) {
                Ok(found) => found,
                Err(GraphError::UnknownDid(_)) => Vec::new(),
                Err(e) => return Err(TestCaseError::fail(e.to_string())),
            };
            let expected = brute_force_best(model, s, t, q, &allowed);
            prop_assert_eq!(
                found.is_empty(),
                expected.is_none(),
                "{} -> {}: {:?}",
                s,
                t,
                found
            );
            prop_assert!(found.len() <= q.limit);
            let mut previous: Option<(u128, u8)> = None;
            for (n, path) in found.iter().enumerate() {
                let hops = u8::try_from(path.hops.len()).unwrap();
                prop_assert!(hops >= 1 && hops <= q.max_hops);
                prop_assert_eq!(path.hops[0].from.as_str(), did(s));
                prop_assert_eq!(path.hops[path.hops.len() - 1].to.as_str(), did(t));
                let mut visited = vec![path.hops[0].from.clone()];
                let mut product = 1u128;
                for (i, hop) in path.hops.iter().enumerate() {
                    if i > 0 {
                        prop_assert_eq!(&hop.from, &path.hops[i - 1].to);
                    }
                    prop_assert!(!visited.contains(&hop.to), "repeated DID in {:?}", path);
                    prop_assert!(!q.exclude_dids.contains(&hop.to));
                    visited.push(hop.to.clone());
                    let index: usize = hop.relationship.rkey_str().unwrap()[1..].parse().unwrap();
                    let r = &model.rels[&index];
                    let ends = [did(r.a), did(r.b)];
                    prop_assert!(
                        ends.contains(&hop.from.to_string()) && ends.contains(&hop.to.to_string())
                    );
                    prop_assert!(allowed(r));
                    prop_assert_eq!(hop.strength, r.strength);
                    product *= u128::from(hop.strength);
                }
                let exact = (100.0
                    * path
                        .hops
                        .iter()
                        .map(|h| f64::from(h.strength) / 100.0)
                        .product::<f64>())
                .round();
                prop_assert!((f64::from(path.total_strength) - exact).abs() <= 1.0);
                prop_assert_eq!(
                    path.total_strength,
                    crate::paths::total_strength(product, hops)
                );
                if let Some((pp, ph)) = previous {
                    let ordered = match q.algorithm {
                        PathAlgorithm::Strongest => cmp_strength(pp, ph, product, hops).is_ge(),
                        PathAlgorithm::Shortest => {
                            ph < hops || (ph == hops && cmp_strength(pp, ph, product, hops).is_ge())
                        }
                    };
                    prop_assert!(ordered, "unsorted: {:?}", found);
                }
                if n == 0 {
                    let (bp, bh) = expected.unwrap();
                    prop_assert!(
                        cmp_strength(product, hops, bp, bh).is_eq(),
                        "best {:?} vs brute force {}/{}",
                        path,
                        bp,
                        bh
                    );
                    if q.algorithm == PathAlgorithm::Shortest {
                        prop_assert_eq!(hops, bh);
                    }
                }
                previous = Some((product, hops));
            }
            for (i, a) in found.iter().enumerate() {
                for b in &found[i + 1..] {
                    prop_assert!(a.hops != b.hops, "duplicate path");
                }
            }
        }
    }
    Ok(())
}

/// Every neighbor of every DID, paged with `page` items per page.
fn all_neighbors(g: &Graph, page: usize, min_strength: u8) -> Vec<Vec<String>> {
    (0..DIDS)
        .map(|d| {
            let mut out = Vec::new();
            let mut query = NeighborQuery {
                limit: page,
                min_strength,
                ..NeighborQuery::default()
            };
            loop {
                let result = g.neighbors(&did(d).parse().unwrap(), &query).unwrap();
                out.extend(
                    result
                        .neighbors
                        .iter()
                        .map(|n| format!("{} {} {}", n.relationship, n.did, n.strength)),
                );
                match result.cursor {
                    Some(c) => query.cursor = Some(c),
                    None => break,
                }
            }
            out
        })
        .collect()
}

fn expected_neighbors(model: &Model, min_strength: u8) -> Vec<Vec<String>> {
    (0..DIDS)
        .map(|d| {
            let mut out: Vec<String> = model
                .rels
                .iter()
                .filter(|(_, r)| {
                    r.discoverable && r.strength >= min_strength && (r.a == d || r.b == d)
                })
                .map(|(i, r)| {
                    format!(
                        "{} {} {}",
                        rel_uri(*i),
                        did(if r.a == d { r.b } else { r.a }),
                        r.strength
                    )
                })
                .collect();
            out.sort();
            out
        })
        .collect()
}

fn check_conviction(g: &Graph, model: &Model) -> Result<(), TestCaseError> {
    for target in 0..12 {
        let got = g.conviction(&rel_uri(target), now());
        let atts: Vec<&Att> = model.atts.values().filter(|a| a.target == target).collect();
        let Some(rel) = model.rels.get(&target) else {
            prop_assert_eq!(got.is_some(), !atts.is_empty());
            if let Some(c) = got {
                prop_assert_eq!((c.score, c.attestation_count), (50, 0));
            }
            continue;
        };
        let c = got.unwrap();
        let counting: Vec<&Att> = atts
            .into_iter()
            .filter(|a| a.attester != rel.a && a.attester != rel.b)
            .collect();
        let weight = |a: &Att| {
            let base = crate::conviction::base_weight(a.kind);
            let rep = f64::from(*model.reputation.get(&a.attester).unwrap_or(&50));
            base * (0.5 + 1.5 * rep / 100.0)
                * 0.5f64.powf(a.age_days as f64 / 180.0)
                * f64::from(a.confidence)
                / 100.0
        };
        let raw = |list: &[&Att]| {
            let (sum, abs): (f64, f64) = list
                .iter()
                .map(|a| weight(a))
                .fold((0.0, 0.0), |(s, b), w| (s + w, b + w.abs()));
            if abs == 0.0 {
                50.0
            } else {
                50.0 + 50.0 * sum / abs
            }
        };
        prop_assert!(
            (f64::from(c.score) - raw(&counting)).abs() <= 0.5 + 1e-9,
            "{} vs {}",
            c.score,
            raw(&counting)
        );
        prop_assert_eq!(c.attestation_count as usize, counting.len());
        let count = |k| counting.iter().filter(|a| a.kind == k).count() as u32;
        prop_assert_eq!(
            [
                c.verify_count,
                c.dispute_count,
                c.strengthen_count,
                c.weaken_count
            ],
            [
                count(AttestationType::Verify),
                count(AttestationType::Dispute),
                count(AttestationType::Strengthen),
                count(AttestationType::Weaken)
            ]
        );
        let top = counting
            .iter()
            .map(|a| *model.reputation.get(&a.attester).unwrap_or(&50))
            .max()
            .unwrap_or(0);
        prop_assert_eq!(c.top_attester_reputation, top);
        let (recent, older): (Vec<&Att>, Vec<&Att>) =
            counting.iter().partition(|a| a.age_days <= 30);
        let near_half = |x: f64| ((x - x.floor()) - 0.5).abs() < 1e-6;
        let (r, o) = (
            raw(&recent),
            if older.is_empty() { 50.0 } else { raw(&older) },
        );
        if !near_half(r) && !near_half(o) {
            let change = r.round() - o.round();
            let trend = if recent.is_empty() || change.abs() < 5.0 {
                Trend::Stable
            } else if change > 0.0 {
                Trend::Increasing
            } else {
                Trend::Decreasing
            };
            prop_assert_eq!(c.trend, trend);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn paths_neighbors_and_conviction_match_the_model(
        ops in vec(op(), 0..40),
        q in query(),
        page in 1usize..4,
        min_strength in prop_oneof![Just(0u8), Just(50)],
    ) {
        let mut g = Graph::new();
        let mut model = Model::default();
        apply(&mut g, &mut model, &ops);
        check_paths(&g, &model, &q)?;
        prop_assert_eq!(all_neighbors(&g, page, min_strength), expected_neighbors(&model, min_strength));
        check_conviction(&g, &model)?;
        prop_assert_eq!(g.relationship_count(), model.rels.len());
        prop_assert_eq!(g.attestation_count(), model.atts.len());
    }

    #[test]
    fn incremental_updates_answer_like_a_graph_built_from_scratch(ops in vec(op(), 0..40), q in query()) {
        let mut g = Graph::new();
        let mut model = Model::default();
        apply(&mut g, &mut model, &ops);
        let fresh = rebuild(&model);
        let best = |g: &Graph, s: usize, t: usize| {
            g.find_paths(&did(s).parse().unwrap(), &did(t).parse().unwrap(), &q)
                .ok()
                .and_then(|p| p.first().map(|p| (p.total_strength, p.hops.len())))
        };
        for s in 0..DIDS {
            for t in (0..DIDS).filter(|&t| t != s) {
                prop_assert_eq!(best(&g, s, t), best(&fresh, s, t));
            }
        }
        prop_assert_eq!(all_neighbors(&g, 2, 0), all_neighbors(&fresh, 2, 0));
        for target in 0..12 {
            prop_assert_eq!(g.conviction(&rel_uri(target), now()), fresh.conviction(&rel_uri(target), now()));
        }
        let (a, b) = (g.network_stats(), fresh.network_stats());
        prop_assert_eq!(
            (a.relationship_count, a.attestation_count, a.counting_attestation_count, &a.strength_histogram, a.largest_component),
            (b.relationship_count, b.attestation_count, b.counting_attestation_count, &b.strength_histogram, b.largest_component)
        );
        for (i, r) in &model.rels {
            let stored = g.relationship(&rel_uri(*i)).unwrap();
            prop_assert_eq!(stored.strength.get(), r.strength);
            prop_assert_eq!(stored.discoverable, r.discoverable);
        }
    }

    #[test]
    fn neighbor_pages_stay_stable_while_the_graph_changes(
        ops in vec(op(), 0..30),
        changes in vec(op(), 0..10),
        page in 1usize..4,
    ) {
        let mut g = Graph::new();
        let mut model = Model::default();
        apply(&mut g, &mut model, &ops);
        let before = model.clone();
        let d = 0;
        let mut query = NeighborQuery { limit: page, ..NeighborQuery::default() };
        let first = g.neighbors(&did(d).parse().unwrap(), &query).unwrap();
        let mut seen: Vec<String> = first.neighbors.iter().map(|n| n.relationship.to_string()).collect();
        query.cursor = first.cursor;
        apply(&mut g, &mut model, &changes);
        while let Some(cursor) = query.cursor.clone() {
            let next = g.neighbors(&did(d).parse().unwrap(), &query).unwrap();
            prop_assert!(next.neighbors.iter().all(|n| n.relationship.as_str() > cursor.as_str()));
            seen.extend(next.neighbors.iter().map(|n| n.relationship.to_string()));
            query.cursor = next.cursor;
        }
        let mut unique = seen.clone();
        unique.dedup();
        prop_assert_eq!(&unique, &seen, "duplicates");
        // Every relationship of d present and unchanged throughout is seen.
        for (i, r) in &before.rels {
            if (r.a == d || r.b == d) && r.discoverable && model.rels.get(i) == Some(r) {
                prop_assert!(seen.contains(&rel_uri(*i).to_string()), "skipped {}", rel_uri(*i));
            }
        }
    }
}
