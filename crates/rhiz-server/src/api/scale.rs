//! The two scales of strengths and trust metrics (CONTRACT.md §6.6, §7 #1
//! and #2): integers 0–100 in records, the lexicons and XRPC; floats 0–1 in
//! REST. rhiz computes on 0–100; these are the only conversions.

/// A 0–100 value as the REST fraction 0.0–1.0 (`85` → `0.85`).
pub(crate) fn to_fraction(value: u8) -> f64 {
    f64::from(value) / 100.0
}

/// The integer threshold equivalent to the REST filter `strength/100 ≥
/// fraction` for a `fraction` in 0.0–1.0: the smallest integer strength that
/// passes. A small tolerance absorbs binary rounding, so `0.7` is 70, not 71
/// (`0.7 × 100` is `70.00000000000001`).
pub(crate) fn threshold_from_fraction(fraction: f64) -> u8 {
    let percent = (fraction * 100.0 - 1e-9).ceil();
    percent.clamp(0.0, 100.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_keep_every_strength_the_fraction_keeps() {
        for (fraction, threshold) in [
            (0.0, 0),
            (0.5, 50),
            (0.7, 70),
            (0.29, 29),
            (0.291, 30),
            (1.0, 100),
        ] {
            assert_eq!(threshold_from_fraction(fraction), threshold, "{fraction}");
        }
        for strength in 0..=100u8 {
            for hundredths in 0..=100u8 {
                let fraction = f64::from(hundredths) / 100.0;
                assert_eq!(
                    to_fraction(strength) >= fraction,
                    strength >= threshold_from_fraction(fraction),
                    "{strength} vs {fraction}"
                );
            }
        }
    }
}
