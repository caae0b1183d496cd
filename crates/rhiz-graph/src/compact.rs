//! Compact forms of the short strings every record carries: record keys
//! inline, CIDs as their binary bytes. Both give back their text exactly.

use crate::names::heap_chunk;

/// The most bytes [`ShortStr`] keeps inline.
const INLINE: usize = 22;

/// A string stored inline when at most 22 bytes (a TID record key is 13),
/// on the heap otherwise: 24 bytes either way plus the heap text if long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ShortStr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl ShortStr {
    pub(crate) fn new(s: &str) -> Self {
        if s.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            Self::Inline {
                len: u8::try_from(s.len()).expect("at most 22"),
                bytes,
            }
        } else {
            Self::Heap(s.into())
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("copied from a str")
    }

    /// The text's bytes, without checking them again: they compare as the
    /// text does.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Self::Heap(s) => s.as_bytes(),
        }
    }

    /// Heap bytes held beyond the inline size.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Self::Inline { .. } => 0,
            Self::Heap(s) => heap_chunk(s.len()),
        }
    }
}

/// The multibase base32 alphabet (lowercase, no padding).
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The value of each base32 character, 0xff for the others.
const BASE32_VALUE: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut i = 0;
    while i < 32 {
        table[BASE32[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Bytes of a CIDv1 with a one-byte codec and a 32-byte digest.
const CID_BYTES: usize = 36;
/// Its base32 length, without the `b` prefix.
const CID_CHARS: usize = 58;

/// A CID: the 36 bytes of a base32 CIDv1 with a 32-byte digest (the
/// `bafyrei…`/`bafkrei…` of atproto records), else its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CompactCid {
    Binary([u8; CID_BYTES]),
    Text(Box<str>),
}

impl CompactCid {
    pub(crate) fn new(cid: &str) -> Self {
        decode(cid).map_or_else(|| Self::Text(cid.into()), Self::Binary)
    }

    pub(crate) fn to_text(&self) -> String {
        match self {
            Self::Binary(bytes) => encode(bytes),
            Self::Text(s) => s.to_string(),
        }
    }

    /// Heap bytes held beyond the inline size.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Self::Binary(_) => 0,
            Self::Text(s) => heap_chunk(s.len()),
        }
    }
}

/// The bytes of `b` + 58 base32 characters whose 2 spare bits are zero, so
/// that [`encode`] gives the same text back.
fn decode(cid: &str) -> Option<[u8; CID_BYTES]> {
    let text = cid.strip_prefix('b')?.as_bytes();
    if text.len() != CID_CHARS {
        return None;
    }
    let mut out = [0u8; CID_BYTES];
    let (mut acc, mut bits, mut at) = (0u32, 0u32, 0);
    for &c in text {
        let value = BASE32_VALUE[usize::from(c)];
        if value == 0xff {
            return None;
        }
        acc = (acc << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out[at] = u8::try_from((acc >> bits) & 0xff).expect("masked");
            at += 1;
        }
    }
    (acc & ((1 << bits) - 1) == 0).then_some(out)
}

/// The base32 text of a 36-byte CID, `b`-prefixed.
pub(crate) fn encode(bytes: &[u8; CID_BYTES]) -> String {
    let mut out = String::with_capacity(CID_CHARS + 1);
    out.push('b');
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_round_trip_inline_or_not() {
        for s in [
            "",
            "3l3pte3p2e325",
            &"x".repeat(22),
            &"y".repeat(23),
            &"z".repeat(512),
        ] {
            let short = ShortStr::new(s);
            assert_eq!(short.as_str(), s);
            assert_eq!(matches!(short, ShortStr::Inline { .. }), s.len() <= 22);
        }
        assert_eq!(size_of::<ShortStr>(), 24);
    }

    #[test]
    fn cids_round_trip_binary_or_not() {
        for (cid, binary) in [
            (
                "bafyreia7ynav34ectatdqfe3k4cgkdgqsmztefekqa3e2ddxwyyotewz7y",
                true,
            ),
            (
                "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
                true,
            ),
            ("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", false),
            (
                "bafyreia7ynav34ectatdqfe3k4cgkdgqsmztefekqa3e2ddxwyyotewz7z",
                false,
            ),
            ("bafyreia7ynav34ectatdqfe3k4cgkdgq", false),
        ] {
            let compact = CompactCid::new(cid);
            assert_eq!(compact.to_text(), cid);
            assert_eq!(matches!(compact, CompactCid::Binary(_)), binary, "{cid}");
        }
    }
}
