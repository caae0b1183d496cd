//! `neighbors`: a DID's relationships, paginated by relationship URI.

use rhiz_protocol::{AtUri, Cid, Did};

use crate::{Graph, GraphError};

/// The filters and page of a neighbors query (PROTOCOL.md "getNeighbors").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborQuery {
    /// Only relationships with at least this strength, 0–100. Default 0.
    pub min_strength: u8,
    /// When `Some` and not empty, only these types (exact match). `None` or
    /// an empty list allow every type.
    pub relationship_types: Option<Vec<String>>,
    /// At most this many items, 1–100. Default 50.
    pub limit: usize,
    /// Only relationships whose URI sorts after this one: the `cursor` of
    /// the previous page.
    pub cursor: Option<AtUri>,
}

impl Default for NeighborQuery {
    fn default() -> Self {
        Self {
            min_strength: 0,
            relationship_types: None,
            limit: 50,
            cursor: None,
        }
    }
}

/// One relationship of the queried DID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    /// The other participant.
    pub did: Did,
    /// The relationship's AT-URI.
    pub relationship: AtUri,
    /// The relationship's CID.
    pub cid: Cid,
    /// Strength, 0–100.
    pub strength: u8,
    /// The relationship type.
    pub relationship_type: String,
}

/// A page of neighbors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborPage {
    /// Ordered by relationship URI, ascending.
    pub neighbors: Vec<Neighbor>,
    /// The URI to pass as the next query's cursor; `None` on the last page.
    pub cursor: Option<AtUri>,
}

impl Graph {
    /// The relationships of `did`, one item per relationship, ordered by
    /// relationship URI ascending.
    ///
    /// The cursor is the last URI of the previous page, so paging stays
    /// stable while the graph changes: no relationship is returned twice and
    /// none that stays unchanged is skipped. Relationships that are not
    /// discoverable are never returned. An unknown DID has no neighbors.
    /// Costs a binary search in the DID's relationships (kept in URI order)
    /// plus the relationships walked to fill the page.
    ///
    /// # Errors
    ///
    /// [`GraphError::LimitOutOfRange`] and
    /// [`GraphError::MinStrengthOutOfRange`] for bad parameters.
    pub fn neighbors(&self, did: &Did, query: &NeighborQuery) -> Result<NeighborPage, GraphError> {
        if !(1..=100).contains(&query.limit) {
            return Err(GraphError::LimitOutOfRange(query.limit));
        }
        if query.min_strength > 100 {
            return Err(GraphError::MinStrengthOutOfRange(query.min_strength));
        }
        let Some(id) = self.did_id(did) else {
            return Ok(NeighborPage {
                neighbors: Vec::new(),
                cursor: None,
            });
        };
        let allowed = self.allowed_types(query.relationship_types.as_deref());
        let by_uri = &self.by_uri[id.index()];
        let start = query.cursor.as_ref().map_or(0, |cursor| {
            by_uri.partition_point(|rel| {
                self.names
                    .cmp_name_uri(&self.targets.get(rel.slot()).name, cursor)
                    .is_le()
            })
        });
        let mut matching = by_uri[start..].iter().filter_map(|entry| {
            let rel = entry.slot();
            let data = self.targets.get(rel).value.live.as_ref()?;
            let other = if data.ends[0] == id {
                data.ends[1]
            } else {
                data.ends[0]
            };
            (data.discoverable
                && data.strength >= query.min_strength
                && allowed.as_ref().is_none_or(|a| a[usize::from(data.kind)]))
            .then_some((rel, other.0))
        });
        let page: Vec<(u32, u32)> = matching.by_ref().take(query.limit).collect();
        let more = matching.next().is_some();
        let matching = page;
        let neighbors: Vec<Neighbor> = matching
            .iter()
            .map(|&(rel, other)| {
                let slot = self.targets.get(rel);
                let data = slot
                    .value
                    .live
                    .as_ref()
                    .expect("edges are live relationships");
                Neighbor {
                    did: self.names.did(crate::DidId(other)).clone(),
                    relationship: self.names.uri(&slot.name),
                    cid: Cid::try_from(data.cid.to_text()).expect("stored from a valid CID"),
                    strength: data.strength,
                    relationship_type: self.types[usize::from(data.kind)].to_string(),
                }
            })
            .collect();
        let cursor = more
            .then(|| neighbors.last().map(|n| n.relationship.clone()))
            .flatten();
        Ok(NeighborPage { neighbors, cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{relationship, relationship_of_type};

    fn graph() -> Graph {
        let mut g = Graph::new();
        for (b, s, rkey, kind) in [
            ("b", 90, "r3", "family"),
            ("c", 40, "r1", "professional"),
            ("d", 70, "r2", "family"),
            ("e", 60, "r4", "social"),
        ] {
            g.upsert_relationship(relationship_of_type(
                "did:plc:a",
                &format!("did:plc:{b}"),
                s,
                rkey,
                kind,
            ))
            .unwrap();
        }
        let mut hidden = relationship("did:plc:a", "did:plc:f", 99, "r0");
        hidden.discoverable = false;
        g.upsert_relationship(hidden).unwrap();
        g
    }

    fn rkeys(page: &NeighborPage) -> Vec<&str> {
        page.neighbors
            .iter()
            .map(|n| n.relationship.rkey_str().unwrap())
            .collect()
    }

    #[test]
    fn ordered_by_uri_filtered_and_without_hidden_relationships() {
        let g = graph();
        let a = "did:plc:a".parse().unwrap();
        let page = g.neighbors(&a, &NeighborQuery::default()).unwrap();
        assert_eq!(rkeys(&page), ["r1", "r2", "r3", "r4"]);
        assert_eq!(page.cursor, None);
        assert_eq!(page.neighbors[0].did.as_str(), "did:plc:c");
        assert_eq!(page.neighbors[0].relationship_type, "professional");
        let strong = NeighborQuery {
            min_strength: 60,
            ..NeighborQuery::default()
        };
        assert_eq!(
            rkeys(&g.neighbors(&a, &strong).unwrap()),
            ["r2", "r3", "r4"]
        );
        let family = NeighborQuery {
            relationship_types: Some(vec!["family".into()]),
            ..NeighborQuery::default()
        };
        assert_eq!(rkeys(&g.neighbors(&a, &family).unwrap()), ["r2", "r3"]);
        let b = "did:plc:b".parse().unwrap();
        assert_eq!(
            rkeys(&g.neighbors(&b, &NeighborQuery::default()).unwrap()),
            ["r3"]
        );
    }

    #[test]
    fn the_cursor_pages_through_every_relationship_once() {
        let g = graph();
        let a = "did:plc:a".parse().unwrap();
        let mut q = NeighborQuery {
            limit: 3,
            ..NeighborQuery::default()
        };
        let first = g.neighbors(&a, &q).unwrap();
        assert_eq!(rkeys(&first), ["r1", "r2", "r3"]);
        q.cursor = first.cursor.clone();
        assert_eq!(first.cursor.unwrap().rkey_str(), Some("r3"));
        let second = g.neighbors(&a, &q).unwrap();
        assert_eq!(rkeys(&second), ["r4"]);
        assert_eq!(second.cursor, None);
    }

    #[test]
    fn unknown_dids_have_no_neighbors_and_bad_limits_are_errors() {
        let g = graph();
        let page = g
            .neighbors(&"did:plc:zzz".parse().unwrap(), &NeighborQuery::default())
            .unwrap();
        assert!(page.neighbors.is_empty());
        let a = "did:plc:a".parse().unwrap();
        for limit in [0, 101] {
            let q = NeighborQuery {
                limit,
                ..NeighborQuery::default()
            };
            assert_eq!(
                g.neighbors(&a, &q).unwrap_err(),
                GraphError::LimitOutOfRange(limit)
            );
        }
    }
}
