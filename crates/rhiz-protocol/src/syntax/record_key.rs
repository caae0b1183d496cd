//! The record key syntax (<https://atproto.com/specs/record-key>).

use super::{string_identifier, ByteSet, Tid};

string_identifier!(
    /// A syntactically valid record key: 1–512 characters of
    /// `A-Z a-z 0-9 . - _ : ~`, other than `.` and `..`.
    ///
    /// Keys of collections with the `tid` key type are also [`Tid`]s, which
    /// convert with `RecordKey::from(tid)`.
    ///
    /// ```
    /// use rhiz_protocol::RecordKey;
    ///
    /// assert!("self".parse::<RecordKey>().is_ok());
    /// assert!("literal:self".parse::<RecordKey>().is_ok());
    /// assert!("..".parse::<RecordKey>().is_err());
    /// ```
    RecordKey,
    "record key",
    check
);

/// The longest record key accepted, in bytes.
pub(crate) const MAX_LEN: usize = 512;

/// Letters, digits and `. - _ : ~`. The spec lists `_` among the allowed
/// characters and the interop vectors use it (`~1.2-3_`).
const KEY_BYTES: ByteSet = ByteSet::alphanumeric_and(b".-_:~");

/// Checks `s` against the record key syntax; returns the broken rule.
pub(crate) fn check(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err("must not be empty");
    }
    if b.len() > MAX_LEN {
        return Err("must be at most 512 characters");
    }
    if !KEY_BYTES.contains_all(b) {
        return Err("may only contain ASCII letters, digits and . - _ : ~");
    }
    if b == b"." || b == b".." {
        return Err("must not be \".\" or \"..\"");
    }
    Ok(())
}

impl From<Tid> for RecordKey {
    fn from(tid: Tid) -> RecordKey {
        RecordKey::from_checked(tid.into_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::arbitrary::{assert_round_trip, record_key};
    use proptest::prelude::*;

    #[test]
    fn accepts_valid_record_keys() {
        let longest = "o".repeat(MAX_LEN);
        let valid = [
            "self",
            "example.com",
            "~1.2-3_",
            "dHJ1ZQ",
            "_",
            "literal:self",
            "pre:fix",
            ":",
            "-",
            "~",
            "...",
            "self.",
            "lang:",
            ":lang",
            "3jzfcijpj2z2a",
            &longest,
        ];
        for s in valid {
            assert_eq!(check(s), Ok(()), "{s:?}");
        }
    }

    #[test]
    fn rejects_invalid_record_keys_with_the_broken_rule() {
        const CHARS: &str = "may only contain ASCII letters, digits and . - _ : ~";
        const DOTS: &str = "must not be \".\" or \"..\"";
        let too_long = "o".repeat(MAX_LEN + 1);
        let invalid = [
            ("", "must not be empty"),
            (too_long.as_str(), "must be at most 512 characters"),
            (".", DOTS),
            ("..", DOTS),
            ("alpha/beta", CHARS),
            ("#extra", CHARS),
            ("@handle", CHARS),
            ("any space", CHARS),
            ("any+space", CHARS),
            ("number[3]", CHARS),
            ("number(3)", CHARS),
            ("\"quote\"", CHARS),
            ("dHJ1ZQ==", CHARS),
            ("%23", CHARS),
            ("ké", CHARS),
        ];
        for (s, rule) in invalid {
            let err = s.parse::<RecordKey>().unwrap_err();
            assert_eq!(
                (err.kind, err.input.as_str(), err.rule),
                ("record key", s, rule)
            );
        }
    }

    #[test]
    fn every_tid_is_a_record_key() {
        let tid: Tid = "3jzfcijpj2z2a".parse().unwrap();
        assert_eq!(RecordKey::from(tid), "3jzfcijpj2z2a");
    }

    proptest! {
        #[test]
        fn valid_record_keys_round_trip(s in record_key()) {
            assert_round_trip(&s.parse::<RecordKey>().unwrap());
        }

        #[test]
        fn garbage_never_panics(s in "\\PC*") {
            let _ = s.parse::<RecordKey>();
        }
    }
}
