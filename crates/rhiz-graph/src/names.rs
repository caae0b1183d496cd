//! Interned DIDs and collections, and the compact form of a record's AT-URI.
//!
//! Every DID the graph sees gets a dense [`DidId`] for life: ids are never
//! reused, so arrays indexed by them stay valid. A record URI
//! `at://<did>/<collection>/<rkey>` is kept as (DID id, collection id, rkey),
//! which costs a third of the text and still compares, hashes and renders
//! exactly like the URI.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use hashbrown::HashTable;
use rhiz_protocol::{AtUri, Did, Nsid, RecordKey};

use crate::compact::ShortStr;
use crate::GraphError;

/// The dense integer id of an interned DID: 0, 1, 2, … in order of first
/// appearance. Stable for the life of the [`Graph`](crate::Graph).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DidId(pub(crate) u32);

impl DidId {
    /// The id as an array index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A record URI in compact form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordName {
    /// The repository DID (the URI's authority).
    pub(crate) author: DidId,
    /// Index into [`Names::collections`].
    pub(crate) collection: u16,
    /// The record key.
    pub(crate) rkey: ShortStr,
}

/// The parts of a record URI as borrowed text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UriParts<'a> {
    pub(crate) authority: &'a str,
    pub(crate) collection: &'a str,
    pub(crate) rkey: &'a str,
}

impl<'a> UriParts<'a> {
    /// Splits `uri`; `None` unless it is `at://<did>/<collection>/<rkey>`.
    pub(crate) fn of(uri: &'a AtUri) -> Option<Self> {
        let authority = uri.authority();
        if !authority.starts_with("did:") {
            return None;
        }
        Some(Self {
            authority,
            collection: uri.collection_str()?,
            rkey: uri.rkey_str()?,
        })
    }

    fn hash(self) -> u64 {
        let mut h = FastHasher::default();
        for part in [self.authority, self.collection, self.rkey] {
            part.hash(&mut h);
        }
        h.finish()
    }
}

/// The interned DIDs and collections of a graph.
#[derive(Debug, Default)]
pub(crate) struct Names {
    dids: Vec<Did>,
    did_index: HashTable<u32>,
    collections: Vec<Nsid>,
}

/// A fast, deterministic hasher for the index tables (keys are DIDs and
/// record URIs, not attacker-chosen collisions worth a SipHash): a
/// multiply-rotate over 8-byte words, then a full avalanche (MurmurHash3's
/// finalizer) so the top bits hashbrown uses are well mixed.
#[derive(Debug, Default)]
struct FastHasher(u64);

impl FastHasher {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(tail) ^ ((rest.len() as u64) << 59));
    }

    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// Compares `at://{a.authority}/{a.collection}/{a.rkey}` with the same of
/// `b` as strings, segment by segment, without building them.
fn cmp_parts(a: UriParts<'_>, b: UriParts<'_>) -> Ordering {
    cmp_segment(a.authority, b.authority)
        .then_with(|| cmp_segment(a.collection, b.collection))
        .then_with(|| a.rkey.cmp(b.rkey))
}

/// Compares `a + "/" + …` with `b + "/" + …` as far as `a` and `b` decide:
/// `Equal` only when `a == b`. Neither contains `/`.
fn cmp_segment(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => a[i].cmp(&b[i]),
        None if a.len() < b.len() => b'/'.cmp(&b[a.len()]),
        None if a.len() > b.len() => a[b.len()].cmp(&b'/'),
        None => Ordering::Equal,
    }
}

/// The hash of `s` used by the index tables.
pub(crate) fn hash_str(s: &str) -> u64 {
    let mut h = FastHasher::default();
    s.hash(&mut h);
    h.finish()
}

impl Names {
    /// How many DIDs are interned.
    pub(crate) fn did_count(&self) -> usize {
        self.dids.len()
    }

    /// The id of `did`, when it is interned.
    pub(crate) fn find_did(&self, did: &str) -> Option<DidId> {
        self.did_index
            .find(hash_str(did), |&id| self.dids[id as usize].as_str() == did)
            .map(|&id| DidId(id))
    }

    /// The id of `did`, interning it when new.
    pub(crate) fn intern_did(&mut self, did: &Did) -> DidId {
        if let Some(id) = self.find_did(did.as_str()) {
            return id;
        }
        let id = u32::try_from(self.dids.len()).expect("fewer than 2^32 DIDs");
        let dids = &self.dids;
        self.did_index
            .insert_unique(hash_str(did.as_str()), id, |&other| {
                hash_str(dids[other as usize].as_str())
            });
        self.dids.push(did.clone());
        DidId(id)
    }

    /// The DID of `id`.
    pub(crate) fn did(&self, id: DidId) -> &Did {
        &self.dids[id.index()]
    }

    /// The compact name of `uri`, interning its DID and collection.
    pub(crate) fn intern_name(&mut self, uri: &AtUri) -> Result<RecordName, GraphError> {
        let parts = UriParts::of(uri).ok_or_else(|| GraphError::NotARecordUri(uri.clone()))?;
        let author = match self.find_did(parts.authority) {
            Some(id) => id,
            None => {
                let did = uri
                    .did()
                    .ok_or_else(|| GraphError::NotARecordUri(uri.clone()))?;
                self.intern_did(&did)
            }
        };
        let collection = match self.find_collection(parts.collection) {
            Some(i) => i,
            None => {
                let nsid = uri
                    .collection()
                    .ok_or_else(|| GraphError::NotARecordUri(uri.clone()))?;
                self.intern_collection(nsid)
            }
        };
        Ok(RecordName {
            author,
            collection,
            rkey: ShortStr::new(parts.rkey),
        })
    }

    /// The index of `collection`, when interned.
    fn find_collection(&self, collection: &str) -> Option<u16> {
        let index = self
            .collections
            .iter()
            .position(|c| c.as_str() == collection)?;
        Some(u16::try_from(index).expect("fewer than 2^16 collections"))
    }

    /// The index of a new collection.
    fn intern_collection(&mut self, collection: Nsid) -> u16 {
        self.collections.push(collection);
        u16::try_from(self.collections.len() - 1).expect("fewer than 2^16 collections")
    }

    fn parts<'a>(&'a self, name: &'a RecordName) -> UriParts<'a> {
        UriParts {
            authority: self.dids[name.author.index()].as_str(),
            collection: self.collections[usize::from(name.collection)].as_str(),
            rkey: name.rkey.as_str(),
        }
    }

    /// The hash of `name`, equal to the hash of its URI's parts.
    pub(crate) fn hash_name(&self, name: &RecordName) -> u64 {
        self.parts(name).hash()
    }

    /// Whether `name` is the URI made of `parts`.
    pub(crate) fn name_is(&self, name: &RecordName, parts: UriParts<'_>) -> bool {
        let mine = self.parts(name);
        mine.rkey == parts.rkey
            && mine.authority == parts.authority
            && mine.collection == parts.collection
    }

    /// The URI of `name`.
    pub(crate) fn uri(&self, name: &RecordName) -> AtUri {
        let rkey: RecordKey = name
            .rkey
            .as_str()
            .parse()
            .expect("stored from a valid AT-URI");
        AtUri::from_parts(
            self.did(name.author),
            &self.collections[usize::from(name.collection)],
            &rkey,
        )
    }

    /// The URI text of `name` as bytes, without allocating.
    fn uri_bytes<'a>(&'a self, name: &'a RecordName) -> impl Iterator<Item = u8> + 'a {
        let p = self.parts(name);
        ["at://", p.authority, "/", p.collection, "/", p.rkey]
            .into_iter()
            .flat_map(str::bytes)
    }

    /// Compares two names as their URI strings compare.
    ///
    /// Names in one DID's lists mostly share their author and collection:
    /// those compare by id, and only the record keys as text.
    pub(crate) fn cmp_names(&self, a: &RecordName, b: &RecordName) -> Ordering {
        if a.author == b.author && a.collection == b.collection {
            return a.rkey.as_bytes().cmp(b.rkey.as_bytes());
        }
        cmp_parts(self.parts(a), self.parts(b))
    }

    /// The eight bytes of `name`'s URI after `at://did:` (zeros past its
    /// end) as a big-endian number. Every record URI starts with
    /// `at://did:`, so when two names' keys differ their URIs compare as
    /// the keys do.
    pub(crate) fn order_key(&self, name: &RecordName) -> u64 {
        let mut key = [0u8; 8];
        let after_prefix = self.uri_bytes(name).skip("at://did:".len());
        for (slot, byte) in key.iter_mut().zip(after_prefix) {
            *slot = byte;
        }
        u64::from_be_bytes(key)
    }

    /// Compares a name with a URI as their strings compare.
    pub(crate) fn cmp_name_uri(&self, a: &RecordName, uri: &AtUri) -> Ordering {
        match UriParts::of(uri) {
            Some(parts) => cmp_parts(self.parts(a), parts),
            None => self.uri_bytes(a).cmp(uri.as_str().bytes()),
        }
    }

    /// Approximate heap and inline bytes held.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.dids.capacity() * size_of::<Did>()
            + self.dids.iter().map(|d| d.as_str().len()).sum::<usize>()
            + self.did_index.capacity() * (size_of::<u32>() + 1)
    }
}

/// A slab of records addressed by their URI: dense `u32` slots, a free list,
/// and a hash index that stores only slot numbers (the key lives in the slot).
#[derive(Debug)]
pub(crate) struct RecordSlab<T> {
    slots: Vec<Option<Slot<T>>>,
    free: Vec<u32>,
    index: HashTable<u32>,
}

/// One occupied slot: the record's name and its value.
#[derive(Debug)]
pub(crate) struct Slot<T> {
    pub(crate) name: RecordName,
    pub(crate) value: T,
}

impl<T> Default for RecordSlab<T> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
        }
    }
}

impl<T> RecordSlab<T> {
    /// The number of occupied slots.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// Makes room for `additional` more records without rehashing.
    pub(crate) fn reserve(&mut self, names: &Names, additional: usize) {
        self.slots
            .reserve(additional.saturating_sub(self.free.len()));
        let slots = &self.slots;
        self.index.reserve(additional, |&id| {
            let slot = slots[id as usize]
                .as_ref()
                .expect("indexed slots are occupied");
            names.hash_name(&slot.name)
        });
    }

    /// The slot of `uri`, when present.
    pub(crate) fn find(&self, names: &Names, uri: &AtUri) -> Option<u32> {
        let parts = UriParts::of(uri)?;
        self.index
            .find(parts.hash(), |&id| names.name_is(&self.get(id).name, parts))
            .copied()
    }

    /// Stores a new record; the caller checked it is absent.
    pub(crate) fn insert(&mut self, names: &Names, name: RecordName, value: T) -> u32 {
        let hash = names.hash_name(&name);
        let slot = Some(Slot { name, value });
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                id
            }
            None => {
                self.slots.push(slot);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 records")
            }
        };
        let slots = &self.slots;
        self.index.insert_unique(hash, id, |&other| {
            let slot = slots[other as usize]
                .as_ref()
                .expect("indexed slots are occupied");
            names.hash_name(&slot.name)
        });
        id
    }

    /// Removes the record in slot `id` and returns it.
    pub(crate) fn remove(&mut self, names: &Names, id: u32) -> Slot<T> {
        let slot = self.slots[id as usize]
            .take()
            .expect("removing an occupied slot");
        if let Ok(entry) = self
            .index
            .find_entry(names.hash_name(&slot.name), |&other| other == id)
        {
            entry.remove();
        }
        self.free.push(id);
        slot
    }

    /// The record in slot `id`, which must be occupied.
    pub(crate) fn get(&self, id: u32) -> &Slot<T> {
        self.slots[id as usize]
            .as_ref()
            .expect("reading an occupied slot")
    }

    /// The record in slot `id`, mutably.
    pub(crate) fn get_mut(&mut self, id: u32) -> &mut Slot<T> {
        self.slots[id as usize]
            .as_mut()
            .expect("writing an occupied slot")
    }

    /// Every occupied slot with its id.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Slot<T>)> {
        (0u32..)
            .zip(&self.slots)
            .filter_map(|(id, slot)| Some((id, slot.as_ref()?)))
    }

    /// Approximate heap and inline bytes held, not counting what `T` owns.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.slots.capacity() * size_of::<Option<Slot<T>>>()
            + self
                .iter()
                .map(|(_, s)| s.name.rkey.heap_bytes())
                .sum::<usize>()
            + self.free.capacity() * size_of::<u32>()
            + self.index.capacity() * (size_of::<u32>() + 1)
    }
}

/// The bytes a heap allocation of `len` bytes occupies with a typical
/// allocator (16-byte granularity, 8 bytes of header, 32 at least).
pub(crate) fn heap_chunk(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        (len + 8).div_ceil(16).max(2) * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_like_their_uri_strings() {
        let uris = [
            "at://did:plc:ab/net.rhiz.relationship.record/3k2",
            "at://did:plc:ab/net.rhiz.relationship.record/3k10",
            "at://did:plc:ab:c/net.rhiz.relationship.record/1",
            "at://did:plc:a/net.rhiz.relationship.record/z",
            "at://did:plc:ab/net.rhiz.relationship/1",
            "at://did:plc:ab/net.rhiz.relationship.recordz/1",
            "at://did:web:ab/a.b.c/1",
        ];
        let mut names = Names::default();
        let parsed: Vec<AtUri> = uris.iter().map(|u| u.parse().unwrap()).collect();
        let interned: Vec<RecordName> = parsed
            .iter()
            .map(|u| names.intern_name(u).unwrap())
            .collect();
        for (i, a) in interned.iter().enumerate() {
            for (j, b) in interned.iter().enumerate() {
                assert_eq!(
                    names.cmp_names(a, b),
                    uris[i].cmp(uris[j]),
                    "{} vs {}",
                    uris[i],
                    uris[j]
                );
                assert_eq!(names.cmp_name_uri(a, &parsed[j]), uris[i].cmp(uris[j]));
            }
            assert_eq!(names.uri(a).as_str(), uris[i]);
        }
        let cursor: AtUri = "at://did:plc:ab".parse().unwrap();
        assert_eq!(
            names.cmp_name_uri(&interned[0], &cursor),
            uris[0].cmp("at://did:plc:ab")
        );
    }
}
