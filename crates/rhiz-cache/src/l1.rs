//! L1: the in-process tier, a moka cache bounded by weight.
//!
//! moka's TinyLFU admission keeps the frequently used keys when a burst of
//! one-off keys passes through, which is what a Zipf-shaped read load needs.
//! Each entry lives until its stale deadline (moka [`Expiry`]); freshness is
//! judged by the caller against the entry's own times.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::notification::RemovalCause;
use moka::sync::Cache as Moka;
use moka::Expiry;

use crate::clock::now_micros;
use crate::codec::Entry;
use crate::pattern;
use crate::stats::{bump, Counters};

/// An entry held by L1, with when it was admitted (µs since the epoch).
///
/// Held by value: moka clones the value it returns, and this clone is one
/// reference count, not two.
#[derive(Clone)]
pub(crate) struct Resident {
    pub(crate) entry: Arc<Entry>,
    pub(crate) admitted: u64,
}

pub(crate) struct L1 {
    cache: Moka<String, Resident>,
}

struct UntilStale;

impl Expiry<String, Resident> for UntilStale {
    fn expire_after_create(&self, _: &String, entry: &Resident, _: Instant) -> Option<Duration> {
        let stale_until = entry.entry.stale_until;
        (stale_until != u64::MAX)
            .then(|| Duration::from_micros(stale_until.saturating_sub(now_micros())))
    }

    fn expire_after_update(
        &self,
        key: &String,
        entry: &Resident,
        at: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        self.expire_after_create(key, entry, at)
    }
}

impl L1 {
    pub(crate) fn new(max_bytes: u64, counters: Arc<Counters>) -> Self {
        let cache = Moka::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &String, entry: &Resident| {
                u32::try_from(key.len() + entry.entry.weight()).unwrap_or(u32::MAX)
            })
            .expire_after(UntilStale)
            .eviction_listener(move |_, _, cause| {
                if cause == RemovalCause::Size {
                    bump(&counters.evictions);
                }
            })
            .build();
        L1 { cache }
    }

    pub(crate) fn get(&self, key: &str) -> Option<Resident> {
        self.cache.get(key)
    }

    /// Holds `entry` under `key`, admitted at `admitted`.
    pub(crate) fn insert(&self, key: String, entry: Arc<Entry>, admitted: u64) {
        self.cache.insert(key, Resident { entry, admitted });
    }

    pub(crate) fn remove(&self, key: &str) {
        self.cache.invalidate(key);
    }

    /// Removes every key matching the Redis glob `pattern`; returns how many.
    pub(crate) fn remove_matching(&self, pattern: &str) -> u64 {
        let mut removed = 0;
        for (key, _) in self.cache.iter() {
            if pattern::matches(pattern, &key) {
                self.cache.invalidate(key.as_str());
                removed += 1;
            }
        }
        removed
    }

    pub(crate) fn clear(&self) {
        self.cache.invalidate_all();
    }

    /// (weighted size in bytes, entry count), after pending maintenance.
    pub(crate) fn size(&self) -> (u64, u64) {
        self.cache.run_pending_tasks();
        (self.cache.weighted_size(), self.cache.entry_count())
    }
}
