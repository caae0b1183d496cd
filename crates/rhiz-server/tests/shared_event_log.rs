//! Several instances (DESIGN.md): two `rhiz serve` processes on one
//! PostgreSQL store and one Redis Streams event log. Both accept ingestion;
//! the apply-lease holder applies. `kill -9` of the holder with entries
//! pending: the other takes the lease, claims and applies them; nothing
//! acknowledged is lost and each record ends in its last state.

mod support;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rhiz_protocol::AtUri;
use serde_json::Value;
use support::events::{self, KEY};
use support::process::Server;

fn redis_url() -> String {
    std::env::var("RHIZ_TEST_REDIS_URL").expect(
        "RHIZ_TEST_REDIS_URL is not set: run the tests with ./scripts/test.sh, \
         which starts a throwaway Redis server",
    )
}

async fn metrics(client: &reqwest::Client, server: &Server) -> Option<Value> {
    let response = client
        .get(format!("{}/internal/events/metrics", server.base))
        .header("x-internal-key", KEY)
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

async fn holds_lease(client: &reqwest::Client, server: &Server) -> bool {
    metrics(client, server)
        .await
        .is_some_and(|m| m["apply_lease"]["held"] == true)
}

/// Posts a batch and returns how many of its events were acknowledged.
async fn post_batch(client: &reqwest::Client, server: &Server, batch: &[Value]) -> usize {
    let reply: Value = client
        .post(format!("{}/internal/events/batch", server.base))
        .header("x-internal-key", KEY)
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["refused"], 0, "{reply}");
    assert_eq!(reply["invalid"], 0, "{reply}");
    reply["enqueued"].as_u64().unwrap() as usize
}

#[tokio::test]
async fn the_lease_moves_to_the_survivor_which_applies_everything_in_order() {
    let database = support::fresh_postgres_database().await;
    let prefix = format!("rhiz-test-{}-{}", std::process::id(), rand_suffix());
    let redis = redis_url();
    let env = [
        ("RHIZ_INTERNAL_API_KEY", KEY),
        ("RHIZ_DATABASE_URL", database.as_str()),
        ("RHIZ_EVENT_LOG", "redis"),
        ("RHIZ_REDIS_URL", redis.as_str()),
        ("RHIZ_REDIS_PREFIX", prefix.as_str()),
        ("RHIZ_EVENT_QUEUE_CAPACITY", "100000"),
        ("RHIZ_EVENT_LANE_CAPACITY", "100000"),
    ];
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let client = reqwest::Client::new();
    let a = Server::start_with(dir_a.path(), Stdio::inherit(), "warn", &env);
    a.wait_healthy(&client).await;
    let b = Server::start_with(dir_b.path(), Stdio::inherit(), "warn", &env);
    b.wait_healthy(&client).await;

    // Exactly one holds the lease.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (holder, other) = loop {
        let (ha, hb) = (
            holds_lease(&client, &a).await,
            holds_lease(&client, &b).await,
        );
        assert!(!(ha && hb), "both instances hold the lease");
        if ha {
            break (a, b);
        }
        if hb {
            break (b, a);
        }
        assert!(Instant::now() < deadline, "nobody took the lease");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // Per-record order through both instances: record n is created through
    // one and updated through the other, each step acknowledged before the
    // next, so the log holds them in this order.
    let mut expected: BTreeMap<String, u8> = BTreeMap::new();
    for n in 0..50u64 {
        let (first, second) = if n % 2 == 0 {
            (&holder, &other)
        } else {
            (&other, &holder)
        };
        assert_eq!(
            post_batch(
                &client,
                first,
                &[events::relationship("order", "peer", n, 10)]
            )
            .await,
            1
        );
        let update = events::relationship_event(
            "relationship.updated",
            "order",
            "peer",
            n,
            60,
            events::CID2,
        );
        assert_eq!(post_batch(&client, second, &[update]).await, 1);
        expected.insert(events::relationship_uri("order", n), 60);
    }

    // A burst through both, then the holder dies with entries pending.
    let mut sent = 0;
    for chunk in 0..8u64 {
        let batch: Vec<Value> = (0..500u64)
            .map(|i| {
                let n = chunk * 500 + i;
                events::relationship("burst", "peer", n, (n % 100) as u8)
            })
            .collect();
        let target = if chunk % 2 == 0 { &holder } else { &other };
        sent += post_batch(&client, target, &batch).await;
        for n in chunk * 500..chunk * 500 + 500 {
            expected.insert(events::relationship_uri("burst", n), (n % 100) as u8);
        }
    }
    assert_eq!(sent, 4_000);
    holder.kill_9();

    // The survivor takes the lease within the lease's TTL (10 s) and then
    // applies everything acknowledged.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !holds_lease(&client, &other).await {
        assert!(
            Instant::now() < deadline,
            "the survivor never took the lease"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let store = rhiz_store::open(&database).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut missing = 0;
        for (uri, strength) in &expected {
            let uri: AtUri = uri.parse().unwrap();
            match store.get_relationship(&uri).await.unwrap() {
                Some(stored) if stored.strength == *strength => {}
                _ => missing += 1,
            }
        }
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} acknowledged events not applied in their last state"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let m = metrics(&client, &other).await.unwrap();
    assert_eq!(m["dead_letter_count"], 0, "{m}");
    store.close().await;
    assert!(other.terminate().success());
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}
