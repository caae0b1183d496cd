//! The apply lease: fencing of a stalled holder, and takeover between two
//! pipelines sharing one stream.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use redis::AsyncCommands;
use rhiz_events::{
    DeadLetterFilter, EventLog, EventsError, JsonCodec, Lane, LeaseOptions, Pipeline,
};

use crate::common::{test_config, Job, Recorder};
use crate::contract::event;
use crate::support::{connect, eventually, options, prefix, raw};

fn quick_lease() -> LeaseOptions {
    LeaseOptions {
        ttl: Duration::from_millis(600),
        renew_every: Duration::from_millis(100),
        retry_every: Duration::from_millis(25),
    }
}

#[tokio::test]
async fn a_stalled_holder_cannot_settle_after_losing_the_lease() {
    let prefix = prefix("fencing");
    let old = connect(options(&prefix, "old")).await;
    // Renewing only every 10 s: the old holder will not notice the loss
    // by itself during the test, as if it had stalled.
    let old_lease = old
        .lease(LeaseOptions {
            ttl: Duration::from_secs(20),
            renew_every: Duration::from_secs(10),
            retry_every: Duration::from_millis(25),
        })
        .unwrap();
    let old_token = tokio::time::timeout(Duration::from_secs(5), old_lease.acquired())
        .await
        .expect("the free lease is taken");
    old.append(vec![
        event("a", "k", Lane::Normal),
        event("b", "k", Lane::Normal),
    ])
    .await
    .unwrap();
    let taken = old.follow(10, Duration::ZERO).await.unwrap();
    assert_eq!(taken.len(), 2);

    // The lease key expires behind the stalled holder's back; another
    // instance takes the lease with a higher token.
    let mut raw = raw().await;
    let _: () = raw.del(format!("{{{prefix}}}:lease")).await.unwrap();
    let new = connect(options(&prefix, "new")).await;
    let new_lease = new.lease(quick_lease()).unwrap();
    let new_token = tokio::time::timeout(Duration::from_secs(5), new_lease.acquired())
        .await
        .expect("the expired lease is taken over");
    assert!(new_token > old_token, "fencing tokens grow");
    assert_eq!(
        old_lease.token(),
        Some(old_token),
        "the stalled holder still believes"
    );

    let lost = |r: Result<(), EventsError>| {
        assert!(
            matches!(r, Err(EventsError::LeaseLost { token: Some(t) }) if t == old_token),
            "expected LeaseLost, got {r:?}"
        );
    };
    lost(old.ack(vec![taken[0].seq]).await);
    lost(
        old.record_failure(taken[0].seq, "late".into(), SystemTime::now())
            .await
            .map(drop),
    );
    lost(old.move_to_dead_letters(taken[1].seq, "late".into()).await);
    lost(old.follow(10, Duration::ZERO).await.map(drop));
    lost(old.claim_pending(0, 10).await.map(drop));
    assert_eq!(
        old.counts().await.unwrap().pending_total(),
        2,
        "nothing settled"
    );

    let claimed = new.claim_pending(0, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    new.ack(claimed.iter().map(|e| e.seq).collect())
        .await
        .unwrap();
    assert_eq!(new.counts().await.unwrap().pending_total(), 0);
    new_lease.release().await.unwrap();
    let holder: Option<String> = raw.get(format!("{{{prefix}}}:lease")).await.unwrap();
    assert_eq!(holder, None, "release frees the lease at once");
}

/// One instance: a log with its lease, and a pipeline applying under it.
async fn instance(prefix: &str, name: &str, recorder: Arc<Recorder>) -> Pipeline<Job> {
    let log = connect(options(prefix, name)).await;
    let lease = log.lease(quick_lease()).unwrap();
    let log: Arc<dyn EventLog> = log;
    Pipeline::builder(log, recorder, Arc::new(JsonCodec::new()))
        .config(test_config())
        .lease(lease)
        .build()
        .await
        .expect("pipeline starts")
}

const KEYS: usize = 10;
const PER_KEY: usize = 40;

fn job(key: usize, n: usize) -> Job {
    let mut job = Job::new(format!("k{key}-{n:03}"), format!("k{key}"));
    job.work_ms = 2;
    job
}

/// Per key, the numbers of the events `recorder` applied, in apply order.
fn applied_per_key(recorder: &Recorder) -> HashMap<String, Vec<usize>> {
    let mut per_key: HashMap<String, Vec<usize>> = HashMap::new();
    for (key, id) in recorder
        .attempts
        .lock()
        .unwrap()
        .iter()
        .map(|(k, id, _)| (k.clone(), id.clone()))
    {
        let n = id.rsplit('-').next().unwrap().parse().unwrap();
        per_key.entry(key).or_default().push(n);
    }
    per_key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_instance_takes_over_claims_the_rest_and_keeps_key_order() {
    let prefix = prefix("takeover");
    let (first_recorder, second_recorder) =
        (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let first = instance(&prefix, "first", first_recorder.clone()).await;
    tokio::time::timeout(Duration::from_secs(5), first.lease().unwrap().acquired())
        .await
        .expect("the first instance takes the free lease");
    let second = instance(&prefix, "second", second_recorder.clone()).await;
    assert!(!second.lease().unwrap().is_held());

    // Both instances ingest; only the holder applies, the other's appends included.
    for n in 0..PER_KEY {
        for key in 0..KEYS {
            let via = if (n + key) % 2 == 0 { &first } else { &second };
            via.submit(job(key, n).submission(Lane::Normal))
                .await
                .unwrap();
        }
    }
    eventually(
        Duration::from_secs(10),
        "the holder applying a third",
        || first_recorder.applied.lock().unwrap().len() >= KEYS * PER_KEY / 3,
    )
    .await;
    assert!(
        second_recorder.attempts.lock().unwrap().is_empty(),
        "only the holder applies"
    );

    // The holder dies: no shutdown, no release; its lease expires.
    drop(first);
    let died = Instant::now();
    let token = tokio::time::timeout(Duration::from_secs(5), second.lease().unwrap().acquired())
        .await
        .expect("the second instance takes over");
    assert!(
        died.elapsed() < quick_lease().ttl + Duration::from_millis(300),
        "takeover took {:?}",
        died.elapsed()
    );
    assert!(token >= 2);
    eventually(Duration::from_secs(20), "every event applied", || {
        let applied: BTreeSet<String> = first_recorder
            .applied
            .lock()
            .unwrap()
            .keys()
            .chain(second_recorder.applied.lock().unwrap().keys())
            .cloned()
            .collect();
        applied.len() == KEYS * PER_KEY
    })
    .await;
    rhiz_events_idle(&second).await;

    assert!(
        !second_recorder.applied.lock().unwrap().is_empty(),
        "the new holder applied what the old one left"
    );
    let (before, after) = (
        applied_per_key(&first_recorder),
        applied_per_key(&second_recorder),
    );
    for key in 0..KEYS {
        let key = format!("k{key}");
        let before = before.get(&key).cloned().unwrap_or_default();
        let after = after.get(&key).cloned().unwrap_or_default();
        assert!(
            before.windows(2).all(|w| w[0] < w[1]),
            "{key} out of order before: {before:?}"
        );
        let resumed = after.first().copied().unwrap_or(PER_KEY);
        assert_eq!(
            after,
            (resumed..PER_KEY).collect::<Vec<_>>(),
            "{key}: the new holder applies the rest in order, nothing skipped"
        );
        assert!(
            before.last().is_none_or(|&last| resumed <= last + 1),
            "{key}: a gap between {before:?} and {after:?}"
        );
    }
    assert_eq!(second.log().counts().await.unwrap().pending_total(), 0);
    second.shutdown().await.unwrap();
    assert!(
        !second.lease().unwrap().is_held(),
        "shutdown gives the lease up"
    );
}

/// Waits until the pipeline has nothing scheduled and its log nothing pending.
async fn rhiz_events_idle(pipeline: &Pipeline<Job>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pending = pipeline.log().counts().await.unwrap().pending_total();
        if pending == 0 && pipeline.metrics().events_in_queue == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{pending} events still pending");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_replayed_by_any_instance_are_applied_once_by_the_holder() {
    let prefix = prefix("lease-replay");
    let (holder_recorder, other_recorder) =
        (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let holder = instance(&prefix, "holder", holder_recorder.clone()).await;
    tokio::time::timeout(Duration::from_secs(5), holder.lease().unwrap().acquired())
        .await
        .expect("the holder takes the free lease");
    let other = instance(&prefix, "other", other_recorder.clone()).await;

    let mut poison = Job::new("poison", "k");
    poison.permanent = true;
    other.submit(poison.submission(Lane::High)).await.unwrap();
    other
        .submit(Job::new("fine", "k").submission(Lane::High))
        .await
        .unwrap();
    eventually(
        Duration::from_secs(5),
        "the poison event dead-lettered",
        || holder_recorder.applied_count("fine") == 1,
    )
    .await;
    settles_to(&other, (1, 0)).await;

    holder_recorder
        .fixed
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let replayed = other
        .replay_dead_letters(DeadLetterFilter::id("poison"))
        .await
        .unwrap();
    assert_eq!(replayed, 1);
    eventually(Duration::from_secs(5), "the replayed event applied", || {
        holder_recorder.applied_count("poison") == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(holder_recorder.applied_count("poison"), 1, "applied once");
    assert!(other_recorder.attempts.lock().unwrap().is_empty());
    settles_to(&holder, (0, 0)).await;
    other.shutdown().await.unwrap();
    holder.shutdown().await.unwrap();
}

/// Waits until the log counts (dead letters, pending): acknowledgements
/// are written shortly after the applies.
async fn settles_to(pipeline: &Pipeline<Job>, expected: (u64, u64)) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let counts = pipeline.log().counts().await.unwrap();
        let now = (counts.dead_letters, counts.pending_total());
        if now == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "counts stay at {now:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
