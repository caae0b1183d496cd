//! The versioned binary envelope stored in L2, and the payload codec.
//!
//! Layout (integers little-endian):
//!
//! ```text
//! "RZC" | version: u8 | created: u64 | fresh_until: u64 | stale_until: u64
//!       | tag count: u16 | (tag length: u16, tag bytes)* | payload
//! ```
//!
//! Times are microseconds since the Unix epoch; `u64::MAX` means "until
//! invalidated". The payload is the caller's value in `postcard`: compact
//! (varints, no field names), serde-driven, and stable across releases of its
//! 1.x line. Anything that does not parse — another version, foreign bytes,
//! truncation — decodes to `None` and is treated as a miss.

use serde::{de::DeserializeOwned, Serialize};

use crate::CacheError;

const MAGIC: &[u8; 3] = b"RZC";
const VERSION: u8 = 1;
const FIXED_HEADER: usize = 3 + 1 + 8 * 3 + 2;

/// One cached value with the metadata every tier needs to judge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// When the value was computed.
    pub(crate) created: u64,
    /// Until when the value is served as fresh.
    pub(crate) fresh_until: u64,
    /// Until when the value may stand in for a failed computation.
    pub(crate) stale_until: u64,
    /// Tags whose invalidation invalidates this value.
    pub(crate) tags: Box<[Box<str>]>,
    /// The value, encoded with [`encode_value`].
    pub(crate) payload: Box<[u8]>,
}

impl Entry {
    /// Approximate memory held by the entry, for L1 weighing.
    pub(crate) fn weight(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.payload.len()
            + self.tags.iter().map(|t| t.len() + 16).sum::<usize>()
    }

    /// Encodes the entry into its L2 envelope.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let tag_bytes: usize = self.tags.iter().map(|t| 2 + t.len()).sum();
        let mut out = Vec::with_capacity(FIXED_HEADER + tag_bytes + self.payload.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.created.to_le_bytes());
        out.extend_from_slice(&self.fresh_until.to_le_bytes());
        out.extend_from_slice(&self.stale_until.to_le_bytes());
        let count = u16::try_from(self.tags.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_le_bytes());
        for tag in self.tags.iter().take(usize::from(count)) {
            let len = u16::try_from(tag.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&tag.as_bytes()[..usize::from(len)]);
        }
        out.extend_from_slice(&self.payload);
        out
    }

    /// Decodes an L2 envelope; `None` for anything this version did not write.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let mut input = Reader(bytes);
        if input.take(3)? != MAGIC || input.take(1)?[0] != VERSION {
            return None;
        }
        let created = input.u64()?;
        let fresh_until = input.u64()?;
        let stale_until = input.u64()?;
        let count = input.u16()?;
        let tags = (0..count)
            .map(|_| {
                let len = input.u16()?;
                let tag = std::str::from_utf8(input.take(usize::from(len))?).ok()?;
                Some(Box::from(tag))
            })
            .collect::<Option<_>>()?;
        Some(Entry {
            created,
            fresh_until,
            stale_until,
            tags,
            payload: Box::from(input.0),
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// Encodes a caller's value as an entry payload.
pub(crate) fn encode_value<T: Serialize>(value: &T) -> Result<Vec<u8>, CacheError> {
    postcard::to_stdvec(value).map_err(CacheError::Encode)
}

/// Decodes a payload; `None` if the bytes are not a `T`.
pub(crate) fn decode_value<T: DeserializeOwned>(payload: &[u8]) -> Option<T> {
    postcard::from_bytes(payload).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Entry {
        Entry {
            created: 1,
            fresh_until: 2,
            stale_until: u64::MAX,
            tags: vec![Box::from("did:plc:a"), Box::from("")].into_boxed_slice(),
            payload: encode_value(&("x", 7u32)).unwrap().into_boxed_slice(),
        }
    }

    #[test]
    fn envelope_round_trips() {
        let entry = sample();
        assert_eq!(Entry::decode(&entry.encode()), Some(entry));
    }

    #[test]
    fn every_truncation_and_foreign_bytes_decode_to_none() {
        let bytes = sample().encode();
        let header_end = bytes.len() - sample().payload.len();
        for cut in 0..header_end {
            assert_eq!(Entry::decode(&bytes[..cut]), None, "cut at {cut}");
        }
        assert_eq!(Entry::decode(b"{\"json\":true}"), None);
        let mut other_version = bytes.clone();
        other_version[3] = VERSION + 1;
        assert_eq!(Entry::decode(&other_version), None);
    }

    #[test]
    fn payload_of_another_type_is_none() {
        let payload = encode_value(&"not a number").unwrap();
        assert_eq!(decode_value::<Vec<u64>>(&payload[..1]), None);
        assert_eq!(
            decode_value::<String>(&payload).as_deref(),
            Some("not a number")
        );
    }
}
