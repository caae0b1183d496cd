//! `net.rhiz.entity.profile`: a DID's profile.

use serde::Serializer;
use serde_json::{Map, Value};

use super::validate::{open_enum, serde_via_json, uri, Json, JsonWriter, Object, Path};
use super::RecordError;
use crate::Datetime;

open_enum!(
    /// What kind of entity a profile describes (`knownValues`, so open).
    EntityType {
        /// `person`
        Person => "person",
        /// `organization`
        Organization => "organization",
        /// `agent`
        Agent => "agent",
    }
);

/// A `net.rhiz.entity.profile` record (record key `self`).
#[derive(Debug, Clone, PartialEq)]
pub struct EntityProfile {
    /// `displayName`, at most 200 bytes.
    pub display_name: String,
    /// `entityType`.
    pub entity_type: EntityType,
    /// `bio`, at most 1000 bytes.
    pub bio: Option<String>,
    /// `avatarUrl`, a URI with a scheme.
    pub avatar_url: Option<String>,
    /// `verified` as written by the owner (default `false`). Self-reported:
    /// rhiz never trusts it.
    pub verified: Option<bool>,
    /// `metadata`, any JSON object.
    pub metadata: Option<Map<String, Value>>,
    /// `createdAt`.
    pub created_at: Datetime,
    /// Keys the lexicon does not define, kept verbatim.
    pub extra: Map<String, Value>,
}

const KNOWN: &[&str] = &[
    "$type",
    "displayName",
    "entityType",
    "bio",
    "avatarUrl",
    "verified",
    "metadata",
    "createdAt",
];

impl EntityProfile {
    /// The collection NSID.
    pub const NSID: &'static str = "net.rhiz.entity.profile";
    /// Most bytes of `displayName`.
    pub const DISPLAY_NAME_MAX_BYTES: usize = 200;
    /// Most bytes of `bio`.
    pub const BIO_MAX_BYTES: usize = 1000;

    /// Validates a profile record against its lexicon.
    ///
    /// ```
    /// use rhiz_protocol::{EntityProfile, EntityType};
    /// use serde_json::json;
    ///
    /// let p = EntityProfile::from_json(&json!({
    ///     "displayName": "Ada", "entityType": "agent", "createdAt": "2024-09-09T19:46:02.102Z"
    /// }))
    /// .unwrap();
    /// assert_eq!(p.entity_type, EntityType::Agent);
    /// ```
    pub fn from_json_ref(value: &Json<'_>) -> Result<Self, RecordError> {
        let o = Object::new(value, &Path::Root)?;
        o.record_type(Self::NSID)?;
        Ok(Self {
            display_name: o.string("displayName", Some(Self::DISPLAY_NAME_MAX_BYTES))?,
            entity_type: EntityType::from(o.string("entityType", None)?),
            bio: o.opt_string("bio", Some(Self::BIO_MAX_BYTES))?,
            avatar_url: o.opt_field("avatarUrl", uri)?,
            verified: o.opt_bool("verified")?,
            metadata: o.opt_field("metadata", |v, p| Ok(Object::new(v, p)?.extra(&[])))?,
            created_at: o.formatted("createdAt", "datetime")?,
            extra: o.extra(KNOWN),
        })
    }

    /// The lexicon JSON, with `$type` and the preserved unknown keys.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a record serializes to JSON")
    }

    fn write_json<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        JsonWriter::new(serializer, Some(Self::NSID), KNOWN)?
            .put("displayName", self.display_name.as_str())?
            .put("entityType", self.entity_type.as_str())?
            .put_opt("bio", self.bio.as_deref())?
            .put_opt("avatarUrl", self.avatar_url.as_deref())?
            .put_opt("verified", self.verified)?
            .put_opt("metadata", self.metadata.as_ref())?
            .put("createdAt", self.created_at.as_str())?
            .finish(&self.extra)
    }

    /// `verified`, `false` when absent. Self-reported, not an endorsement.
    pub fn is_verified(&self) -> bool {
        self.verified.unwrap_or(false)
    }
}

serde_via_json!(EntityProfile);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::test_support::{expect_err, profile_json, with, without};
    use crate::record::RecordErrorKind;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn valid_profiles() {
        let cases = [
            profile_json(),
            without(
                profile_json(),
                &["bio", "avatarUrl", "verified", "metadata", "$type"],
            ),
            with(profile_json(), "entityType", json!("organization")),
            with(profile_json(), "bio", json!("é".repeat(500))),
            with(profile_json(), "displayName", json!("x".repeat(200))),
            with(
                profile_json(),
                "avatarUrl",
                json!("at://did:plc:abc/app.bsky.actor.profile/self"),
            ),
            with(profile_json(), "metadata", json!({})),
            with(profile_json(), "bio", Value::Null),
        ];
        for case in cases {
            let p = EntityProfile::from_json(&case).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(EntityProfile::from_json(&p.to_json()), Ok(p));
        }
    }

    #[test]
    fn invalid_profiles() {
        let cases: &[(Value, &str)] = &[
            (json!([]), "record: must be an object"),
            (
                without(profile_json(), &["displayName"]),
                "displayName: is required",
            ),
            (
                with(profile_json(), "displayName", Value::Null),
                "displayName: is required",
            ),
            (
                without(profile_json(), &["entityType"]),
                "entityType: is required",
            ),
            (
                without(profile_json(), &["createdAt"]),
                "createdAt: is required",
            ),
            (
                with(profile_json(), "displayName", json!(7)),
                "displayName: must be a string",
            ),
            (
                with(profile_json(), "entityType", json!(["person"])),
                "entityType: must be a string",
            ),
            (
                with(profile_json(), "verified", json!("yes")),
                "verified: must be a boolean",
            ),
            (
                with(profile_json(), "metadata", json!([1])),
                "metadata: must be an object",
            ),
            (
                with(profile_json(), "avatarUrl", json!("example.com/a.png")),
                "avatarUrl: must be a valid uri",
            ),
            (
                with(profile_json(), "createdAt", json!("yesterday")),
                "createdAt: must be a valid datetime",
            ),
            (
                with(profile_json(), "$type", json!("net.rhiz.entity.profilex")),
                "$type: must be \"net.rhiz.entity.profile\"",
            ),
        ];
        for (case, msg) in cases {
            expect_err(EntityProfile::from_json(case), msg);
        }
    }

    #[test]
    fn missing_required_field() {
        expect_err(
            EntityProfile::from_json(&without(profile_json(), &["displayName"])),
            "displayName: is required",
        );
    }

    #[test]
    fn wrong_json_type() {
        expect_err(
            EntityProfile::from_json(&with(profile_json(), "bio", json!(false))),
            "bio: must be a string",
        );
    }

    #[test]
    fn unknown_known_value_is_accepted() {
        let p =
            EntityProfile::from_json(&with(profile_json(), "entityType", json!("dao"))).unwrap();
        assert_eq!(p.entity_type, EntityType::Other("dao".into()));
        assert!(!p.entity_type.is_known());
        assert_eq!(p.to_json()["entityType"], json!("dao"));
    }

    #[test]
    fn max_length_counts_utf8_bytes() {
        // 199 ASCII bytes + "é" (2 bytes) = 201 bytes but only 200 characters.
        let name = format!("{}é", "a".repeat(199));
        assert_eq!(name.chars().count(), 200);
        let e = expect_err(
            EntityProfile::from_json(&with(profile_json(), "displayName", json!(name))),
            "displayName: must be at most 200 bytes of UTF-8 (got 201)",
        );
        assert_eq!(
            e.kind(),
            &RecordErrorKind::TooLong {
                max_bytes: 200,
                actual_bytes: 201
            }
        );
        expect_err(
            EntityProfile::from_json(&with(profile_json(), "bio", json!("€".repeat(334)))),
            "bio: must be at most 1000 bytes",
        );
    }

    #[test]
    fn bad_formats() {
        expect_err(
            EntityProfile::from_json(&with(profile_json(), "createdAt", json!("2024-09-09"))),
            "createdAt: must be a valid datetime",
        );
        expect_err(
            EntityProfile::from_json(&with(profile_json(), "avatarUrl", json!("https://a b"))),
            "avatarUrl: must be a valid uri",
        );
        expect_err(
            EntityProfile::from_json(&with(profile_json(), "avatarUrl", json!(3))),
            "avatarUrl: must be a uri string",
        );
    }

    #[test]
    fn record_type_must_match_when_present() {
        expect_err(
            EntityProfile::from_json(&with(
                profile_json(),
                "$type",
                json!("net.rhiz.relationship.record"),
            )),
            "$type: must be \"net.rhiz.entity.profile\"",
        );
        expect_err(
            EntityProfile::from_json(&with(profile_json(), "$type", json!(1))),
            "$type: must be",
        );
        let p = EntityProfile::from_json(&without(profile_json(), &["$type"])).unwrap();
        assert_eq!(p.to_json()["$type"], json!(EntityProfile::NSID));
    }

    #[test]
    fn unknown_fields_are_preserved() {
        let input = with(profile_json(), "pronouns", json!({"en": "she/her"}));
        let p = EntityProfile::from_json(&input).unwrap();
        assert_eq!(p.extra.get("pronouns"), Some(&json!({"en": "she/her"})));
        assert_eq!(p.to_json(), input);
    }

    #[test]
    fn verified_defaults_to_false() {
        let p = EntityProfile::from_json(&without(profile_json(), &["verified"])).unwrap();
        assert!(!p.is_verified());
    }

    proptest! {
        #[test]
        fn json_round_trip(p in crate::record::test_support::arb_profile()) {
            prop_assert_eq!(EntityProfile::from_json(&p.to_json()), Ok(p.clone()));
            let text = serde_json::to_string(&p).unwrap();
            prop_assert_eq!(serde_json::from_str::<EntityProfile>(&text).unwrap(), p);
        }
    }
}
