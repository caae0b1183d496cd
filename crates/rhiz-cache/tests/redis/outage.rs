//! Redis unreachable or going away: answers stay right, the breaker opens,
//! and it closes again when Redis is back, with the same cache.

use std::time::{Duration, Instant};

use rhiz_cache::{BreakerState, Cache, Delivery, Invalidation, KeyClass, L2Health};

use crate::support::{eventually, free_port, namespace, subscribed, RedisServer};

fn classes(builder: rhiz_cache::CacheBuilder) -> rhiz_cache::CacheBuilder {
    builder
        .class(KeyClass::new("c", Some(Duration::from_secs(60))))
        .redis_timeout(Duration::from_millis(100))
        .breaker(3, Duration::from_millis(500))
}

async fn answer(cache: &Cache, key: u32) -> u32 {
    cache
        .get_or_compute("c", &key.to_string(), &[], || async move {
            Ok::<_, std::io::Error>(key * 2)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_closed_port_costs_no_correctness_and_opens_the_breaker() {
    let url = format!("redis://127.0.0.1:{}/", free_port());
    let cache = classes(
        Cache::builder()
            .namespace(namespace("closed"))
            .redis_url(url),
    )
    .build()
    .unwrap();
    for key in 0..20 {
        assert_eq!(answer(&cache, key).await, key * 2);
        assert_eq!(answer(&cache, key).await, key * 2, "served from L1");
    }
    let stats = cache.stats();
    assert_eq!(stats.breaker, Some(BreakerState::Open));
    assert!(stats.l2_errors >= 3, "{stats:?}");
    assert_eq!(stats.classes["c"].l1_hits, 20);
    assert_eq!(
        cache.invalidate(Invalidation::key("c", "1")).await,
        Delivery::Deferred
    );
    assert_eq!(answer(&cache, 1).await, 2);
    let health = cache.health().await;
    assert!(matches!(health.l2, L2Health::Down { .. }), "{health:?}");
}

#[tokio::test]
async fn a_redis_outage_mid_use_opens_the_breaker_which_closes_when_redis_returns() {
    let mut server = RedisServer::start(free_port());
    let ns = namespace("outage");
    let cache = classes(Cache::builder().namespace(&ns).redis_url(server.url()))
        .build()
        .unwrap();
    subscribed(&cache).await;
    for key in 0..10 {
        assert_eq!(answer(&cache, key).await, key * 2);
    }
    let peer = classes(Cache::builder().namespace(&ns).redis_url(server.url()))
        .build()
        .unwrap();
    subscribed(&peer).await;
    assert_eq!(
        peer.get::<u32>("c", "3").await.unwrap(),
        Some(6),
        "L2 is shared"
    );

    server.kill();
    let mut slowest_open = Duration::ZERO;
    for round in 0..3 {
        for key in 0..20 {
            let was_open = cache.stats().breaker == Some(BreakerState::Open);
            let asked = Instant::now();
            assert_eq!(
                answer(&cache, key).await,
                key * 2,
                "round {round}, key {key}"
            );
            if was_open {
                slowest_open = slowest_open.max(asked.elapsed());
            }
        }
    }
    let stats = cache.stats();
    assert_eq!(stats.breaker, Some(BreakerState::Open), "{stats:?}");
    assert!(
        slowest_open < Duration::from_millis(50),
        "open breaker still waited {slowest_open:?}"
    );
    // Invalidations during the outage are replayed once Redis is back.
    assert_eq!(
        cache.invalidate(Invalidation::key("c", "3")).await,
        Delivery::Deferred
    );

    server.restart();
    let closed = Instant::now();
    while cache.stats().breaker != Some(BreakerState::Closed) {
        assert!(
            closed.elapsed() < Duration::from_secs(10),
            "breaker never closed: {:?}",
            cache.stats()
        );
        answer(&cache, 100).await;
        cache.health().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // L2 fills again and the deferred invalidation reached it.
    assert_eq!(answer(&cache, 200).await, 400);
    eventually(Duration::from_secs(5), "the peer to resubscribe", || {
        peer.stats().l1_clears >= 2
    })
    .await;
    let mut shared = None;
    for _ in 0..100 {
        shared = peer.get::<u32>("c", "200").await.unwrap();
        if shared.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(shared, Some(400), "L2 written again and shared");
    assert_eq!(
        peer.get::<u32>("c", "3").await.unwrap(),
        None,
        "restarted Redis is empty"
    );
    assert_eq!(cache.stats().invalidations_deferred, 1);
    eventually(
        Duration::from_secs(5),
        "the deferred invalidation to be sent",
        || cache.stats().invalidations_sent == 1,
    )
    .await;
}
