//! The DID syntax (<https://atproto.com/specs/did>).

use super::{string_identifier, ByteSet};

string_identifier!(
    /// A syntactically valid DID: `did:` + lowercase method + `:` + a
    /// method-specific identifier.
    ///
    /// Any method parses (`plc`, `web`, `key`, …); whether the method is
    /// supported is a question for resolution, not syntax. DIDs are
    /// case-sensitive and compared byte for byte.
    ///
    /// ```
    /// use rhiz_protocol::Did;
    ///
    /// let did: Did = "did:plc:7iza6de2dwap2sbkpav7c6c6".parse()?;
    /// assert_eq!(did.method(), "plc");
    /// assert_eq!(did.method_specific_id(), "7iza6de2dwap2sbkpav7c6c6");
    ///
    /// let web: Did = "did:web:localhost%3A1234".parse()?;
    /// assert_eq!(web.method(), "web");
    ///
    /// let err = "did:PLC:abc".parse::<Did>().unwrap_err();
    /// assert_eq!(err.rule, "method must be lowercase ASCII letters");
    /// # Ok::<(), rhiz_protocol::SyntaxError>(())
    /// ```
    Did,
    "DID",
    check
);

/// The longest DID accepted, in bytes.
pub(crate) const MAX_LEN: usize = 2048;

/// The bytes of a method-specific identifier, `%` aside.
const ID_BYTES: ByteSet = ByteSet::alphanumeric_and(b"._:-");

/// Checks `s` against the DID syntax; returns the broken rule.
pub(crate) fn check(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    if b.len() > MAX_LEN {
        return Err("must be at most 2048 characters");
    }
    let Some(rest) = b.strip_prefix(b"did:") else {
        return Err("must start with \"did:\"");
    };
    let method_len = rest.iter().take_while(|b| b.is_ascii_lowercase()).count();
    match rest.get(method_len) {
        Some(b':') if method_len > 0 => {}
        None | Some(b':') if method_len == 0 => return Err("method must not be empty"),
        None => return Err("method must be followed by ':' and an identifier"),
        Some(_) => return Err("method must be lowercase ASCII letters"),
    }
    check_method_specific_id(&rest[method_len + 1..])
}

/// Checks the part after `did:method:`.
fn check_method_specific_id(id: &[u8]) -> Result<(), &'static str> {
    match id.last() {
        None => return Err("method-specific identifier must not be empty"),
        Some(b':' | b'%') => return Err("method-specific identifier must not end with ':' or '%'"),
        Some(_) => {}
    }
    let mut i = 0;
    while i < id.len() {
        let c = id[i];
        if c == b'%' {
            match id.get(i + 1..i + 3) {
                Some([h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => i += 3,
                _ => return Err("'%' must be followed by two hex digits"),
            }
        } else if ID_BYTES.contains(c) {
            i += 1;
        } else {
            return Err(
                "method-specific identifier may only contain ASCII letters, digits and . _ : % -",
            );
        }
    }
    Ok(())
}

impl Did {
    /// The DID method, e.g. `plc` in `did:plc:abc`.
    pub fn method(&self) -> &str {
        let (method, _) = self.split();
        method
    }

    /// The method-specific identifier, e.g. `abc` in `did:plc:abc`.
    pub fn method_specific_id(&self) -> &str {
        let (_, id) = self.split();
        id
    }

    /// Splits after `did:` at the first `:`, which the syntax guarantees.
    fn split(&self) -> (&str, &str) {
        self.0[4..].split_once(':').unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::arbitrary::{assert_round_trip, did};
    use proptest::prelude::*;

    #[test]
    fn accepts_valid_dids() {
        let long = format!("did:method:{}", "v".repeat(MAX_LEN - 11));
        let valid = [
            "did:method:val",
            "did:method:VAL",
            "did:method:val123",
            "did:method:123",
            "did:method:val-two",
            "did:method:val_two",
            "did:method:val.two",
            "did:method:val:two",
            "did:method:val%BB",
            "did:m:v",
            "did:method::::val",
            "did:method:-",
            "did:method:-:_:.:%ab",
            "did:method:.",
            "did:method:_",
            "did:method::.",
            "did:onion:2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid",
            "did:example:123456789abcdefghi",
            "did:plc:7iza6de2dwap2sbkpav7c6c6",
            "did:web:example.com",
            "did:web:localhost%3A1234",
            "did:key:zQ3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6N",
            "did:ethr:0xb9c5714089478a327f09197987f16f9e5d936e8a",
            &long,
        ];
        for s in valid {
            assert_eq!(check(s), Ok(()), "{s:?}");
            assert_eq!(s.parse::<Did>().unwrap().as_str(), s);
        }
    }

    #[test]
    fn rejects_invalid_dids_with_the_broken_rule() {
        const PREFIX: &str = "must start with \"did:\"";
        const METHOD_CASE: &str = "method must be lowercase ASCII letters";
        const METHOD_EMPTY: &str = "method must not be empty";
        const NO_ID: &str = "method must be followed by ':' and an identifier";
        const ID_EMPTY: &str = "method-specific identifier must not be empty";
        const TRAILING: &str = "method-specific identifier must not end with ':' or '%'";
        const ID_CHARS: &str =
            "method-specific identifier may only contain ASCII letters, digits and . _ : % -";
        const PERCENT: &str = "'%' must be followed by two hex digits";
        let too_long = format!("did:method:{}", "v".repeat(MAX_LEN - 10));
        let invalid = [
            ("", PREFIX),
            ("did", PREFIX),
            ("didmethodval", PREFIX),
            ("method:did:val", PREFIX),
            ("didmethod:val", PREFIX),
            (":did:method:val", PREFIX),
            ("did.method.val", PREFIX),
            ("DID:method:val", PREFIX),
            (" did:method:val", PREFIX),
            ("did:", METHOD_EMPTY),
            ("did::val", METHOD_EMPTY),
            ("did:methodval)", METHOD_CASE),
            ("did:METHOD:val", METHOD_CASE),
            ("did:m123:val", METHOD_CASE),
            ("did:méthod:val", METHOD_CASE),
            ("did:methodval", NO_ID),
            ("did:method:", ID_EMPTY),
            ("did:method:val:", TRAILING),
            ("did:method:val%", TRAILING),
            ("did:method:val/two", ID_CHARS),
            ("did:method:val?two", ID_CHARS),
            ("did:method:val#two", ID_CHARS),
            ("did:method:val two", ID_CHARS),
            ("did:method:val ", ID_CHARS),
            ("did:method:vål", ID_CHARS),
            ("did:method:val%B", PERCENT),
            ("did:method:val%BGx", PERCENT),
            ("did:method:%zz", PERCENT),
            ("did:method:a%%20", PERCENT),
            (&too_long, "must be at most 2048 characters"),
        ];
        for (s, rule) in invalid {
            let err = s.parse::<Did>().unwrap_err();
            assert_eq!((err.kind, err.input.as_str(), err.rule), ("DID", s, rule));
        }
    }

    #[test]
    fn splits_method_and_identifier() {
        let did: Did = "did:web:example.com:user:alice".parse().unwrap();
        assert_eq!(did.method(), "web");
        assert_eq!(did.method_specific_id(), "example.com:user:alice");
    }

    #[test]
    fn deserialize_validates() {
        let ok: Did = serde_json::from_str("\"did:plc:abc\"").unwrap();
        assert_eq!(ok, "did:plc:abc");
        let err = serde_json::from_str::<Did>("\"did:PLC:abc\"").unwrap_err();
        assert!(
            err.to_string().contains("method must be lowercase"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn valid_dids_round_trip(s in did()) {
            let parsed: Did = s.parse().unwrap();
            assert_round_trip(&parsed);
            let (method, id) = s[4..].split_once(':').unwrap();
            prop_assert_eq!(parsed.method(), method);
            prop_assert_eq!(parsed.method_specific_id(), id);
        }

        #[test]
        fn garbage_never_panics(s in "\\PC*", t in "did:[a-z]{0,3}:?[ -~%]{0,12}") {
            let _ = s.parse::<Did>();
            let _ = t.parse::<Did>();
        }
    }
}
