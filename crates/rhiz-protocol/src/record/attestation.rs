//! `net.rhiz.relationship.attestation`: a third party's statement about a relationship.

use serde::Serializer;
use serde_json::{Map, Value};

use super::validate::{
    array, closed, closed_enum, integer, serde_via_json, serialize_via_write_json, Json,
    JsonWriter, Object, Path,
};
use super::{Percent, RecordError};
use crate::{AtUri, Datetime, Did};

closed_enum!(
    /// What an attestation says about its relationship (closed enum).
    AttestationType {
        /// `verify`: the relationship is real.
        Verify => "verify",
        /// `dispute`: the relationship is not real.
        Dispute => "dispute",
        /// `strengthen`: the relationship is stronger than recorded.
        Strengthen => "strengthen",
        /// `weaken`: the relationship is weaker than recorded.
        Weaken => "weaken",
    }
);

closed_enum!(
    /// A relationship field an attestation is specifically about (closed enum).
    TargetField {
        /// `strength`
        Strength => "strength",
        /// `type`
        Type => "type",
        /// `context`
        Context => "context",
        /// `verification`
        Verification => "verification",
    }
);

/// The optional economic stake on an attestation (`stakeInfo`).
#[derive(Debug, Clone, PartialEq)]
pub struct Stake {
    /// `amount` of tokens, at least 0.
    pub amount: u64,
    /// `token` symbol, e.g. `RHIZ`.
    pub token: String,
    /// `lockedUntil`.
    pub locked_until: Option<Datetime>,
    /// `slashingRisk`, the share of the stake at risk.
    pub slashing_risk: Option<Percent>,
    /// `slashed` (default `false`).
    pub slashed: Option<bool>,
    /// Keys the lexicon does not define, kept verbatim.
    pub extra: Map<String, Value>,
}

impl Stake {
    const KNOWN: &'static [&'static str] =
        &["amount", "token", "lockedUntil", "slashingRisk", "slashed"];

    fn from_json(value: &Json<'_>, path: &Path<'_>) -> Result<Self, RecordError> {
        let o = Object::new(value, path)?;
        Ok(Self {
            amount: o.field("amount", |v, p| integer(v, p, 0, Some(i64::MAX)))?,
            token: o.string("token", None)?,
            locked_until: o.opt_formatted("lockedUntil", "datetime")?,
            slashing_risk: o.opt_percent("slashingRisk")?,
            slashed: o.opt_bool("slashed")?,
            extra: o.extra(Self::KNOWN),
        })
    }

    fn write_json<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        JsonWriter::new(serializer, None, Self::KNOWN)?
            .put("amount", self.amount)?
            .put("token", self.token.as_str())?
            .put_opt(
                "lockedUntil",
                self.locked_until.as_ref().map(Datetime::as_str),
            )?
            .put_opt("slashingRisk", self.slashing_risk)?
            .put_opt("slashed", self.slashed)?
            .finish(&self.extra)
    }

    /// `slashed`, `false` when absent.
    pub fn is_slashed(&self) -> bool {
        self.slashed.unwrap_or(false)
    }
}

/// A `net.rhiz.relationship.attestation` record (record key: a TID).
#[derive(Debug, Clone, PartialEq)]
pub struct Attestation {
    /// `targetRelationship`: the AT-URI of the relationship attested.
    pub target_relationship: AtUri,
    /// `attester`: must be the repository owner (checked by
    /// [`Event`](crate::Event), which knows the author).
    pub attester: Did,
    /// `attestationType`.
    pub attestation_type: AttestationType,
    /// `confidence`.
    pub confidence: Percent,
    /// `evidence`, at most 1000 bytes.
    pub evidence: Option<String>,
    /// `suggestedStrength`, meaningful for strengthen and weaken.
    pub suggested_strength: Option<Percent>,
    /// `targetFields`: the fields attested, when not the whole relationship.
    pub target_fields: Option<Vec<TargetField>>,
    /// `createdAt`.
    pub created_at: Datetime,
    /// `stake`.
    pub stake: Option<Stake>,
    /// Keys the lexicon does not define, kept verbatim.
    pub extra: Map<String, Value>,
}

const KNOWN: &[&str] = &[
    "$type",
    "targetRelationship",
    "attester",
    "attestationType",
    "confidence",
    "evidence",
    "suggestedStrength",
    "targetFields",
    "createdAt",
    "stake",
];

impl Attestation {
    /// The collection NSID.
    pub const NSID: &'static str = "net.rhiz.relationship.attestation";
    /// Most bytes of `evidence`.
    pub const EVIDENCE_MAX_BYTES: usize = 1000;

    /// Validates an attestation record against its lexicon.
    ///
    /// ```
    /// use rhiz_protocol::{Attestation, AttestationType};
    /// use serde_json::json;
    ///
    /// let a = Attestation::from_json(&json!({
    ///     "targetRelationship": "at://did:plc:wa7b35aakoll7hugkrjtf3xf/net.rhiz.relationship.record/3l3pte3p2e325",
    ///     "attester": "did:plc:eygmaihciaxprqvxpfvl6flk",
    ///     "attestationType": "verify",
    ///     "confidence": 90,
    ///     "createdAt": "2024-09-09T19:46:02.102Z"
    /// }))
    /// .unwrap();
    /// assert_eq!(a.attestation_type, AttestationType::Verify);
    /// ```
    pub fn from_json_ref(value: &Json<'_>) -> Result<Self, RecordError> {
        let o = Object::new(value, &Path::Root)?;
        o.record_type(Self::NSID)?;
        Ok(Self {
            target_relationship: o.formatted("targetRelationship", "at-uri")?,
            attester: o.formatted("attester", "did")?,
            attestation_type: o.closed("attestationType")?,
            confidence: o.percent("confidence")?,
            evidence: o.opt_string("evidence", Some(Self::EVIDENCE_MAX_BYTES))?,
            suggested_strength: o.opt_percent("suggestedStrength")?,
            target_fields: o.opt_field("targetFields", |v, p| array(v, p, 0, None, closed))?,
            created_at: o.formatted("createdAt", "datetime")?,
            stake: o.opt_field("stake", Stake::from_json)?,
            extra: o.extra(KNOWN),
        })
    }

    /// The lexicon JSON, with `$type` and the preserved unknown keys.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a record serializes to JSON")
    }

    fn write_json<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        JsonWriter::new(serializer, Some(Self::NSID), KNOWN)?
            .put("targetRelationship", self.target_relationship.as_str())?
            .put("attester", self.attester.as_str())?
            .put("attestationType", self.attestation_type.as_str())?
            .put("confidence", self.confidence)?
            .put_opt("evidence", self.evidence.as_deref())?
            .put_opt("suggestedStrength", self.suggested_strength)?
            .put_opt("targetFields", self.target_fields.as_deref())?
            .put("createdAt", self.created_at.as_str())?
            .put_opt("stake", self.stake.as_ref())?
            .finish(&self.extra)
    }
}

serde_via_json!(Attestation);
serialize_via_write_json!(Stake);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::test_support::{
        attestation_json, expect_err, with, with_path, without, without_path,
    };
    use crate::record::RecordErrorKind;
    use proptest::prelude::*;
    use serde_json::json;

    fn parse(v: &Value) -> Result<Attestation, RecordError> {
        Attestation::from_json(v)
    }

    /// The record of the Jetstream example in CONTRACT §8.
    fn firehose_example() -> Value {
        let event: Value = serde_json::from_str(
            r#"{"did":"did:plc:eygmaihciaxprqvxpfvl6flk","time_us":1725911162329308,"kind":"commit",
 "commit":{"rev":"3l3qo2vutsw2b","operation":"create","collection":"net.rhiz.relationship.attestation",
  "rkey":"3l3qo2vuowo2b","record":{"$type":"net.rhiz.relationship.attestation",
  "targetRelationship":"at://did:plc:wa7b35aakoll7hugkrjtf3xf/net.rhiz.relationship.record/3l3pte3p2e325",
  "attester":"did:plc:eygmaihciaxprqvxpfvl6flk","attestationType":"verify","confidence":90,
  "createdAt":"2024-09-09T19:46:02.102Z"},
  "cid":"bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi"}}"#,
        )
        .unwrap();
        event["commit"]["record"].clone()
    }

    #[test]
    fn firehose_example_is_valid() {
        let record = firehose_example();
        let a = parse(&record).unwrap();
        assert_eq!(a.attester.as_str(), "did:plc:eygmaihciaxprqvxpfvl6flk");
        assert_eq!(a.attestation_type, AttestationType::Verify);
        assert_eq!(a.confidence.get(), 90);
        assert_eq!(a.evidence, None);
        assert_eq!(a.to_json(), record);
    }

    #[test]
    fn valid_attestations() {
        let cases = [
            attestation_json(),
            firehose_example(),
            without(
                attestation_json(),
                &[
                    "evidence",
                    "suggestedStrength",
                    "targetFields",
                    "stake",
                    "$type",
                ],
            ),
            with(attestation_json(), "targetFields", json!([])),
            with(
                attestation_json(),
                "targetFields",
                json!(["strength", "type", "context", "verification"]),
            ),
            with(attestation_json(), "evidence", json!("ß".repeat(500))),
            with(attestation_json(), "confidence", json!(0)),
            with(
                attestation_json(),
                "stake",
                json!({"amount": 0, "token": "RHIZ"}),
            ),
            with(attestation_json(), "suggestedStrength", Value::Null),
        ];
        for case in cases {
            let a = parse(&case).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(parse(&a.to_json()), Ok(a));
        }
        for t in AttestationType::ALLOWED {
            assert_eq!(
                parse(&with(attestation_json(), "attestationType", json!(t)))
                    .unwrap()
                    .attestation_type
                    .as_str(),
                *t
            );
        }
    }

    #[test]
    fn invalid_attestations() {
        let cases: &[(Value, &str)] = &[
            (json!(null), "record: must be an object"),
            (
                without(attestation_json(), &["targetRelationship"]),
                "targetRelationship: is required",
            ),
            (
                without(attestation_json(), &["attester"]),
                "attester: is required",
            ),
            (
                without(attestation_json(), &["attestationType"]),
                "attestationType: is required",
            ),
            (
                without(attestation_json(), &["confidence"]),
                "confidence: is required",
            ),
            (
                without(attestation_json(), &["createdAt"]),
                "createdAt: is required",
            ),
            (
                without_path(attestation_json(), &["stake", "token"]),
                "stake.token: is required",
            ),
            (
                with(attestation_json(), "confidence", json!(101)),
                "confidence: must be an integer from 0 to 100",
            ),
            (
                with(attestation_json(), "suggestedStrength", json!(-1)),
                "suggestedStrength: must be an integer from 0 to 100",
            ),
            (
                with_path(attestation_json(), &["stake", "slashingRisk"], json!(120)),
                "stake.slashingRisk: must be an integer from 0 to 100",
            ),
            (
                with_path(attestation_json(), &["stake", "amount"], json!(-10)),
                "stake.amount: must be an integer from 0 to",
            ),
            (
                with_path(attestation_json(), &["stake", "slashed"], json!(1)),
                "stake.slashed: must be a boolean",
            ),
            (
                with(attestation_json(), "targetFields", json!("strength")),
                "targetFields: must be an array",
            ),
            (
                with(attestation_json(), "stake", json!("lots")),
                "stake: must be an object",
            ),
            (
                with(
                    attestation_json(),
                    "$type",
                    json!("net.rhiz.relationship.record"),
                ),
                "$type: must be \"net.rhiz.relationship.attestation\"",
            ),
        ];
        for (case, msg) in cases {
            expect_err(parse(case), msg);
        }
    }

    #[test]
    fn missing_required_field() {
        expect_err(
            parse(&without(attestation_json(), &["confidence"])),
            "confidence: is required",
        );
        expect_err(
            parse(&with(attestation_json(), "attester", Value::Null)),
            "attester: is required",
        );
    }

    #[test]
    fn wrong_json_type() {
        expect_err(
            parse(&with(attestation_json(), "confidence", json!(90.0))),
            "confidence: must be an integer from 0 to 100",
        );
        expect_err(
            parse(&with(attestation_json(), "evidence", json!({"text": "x"}))),
            "evidence: must be a string",
        );
        expect_err(
            parse(&with(attestation_json(), "attester", json!(42))),
            "attester: must be a did string",
        );
    }

    #[test]
    fn integer_out_of_range() {
        let e = expect_err(
            parse(&with(attestation_json(), "confidence", json!(1000))),
            "confidence: must be an integer from 0 to 100",
        );
        assert_eq!(
            e.kind(),
            &RecordErrorKind::OutOfRange {
                min: 0,
                max: Some(100)
            }
        );
    }

    #[test]
    fn unknown_closed_enum_values_are_rejected() {
        expect_err(
            parse(&with(
                attestation_json(),
                "attestationType",
                json!("endorse"),
            )),
            "attestationType: must be one of verify, dispute, strengthen, weaken",
        );
        expect_err(
            parse(&with(attestation_json(), "attestationType", json!(1))),
            "attestationType: must be one of verify, dispute, strengthen, weaken",
        );
        expect_err(
            parse(&with(
                attestation_json(),
                "targetFields",
                json!(["strength", "privacy"]),
            )),
            "targetFields[1]: must be one of strength, type, context, verification",
        );
        assert!("VERIFY".parse::<AttestationType>().is_err());
    }

    #[test]
    fn unknown_known_values_do_not_apply_but_open_token_is_accepted() {
        // The attestation lexicon has no knownValues field; its one free
        // vocabulary is the stake token, which takes any string.
        let a = parse(&with_path(
            attestation_json(),
            &["stake", "token"],
            json!("XYZ-NEW"),
        ))
        .unwrap();
        assert_eq!(a.stake.map(|s| s.token), Some("XYZ-NEW".to_owned()));
    }

    #[test]
    fn max_length_counts_utf8_bytes() {
        // 999 ASCII bytes + "é" = 1001 bytes in 1000 characters.
        let evidence = format!("{}é", "a".repeat(999));
        assert_eq!(evidence.chars().count(), 1000);
        expect_err(
            parse(&with(attestation_json(), "evidence", json!(evidence))),
            "evidence: must be at most 1000 bytes of UTF-8 (got 1001)",
        );
        assert!(parse(&with(
            attestation_json(),
            "evidence",
            json!("a".repeat(1000))
        ))
        .is_ok());
    }

    #[test]
    fn bad_formats() {
        expect_err(
            parse(&with(
                attestation_json(),
                "targetRelationship",
                json!("https://example.com/rel/1"),
            )),
            "targetRelationship: must be a valid at-uri",
        );
        expect_err(
            parse(&with(
                attestation_json(),
                "attester",
                json!("eygmaihciaxprqvxpfvl6flk"),
            )),
            "attester: must be a valid did",
        );
        expect_err(
            parse(&with(attestation_json(), "createdAt", json!("09/09/2024"))),
            "createdAt: must be a valid datetime",
        );
        expect_err(
            parse(&with_path(
                attestation_json(),
                &["stake", "lockedUntil"],
                json!("soon"),
            )),
            "stake.lockedUntil: must be a valid datetime",
        );
    }

    #[test]
    fn wrong_record_type() {
        expect_err(
            parse(&with(
                firehose_example(),
                "$type",
                json!("net.rhiz.relationship.attestations"),
            )),
            "$type: must be \"net.rhiz.relationship.attestation\" when present",
        );
    }

    #[test]
    fn unknown_fields_are_preserved() {
        let mut v = with(attestation_json(), "signature", json!("base64=="));
        v["stake"]["chain"] = json!("base");
        let a = parse(&v).unwrap();
        assert_eq!(a.extra.get("signature"), Some(&json!("base64==")));
        assert_eq!(
            a.stake.as_ref().and_then(|s| s.extra.get("chain")),
            Some(&json!("base"))
        );
        assert_eq!(a.to_json(), v);
    }

    proptest! {
        #[test]
        fn json_round_trip(a in crate::record::test_support::arb_attestation()) {
            prop_assert_eq!(parse(&a.to_json()), Ok(a.clone()));
            let text = serde_json::to_string(&a).unwrap();
            prop_assert_eq!(serde_json::from_str::<Attestation>(&text).unwrap(), a);
        }
    }
}
