//! The circuit breaker in front of Redis.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where the breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BreakerState {
    /// L2 is used normally.
    Closed,
    /// L2 is skipped without being asked until the open period ends.
    Open,
    /// The open period ended: the next call is a probe that closes the
    /// breaker on success and reopens it on failure.
    HalfOpen,
}

/// Opens after `threshold` consecutive failures, stays open for `open_for`,
/// then lets one probe through at a time.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    open_for: Duration,
    /// Stale probes (whose caller was dropped) are replaced after this.
    probe_timeout: Duration,
    epoch: Instant,
    failures: AtomicU32,
    /// Milliseconds since `epoch` + 1 when opened; 0 when closed.
    opened_at: AtomicU64,
    /// Milliseconds since `epoch` + 1 when the running probe started; 0 when none.
    probe_at: AtomicU64,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, open_for: Duration, probe_timeout: Duration) -> Self {
        Breaker {
            threshold,
            open_for,
            probe_timeout,
            epoch: Instant::now(),
            failures: AtomicU32::new(0),
            opened_at: AtomicU64::new(0),
            probe_at: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX) + 1
    }

    fn open_elapsed(&self, opened_at: u64) -> bool {
        self.now().saturating_sub(opened_at) >= millis(self.open_for)
    }

    /// Whether a call to L2 may go ahead now.
    pub(crate) fn allow(&self) -> bool {
        let opened_at = self.opened_at.load(Ordering::Acquire);
        if opened_at == 0 {
            return true;
        }
        if !self.open_elapsed(opened_at) {
            return false;
        }
        let now = self.now();
        let probe_at = self.probe_at.load(Ordering::Acquire);
        let probe_free = probe_at == 0 || now.saturating_sub(probe_at) > millis(self.probe_timeout);
        probe_free
            && self
                .probe_at
                .compare_exchange(probe_at, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    /// Records a successful call: the breaker closes.
    pub(crate) fn success(&self) {
        self.failures.store(0, Ordering::Release);
        self.opened_at.store(0, Ordering::Release);
        self.probe_at.store(0, Ordering::Release);
    }

    /// Records a failed call; returns true if this failure opened the breaker.
    pub(crate) fn failure(&self) -> bool {
        let probing = self.probe_at.swap(0, Ordering::AcqRel) != 0;
        let failures = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
        if probing || failures >= self.threshold {
            let was = self.opened_at.swap(self.now(), Ordering::AcqRel);
            return was == 0;
        }
        false
    }

    pub(crate) fn state(&self) -> BreakerState {
        match self.opened_at.load(Ordering::Acquire) {
            0 => BreakerState::Closed,
            at if self.open_elapsed(at) => BreakerState::HalfOpen,
            _ => BreakerState::Open,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_probes_once_and_closes_on_success() {
        let breaker = Breaker::new(3, Duration::from_millis(30), Duration::from_secs(1));
        assert!(!breaker.failure());
        assert!(!breaker.failure());
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.failure());
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allow());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(breaker.allow(), "one probe goes through");
        assert!(!breaker.allow(), "a second concurrent probe does not");
        breaker.success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.allow());
    }

    #[test]
    fn failed_probe_reopens() {
        let breaker = Breaker::new(1, Duration::from_millis(20), Duration::from_secs(1));
        breaker.failure();
        std::thread::sleep(Duration::from_millis(30));
        assert!(breaker.allow());
        breaker.failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allow());
    }

    #[test]
    fn a_success_resets_the_count() {
        let breaker = Breaker::new(2, Duration::from_secs(10), Duration::from_secs(1));
        breaker.failure();
        breaker.success();
        breaker.failure();
        assert_eq!(breaker.state(), BreakerState::Closed);
    }
}
