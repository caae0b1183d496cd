//! get_or_compute: single-flight, stale-on-error, soft timeout, eager refresh.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhiz_cache::{Cache, CacheError, KeyClass};

use crate::support::{builder, namespace, subscribed};

async fn cache(ns: &str, class: KeyClass) -> Cache {
    let cache = builder(ns).class(class).build().unwrap();
    subscribed(&cache).await;
    cache
}

async fn failing() -> Result<String, std::io::Error> {
    Err(std::io::Error::other("upstream down"))
}

fn ok(value: &str) -> impl std::future::Future<Output = Result<String, std::io::Error>> {
    let value = value.to_owned();
    async move { Ok(value) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_misses_compute_once() {
    let ns = namespace("single-flight");
    let cache = cache(&ns, KeyClass::new("c", Some(Duration::from_secs(30)))).await;
    let runs = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (cache, runs) = (cache.clone(), Arc::clone(&runs));
            tokio::spawn(async move {
                cache
                    .get_or_compute("c", "missing", &[], || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok::<_, std::io::Error>(42u64)
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 42);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(cache.stats().classes["c"].computations, 1);
}

#[tokio::test]
async fn a_failed_computation_returns_stale_within_max_staleness_then_the_error() {
    let ns = namespace("stale-on-error");
    let class =
        KeyClass::new("c", Some(Duration::from_millis(200))).max_stale(Duration::from_millis(400));
    let cache = cache(&ns, class).await;
    let created = Instant::now();
    let v1: String = cache
        .get_or_compute("c", "k", &[], || ok("v1"))
        .await
        .unwrap();
    assert_eq!(v1, "v1");

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        cache.get::<String>("c", "k").await.unwrap(),
        None,
        "expired for plain reads"
    );
    let stale = cache.get_or_compute("c", "k", &[], failing).await.unwrap();
    assert_eq!(stale, "v1");
    assert_eq!(cache.stats().classes["c"].stale_served, 1);

    tokio::time::sleep(Duration::from_millis(700).saturating_sub(created.elapsed())).await;
    let error = cache
        .get_or_compute("c", "k", &[], failing)
        .await
        .unwrap_err();
    assert!(matches!(error, CacheError::Compute(_)), "{error:?}");
    assert!(error.to_string().contains("upstream down"));
}

#[tokio::test]
async fn a_slow_computation_past_the_soft_timeout_returns_stale_and_finishes_in_the_background() {
    let ns = namespace("soft-timeout");
    let class = KeyClass::new("c", Some(Duration::from_millis(500)))
        .max_stale(Duration::from_secs(10))
        .soft_timeout(Duration::from_millis(50));
    let cache = cache(&ns, class).await;
    cache
        .get_or_compute("c", "k", &[], || ok("v1"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(550)).await;

    let asked = Instant::now();
    let value: String = cache
        .get_or_compute("c", "k", &[], || async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok::<_, std::io::Error>("v2".to_owned())
        })
        .await
        .unwrap();
    assert_eq!(value, "v1");
    assert!(
        asked.elapsed() < Duration::from_millis(150),
        "took {:?}",
        asked.elapsed()
    );

    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        cache.get::<String>("c", "k").await.unwrap().as_deref(),
        Some("v2")
    );
}

#[tokio::test]
async fn a_hit_late_in_the_ttl_refreshes_in_the_background() {
    let ns = namespace("eager");
    let class = KeyClass::new("c", Some(Duration::from_millis(600))).eager_refresh(0.5);
    let cache = cache(&ns, class).await;
    cache
        .get_or_compute("c", "k", &[], || ok("v1"))
        .await
        .unwrap();
    assert_eq!(
        cache
            .get_or_compute("c", "k", &[], || ok("early"))
            .await
            .unwrap(),
        "v1"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        cache
            .get_or_compute("c", "k", &[], || ok("v2"))
            .await
            .unwrap(),
        "v1"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        cache.get::<String>("c", "k").await.unwrap().as_deref(),
        Some("v2")
    );
    assert_eq!(cache.stats().classes["c"].computations, 2);
}

#[tokio::test]
async fn a_tag_invalidated_during_a_computation_invalidates_its_result() {
    let ns = namespace("tag-race");
    let cache = cache(&ns, KeyClass::new("c", Some(Duration::from_secs(30)))).await;
    let computing = cache.get_or_compute("c", "k", &["t"], || async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok::<_, std::io::Error>("computed from old data".to_owned())
    });
    let invalidating = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        cache
            .invalidate(rhiz_cache::Invalidation::Tag("t".into()))
            .await;
    };
    let (value, _) = tokio::join!(computing, invalidating);
    assert_eq!(value.unwrap(), "computed from old data");
    assert_eq!(cache.get::<String>("c", "k").await.unwrap(), None);
}
