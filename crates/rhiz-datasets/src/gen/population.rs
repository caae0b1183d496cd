//! Who the honest DIDs are: communities and heavy-tailed activity.
//!
//! Every honest DID has a *fitness* drawn from a Pareto law (exponent
//! 2.3, capped at 8 √n) and belongs to one community; community sizes fall
//! off as `(c + 1)^-0.6`. Relationship endpoints are drawn with probability
//! proportional to fitness (the Chung–Lu model), within a community or
//! across the whole network, which gives a power-law degree distribution
//! with community structure, without keeping any adjacency in memory.

use crate::hash::SplitMix64;

/// The degree exponent γ of the fitness law.
const GAMMA: f64 = 2.3;

/// Honest DIDs grouped into communities, with their fitness.
#[derive(Debug)]
pub(super) struct Population {
    /// Community `c` is the DIDs `offsets[c]..offsets[c + 1]`.
    offsets: Vec<u32>,
    /// `cumulative[i]` is the total fitness of DIDs `0..i`.
    cumulative: Vec<f64>,
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
        let mut cumulative = Vec::with_capacity(dids as usize + 1);
        let mut sum = 0.0;
        cumulative.push(sum);
        for _ in 0..dids {
            let fitness = (1.0 - rng.unit()).powf(-1.0 / (GAMMA - 1.0)).min(cap);
            sum += fitness;
            cumulative.push(sum);
        }
        Self {
            offsets,
            cumulative,
        }
    }

    /// How many honest DIDs there are.
    pub(super) fn len(&self) -> u32 {
        (self.cumulative.len() - 1) as u32
    }

    /// The community of DID `i`.
    pub(super) fn community_of(&self, i: u32) -> usize {
        self.offsets.partition_point(|&o| o <= i) - 1
    }

    /// A DID of community `c`, by fitness.
    pub(super) fn in_community(&self, rng: &mut SplitMix64, c: usize) -> u32 {
        self.by_fitness(rng, self.offsets[c], self.offsets[c + 1])
    }

    /// Any honest DID, by fitness.
    pub(super) fn anyone(&self, rng: &mut SplitMix64) -> u32 {
        self.by_fitness(rng, 0, self.len())
    }

    /// A DID of `lo..hi`, with probability proportional to its fitness.
    fn by_fitness(&self, rng: &mut SplitMix64, lo: u32, hi: u32) -> u32 {
        let (from, to) = (self.cumulative[lo as usize], self.cumulative[hi as usize]);
        let r = from + rng.unit() * (to - from);
        let slice = &self.cumulative[lo as usize + 1..=hi as usize];
        let i = lo + slice.partition_point(|&c| c <= r) as u32;
        i.min(hi - 1)
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
}
