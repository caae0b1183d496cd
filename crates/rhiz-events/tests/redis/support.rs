//! The Redis under test, isolated key prefixes, and logs on them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rhiz_events::{async_trait, EventLog, RedisLogOptions, RedisStreamsEventLog};

/// The Redis every test uses; its absence is a failure, never a skip.
pub(crate) fn redis_url() -> String {
    std::env::var("RHIZ_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!("RHIZ_TEST_REDIS_URL is not set: these tests need a real Redis, e.g. RHIZ_TEST_REDIS_URL=redis://127.0.0.1:6379/")
    })
}

/// A key prefix no other test (of this crate or another) uses.
pub(crate) fn prefix(test: &str) -> String {
    format!("rhiz-events-test:{test}:{:016x}", rand::random::<u64>())
}

/// Options on `prefix` with a consumer name of the test's choosing.
pub(crate) fn options(prefix: &str, consumer: &str) -> RedisLogOptions {
    RedisLogOptions {
        prefix: prefix.to_owned(),
        consumer: Some(consumer.to_owned()),
        ..RedisLogOptions::default()
    }
}

pub(crate) async fn connect(options: RedisLogOptions) -> Arc<RedisStreamsEventLog> {
    Arc::new(
        RedisStreamsEventLog::connect(&redis_url(), options)
            .await
            .expect("the test Redis is reachable"),
    )
}

/// A raw connection to the test Redis, to look behind the log's back.
pub(crate) async fn raw() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .expect("valid test Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("test Redis reachable")
}

/// Polls `condition` every 5 ms until it holds; panics after `limit`.
pub(crate) async fn eventually(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Logs of one test prefix, for the contract suite.
pub(crate) struct Redis {
    prefix: String,
}

impl Redis {
    pub(crate) fn new(test: &str) -> Self {
        Self {
            prefix: prefix(test),
        }
    }
}

#[async_trait]
impl crate::contract::Backend for Redis {
    async fn open(&self) -> Arc<dyn EventLog> {
        connect(RedisLogOptions {
            prefix: self.prefix.clone(),
            ..RedisLogOptions::default()
        })
        .await
    }

    async fn open_with_retention(&self, retention: Duration) -> Arc<dyn EventLog> {
        connect(RedisLogOptions {
            prefix: self.prefix.clone(),
            idempotency_retention: retention,
            ..RedisLogOptions::default()
        })
        .await
    }
}
