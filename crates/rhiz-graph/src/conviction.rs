//! Conviction: how strongly third parties' attestations stand behind a
//! relationship (PROTOCOL.md "Conviction").
//!
//! Per counting attestation, `weight = base × (0.5 + 1.5 × reputation/100) ×
//! 0.5^(age_days/180) × confidence/100` with base verify +1.0, dispute −1.5,
//! strengthen +0.5, weaken −0.5; `conviction = clamp(round(50 + 50 × Σw /
//! Σ|w|), 0, 100)`, and 50 when nothing counts or every weight is 0.
//!
//! Decisions where PROTOCOL.md is silent:
//!
//! - **Counting**: an attestation counts when its relationship is live and
//!   its attester is not one of the relationship's participants.
//! - **Reputation**: the attester's entry of [`Graph::set_reputation`], or
//!   [`DEFAULT_REPUTATION`](crate::DEFAULT_REPUTATION) (50) when never set.
//! - **Decay and `now`**: the decay factor of every weight shares the factor
//!   `0.5^(now/180)`, which cancels in `Σw / Σ|w|`; weights are therefore
//!   computed relative to the newest counting attestation (no underflow, no
//!   overflow whatever the dates) and the score does not depend on `now`.
//!   An attestation dated after `now` is not clamped to age 0: its weight
//!   follows the same formula, which keeps the score independent of `now`.
//! - **Trend**: the score of the attestations created in the 30 days up to
//!   `now` (and any dated later) against the score of the older ones (50 when
//!   there are none): `increasing` when the recent score is at least 5 points
//!   above, `decreasing` when at least 5 below, else `stable`; `stable` when
//!   there is no recent attestation.
//! - **`last_updated`**: the score is computed on demand, so it is `now`.
//! - **Cost**: a query is O(k) for the k attestations of the relationship,
//!   each one an `exp2`; an attestation event is an O(k) sorted insert. No
//!   running sum is kept, because an attester's reputation (its multiplier)
//!   can change at any time and would leave one stale.

use chrono::{DateTime, Utc};
use rhiz_protocol::{AtUri, AttestationType, Trend};

use crate::graph::{AttestationData, Target, NONE};
use crate::Graph;

const DAY_MS: f64 = 86_400_000.0;
const HALF_LIFE_DAYS: f64 = 180.0;
const RECENT_MS: i64 = 30 * 86_400_000;
const TREND_POINTS: i16 = 5;

/// The conviction of one relationship, with the fields of
/// `net.rhiz.conviction.defs#convictionScore`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conviction {
    /// 0–100; 50 when no attestation counts.
    pub score: u8,
    /// Counting attestations.
    pub attestation_count: u32,
    /// Counting `verify` attestations.
    pub verify_count: u32,
    /// Counting `dispute` attestations.
    pub dispute_count: u32,
    /// Counting `strengthen` attestations.
    pub strengthen_count: u32,
    /// Counting `weaken` attestations.
    pub weaken_count: u32,
    /// Recent attestations against older ones (see the module docs).
    pub trend: Trend,
    /// The highest reputation among counting attesters; 0 when none counts.
    pub top_attester_reputation: u8,
    /// When the score was computed: the `now` of the query.
    pub last_updated: DateTime<Utc>,
}

/// The base weight of an attestation type.
pub(crate) fn base_weight(kind: AttestationType) -> f64 {
    match kind {
        AttestationType::Verify => 1.0,
        AttestationType::Dispute => -1.5,
        AttestationType::Strengthen => 0.5,
        AttestationType::Weaken => -0.5,
    }
}

/// `Σw` and `Σ|w|` of some attestations.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    signed: f64,
    absolute: f64,
    count: u32,
}

impl Sums {
    fn add(&mut self, w: f64) {
        self.signed += w;
        self.absolute += w.abs();
        self.count += 1;
    }

    fn score(self) -> u8 {
        if self.absolute == 0.0 {
            return 50;
        }
        let score = (50.0 + 50.0 * self.signed / self.absolute).round();
        // In [0, 100] by construction; the clamp guards rounding only.
        score.clamp(0.0, 100.0) as u8
    }
}

impl Graph {
    /// The counting attestations of `target` with their weights, oldest
    /// first; `None` when the relationship is not live or none counts.
    fn weighted_attestations<'a>(
        &'a self,
        target: &'a Target,
    ) -> Option<impl Iterator<Item = (&'a AttestationData, f64)> + 'a> {
        let live = target.live.as_ref()?;
        let counting = move || {
            let mut cur = target.first_attestation;
            std::iter::from_fn(move || {
                let id = (cur != NONE).then_some(cur)?;
                let att = &self.attestations.get(id).value;
                cur = att.next;
                Some(att)
            })
            .filter(move |att| !live.ends.contains(&att.attester))
        };
        // The list is sorted by creation time: the last counting one is the newest.
        let newest = counting().map(|a| a.created_ms).last()?;
        Some(counting().map(move |att| {
            let reputation = self.reputation_of(att.attester);
            let age_days = (newest - att.created_ms) as f64 / DAY_MS;
            let w = base_weight(att.kind)
                * (0.5 + 1.5 * f64::from(reputation) / 100.0)
                * (-age_days / HALF_LIFE_DAYS).exp2()
                * f64::from(att.confidence)
                / 100.0;
            (att, w)
        }))
    }

    /// The conviction score alone (it does not depend on `now`), as
    /// [`Graph::conviction`] computes it; 50 when no attestation counts.
    pub(crate) fn conviction_score(&self, target: &Target) -> u8 {
        let mut all = Sums::default();
        for (_, w) in self.weighted_attestations(target).into_iter().flatten() {
            all.add(w);
        }
        all.score()
    }

    /// The conviction of the relationship at `uri` as of `now`.
    ///
    /// `None` when the graph knows neither a relationship nor any
    /// attestation at `uri`. A known URI with no counting attestation (none,
    /// all by participants, or the relationship deleted) has score 50 and
    /// count 0.
    ///
    /// ```
    /// # use rhiz_graph::synthetic::{attestation, relationship};
    /// use rhiz_graph::Graph;
    /// use rhiz_protocol::AttestationType;
    ///
    /// let mut graph = Graph::new();
    /// let rel = relationship("did:plc:a", "did:plc:b", 80, "r1");
    /// let uri = rel.uri.clone();
    /// graph.upsert_relationship(rel)?;
    /// let now = chrono::Utc::now();
    /// graph.upsert_attestation(attestation("did:plc:c", &uri, AttestationType::Verify, 100, now, "a1"))?;
    /// graph.upsert_attestation(attestation("did:plc:d", &uri, AttestationType::Dispute, 100, now, "a2"))?;
    ///
    /// // 50 + 50 × (1.0 − 1.5) / (1.0 + 1.5) = 40
    /// assert_eq!(graph.conviction(&uri, now).unwrap().score, 40);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn conviction(&self, uri: &AtUri, now: DateTime<Utc>) -> Option<Conviction> {
        let slot = self.targets.find(&self.names, uri)?;
        let target = &self.targets.get(slot).value;
        let mut conviction = Conviction {
            score: 50,
            attestation_count: 0,
            verify_count: 0,
            dispute_count: 0,
            strengthen_count: 0,
            weaken_count: 0,
            trend: Trend::Stable,
            top_attester_reputation: 0,
            last_updated: now,
        };
        let Some(weighted) = self.weighted_attestations(target) else {
            return Some(conviction);
        };
        let recent_from = now.timestamp_millis() - RECENT_MS;
        let (mut all, mut recent, mut older) = (Sums::default(), Sums::default(), Sums::default());
        for (att, w) in weighted {
            let reputation = self.reputation_of(att.attester);
            all.add(w);
            if att.created_ms >= recent_from {
                recent.add(w);
            } else {
                older.add(w);
            }
            conviction.top_attester_reputation = conviction.top_attester_reputation.max(reputation);
            *match att.kind {
                AttestationType::Verify => &mut conviction.verify_count,
                AttestationType::Dispute => &mut conviction.dispute_count,
                AttestationType::Strengthen => &mut conviction.strengthen_count,
                AttestationType::Weaken => &mut conviction.weaken_count,
            } += 1;
        }
        conviction.score = all.score();
        conviction.attestation_count = all.count;
        if recent.count > 0 {
            let change = i16::from(recent.score()) - i16::from(older.score());
            conviction.trend = if change >= TREND_POINTS {
                Trend::Increasing
            } else if change <= -TREND_POINTS {
                Trend::Decreasing
            } else {
                Trend::Stable
            };
        }
        Some(conviction)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use rhiz_protocol::{AttestationType::*, Percent};

    use super::*;
    use crate::synthetic::{attestation, relationship};
    use crate::DEFAULT_REPUTATION;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single().unwrap()
    }

    /// A relationship between `did:plc:a` and `did:plc:b` and the given
    /// attestations `(attester, type, confidence, age in days)`.
    fn with(atts: &[(&str, AttestationType, u8, i64)]) -> (Graph, AtUri) {
        let mut g = Graph::new();
        let rel = relationship("did:plc:a", "did:plc:b", 80, "rel");
        let uri = rel.uri.clone();
        g.upsert_relationship(rel).unwrap();
        for (i, &(attester, kind, confidence, age)) in atts.iter().enumerate() {
            g.upsert_attestation(attestation(
                &format!("did:plc:{attester}"),
                &uri,
                kind,
                confidence,
                now() - Duration::days(age),
                &format!("att{i}"),
            ))
            .unwrap();
        }
        (g, uri)
    }

    fn score(atts: &[(&str, AttestationType, u8, i64)]) -> u8 {
        let (g, uri) = with(atts);
        g.conviction(&uri, now()).unwrap().score
    }

    #[test]
    fn each_type_alone_is_all_or_nothing() {
        assert_eq!(score(&[("x", Verify, 80, 0)]), 100);
        assert_eq!(score(&[("x", Strengthen, 10, 400)]), 100);
        assert_eq!(score(&[("x", Dispute, 80, 0)]), 0);
        assert_eq!(score(&[("x", Weaken, 100, 0)]), 0);
    }

    #[test]
    fn mixed_types_weigh_by_their_base() {
        // Equal reputations, confidences and ages: the multipliers cancel.
        // verify + dispute: 50 + 50 × (1 − 1.5)/(1 + 1.5) = 40
        assert_eq!(score(&[("x", Verify, 100, 0), ("y", Dispute, 100, 0)]), 40);
        // verify + weaken: 50 + 50 × 0.5/1.5 = 66.67
        assert_eq!(score(&[("x", Verify, 100, 0), ("y", Weaken, 100, 0)]), 67);
        // strengthen + dispute: 50 + 50 × (−1)/2 = 25
        assert_eq!(
            score(&[("x", Strengthen, 100, 0), ("y", Dispute, 100, 0)]),
            25
        );
        // 3 verify + 2 dispute: 50 + 50 × 0/6 = 50
        let five = [
            ("x", Verify, 100, 0),
            ("y", Verify, 100, 0),
            ("z", Verify, 100, 0),
            ("v", Dispute, 100, 0),
            ("w", Dispute, 100, 0),
        ];
        assert_eq!(score(&five), 50);
    }

    #[test]
    fn decay_halves_a_weight_every_180_days() {
        // verify today 1.25, dispute 180 days ago −1.5 × 1.25 × 0.5 = −0.9375:
        // 50 + 50 × 0.3125/2.1875 = 57.14
        assert_eq!(
            score(&[("x", Verify, 100, 0), ("y", Dispute, 100, 180)]),
            57
        );
        // 360 days: −0.46875 → 50 + 50 × 0.78125/1.71875 = 72.73
        assert_eq!(
            score(&[("x", Verify, 100, 0), ("y", Dispute, 100, 360)]),
            73
        );
        // Only relative ages matter: both 90 days older, same score.
        assert_eq!(
            score(&[("x", Verify, 100, 90), ("y", Dispute, 100, 270)]),
            57
        );
    }

    #[test]
    fn confidence_scales_the_weight() {
        // dispute at confidence 50: same weights as the 180-day decay case.
        assert_eq!(score(&[("x", Verify, 100, 0), ("y", Dispute, 50, 0)]), 57);
        // zero confidence: counted, but no evidence either way.
        let (g, uri) = with(&[("x", Verify, 0, 0)]);
        let c = g.conviction(&uri, now()).unwrap();
        assert_eq!((c.score, c.attestation_count), (50, 1));
    }

    #[test]
    fn reputation_multiplies_from_half_to_double() {
        let (mut g, uri) = with(&[("x", Verify, 100, 0), ("y", Dispute, 100, 0)]);
        g.set_reputation(&"did:plc:x".parse().unwrap(), Percent::new(100).unwrap());
        g.set_reputation(&"did:plc:y".parse().unwrap(), Percent::new(0).unwrap());
        // 2.0 × 1 − 0.5 × 1.5 = 1.25 over 2.75: 50 + 22.73 = 72.73
        let c = g.conviction(&uri, now()).unwrap();
        assert_eq!(c.score, 73);
        assert_eq!(c.top_attester_reputation, 100);
        // Unknown attesters have the default 50 (×1.25), so equal weights.
        let (g, uri) = with(&[("x", Verify, 100, 0)]);
        assert_eq!(
            g.conviction(&uri, now()).unwrap().top_attester_reputation,
            DEFAULT_REPUTATION
        );
    }

    #[test]
    fn no_attestation_gives_50_and_count_0_and_unknown_uri_gives_none() {
        let (g, uri) = with(&[]);
        let c = g.conviction(&uri, now()).unwrap();
        assert_eq!(
            (
                c.score,
                c.attestation_count,
                c.top_attester_reputation,
                c.trend
            ),
            (50, 0, 0, Trend::Stable)
        );
        assert_eq!(c.last_updated, now());
        let other: AtUri = "at://did:plc:a/net.rhiz.relationship.record/nope"
            .parse()
            .unwrap();
        assert_eq!(g.conviction(&other, now()), None);
    }

    #[test]
    fn a_participant_attesting_its_own_relationship_does_not_count() {
        let (g, uri) = with(&[
            ("a", Verify, 100, 0),
            ("b", Verify, 100, 0),
            ("x", Dispute, 100, 0),
        ]);
        let c = g.conviction(&uri, now()).unwrap();
        assert_eq!(
            (
                c.score,
                c.attestation_count,
                c.dispute_count,
                c.verify_count
            ),
            (0, 1, 1, 0)
        );
    }

    #[test]
    fn attestations_of_a_deleted_relationship_stop_counting_and_resume_when_it_returns() {
        let (mut g, uri) = with(&[("x", Verify, 100, 0)]);
        assert!(g.remove_relationship(&uri));
        let c = g.conviction(&uri, now()).unwrap();
        assert_eq!((c.score, c.attestation_count), (50, 0));
        g.upsert_relationship(relationship("did:plc:a", "did:plc:b", 80, "rel"))
            .unwrap();
        assert_eq!(g.conviction(&uri, now()).unwrap().score, 100);
    }

    #[test]
    fn an_attestation_arriving_before_its_relationship_counts_once_it_arrives() {
        let mut g = Graph::new();
        let rel = relationship("did:plc:a", "did:plc:b", 80, "rel");
        g.upsert_attestation(attestation(
            "did:plc:x",
            &rel.uri,
            Dispute,
            100,
            now(),
            "att",
        ))
        .unwrap();
        assert_eq!(g.conviction(&rel.uri, now()).unwrap().attestation_count, 0);
        let uri = rel.uri.clone();
        g.upsert_relationship(rel).unwrap();
        assert_eq!(g.conviction(&uri, now()).unwrap().score, 0);
    }

    #[test]
    fn removing_and_replacing_attestations_updates_the_score() {
        let (mut g, uri) = with(&[("x", Verify, 100, 0), ("y", Dispute, 100, 0)]);
        let dispute: AtUri = "at://did:plc:y/net.rhiz.relationship.attestation/att1"
            .parse()
            .unwrap();
        g.upsert_attestation(attestation("did:plc:y", &uri, Weaken, 100, now(), "att1"))
            .unwrap();
        assert_eq!(g.conviction(&uri, now()).unwrap().score, 67);
        assert!(g.remove_attestation(&dispute));
        assert!(!g.remove_attestation(&dispute));
        let c = g.conviction(&uri, now()).unwrap();
        assert_eq!((c.score, c.attestation_count, c.weaken_count), (100, 1, 0));
    }

    #[test]
    fn trend_compares_the_last_30_days_with_before() {
        let trend = |atts: &[(&str, AttestationType, u8, i64)]| {
            let (g, uri) = with(atts);
            g.conviction(&uri, now()).unwrap().trend
        };
        // Recent dispute (0) against older verify (100).
        assert_eq!(
            trend(&[("x", Verify, 100, 60), ("y", Dispute, 100, 1)]),
            Trend::Decreasing
        );
        // Recent verify (100) against older dispute (0).
        assert_eq!(
            trend(&[("x", Dispute, 100, 60), ("y", Verify, 100, 30)]),
            Trend::Increasing
        );
        // Only recent evidence: compared with the neutral 50.
        assert_eq!(trend(&[("x", Verify, 100, 0)]), Trend::Increasing);
        // Nothing recent: stable.
        assert_eq!(trend(&[("x", Dispute, 100, 31)]), Trend::Stable);
        // Recent agrees with before: stable.
        assert_eq!(
            trend(&[("x", Verify, 100, 60), ("y", Verify, 100, 2)]),
            Trend::Stable
        );
    }

    #[test]
    fn counts_per_type() {
        let (g, uri) = with(&[
            ("x", Verify, 90, 0),
            ("y", Verify, 90, 1),
            ("z", Strengthen, 50, 2),
            ("w", Weaken, 50, 3),
            ("v", Dispute, 50, 4),
        ]);
        let c = g.conviction(&uri, now()).unwrap();
        assert_eq!(
            (
                c.attestation_count,
                c.verify_count,
                c.dispute_count,
                c.strengthen_count,
                c.weaken_count
            ),
            (5, 2, 1, 1, 1)
        );
    }
}
