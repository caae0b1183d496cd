//! Per-class TTL and placement, batch reads, tag and pattern invalidation,
//! and what L2 holds.

use std::time::Duration;

use redis::AsyncCommands;
use rhiz_cache::{Cache, Delivery, Invalidation, KeyClass, Placement};

use crate::support::{builder, namespace, raw_connection, subscribed};

const SHORT: Duration = Duration::from_millis(300);

async fn cache_with_classes(ns: &str) -> Cache {
    let cache = builder(ns)
        .class(KeyClass::new("short", Some(SHORT)))
        .class(KeyClass::new("long", Some(Duration::from_secs(30))))
        .class(KeyClass::new("local", Some(SHORT)).placement(Placement::L1))
        .class(KeyClass::new("shared", Some(SHORT)).placement(Placement::L2))
        .build()
        .unwrap();
    subscribed(&cache).await;
    cache
}

#[tokio::test]
async fn each_class_expires_after_its_own_ttl_in_its_own_tiers() {
    let ns = namespace("ttl");
    let cache = cache_with_classes(&ns).await;
    for class in ["short", "long", "local", "shared"] {
        cache.set(class, "k", &class.to_owned(), &[]).await.unwrap();
        assert_eq!(
            cache.get::<String>(class, "k").await.unwrap().as_deref(),
            Some(class)
        );
    }
    let mut redis = raw_connection().await;
    let pttl: i64 = redis.pttl(format!("{ns}:v:shared:k")).await.unwrap();
    assert!(
        pttl > 0 && pttl <= 300,
        "L2 TTL follows the class: {pttl} ms"
    );
    let exists: bool = redis.exists(format!("{ns}:v:local:k")).await.unwrap();
    assert!(!exists, "an L1-only class never reaches Redis");

    let stats = cache.stats();
    assert_eq!(stats.classes["local"].l1_hits, 1);
    assert_eq!(
        stats.classes["shared"].l1_hits, 0,
        "an L2-only class is not held in process"
    );
    assert_eq!(stats.classes["shared"].l2_hits, 1);

    tokio::time::sleep(SHORT + Duration::from_millis(100)).await;
    for class in ["short", "local", "shared"] {
        assert_eq!(
            cache.get::<String>(class, "k").await.unwrap(),
            None,
            "{class} expired"
        );
    }
    assert_eq!(
        cache.get::<String>("long", "k").await.unwrap().as_deref(),
        Some("long")
    );
}

#[tokio::test]
async fn values_are_shared_through_l2_and_read_in_batches() {
    let ns = namespace("batch");
    let writer = cache_with_classes(&ns).await;
    let reader = cache_with_classes(&ns).await;
    for key in ["a", "b", "c"] {
        writer
            .set("long", key, &key.to_uppercase(), &[])
            .await
            .unwrap();
    }
    let values: Vec<Option<String>> = reader
        .get_many("long", &["a", "x", "b", "c", "y"])
        .await
        .unwrap();
    let expected = [Some("A"), None, Some("B"), Some("C"), None];
    assert_eq!(
        values.iter().map(Option::as_deref).collect::<Vec<_>>(),
        expected
    );
    let stats = reader.stats().classes["long"];
    assert_eq!((stats.l2_hits, stats.l2_misses), (3, 2));
    // Promoted: the second batch is answered by L1 alone.
    let again: Vec<Option<String>> = reader.get_many("long", &["a", "b", "c"]).await.unwrap();
    assert!(again.iter().all(Option::is_some));
    assert_eq!(reader.stats().classes["long"].l1_hits, 3);
}

#[tokio::test]
async fn invalidating_a_tag_misses_exactly_the_values_carrying_it() {
    let ns = namespace("tags");
    let cache = cache_with_classes(&ns).await;
    cache.set("long", "k1", &1, &["t1"]).await.unwrap();
    cache.set("long", "k2", &2, &["t1", "t2"]).await.unwrap();
    cache.set("long", "k3", &3, &["t2"]).await.unwrap();
    cache.set("local", "k4", &4, &["t1"]).await.unwrap();

    let delivery = cache.invalidate(Invalidation::Tag("t1".into())).await;
    assert_eq!(delivery, Delivery::Everywhere);
    assert_eq!(cache.get::<i32>("long", "k1").await.unwrap(), None);
    assert_eq!(cache.get::<i32>("long", "k2").await.unwrap(), None);
    assert_eq!(cache.get::<i32>("long", "k3").await.unwrap(), Some(3));
    assert_eq!(cache.get::<i32>("local", "k4").await.unwrap(), None);

    // An instance started after the invalidation finds the old values in L2
    // and judges them by the tag time stored there.
    let late = cache_with_classes(&ns).await;
    assert_eq!(late.get::<i32>("long", "k2").await.unwrap(), None);
    assert_eq!(late.get::<i32>("long", "k3").await.unwrap(), Some(3));

    // A value written after the invalidation carries the tag again and lives.
    cache.set("long", "k1", &10, &["t1"]).await.unwrap();
    assert_eq!(late.get::<i32>("long", "k1").await.unwrap(), Some(10));
}

#[tokio::test]
async fn invalidating_several_tags_at_once_misses_the_values_of_each() {
    let ns = namespace("several-tags");
    let cache = cache_with_classes(&ns).await;
    cache.set("long", "k1", &1, &["t1"]).await.unwrap();
    cache.set("long", "k2", &2, &["t2"]).await.unwrap();
    cache.set("long", "k3", &3, &["t3"]).await.unwrap();

    let tags = Invalidation::Tags(vec!["t1".into(), "t2".into()]);
    assert_eq!(cache.invalidate(tags).await, Delivery::Everywhere);
    assert_eq!(cache.get::<i32>("long", "k1").await.unwrap(), None);
    assert_eq!(cache.get::<i32>("long", "k2").await.unwrap(), None);
    assert_eq!(cache.get::<i32>("long", "k3").await.unwrap(), Some(3));

    // Each tag's time is stored in L2 for instances that start later.
    let late = cache_with_classes(&ns).await;
    assert_eq!(late.get::<i32>("long", "k1").await.unwrap(), None);
    assert_eq!(late.get::<i32>("long", "k2").await.unwrap(), None);
    assert_eq!(late.get::<i32>("long", "k3").await.unwrap(), Some(3));
}

#[tokio::test]
async fn a_pattern_removes_matching_keys_from_both_tiers_only() {
    let ns = namespace("pattern");
    let cache = cache_with_classes(&ns).await;
    for key in ["a1", "a2", "b1"] {
        cache.set("long", key, &key.to_owned(), &[]).await.unwrap();
        cache.set("local", key, &key.to_owned(), &[]).await.unwrap();
    }
    cache.invalidate(Invalidation::Pattern("*:a?".into())).await;

    let mut redis = raw_connection().await;
    for (key, kept) in [("a1", false), ("a2", false), ("b1", true)] {
        let exists: bool = redis.exists(format!("{ns}:v:long:{key}")).await.unwrap();
        assert_eq!(exists, kept, "L2 copy of {key}");
        for class in ["long", "local"] {
            let value = cache.get::<String>(class, key).await.unwrap();
            assert_eq!(value.is_some(), kept, "{class}:{key}");
        }
    }
}

#[tokio::test]
async fn corrupt_or_foreign_bytes_in_l2_are_misses() {
    let ns = namespace("corrupt");
    let cache = cache_with_classes(&ns).await;
    let mut redis = raw_connection().await;
    let mut newer_version = b"RZC\x02".to_vec();
    newer_version.extend_from_slice(&[0; 30]);
    let garbage: [&[u8]; 5] = [
        b"",
        b"RZC",
        b"RZC\x01\x00",
        b"{\"json\": 1}",
        &newer_version,
    ];
    for (i, bytes) in garbage.iter().enumerate() {
        let key = format!("k{i}");
        let _: () = redis
            .set_ex(format!("{ns}:v:short:{key}"), *bytes, 60)
            .await
            .unwrap();
        assert_eq!(cache.get::<String>("short", &key).await.unwrap(), None);
        let computed: String = cache
            .get_or_compute("short", &key, &[], || async {
                Ok::<_, std::io::Error>("fresh".to_owned())
            })
            .await
            .unwrap();
        assert_eq!(computed, "fresh");
    }
    assert!(cache.stats().l2_corrupt >= 4, "{:?}", cache.stats());
    // A value of another type under the key is a miss too.
    cache
        .set("short", "typed", &vec![1u64, 2, 3], &[])
        .await
        .unwrap();
    assert_eq!(
        cache
            .get::<(String, String, String, String)>("short", "typed")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn stats_and_health_report_l1_size_and_the_breaker() {
    let ns = namespace("health");
    let cache = cache_with_classes(&ns).await;
    cache
        .set("long", "k", &"x".repeat(1000), &[])
        .await
        .unwrap();
    let stats = cache.stats();
    assert_eq!(stats.l1_entries, 1);
    assert!(stats.l1_weight_bytes >= 1000);
    assert_eq!(stats.sets, 1);
    let health = cache.health().await;
    assert!(
        matches!(health.l2, rhiz_cache::L2Health::Up { .. }),
        "{health:?}"
    );
    assert_eq!(health.breaker, Some(rhiz_cache::BreakerState::Closed));
    let json = serde_json::to_value(cache.stats()).unwrap();
    assert_eq!(json["breaker"], "closed");
}
