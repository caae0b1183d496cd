//! Deterministic hashing and pseudo-randomness.
//!
//! Defined here rather than taken from a crate so that a dataset generated
//! today is byte-identical to one generated after any dependency upgrade.

/// The SplitMix64 output function: a bijection on `u64` with full avalanche.
pub(crate) const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
/// The FNV-1a 64-bit offset basis.
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over `bytes`, starting from `basis` instead of the standard
/// offset basis (pass [`FNV_OFFSET`] for standard FNV-1a 64).
pub(crate) fn fnv1a64(basis: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(basis, |h, &b| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME))
}

/// The basis of the second lane of [`hash128`]: the standard offset basis
/// XOR the first 64 bits of the fractional part of π.
pub(crate) const SECOND_BASIS: u64 = FNV_OFFSET ^ 0x243f_6a88_85a3_08d3;

/// A 128-bit hash of `bytes`: FNV-1a 64 from the standard offset basis and
/// from [`SECOND_BASIS`], each finished with [`mix64`].
pub(crate) fn hash128(bytes: &[u8]) -> (u64, u64) {
    (
        mix64(fnv1a64(FNV_OFFSET, bytes)),
        mix64(fnv1a64(SECOND_BASIS, bytes)),
    )
}

/// The RFC 4648 base32 alphabet, lowercase (what did:plc and CIDs use).
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Appends the unpadded lowercase RFC 4648 base32 text of `bytes` to `out`.
pub(crate) fn base32_into(bytes: &[u8], out: &mut String) {
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
}

/// Appends the 24 base32 characters of the top 120 bits of `hi:lo` to `out`.
pub(crate) fn base32_120_into(hi: u64, lo: u64, out: &mut String) {
    let value = (u128::from(hi) << 64) | u128::from(lo);
    for i in 0..24u32 {
        let digit = (value >> (123 - 5 * i)) & 31;
        out.push(char::from(BASE32[digit as usize]));
    }
}

/// SplitMix64: a tiny, fast, well-mixed generator whose output is fixed
/// forever by its definition.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

    /// A generator for the stream `stream` of `seed`: different streams of
    /// one seed are independent for all practical purposes.
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        Self {
            state: mix64(seed ^ mix64(stream.wrapping_add(Self::GOLDEN_GAMMA))),
        }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(Self::GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// A float uniform in `[0, 1)`, from 53 random bits.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// An integer uniform in `[0, n)` (`n > 0`), by multiply-shift.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// An integer uniform in `[lo, hi]`.
    pub(crate) fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// `true` with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An index into `weights`, chosen with probability proportional to its weight.
    pub(crate) fn pick_weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut r = self.below(total.max(1));
        for (i, &w) in weights.iter().enumerate() {
            if r < u64::from(w) {
                return i;
            }
            r -= u64::from(w);
        }
        weights.len().saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_reference_vectors() {
        assert_eq!(fnv1a64(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(FNV_OFFSET, b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn base32_matches_rfc4648_vectors() {
        let cases: [(&[u8], &str); 4] = [
            (b"", ""),
            (b"f", "my"),
            (b"foo", "mzxw6"),
            (b"foobar", "mzxw6ytboi"),
        ];
        for (input, expected) in cases {
            let mut out = String::new();
            base32_into(input, &mut out);
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn splitmix_is_reproducible_and_streams_differ() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = SplitMix64::new(7, 1);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = SplitMix64::new(7, 1);
                move |_| r.next_u64()
            })
            .collect();
        let mut other = SplitMix64::new(7, 2);
        assert_eq!(a, b);
        assert_ne!(a[0], other.next_u64());
    }

    #[test]
    fn bounded_draws_stay_in_range() {
        let mut r = SplitMix64::new(1, 0);
        for _ in 0..10_000 {
            assert!(r.below(10) < 10);
            assert!((3..=5).contains(&r.between(3, 5)));
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
        assert_eq!(r.pick_weighted(&[0, 5, 0]), 1);
    }
}
