//! Hit latency of each tier next to its raw baseline in the same run:
//! L1 against a bare moka lookup, L2 against a bare Redis `GET` of the same
//! bytes through the same client.
//!
//! `RHIZ_TEST_REDIS_URL=redis://127.0.0.1:6379/ cargo bench -p rhiz-cache --bench cache`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use futures_util::FutureExt;
use redis::aio::ConnectionManager;
use rhiz_cache::{Cache, KeyClass, Placement};
use serde::{Deserialize, Serialize};

/// Shaped like a trust-metrics answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Metrics {
    did: String,
    score: f64,
    inbound: u32,
    outbound: u32,
    attestations: u32,
}

fn sample() -> Metrics {
    Metrics {
        did: "did:plc:ewvi7nxzyoun6zhxrhs64oiz".to_owned(),
        score: 0.8125,
        inbound: 42,
        outbound: 17,
        attestations: 5,
    }
}

fn redis_url() -> String {
    std::env::var("RHIZ_TEST_REDIS_URL")
        .expect("RHIZ_TEST_REDIS_URL must name the Redis to benchmark against")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn l1_hit(c: &mut Criterion) {
    let rt = runtime();
    let cache = Cache::builder()
        .class(KeyClass::new("trust", Some(Duration::from_secs(3600))))
        .build()
        .unwrap();
    rt.block_on(cache.set(
        "trust",
        "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
        &sample(),
        &["did:plc:ewvi7nxzyoun6zhxrhs64oiz"],
    ))
    .unwrap();
    let raw: moka::sync::Cache<String, Arc<Metrics>> = moka::sync::Cache::new(1024);
    raw.insert(
        "trust:did:plc:ewvi7nxzyoun6zhxrhs64oiz".to_owned(),
        Arc::new(sample()),
    );

    let mut group = c.benchmark_group("l1_hit");
    // An L1 hit completes on its first poll: poll it once, as the raw
    // moka lookup beside it, without a runtime's block_on in the loop.
    group.bench_function("rhiz_cache_get", |b| {
        b.iter(|| {
            let get = cache.get::<Metrics>("trust", black_box("did:plc:ewvi7nxzyoun6zhxrhs64oiz"));
            black_box(
                get.now_or_never()
                    .expect("an L1 hit does not wait")
                    .unwrap(),
            )
        })
    });
    // How rhiz-server reads: the computation is never run on a hit.
    group.bench_function("rhiz_cache_get_or_compute", |b| {
        b.iter(|| {
            let key = black_box("did:plc:ewvi7nxzyoun6zhxrhs64oiz");
            let tags = [key];
            let get = cache.get_or_compute("trust", key, &tags, || async {
                Ok::<_, std::io::Error>(sample())
            });
            black_box(
                get.now_or_never()
                    .expect("an L1 hit does not wait")
                    .unwrap(),
            )
        })
    });
    group.bench_function("raw_moka_get", |b| {
        b.iter(|| black_box(raw.get(black_box("trust:did:plc:ewvi7nxzyoun6zhxrhs64oiz"))))
    });
    group.finish();
}

fn l2_hit(c: &mut Criterion) {
    let rt = runtime();
    let namespace = format!("rhiz-cache-bench:{}", uuid::Uuid::new_v4());
    let cache = rt.block_on(async {
        Cache::builder()
            .namespace(&namespace)
            .redis_url(redis_url())
            .class(KeyClass::new("trust", Some(Duration::from_secs(600))).placement(Placement::L2))
            .build()
            .unwrap()
    });
    let key = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
    let raw_key = format!("{namespace}:v:trust:{key}");
    let mut raw = rt.block_on(async {
        let client = redis::Client::open(redis_url()).unwrap();
        ConnectionManager::new(client).await.unwrap()
    });
    rt.block_on(async {
        cache.set("trust", key, &sample(), &[key]).await.unwrap();
        let stored: Vec<u8> = redis::cmd("GET")
            .arg(&raw_key)
            .query_async(&mut raw)
            .await
            .unwrap();
        assert!(!stored.is_empty(), "the value is in Redis");
        assert!(cache.get::<Metrics>("trust", key).await.unwrap().is_some());
    });

    let mut group = c.benchmark_group("l2_hit");
    group.bench_function("rhiz_cache_get", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(cache.get::<Metrics>("trust", black_box(key)).await.unwrap())
        })
    });
    group.bench_function("raw_redis_get", |b| {
        b.to_async(&rt).iter(|| {
            let mut conn = raw.clone();
            let raw_key = &raw_key;
            async move {
                let bytes: Vec<u8> = redis::cmd("GET")
                    .arg(raw_key)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                black_box(bytes)
            }
        })
    });
    group.finish();
    rt.block_on(cache.invalidate(rhiz_cache::Invalidation::Pattern("*".into())));
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    l1_hit(&mut criterion);
    l2_hit(&mut criterion);
    criterion.final_summary();
}
