//! Each DID's relationships in URI order, the order `neighbors` pages in.
//!
//! An entry keeps, beside the relationship's slot, the eight bytes of its
//! URI that follow the `at://did:` every record URI starts with, as a
//! big-endian number. Two entries whose numbers differ compare as their
//! URIs do without looking either relationship up, which is most of the
//! comparisons an insert makes: only entries of one author (or of authors
//! whose first characters agree) fall back to comparing the names.

use std::cmp::Ordering;

use crate::graph::Target;
use crate::names::{Names, RecordName, RecordSlab};

/// One relationship in a DID's URI-ordered list: 12 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UriEntry {
    key_high: u32,
    key_low: u32,
    slot: u32,
}

impl UriEntry {
    /// The entry of the relationship in `slot`, named `name`.
    pub(crate) fn new(names: &Names, slot: u32, name: &RecordName) -> Self {
        let key = names.order_key(name);
        Self {
            key_high: (key >> 32) as u32,
            key_low: key as u32,
            slot,
        }
    }

    /// The relationship's slot in the graph's targets.
    pub(crate) fn slot(self) -> u32 {
        self.slot
    }

    fn key(self) -> u64 {
        (u64::from(self.key_high) << 32) | u64::from(self.key_low)
    }
}

/// Compares two entries as their URIs compare as strings.
pub(crate) fn cmp(
    names: &Names,
    targets: &RecordSlab<Target>,
    a: UriEntry,
    b: UriEntry,
) -> Ordering {
    a.key()
        .cmp(&b.key())
        .then_with(|| names.cmp_names(&targets.get(a.slot).name, &targets.get(b.slot).name))
}

/// Inserts `entry` into `list`, which is in URI order, keeping the order.
pub(crate) fn insert(
    names: &Names,
    targets: &RecordSlab<Target>,
    list: &mut Vec<UriEntry>,
    entry: UriEntry,
) {
    let at = list.partition_point(|&other| cmp(names, targets, other, entry).is_lt());
    list.insert(at, entry);
}

#[cfg(test)]
mod tests {
    use crate::synthetic::{relationship, SplitMix64};
    use crate::Graph;

    /// Authors whose URIs agree on 0–8 bytes after `at://did:`, end inside
    /// the key (`did:a:b`) and sort on either side of one another by
    /// length (`did:plc:ab` before `did:plc:ab0`, before `did:plc:ab/…`'s
    /// longer neighbours).
    const DIDS: [&str; 9] = [
        "did:plc:ab",
        "did:plc:ab0",
        "did:plc:abcdefgh",
        "did:plc:abcdefgi",
        "did:plc:zz",
        "did:web:a",
        "did:web:a.b",
        "did:key:z6Mk",
        "did:a:b",
    ];

    #[test]
    fn each_dids_list_is_in_the_uris_string_order_whatever_the_insert_order() {
        let mut rng = SplitMix64::new(11);
        let mut inputs = Vec::new();
        for (i, a) in DIDS.iter().enumerate() {
            for (j, b) in DIDS.iter().enumerate().filter(|&(j, _)| j != i) {
                for rkey in ["3k", "3k0", "x"] {
                    inputs.push(relationship(a, b, 50, &format!("{rkey}{j}")));
                }
            }
        }
        for i in (1..inputs.len()).rev() {
            let j = usize::try_from(rng.below(i as u64 + 1)).expect("index");
            inputs.swap(i, j);
        }
        let mut graph = Graph::new();
        for input in inputs {
            graph
                .upsert_relationship(input)
                .expect("valid relationship");
        }
        for did in DIDS {
            let id = graph
                .did_id(&did.parse().expect("valid DID"))
                .expect("known");
            let listed: Vec<String> = graph.by_uri[id.index()]
                .iter()
                .map(|e| {
                    graph
                        .names
                        .uri(&graph.targets.get(e.slot()).name)
                        .to_string()
                })
                .collect();
            let mut sorted = listed.clone();
            sorted.sort();
            assert_eq!(listed, sorted, "{did}");
            assert_eq!(listed.len(), 2 * 3 * (DIDS.len() - 1));
        }
    }
}
