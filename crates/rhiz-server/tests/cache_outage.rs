//! Redis stopped under load (issue 5): every request still succeeds with the
//! right answer, the breaker opens (visible in `/api/v1/cache/stats`); Redis
//! started again: the breaker closes and L2 fills again, without a restart.

mod support;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};
use support::events::relationship;
use support::process::free_port;
use support::{Reply, TestApp};

const ADMIN_KEY: &str = "test-admin-key-0123456789";

/// A `redis-server` of the test's own, killed on drop.
struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed to run the outage test");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        RedisServer {
            port,
            child: Some(child),
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill redis-server");
            child.wait().expect("reap redis-server");
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn admin(app: &TestApp, path: &str) -> Value {
    let request = Request::get(path)
        .header("x-admin-key", ADMIN_KEY)
        .body(Body::empty())
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, 200, "{path}: {:?}", reply.body);
    reply.body
}

async fn breaker(app: &TestApp) -> Value {
    admin(app, "/api/v1/cache/stats").await["stats"]["breaker"].clone()
}

/// One round of the load: every answer checked against what was written.
async fn round(app: &TestApp, names: &[String]) {
    for (i, name) in names.iter().enumerate() {
        let reply = app
            .call("GET", &format!("/api/v1/entities/did:plc:e{i}"), None)
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        assert_eq!(reply.body["name"], name.as_str());
    }
    let metrics = app
        .call(
            "GET",
            "/xrpc/net.rhiz.trust.getMetrics?did=did:plc:alice",
            None,
        )
        .await;
    assert_eq!(metrics.status, 200, "{:?}", metrics.body);
    assert_eq!(metrics.body["relationshipCount"], 1);
    let stats = app
        .call("GET", "/api/v1/analytics/network-stats", None)
        .await;
    assert_eq!(stats.status, 200, "{:?}", stats.body);
    assert_eq!(stats.body["total_relationships"], 1);
}

async fn rename(app: &TestApp, i: usize, name: &str) -> Reply {
    let reply = app
        .call(
            "PATCH",
            &format!("/api/v1/entities/did:plc:e{i}"),
            Some(json!({"name": name})),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_mid_load_changes_nothing_but_the_breaker() {
    let mut redis = RedisServer::start(free_port());
    let url = format!("redis://127.0.0.1:{}/", redis.port);
    let app = TestApp::ingesting(|config| {
        config.redis_url = Some(url.clone());
        config.redis_prefix = "rhiz-outage".to_owned();
        config.admin_api_key = vec![ADMIN_KEY.to_owned()];
    })
    .await;
    app.apply(&relationship("alice", "bob", 1, 80)).await;
    let mut names: Vec<String> = (0..10).map(|i| format!("Entity {i}")).collect();
    for (i, name) in names.iter().enumerate() {
        let body = json!({"did": format!("did:plc:e{i}"), "type": "person", "name": name});
        assert_eq!(
            app.call("POST", "/api/v1/entities", Some(body))
                .await
                .status,
            201
        );
    }
    round(&app, &names).await;
    round(&app, &names).await;
    assert_eq!(breaker(&app).await, "closed");

    redis.stop();
    let stopped = Instant::now();
    round(&app, &names).await;
    // Writes during the outage are served at once: the local invalidation is
    // done, the L2 part waits for Redis. Their failed L2 calls (and the
    // lookups that follow) open the breaker.
    let mut rounds = 0;
    while breaker(&app).await != "open" {
        assert!(
            stopped.elapsed() < Duration::from_secs(10),
            "the breaker never opened"
        );
        for (i, name) in names.iter_mut().enumerate() {
            *name = format!("Renamed {i} in round {rounds}");
            rename(&app, i, name).await;
        }
        round(&app, &names).await;
        rounds += 1;
    }
    for _ in 0..3 {
        round(&app, &names).await;
    }
    let during = admin(&app, "/api/v1/cache/stats").await;
    assert!(
        during["stats"]["l2_errors"].as_u64().unwrap() > 0,
        "{during}"
    );
    assert!(
        during["stats"]["invalidations_deferred"].as_u64().unwrap() > 0,
        "{during}"
    );
    let detailed = app.call("GET", "/health/detailed", None).await;
    assert_eq!(detailed.body["dependencies"]["cache"]["status"], "degraded");
    let ready = app.call("GET", "/health/ready", None).await;
    assert_eq!(
        ready.status, 200,
        "a cache with a fallback keeps the instance ready"
    );
    assert_eq!(ready.body["checks"]["cache"], "degraded");
    eprintln!(
        "breaker opened after {rounds} rounds, {:?}",
        stopped.elapsed()
    );

    let _redis = RedisServer::start(redis.port);
    let restarted = Instant::now();
    // The cache health check is a probe: it closes the breaker once Redis
    // answers (otherwise the breaker's own half-open probe does, after 15 s).
    loop {
        let health = admin(&app, "/api/v1/cache/health").await;
        if health["breaker"] == "closed" && health["l2"]["status"] == "up" {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(20),
            "the breaker never closed: {health}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut connection = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("the restarted Redis");
    // What L1 computed while Redis was down stays in L1 until this instance
    // has resubscribed to the invalidations (it may have missed some): then
    // it is recomputed and reaches L2 again. The subscription reconnects on
    // its own backoff, so the load keeps going until it has.
    loop {
        round(&app, &names).await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("rhiz-outage:cache*")
            .query_async(&mut connection)
            .await
            .unwrap();
        if keys.iter().any(|key| key.contains("profile:did:plc:e")) {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(30),
            "L2 never held profiles again: {keys:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(breaker(&app).await, "closed");
    let detailed = app.call("GET", "/health/detailed", None).await;
    assert_eq!(detailed.body["dependencies"]["cache"]["status"], "healthy");
}
