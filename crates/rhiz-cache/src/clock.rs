//! Wall-clock timestamps shared between instances.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch.
///
/// Creation times and tag invalidation times are compared across instances,
/// so they use the wall clock; clocks of instances sharing a Redis are
/// assumed to be synchronised (NTP) to well under an entry's lifetime.
pub(crate) fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}
