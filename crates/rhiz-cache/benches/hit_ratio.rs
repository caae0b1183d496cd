//! Hit ratio on a Zipf(s = 1.0) workload over 1,000,000 keys, L1 sized to
//! 10 % of them, seeded: L1 alone, then L1 in front of Redis.
//!
//! `RHIZ_TEST_REDIS_URL=redis://127.0.0.1:6379/ cargo bench -p rhiz-cache --bench hit_ratio`
//!
//! Each run warms up on `WARMUP` requests, then counts hits over `MEASURED`
//! requests, issued in batches of `BATCH` through `get_many` (one `MGET` per
//! batch), misses filled with `set`.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use rand::SeedableRng;
use rand_distr::{Distribution, Zipf};
use rhiz_cache::{Cache, CacheBuilder, Invalidation, KeyClass};

const KEYS: u64 = 1_000_000;
const WARMUP: usize = 2_000_000;
const MEASURED: usize = 1_000_000;
const BATCH: usize = 200;
const VALUE_BYTES: usize = 64;

fn keys(seed: u64, count: usize) -> Vec<String> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let zipf = Zipf::new(KEYS as f64, 1.0).expect("valid Zipf parameters");
    (0..count)
        .map(|_| format!("{:07}", zipf.sample(&mut rng) as u64))
        .collect()
}

/// Runs the workload; returns (L1 hit ratio, L1 + L2 hit ratio).
async fn run(cache: &Cache, requests: &[String]) -> (f64, f64) {
    let value = vec![7u8; VALUE_BYTES];
    let before = cache.stats().classes["k"];
    for batch in requests.chunks(BATCH) {
        let keys: Vec<&str> = batch.iter().map(String::as_str).collect();
        let found: Vec<Option<Vec<u8>>> = cache.get_many("k", &keys).await.unwrap();
        let fills = keys
            .iter()
            .zip(found)
            .filter(|(_, value)| value.is_none())
            .map(|(key, _)| cache.set("k", key, &value, &[]));
        for filled in join_all(fills).await {
            filled.unwrap();
        }
    }
    let after = cache.stats().classes["k"];
    let n = requests.len() as f64;
    let l1 = (after.l1_hits - before.l1_hits) as f64 / n;
    let l2 = (after.l2_hits - before.l2_hits) as f64 / n;
    (l1, l1 + l2)
}

/// L1's weight for 10 % of the keys: one entry's weight times 100,000.
async fn l1_bytes_for_ten_percent() -> u64 {
    let probe = Cache::builder()
        .class(KeyClass::new("k", None))
        .build()
        .unwrap();
    probe
        .set("k", "0000001", &vec![7u8; VALUE_BYTES], &[])
        .await
        .unwrap();
    probe.stats().l1_weight_bytes * KEYS / 10
}

async fn measure(
    name: &str,
    builder: CacheBuilder,
    warmup: &[String],
    measured: &[String],
) -> Cache {
    let cache = builder.build().unwrap();
    let started = Instant::now();
    run(&cache, warmup).await;
    let (l1, both) = run(&cache, measured).await;
    let stats = cache.stats();
    println!(
        "{name}: L1 hit ratio {:.1} %, L1+L2 hit ratio {:.1} % (L1 holds {} entries, {} bytes; {:.1} s)",
        l1 * 100.0,
        both * 100.0,
        stats.l1_entries,
        stats.l1_weight_bytes,
        started.elapsed().as_secs_f64()
    );
    cache
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let warmup = keys(1, WARMUP);
    let measured = keys(2, MEASURED);
    let l1_bytes = l1_bytes_for_ten_percent().await;
    let class = || KeyClass::new("k", Some(Duration::from_secs(600)));
    let l1_only = Cache::builder().class(class()).l1_max_bytes(l1_bytes);
    measure("zipf/l1_only", l1_only, &warmup, &measured).await;

    let url = std::env::var("RHIZ_TEST_REDIS_URL")
        .expect("RHIZ_TEST_REDIS_URL must name the Redis to benchmark against");
    let namespace = format!("rhiz-cache-bench:{}", uuid::Uuid::new_v4());
    let with_l2 = Cache::builder()
        .namespace(&namespace)
        .redis_url(url)
        .class(class().max_stale(Duration::ZERO))
        .l1_max_bytes(l1_bytes);
    let cache = measure("zipf/l1_and_redis", with_l2, &warmup, &measured).await;
    cache.invalidate(Invalidation::Pattern("*".into())).await;
}
