//! Shared set-up for the server's integration tests: an app on a fresh
//! store of either backend, and a JSON request helper.

#![allow(dead_code, unreachable_pub)]

pub mod events;
pub mod process;
pub mod tcp_proxy;

use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use rhiz_server::config::Config;
use rhiz_server::AppState;
use serde_json::Value;
use sqlx::Connection;
use tower::ServiceExt;

/// An application on a fresh store, plus whatever keeps that store alive.
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    _dir: tempfile::TempDir,
}

/// A response, decoded.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestApp {
    /// An app on a SQLite file in a new temporary directory.
    pub async fn sqlite() -> TestApp {
        Self::with_config(|_| {}).await
    }

    /// An app on a new, empty PostgreSQL database of the test server.
    pub async fn postgres() -> TestApp {
        let url = fresh_postgres_database().await;
        Self::with_config(|config| config.database_url = Some(url)).await
    }

    /// An app on SQLite with `adjust` applied to the configuration (handle
    /// resolution starts switched off, so no test reaches for the network).
    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = Config {
            data_dir: dir.path().to_owned(),
            handle_resolution: false,
            ..Config::default()
        };
        adjust(&mut config);
        let store = rhiz_store::open(&config.store_url())
            .await
            .expect("open store");
        let state = AppState::start(store, config).await.expect("app state");
        TestApp {
            router: rhiz_server::app(state.clone()),
            state,
            _dir: dir,
        }
    }

    /// An app on SQLite that accepts [`events::KEY`] on `/internal`, with
    /// `adjust` applied.
    pub async fn ingesting(adjust: impl FnOnce(&mut Config)) -> TestApp {
        Self::with_config(|config| {
            config.internal_api_key = vec![events::KEY.to_owned()];
            adjust(config);
        })
        .await
    }

    /// Posts `body` as JSON to an `/internal` route with the test key.
    pub async fn post_internal(&self, path: &str, body: &Value) -> Reply {
        let request = Request::post(path)
            .header("content-type", "application/json")
            .header("x-internal-key", events::KEY)
            .body(Body::from(body.to_string()))
            .expect("request");
        self.send(request).await
    }

    /// Sends a body-less request to an `/internal` route with the test key.
    pub async fn call_internal(&self, method: &str, path: &str) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("x-internal-key", events::KEY)
            .body(Body::empty())
            .expect("request");
        self.send(request).await
    }

    /// Submits an ingestion body through `POST /internal/events` and waits
    /// until it is applied to store and graph (failing if it is refused,
    /// rejected or not applied within 10 s). Any `event_id` is replaced.
    pub async fn apply(&self, body: &Value) {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let mut body = body.clone();
        let id = format!("applied-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        body["event_id"] = Value::from(id.as_str());
        let watch = self.state.applier.watch(&id);
        let reply = self.post_internal("/internal/events", &body).await;
        assert_eq!(reply.status, 200, "{body}: {:?}", reply.body);
        let outcome = watch.wait(std::time::Duration::from_secs(10)).await;
        assert!(
            matches!(outcome, rhiz_server::apply::ApplyOutcome::Applied(_)),
            "{body}: {outcome:?}"
        );
    }

    /// Waits until the trust table (and so the attester reputations
    /// conviction uses) reflects every change applied so far.
    pub async fn settle_trust(&self) {
        let version = self.state.graph.read().version();
        let table = self
            .state
            .trust
            .fresh(version, std::time::Duration::from_secs(10))
            .await;
        assert!(table.graph_version() >= version);
    }

    /// `GET path`, which must answer 200; its body.
    pub async fn get_ok(&self, path: &str) -> Value {
        let reply = self.call("GET", path, None).await;
        assert_eq!(reply.status, 200, "{path}: {:?}", reply.body);
        reply.body
    }

    /// Polls `check` every 10 ms until it holds, failing after 10 s.
    pub async fn eventually<F, Fut>(&self, what: &str, check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        self.eventually_within(what, std::time::Duration::from_secs(10), check)
            .await;
    }

    /// Polls `check` every 10 ms until it holds, failing after `limit`.
    pub async fn eventually_within<F, Fut>(
        &self,
        what: &str,
        limit: std::time::Duration,
        mut check: F,
    ) where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = std::time::Instant::now() + limit;
        while !check().await {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Sends a request with an optional JSON body.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let builder = Request::builder().method(method).uri(path);
        let request = match body {
            Some(body) => builder
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        }
        .expect("request");
        self.send(request).await
    }

    /// Sends any request and decodes the reply (an empty body is `null`).
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("body is not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// The admin URL of the test PostgreSQL server; the test script exports it.
pub fn postgres_admin_url() -> String {
    std::env::var("RHIZ_TEST_POSTGRES_URL").expect(
        "RHIZ_TEST_POSTGRES_URL is not set: run the tests with ./scripts/test.sh, \
         which starts a throwaway PostgreSQL server",
    )
}

/// Creates a database with a unique name and returns its URL.
pub async fn fresh_postgres_database() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let admin = postgres_admin_url();
    let name = format!(
        "rhiz_server_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let mut connection = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to the test PostgreSQL server");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut connection)
        .await
        .expect("create test database");
    let (base, _) = admin.rsplit_once('/').expect("URL with a database name");
    format!("{base}/{name}")
}

/// Runs each listed `async fn(TestApp)` once per store backend.
#[macro_export]
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::support::TestApp::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::support::TestApp::postgres().await).await;
                }
            )*
        }
    };
}
