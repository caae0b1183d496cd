//! Who the honest DIDs are: communities and heavy-tailed activity.
//!
//! Every honest DID has a *fitness* drawn from a Pareto law (exponent
//! 2.3, capped at 8 √n) and belongs to one community; community sizes fall
//! off as `(c + 1)^-0.6`. Relationship endpoints are drawn with probability
//! proportional to fitness (the Chung–Lu model), within a community or
//! across the whole network, which gives a power-law degree distribution
//! with community structure, without keeping any adjacency in memory.
//! Draws use alias tables: O(1) each, 16 bytes per DID.

use crate::hash::SplitMix64;

/// The degree exponent γ of the fitness law.
const GAMMA: f64 = 2.3;

/// Honest DIDs grouped into communities, with their fitness.
#[derive(Debug)]
pub(super) struct Population {
    /// Community `c` is the DIDs `offsets[c]..offsets[c + 1]`.
    offsets: Vec<u32>,
    /// Draws any DID by fitness.
    global: AliasTable,
    /// Draws a DID of a community by fitness: the slice of a community's
    /// DIDs is that community's table, its aliases relative to the slice.
    local: AliasTable,
}

impl Population {
    /// `dids` honest DIDs in `communities` communities of at least 3.
    pub(super) fn new(rng: &mut SplitMix64, dids: u32, communities: u32) -> Self {
        let c = communities as usize;
        let weights: Vec<f64> = (0..c).map(|k| (k as f64 + 1.0).powf(-0.6)).collect();
        let total: f64 = weights.iter().sum();
        let spare = f64::from(dids - 3 * communities);
        let mut sizes: Vec<u32> = weights
            .iter()
            .map(|w| 3 + (spare * w / total).floor() as u32)
            .collect();
        let assigned: u32 = sizes.iter().sum();
        sizes[0] += dids - assigned;
        let mut offsets = Vec::with_capacity(c + 1);
        offsets.push(0);
        for size in &sizes {
            let last = offsets[offsets.len() - 1];
            offsets.push(last + size);
        }
        let cap = 8.0 * f64::from(dids).sqrt();
        let fitness: Vec<f64> = (0..dids)
            .map(|_| (1.0 - rng.unit()).powf(-1.0 / (GAMMA - 1.0)).min(cap))
            .collect();
        let global = AliasTable::new(&fitness);
        let mut local = AliasTable::default();
        for w in offsets.windows(2) {
            let table = AliasTable::new(&fitness[w[0] as usize..w[1] as usize]);
            local.threshold.extend(table.threshold);
            local.alias.extend(table.alias);
        }
        Self {
            offsets,
            global,
            local,
        }
    }

    /// How many honest DIDs there are.
    pub(super) fn len(&self) -> u32 {
        self.global.threshold.len() as u32
    }

    /// The community of DID `i`.
    pub(super) fn community_of(&self, i: u32) -> usize {
        self.offsets.partition_point(|&o| o <= i) - 1
    }

    /// A DID of community `c`, by fitness.
    pub(super) fn in_community(&self, rng: &mut SplitMix64, c: usize) -> u32 {
        let (lo, hi) = (self.offsets[c], self.offsets[c + 1]);
        lo + self.local.draw(rng, lo as usize, (hi - lo) as usize)
    }

    /// Any honest DID, by fitness.
    pub(super) fn anyone(&self, rng: &mut SplitMix64) -> u32 {
        self.global.draw(rng, 0, self.global.threshold.len())
    }
}

/// Walker's alias method (Vose's construction): draws an index with
/// probability proportional to its weight in O(1).
#[derive(Debug, Default)]
struct AliasTable {
    /// Bucket `k` keeps `k` when a uniform `u32` is below `threshold[k]`.
    threshold: Vec<u32>,
    /// Otherwise it gives `alias[k]`.
    alias: Vec<u32>,
}

impl AliasTable {
    /// The table of positive `weights` (at least one).
    fn new(weights: &[f64]) -> Self {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut threshold = vec![u32::MAX; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<u32>, Vec<u32>) =
            (0..n as u32).partition(|&i| scaled[i as usize] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            threshold[s as usize] = (scaled[s as usize] * f64::from(u32::MAX)) as u32;
            alias[s as usize] = l;
            scaled[l as usize] -= 1.0 - scaled[s as usize];
            if scaled[l as usize] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        Self { threshold, alias }
    }

    /// An index of the table stored at `start..start + len`, relative to `start`.
    fn draw(&self, rng: &mut SplitMix64, start: usize, len: usize) -> u32 {
        let r = rng.next_u64();
        let bucket = (((r >> 32) * len as u64) >> 32) as usize;
        if (r as u32) < self.threshold[start + bucket] {
            bucket as u32
        } else {
            self.alias[start + bucket]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn communities_cover_everyone_with_at_least_three() {
        let mut rng = SplitMix64::new(1, 0);
        let p = Population::new(&mut rng, 1000, 12);
        assert_eq!(p.len(), 1000);
        assert_eq!(p.offsets.len(), 13);
        assert_eq!(p.offsets[12], 1000);
        assert!(p.offsets.windows(2).all(|w| w[1] - w[0] >= 3));
        // Sizes fall off: the first community is the largest.
        assert!(p.offsets[1] - p.offsets[0] > p.offsets[12] - p.offsets[11]);
        for c in 0..12 {
            for _ in 0..50 {
                let i = p.in_community(&mut rng, c);
                assert_eq!(p.community_of(i), c);
            }
        }
        let p = Population::new(&mut rng, 9, 3);
        assert_eq!(p.offsets, [0, 3, 6, 9]);
    }

    #[test]
    fn alias_draws_follow_the_weights() {
        let table = AliasTable::new(&[1.0, 3.0, 0.5, 0.5, 5.0]);
        let mut rng = SplitMix64::new(9, 9);
        let mut counts = [0u32; 5];
        for _ in 0..100_000 {
            counts[table.draw(&mut rng, 0, 5) as usize] += 1;
        }
        for (count, weight) in counts.iter().zip([1.0, 3.0, 0.5, 0.5, 5.0]) {
            let expected = 100_000.0 * weight / 10.0;
            assert!(
                (f64::from(*count) - expected).abs() < expected * 0.05,
                "{counts:?}"
            );
        }
    }
}
