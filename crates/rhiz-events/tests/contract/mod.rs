//! The `EventLog` contract: one suite, run against every implementation
//! (`tests/log.rs` for the embedded log, `tests/redis` for Redis Streams)
//! through [`contract_tests!`].
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rhiz_events::{
    async_trait, AppendOutcome, DeadLetterFilter, EventLog, EventState, FailedAttempt, Lane,
    NewEvent, FAILED_ATTEMPTS_KEPT,
};

/// Opens logs of one implementation. Every `open` of one backend reaches
/// the same log (a reopen after a close sees what was written before).
#[async_trait]
pub trait Backend: Send + Sync {
    /// Opens the log with the default options.
    async fn open(&self) -> Arc<dyn EventLog>;
    /// Opens the log remembering applied ids for `retention` only.
    async fn open_with_retention(&self, retention: Duration) -> Arc<dyn EventLog>;
}

/// Defines one `#[tokio::test]` per test of what the embedded logs promise
/// beyond the contract (exact counts, forgetting ids by the time they were
/// applied), each on a fresh backend made by `$backend`.
#[macro_export]
macro_rules! embedded_contract_tests {
    ($backend:expr) => {
        $crate::contract_tests!(@tests $backend;
            counts_follow_every_move_and_survive_reopening,
            ids_are_forgotten_oldest_applied_first,
        );
    };
}

/// Defines one `#[tokio::test]` per contract test, each on a fresh backend
/// made by `$backend` (an expression, evaluated inside the test).
#[macro_export]
macro_rules! contract_tests {
    ($backend:expr) => {
        $crate::contract_tests!(@tests $backend;
            append_reports_duplicates_within_and_across_batches,
            pending_is_in_order_and_ack_settles,
            failures_and_dead_letters_persist_across_reopen,
            dead_letters_filter_page_replay_and_purge,
            applied_ids_are_forgotten_after_the_retention,
            positions_are_never_reused_after_everything_is_applied,
            failed_attempts_are_kept_in_order_through_dead_letters_reopen_and_replay,
            failed_attempts_kept_are_bounded,
        );
    };
    (@tests $backend:expr; $($name:ident,)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                let backend = $backend;
                $crate::contract::$name(&backend).await;
            }
        )*
    };
}

pub fn event(id: &str, key: &str, lane: Lane) -> NewEvent {
    NewEvent {
        id: id.into(),
        key: key.into(),
        lane,
        event_type: "job".into(),
        payload: id.as_bytes().to_vec(),
    }
}

pub fn seq(outcome: AppendOutcome) -> u64 {
    match outcome {
        AppendOutcome::Appended { seq } => seq,
        AppendOutcome::Duplicate => panic!("unexpected duplicate"),
    }
}

/// Appends `events`, none of them a duplicate, and returns their positions.
pub async fn append_new(log: &(impl EventLog + ?Sized), events: Vec<NewEvent>) -> Vec<u64> {
    log.append(events)
        .await
        .unwrap()
        .into_iter()
        .map(seq)
        .collect()
}

pub async fn append_reports_duplicates_within_and_across_batches(backend: &impl Backend) {
    let log = backend.open().await;
    let out = log
        .append(vec![
            event("a", "k", Lane::Normal),
            event("b", "k", Lane::High),
            event("a", "k", Lane::Normal),
        ])
        .await
        .unwrap();
    assert!(seq(out[0]) < seq(out[1]));
    assert_eq!(out[2], AppendOutcome::Duplicate);
    assert_eq!(
        log.append_one(event("b", "other", Lane::Low))
            .await
            .unwrap(),
        AppendOutcome::Duplicate
    );
    let counts = log.counts().await.unwrap();
    assert_eq!(counts.pending, [0, 1, 1, 0]);
}

pub async fn pending_is_in_order_and_ack_settles(backend: &impl Backend) {
    let log = backend.open().await;
    let events: Vec<NewEvent> = (0..10)
        .map(|i| event(&format!("e{i}"), "k", Lane::Normal))
        .collect();
    let seqs = append_new(&*log, events).await;
    let pending = log.pending(0, 100).await.unwrap();
    assert_eq!(pending.iter().map(|e| e.seq).collect::<Vec<_>>(), seqs);
    assert_eq!(pending[3].event.payload, b"e3");
    assert_eq!(log.pending(seqs[7], 100).await.unwrap().len(), 2);
    let first_page: Vec<u64> = log
        .pending(seqs[1], 3)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(
        first_page,
        seqs[2..5],
        "a page is the next events in log order"
    );
    log.ack(seqs[..5].to_vec()).await.unwrap();
    let pending = log.pending(0, 100).await.unwrap();
    assert_eq!(pending.first().unwrap().seq, seqs[5]);
    let counts = log.counts().await.unwrap();
    assert_eq!((counts.pending_total(), counts.applied_retained), (5, 5));
    assert_eq!(
        log.append_one(event("e0", "k", Lane::Normal))
            .await
            .unwrap(),
        AppendOutcome::Duplicate,
        "an applied id is remembered"
    );
}

pub async fn failures_and_dead_letters_persist_across_reopen(backend: &impl Backend) {
    let log = backend.open().await;
    let a = seq(log.append_one(event("a", "k1", Lane::Low)).await.unwrap());
    let b = seq(log.append_one(event("b", "k2", Lane::High)).await.unwrap());
    let next = SystemTime::now() + Duration::from_secs(5);
    assert_eq!(log.record_failure(a, "busy".into(), next).await.unwrap(), 1);
    assert_eq!(
        log.record_failure(a, "busy again".into(), next)
            .await
            .unwrap(),
        2
    );
    log.move_to_dead_letters(b, "broken rule".into())
        .await
        .unwrap();
    log.close().await.unwrap();
    drop(log);

    let log = backend.open().await;
    let pending = log.pending(0, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attempts, 2);
    assert_eq!(pending[0].last_error.as_deref(), Some("busy again"));
    let stored_next = pending[0].next_attempt_at.unwrap();
    let skew = stored_next
        .duration_since(next)
        .unwrap_or_else(|e| e.duration());
    assert!(skew < Duration::from_millis(1));

    let dead = log
        .dead_letters(DeadLetterFilter::all(), 0, 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event.id, "b");
    assert_eq!(dead[0].state, EventState::DeadLetter);
    assert_eq!(dead[0].attempts, 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("broken rule"));
    assert!(dead[0].updated_at >= dead[0].enqueued_at);
}

pub async fn dead_letters_filter_page_replay_and_purge(backend: &impl Backend) {
    let log = backend.open().await;
    let mut seqs = Vec::new();
    for (i, lane) in [Lane::Low, Lane::High, Lane::Low, Lane::Normal]
        .into_iter()
        .enumerate()
    {
        let mut e = event(&format!("d{i}"), &format!("k{}", i % 2), lane);
        e.event_type = if i == 3 { "other".into() } else { "job".into() };
        seqs.push(seq(log.append_one(e).await.unwrap()));
    }
    for &s in &seqs {
        log.move_to_dead_letters(s, "bad".into()).await.unwrap();
    }
    let page = log
        .dead_letters(DeadLetterFilter::all(), 1, 2)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|e| e.event.id.as_str()).collect::<Vec<_>>(),
        ["d1", "d2"]
    );
    let low = DeadLetterFilter {
        lane: Some(Lane::Low),
        ..DeadLetterFilter::all()
    };
    assert_eq!(log.dead_letters(low.clone(), 0, 10).await.unwrap().len(), 2);
    let other = DeadLetterFilter {
        event_type: Some("other".into()),
        ..DeadLetterFilter::all()
    };
    assert_eq!(
        log.dead_letters(other, 0, 10).await.unwrap()[0].event.id,
        "d3"
    );
    let k1 = DeadLetterFilter {
        key: Some("k1".into()),
        ..DeadLetterFilter::all()
    };
    assert_eq!(log.dead_letters(k1, 0, 10).await.unwrap().len(), 2);

    let replayed = log
        .replay_dead_letters(DeadLetterFilter::id("d1"))
        .await
        .unwrap();
    assert_eq!(replayed.len(), 1);
    assert_eq!(
        (replayed[0].state, replayed[0].attempts),
        (EventState::Pending, 0)
    );
    assert_eq!(log.pending(0, 10).await.unwrap()[0].event.id, "d1");

    assert_eq!(log.purge_dead_letters(low).await.unwrap(), 2);
    let left = log
        .dead_letters(DeadLetterFilter::all(), 0, 10)
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|e| e.event.id.as_str()).collect::<Vec<_>>(),
        ["d3"]
    );
    assert!(
        matches!(
            log.append_one(event("d0", "k0", Lane::Low)).await.unwrap(),
            AppendOutcome::Appended { .. }
        ),
        "a purged id is forgotten"
    );
    assert_eq!(
        log.purge_dead_letters(DeadLetterFilter::all())
            .await
            .unwrap(),
        1
    );
    assert_eq!(log.counts().await.unwrap().dead_letters, 0);
}

pub async fn applied_ids_are_forgotten_after_the_retention(backend: &impl Backend) {
    let log = backend.open_with_retention(Duration::from_millis(50)).await;
    let s = seq(log.append_one(event("x", "k", Lane::Normal)).await.unwrap());
    log.ack(vec![s]).await.unwrap();
    assert_eq!(
        log.append_one(event("x", "k", Lane::Normal)).await.unwrap(),
        AppendOutcome::Duplicate
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The embedded log sweeps after a commit once its interval has passed.
    log.append_one(event("y", "k", Lane::Normal)).await.unwrap();
    assert!(matches!(
        log.append_one(event("x", "k", Lane::Normal)).await.unwrap(),
        AppendOutcome::Appended { .. }
    ));
    let counts = log.counts().await.unwrap();
    assert_eq!((counts.applied_retained, counts.pending_total()), (0, 2));
}

/// Once every event is applied the log holds no pending event, yet the next
/// append, in this life of the log or after a reopen, gets a later position.
pub async fn positions_are_never_reused_after_everything_is_applied(backend: &impl Backend) {
    let log = backend.open().await;
    let first = seq(log
        .append_one(event("p1", "k", Lane::Normal))
        .await
        .unwrap());
    log.ack(vec![first]).await.unwrap();
    let second = seq(log
        .append_one(event("p2", "k", Lane::Normal))
        .await
        .unwrap());
    assert!(second > first, "{second} after {first}");
    log.ack(vec![second]).await.unwrap();
    log.close().await.unwrap();
    drop(log);

    let log = backend.open().await;
    let third = seq(log
        .append_one(event("p3", "k", Lane::Normal))
        .await
        .unwrap());
    assert!(third > second, "{third} after {second}, reopened");
    assert_eq!(log.counts().await.unwrap().applied_retained, 2);
}

/// The errors of `attempts`, in order, after checking their times never
/// go back and lie within `[from, to]`.
fn errors_in_time(attempts: &[FailedAttempt], from: SystemTime, to: SystemTime) -> Vec<&str> {
    // The Redis clock may differ from this host's by a little.
    let slack = Duration::from_secs(1);
    assert!(
        attempts.windows(2).all(|w| w[0].at <= w[1].at),
        "{attempts:?}"
    );
    assert!(attempts
        .iter()
        .all(|a| a.at + slack >= from && a.at <= to + slack));
    attempts.iter().map(|a| a.error.as_str()).collect()
}

pub async fn failed_attempts_are_kept_in_order_through_dead_letters_reopen_and_replay(
    backend: &impl Backend,
) {
    let started = SystemTime::now();
    let log = backend.open().await;
    let s = seq(log.append_one(event("f", "k", Lane::Normal)).await.unwrap());
    let next = SystemTime::now();
    for error in ["first", "second"] {
        log.record_failure(s, error.into(), next).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let pending = log.pending(0, 10).await.unwrap();
    let now = SystemTime::now();
    assert_eq!(
        errors_in_time(&pending[0].failed_attempts, started, now),
        ["first", "second"]
    );
    log.move_to_dead_letters(s, "third".into()).await.unwrap();
    log.close().await.unwrap();
    drop(log);

    let log = backend.open().await;
    let dead = log.dead_letter("f").await.unwrap().unwrap();
    let dead_at = SystemTime::now();
    assert_eq!(dead.attempts, 3);
    let kept = errors_in_time(&dead.failed_attempts, started, dead_at);
    assert_eq!(kept, ["first", "second", "third"]);
    assert!(dead.failed_attempts[0].at < dead.failed_attempts[2].at);
    assert!(dead.failed_attempts[0].at + Duration::from_secs(1) >= dead.enqueued_at);

    let replayed = log
        .replay_dead_letters(DeadLetterFilter::id("f"))
        .await
        .unwrap();
    assert_eq!(replayed[0].failed_attempts, dead.failed_attempts);
    let pending = log.pending(0, 10).await.unwrap();
    assert_eq!(pending[0].failed_attempts, dead.failed_attempts);
    log.record_failure(replayed[0].seq, "fourth".into(), next)
        .await
        .unwrap();
    let pending = log.pending(0, 10).await.unwrap();
    assert_eq!(pending[0].attempts, 1, "a replay starts the count again");
    assert_eq!(
        errors_in_time(&pending[0].failed_attempts, started, SystemTime::now()),
        ["first", "second", "third", "fourth"]
    );
}

pub async fn failed_attempts_kept_are_bounded(backend: &impl Backend) {
    let log = backend.open().await;
    let s = seq(log.append_one(event("b", "k", Lane::Normal)).await.unwrap());
    let total = FAILED_ATTEMPTS_KEPT + 4;
    for n in 1..total {
        log.record_failure(s, format!("failure {n}"), SystemTime::now())
            .await
            .unwrap();
    }
    let pending = log.pending(0, 10).await.unwrap();
    assert_eq!(pending[0].attempts as usize, total - 1);
    assert_eq!(pending[0].failed_attempts.len(), FAILED_ATTEMPTS_KEPT);
    log.move_to_dead_letters(s, format!("failure {total}"))
        .await
        .unwrap();
    let dead = log.dead_letter("b").await.unwrap().unwrap();
    assert_eq!(dead.attempts as usize, total);
    let expected: Vec<String> = (total - FAILED_ATTEMPTS_KEPT + 1..=total)
        .map(|n| format!("failure {n}"))
        .collect();
    assert_eq!(
        dead.failed_attempts
            .iter()
            .map(|a| a.error.clone())
            .collect::<Vec<_>>(),
        expected,
        "the last attempts, oldest first"
    );
}

/// The counts follow every move of an event, and a reopened log counts what
/// it holds.
pub async fn counts_follow_every_move_and_survive_reopening(backend: &impl Backend) {
    use rhiz_events::LogCounts;

    let log = backend.open().await;
    let mut seqs = Vec::new();
    for (i, lane) in [
        Lane::Critical,
        Lane::High,
        Lane::Normal,
        Lane::Normal,
        Lane::Low,
    ]
    .into_iter()
    .enumerate()
    {
        match log
            .append_one(event(&format!("e{i}"), &format!("k{i}"), lane))
            .await
            .unwrap()
        {
            AppendOutcome::Appended { seq } => seqs.push(seq),
            other => panic!("{other:?}"),
        }
    }
    log.ack(vec![seqs[0], seqs[2]]).await.unwrap();
    log.move_to_dead_letters(seqs[3], "broken".into())
        .await
        .unwrap();
    log.move_to_dead_letters(seqs[4], "broken".into())
        .await
        .unwrap();
    assert_eq!(
        log.replay_dead_letters(DeadLetterFilter::all())
            .await
            .unwrap()
            .len(),
        2
    );
    let expected = log.counts().await.unwrap();
    assert_eq!(
        expected,
        LogCounts {
            pending: [0, 1, 1, 1],
            dead_letters: 0,
            applied_retained: 2,
        }
    );
    log.move_to_dead_letters(seqs[4], "again".into())
        .await
        .unwrap();
    assert_eq!(
        log.purge_dead_letters(DeadLetterFilter::all())
            .await
            .unwrap(),
        1
    );
    let expected = LogCounts {
        pending: [0, 1, 1, 0],
        dead_letters: 0,
        applied_retained: 2,
    };
    assert_eq!(log.counts().await.unwrap(), expected);
    log.close().await.unwrap();
    drop(log);

    let log = backend.open().await;
    assert_eq!(log.counts().await.unwrap(), expected, "after reopening");
}

/// Ids are forgotten by the time they were applied, not by position: ids
/// applied late at early positions (a replayed backlog) neither hold back
/// the forgetting of older ones nor go before their time. The margins are
/// seconds wide so that a slow disk's commits cannot move an id across the
/// retention.
pub async fn ids_are_forgotten_oldest_applied_first(backend: &impl Backend) {
    let log = backend.open_with_retention(Duration::from_secs(4)).await;
    let mut appended = Vec::new();
    for (prefix, n) in [("late-", 10_001), ("early-", 5_000)] {
        let events = (0..n)
            .map(|i| event(&format!("{prefix}{i}"), "k", Lane::Normal))
            .collect();
        appended.push(append_new(&*log, events).await);
    }
    let [late, early] = <[Vec<u64>; 2]>::try_from(appended).unwrap();
    log.ack(early).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    log.ack(late).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    // The early ids are past the retention, the late ones are not.
    run_three_groups(&*log, "trigger").await;
    assert_eq!(log.counts().await.unwrap().applied_retained, 10_001);
    assert!(matches!(
        log.append_one(event("early-0", "k", Lane::Normal))
            .await
            .unwrap(),
        AppendOutcome::Appended { .. }
    ));
    assert_eq!(
        log.append_one(event("late-0", "k", Lane::Normal))
            .await
            .unwrap(),
        AppendOutcome::Duplicate
    );
}

/// Appends three new events one at a time: three groups of commands, after
/// each of which the log may sweep.
pub async fn run_three_groups(log: &(impl EventLog + ?Sized), prefix: &str) {
    for i in 0..3 {
        log.append_one(event(&format!("{prefix}-{i}"), "k", Lane::Normal))
            .await
            .unwrap();
    }
}
