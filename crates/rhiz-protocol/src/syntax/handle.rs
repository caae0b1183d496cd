//! The handle syntax (<https://atproto.com/specs/handle>).

use super::{check_domain_label, string_identifier, LabelError};

string_identifier!(
    /// A syntactically valid handle: a DNS name of at least two labels whose
    /// top-level domain does not start with a digit.
    ///
    /// Handles are case-insensitive; the parsed value keeps the case it was
    /// given, and [`Handle::normalized`] gives the lowercase form to compare
    /// or store. TLDs the protocol disallows for registration (`.local`,
    /// `.arpa`, `.invalid`, …) still parse: they are syntactically valid, and
    /// `handle.invalid` is the marker the API uses for an unknown handle.
    ///
    /// ```
    /// use rhiz_protocol::Handle;
    ///
    /// let handle: Handle = "Alice.Bsky.Social".parse()?;
    /// assert_eq!(handle.normalized().as_str(), "alice.bsky.social");
    /// assert!("4chan.org".parse::<Handle>().is_ok());
    /// assert!("john.0".parse::<Handle>().is_err());
    /// # Ok::<(), rhiz_protocol::SyntaxError>(())
    /// ```
    Handle,
    "handle",
    check
);

/// The longest handle accepted, in bytes.
pub(crate) const MAX_LEN: usize = 253;

/// Checks `s` against the handle syntax; returns the broken rule.
pub(crate) fn check(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err("must not be empty");
    }
    if b.len() > MAX_LEN {
        return Err("must be at most 253 characters");
    }
    let mut labels = 0usize;
    let mut last = &b[..0];
    for label in b.split(|&c| c == b'.') {
        check_domain_label(label).map_err(|e| match e {
            LabelError::Empty => "labels must not be empty",
            LabelError::TooLong => "labels must be at most 63 characters",
            LabelError::BadCharacter => "labels may only contain ASCII letters, digits and hyphens",
            LabelError::EdgeHyphen => "labels must not start or end with a hyphen",
        })?;
        labels += 1;
        last = label;
    }
    if labels < 2 {
        return Err("must have at least two labels separated by '.'");
    }
    if last[0].is_ascii_digit() {
        return Err("top-level domain must not start with a digit");
    }
    Ok(())
}

impl Handle {
    /// The handle the API reports when a DID's handle cannot be verified.
    pub const INVALID_MARKER: &'static str = "handle.invalid";

    /// The `handle.invalid` marker as a [`Handle`].
    pub fn invalid() -> Handle {
        Handle::from_checked(Self::INVALID_MARKER.to_owned())
    }

    /// Whether this is the `handle.invalid` marker (in any case).
    pub fn is_invalid_marker(&self) -> bool {
        self.0.eq_ignore_ascii_case(Self::INVALID_MARKER)
    }

    /// The handle in lowercase, its canonical form: handles are
    /// case-insensitive.
    pub fn normalized(&self) -> Handle {
        Handle(self.0.to_ascii_lowercase().into())
    }

    /// Whether the handle is already in lowercase, so that
    /// [`Handle::normalized`] would return an equal value.
    pub fn is_normalized(&self) -> bool {
        !self.0.bytes().any(|b| b.is_ascii_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::arbitrary::{assert_round_trip, handle};
    use proptest::prelude::*;

    /// `'shoooort' + '.loooooooooooooooooooooooooong'.repeat(n) + '.test'`.
    fn long_handle(n: usize) -> String {
        format!(
            "shoooort{}.test",
            ".loooooooooooooooooooooooooong".repeat(n)
        )
    }

    #[test]
    fn accepts_valid_handles() {
        let longest = long_handle(8);
        assert_eq!(longest.len(), MAX_LEN);
        let longest_label = format!("short.{}.test", "o".repeat(63));
        let valid = [
            "A.ISI.EDU",
            "XX.LCS.MIT.EDU",
            "SRI-NIC.ARPA",
            "john.test",
            "a234567890123456789.test",
            "john2.test",
            "john-john.test",
            "john.bsky.app",
            "jo.hn",
            "a.co",
            "j0.h0",
            "jaymome-johnber123456.test",
            "jay.mome-johnber123456.test",
            "john.test.bsky.app",
            &longest,
            &longest_label,
            "john.t",
            // disallowed for registration, syntactically valid
            "laptop.local",
            "laptop.arpa",
            "handle.invalid",
            "xn--ls8h.test",
            "xn--bcher-kva.tld",
            "expyuzz4wqqyqhjn.onion",
            "friend.2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion",
            // digits are fine everywhere but the start of the TLD
            "12345.test",
            "8.cn",
            "4chan.org",
            "4chan.o-g",
            "blah.4chan.org",
            "thing.a01",
            "120.0.0.1.com",
            "0john.test",
            "9sta--ck.com",
            "john.t--t",
            "thing.0aa.thing",
            "sta---ck.com",
            "xn--stackoverflow.com",
            "stackoverflow.xn--com",
            "xn--fiqa61au8b7zsevnm8ak20mc4a87e.xn--fiqs8s",
        ];
        for s in valid {
            assert_eq!(check(s), Ok(()), "{s:?}");
        }
    }

    #[test]
    fn rejects_invalid_handles_with_the_broken_rule() {
        const EMPTY_LABEL: &str = "labels must not be empty";
        const LONG_LABEL: &str = "labels must be at most 63 characters";
        const CHARS: &str = "labels may only contain ASCII letters, digits and hyphens";
        const HYPHEN: &str = "labels must not start or end with a hyphen";
        const TWO_LABELS: &str = "must have at least two labels separated by '.'";
        const TLD_DIGIT: &str = "top-level domain must not start with a digit";
        let too_long = long_handle(9);
        let too_long_label = format!("short.{}.test", "o".repeat(64));
        let invalid = [
            ("", "must not be empty"),
            (too_long.as_str(), "must be at most 253 characters"),
            (&too_long_label, LONG_LABEL),
            ("did:thing.test", CHARS),
            ("did:thing", CHARS),
            ("jo_hn.test", CHARS),
            ("jo!hn.test", CHARS),
            ("jo%hn.test", CHARS),
            ("jo&hn.test", CHARS),
            ("jo@hn.test", CHARS),
            ("jo*hn.test", CHARS),
            ("jo|hn.test", CHARS),
            ("jo:hn.test", CHARS),
            ("jo/hn.test", CHARS),
            ("john💩.test", CHARS),
            ("bücher.test", CHARS),
            ("john .test", CHARS),
            (" john.test", CHARS),
            ("john.test ", CHARS),
            ("www.masełkowski.pl.com", CHARS),
            ("fe80::7325:8a97:c100:94b", CHARS),
            ("john-.test", HYPHEN),
            ("xn--bcher-.tld", HYPHEN),
            ("-john.test", HYPHEN),
            ("john.-", HYPHEN),
            ("joh-.test", HYPHEN),
            ("john.-est", HYPHEN),
            ("john.tes-", HYPHEN),
            ("-notvalid.at-all", HYPHEN),
            ("john..test", EMPTY_LABEL),
            (".john.test", EMPTY_LABEL),
            ("john.test.", EMPTY_LABEL),
            ("john.", EMPTY_LABEL),
            (".john", EMPTY_LABEL),
            ("john", TWO_LABELS),
            ("org", TWO_LABELS),
            ("io", TWO_LABELS),
            ("john.0", TLD_DIGIT),
            ("cn.8", TLD_DIGIT),
            ("thing.0aa", TLD_DIGIT),
            ("127.0.0.1", TLD_DIGIT),
            ("192.168.0.142", TLD_DIGIT),
        ];
        for (s, rule) in invalid {
            let err = s.parse::<Handle>().unwrap_err();
            assert_eq!(
                (err.kind, err.input.as_str(), err.rule),
                ("handle", s, rule)
            );
        }
    }

    #[test]
    fn normalizes_to_lowercase() {
        let handle: Handle = "XX.LCS.MIT.EDU".parse().unwrap();
        assert!(!handle.is_normalized());
        let lower = handle.normalized();
        assert_eq!(lower, "xx.lcs.mit.edu");
        assert!(lower.is_normalized());
        assert_ne!(handle, lower, "the parsed value keeps its case");
    }

    #[test]
    fn invalid_marker_parses() {
        let marker: Handle = "handle.invalid".parse().unwrap();
        assert_eq!(marker, Handle::invalid());
        assert!(marker.is_invalid_marker());
        assert!("Handle.Invalid"
            .parse::<Handle>()
            .unwrap()
            .is_invalid_marker());
        assert!(!"alice.test".parse::<Handle>().unwrap().is_invalid_marker());
    }

    proptest! {
        #[test]
        fn valid_handles_round_trip(s in handle()) {
            let parsed: Handle = s.parse().unwrap();
            assert_round_trip(&parsed);
            let lower = parsed.normalized();
            prop_assert_eq!(lower.as_str(), s.to_ascii_lowercase());
            prop_assert!(lower.is_normalized());
        }

        #[test]
        fn garbage_never_panics(s in "\\PC*", t in "[a-z0-9.-]{0,12}") {
            let _ = s.parse::<Handle>();
            let _ = t.parse::<Handle>();
        }
    }
}
