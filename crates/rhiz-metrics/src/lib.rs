//! Lock-free primitives for a service's internal metrics, shared by the
//! rhiz crates that measure themselves (cache, event pipeline). Generic: no
//! Rhiz types.
//!
//! ```
//! use std::time::Duration;
//! use rhiz_metrics::LatencyHistogram;
//!
//! let latency = LatencyHistogram::default();
//! for ms in 1..=100 {
//!     latency.record(Duration::from_millis(ms));
//! }
//! let summary = latency.snapshot();
//! assert_eq!(summary.count, 100);
//! assert_eq!(summary.max, Duration::from_millis(100));
//! assert!(summary.p99 >= Duration::from_millis(99));
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sub-buckets per power of two: quantiles are within 1/8 (12.5 %) of the truth.
const SUB_BUCKETS: u64 = 8;
const BUCKETS: usize = 16 + 40 * SUB_BUCKETS as usize;

/// A lock-free log-linear histogram of durations in microseconds.
#[derive(Debug)]
pub struct LatencyHistogram {
    buckets: Box<[AtomicU64]>,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum_us: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }
}

fn bucket_of(us: u64) -> usize {
    if us < 16 {
        return us as usize;
    }
    let exp = 63 - u64::from(us.leading_zeros());
    let sub = (us >> (exp - 3)) & (SUB_BUCKETS - 1);
    (16 + (exp - 4) * SUB_BUCKETS + sub).min(BUCKETS as u64 - 1) as usize
}

/// Largest value that falls in bucket `index`.
fn bucket_upper(index: usize) -> u64 {
    if index < 16 {
        return index as u64;
    }
    let i = index as u64 - 16;
    let exp = i / SUB_BUCKETS + 4;
    let sub = i % SUB_BUCKETS;
    ((SUB_BUCKETS + sub + 1) << (exp - 3)) - 1
}

impl LatencyHistogram {
    /// Records one duration (saturating at `u64::MAX` microseconds).
    pub fn record(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(us)].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// Count, mean, quantiles and maximum of what was recorded so far.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let count: u64 = counts.iter().sum();
        let max = self.max_us.load(Ordering::Relaxed);
        let quantile = |q: f64| {
            if count == 0 {
                return Duration::ZERO;
            }
            let rank = ((count as f64 * q).ceil() as u64).max(1);
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return Duration::from_micros(bucket_upper(i).min(max));
                }
            }
            Duration::from_micros(max)
        };
        let sum = self.sum_us.load(Ordering::Relaxed);
        HistogramSnapshot {
            count,
            mean: Duration::from_micros(sum.checked_div(count).unwrap_or(0)),
            p50: quantile(0.50),
            p90: quantile(0.90),
            p99: quantile(0.99),
            p999: quantile(0.999),
            max: Duration::from_micros(max),
        }
    }
}

/// Summary of a latency histogram. Quantiles are bucket upper bounds, at most
/// 12.5 % above the true value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// Samples recorded.
    pub count: u64,
    /// Mean.
    pub mean: Duration,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// Largest sample.
    pub max: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_their_values() {
        for us in [
            0,
            1,
            15,
            16,
            17,
            31,
            32,
            100,
            999,
            12_345,
            1 << 30,
            u64::MAX / 2,
        ] {
            let b = bucket_of(us);
            assert!(bucket_upper(b) >= us.min(bucket_upper(BUCKETS - 1)), "{us}");
            if b > 0 && b < BUCKETS - 1 {
                assert!(bucket_upper(b - 1) < us, "{us}");
            }
        }
    }

    #[test]
    fn quantiles_are_close() {
        let h = LatencyHistogram::default();
        for ms in 1..=1000u64 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.snapshot();
        assert_eq!(s.count, 1000);
        let p99 = s.p99.as_millis() as f64;
        assert!((990.0..=990.0 * 1.125).contains(&p99), "{p99}");
        let p50 = s.p50.as_millis() as f64;
        assert!((500.0..=500.0 * 1.125).contains(&p50), "{p50}");
        assert_eq!(s.max, Duration::from_millis(1000));
    }
}
