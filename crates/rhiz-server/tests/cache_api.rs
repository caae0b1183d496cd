//! The answer cache behind the API (issue 5): the operator routes and their
//! key, invalidation by key, tag and pattern, what health reports, and
//! writes that invalidate before they answer.

mod support;

use axum::body::Body;
use axum::http::Request;
use rhiz_store::EntityPatch;
use serde_json::{json, Value};
use support::events::{profile_updated, relationship};
use support::{Reply, TestApp};

const ADMIN_KEY: &str = "test-admin-key-0123456789";
const ALICE: &str = "did:plc:alice";

fn redis_url() -> String {
    std::env::var("RHIZ_TEST_REDIS_URL").expect(
        "RHIZ_TEST_REDIS_URL is not set: run the tests with ./scripts/test.sh, \
         which starts a throwaway Redis server",
    )
}

/// An app with the operator API open, on Redis when `redis` is true (in a
/// namespace of its own).
async fn app(redis: bool) -> TestApp {
    TestApp::with_config(|config| {
        config.admin_api_key = vec![ADMIN_KEY.to_owned()];
        if redis {
            config.redis_url = Some(redis_url());
            config.redis_prefix = format!("rhiz-cache-api-{}", uuid::Uuid::new_v4());
        }
    })
    .await
}

/// An operator request with `key` in `X-Admin-Key` (none: no header).
async fn operator(
    app: &TestApp,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(key) = key {
        builder = builder.header("x-admin-key", key);
    }
    let body = match body {
        Some(body) => {
            builder = builder.header("content-type", "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    app.send(builder.body(body).expect("request")).await
}

async fn name_of(app: &TestApp, did: &str) -> Value {
    let reply = app
        .call("GET", &format!("/api/v1/entities/{did}"), None)
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["name"].clone()
}

/// Renames an entity in the store behind the cache's back: only an
/// invalidation makes the API see it.
async fn rename_behind_the_cache(app: &TestApp, did: &str, name: &str) {
    let patch = EntityPatch {
        name: Some(name.to_owned()),
        ..EntityPatch::default()
    };
    app.state
        .store
        .update_entity(&did.parse().unwrap(), &patch, chrono::Utc::now())
        .await
        .expect("update");
}

#[tokio::test]
async fn the_operator_api_is_closed_without_a_configured_key() {
    let app = TestApp::sqlite().await;
    for (method, path, body) in [
        ("GET", "/api/v1/cache/stats", None),
        ("GET", "/api/v1/cache/health", None),
        (
            "POST",
            "/api/v1/cache/invalidate",
            Some(json!({"tag": ALICE})),
        ),
    ] {
        let reply = operator(&app, method, path, Some(ADMIN_KEY), body).await;
        assert_eq!(reply.status, 403, "{path}: {:?}", reply.body);
        assert!(reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("admin_api_key"));
    }
}

#[tokio::test]
async fn a_wrong_key_is_403_and_a_missing_one_422() {
    let app = app(false).await;
    let wrong = operator(
        &app,
        "GET",
        "/api/v1/cache/stats",
        Some("not-the-admin-key-0000"),
        None,
    )
    .await;
    assert_eq!(wrong.status, 403, "{:?}", wrong.body);
    let internal_key = operator(
        &app,
        "GET",
        "/api/v1/cache/stats",
        Some(support::events::KEY),
        None,
    )
    .await;
    assert_eq!(internal_key.status, 403, "{:?}", internal_key.body);
    let missing = operator(&app, "GET", "/api/v1/cache/stats", None, None).await;
    assert_eq!(missing.status, 422, "{:?}", missing.body);
    assert_eq!(
        missing.body["detail"][0]["loc"],
        json!(["header", "x-admin-key"])
    );
    let right = operator(&app, "GET", "/api/v1/cache/stats", Some(ADMIN_KEY), None).await;
    assert_eq!(right.status, 200, "{:?}", right.body);
    assert_eq!(right.body["backend"], "memory");
}

#[tokio::test]
async fn an_invalidation_names_exactly_one_target() {
    let app = app(false).await;
    for body in [
        json!({}),
        json!({"key": "profile:x", "tag": "x"}),
        json!({"pattern": ""}),
    ] {
        let reply = operator(
            &app,
            "POST",
            "/api/v1/cache/invalidate",
            Some(ADMIN_KEY),
            Some(body.clone()),
        )
        .await;
        assert_eq!(reply.status, 422, "{body}: {:?}", reply.body);
    }
}

/// Profiles are cached; an operator's invalidation by key, tag or pattern
/// makes the store's current value visible, here and (with Redis) in L2.
async fn invalidation_by_key_tag_and_pattern(redis: bool) {
    let app = app(redis).await;
    let created = app
        .call(
            "POST",
            "/api/v1/entities",
            Some(json!({"did": ALICE, "type": "person", "name": "Alice"})),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(name_of(&app, ALICE).await, "Alice");
    for (n, body) in [
        json!({"key": format!("profile:{ALICE}")}),
        json!({"tag": ALICE}),
        json!({"pattern": "profile:did:plc:*"}),
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("Alice {n}");
        rename_behind_the_cache(&app, ALICE, &name).await;
        assert_ne!(
            name_of(&app, ALICE).await,
            name.as_str(),
            "{body}: served from the cache"
        );
        let reply = operator(
            &app,
            "POST",
            "/api/v1/cache/invalidate",
            Some(ADMIN_KEY),
            Some(body.clone()),
        )
        .await;
        assert_eq!(reply.status, 200, "{body}: {:?}", reply.body);
        let delivery = if redis { "everywhere" } else { "local" };
        assert_eq!(reply.body["delivery"], delivery, "{body}: {:?}", reply.body);
        assert_eq!(name_of(&app, ALICE).await, name.as_str(), "{body}");
    }
    let stats = operator(&app, "GET", "/api/v1/cache/stats", Some(ADMIN_KEY), None).await;
    assert_eq!(stats.status, 200);
    let profile = &stats.body["stats"]["classes"]["profile"];
    assert!(profile["l1_hits"].as_u64().unwrap() >= 3, "{profile}");
    assert!(profile["computations"].as_u64().unwrap() >= 4, "{profile}");
}

#[tokio::test]
async fn invalidation_by_key_tag_and_pattern_in_memory() {
    invalidation_by_key_tag_and_pattern(false).await;
}

#[tokio::test]
async fn invalidation_by_key_tag_and_pattern_with_redis() {
    invalidation_by_key_tag_and_pattern(true).await;
}

#[tokio::test]
async fn entity_writes_invalidate_before_they_answer() {
    let app = app(true).await;
    let body =
        json!({"did": ALICE, "type": "person", "name": "Alice", "handle": "alice.example.com"});
    let by_handle = "/api/v1/entities/by-handle/alice.example.com";
    // Cached 404s: the DID and the handle are unknown.
    assert_eq!(
        app.call("GET", &format!("/api/v1/entities/{ALICE}"), None)
            .await
            .status,
        404
    );
    assert_eq!(app.call("GET", by_handle, None).await.status, 404);
    assert_eq!(
        app.call("POST", "/api/v1/entities", Some(body))
            .await
            .status,
        201
    );
    assert_eq!(name_of(&app, ALICE).await, "Alice");
    assert_eq!(app.call("GET", by_handle, None).await.body["did"], ALICE);
    let patched = app
        .call(
            "PATCH",
            &format!("/api/v1/entities/{ALICE}"),
            Some(json!({"name": "Alicia", "handle": "alicia.example.com"})),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert_eq!(name_of(&app, ALICE).await, "Alicia");
    assert_eq!(
        app.call("GET", by_handle, None).await.status,
        404,
        "the old handle"
    );
    let new_handle = app
        .call("GET", "/api/v1/entities/by-handle/alicia.example.com", None)
        .await;
    assert_eq!(new_handle.body["name"], "Alicia");
    let deleted = app
        .call("DELETE", &format!("/api/v1/entities/{ALICE}"), None)
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        app.call("GET", &format!("/api/v1/entities/{ALICE}"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        app.call("GET", "/api/v1/entities/by-handle/alicia.example.com", None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn an_applied_profile_is_served_at_once() {
    let app = TestApp::ingesting(|config| {
        config.redis_url = Some(redis_url());
        config.redis_prefix = format!("rhiz-cache-api-{}", uuid::Uuid::new_v4());
    })
    .await;
    app.apply(&relationship("bob", "alice", 1, 80)).await;
    // Bob's neighbours page reads Alice's profile through the same class.
    let neighbour_name = || async {
        let page = app
            .get_ok("/xrpc/net.rhiz.graph.getNeighbors?did=did:plc:bob")
            .await;
        page["neighbors"][0]["entity"]["displayName"].clone()
    };
    assert_eq!(neighbour_name().await, ALICE);
    app.apply(&profile_updated(ALICE, "Alice", support::events::CID))
        .await;
    assert_eq!(name_of(&app, ALICE).await, "Alice");
    assert_eq!(neighbour_name().await, "Alice");
    app.apply(&profile_updated(ALICE, "Alice B.", support::events::CID2))
        .await;
    assert_eq!(neighbour_name().await, "Alice B.");
    assert_eq!(name_of(&app, ALICE).await, "Alice B.");
}

#[tokio::test]
async fn health_reports_the_real_cache() {
    for redis in [false, true] {
        let app = app(redis).await;
        name_of_missing(&app).await;
        let detailed = app.call("GET", "/health/detailed", None).await;
        let cache = &detailed.body["dependencies"]["cache"];
        assert_eq!(cache["status"], "healthy", "{cache}");
        assert_eq!(
            cache["backend"],
            if redis { "redis" } else { "memory" },
            "{cache}"
        );
        assert_eq!(cache["has_fallback"], redis, "{cache}");
        assert!(cache["stats"]["misses"].as_u64().unwrap() >= 1, "{cache}");
        assert_eq!(
            cache["breaker"],
            if redis { json!("closed") } else { Value::Null },
            "{cache}"
        );
        let ready = app.call("GET", "/health/ready", None).await;
        assert_eq!(ready.status, 200);
        assert_eq!(ready.body["checks"]["cache"], "healthy");
        let health = operator(&app, "GET", "/api/v1/cache/health", Some(ADMIN_KEY), None).await;
        assert_eq!(health.status, 200, "{:?}", health.body);
        let l2 = if redis { "up" } else { "disabled" };
        assert_eq!(health.body["l2"]["status"], l2, "{:?}", health.body);
    }
}

/// One lookup of an unknown entity (a miss, then a cached 404).
async fn name_of_missing(app: &TestApp) {
    let reply = app
        .call("GET", "/api/v1/entities/did:plc:nobody", None)
        .await;
    assert_eq!(reply.status, 404);
}
