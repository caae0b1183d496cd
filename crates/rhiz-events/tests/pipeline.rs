//! The pipeline end to end on the embedded log: backpressure, poison events,
//! idempotency, lanes, shutdown and recovery.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::{open_log, start, test_config, wait_idle, Job, Recorder};
use rhiz_events::{DeadLetterFilter, EventLog, EventsError, Lane, PipelineConfig, SubmitOutcome};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_refuses_with_retry_after_and_applies_every_accepted_event() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    let config = PipelineConfig {
        capacity: 1_000,
        lane_capacity: 1_000,
        ..test_config()
    };
    let pipeline = start(open_log(dir.path()).await, recorder.clone(), config).await;
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let pipeline = pipeline.clone();
            tokio::spawn(async move {
                let (mut refusals, mut accepted) = (0, 0);
                let jobs: Vec<Job> = (0..750)
                    .map(|i| {
                        let mut job = Job::new(format!("p{p}-{i}"), format!("key-{}", i % 97));
                        job.work_ms = 1;
                        job
                    })
                    .collect();
                for chunk in jobs.chunks(50) {
                    let mut rest = chunk.to_vec();
                    while !rest.is_empty() {
                        let batch = rest
                            .iter()
                            .map(|j| j.clone().submission(Lane::Normal))
                            .collect();
                        let outcomes = pipeline.submit_batch(batch).await.unwrap();
                        let taken = outcomes
                            .iter()
                            .take_while(|o| matches!(o, SubmitOutcome::Accepted { .. }))
                            .count();
                        accepted += taken;
                        rest.drain(..taken);
                        if let Some(SubmitOutcome::Refused { retry_after }) = outcomes.get(taken) {
                            assert!(*retry_after >= Duration::from_millis(5));
                            assert!(*retry_after <= Duration::from_millis(50));
                            assert!(outcomes[taken..]
                                .iter()
                                .all(|o| matches!(o, SubmitOutcome::Refused { .. })));
                            refusals += (outcomes.len() - taken) as u64;
                            tokio::time::sleep(*retry_after).await;
                        }
                    }
                }
                (refusals, accepted)
            })
        })
        .collect();
    let mut refusals = 0;
    let mut max_depth = 0;
    for producer in producers {
        while !producer.is_finished() {
            max_depth = max_depth.max(pipeline.metrics().events_in_queue);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let (r, a) = producer.await.unwrap();
        refusals += r;
        assert_eq!(a, 750);
    }
    assert!(refusals > 0, "a slow handler must cause refusals");
    assert!(max_depth <= 800, "depth {max_depth} passed the 80 % mark");
    wait_idle(&pipeline, Duration::from_secs(30)).await;
    let m = pipeline.metrics();
    assert_eq!(m.total.accepted, 3_000);
    assert_eq!(m.total.refused, refusals);
    assert_eq!(m.events_processed, 3_000);
    assert!(recorder.applied.lock().unwrap().values().all(|&n| n == 1));
    assert_eq!(recorder.applied.lock().unwrap().len(), 3_000);
    pipeline.shutdown().await.unwrap();
    assert_eq!(pipeline.log().counts().await.unwrap().pending_total(), 0);
}

#[tokio::test]
async fn backpressure_flag_follows_refusals_and_lane_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    recorder.fixed.store(false, Ordering::SeqCst);
    let config = PipelineConfig {
        capacity: 10,
        lane_capacity: 3,
        workers: 1,
        ..test_config()
    };
    let pipeline = start(open_log(dir.path()).await, recorder.clone(), config).await;
    // A blocked key keeps everything queued behind a long first event.
    let mut first = Job::new("slow", "k");
    first.work_ms = 300;
    let batch: Vec<_> = std::iter::once(first)
        .chain((0..4).map(|i| Job::new(format!("low{i}"), "k")))
        .map(|j| j.submission(Lane::Low))
        .collect();
    let out = pipeline.submit_batch(batch).await.unwrap();
    assert!(matches!(out[2], SubmitOutcome::Accepted { .. }));
    assert!(
        matches!(out[3], SubmitOutcome::Refused { .. }),
        "lane full at 3"
    );
    assert!(
        matches!(out[4], SubmitOutcome::Refused { .. }),
        "the tail is refused too"
    );
    assert!(pipeline.metrics().backpressure_active);
    let other = pipeline
        .submit(Job::new("high", "h").submission(Lane::High))
        .await
        .unwrap();
    assert!(
        matches!(other, SubmitOutcome::Accepted { .. }),
        "another lane has room"
    );
    assert!(!pipeline.metrics().backpressure_active);
    wait_idle(&pipeline, Duration::from_secs(10)).await;
    // Acknowledgements are written behind the queue: shutting down flushes them.
    pipeline.shutdown().await.unwrap();
    assert_eq!(pipeline.log().counts().await.unwrap().applied_retained, 4);
}

#[tokio::test]
async fn an_outage_is_waited_out_past_max_attempts_and_never_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    let config = PipelineConfig {
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        ..test_config()
    };
    let pipeline = start(open_log(dir.path()).await, recorder.clone(), config).await;
    let mut waiting = Job::new("waiting", "at://did:plc:x/rel/1");
    waiting.outage_failures = 8;
    let behind = Job::new("behind", "at://did:plc:x/rel/1");
    pipeline
        .submit_batch(vec![
            waiting.submission(Lane::Normal),
            behind.submission(Lane::Normal),
        ])
        .await
        .unwrap();
    wait_idle(&pipeline, Duration::from_secs(10)).await;

    let applied = recorder.applied.lock().unwrap().clone();
    assert_eq!((applied["waiting"], applied["behind"]), (1, 1));
    let attempts = recorder.attempts.lock().unwrap().clone();
    let ids: Vec<&str> = attempts.iter().map(|a| a.1.as_str()).collect();
    assert_eq!(ids.iter().filter(|id| **id == "waiting").count(), 9);
    assert_eq!(
        ids.last(),
        Some(&"behind"),
        "same key waits behind the outage"
    );
    let dead = pipeline
        .log()
        .dead_letters(DeadLetterFilter::all(), 0, 10)
        .await
        .unwrap();
    assert!(dead.is_empty(), "{dead:?}");
    let m = pipeline.metrics();
    assert_eq!(
        (m.total.failed, m.total.retried, m.total.dead_lettered),
        (8, 8, 0)
    );
    pipeline.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_first_success_after_an_outage_releases_every_waiting_event() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    // Backoffs drawn from up to 30 s: without the release, five waiting
    // events would all come back within 5 s once in about 7,800 runs.
    let config = PipelineConfig {
        backoff_base: Duration::from_secs(30),
        backoff_max: Duration::from_secs(60),
        ..test_config()
    };
    let pipeline = start(open_log(dir.path()).await, recorder.clone(), config).await;
    let waiting: Vec<Job> = (0..5)
        .map(|i| {
            let mut job = Job::new(format!("waiting-{i}"), format!("at://did:plc:x/rel/{i}"));
            job.outage_failures = 1;
            job
        })
        .collect();
    pipeline
        .submit_batch(
            waiting
                .iter()
                .map(|j| j.clone().submission(Lane::Normal))
                .collect(),
        )
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while pipeline.metrics().total.failed < 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "the outage never showed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let healthy = Job::new("healthy", "at://did:plc:y/rel/1");
    pipeline
        .submit(healthy.submission(Lane::Normal))
        .await
        .unwrap();
    wait_idle(&pipeline, Duration::from_secs(5)).await;

    let applied = recorder.applied.lock().unwrap().clone();
    for job in &waiting {
        assert_eq!(applied[&job.id], 1, "{}", job.id);
    }
    let m = pipeline.metrics();
    assert_eq!(
        (m.total.failed, m.total.applied, m.total.dead_lettered),
        (5, 6, 0)
    );
    pipeline.shutdown().await.unwrap();
}

#[tokio::test]
async fn poison_event_backs_off_lands_in_dead_letters_and_replays_once_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    let config = PipelineConfig {
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(1),
        ..test_config()
    };
    let pipeline = start(open_log(dir.path()).await, recorder.clone(), config.clone()).await;
    let mut poison = Job::new("poison", "at://did:plc:x/rel/1");
    poison.transient_failures = u32::MAX;
    let behind = Job::new("behind", "at://did:plc:x/rel/1");
    pipeline
        .submit_batch(vec![
            poison.submission(Lane::Normal),
            behind.submission(Lane::Normal),
        ])
        .await
        .unwrap();
    wait_idle(&pipeline, Duration::from_secs(10)).await;

    let attempts: Vec<_> = recorder.attempts.lock().unwrap().clone();
    let poison_times: Vec<_> = attempts
        .iter()
        .filter(|a| a.1 == "poison")
        .map(|a| a.2)
        .collect();
    assert_eq!(poison_times.len(), 3, "default max_attempts is 3");
    for (n, pair) in poison_times.windows(2).enumerate() {
        let gap = pair[1] - pair[0];
        let ceiling = config.backoff_ceiling(n as u32 + 1);
        assert!(
            gap <= ceiling + Duration::from_millis(150),
            "gap {gap:?} over {ceiling:?}"
        );
    }
    assert_eq!(
        config.backoff_ceiling(2),
        2 * config.backoff_ceiling(1),
        "ceilings grow"
    );
    let behind_at = attempts.iter().find(|a| a.1 == "behind").unwrap().2;
    assert!(
        behind_at >= *poison_times.last().unwrap(),
        "same key waits behind the retries"
    );

    let dead = pipeline
        .log()
        .dead_letters(DeadLetterFilter::all(), 0, 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event.id, "poison");
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("poison hit a busy database")
    );
    let recorded = &dead[0].failed_attempts;
    assert_eq!(recorded.len(), 3, "each attempt recorded: {recorded:?}");
    assert!(recorded
        .iter()
        .all(|a| a.error == "poison hit a busy database"));
    assert!(
        recorded.windows(2).all(|w| w[0].at <= w[1].at),
        "in order: {recorded:?}"
    );
    let m = pipeline.metrics();
    assert_eq!(
        (m.total.failed, m.total.retried, m.total.dead_lettered),
        (3, 2, 1)
    );

    recorder.fixed.store(true, Ordering::SeqCst);
    assert_eq!(
        pipeline
            .replay_dead_letters(DeadLetterFilter::id("poison"))
            .await
            .unwrap(),
        1
    );
    wait_idle(&pipeline, Duration::from_secs(10)).await;
    assert_eq!(recorder.applied_count("poison"), 1);
    assert_eq!(pipeline.log().counts().await.unwrap().dead_letters, 0);
    pipeline.shutdown().await.unwrap();
}

#[tokio::test]
async fn permanent_failure_is_dead_lettered_without_retries() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    let pipeline = start(open_log(dir.path()).await, recorder.clone(), test_config()).await;
    let mut bad = Job::new("bad", "k");
    bad.permanent = true;
    pipeline
        .submit(bad.submission(Lane::Critical))
        .await
        .unwrap();
    wait_idle(&pipeline, Duration::from_secs(5)).await;
    assert_eq!(recorder.attempts.lock().unwrap().len(), 1);
    let m = pipeline.metrics();
    assert_eq!(m.total.retried, 0);
    assert_eq!(m.lanes[Lane::Critical.index()].dead_lettered, 1);
    let poison = m.by_type.iter().find(|(t, _)| t == "poison").unwrap();
    assert_eq!(poison.1.dead_lettered, 1);
    let dead = pipeline.log().dead_letter("bad").await.unwrap().unwrap();
    assert_eq!(dead.last_error.as_deref(), Some("bad breaks a rule"));
    assert!(pipeline
        .log()
        .dead_letter("nothing")
        .await
        .unwrap()
        .is_none());
    pipeline.shutdown().await.unwrap();
}

#[tokio::test]
async fn duplicate_ids_are_not_appended_twice_even_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    let pipeline = start(open_log(dir.path()).await, recorder.clone(), test_config()).await;
    let job = Job::new("once", "k");
    let out = pipeline
        .submit_batch(vec![
            job.clone().submission(Lane::Normal),
            job.clone().submission(Lane::Normal),
        ])
        .await
        .unwrap();
    assert!(matches!(out[0], SubmitOutcome::Accepted { .. }));
    assert_eq!(out[1], SubmitOutcome::Duplicate);
    wait_idle(&pipeline, Duration::from_secs(5)).await;
    assert_eq!(
        pipeline
            .submit(job.clone().submission(Lane::Normal))
            .await
            .unwrap(),
        SubmitOutcome::Duplicate
    );
    pipeline.shutdown().await.unwrap();
    pipeline.log().close().await.unwrap();
    drop(pipeline);

    let pipeline = start(open_log(dir.path()).await, recorder.clone(), test_config()).await;
    assert_eq!(
        pipeline.submit(job.submission(Lane::Normal)).await.unwrap(),
        SubmitOutcome::Duplicate
    );
    wait_idle(&pipeline, Duration::from_secs(5)).await;
    assert_eq!(recorder.applied_count("once"), 1);
    pipeline.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_finishes_in_flight_work_and_a_restart_applies_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    let config = PipelineConfig {
        workers: 1,
        ..test_config()
    };
    let pipeline = start(open_log(dir.path()).await, recorder.clone(), config.clone()).await;
    let batch: Vec<_> = (0..20)
        .map(|i| {
            let mut j = Job::new(format!("s{i}"), "one-key");
            j.work_ms = 20;
            j.submission(Lane::Normal)
        })
        .collect();
    pipeline.submit_batch(batch).await.unwrap();
    while recorder.attempts.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    pipeline.shutdown().await.unwrap();
    let applied_before = recorder.applied.lock().unwrap().len();
    assert!(
        (1..20).contains(&applied_before),
        "{applied_before} applied before shutdown"
    );
    assert_eq!(
        recorder.attempts.lock().unwrap().len(),
        applied_before,
        "nothing left half-done"
    );
    assert!(matches!(
        pipeline
            .submit(Job::new("late", "k").submission(Lane::Normal))
            .await,
        Err(EventsError::Closed)
    ));
    let pending = pipeline.log().counts().await.unwrap().pending_total();
    assert_eq!(
        pending as usize,
        20 - applied_before,
        "the rest stays durable"
    );
    pipeline.log().close().await.unwrap();
    drop(pipeline);

    let pipeline = start(open_log(dir.path()).await, recorder.clone(), config).await;
    wait_idle(&pipeline, Duration::from_secs(10)).await;
    let applied = recorder.applied.lock().unwrap().clone();
    assert_eq!(applied.len(), 20);
    assert!(
        applied.values().all(|&n| n == 1),
        "each applied once: {applied:?}"
    );
    let order = recorder.order_by_key();
    let expected: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
    assert_eq!(order["one-key"], expected);
    pipeline.shutdown().await.unwrap();
}

#[tokio::test]
async fn abandoned_pipeline_recovers_every_accepted_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    // A runtime dropped mid-flight: no shutdown, tasks cancelled, acks lost.
    let accepted = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let recorder = Arc::new(Recorder::default());
            let config = PipelineConfig {
                workers: 1,
                ..test_config()
            };
            let pipeline = start(open_log(&path).await, recorder, config).await;
            let mut accepted = Vec::new();
            for b in 0..5 {
                let batch: Vec<_> = (0..40)
                    .map(|i| {
                        let mut j = Job::new(format!("c{b}-{i}"), format!("k{}", i % 7));
                        j.work_ms = 1;
                        j.submission(Lane::ALL[i % 4])
                    })
                    .collect();
                for (out, id) in pipeline
                    .submit_batch(batch)
                    .await
                    .unwrap()
                    .into_iter()
                    .zip(0..)
                {
                    if let SubmitOutcome::Accepted { .. } = out {
                        accepted.push(format!("c{b}-{id}"));
                    }
                }
            }
            accepted
        })
    })
    .join()
    .unwrap();
    assert_eq!(accepted.len(), 200);

    let recorder = Arc::new(Recorder::default());
    let log = open_log(dir.path()).await;
    let pending = log.counts().await.unwrap().pending_total();
    assert!(pending > 0, "the abandoned pipeline cannot have finished");
    let pipeline = start(log, recorder.clone(), test_config()).await;
    wait_idle(&pipeline, Duration::from_secs(10)).await;
    let applied = recorder.applied.lock().unwrap().clone();
    assert_eq!(applied.len() as u64, pending);
    assert!(applied.values().all(|&n| n == 1));
    for id in &accepted {
        let again = pipeline
            .submit(Job::new(id.clone(), "k").submission(Lane::Low))
            .await
            .unwrap();
        assert_eq!(again, SubmitOutcome::Duplicate, "{id} must be in the log");
    }
    pipeline.shutdown().await.unwrap();
}

#[tokio::test]
async fn metrics_report_the_contract_fields() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    let pipeline = start(open_log(dir.path()).await, recorder, test_config()).await;
    let batch: Vec<_> = (0..50)
        .map(|i| Job::new(format!("m{i}"), format!("k{i}")).submission(Lane::High))
        .collect();
    pipeline.submit_batch(batch).await.unwrap();
    wait_idle(&pipeline, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let m = pipeline.metrics();
    assert_eq!(m.events_processed, 50);
    assert_eq!(m.lanes[Lane::High.index()].applied, 50);
    assert_eq!(m.queue_depth, [0; 4]);
    assert_eq!(m.worker_utilization, 0.0);
    assert_eq!(m.apply_latency.count, 50);
    assert!(m.ingest_to_applied_latency.p99 >= m.apply_latency.p50);
    assert!(m.avg_processing_time_ms >= 0.0);
    assert_eq!(m.by_type, vec![("job".to_string(), m.total)]);
    pipeline.shutdown().await.unwrap();
}

#[tokio::test]
async fn builder_rejects_bad_configuration_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = open_log(dir.path()).await;
    let err = rhiz_events::Pipeline::builder(
        log,
        Arc::new(Recorder::default()),
        Arc::new(rhiz_events::JsonCodec::<Job>::new()),
    )
    .config(PipelineConfig {
        workers: 0,
        ..test_config()
    })
    .build()
    .await
    .err()
    .unwrap();
    assert!(
        matches!(
            err,
            EventsError::Config {
                field: "workers",
                ..
            }
        ),
        "{err}"
    );
}

/// Panics on events whose id starts with "panic".
struct Panicky(Recorder);

#[rhiz_events::async_trait]
impl rhiz_events::Handler<Job> for Panicky {
    async fn apply(&self, job: &Job) -> Result<(), rhiz_events::HandlerError> {
        assert!(!job.id.starts_with("panic"), "handler bug");
        rhiz_events::Handler::apply(&self.0, job).await
    }
}

#[tokio::test]
async fn a_panicking_handler_dead_letters_the_event_and_frees_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let handler = Arc::new(Panicky(Recorder::default()));
    let log: Arc<dyn EventLog> = open_log(dir.path()).await;
    let pipeline = rhiz_events::Pipeline::builder(
        log,
        handler.clone(),
        Arc::new(rhiz_events::JsonCodec::new()),
    )
    .config(PipelineConfig {
        workers: 1,
        ..test_config()
    })
    .build()
    .await
    .unwrap();
    let batch = vec![
        Job::new("panic-1", "k").submission(Lane::Normal),
        Job::new("after", "k").submission(Lane::Normal),
    ];
    pipeline.submit_batch(batch).await.unwrap();
    wait_idle(&pipeline, Duration::from_secs(5)).await;
    assert_eq!(handler.0.applied_count("after"), 1);
    let dead = pipeline
        .log()
        .dead_letter("panic-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.last_error.as_deref(), Some("the handler panicked"));
    pipeline.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_critical_flood_does_not_starve_the_low_lane() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    let config = PipelineConfig {
        workers: 1,
        ..test_config()
    };
    let pipeline = start(open_log(dir.path()).await, recorder.clone(), config).await;
    let flood =
        (0..300).map(|i| Job::new(format!("crit{i}"), format!("c{i}")).submission(Lane::Critical));
    let low = (0..10).map(|i| Job::new(format!("low{i}"), format!("l{i}")).submission(Lane::Low));
    pipeline
        .submit_batch(flood.chain(low).collect())
        .await
        .unwrap();
    wait_idle(&pipeline, Duration::from_secs(10)).await;
    let order: Vec<String> = recorder
        .attempts
        .lock()
        .unwrap()
        .iter()
        .map(|a| a.1.clone())
        .collect();
    let last_low = order.iter().rposition(|id| id.starts_with("low")).unwrap();
    // Weights 8:1 between critical and low: one low event per 9 applies.
    assert!(
        last_low < 10 * 9 + 9,
        "low lane starved: last low event at position {last_low}"
    );
    let first = order.iter().position(|id| id.starts_with("low")).unwrap();
    assert!(first >= 1, "critical goes first");
    pipeline.shutdown().await.unwrap();
}

/// Hands batches to a [`Recorder`] event by event, noting each batch's keys.
#[derive(Default)]
struct Batching {
    inner: Recorder,
    batches: std::sync::Mutex<Vec<Vec<String>>>,
}

#[rhiz_events::async_trait]
impl rhiz_events::Handler<Job> for Batching {
    async fn apply(&self, job: &Job) -> Result<(), rhiz_events::HandlerError> {
        self.inner.apply(job).await
    }

    async fn apply_batch(&self, jobs: &[&Job]) -> Vec<Result<(), rhiz_events::HandlerError>> {
        self.batches
            .lock()
            .unwrap()
            .push(jobs.iter().map(|j| j.key.clone()).collect());
        let mut results = Vec::new();
        for job in jobs {
            results.push(self.inner.apply(job).await);
        }
        results
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_hold_distinct_keys_and_each_event_settles_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let handler = Arc::new(Batching::default());
    let config = PipelineConfig {
        apply_batch_max: 16,
        ..test_config()
    };
    let log: Arc<dyn EventLog> = open_log(dir.path()).await;
    let pipeline = rhiz_events::Pipeline::builder(
        log,
        handler.clone(),
        Arc::new(rhiz_events::JsonCodec::new()),
    )
    .config(config)
    .build()
    .await
    .unwrap();
    let jobs: Vec<Job> = (0..400)
        .map(|i| {
            let mut job = Job::new(format!("b-{i}"), format!("key-{}", i % 20));
            job.permanent = i == 123;
            job.transient_failures = u32::from(i == 77);
            job
        })
        .collect();
    let outcomes = pipeline
        .submit_batch(
            jobs.iter()
                .map(|j| j.clone().submission(Lane::Normal))
                .collect(),
        )
        .await
        .unwrap();
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, SubmitOutcome::Accepted { .. })));
    wait_idle(&pipeline, Duration::from_secs(30)).await;

    let batches = handler.batches.lock().unwrap().clone();
    assert!(batches.iter().any(|b| b.len() > 1), "events were batched");
    assert!(batches.iter().all(|b| b.len() <= 16));
    for batch in &batches {
        let mut keys = batch.clone();
        keys.sort();
        keys.dedup();
        assert_eq!(
            keys.len(),
            batch.len(),
            "one event per key in a batch: {batch:?}"
        );
    }
    // Per key, attempts follow submission order; the poison event is a dead
    // letter, the transient one was retried, every other applied once.
    let attempts = handler.inner.attempts.lock().unwrap().clone();
    for k in 0..20 {
        let key = format!("key-{k}");
        let ids: Vec<usize> = attempts
            .iter()
            .filter(|a| a.0 == key)
            .map(|a| a.1[2..].parse().unwrap())
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "{key} applied out of order");
    }
    let applied = handler.inner.applied.lock().unwrap().clone();
    assert_eq!(applied.len(), 399);
    assert!(applied.values().all(|&n| n == 1));
    assert_eq!(handler.inner.overlaps.load(Ordering::SeqCst), 0);
    assert_eq!(pipeline.log().counts().await.unwrap().dead_letters, 1);
    pipeline.shutdown().await.unwrap();
}
