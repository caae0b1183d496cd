//! Shared test scaffolding: the Redis under test, isolated namespaces, and a
//! Redis server process of a test's own for outages.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rhiz_cache::{Cache, CacheBuilder};

/// The Redis every test uses; its absence is a failure, never a skip.
pub(crate) fn redis_url() -> String {
    std::env::var("RHIZ_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!("RHIZ_TEST_REDIS_URL is not set: these tests need a real Redis, e.g. RHIZ_TEST_REDIS_URL=redis://127.0.0.1:6379/")
    })
}

/// A namespace no other test (of this crate or another) uses.
pub(crate) fn namespace(test: &str) -> String {
    format!("rhiz-cache-test:{test}:{}", uuid::Uuid::new_v4())
}

/// A builder on the test Redis in `namespace`.
pub(crate) fn builder(namespace: &str) -> CacheBuilder {
    Cache::builder().namespace(namespace).redis_url(redis_url())
}

/// A raw connection to the test Redis, to look behind the cache's back.
pub(crate) async fn raw_connection() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .expect("valid test Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("test Redis reachable")
}

/// Polls `condition` every 2 ms until it holds; panics after `limit`.
pub(crate) async fn eventually(
    limit: Duration,
    what: &str,
    mut condition: impl FnMut() -> bool,
) -> Duration {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    started.elapsed()
}

/// Waits until the cache has subscribed to its invalidation channel (the
/// first subscription clears L1, so tests start after it).
pub(crate) async fn subscribed(cache: &Cache) {
    eventually(Duration::from_secs(5), "the invalidation channel", || {
        cache.stats().l1_clears >= 1
    })
    .await;
}

/// A port nothing listens on (at the time of asking).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free local port")
        .port()
}

/// A `redis-server` child process of the test's own, killed on drop.
pub(crate) struct RedisServer {
    pub(crate) port: u16,
    child: Option<Child>,
}

impl RedisServer {
    pub(crate) fn start(port: u16) -> Self {
        let mut server = RedisServer { port, child: None };
        server.restart();
        server
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub(crate) fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed to run the outage tests");
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill redis-server");
            child.wait().expect("reap redis-server");
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
