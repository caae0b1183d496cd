//! The CID string forms found in records and firehose operations.

use super::string_identifier;

string_identifier!(
    /// A syntactically valid CID string: a CIDv1 in multibase base32 lower
    /// (`b` prefix, as in `bafyrei…` and `bafkrei…`) or a legacy CIDv0
    /// (`Qm` + 44 base58btc characters).
    ///
    /// The check is strict about the alphabet and the version, lenient about
    /// everything else: any codec and any hash parse. Other multibase
    /// encodings (`z…`, `f…`, …) are rejected: atproto writes CIDs in base32.
    ///
    /// ```
    /// use rhiz_protocol::Cid;
    ///
    /// let cid: Cid = "bafyreia7ynav34ectatdqfe3k4cgkdgqsmztefekqa3e2ddxwyyotewz7y".parse()?;
    /// assert_eq!(cid.version(), 1);
    /// assert!("bafyBEIG".parse::<Cid>().is_err());
    /// # Ok::<(), rhiz_protocol::SyntaxError>(())
    /// ```
    Cid,
    "CID",
    check
);

/// Shortest CIDv1 accepted: `b` + 7 base32 characters, the 4 bytes of
/// version, codec, hash code and a zero digest length.
const MIN_V1_LEN: usize = 8;
/// Longest CIDv1 accepted: room for a 128-byte digest.
const MAX_V1_LEN: usize = 256;
/// A CIDv0 is `Qm` + 44 base58btc characters: a sha2-256 multihash.
const V0_LEN: usize = 46;

/// Checks `s` against the CID string forms; returns the broken rule.
fn check(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    match b {
        [b'b', rest @ ..] => check_v1_base32(rest),
        [b'Q', b'm', rest @ ..] => check_v0(rest),
        _ => Err("must be a CIDv1 in base32 ('b' prefix) or a CIDv0 ('Qm' prefix)"),
    }
}

/// Checks the base32 text of a CIDv1, after the multibase prefix `b`.
fn check_v1_base32(text: &[u8]) -> Result<(), &'static str> {
    if text.len() + 1 < MIN_V1_LEN || text.len() + 1 > MAX_V1_LEN {
        return Err("CIDv1 must be between 8 and 256 characters");
    }
    if !text
        .iter()
        .all(|&c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c))
    {
        return Err("CIDv1 may only contain base32 lowercase characters a-z and 2-7");
    }
    // The first byte is the version, 0x01 = 00000 001xx…: "a" then one of
    // "efgh" (which also carries the top bits of the codec).
    if text[0] != b'a' || !(b'e'..=b'h').contains(&text[1]) {
        return Err("CIDv1 must encode version 1 (start with \"bae\" to \"bah\")");
    }
    // 5 bits per character: 1, 3 or 6 characters past a multiple of 8 would
    // leave a partial byte.
    if matches!(text.len() % 8, 1 | 3 | 6) {
        return Err("CIDv1 base32 length must encode a whole number of bytes");
    }
    Ok(())
}

/// Checks the text of a CIDv0 after `Qm`.
fn check_v0(text: &[u8]) -> Result<(), &'static str> {
    if text.len() + 2 != V0_LEN {
        return Err("CIDv0 must be \"Qm\" followed by 44 base58btc characters");
    }
    let base58 = |c: &u8| c.is_ascii_alphanumeric() && !matches!(c, b'0' | b'O' | b'I' | b'l');
    if !text.iter().all(base58) {
        return Err("CIDv0 may only contain base58btc characters (no 0, O, I or l)");
    }
    Ok(())
}

impl Cid {
    /// The CID version: 1 for base32 CIDs, 0 for `Qm…` CIDs.
    pub fn version(&self) -> u8 {
        u8::from(self.0.starts_with('b'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::arbitrary::{assert_round_trip, cid};
    use proptest::prelude::*;

    #[test]
    fn accepts_valid_cids() {
        let valid = [
            "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
            "bafybeie5gq4jxvzmsym6hjlwxej4rwdoxt7wadqvmmwbqi7r27fclha2va",
            "bafyreia7ynav34ectatdqfe3k4cgkdgqsmztefekqa3e2ddxwyyotewz7y",
            "bafkreia7ynav34ectatdqfe3k4cgkdgqsmztefekqa3e2ddxwyyotewz7y",
            // dag-json: a two-byte codec varint
            "baguqeerad7bucxpqqkmcmoautnlqizim2cjtgmqurkadmtimo63db2ms3h7a",
            // shortest: version, codec, identity hash, empty digest
            "bafkqaaa",
            "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR",
        ];
        for s in valid {
            assert_eq!(check(s), Ok(()), "{s:?}");
        }
        assert_eq!(valid[0].parse::<Cid>().unwrap().version(), 1);
        assert_eq!(valid[6].parse::<Cid>().unwrap().version(), 0);
    }

    #[test]
    fn rejects_invalid_cids_with_the_broken_rule() {
        const FORM: &str = "must be a CIDv1 in base32 ('b' prefix) or a CIDv0 ('Qm' prefix)";
        const V1_LEN: &str = "CIDv1 must be between 8 and 256 characters";
        const V1_CHARS: &str = "CIDv1 may only contain base32 lowercase characters a-z and 2-7";
        const V1_VERSION: &str = "CIDv1 must encode version 1 (start with \"bae\" to \"bah\")";
        const V1_BYTES: &str = "CIDv1 base32 length must encode a whole number of bytes";
        const V0_LENGTH: &str = "CIDv0 must be \"Qm\" followed by 44 base58btc characters";
        const V0_CHARS: &str = "CIDv0 may only contain base58btc characters (no 0, O, I or l)";
        let too_long = format!("bafy{}", "a".repeat(253));
        let invalid = [
            ("", FORM),
            ("example.com", FORM),
            ("https://example.com", FORM),
            (
                "cid:bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
                FORM,
            ),
            (".", FORM),
            ("12345", FORM),
            ("noop", FORM),
            (
                " bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
                FORM,
            ),
            (
                "Bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
                FORM,
            ),
            // other multibase encodings are not what atproto writes
            ("zdj7WWeQ43G6JJvLWQWZpyHuAMq6uYWRjkBXFad11vE2LHhQ7", FORM),
            ("mBcDxtdWx0aWhhc2g+", FORM),
            (
                "f017012202c5f688262e0ece8569aa6f94d60aad55ca8d9d83734e4a7430d0cff6588ec2b",
                FORM,
            ),
            ("7134036155352661643226414134664076", FORM),
            ("b", V1_LEN),
            ("bafyrei", V1_LEN),
            (&too_long, V1_LEN),
            (
                "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi ",
                V1_CHARS,
            ),
            (
                "bafybe igdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
                V1_CHARS,
            ),
            (
                "bafyBEIGdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
                V1_CHARS,
            ),
            (
                "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzd1",
                V1_CHARS,
            ),
            (
                "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzd=",
                V1_CHARS,
            ),
            (
                "bciqbwqxbekc3p8tqskc98xmwnzrzdtrlmimpl8wbutgsmnra",
                V1_CHARS,
            ),
            (
                "bbfybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
                V1_VERSION,
            ),
            (
                "bamybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
                V1_VERSION,
            ),
            (
                "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzd",
                V1_BYTES,
            ),
            ("Qm", V0_LENGTH),
            ("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMn", V0_LENGTH),
            ("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnRR", V0_LENGTH),
            ("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMn0", V0_CHARS),
            ("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnl", V0_CHARS),
            ("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsM+R", V0_CHARS),
        ];
        for (s, rule) in invalid {
            let err = s.parse::<Cid>().unwrap_err();
            assert_eq!((err.kind, err.input.as_str(), err.rule), ("CID", s, rule));
        }
    }

    proptest! {
        #[test]
        fn valid_cids_round_trip(s in cid()) {
            let parsed: Cid = s.parse().unwrap();
            assert_round_trip(&parsed);
            prop_assert_eq!(parsed.version(), u8::from(!s.starts_with("Qm")));
        }

        #[test]
        fn garbage_never_panics(s in "\\PC*", t in "(b|Qm)[a-zA-Z0-9]{0,60}") {
            let _ = s.parse::<Cid>();
            let _ = t.parse::<Cid>();
        }
    }
}
