//! Key classes: per-class lifetime, placement and fallback policy.

use std::time::Duration;

/// Which tiers hold the values of a key class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Placement {
    /// In-process only: never sent to Redis.
    L1,
    /// Redis only: shared between instances, nothing kept in process.
    L2,
    /// Both tiers: L1 in front of L2, L2 hits promoted to L1.
    Both,
}

impl Placement {
    pub(crate) fn in_l1(self) -> bool {
        matches!(self, Placement::L1 | Placement::Both)
    }

    pub(crate) fn in_l2(self) -> bool {
        matches!(self, Placement::L2 | Placement::Both)
    }
}

/// A named family of keys sharing one policy.
///
/// The class name is the first segment of every key: a key `k` of class
/// `trust` is stored as `trust:k`, which is what glob patterns match
/// (`trust:*` selects the whole class).
///
/// ```
/// use std::time::Duration;
/// use rhiz_cache::{KeyClass, Placement};
///
/// let trust = KeyClass::new("trust", Some(Duration::from_secs(24 * 3600)))
///     .placement(Placement::Both)
///     .max_stale(Duration::from_secs(3600))
///     .soft_timeout(Duration::from_millis(50))
///     .eager_refresh(0.9);
/// assert_eq!(trust.name(), "trust");
/// ```
#[derive(Debug, Clone)]
pub struct KeyClass {
    pub(crate) name: String,
    pub(crate) ttl: Option<Duration>,
    pub(crate) placement: Placement,
    pub(crate) max_stale: Duration,
    pub(crate) soft_timeout: Option<Duration>,
    pub(crate) eager_refresh: Option<f64>,
}

impl KeyClass {
    /// A class whose values are fresh for `ttl` (`None`: until invalidated),
    /// held in both tiers, with no stale fallback, soft timeout or eager
    /// refresh.
    pub fn new(name: impl Into<String>, ttl: Option<Duration>) -> Self {
        KeyClass {
            name: name.into(),
            ttl,
            placement: Placement::Both,
            max_stale: Duration::ZERO,
            soft_timeout: None,
            eager_refresh: None,
        }
    }

    /// Which tiers hold this class.
    pub fn placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// How long past its expiry a value may still be returned by
    /// [`Cache::get_or_compute`](crate::Cache::get_or_compute) when the
    /// computation fails or exceeds the soft timeout (fail-safe).
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }

    /// When an expired value within `max_stale` exists and the computation
    /// takes longer than this, return the stale value and let the
    /// computation finish in the background.
    pub fn soft_timeout(mut self, soft_timeout: Duration) -> Self {
        self.soft_timeout = Some(soft_timeout);
        self
    }

    /// Once this fraction of the TTL has elapsed (between 0 and 1,
    /// exclusive), a hit in `get_or_compute` also starts a background
    /// recomputation, so hot keys never expire under load.
    pub fn eager_refresh(mut self, fraction: f64) -> Self {
        self.eager_refresh = Some(fraction);
        self
    }

    /// The class's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() || self.name.contains(':') {
            return Err(format!(
                "class name {:?} must be non-empty and contain no ':'",
                self.name
            ));
        }
        if self.ttl == Some(Duration::ZERO) {
            return Err(format!("class {:?}: TTL must be positive", self.name));
        }
        if let Some(f) = self.eager_refresh {
            if self.ttl.is_none() || !(f > 0.0 && f < 1.0) {
                return Err(format!(
                    "class {:?}: eager refresh needs a TTL and a fraction in (0, 1), got {f}",
                    self.name
                ));
            }
        }
        Ok(())
    }

    /// Lifetimes, in microseconds since the epoch, of a value created at
    /// `created`: (fresh until, usable as stale until).
    pub(crate) fn lifetimes(&self, created: u64) -> (u64, u64) {
        let Some(ttl) = self.ttl else {
            return (u64::MAX, u64::MAX);
        };
        let fresh = created.saturating_add(micros(ttl));
        (fresh, fresh.saturating_add(micros(self.max_stale)))
    }

    /// When a value created at `created` becomes due for eager refresh.
    pub(crate) fn refresh_at(&self, created: u64) -> Option<u64> {
        let (ttl, fraction) = (self.ttl?, self.eager_refresh?);
        Some(created.saturating_add(micros(ttl.mul_f64(fraction))))
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_classes_are_rejected() {
        assert!(KeyClass::new("", None).validate().is_err());
        assert!(KeyClass::new("a:b", None).validate().is_err());
        assert!(KeyClass::new("a", Some(Duration::ZERO)).validate().is_err());
        assert!(KeyClass::new("a", None)
            .eager_refresh(0.5)
            .validate()
            .is_err());
        let ttl = Some(Duration::from_secs(1));
        assert!(KeyClass::new("a", ttl)
            .eager_refresh(1.0)
            .validate()
            .is_err());
        assert!(KeyClass::new("a", ttl)
            .eager_refresh(0.5)
            .validate()
            .is_ok());
    }

    #[test]
    fn lifetimes_add_ttl_then_staleness() {
        let class =
            KeyClass::new("a", Some(Duration::from_millis(2))).max_stale(Duration::from_millis(3));
        assert_eq!(class.lifetimes(10), (2_010, 5_010));
        assert_eq!(KeyClass::new("b", None).lifetimes(10), (u64::MAX, u64::MAX));
    }
}
