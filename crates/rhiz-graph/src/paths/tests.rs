//! Paths on small graphs with answers computed by hand.

use crate::synthetic::{relationship, relationship_of_type};
use crate::{Graph, GraphError, PathAlgorithm, PathQuery};

fn did(name: &str) -> String {
    format!("did:plc:{name}")
}

/// A graph from `(a, b, strength)` triples; relationship `i` has rkey `r{i}`.
fn graph(edges: &[(&str, &str, u8)]) -> Graph {
    let mut g = Graph::new();
    for (i, &(a, b, s)) in edges.iter().enumerate() {
        g.upsert_relationship(relationship(&did(a), &did(b), s, &format!("r{i}")))
            .unwrap();
    }
    g
}

/// `(total_strength, [DIDs visited])` of every path found.
fn paths(g: &Graph, from: &str, to: &str, query: &PathQuery) -> Vec<(u8, Vec<String>)> {
    g.find_paths(
        &did(from).parse().unwrap(),
        &did(to).parse().unwrap(),
        query,
    )
    .unwrap()
    .into_iter()
    .map(|p| {
        let mut visited: Vec<String> = vec![p.hops[0].from.as_str()["did:plc:".len()..].to_owned()];
        visited.extend(
            p.hops
                .iter()
                .map(|h| h.to.as_str()["did:plc:".len()..].to_owned()),
        );
        (p.total_strength, visited)
    })
    .collect()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn two_hops_of_85_and_78_give_66_and_beat_a_direct_60() {
    let g = graph(&[("a", "b", 85), ("b", "c", 78), ("a", "c", 60)]);
    assert_eq!(
        paths(&g, "a", "c", &PathQuery::default()),
        vec![(66, names(&["a", "b", "c"])), (60, names(&["a", "c"]))]
    );
}

#[test]
fn hops_carry_uri_cid_and_strength_in_order() {
    let g = graph(&[("a", "b", 85), ("b", "c", 78)]);
    let p = &g
        .find_paths(
            &did("c").parse().unwrap(),
            &did("a").parse().unwrap(),
            &PathQuery::default(),
        )
        .unwrap()[0];
    assert_eq!(p.hops.len(), 2);
    assert_eq!(p.hops[0].from.as_str(), did("c"));
    assert_eq!(p.hops[0].to.as_str(), did("b"));
    assert_eq!(p.hops[0].strength, 78);
    assert_eq!(
        p.hops[0].relationship.as_str(),
        format!("at://{}/net.rhiz.relationship.record/r1", did("b"))
    );
    assert_eq!(p.hops[1].relationship.rkey_str(), Some("r0"));
    assert!(p.hops[0].cid.as_str().starts_with("bafyrei"));
}

#[test]
fn a_target_exactly_at_max_hops_is_found_and_one_beyond_is_not() {
    let g = graph(&[("a", "b", 90), ("b", "c", 90), ("c", "d", 90)]);
    let at = |max_hops| PathQuery {
        max_hops,
        ..PathQuery::default()
    };
    // 0.9³ = 0.729
    assert_eq!(
        paths(&g, "a", "d", &at(3)),
        vec![(73, names(&["a", "b", "c", "d"]))]
    );
    assert_eq!(paths(&g, "a", "d", &at(2)), vec![]);
    assert_eq!(paths(&g, "a", "b", &at(1)), vec![(90, names(&["a", "b"]))]);
}

#[test]
fn the_hop_limit_picks_the_strongest_path_that_fits() {
    // Strongest overall: a-b-c-d-e (0.95⁴ = 0.8145); within 2 hops: a-x-e (0.5).
    let g = graph(&[
        ("a", "b", 95),
        ("b", "c", 95),
        ("c", "d", 95),
        ("d", "e", 95),
        ("a", "x", 50),
        ("x", "e", 100),
    ]);
    let q = |max_hops| PathQuery {
        max_hops,
        ..PathQuery::default()
    };
    assert_eq!(
        paths(&g, "a", "e", &q(4))[0],
        (81, names(&["a", "b", "c", "d", "e"]))
    );
    assert_eq!(
        paths(&g, "a", "e", &q(3)),
        vec![(50, names(&["a", "x", "e"]))]
    );
}

#[test]
fn equal_strengths_are_both_returned_fewer_hops_first() {
    // a-b-d: 0.8 × 0.5 = 0.4; a-c-d: 0.5 × 0.8 = 0.4; a-d: 0.4 directly.
    let g = graph(&[
        ("a", "b", 80),
        ("b", "d", 50),
        ("a", "c", 50),
        ("c", "d", 80),
        ("a", "d", 40),
    ]);
    let q = PathQuery {
        min_strength: 40,
        ..PathQuery::default()
    };
    let found = paths(&g, "a", "d", &q);
    assert_eq!(found.len(), 3);
    assert!(found.iter().all(|(s, _)| *s == 40));
    assert_eq!(found[0].1, names(&["a", "d"]));
    let mut two_hops: Vec<_> = found[1..].iter().map(|(_, p)| p.clone()).collect();
    two_hops.sort();
    assert_eq!(
        two_hops,
        vec![names(&["a", "b", "d"]), names(&["a", "c", "d"])]
    );
}

#[test]
fn excluded_dids_are_never_visited_endpoints_included() {
    let g = graph(&[
        ("a", "b", 90),
        ("b", "c", 90),
        ("a", "d", 70),
        ("d", "c", 70),
    ]);
    let excluding = |list: &[&str]| PathQuery {
        exclude_dids: list.iter().map(|n| did(n).parse().unwrap()).collect(),
        ..PathQuery::default()
    };
    assert_eq!(
        paths(&g, "a", "c", &excluding(&["b"])),
        vec![(49, names(&["a", "d", "c"]))]
    );
    assert_eq!(paths(&g, "a", "c", &excluding(&["b", "d"])), vec![]);
    assert_eq!(paths(&g, "a", "c", &excluding(&["c"])), vec![]);
    assert_eq!(
        paths(&g, "a", "c", &excluding(&["did:plc:unknown"])).len(),
        2
    );
}

#[test]
fn the_type_filter_keeps_only_the_listed_types() {
    let mut g = Graph::new();
    for (a, b, rkey, kind) in [
        ("a", "b", "r1", "family"),
        ("b", "c", "r2", "family"),
        ("a", "c", "r3", "professional"),
    ] {
        g.upsert_relationship(relationship_of_type(&did(a), &did(b), 90, rkey, kind))
            .unwrap();
    }
    let of = |types: Option<&[&str]>| PathQuery {
        relationship_types: types.map(|t| t.iter().map(|s| (*s).to_owned()).collect()),
        ..PathQuery::default()
    };
    assert_eq!(
        paths(&g, "a", "c", &of(Some(&["family"]))),
        vec![(81, names(&["a", "b", "c"]))]
    );
    assert_eq!(
        paths(&g, "a", "c", &of(Some(&["professional"]))),
        vec![(90, names(&["a", "c"]))]
    );
    assert_eq!(paths(&g, "a", "c", &of(Some(&["nonexistent"]))), vec![]);
    assert_eq!(paths(&g, "a", "c", &of(Some(&[]))).len(), 2);
    assert_eq!(paths(&g, "a", "c", &of(None)).len(), 2);
}

#[test]
fn min_strength_is_inclusive() {
    let g = graph(&[("a", "b", 50), ("b", "c", 49)]);
    assert_eq!(
        paths(&g, "a", "b", &PathQuery::default()),
        vec![(50, names(&["a", "b"]))]
    );
    assert_eq!(paths(&g, "a", "c", &PathQuery::default()), vec![]);
    let q = PathQuery {
        min_strength: 49,
        ..PathQuery::default()
    };
    assert_eq!(paths(&g, "a", "c", &q), vec![(25, names(&["a", "b", "c"]))]);
}

#[test]
fn disconnected_pairs_have_no_path() {
    let g = graph(&[("a", "b", 90), ("c", "d", 90)]);
    assert_eq!(paths(&g, "a", "d", &PathQuery::default()), vec![]);
}

#[test]
fn relationships_that_are_not_discoverable_are_never_used() {
    let mut g = graph(&[("a", "b", 90), ("b", "c", 90), ("a", "c", 60)]);
    let mut hidden = relationship(&did("a"), &did("b"), 90, "r0");
    hidden.discoverable = false;
    g.upsert_relationship(hidden).unwrap();
    assert_eq!(
        paths(&g, "a", "c", &PathQuery::default()),
        vec![(60, names(&["a", "c"]))]
    );
}

#[test]
fn shortest_prefers_fewer_hops_then_strength() {
    let g = graph(&[
        ("a", "d", 55),
        ("a", "b", 90),
        ("b", "d", 90),
        ("a", "c", 60),
        ("c", "d", 60),
    ]);
    let shortest = PathQuery {
        algorithm: PathAlgorithm::Shortest,
        ..PathQuery::default()
    };
    assert_eq!(
        paths(&g, "a", "d", &shortest),
        vec![(55, names(&["a", "d"]))]
    );
    assert_eq!(
        paths(&g, "a", "d", &PathQuery::default())[0],
        (81, names(&["a", "b", "d"]))
    );
    let g = graph(&[
        ("a", "b", 60),
        ("b", "d", 60),
        ("a", "c", 90),
        ("c", "d", 90),
        ("a", "e", 99),
        ("e", "f", 99),
        ("f", "d", 99),
    ]);
    assert_eq!(
        paths(&g, "a", "d", &shortest),
        vec![(81, names(&["a", "c", "d"])), (36, names(&["a", "b", "d"]))]
    );
}

#[test]
fn limit_caps_the_number_of_paths() {
    let g = graph(&[
        ("a", "b", 90),
        ("b", "c", 90),
        ("a", "d", 80),
        ("d", "c", 80),
        ("a", "c", 60),
    ]);
    let q = PathQuery {
        limit: 1,
        ..PathQuery::default()
    };
    assert_eq!(paths(&g, "a", "c", &q), vec![(81, names(&["a", "b", "c"]))]);
}

#[test]
fn bad_queries_are_typed_errors() {
    let g = graph(&[("a", "b", 90)]);
    let (a, b) = (did("a").parse().unwrap(), did("b").parse().unwrap());
    let run = |q: PathQuery| g.find_paths(&a, &b, &q).unwrap_err();
    assert_eq!(
        g.find_paths(&a, &a, &PathQuery::default()).unwrap_err(),
        GraphError::SameEndpoints(a.clone())
    );
    assert_eq!(
        run(PathQuery {
            max_hops: 0,
            ..PathQuery::default()
        }),
        GraphError::MaxHopsOutOfRange(0)
    );
    assert_eq!(
        run(PathQuery {
            max_hops: 11,
            ..PathQuery::default()
        }),
        GraphError::MaxHopsOutOfRange(11)
    );
    assert_eq!(
        run(PathQuery {
            min_strength: 101,
            ..PathQuery::default()
        }),
        GraphError::MinStrengthOutOfRange(101)
    );
    assert_eq!(
        run(PathQuery {
            limit: 0,
            ..PathQuery::default()
        }),
        GraphError::LimitOutOfRange(0)
    );
    let unknown = did("zz").parse().unwrap();
    assert_eq!(
        g.find_paths(&a, &unknown, &PathQuery::default())
            .unwrap_err(),
        GraphError::UnknownDid(unknown)
    );
}

#[test]
fn a_removed_or_weakened_relationship_stops_carrying_paths() {
    let mut g = graph(&[("a", "b", 90), ("b", "c", 90), ("a", "c", 60)]);
    g.upsert_relationship(relationship(&did("b"), &did("c"), 40, "r1"))
        .unwrap();
    assert_eq!(
        paths(&g, "a", "c", &PathQuery::default()),
        vec![(60, names(&["a", "c"]))]
    );
    let direct = relationship(&did("a"), &did("c"), 60, "r2").uri;
    assert!(g.remove_relationship(&direct));
    assert_eq!(paths(&g, "a", "c", &PathQuery::default()), vec![]);
}

#[test]
fn a_hub_with_many_relationships_answers_quickly() {
    // 20,000 leaves around one hub, and a strong detour between two of them.
    let leaves = 20_000;
    let mut rels: Vec<_> = (0..leaves)
        .map(|i| {
            relationship(
                &did("hub"),
                &did(&format!("leaf{i}")),
                60 + (i % 40) as u8,
                &format!("h{i}"),
            )
        })
        .collect();
    rels.push(relationship(&did("leaf7"), &did("bridge"), 99, "b1"));
    rels.push(relationship(&did("bridge"), &did("leaf9"), 99, "b2"));
    let mut g = Graph::new();
    g.bulk_load(rels).unwrap();
    let found = paths(&g, "leaf7", "leaf9", &PathQuery::default());
    assert_eq!(found[0], (98, names(&["leaf7", "bridge", "leaf9"])));
    // Through the hub only: 0.67 × 0.69 = 0.4623.
    let q = PathQuery {
        exclude_dids: vec![did("bridge").parse().unwrap()],
        ..PathQuery::default()
    };
    assert_eq!(
        paths(&g, "leaf7", "leaf9", &q),
        vec![(46, names(&["leaf7", "hub", "leaf9"]))]
    );
    let q = PathQuery {
        min_strength: 70,
        ..PathQuery::default()
    };
    assert_eq!(paths(&g, "leaf7", "leaf10", &q), vec![]);
}

/// The best strength from `s` to `t` within `max_hops`, by dynamic
/// programming over walks (a strongest walk can always be shortcut into a
/// path at least as strong), as `(product, hops)` of the first hop count
/// reaching the maximum.
fn best_by_dynamic_programming(
    g: &Graph,
    s: u32,
    t: u32,
    max_hops: u8,
    min_strength: u8,
) -> Option<(u128, u8)> {
    use super::search::cmp_strength;
    let n = g.adjacency.len();
    let mut layer: Vec<Option<u128>> = vec![None; n];
    layer[s as usize] = Some(1);
    let mut best: Option<(u128, u8)> = None;
    for hops in 1..=max_hops {
        let mut next: Vec<Option<u128>> = vec![None; n];
        for (v, product) in layer
            .iter()
            .enumerate()
            .filter_map(|(v, p)| Some((v, (*p)?)))
        {
            for e in g.adjacency[v]
                .iter()
                .filter(|e| !e.hidden && e.strength >= min_strength)
            {
                let candidate = product * u128::from(e.strength);
                let slot = &mut next[e.other as usize];
                if slot.is_none_or(|old| candidate > old) {
                    *slot = Some(candidate);
                }
            }
        }
        if let Some(p) = next[t as usize] {
            if best.is_none_or(|(bp, bh)| cmp_strength(p, hops, bp, bh).is_gt()) {
                best = Some((p, hops));
            }
        }
        layer = next;
    }
    best
}

#[test]
fn the_first_path_is_the_strongest_on_a_preferential_attachment_graph() {
    use super::search::cmp_strength;
    use crate::synthetic::{did as synthetic_did, preferential_attachment, SplitMix64};

    let mut g = Graph::new();
    g.bulk_load(preferential_attachment(3_000, 3, 5)).unwrap();
    let mut rng = SplitMix64::new(9);
    for round in 0..60 {
        let (a, b) = (rng.below(3_000), rng.below(3_000));
        if a == b {
            continue;
        }
        let max_hops = [2, 3, 4, 6][round % 4];
        let min_strength = [0, 50, 70][round % 3];
        let q = PathQuery {
            max_hops,
            min_strength,
            ..PathQuery::default()
        };
        let (from, to): (rhiz_protocol::Did, rhiz_protocol::Did) = (
            synthetic_did(a).parse().unwrap(),
            synthetic_did(b).parse().unwrap(),
        );
        let found = g.find_paths(&from, &to, &q).unwrap();
        let (s, t) = (g.did_id(&from).unwrap().0, g.did_id(&to).unwrap().0);
        let expected = best_by_dynamic_programming(&g, s, t, max_hops, min_strength);
        match (found.first(), expected) {
            (None, None) => {}
            (Some(p), Some((bp, bh))) => {
                let product: u128 = p.hops.iter().map(|h| u128::from(h.strength)).product();
                let hops = u8::try_from(p.hops.len()).unwrap();
                assert!(
                    cmp_strength(product, hops, bp, bh).is_eq(),
                    "{a} -> {b}: {p:?} vs {bp}/{bh}"
                );
            }
            (found, expected) => panic!("{a} -> {b}: {found:?} vs {expected:?}"),
        }
    }
}

#[test]
fn a_graph_can_be_shared_between_threads_for_queries() {
    fn shared<T: Send + Sync>() {}
    shared::<Graph>();
    let g = graph(&[("a", "b", 90), ("b", "c", 90)]);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| assert_eq!(paths(&g, "a", "c", &PathQuery::default())[0].0, 81));
        }
    });
}
