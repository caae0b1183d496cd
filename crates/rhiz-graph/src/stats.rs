//! `network_stats`: counts, distributions and connected components.

use crate::Graph;

/// DIDs whose degree falls in `min..=max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DegreeBucket {
    /// Smallest degree of the bucket.
    pub min: usize,
    /// Largest degree of the bucket.
    pub max: usize,
    /// DIDs with a degree in the bucket.
    pub count: usize,
}

/// A summary of the whole graph.
///
/// Every figure counts all live relationships, discoverable or not: they are
/// aggregates that reveal no single relationship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkStats {
    /// DIDs with at least one live relationship.
    pub entity_count: usize,
    /// Live relationships.
    pub relationship_count: usize,
    /// Attestations held, counting or not.
    pub attestation_count: usize,
    /// Attestations that count for conviction (live target, attester not a
    /// participant).
    pub counting_attestation_count: usize,
    /// Degrees in power-of-two buckets `1`, `2–3`, `4–7`, …, up to the
    /// largest degree; DIDs without relationships are not counted.
    pub degree_histogram: Vec<DegreeBucket>,
    /// Relationships by strength decile: `0–9`, `10–19`, …, `80–89`,
    /// `90–100`.
    pub strength_histogram: [usize; 10],
    /// Connected components among DIDs with relationships.
    pub component_count: usize,
    /// DIDs in the largest component; 0 for an empty graph.
    pub largest_component: usize,
}

impl Graph {
    /// Counts, degree and strength distributions, and connected components.
    /// Costs O(DIDs + relationships + attestations).
    pub fn network_stats(&self) -> NetworkStats {
        let mut degree_histogram: Vec<DegreeBucket> = Vec::new();
        for list in self.adjacency.iter().filter(|l| !l.is_empty()) {
            let bucket = usize::try_from(list.len().ilog2()).expect("small");
            while degree_histogram.len() <= bucket {
                let min = 1 << degree_histogram.len();
                degree_histogram.push(DegreeBucket {
                    min,
                    max: 2 * min - 1,
                    count: 0,
                });
            }
            degree_histogram[bucket].count += 1;
        }
        let mut strength_histogram = [0; 10];
        for data in self
            .targets
            .iter()
            .filter_map(|(_, s)| s.value.live.as_ref())
        {
            strength_histogram[usize::from(data.strength / 10).min(9)] += 1;
        }
        let counting_attestation_count = self
            .attestations
            .iter()
            .filter(|(_, a)| {
                self.targets
                    .get(a.value.target)
                    .value
                    .live
                    .as_ref()
                    .is_some_and(|live| !live.ends.contains(&a.value.attester))
            })
            .count();
        let (component_count, largest_component) = self.components();
        NetworkStats {
            entity_count: self.connected_dids,
            relationship_count: self.live_relationships,
            attestation_count: self.attestations.len(),
            counting_attestation_count,
            degree_histogram,
            strength_histogram,
            component_count,
            largest_component,
        }
    }

    /// (number of components, size of the largest) by union-find.
    fn components(&self) -> (usize, usize) {
        let n = self.adjacency.len();
        let mut parent: Vec<u32> = (0..n).map(|v| u32::try_from(v).expect("u32 ids")).collect();
        let find = |parent: &mut [u32], mut v: u32| {
            while parent[v as usize] != v {
                let grand = parent[parent[v as usize] as usize];
                parent[v as usize] = grand;
                v = grand;
            }
            v
        };
        for (v, list) in (0u32..).zip(&self.adjacency) {
            for edge in list.iter().filter(|e| e.other > v) {
                let (a, b) = (find(&mut parent, v), find(&mut parent, edge.other));
                if a != b {
                    parent[a.max(b) as usize] = a.min(b);
                }
            }
        }
        let mut size = vec![0usize; n];
        let mut count = 0;
        for v in (0u32..)
            .zip(&self.adjacency)
            .filter(|(_, l)| !l.is_empty())
            .map(|(v, _)| v)
        {
            let root = find(&mut parent, v);
            if size[root as usize] == 0 {
                count += 1;
            }
            size[root as usize] += 1;
        }
        (count, size.into_iter().max().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use rhiz_protocol::AttestationType;

    use super::*;
    use crate::synthetic::{attestation, relationship};

    #[test]
    fn has_relationships_follows_upserts_and_removals() {
        let mut g = Graph::new();
        let rel = relationship("did:plc:a", "did:plc:b", 70, "r1");
        let (a, c) = ("did:plc:a".parse().unwrap(), "did:plc:c".parse().unwrap());
        assert!(!g.has_relationships(&a));
        g.upsert_relationship(rel.clone()).unwrap();
        assert!(g.has_relationships(&a));
        assert!(!g.has_relationships(&c), "never seen");
        g.remove_relationship(&rel.uri);
        assert!(
            !g.has_relationships(&a),
            "interned, but without relationships"
        );
    }

    #[test]
    fn counts_histograms_and_components_of_a_small_graph() {
        let mut g = Graph::new();
        let edges = [
            ("a", "b", 95),
            ("a", "c", 50),
            ("a", "d", 5),
            ("b", "c", 100),
            ("e", "f", 59),
        ];
        for (i, (a, b, s)) in edges.into_iter().enumerate() {
            g.upsert_relationship(relationship(
                &format!("did:plc:{a}"),
                &format!("did:plc:{b}"),
                s,
                &format!("r{i}"),
            ))
            .unwrap();
        }
        let rel = relationship("did:plc:a", "did:plc:b", 95, "r0").uri;
        g.upsert_attestation(attestation(
            "did:plc:x",
            &rel,
            AttestationType::Verify,
            90,
            Utc::now(),
            "x1",
        ))
        .unwrap();
        g.upsert_attestation(attestation(
            "did:plc:a",
            &rel,
            AttestationType::Verify,
            90,
            Utc::now(),
            "x2",
        ))
        .unwrap();
        let stats = g.network_stats();
        assert_eq!(stats.entity_count, 6);
        assert_eq!(stats.relationship_count, 5);
        assert_eq!(
            (stats.attestation_count, stats.counting_attestation_count),
            (2, 1)
        );
        // Degrees: a 3, b 2, c 2, d 1, e 1, f 1.
        assert_eq!(
            stats.degree_histogram,
            vec![
                DegreeBucket {
                    min: 1,
                    max: 1,
                    count: 3
                },
                DegreeBucket {
                    min: 2,
                    max: 3,
                    count: 3
                }
            ]
        );
        assert_eq!(stats.strength_histogram, [1, 0, 0, 0, 0, 2, 0, 0, 0, 2]);
        assert_eq!((stats.component_count, stats.largest_component), (2, 4));

        assert!(g.remove_relationship(&rel));
        let stats = g.network_stats();
        assert_eq!(
            (stats.relationship_count, stats.counting_attestation_count),
            (4, 0)
        );
        assert_eq!((stats.component_count, stats.largest_component), (2, 4));
    }

    #[test]
    fn an_empty_graph_has_zeros() {
        let stats = Graph::new().network_stats();
        assert_eq!(
            (
                stats.entity_count,
                stats.component_count,
                stats.largest_component
            ),
            (0, 0, 0)
        );
        assert!(stats.degree_histogram.is_empty());
    }
}
