//! The AT-URI syntax (<https://atproto.com/specs/at-uri-scheme>), in the
//! restricted form of the Lexicon `at-uri` string format.

use super::{did, handle, nsid, record_key, string_identifier, Did, Handle, Nsid, RecordKey};

string_identifier!(
    /// A syntactically valid AT-URI, in the restricted form Lexicon records
    /// use: `at://` + authority (a DID or a handle) + optionally
    /// `/collection` (an NSID) + optionally `/record-key`. No query, no
    /// fragment, no trailing slash.
    ///
    /// ```
    /// use rhiz_protocol::{AtUri, Did, Nsid, RecordKey};
    ///
    /// let uri: AtUri = "at://did:plc:asdf123/net.rhiz.relationship.record/3jzfcijpj2z2a".parse()?;
    /// assert_eq!(uri.authority(), "did:plc:asdf123");
    /// assert_eq!(uri.did().map(|did| did.method().to_owned()), Some("plc".to_owned()));
    /// assert_eq!(uri.collection_str(), Some("net.rhiz.relationship.record"));
    /// assert_eq!(uri.rkey_str(), Some("3jzfcijpj2z2a"));
    ///
    /// let did: Did = "did:plc:asdf123".parse()?;
    /// let nsid: Nsid = "net.rhiz.relationship.record".parse()?;
    /// let rkey: RecordKey = "3jzfcijpj2z2a".parse()?;
    /// assert_eq!(AtUri::from_parts(&did, &nsid, &rkey), uri);
    ///
    /// let err = "at://did:plc:asdf123/".parse::<AtUri>().unwrap_err();
    /// assert_eq!(err.rule, "path segments must not be empty (no \"//\" or trailing '/')");
    /// # Ok::<(), rhiz_protocol::SyntaxError>(())
    /// ```
    AtUri,
    "AT-URI",
    check
);

/// The longest AT-URI accepted, in bytes (8 KiB).
const MAX_LEN: usize = 8 * 1024;

const EMPTY_SEGMENT: &str = "path segments must not be empty (no \"//\" or trailing '/')";

/// Checks `s` against the restricted AT-URI syntax; returns the broken rule.
///
/// Errors inside the authority, collection or record key report the rule
/// of that part's own syntax (`"labels must not be empty"`, …).
fn check(s: &str) -> Result<(), &'static str> {
    if s.len() > MAX_LEN {
        return Err("must be at most 8192 characters");
    }
    let Some(rest) = s.strip_prefix("at://") else {
        return Err("must start with \"at://\"");
    };
    if rest.bytes().any(|b| b == b'?' || b == b'#') {
        return Err("must not have a query or fragment");
    }
    let (authority, path) = match rest.split_once('/') {
        Some((authority, path)) => (authority, Some(path)),
        None => (rest, None),
    };
    check_authority(authority)?;
    let Some(path) = path else {
        return Ok(());
    };
    let (collection, rkey) = match path.split_once('/') {
        Some((collection, rkey)) => (collection, Some(rkey)),
        None => (path, None),
    };
    if collection.is_empty() {
        return Err(EMPTY_SEGMENT);
    }
    nsid::check(collection)?;
    let Some(rkey) = rkey else {
        return Ok(());
    };
    if rkey.is_empty() {
        return Err(EMPTY_SEGMENT);
    }
    if rkey.contains('/') {
        return Err("must have at most two path segments: collection and record key");
    }
    record_key::check(rkey)
}

/// Checks the authority: a DID, or else a handle.
fn check_authority(authority: &str) -> Result<(), &'static str> {
    if authority.is_empty() {
        return Err("authority (a DID or a handle) must not be empty");
    }
    if authority.starts_with("did:") {
        did::check(authority)
    } else if authority.contains(':') {
        Err("authority must be a DID (starting with \"did:\") or a handle")
    } else {
        handle::check(authority)
    }
}

impl AtUri {
    /// The URI of a record: `at://{did}/{collection}/{rkey}`.
    pub fn from_parts(did: &Did, collection: &Nsid, rkey: &RecordKey) -> AtUri {
        let (did, collection, rkey) = (did.as_str(), collection.as_str(), rkey.as_str());
        let mut uri = String::with_capacity(7 + did.len() + collection.len() + rkey.len());
        for part in ["at://", did, "/", collection, "/", rkey] {
            uri.push_str(part);
        }
        // Each part's maximum length keeps the sum far below MAX_LEN.
        AtUri::from_checked(uri)
    }

    /// The authority as text: a DID or a handle.
    pub fn authority(&self) -> &str {
        let rest = &self.0["at://".len()..];
        rest.split_once('/')
            .map_or(rest, |(authority, _)| authority)
    }

    /// The path after the authority, `collection[/rkey]`, when there is one.
    fn path(&self) -> Option<&str> {
        self.0["at://".len()..]
            .split_once('/')
            .map(|(_, path)| path)
    }

    /// The authority as a [`Did`], when it is one.
    pub fn did(&self) -> Option<Did> {
        let authority = self.authority();
        authority
            .starts_with("did:")
            .then(|| Did::from_checked(authority.to_owned()))
    }

    /// The authority as a [`Handle`], when it is one.
    pub fn handle(&self) -> Option<Handle> {
        let authority = self.authority();
        (!authority.starts_with("did:")).then(|| Handle::from_checked(authority.to_owned()))
    }

    /// The collection NSID as text, without allocating, when there is one.
    pub fn collection_str(&self) -> Option<&str> {
        let path = self.path()?;
        Some(
            path.split_once('/')
                .map_or(path, |(collection, _)| collection),
        )
    }

    /// The collection NSID of the URI, when it has one.
    pub fn collection(&self) -> Option<Nsid> {
        self.collection_str()
            .map(|collection| Nsid::from_checked(collection.to_owned()))
    }

    /// The record key as text, without allocating, when there is one.
    pub fn rkey_str(&self) -> Option<&str> {
        Some(self.path()?.split_once('/')?.1)
    }

    /// The record key, when the URI names a record.
    pub fn rkey(&self) -> Option<RecordKey> {
        self.rkey_str()
            .map(|rkey| RecordKey::from_checked(rkey.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::arbitrary::{assert_round_trip, at_uri};
    use proptest::prelude::*;

    #[test]
    fn accepts_valid_at_uris() {
        let long_rkey = format!(
            "at://did:plc:asdf123/com.atproto.feed.post/{}",
            "o".repeat(512)
        );
        let valid = [
            "at://did:plc:asdf123",
            "at://user.bsky.social",
            "at://did:plc:asdf123/com.atproto.feed.post",
            "at://did:plc:asdf123/com.atproto.feed.post/record",
            &long_rkey,
            "at://did:plc:asdf123/com.atproto.feed.post/asdf123",
            "at://did:plc:asdf123/com.atproto.feed.post/a",
            "at://did:plc:asdf123/com.atproto.feed.post/asdf-123",
            "at://did:abc:123",
            "at://did:abc:123/io.nsid.someFunc/record-key",
            "at://did:abc:123/io.nsid.someFunc/self.",
            "at://did:abc:123/io.nsid.someFunc/lang:",
            "at://did:abc:123/io.nsid.someFunc/:",
            "at://did:abc:123/io.nsid.someFunc/-",
            "at://did:abc:123/io.nsid.someFunc/_",
            "at://did:abc:123/io.nsid.someFunc/~",
            "at://did:abc:123/io.nsid.someFunc/...",
            "at://did:plc:asdf123/com.atproto.feed.postV2",
            "at://did:web:localhost%3A1234/app.bsky.feed.post/3jzfcijpj2z2a",
            "at://handle.invalid/app.bsky.feed.post/self",
        ];
        for s in valid {
            assert_eq!(check(s), Ok(()), "{s:?}");
        }
    }

    #[test]
    fn rejects_invalid_at_uris_with_the_broken_rule() {
        const SCHEME: &str = "must start with \"at://\"";
        const QUERY: &str = "must not have a query or fragment";
        const NO_AUTHORITY: &str = "authority (a DID or a handle) must not be empty";
        const NOT_DID: &str = "authority must be a DID (starting with \"did:\") or a handle";
        const SEGMENTS: &str = "must have at most two path segments: collection and record key";
        const RKEY_CHARS: &str = "may only contain ASCII letters, digits and . - _ : ~";
        const NSID_SEGMENTS: &str = "must have at least three segments separated by '.'";
        const NSID_NAME: &str = "name may only contain ASCII letters and digits";
        const LABEL_CHARS: &str = "labels may only contain ASCII letters, digits and hyphens";
        let too_long = format!(
            "at://did:plc:asdf123/com.atproto.feed.post/{}",
            "o".repeat(8200)
        );
        let invalid = [
            (too_long.as_str(), "must be at most 8192 characters"),
            ("a://did:plc:asdf123", SCHEME),
            ("at//did:plc:asdf123", SCHEME),
            ("at:/a/did:plc:asdf123", SCHEME),
            ("at:/did:plc:asdf123", SCHEME),
            ("AT://did:plc:asdf123", SCHEME),
            ("http://did:plc:asdf123", SCHEME),
            ("://did:plc:asdf123", SCHEME),
            ("at:did:plc:asdf123", SCHEME),
            ("//did:plc:asdf123", SCHEME),
            (" at://did:plc:asdf123", SCHEME),
            ("#at://did:plc:asdf123", SCHEME),
            ("at:///did:plc:asdf123", NO_AUTHORITY),
            ("at://", NO_AUTHORITY),
            ("at://:/did:plc:asdf123", NOT_DID),
            ("at://diD:plc:asdf123", NOT_DID),
            ("at://DID:plc:asdf123", NOT_DID),
            ("at:/ /did:plc:asdf123", SCHEME),
            (
                "at://did:plc:asdf123 ",
                "method-specific identifier may only contain ASCII letters, digits and . _ : % -",
            ),
            (
                "at://did:plc:asdf@123/com.atproto.feed.post",
                "method-specific identifier may only contain ASCII letters, digits and . _ : % -",
            ),
            (
                "at://did:plc:",
                "method-specific identifier must not be empty",
            ),
            ("at://did:plc:asdf123/ ", NSID_SEGMENTS),
            ("at://did:plc:asdf123/com.atproto.feed.post ", NSID_NAME),
            ("at://did:plc:asdf123/com.atproto.feed.post#", QUERY),
            ("at://did:plc:asdf123/com.atproto.feed.post#/", QUERY),
            ("at://did:plc:asdf123/com.atproto.feed.post#/frag", QUERY),
            ("at://did:plc:asdf123/com.atproto.feed.post#fr ag", QUERY),
            (
                "at://did:plc:asdf123/com.atproto.feed.post/record/#/frag",
                QUERY,
            ),
            ("at://did:plc:asdf123#", QUERY),
            ("at://did:plc:asdf123##", QUERY),
            ("at://did:plc:asdf123#/asdf#/asdf", QUERY),
            ("at://did:plc:asdf123?x=1", QUERY),
            ("at://did:plc:asdf123/com.atproto.feed.post/rec?x=1", QUERY),
            ("at://did:plc:asdf123/com.atproto.feed.post/#23", QUERY),
            (
                "at://name",
                "must have at least two labels separated by '.'",
            ),
            (
                "at://bsky",
                "must have at least two labels separated by '.'",
            ),
            (
                "at://frag",
                "must have at least two labels separated by '.'",
            ),
            (
                "at://name.0",
                "top-level domain must not start with a digit",
            ),
            (
                "at://user.bsky.123",
                "top-level domain must not start with a digit",
            ),
            ("at://user_name.bsky.social", LABEL_CHARS),
            ("at://did:plc:asdf123/com.atproto.feed.p@st", NSID_NAME),
            ("at://did:plc:asdf123/com.atproto.feed.p$st", NSID_NAME),
            ("at://did:plc:asdf123/com.atproto.feed.p%st", NSID_NAME),
            ("at://did:plc:asdf123/com.atproto.feed.p&st", NSID_NAME),
            ("at://did:plc:asdf123/com.atproto.feed.p()t", NSID_NAME),
            ("at://did:plc:asdf123/com.atproto.feed_post", NSID_NAME),
            (
                "at://did:plc:asdf123/-com.atproto.feed.post",
                "domain authority segments must not start or end with a hyphen",
            ),
            ("at://did:plc:asdf123/short/stuff", NSID_SEGMENTS),
            ("at://did:plc:asdf123/12345", NSID_SEGMENTS),
            ("at://did:plc:asdf123/", EMPTY_SEGMENT),
            ("at://user.bsky.social/", EMPTY_SEGMENT),
            ("at://user.bsky.social//", EMPTY_SEGMENT),
            (
                "at://user.bsky.social//com.atproto.feed.post",
                EMPTY_SEGMENT,
            ),
            ("at://user.bsky.social/com.atproto.feed.post//", SEGMENTS),
            ("at://did:plc:asdf123/com.atproto.feed.post/", EMPTY_SEGMENT),
            (
                "at://did:plc:asdf123/com.atproto.feed.post/record/",
                SEGMENTS,
            ),
            (
                "at://did:plc:asdf123/com.atproto.feed.post/asdf123/asdf",
                SEGMENTS,
            ),
            (
                "at://did:plc:asdf123/com.atproto.feed.post/asdf123/more/more',",
                SEGMENTS,
            ),
            ("at://did:plc:asdf123/com.atproto.feed.post/%23", RKEY_CHARS),
            (
                "at://did:plc:asdf123/com.atproto.feed.post/$@!*)(:,;~.sdf123",
                RKEY_CHARS,
            ),
            (
                "at://did:plc:asdf123/com.atproto.feed.post/~'sdf123\")",
                RKEY_CHARS,
            ),
            ("at://did:plc:asdf123/com.atproto.feed.post/$", RKEY_CHARS),
            ("at://did:plc:asdf123/com.atproto.feed.post/@", RKEY_CHARS),
            ("at://did:plc:asdf123/com.atproto.feed.post/!", RKEY_CHARS),
            ("at://did:plc:asdf123/com.atproto.feed.post/*", RKEY_CHARS),
            ("at://did:plc:asdf123/com.atproto.feed.post/(", RKEY_CHARS),
            ("at://did:plc:asdf123/com.atproto.feed.post/,", RKEY_CHARS),
            ("at://did:plc:asdf123/com.atproto.feed.post/;", RKEY_CHARS),
            (
                "at://did:plc:asdf123/com.atproto.feed.post/abc%30123",
                RKEY_CHARS,
            ),
            ("at://did:plc:asdf123/com.atproto.feed.post/%30", RKEY_CHARS),
            ("at://did:plc:asdf123/com.atproto.feed.post/%3", RKEY_CHARS),
            ("at://did:plc:asdf123/com.atproto.feed.post/%", RKEY_CHARS),
            ("at://did:plc:asdf123/com.atproto.feed.post/%zz", RKEY_CHARS),
            ("at://did:plc:asdf123/com.atproto.feed.post/%%%", RKEY_CHARS),
            (
                "at://did:plc:asdf123/com.atproto.feed.post/.",
                "must not be \".\" or \"..\"",
            ),
            (
                "at://did:plc:asdf123/com.atproto.feed.post/..",
                "must not be \".\" or \"..\"",
            ),
        ];
        for (s, rule) in invalid {
            let err = s.parse::<AtUri>().unwrap_err();
            assert_eq!(
                (err.kind, err.input.as_str(), err.rule),
                ("AT-URI", s, rule)
            );
        }
    }

    #[test]
    fn accessors_split_the_parts() {
        let record: AtUri = "at://did:plc:asdf123/com.atproto.feed.post/self"
            .parse()
            .unwrap();
        assert_eq!(record.authority(), "did:plc:asdf123");
        assert_eq!(record.did().unwrap(), "did:plc:asdf123");
        assert_eq!(record.handle(), None);
        assert_eq!(record.collection().unwrap(), "com.atproto.feed.post");
        assert_eq!(record.rkey().unwrap(), "self");

        let collection: AtUri = "at://alice.test/com.atproto.feed.post".parse().unwrap();
        assert_eq!(collection.authority(), "alice.test");
        assert_eq!(collection.did(), None);
        assert_eq!(collection.handle().unwrap(), "alice.test");
        assert_eq!(collection.collection_str(), Some("com.atproto.feed.post"));
        assert_eq!(collection.rkey(), None);

        let repo: AtUri = "at://did:web:example.com".parse().unwrap();
        assert_eq!(repo.authority(), "did:web:example.com");
        assert_eq!((repo.collection(), repo.rkey()), (None, None));
    }

    proptest! {
        #[test]
        fn valid_at_uris_round_trip((s, authority, collection, rkey) in at_uri()) {
            let parsed: AtUri = s.parse().unwrap();
            assert_round_trip(&parsed);
            prop_assert_eq!(parsed.authority(), authority.as_str());
            prop_assert_eq!(parsed.collection_str(), collection.as_deref());
            prop_assert_eq!(parsed.rkey_str(), rkey.as_deref());
            prop_assert_eq!(parsed.did().is_some(), authority.starts_with("did:"));
            prop_assert_eq!(parsed.handle().is_some(), !authority.starts_with("did:"));
        }

        #[test]
        fn from_parts_round_trips(
            did in crate::syntax::arbitrary::did(),
            collection in crate::syntax::arbitrary::nsid(),
            rkey in crate::syntax::arbitrary::record_key(),
        ) {
            let (did, collection, rkey): (Did, Nsid, RecordKey) =
                (did.parse().unwrap(), collection.parse().unwrap(), rkey.parse().unwrap());
            let uri = AtUri::from_parts(&did, &collection, &rkey);
            prop_assert_eq!(check(uri.as_str()), Ok(()));
            prop_assert_eq!(uri.did(), Some(did));
            prop_assert_eq!(uri.collection(), Some(collection));
            prop_assert_eq!(uri.rkey(), Some(rkey));
            assert_round_trip(&uri);
        }

        #[test]
        fn garbage_never_panics(s in "\\PC*", t in "at://[a-z:.]{0,10}(/[a-z.#?%]{0,8}){0,3}") {
            let _ = s.parse::<AtUri>();
            let _ = t.parse::<AtUri>();
        }
    }
}
