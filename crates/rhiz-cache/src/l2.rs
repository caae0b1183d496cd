//! L2: Redis through a `ConnectionManager`, every call bounded by a timeout
//! and gated by the circuit breaker.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisResult};

use crate::breaker::Breaker;
use crate::stats::{bump, Counters};
use crate::{BreakerState, CacheError};

pub(crate) struct L2 {
    client: Client,
    conn: ConnectionManager,
    breaker: Breaker,
    timeout: Duration,
    counters: Arc<Counters>,
    /// `<namespace>:`, in front of every Redis key and channel.
    prefix: String,
}

/// The Redis options a [`CacheBuilder`](crate::CacheBuilder) collects.
pub(crate) struct L2Options {
    pub(crate) url: String,
    pub(crate) timeout: Duration,
    pub(crate) breaker_failures: u32,
    pub(crate) breaker_open_for: Duration,
}

impl L2 {
    /// Sets up the client without connecting: a Redis that is down at start
    /// is an outage like any other, not a reason to refuse to start.
    pub(crate) fn new(
        options: &L2Options,
        namespace: &str,
        counters: Arc<Counters>,
    ) -> Result<Self, CacheError> {
        let client = Client::open(options.url.as_str())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(L2 {
            client,
            conn,
            breaker: Breaker::new(
                options.breaker_failures,
                options.breaker_open_for,
                options.timeout * 2,
            ),
            timeout: options.timeout,
            counters,
            prefix: format!("{namespace}:"),
        })
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// The Redis key of a cache key (`class:key`).
    pub(crate) fn value_key(&self, key: &str) -> String {
        format!("{}v:{key}", self.prefix)
    }

    /// The Redis key holding a tag's last invalidation time.
    pub(crate) fn tag_key(&self, tag: &str) -> String {
        format!("{}t:{tag}", self.prefix)
    }

    /// The pub/sub channel carrying invalidations between instances.
    pub(crate) fn channel(&self) -> String {
        format!("{}invalidations", self.prefix)
    }

    /// The Redis glob selecting the value keys that a cache-key glob selects.
    pub(crate) fn value_pattern(&self, pattern: &str) -> String {
        format!("{}{pattern}", crate::pattern::escape(&self.value_key("")))
    }

    /// Runs one Redis call: skipped while the breaker is open, bounded by the
    /// timeout, timed, and reported to the breaker.
    async fn call<T, F, Fut>(&self, op: F) -> Result<T, CacheError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        if !self.breaker.allow() {
            return Err(CacheError::BreakerOpen);
        }
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, op(self.conn.clone())).await;
        self.counters.l2_latency.record(started.elapsed());
        let result = match outcome {
            Ok(Ok(value)) => {
                self.breaker.success();
                return Ok(value);
            }
            Ok(Err(e)) => CacheError::from(e),
            Err(_) => CacheError::Timeout(self.timeout),
        };
        bump(&self.counters.l2_errors);
        if self.breaker.failure() {
            tracing::warn!(error = %result, "redis circuit breaker opened");
        }
        Err(result)
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let key = self.value_key(key);
        self.call(|mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await })
            .await
    }

    pub(crate) async fn mget(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, CacheError> {
        let keys: Vec<String> = keys.iter().map(|k| self.value_key(k)).collect();
        self.call(|mut c| async move { redis::cmd("MGET").arg(keys).query_async(&mut c).await })
            .await
    }

    pub(crate) async fn set(
        &self,
        key: &str,
        bytes: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.value_key(key)).arg(bytes);
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(ttl.as_millis().max(1) as u64);
        }
        self.call(|mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    /// Last invalidation times of `tags` (0: never invalidated), one MGET.
    pub(crate) async fn tag_times(&self, tags: &[&str]) -> Result<Vec<u64>, CacheError> {
        let keys: Vec<String> = tags.iter().map(|t| self.tag_key(t)).collect();
        let times: Vec<Option<u64>> = self
            .call(|mut c| async move { redis::cmd("MGET").arg(keys).query_async(&mut c).await })
            .await?;
        Ok(times.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Sends `pipe` atomically-in-order (one round trip).
    pub(crate) async fn pipeline(&self, pipe: redis::Pipeline) -> Result<(), CacheError> {
        self.call(|mut c| async move { pipe.query_async(&mut c).await })
            .await
    }

    /// Deletes every value key matching the Redis glob `redis_pattern` with
    /// `SCAN` (never `KEYS`) and `UNLINK`; returns how many were deleted.
    pub(crate) async fn delete_matching(&self, redis_pattern: &str) -> Result<u64, CacheError> {
        let mut cursor = 0u64;
        let mut deleted = 0;
        loop {
            let pattern = redis_pattern.to_owned();
            let (next, keys): (u64, Vec<String>) = self
                .call(|mut c| async move {
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut c)
                        .await
                })
                .await?;
            if !keys.is_empty() {
                deleted += self
                    .call(|mut c| async move {
                        redis::cmd("UNLINK")
                            .arg(keys)
                            .query_async::<u64>(&mut c)
                            .await
                    })
                    .await?;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }

    /// One round trip, bounded by the timeout, bypassing the breaker's gate
    /// (it is how an operator sees the real state) but reporting to it.
    pub(crate) async fn ping(&self) -> Result<Duration, CacheError> {
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, async {
            let mut c = self.conn.clone();
            redis::cmd("PING").query_async::<String>(&mut c).await
        })
        .await;
        match outcome {
            Ok(Ok(_)) => {
                self.breaker.success();
                Ok(started.elapsed())
            }
            Ok(Err(e)) => {
                self.breaker.failure();
                Err(e.into())
            }
            Err(_) => {
                self.breaker.failure();
                Err(CacheError::Timeout(self.timeout))
            }
        }
    }
}
