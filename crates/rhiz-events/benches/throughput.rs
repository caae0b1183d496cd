//! Sustained durable throughput and ingest-to-applied latency of the
//! pipeline on each embedded log (the dedicated file and SQLite), with raw
//! baselines measured in the same run.
//!
//! `cargo bench -p rhiz-events --bench throughput` (optional arguments:
//! `events=N runs=N rate=N seconds=N`). Prints one line per measurement and
//! the medians.
//!
//! With the argument `redis`, measures the Redis Streams log instead, on the
//! Redis named by `RHIZ_TEST_REDIS_URL`: the pipeline with an apply lease
//! (the several-instances shape) and without, against raw pipelined `XADD`s
//! of the same payloads in batches of the same size. With `redis fsync`, on
//! a private `redis-server` (from `PATH`) that the benchmark starts with
//! `appendonly yes` and `appendfsync always` in a temporary directory under
//! the target directory, on a free port, and stops at the end.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhiz_events::{
    async_trait, ApplyLease, EventLog, FileEventLog, FileLogOptions, Handler, HandlerError,
    JsonCodec, Lane, LeaseOptions, NewEvent, Pipeline, PipelineConfig, RedisLogOptions,
    RedisStreamsEventLog, SqliteEventLog, SqliteLogOptions, Submission, SubmitOutcome,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

/// Events per producer call, as `POST /internal/events/batch` would send them.
const BATCH: usize = 1_000;
const PRODUCERS: usize = 4;
const KEYS: u64 = 10_000;

#[derive(Serialize, Deserialize)]
struct BenchEvent {
    index: u64,
    uri: String,
    body: String,
}

fn bench_event(index: u64) -> BenchEvent {
    BenchEvent {
        index,
        uri: key_of(index),
        body: format!(
            "{{\"participants\":[\"did:plc:{:024}\",\"did:plc:{:024}\"],\"type\":\"colleague\",\"strength\":{},\"created_at\":\"2026-11-23T21:00:00Z\"}}",
            index % 977,
            index % 1013,
            index % 101
        ),
    }
}

fn key_of(index: u64) -> String {
    // A cheap scramble so consecutive events hit different keys.
    let k = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) % KEYS;
    format!("at://did:plc:{k:024}/net.rhiz.relationship.record/{k}")
}

fn submission(index: u64) -> Submission<BenchEvent> {
    let event = bench_event(index);
    Submission {
        id: format!("ev-{index}"),
        key: event.uri.clone(),
        lane: Lane::ALL[(index % 4) as usize],
        event_type: "relationship.created".into(),
        payload: event,
    }
}

/// Counts applies and records ingest-to-applied latency by event index.
struct Counter {
    applied: AtomicUsize,
    target: usize,
    done: Notify,
    started: Instant,
    submitted_at: Vec<AtomicU64>,
    latencies: Mutex<Vec<Duration>>,
}

impl Counter {
    fn new(target: usize) -> Self {
        Self {
            applied: AtomicUsize::new(0),
            target,
            done: Notify::new(),
            started: Instant::now(),
            submitted_at: (0..target).map(|_| AtomicU64::new(0)).collect(),
            latencies: Mutex::new(Vec::with_capacity(target)),
        }
    }

    fn mark_submitted(&self, index: u64) {
        let ns = self.started.elapsed().as_nanos() as u64;
        self.submitted_at[index as usize].store(ns, Ordering::Relaxed);
    }
}

#[async_trait]
impl Handler<BenchEvent> for Counter {
    async fn apply(&self, event: &BenchEvent) -> Result<(), HandlerError> {
        let submitted = self.submitted_at[event.index as usize].load(Ordering::Relaxed);
        if submitted > 0 {
            let now = self.started.elapsed().as_nanos() as u64;
            self.latencies
                .lock()
                .unwrap()
                .push(Duration::from_nanos(now.saturating_sub(submitted)));
        }
        if self.applied.fetch_add(1, Ordering::Relaxed) + 1 == self.target {
            self.done.notify_one();
        }
        Ok(())
    }
}

/// The two embedded logs.
#[derive(Debug, Clone, Copy)]
enum Embedded {
    File,
    Sqlite,
}

impl Embedded {
    async fn open(self, dir: &Path) -> Arc<dyn EventLog> {
        match self {
            Embedded::File => Arc::new(
                FileEventLog::open(dir.join("events"), FileLogOptions::default())
                    .await
                    .unwrap(),
            ),
            Embedded::Sqlite => Arc::new(
                SqliteEventLog::open(dir.join("events.db"), SqliteLogOptions::default())
                    .await
                    .unwrap(),
            ),
        }
    }
}

async fn start(
    log: Arc<dyn EventLog>,
    lease: Option<ApplyLease>,
    counter: Arc<Counter>,
    capacity: usize,
) -> Pipeline<BenchEvent> {
    let config = PipelineConfig {
        capacity,
        lane_capacity: capacity,
        retry_after_min: Duration::from_millis(2),
        ..PipelineConfig::default()
    };
    let mut builder = Pipeline::builder(log, counter, Arc::new(JsonCodec::new())).config(config);
    if let Some(lease) = lease {
        builder = builder.lease(lease);
    }
    builder.build().await.unwrap()
}

/// Durable append + apply of `events` by `PRODUCERS` concurrent batch
/// producers honouring backpressure, on an embedded log.
async fn pipeline_throughput(kind: Embedded, events: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    drive_pipeline(kind.open(dir.path()).await, None, events).await
}

/// Durable append + apply of `events` by `PRODUCERS` concurrent batch
/// producers honouring backpressure; events/s until all are applied and
/// acknowledged. With a lease, waits for it before the clock starts.
async fn drive_pipeline(log: Arc<dyn EventLog>, lease: Option<ApplyLease>, events: usize) -> f64 {
    let counter = Arc::new(Counter::new(events));
    if let Some(lease) = &lease {
        lease.acquired().await;
    }
    let pipeline = start(log, lease, counter.clone(), 20_000).await;
    let batches: Vec<Vec<Submission<BenchEvent>>> = (0..events as u64)
        .collect::<Vec<_>>()
        .chunks(BATCH)
        .map(|c| c.iter().map(|&i| submission(i)).collect())
        .collect();
    let batches = Arc::new(Mutex::new(batches.into_iter()));
    let began = Instant::now();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|_| {
            let (pipeline, batches) = (pipeline.clone(), batches.clone());
            tokio::spawn(async move {
                loop {
                    let Some(mut batch) = batches.lock().unwrap().next() else {
                        return;
                    };
                    loop {
                        let indices: Vec<u64> = batch.iter().map(|s| s.payload.index).collect();
                        let outcomes = pipeline.submit_batch(batch).await.unwrap();
                        let taken = outcomes
                            .iter()
                            .take_while(|o| matches!(o, SubmitOutcome::Accepted { .. }))
                            .count();
                        let Some(SubmitOutcome::Refused { retry_after }) = outcomes.get(taken)
                        else {
                            break;
                        };
                        tokio::time::sleep(*retry_after).await;
                        batch = indices[taken..].iter().map(|&i| submission(i)).collect();
                    }
                }
            })
        })
        .collect();
    for p in producers {
        p.await.unwrap();
    }
    counter.done.notified().await;
    pipeline.shutdown().await.unwrap();
    events as f64 / began.elapsed().as_secs_f64()
}

/// An embedded log alone: `PRODUCERS` tasks appending prebuilt batches;
/// events/s until every append is durable.
async fn log_append(kind: Embedded, events: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let log = kind.open(dir.path()).await;
    let batches: Vec<Vec<NewEvent>> = new_event_batches(events);
    let batches = Arc::new(Mutex::new(batches.into_iter()));
    let began = Instant::now();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|_| {
            let (log, batches) = (log.clone(), batches.clone());
            tokio::spawn(async move {
                loop {
                    let Some(batch) = batches.lock().unwrap().next() else {
                        return;
                    };
                    log.append(batch).await.unwrap();
                }
            })
        })
        .collect();
    for p in producers {
        p.await.unwrap();
    }
    events as f64 / began.elapsed().as_secs_f64()
}

/// The benchmark's events as the log stores them, in batches of `BATCH`.
fn new_event_batches(events: usize) -> Vec<Vec<NewEvent>> {
    (0..events as u64)
        .collect::<Vec<_>>()
        .chunks(BATCH)
        .map(|c| {
            c.iter()
                .map(|&i| {
                    let s = submission(i);
                    NewEvent {
                        id: s.id,
                        key: s.key,
                        lane: s.lane,
                        event_type: s.event_type,
                        payload: serde_json::to_vec(&s.payload).unwrap(),
                    }
                })
                .collect()
        })
        .collect()
}

fn redis_url() -> String {
    std::env::var("RHIZ_TEST_REDIS_URL")
        .expect("RHIZ_TEST_REDIS_URL must name the Redis to benchmark against")
}

/// A private `redis-server` that writes every accepted change to disk
/// before replying (`appendonly yes`, `appendfsync always`, no snapshots);
/// stopped when dropped.
struct FsyncRedis {
    server: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl FsyncRedis {
    /// Starts it in a temporary directory under the target directory (a
    /// real disk, where `/tmp` may be memory) and waits until it answers.
    fn start(rt: &tokio::runtime::Runtime) -> Self {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .arg("--dir")
            .arg(dir.path())
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is on PATH");
        let redis = Self {
            server,
            url: format!("redis://127.0.0.1:{port}/"),
            dir,
        };
        rt.block_on(redis.answering());
        println!(
            "private redis-server at {} (appendfsync always) in {}",
            redis.url,
            redis.dir.path().display()
        );
        redis
    }

    async fn answering(&self) {
        let client = redis::Client::open(self.url.as_str()).unwrap();
        for _ in 0..100 {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                if redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the private redis-server at {} did not answer", self.url);
    }
}

impl Drop for FsyncRedis {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// A Redis log on a key prefix of its own, and that prefix.
async fn open_redis(url: &str) -> (Arc<RedisStreamsEventLog>, String) {
    let prefix = format!("rhiz-events-bench:{:016x}", rand::random::<u64>());
    let options = RedisLogOptions {
        prefix: prefix.clone(),
        ..RedisLogOptions::default()
    };
    let log = RedisStreamsEventLog::connect(url, options).await.unwrap();
    (Arc::new(log), prefix)
}

/// Deletes every key of a benchmark run.
async fn drop_keys(url: &str, pattern: String) {
    let mut conn = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

/// The pipeline on the Redis Streams log, with or without an apply lease.
async fn redis_pipeline(url: &str, events: usize, with_lease: bool) -> f64 {
    let (log, prefix) = open_redis(url).await;
    let lease = with_lease.then(|| log.lease(LeaseOptions::default()).unwrap());
    let rate = drive_pipeline(log, lease, events).await;
    drop_keys(url, format!("{{{prefix}}}:*")).await;
    rate
}

/// Raw pipelined `XADD`s of the same fields and payloads, one round trip
/// per `BATCH`, by `PRODUCERS` concurrent tasks: what the log's scripts,
/// idempotency, reads and acknowledgements are measured against.
async fn raw_xadd(url: &str, events: usize) -> f64 {
    let stream = format!("rhiz-events-bench-raw:{:016x}", rand::random::<u64>());
    // As patient as the log's own connection (an fsync can stall a reply).
    let config = redis::AsyncConnectionConfig::new()
        .set_response_timeout(Some(RedisLogOptions::default().response_timeout));
    let conn = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap();
    let batches = Arc::new(Mutex::new(new_event_batches(events).into_iter()));
    let began = Instant::now();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|_| {
            let (mut conn, batches, stream) = (conn.clone(), batches.clone(), stream.clone());
            tokio::spawn(async move {
                loop {
                    let Some(batch) = batches.lock().unwrap().next() else {
                        return;
                    };
                    let mut pipe = redis::pipe();
                    for e in batch {
                        pipe.cmd("XADD")
                            .arg(&stream)
                            .arg("*")
                            .arg("i")
                            .arg(e.id)
                            .arg("k")
                            .arg(e.key)
                            .arg("l")
                            .arg(e.lane.index())
                            .arg("t")
                            .arg(e.event_type)
                            .arg("p")
                            .arg(e.payload)
                            .arg("a")
                            .arg(0)
                            .ignore();
                    }
                    let _: () = pipe.query_async(&mut conn).await.unwrap();
                }
            })
        })
        .collect();
    for p in producers {
        p.await.unwrap();
    }
    let rate = events as f64 / began.elapsed().as_secs_f64();
    drop_keys(url, stream).await;
    rate
}

/// The Redis measurements: one line per run, then the medians.
fn redis_main(rt: &tokio::runtime::Runtime, url: &str, events: usize, runs: usize) {
    let (mut leased, mut plain, mut raw, mut ratios) = (vec![], vec![], vec![], vec![]);
    for run in 1..=runs {
        let r = rt.block_on(raw_xadd(url, events));
        let l = rt.block_on(redis_pipeline(url, events, true));
        let p = rt.block_on(redis_pipeline(url, events, false));
        println!(
            "run {run}: redis pipeline with lease {l:.0} ev/s, without lease {p:.0} ev/s, raw pipelined XADD {r:.0} ev/s (ratio {:.2})",
            l / r
        );
        leased.push(l);
        plain.push(p);
        raw.push(r);
        ratios.push(l / r);
    }
    println!(
        "median (range) of {runs}: redis pipeline with lease {} ev/s; without lease {} ev/s; raw pipelined XADD {} ev/s; ratio {}",
        spread(leased, 0),
        spread(plain, 0),
        spread(raw, 0),
        spread(ratios, 2)
    );
}

/// Plain batched inserts of the same rows into the same schema, WAL +
/// `synchronous=FULL`, one transaction per `BATCH` rows.
fn raw_sqlite(events: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("raw.db")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, key TEXT NOT NULL,
           lane INTEGER NOT NULL, event_type TEXT NOT NULL, payload BLOB NOT NULL,
           enqueued_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, state INTEGER NOT NULL,
           next_attempt_at INTEGER, last_error TEXT, updated_at INTEGER NOT NULL);
         CREATE INDEX events_pending ON events(seq) WHERE state = 0;",
    )
    .unwrap();
    let rows: Vec<(String, String, Vec<u8>)> = (0..events as u64)
        .map(|i| {
            let s = submission(i);
            (s.id, s.key, serde_json::to_vec(&s.payload).unwrap())
        })
        .collect();
    let began = Instant::now();
    for chunk in rows.chunks(BATCH) {
        conn.execute_batch("BEGIN").unwrap();
        {
            let mut insert = conn
                .prepare_cached(
                    "INSERT INTO events (id, key, lane, event_type, payload, enqueued_at, state, updated_at)
                     VALUES (?1, ?2, 2, 'relationship.created', ?3, 0, 0, 0)",
                )
                .unwrap();
            for (id, key, payload) in chunk {
                insert.execute(rusqlite::params![id, key, payload]).unwrap();
            }
        }
        conn.execute_batch("COMMIT").unwrap();
    }
    events as f64 / began.elapsed().as_secs_f64()
}

/// A dedicated append-only file log: length-prefixed records, one
/// `fdatasync` per `BATCH` records. The ceiling a home-made log could reach.
fn raw_file_log(events: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("raw.log"))
        .unwrap();
    let records: Vec<Vec<u8>> = (0..events as u64)
        .map(|i| serde_json::to_vec(&bench_event(i)).unwrap())
        .collect();
    let began = Instant::now();
    let mut buffer = Vec::new();
    for chunk in records.chunks(BATCH) {
        buffer.clear();
        for r in chunk {
            buffer.extend_from_slice(&(r.len() as u32).to_le_bytes());
            buffer.extend_from_slice(r);
        }
        file.write_all(&buffer).unwrap();
        file.sync_data().unwrap();
    }
    events as f64 / began.elapsed().as_secs_f64()
}

/// Single-event submissions at a steady `rate` per second for `seconds`, as
/// independent HTTP requests would arrive; latencies from the first submit
/// call to the end of the apply (p50, p99, max).
async fn steady_latency(kind: Embedded, rate: u64, seconds: u64) -> (Duration, Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let total = (rate * seconds) as usize;
    let counter = Arc::new(Counter::new(total));
    let pipeline = start(kind.open(dir.path()).await, None, counter.clone(), 10_000).await;
    let per_tick = rate / 1_000;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let mut index = 0u64;
    while (index as usize) < total {
        tick.tick().await;
        for _ in 0..per_tick {
            let (pipeline, counter) = (pipeline.clone(), counter.clone());
            let i = index;
            index += 1;
            tokio::spawn(async move {
                counter.mark_submitted(i);
                // A refused producer waits and retries; the wait counts as latency.
                while let SubmitOutcome::Refused { retry_after } =
                    pipeline.submit(submission(i)).await.unwrap()
                {
                    tokio::time::sleep(retry_after).await;
                }
            });
        }
    }
    counter.done.notified().await;
    pipeline.shutdown().await.unwrap();
    let mut latencies = std::mem::take(&mut *counter.latencies.lock().unwrap());
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    (at(0.5), at(0.99), *latencies.last().unwrap())
}

/// `median (min–max)` of `v`, with `decimals` decimals.
fn spread(mut v: Vec<f64>, decimals: usize) -> String {
    v.sort_by(|a, b| a.total_cmp(b));
    format!(
        "{:.decimals$} ({:.decimals$}–{:.decimals$})",
        v[v.len() / 2],
        v[0],
        v[v.len() - 1]
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn arg(name: &str, default: u64) -> u64 {
    std::env::args()
        .filter_map(|a| a.strip_prefix(&format!("{name}=")).map(str::to_owned))
        .find_map(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let events = arg("events", 200_000) as usize;
    let runs = arg("runs", 5) as usize;
    let rate = arg("rate", 5_000);
    let seconds = arg("seconds", 5);
    let rt = tokio::runtime::Runtime::new().unwrap();
    if std::env::args().any(|a| a == "redis") {
        if std::env::args().any(|a| a == "fsync") {
            let redis = FsyncRedis::start(&rt);
            redis_main(&rt, &redis.url, events, runs);
        } else {
            redis_main(&rt, &redis_url(), events, runs);
        }
        return;
    }
    let (mut raw, mut file) = (vec![], vec![]);
    let mut measured = [
        (Embedded::File, Measured::default()),
        (Embedded::Sqlite, Measured::default()),
    ];
    for run in 1..=runs {
        let r = raw_sqlite(events);
        let f = raw_file_log(events);
        println!("run {run}: raw sqlite {r:.0} rows/s, raw file log {f:.0} rec/s");
        raw.push(r);
        file.push(f);
        for (kind, m) in &mut measured {
            let l = rt.block_on(log_append(*kind, events));
            let p = rt.block_on(pipeline_throughput(*kind, events));
            let (p50, p99, max) = rt.block_on(steady_latency(*kind, rate, seconds));
            println!(
                "run {run}, {kind:?} log: pipeline {p:.0} ev/s (ratio to raw sqlite {:.2}), log append only {l:.0} ev/s; \
                 at {rate}/s p50 {p50:?} p99 {p99:?} max {max:?}",
                p / r
            );
            m.pipeline.push(p);
            m.ratio.push(p / r);
            m.append.push(l);
            m.p50.push(p50.as_secs_f64() * 1e3);
            m.p99.push(p99.as_secs_f64() * 1e3);
            m.max.push(max.as_secs_f64() * 1e3);
        }
    }
    println!(
        "median of {runs}: raw sqlite {:.0} rows/s; raw file log {:.0} rec/s",
        median(raw),
        median(file)
    );
    for (kind, m) in measured {
        println!(
            "median of {runs}, {kind:?} log: pipeline {:.0} ev/s; ratio {:.2}; log append only {:.0} ev/s; \
             latency at {rate}/s p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
            median(m.pipeline),
            median(m.ratio),
            median(m.append),
            median(m.p50),
            median(m.p99),
            median(m.max)
        );
    }
}

/// One embedded log's measurements over the runs.
#[derive(Default)]
struct Measured {
    pipeline: Vec<f64>,
    ratio: Vec<f64>,
    append: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    max: Vec<f64>,
}
