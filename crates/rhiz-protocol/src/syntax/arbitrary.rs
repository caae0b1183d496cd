//! proptest strategies that generate valid identifiers from each grammar, and
//! the round-trip assertion every type's property tests share.

use std::fmt::{Debug, Display};
use std::str::FromStr;

use proptest::prelude::*;
use proptest::sample::select;
use serde::{de::DeserializeOwned, Serialize};

/// Asserts that `value` survives `Display` → `FromStr` and a JSON
/// round-trip unchanged.
pub(crate) fn assert_round_trip<T>(value: &T)
where
    T: Display + FromStr + Serialize + DeserializeOwned + PartialEq + Debug,
    T::Err: Debug,
{
    let text = value.to_string();
    assert_eq!(&text.parse::<T>().unwrap(), value, "display then parse");
    let json = serde_json::to_string(value).unwrap();
    assert_eq!(
        json,
        serde_json::to_string(&text).unwrap(),
        "serializes as a string"
    );
    assert_eq!(
        &serde_json::from_str::<T>(&json).unwrap(),
        value,
        "JSON round-trip"
    );
}

/// A DID: lowercase method, then identifier characters and `%XX` escapes,
/// not ending in `:`.
pub(crate) fn did() -> impl Strategy<Value = String> {
    prop_oneof![
        "did:[a-z]{1,8}:([A-Za-z0-9._:-]|%[0-9A-Fa-f]{2}){0,30}[A-Za-z0-9._-]",
        "did:plc:[a-z2-7]{24}",
        "did:web:[a-z0-9]{1,10}(\\.[a-z]{2,5}){1,2}(%3A[0-9]{2,5})?",
    ]
}

/// A domain label: 1–63 of `[A-Za-z0-9-]`, no hyphen at either end.
fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?",
        1 => "[A-Za-z0-9][A-Za-z0-9-]{61}[A-Za-z0-9]",
    ]
}

/// A top-level domain: a label that does not start with a digit.
fn tld() -> impl Strategy<Value = String> {
    "[A-Za-z]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?"
}

/// A handle: 1–3 labels and a TLD (at most 4 × 64 - 1 < 253 bytes).
pub(crate) fn handle() -> impl Strategy<Value = String> {
    (prop::collection::vec(label(), 1..=3), tld())
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
}

/// An NSID: a TLD, 1–3 more authority segments and a name.
pub(crate) fn nsid() -> impl Strategy<Value = String> {
    (
        tld(),
        prop::collection::vec(label(), 1..=3),
        "[A-Za-z][A-Za-z0-9]{0,20}",
    )
        .prop_map(|(tld, labels, name)| format!("{tld}.{}.{name}", labels.join(".")))
}

/// A record key: 1–512 of `[A-Za-z0-9._:~-]`, not `.` or `..`.
pub(crate) fn record_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9._:~-]{1,40}",
        "[A-Za-z0-9._:~-]{500,512}",
        select(&["self", "...", "3jzfcijpj2z2a", "literal:self"][..]).prop_map(str::to_owned),
    ]
    .prop_filter("not . or ..", |s| s != "." && s != "..")
}

/// A TID: a first character below `k`, then 12 base32-sortable ones.
pub(crate) fn tid() -> impl Strategy<Value = String> {
    "[2-7a-j][2-7a-z]{12}"
}

/// Days in `month` of `year` (proleptic Gregorian).
fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A Lexicon datetime: a real date and time, 0–20 fraction digits, and `Z`
/// or an offset other than `-00:00`.
pub(crate) fn datetime() -> impl Strategy<Value = String> {
    let date =
        (0u32..=9999, 1u32..=12).prop_flat_map(|(y, m)| (Just(y), Just(m), 1..=days_in(y, m)));
    let time = (
        0u32..24,
        0u32..60,
        0u32..60,
        prop::option::of("[0-9]{1,20}"),
    );
    let zone = prop_oneof![
        Just("Z".to_owned()),
        (select(&['+', '-'][..]), 0u32..24, 0u32..60)
            .prop_filter("-00:00 is not allowed", |(sign, h, m)| {
                (*sign, *h, *m) != ('-', 0, 0)
            })
            .prop_map(|(sign, h, m)| format!("{sign}{h:02}:{m:02}")),
    ];
    (date, time, zone).prop_map(|((y, mo, d), (h, mi, s, fraction), zone)| {
        let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
        // Year 0000 with a positive offset can fall before year 0 in UTC.
        let zone = if y == 0 && zone.starts_with('+') {
            "Z".to_owned()
        } else {
            zone
        };
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{fraction}{zone}")
    })
}

/// Lowercase unpadded base32 (RFC 4648 alphabet).
fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// A CID: a CIDv1 (version 1, any codec varint byte below 0x80, any hash
/// bytes) in base32, or a CIDv0.
pub(crate) fn cid() -> impl Strategy<Value = String> {
    let v1 = (0u8..0x80, prop::collection::vec(any::<u8>(), 2..=100)).prop_map(|(codec, rest)| {
        let mut bytes = vec![1, codec];
        bytes.extend(rest);
        format!("b{}", base32_lower(&bytes))
    });
    let v0 = "Qm[1-9A-HJ-NP-Za-km-z]{44}";
    prop_oneof![3 => v1, 1 => v0]
}

/// An AT-URI with the parts it was built from: (uri, authority,
/// collection, record key).
pub(crate) fn at_uri() -> impl Strategy<Value = (String, String, Option<String>, Option<String>)> {
    let authority = prop_oneof![did(), handle()];
    let path = prop::option::of((nsid(), prop::option::of(record_key())));
    (authority, path).prop_map(|(authority, path)| {
        let (collection, rkey) = match path {
            Some((collection, rkey)) => (Some(collection), rkey),
            None => (None, None),
        };
        let mut uri = format!("at://{authority}");
        for part in collection.iter().chain(rkey.iter()) {
            uri.push('/');
            uri.push_str(part);
        }
        (uri, authority, collection, rkey)
    })
}

#[test]
fn base32_matches_known_cids() {
    assert_eq!(format!("b{}", base32_lower(&[1, 0x55, 0, 0])), "bafkqaaa");
}
