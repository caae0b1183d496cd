//! Two `rhiz serve` processes on one PostgreSQL store and one Redis (issue
//! 5): an entity changed through one is served changed by the other within
//! 100 ms, its L1 copy invalidated through the pub/sub channel.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::process::Server;

const ADMIN_KEY: &str = "test-admin-key-0123456789";
const DID: &str = "did:plc:shared";

async fn cache_stats(client: &reqwest::Client, server: &Server) -> Value {
    let response = client
        .get(format!("{}/api/v1/cache/stats", server.base))
        .header("x-admin-key", ADMIN_KEY)
        .send()
        .await
        .expect("stats");
    assert_eq!(response.status(), 200);
    response.json().await.expect("stats JSON")
}

async fn name_on(client: &reqwest::Client, server: &Server) -> String {
    let body = server
        .get_json(client, &format!("/api/v1/entities/{DID}"))
        .await;
    body["name"].as_str().expect("name").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entity_changed_through_one_instance_is_served_changed_by_the_other_within_100_ms() {
    let database = support::fresh_postgres_database().await;
    let redis = std::env::var("RHIZ_TEST_REDIS_URL").expect("RHIZ_TEST_REDIS_URL is not set");
    let prefix = format!("rhiz-instances-{}", uuid::Uuid::new_v4());
    let env = [
        ("RHIZ_DATABASE_URL", database.as_str()),
        ("RHIZ_REDIS_URL", redis.as_str()),
        ("RHIZ_REDIS_PREFIX", prefix.as_str()),
        ("RHIZ_ADMIN_API_KEY", ADMIN_KEY),
        ("RHIZ_HANDLE_RESOLUTION", "false"),
    ];
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Server::start_with(dir_a.path(), Stdio::inherit(), "warn", &env);
    let b = Server::start_with(dir_b.path(), Stdio::inherit(), "warn", &env);
    let client = reqwest::Client::new();
    a.wait_healthy(&client).await;
    b.wait_healthy(&client).await;
    // B follows the channel before it caches anything (the first
    // subscription clears L1).
    let deadline = Instant::now() + Duration::from_secs(10);
    while cache_stats(&client, &b).await["stats"]["l1_clears"] == 0 {
        assert!(Instant::now() < deadline, "B never subscribed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let created = client
        .post(format!("{}/api/v1/entities", a.base))
        .json(&json!({"did": DID, "type": "person", "name": "Before"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    for _ in 0..3 {
        assert_eq!(name_on(&client, &b).await, "Before");
    }
    let before = cache_stats(&client, &b).await;
    assert!(
        before["stats"]["classes"]["profile"]["l1_hits"]
            .as_u64()
            .unwrap()
            >= 2,
        "B serves the entity from its L1: {before}"
    );

    let patched = client
        .patch(format!("{}/api/v1/entities/{DID}", a.base))
        .json(&json!({"name": "After"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let changed = Instant::now();
    while name_on(&client, &b).await != "After" {
        assert!(
            changed.elapsed() < Duration::from_millis(100),
            "B still serves the old name 100 ms after the change"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = changed.elapsed();
    eprintln!("B served the change {elapsed:?} after A answered the PATCH");
    let after = cache_stats(&client, &b).await;
    assert!(
        after["stats"]["invalidations_received"].as_u64().unwrap()
            > before["stats"]["invalidations_received"].as_u64().unwrap(),
        "{after}"
    );
    a.terminate();
    b.terminate();
}
