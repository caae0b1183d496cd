//! The NSID syntax (<https://atproto.com/specs/nsid>).

use super::{check_domain_label, string_identifier, LabelError};

string_identifier!(
    /// A syntactically valid Namespaced Identifier: a reversed domain
    /// authority (`com.example`) followed by a name (`fooBar`), as in
    /// `com.example.fooBar`.
    ///
    /// ```
    /// use rhiz_protocol::Nsid;
    ///
    /// let nsid: Nsid = "net.rhiz.relationship.record".parse()?;
    /// assert_eq!(nsid.authority(), "net.rhiz.relationship");
    /// assert_eq!(nsid.name(), "record");
    /// assert_eq!(nsid.authority_domain(), "relationship.rhiz.net");
    /// # Ok::<(), rhiz_protocol::SyntaxError>(())
    /// ```
    Nsid,
    "NSID",
    check
);

/// The longest NSID accepted, in bytes: a 253-byte domain authority, a
/// period and a 63-byte name.
///
/// The spec's prose also caps the authority alone at 253 bytes, but the
/// reference implementations and the interop test vectors only cap the
/// whole NSID (`com` + `.middle` × 40 + `.foo` is valid there), so neither
/// does this parser: rhiz must accept every collection the network accepts.
pub(crate) const MAX_LEN: usize = 317;

/// Checks `s` against the NSID syntax; returns the broken rule.
pub(crate) fn check(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    if b.len() > MAX_LEN {
        return Err("must be at most 317 characters");
    }
    let (authority, name) = match b.iter().rposition(|&c| c == b'.') {
        Some(dot) if b[..dot].contains(&b'.') => (&b[..dot], &b[dot + 1..]),
        _ => return Err("must have at least three segments separated by '.'"),
    };
    for segment in authority.split(|&c| c == b'.') {
        check_domain_label(segment).map_err(|e| match e {
            LabelError::Empty => "segments must not be empty",
            LabelError::TooLong => "segments must be at most 63 characters",
            LabelError::BadCharacter => {
                "domain authority segments may only contain ASCII letters, digits and hyphens"
            }
            LabelError::EdgeHyphen => {
                "domain authority segments must not start or end with a hyphen"
            }
        })?;
    }
    if authority[0].is_ascii_digit() {
        return Err("first segment (top-level domain) must not start with a digit");
    }
    match name.first() {
        None => return Err("segments must not be empty"),
        Some(_) if name.len() > 63 => return Err("segments must be at most 63 characters"),
        Some(_) if !name.iter().all(u8::is_ascii_alphanumeric) => {
            return Err("name may only contain ASCII letters and digits")
        }
        Some(c) if c.is_ascii_digit() => return Err("name must not start with a digit"),
        Some(_) => {}
    }
    Ok(())
}

impl Nsid {
    /// The domain authority as written, reversed: `com.example` in
    /// `com.example.fooBar`.
    pub fn authority(&self) -> &str {
        let (authority, _) = self.split();
        authority
    }

    /// The name, the last segment: `fooBar` in `com.example.fooBar`.
    /// Names are case-sensitive.
    pub fn name(&self) -> &str {
        let (_, name) = self.split();
        name
    }

    /// The domain authority as a DNS name, in lowercase: `example.com` for
    /// `com.Example.fooBar`. The authority is case-insensitive.
    pub fn authority_domain(&self) -> String {
        let authority = self.authority();
        let mut domain = String::with_capacity(authority.len());
        for (i, segment) in authority.rsplit('.').enumerate() {
            if i > 0 {
                domain.push('.');
            }
            domain.push_str(segment);
        }
        domain.make_ascii_lowercase();
        domain
    }

    /// Splits at the last `.`, which the syntax guarantees.
    fn split(&self) -> (&str, &str) {
        self.0.rsplit_once('.').unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::arbitrary::{assert_round_trip, nsid};
    use proptest::prelude::*;

    fn middles(n: usize) -> String {
        format!("com{}.foo", ".middle".repeat(n))
    }

    #[test]
    fn accepts_valid_nsids() {
        let longest_segment = format!("com.{}.foo", "o".repeat(63));
        let longest_name = format!("com.example.{}", "o".repeat(63));
        let longest = format!(
            "com.{}.{}.{}",
            vec!["o".repeat(63); 3].join("."),
            "o".repeat(57),
            "o".repeat(63)
        );
        assert_eq!(longest.len(), MAX_LEN);
        // 283-byte authority: allowed, see MAX_LEN
        let long = middles(40);
        let valid = [
            longest_segment.as_str(),
            &longest_name,
            &longest,
            &long,
            "com.example.fooBar",
            "com.example.fooBarV2",
            "net.users.bob.ping",
            "a.b.c",
            "m.xn--masekowski-d0b.pl",
            "one.two.three",
            "one.two.three.four-and.FiVe",
            "one.2.three",
            "a-0.b-1.c",
            "a0.b1.cc",
            "cn.8.lex.stuff",
            "test.12345.record",
            "a01.thing.record",
            "a.0.c",
            "xn--fiqs8s.xn--fiqa61au8b7zsevnm8ak20mc4a87e.record.two",
            "com.example.f00",
            "onion.expyuzz4wqqyqhjn.spec.getThing",
            "org.4chan.lex.getThing",
            "net.rhiz.relationship.record",
        ];
        for s in valid {
            assert_eq!(check(s), Ok(()), "{s:?}");
        }
    }

    #[test]
    fn rejects_invalid_nsids_with_the_broken_rule() {
        const SEGMENTS: &str = "must have at least three segments separated by '.'";
        const EMPTY: &str = "segments must not be empty";
        const LONG: &str = "segments must be at most 63 characters";
        const AUTH_CHARS: &str =
            "domain authority segments may only contain ASCII letters, digits and hyphens";
        const HYPHEN: &str = "domain authority segments must not start or end with a hyphen";
        const TLD_DIGIT: &str = "first segment (top-level domain) must not start with a digit";
        const NAME_CHARS: &str = "name may only contain ASCII letters and digits";
        const NAME_DIGIT: &str = "name must not start with a digit";
        let long_segment = format!("com.{}.foo", "o".repeat(64));
        let long_name = format!("com.example.{}", "o".repeat(64));
        let too_long = middles(50);
        let invalid = [
            ("", SEGMENTS),
            ("example.com", SEGMENTS),
            ("com.example", SEGMENTS),
            ("a.", SEGMENTS),
            ("one", SEGMENTS),
            (long_segment.as_str(), LONG),
            (&long_name, LONG),
            (&too_long, "must be at most 317 characters"),
            (".one.two.three", EMPTY),
            ("one.two..three", EMPTY),
            ("one.two.three.", EMPTY),
            ("com.exa💩ple.thing", AUTH_CHARS),
            ("one .two.three", AUTH_CHARS),
            (" one.two.three", AUTH_CHARS),
            ("com.example_x.foo", AUTH_CHARS),
            ("com.example-.foo", HYPHEN),
            ("-com.example.foo", HYPHEN),
            ("1.0.0.127.record", TLD_DIGIT),
            ("0two.example.foo", TLD_DIGIT),
            ("com.example.foo.*", NAME_CHARS),
            ("com.example.foo.blah*", NAME_CHARS),
            ("com.example.foo.*blah", NAME_CHARS),
            ("a-0.b-1.c-3", NAME_CHARS),
            ("a-0.b-1.c-o", NAME_CHARS),
            ("one.two.three ", NAME_CHARS),
            ("com.atproto.feed.p@st", NAME_CHARS),
            ("com.atproto.feed.p_st", NAME_CHARS),
            ("com.atproto.feed.p*st", NAME_CHARS),
            ("com.atproto.feed.po#t", NAME_CHARS),
            ("com.atproto.feed.p!ot", NAME_CHARS),
            ("com.example.fooBar.2", NAME_DIGIT),
            ("com.example.3d", NAME_DIGIT),
        ];
        for (s, rule) in invalid {
            let err = s.parse::<Nsid>().unwrap_err();
            assert_eq!((err.kind, err.input.as_str(), err.rule), ("NSID", s, rule));
        }
    }

    #[test]
    fn splits_authority_and_name() {
        let nsid: Nsid = "Com.Example.sub.fooBar".parse().unwrap();
        assert_eq!(nsid.authority(), "Com.Example.sub");
        assert_eq!(nsid.name(), "fooBar");
        assert_eq!(nsid.authority_domain(), "sub.example.com");
    }

    proptest! {
        #[test]
        fn valid_nsids_round_trip(s in nsid()) {
            let parsed: Nsid = s.parse().unwrap();
            assert_round_trip(&parsed);
            prop_assert_eq!(format!("{}.{}", parsed.authority(), parsed.name()), s);
        }

        #[test]
        fn garbage_never_panics(s in "\\PC*", t in "[a-z0-9.*-]{0,12}") {
            let _ = s.parse::<Nsid>();
            let _ = t.parse::<Nsid>();
        }
    }
}
