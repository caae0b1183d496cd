//! Model-based test of the pipeline: random submissions (keys, lanes,
//! repeated ids, transient and permanent failures, small capacities) against
//! a reference model of what must happen to each.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::{open_log, start, test_config, wait_idle, Job, Recorder};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use rhiz_events::{DeadLetterFilter, Lane, PipelineConfig, SubmitOutcome};

#[derive(Debug, Clone)]
struct Op {
    /// Reuses the id of an earlier op when set.
    repeat_of: Option<usize>,
    key: u8,
    lane: usize,
    transient_failures: u32,
    permanent: bool,
}

fn op() -> impl Strategy<Value = Op> {
    (
        prop::option::weighted(0.1, 0..1000usize),
        0..6u8,
        0..4usize,
        prop_oneof![6 => Just(0u32), 2 => 1..3u32, 1 => 3..5u32],
        prop::bool::weighted(0.08),
    )
        .prop_map(|(repeat_of, key, lane, transient_failures, permanent)| Op {
            repeat_of,
            key,
            lane,
            transient_failures,
            permanent,
        })
}

#[derive(Debug, Clone)]
struct Scenario {
    ops: Vec<Op>,
    batch_sizes: Vec<usize>,
    capacity: usize,
    workers: usize,
    max_attempts: u32,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec(op(), 1..80),
        prop::collection::vec(1..12usize, 1..10),
        4..60usize,
        1..4usize,
        1..4u32,
    )
        .prop_map(
            |(ops, batch_sizes, capacity, workers, max_attempts)| Scenario {
                ops,
                batch_sizes,
                capacity,
                workers,
                max_attempts,
            },
        )
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

/// What the model expects of one accepted event.
struct Expected {
    key: String,
    dead: bool,
}

fn run(s: Scenario) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(fail)?;
    rt.block_on(async move {
        let dir = tempfile::tempdir().map_err(fail)?;
        let recorder = Arc::new(Recorder::default());
        let config = PipelineConfig {
            capacity: s.capacity,
            lane_capacity: s.capacity.div_ceil(2),
            workers: s.workers,
            max_attempts: s.max_attempts,
            backoff_base: Duration::from_millis(1),
            backoff_max: Duration::from_millis(4),
            ..test_config()
        };
        let pipeline = start(open_log(dir.path()).await, recorder.clone(), config).await;

        let jobs: Vec<(Job, Lane)> = s
            .ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let id = match op.repeat_of {
                    Some(r) if r < i => format!("e{r}"),
                    _ => format!("e{i}"),
                };
                let mut job = Job::new(id, format!("k{}", op.key));
                job.transient_failures = op.transient_failures;
                job.permanent = op.permanent;
                (job, Lane::ALL[op.lane])
            })
            .collect();

        // The model: ids accepted so far, and per key the accepted ids in order.
        let mut seen: HashSet<String> = HashSet::new();
        let mut accepted: HashMap<String, Expected> = HashMap::new();
        let mut order: HashMap<String, Vec<String>> = HashMap::new();
        let mut refused = 0u64;
        let mut rest = &jobs[..];
        let mut sizes = s.batch_sizes.iter().cycle();
        while !rest.is_empty() {
            let n = sizes.next().map_or(1, |&n| n).min(rest.len());
            let (batch, tail) = rest.split_at(n);
            rest = tail;
            let submissions = batch
                .iter()
                .map(|(j, lane)| j.clone().submission(*lane))
                .collect();
            let outcomes = pipeline.submit_batch(submissions).await.map_err(fail)?;
            prop_assert_eq!(outcomes.len(), batch.len());
            let mut refusing = false;
            for ((job, _), outcome) in batch.iter().zip(outcomes) {
                match outcome {
                    SubmitOutcome::Accepted { .. } => {
                        prop_assert!(!refusing, "accepted after a refusal in one batch");
                        prop_assert!(seen.insert(job.id.clone()), "{} accepted twice", job.id);
                        let dead = job.permanent || job.transient_failures >= s.max_attempts;
                        accepted.insert(
                            job.id.clone(),
                            Expected {
                                key: job.key.clone(),
                                dead,
                            },
                        );
                        order
                            .entry(job.key.clone())
                            .or_default()
                            .push(job.id.clone());
                    }
                    SubmitOutcome::Duplicate => {
                        prop_assert!(seen.contains(&job.id), "{} is no duplicate", job.id);
                    }
                    SubmitOutcome::Refused { retry_after } => {
                        prop_assert!(retry_after > Duration::ZERO);
                        refusing = true;
                        refused += 1;
                    }
                }
            }
            if refusing {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        wait_idle(&pipeline, Duration::from_secs(20)).await;
        pipeline.shutdown().await.map_err(fail)?;

        let log = pipeline.log();
        let counts = log.counts().await.map_err(fail)?;
        prop_assert_eq!(counts.pending_total(), 0);
        prop_assert_eq!(
            counts.applied_retained + counts.dead_letters,
            accepted.len() as u64,
            "the log holds exactly the accepted events: nothing refused was written"
        );
        let dead: HashSet<String> = log
            .dead_letters(DeadLetterFilter::all(), 0, usize::MAX)
            .await
            .map_err(fail)?
            .into_iter()
            .map(|e| e.event.id)
            .collect();
        for (id, expected) in &accepted {
            let applied = recorder.applied_count(id);
            if expected.dead {
                prop_assert!(dead.contains(id), "{} should be a dead letter", id);
                prop_assert_eq!(applied, 0);
            } else {
                prop_assert!(!dead.contains(id), "{} should not be a dead letter", id);
                prop_assert_eq!(applied, 1, "{} applied {} times", id, applied);
            }
            prop_assert!(order.contains_key(&expected.key));
        }
        prop_assert_eq!(
            recorder.overlaps.load(Ordering::SeqCst),
            0,
            "same key applied concurrently"
        );
        prop_assert_eq!(
            recorder.order_by_key(),
            order,
            "per-key order differs from append order"
        );
        let m = pipeline.metrics();
        prop_assert_eq!(m.total.accepted, accepted.len() as u64);
        prop_assert_eq!(m.total.refused, refused);
        prop_assert_eq!(
            m.total.applied + m.total.dead_lettered,
            accepted.len() as u64
        );
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        // Failing seeds are committed here and replayed first.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/model.txt"
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn pipeline_matches_the_model(s in scenario()) {
        run(s)?;
    }
}
