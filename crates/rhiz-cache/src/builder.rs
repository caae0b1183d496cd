//! Building a [`Cache`]: options in, a validated cache or a
//! [`CacheError::Config`] out.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cache::{Inner, Slot};
use crate::clock::now_micros;
use crate::invalidation::follow_channel;
use crate::l1::L1;
use crate::l2::{L2Options, L2};
use crate::stats::Counters;
use crate::tags::TagClock;
use crate::{Cache, CacheError, KeyClass};

/// Options for a [`Cache`]; [`build`](CacheBuilder::build) validates them.
///
/// Defaults: namespace `cache`, no Redis (L1 only), L1 of 64 MiB, Redis call
/// timeout 250 ms, breaker opening after 3 consecutive failures for 15 s,
/// 1,000,000 tag times remembered.
#[derive(Debug, Clone)]
#[must_use]
pub struct CacheBuilder {
    namespace: String,
    redis_url: Option<String>,
    l1_max_bytes: u64,
    classes: Vec<KeyClass>,
    redis_timeout: Duration,
    breaker_failures: u32,
    breaker_open_for: Duration,
    tag_capacity: u64,
}

impl Default for CacheBuilder {
    fn default() -> Self {
        CacheBuilder {
            namespace: "cache".to_owned(),
            redis_url: None,
            l1_max_bytes: 64 * 1024 * 1024,
            classes: Vec::new(),
            redis_timeout: Duration::from_millis(250),
            breaker_failures: 3,
            breaker_open_for: Duration::from_secs(15),
            tag_capacity: 1_000_000,
        }
    }
}

impl Cache {
    /// Starts building a cache.
    pub fn builder() -> CacheBuilder {
        CacheBuilder::default()
    }
}

impl CacheBuilder {
    /// Prefix of every Redis key and of the invalidation channel: instances
    /// sharing a namespace share values and invalidations.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Enables L2 and cross-instance invalidation on this Redis
    /// (`redis://host:port/db`). Without it the cache is L1 only.
    pub fn redis_url(mut self, url: impl Into<String>) -> Self {
        self.redis_url = Some(url.into());
        self
    }

    /// L1's bound, in (approximate) bytes of keys, values and tags.
    pub fn l1_max_bytes(mut self, bytes: u64) -> Self {
        self.l1_max_bytes = bytes;
        self
    }

    /// Registers a key class. Every class used in a call must be registered.
    pub fn class(mut self, class: KeyClass) -> Self {
        self.classes.push(class);
        self
    }

    /// Registers several key classes.
    pub fn classes(mut self, classes: impl IntoIterator<Item = KeyClass>) -> Self {
        self.classes.extend(classes);
        self
    }

    /// Upper bound of every Redis call, connection included.
    pub fn redis_timeout(mut self, timeout: Duration) -> Self {
        self.redis_timeout = timeout;
        self
    }

    /// The circuit breaker opens after `failures` consecutive failed Redis
    /// calls and skips Redis for `open_for` before probing it again.
    pub fn breaker(mut self, failures: u32, open_for: Duration) -> Self {
        self.breaker_failures = failures;
        self.breaker_open_for = open_for;
        self
    }

    /// How many tag invalidation times this instance remembers. Forgetting
    /// one costs L2 round trips, never correctness.
    pub fn tag_capacity(mut self, tags: u64) -> Self {
        self.tag_capacity = tags;
        self
    }

    /// Validates the options and builds the cache.
    ///
    /// With a Redis URL this must run inside a tokio runtime: it spawns the
    /// task following the invalidation channel. It does not wait for Redis:
    /// a Redis that is down at start is an outage like any later one.
    pub fn build(self) -> Result<Cache, CacheError> {
        self.validate().map_err(CacheError::Config)?;
        let runtime = match &self.redis_url {
            Some(_) => Some(tokio::runtime::Handle::try_current().map_err(|_| {
                CacheError::Config("a cache with Redis must be built inside a tokio runtime".into())
            })?),
            None => None,
        };
        let counters = Arc::new(Counters::default());
        let l2 = self
            .redis_url
            .as_ref()
            .map(|url| {
                let options = L2Options {
                    url: url.clone(),
                    timeout: self.redis_timeout,
                    breaker_failures: self.breaker_failures,
                    breaker_open_for: self.breaker_open_for,
                };
                L2::new(&options, &self.namespace, Arc::clone(&counters))
            })
            .transpose()?;
        // Tag times stored in L2 must outlive every value that may carry the tag.
        let tag_ttl = self
            .classes
            .iter()
            .map(|c| c.ttl.map(|ttl| ttl + c.max_stale))
            .try_fold(Duration::ZERO, |longest, ttl| {
                ttl.map(|ttl| longest.max(ttl))
            });
        let horizon = if l2.is_some() { now_micros() } else { 0 };
        let inner = Arc::new(Inner {
            instance_id: uuid::Uuid::new_v4().to_string(),
            classes: self
                .classes
                .into_iter()
                .map(|class| {
                    Arc::new(Slot {
                        class,
                        counters: Default::default(),
                    })
                })
                .collect(),
            l1: L1::new(self.l1_max_bytes, Arc::clone(&counters)),
            l2,
            tags: TagClock::new(self.tag_capacity, horizon),
            counters,
            tag_ttl,
            flights: Mutex::default(),
            next_flight: AtomicU64::new(0),
            keys_invalidated_at: AtomicU64::new(0),
            pending: tokio::sync::Mutex::new(VecDeque::new()),
            has_pending: AtomicBool::new(false),
            subscriber: Mutex::default(),
        });
        if let (Some(l2), Some(runtime)) = (&inner.l2, runtime) {
            let task = runtime.spawn(follow_channel(
                Arc::downgrade(&inner),
                l2.client().clone(),
                l2.channel(),
            ));
            *inner
                .subscriber
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(task.abort_handle());
        }
        Ok(Cache { inner })
    }

    fn validate(&self) -> Result<(), String> {
        if self.namespace.is_empty() {
            return Err("namespace must not be empty".into());
        }
        if self.classes.is_empty() {
            return Err("at least one key class is needed".into());
        }
        let mut names = std::collections::HashSet::new();
        for class in &self.classes {
            class.validate()?;
            if !names.insert(class.name.as_str()) {
                return Err(format!("key class {:?} is registered twice", class.name));
            }
            if self.redis_url.is_none() && class.placement == crate::Placement::L2 {
                return Err(format!(
                    "key class {:?} is placed in L2 only, but no Redis URL is set",
                    class.name
                ));
            }
        }
        if self.redis_timeout.is_zero() || self.breaker_failures == 0 {
            return Err(
                "the Redis timeout and the breaker's failure count must be positive".into(),
            );
        }
        if self.l1_max_bytes == 0 || self.tag_capacity == 0 {
            return Err("the L1 size and the tag capacity must be positive".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Placement;

    #[test]
    fn invalid_options_are_config_errors() {
        let class = || KeyClass::new("a", None);
        let cases = [
            Cache::builder(),
            Cache::builder().class(class()).class(class()),
            Cache::builder().class(class().placement(Placement::L2)),
            Cache::builder().class(class()).namespace(""),
            Cache::builder()
                .class(class())
                .breaker(0, Duration::from_secs(1)),
            Cache::builder().class(class()).l1_max_bytes(0),
        ];
        for builder in cases {
            assert!(
                matches!(builder.clone().build(), Err(CacheError::Config(_))),
                "{builder:?}"
            );
        }
    }

    #[test]
    fn a_redis_cache_outside_a_runtime_is_a_config_error() {
        let built = Cache::builder()
            .class(KeyClass::new("a", None))
            .redis_url("redis://127.0.0.1:1/")
            .build();
        assert!(matches!(built, Err(CacheError::Config(_))));
    }
}
