//! In-process statistics: atomics bumped on the hot path, read as a snapshot.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rhiz_metrics::LatencyHistogram;

use crate::BreakerState;

/// Counters of one key class.
#[derive(Debug, Default)]
pub(crate) struct ClassCounters {
    pub(crate) l1_hits: AtomicU64,
    pub(crate) l1_misses: AtomicU64,
    pub(crate) l2_hits: AtomicU64,
    pub(crate) l2_misses: AtomicU64,
    pub(crate) computations: AtomicU64,
    pub(crate) stale_served: AtomicU64,
}

/// Counters of the whole cache.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sets: AtomicU64,
    pub(crate) deletes: AtomicU64,
    pub(crate) evictions: AtomicU64,
    pub(crate) invalidations_sent: AtomicU64,
    pub(crate) invalidations_received: AtomicU64,
    pub(crate) invalidations_deferred: AtomicU64,
    pub(crate) l1_clears: AtomicU64,
    pub(crate) l2_errors: AtomicU64,
    pub(crate) l2_corrupt: AtomicU64,
    pub(crate) l2_latency: LatencyHistogram,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The L2 latency summary of `histogram`.
fn latency_summary(histogram: &LatencyHistogram) -> LatencySummary {
    let snapshot = histogram.snapshot();
    let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    LatencySummary {
        count: snapshot.count,
        mean_micros: micros(snapshot.mean),
        p50_micros_below: micros(snapshot.p50),
        p99_micros_below: micros(snapshot.p99),
    }
}

/// L2 call latency. Quantiles are bucket upper bounds, at most 12.5 % above
/// the true value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct LatencySummary {
    /// Calls measured.
    pub count: u64,
    /// Mean duration in microseconds.
    pub mean_micros: u64,
    /// Half of the calls took at most this many microseconds.
    pub p50_micros_below: u64,
    /// 99 % of the calls took at most this many microseconds.
    pub p99_micros_below: u64,
}

/// Hits and misses of one key class, per tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ClassStats {
    /// Lookups answered by L1.
    pub l1_hits: u64,
    /// Lookups L1 could not answer (counted for classes placed in L1).
    pub l1_misses: u64,
    /// Lookups answered by L2.
    pub l2_hits: u64,
    /// Lookups that asked L2 and found nothing usable.
    pub l2_misses: u64,
    /// Computations run by `get_or_compute` (one per single-flight).
    pub computations: u64,
    /// Stale values returned instead of a failed or slow computation.
    pub stale_served: u64,
}

/// A point-in-time view of the cache's statistics, as returned by
/// [`Cache::stats`](crate::Cache::stats).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct CacheStats {
    /// This instance's id on the invalidation channel.
    pub instance_id: String,
    /// Per key class.
    pub classes: BTreeMap<String, ClassStats>,
    /// Sum over classes of L1 hits.
    pub l1_hits: u64,
    /// Sum over classes of L1 misses.
    pub l1_misses: u64,
    /// Sum over classes of L2 hits.
    pub l2_hits: u64,
    /// Sum over classes of L2 misses.
    pub l2_misses: u64,
    /// Values stored.
    pub sets: u64,
    /// Keys invalidated one by one.
    pub deletes: u64,
    /// L1 entries evicted for room (not expiry or invalidation).
    pub evictions: u64,
    /// Invalidations published to other instances.
    pub invalidations_sent: u64,
    /// Invalidations received from other instances.
    pub invalidations_received: u64,
    /// Invalidations that could not reach L2 yet and wait to be replayed.
    pub invalidations_deferred: u64,
    /// Times L1 was cleared because the invalidation channel reconnected.
    pub l1_clears: u64,
    /// Failed or timed-out L2 calls.
    pub l2_errors: u64,
    /// L2 values that did not decode (another version, foreign bytes).
    pub l2_corrupt: u64,
    /// L2 call latency.
    pub l2_latency: LatencySummary,
    /// The Redis circuit breaker; `None` without L2.
    pub breaker: Option<BreakerState>,
    /// Approximate bytes held by L1.
    pub l1_weight_bytes: u64,
    /// Entries held by L1.
    pub l1_entries: u64,
}

pub(crate) struct Snapshot<'a> {
    pub(crate) instance_id: &'a str,
    pub(crate) classes: Vec<(&'a str, &'a ClassCounters)>,
    pub(crate) counters: &'a Counters,
    pub(crate) breaker: Option<BreakerState>,
    pub(crate) l1_weight_bytes: u64,
    pub(crate) l1_entries: u64,
}

impl Snapshot<'_> {
    pub(crate) fn collect(self) -> CacheStats {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let classes: BTreeMap<String, ClassStats> = self
            .classes
            .iter()
            .map(|(name, c)| {
                let stats = ClassStats {
                    l1_hits: load(&c.l1_hits),
                    l1_misses: load(&c.l1_misses),
                    l2_hits: load(&c.l2_hits),
                    l2_misses: load(&c.l2_misses),
                    computations: load(&c.computations),
                    stale_served: load(&c.stale_served),
                };
                (name.to_string(), stats)
            })
            .collect();
        let total = |f: fn(&ClassStats) -> u64| classes.values().map(f).sum();
        let c = self.counters;
        CacheStats {
            instance_id: self.instance_id.to_string(),
            l1_hits: total(|s| s.l1_hits),
            l1_misses: total(|s| s.l1_misses),
            l2_hits: total(|s| s.l2_hits),
            l2_misses: total(|s| s.l2_misses),
            classes,
            sets: load(&c.sets),
            deletes: load(&c.deletes),
            evictions: load(&c.evictions),
            invalidations_sent: load(&c.invalidations_sent),
            invalidations_received: load(&c.invalidations_received),
            invalidations_deferred: load(&c.invalidations_deferred),
            l1_clears: load(&c.l1_clears),
            l2_errors: load(&c.l2_errors),
            l2_corrupt: load(&c.l2_corrupt),
            l2_latency: latency_summary(&c.l2_latency),
            breaker: self.breaker,
            l1_weight_bytes: self.l1_weight_bytes,
            l1_entries: self.l1_entries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_summary_reports_bounded_quantiles() {
        let h = LatencyHistogram::default();
        for _ in 0..98 {
            h.record(Duration::from_micros(100));
        }
        h.record(Duration::from_millis(5));
        h.record(Duration::from_millis(5));
        let s = latency_summary(&h);
        assert_eq!(s.count, 100);
        assert!((100..=112).contains(&s.p50_micros_below), "{s:?}");
        assert!((5000..=5625).contains(&s.p99_micros_below), "{s:?}");
        assert_eq!(s.mean_micros, (98 * 100 + 2 * 5000) / 100);
    }
}
