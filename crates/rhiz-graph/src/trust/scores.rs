//! The per-DID scores: reputation from the propagated mass, and what a
//! DID's own relationships give (counts, reciprocity, consistency), then the
//! trust score (formulas on [`TrustTable`](crate::TrustTable)).

use crate::trust::inputs::{Facts, Inputs};

/// Conviction at which a relationship counts as verified.
pub(crate) const VERIFIED_CONVICTION: u8 = 70;
/// Fixed-point unit of the per-DID sums of fractions (2³²): integer sums
/// do not depend on the order of the terms.
const FIXED: f64 = 4_294_967_296.0;

/// The figures of one DID's own relationships (distrust records aside).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct OwnFigures {
    /// `n`.
    pub(crate) relationships: u32,
    /// `n_v`: conviction ≥ 70.
    pub(crate) verified: u32,
    /// Last interaction in the 30 days before now.
    pub(crate) recent: u32,
    /// Σ strength of the mutual ones.
    pub(crate) mutual_strength: u64,
    /// Σ strength of all.
    pub(crate) total_strength: u64,
    /// Σ recency, in units of 2⁻³².
    pub(crate) recency_sum: u64,
    /// Σ (1 − σ/50), in units of 2⁻³².
    pub(crate) stability_sum: u64,
}

impl OwnFigures {
    /// `round(100 · mutual / total)`, 0 when the total is 0.
    pub(crate) fn reciprocity(&self) -> u8 {
        ratio_percent(
            u128::from(self.mutual_strength),
            u128::from(self.total_strength),
        )
    }

    /// `round(100 · (Σ recency + Σ stability) / 2n)`, 0 when `n = 0`.
    pub(crate) fn consistency(&self) -> u8 {
        let sum = u128::from(self.recency_sum) + u128::from(self.stability_sum);
        ratio_percent(sum, 2 * u128::from(self.relationships) * (1 << 32))
    }

    /// The mean of a fixed-point sum over the relationships.
    pub(crate) fn mean(&self, fixed_sum: u64) -> f64 {
        match self.relationships {
            0 => 0.0,
            n => fixed_sum as f64 / FIXED / f64::from(n),
        }
    }
}

/// `round(100 · part / whole)`, half up, 0 when `whole = 0`.
fn ratio_percent(part: u128, whole: u128) -> u8 {
    if whole == 0 {
        return 0;
    }
    let percent = (200 * part + whole) / (2 * whole);
    u8::try_from(percent.min(100)).unwrap_or(100)
}

/// The fixed-point form of a fraction in [0, 1].
fn fixed(x: f64) -> u64 {
    (x.clamp(0.0, 1.0) * FIXED).round() as u64
}

/// The own figures of every DID, by position. Every figure is an integer
/// sum, so the order of the relationships does not matter.
pub(crate) fn own_figures(inputs: &Inputs) -> Vec<OwnFigures> {
    let relationships: Vec<&Facts> = inputs
        .relationships
        .iter()
        .filter(|facts| !facts.distrust)
        .collect();
    let mutual = mutual_pairs(&relationships);
    let mut figures = vec![OwnFigures::default(); inputs.len()];
    for (facts, mutual) in relationships.iter().zip(mutual) {
        let strength = u64::from(facts.strength);
        let recency = fixed(facts.recency);
        let stability = fixed(1.0 - f64::from(facts.deviation) / 50.0);
        for &end in &facts.ends {
            let own = &mut figures[end as usize];
            own.relationships += 1;
            own.verified += u32::from(facts.conviction >= VERIFIED_CONVICTION);
            own.recent += u32::from(facts.recent);
            own.total_strength += strength;
            own.mutual_strength += if mutual { strength } else { 0 };
            own.recency_sum += recency;
            own.stability_sum += stability;
        }
    }
    figures
}

/// Whether each relationship is mutual: both participants endorse some
/// relationship of the same pair.
fn mutual_pairs(relationships: &[&Facts]) -> Vec<bool> {
    let mut mutual: Vec<bool> = relationships
        .iter()
        .map(|facts| facts.endorsed == [true, true])
        .collect();
    if mutual.iter().all(|&m| m) {
        return mutual;
    }
    // (pair, index, low end endorses, high end endorses)
    let mut by_pair: Vec<(u64, u32, [bool; 2])> = relationships
        .iter()
        .zip(0u32..)
        .map(|(facts, i)| {
            let [a, b] = facts.ends;
            let (key, endorsed) = if a < b {
                ((u64::from(a) << 32) | u64::from(b), facts.endorsed)
            } else {
                (
                    (u64::from(b) << 32) | u64::from(a),
                    [facts.endorsed[1], facts.endorsed[0]],
                )
            };
            (key, i, endorsed)
        })
        .collect();
    by_pair.sort_unstable_by_key(|&(key, i, _)| (key, i));
    for pair in by_pair.chunk_by(|x, y| x.0 == y.0) {
        let both = pair.iter().any(|p| p.2[0]) && pair.iter().any(|p| p.2[1]);
        for &(_, i, _) in pair {
            mutual[i as usize] = both;
        }
    }
    mutual
}

/// `reputation` of a final mass `m` among `participants` DIDs: 0 when
/// `m = 0`, else `clamp(round(50 + 50/3 · log10(N·m)), 0, 100)`.
pub(crate) fn reputation(mass: f64, participants: usize) -> u8 {
    if mass <= 0.0 || participants == 0 {
        return 0;
    }
    let score = 50.0 + 50.0 / 3.0 * (participants as f64 * mass).log10();
    score.round().clamp(0.0, 100.0) as u8
}

/// `round(reputation · (0.4 + 0.2·reciprocity/100 + 0.2·consistency/100 +
/// 0.2·verified/n))`, in integers so that it follows from the published
/// figures exactly.
pub(crate) fn trust_score(
    reputation: u8,
    reciprocity: u8,
    consistency: u8,
    verified: u32,
    relationships: u32,
) -> u8 {
    let n = u64::from(relationships.max(1));
    // factor = (4000·n + 20·reciprocity·n + 20·consistency·n + 2000·verified) / (10000·n)
    let factor = 4000 * n
        + 20 * u64::from(reciprocity) * n
        + 20 * u64::from(consistency) * n
        + 2000 * u64::from(verified.min(relationships));
    let whole = 10_000 * n;
    let score = (2 * u64::from(reputation) * factor + whole) / (2 * whole);
    u8::try_from(score.min(100)).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reputation_is_fifty_at_the_average_share_and_a_third_of_fifty_per_decade() {
        assert_eq!(reputation(0.25, 4), 50);
        assert_eq!(reputation(2.5, 4), 67);
        assert_eq!(reputation(0.025, 4), 33);
        assert_eq!(reputation(250.0, 4), 100);
        assert_eq!(reputation(0.000_25, 4), 0);
        assert_eq!(reputation(0.0, 4), 0);
    }

    #[test]
    fn trust_score_scales_reputation_between_forty_and_one_hundred_percent() {
        assert_eq!(trust_score(80, 100, 100, 3, 3), 80);
        assert_eq!(trust_score(80, 0, 0, 0, 3), 32);
        assert_eq!(trust_score(0, 100, 100, 3, 3), 0);
        // 90 × (0.4 + 0.2·0.5 + 0.2·0.75 + 0.2·1/4) = 90 × 0.7 = 63
        assert_eq!(trust_score(90, 50, 75, 1, 4), 63);
        // 45 × (0.4 + 0.1) = 22.5 rounds half up to 23
        assert_eq!(trust_score(45, 50, 0, 0, 1), 23);
        assert_eq!(trust_score(50, 0, 0, 0, 0), 20);
    }

    #[test]
    fn ratios_round_half_up_and_are_zero_without_a_whole() {
        assert_eq!(ratio_percent(1, 8), 13);
        assert_eq!(ratio_percent(1, 3), 33);
        assert_eq!(ratio_percent(2, 3), 67);
        assert_eq!(ratio_percent(0, 0), 0);
    }
}
