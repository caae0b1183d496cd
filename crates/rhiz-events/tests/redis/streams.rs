//! What the Redis log adds to the contract: trimming and claiming.

use std::time::{Duration, Instant};

use redis::AsyncCommands;
use rhiz_events::{EventLog, Lane, RedisLogOptions};

use crate::contract::{append_new, event, seq};
use crate::support::{connect, options, prefix, raw};

#[tokio::test]
async fn trimming_keeps_every_unacknowledged_entry() {
    let prefix = prefix("trim");
    let log = connect(options(&prefix, "trimmer")).await;
    let events = (0..200)
        .map(|i| event(&format!("e{i}"), &format!("k{}", i % 7), Lane::Normal))
        .collect();
    let seqs = append_new(&*log, events).await;
    // Settle the first 120 and every third one after, out of order.
    let mut settled: Vec<u64> = seqs[..120].iter().rev().copied().collect();
    settled.extend(seqs[120..].iter().step_by(3));
    log.ack(settled.clone()).await.unwrap();
    let unsettled: Vec<u64> = seqs
        .iter()
        .filter(|s| !settled.contains(s))
        .copied()
        .collect();

    log.trim().await.unwrap();

    let stream = format!("{{{prefix}}}:stream");
    let mut raw = raw().await;
    let len: usize = raw.xlen(&stream).await.unwrap();
    assert_eq!(len, unsettled.len());
    let pending = log.pending(0, 1_000).await.unwrap();
    assert_eq!(pending.iter().map(|e| e.seq).collect::<Vec<_>>(), unsettled);
    assert_eq!(
        log.counts().await.unwrap().pending_total(),
        unsettled.len() as u64
    );
    // Trimming an empty stream keeps it, and its group, usable.
    log.ack(unsettled).await.unwrap();
    log.trim().await.unwrap();
    let next = seq(log
        .append_one(event("after", "k", Lane::Low))
        .await
        .unwrap());
    assert!(next > *seqs.last().unwrap());
    assert_eq!(log.pending(0, 10).await.unwrap()[0].seq, next);
}

#[tokio::test]
async fn a_dead_consumers_entries_are_claimed_after_the_idle_timeout() {
    let prefix = prefix("autoclaim");
    let dead = connect(options(&prefix, "dead-consumer")).await;
    let events = (0..3)
        .map(|i| event(&format!("c{i}"), "k", Lane::High))
        .collect();
    dead.append(events).await.unwrap();
    let delivered = dead.follow(10, Duration::ZERO).await.unwrap();
    assert_eq!(delivered.len(), 3);
    // The consumer's last interaction with Redis: idle time counts from here.
    let last_seen = Instant::now();
    assert!(
        dead.follow(10, Duration::ZERO).await.unwrap().is_empty(),
        "handed out once"
    );
    drop(dead);

    let min_idle = Duration::from_millis(300);
    let heir = connect(RedisLogOptions {
        claim_min_idle: min_idle,
        ..options(&prefix, "heir")
    })
    .await;
    let claimed = heir.claim_pending(0, 100).await.unwrap();
    // Redis counts idle time in whole milliseconds.
    assert!(
        last_seen.elapsed() + Duration::from_millis(2) >= min_idle,
        "claimed after {:?}, before the idle timeout",
        last_seen.elapsed()
    );
    assert_eq!(
        claimed
            .iter()
            .map(|e| e.event.id.as_str())
            .collect::<Vec<_>>(),
        ["c0", "c1", "c2"]
    );
    assert!(
        claimed.iter().all(|e| e.attempts == 1),
        "the unsettled delivery counts as an attempt: {claimed:?}"
    );
    let last = claimed.last().unwrap().seq;
    assert!(heir.claim_pending(last, 100).await.unwrap().is_empty());

    let consumers: redis::streams::StreamInfoConsumersReply = raw()
        .await
        .xinfo_consumers(format!("{{{prefix}}}:stream"), "apply")
        .await
        .unwrap();
    let names: Vec<&str> = consumers
        .consumers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["heir"], "the emptied dead consumer is forgotten");
    heir.ack(claimed.iter().map(|e| e.seq).collect())
        .await
        .unwrap();
    assert_eq!(heir.counts().await.unwrap().pending_total(), 0);
}

/// Failure records and dead letters written before histories were kept
/// read as their last failure, and new attempts follow it.
#[tokio::test]
async fn records_from_before_failure_histories_read_as_their_last_failure() {
    let prefix = prefix("legacy-history");
    let log = connect(options(&prefix, "upgraded")).await;
    let s = seq(log
        .append_one(event("old", "k", Lane::Normal))
        .await
        .unwrap());
    let sid = format!("{}-{}", s >> 20, s & 0xF_FFFF);
    let failed_at = 1_763_935_200_000_000_u64;
    let mut raw = raw().await;
    let legacy = format!("2\t{}\t{failed_at}\tbusy\twith a tab", failed_at + 5);
    let _: () = raw
        .hset(format!("{{{prefix}}}:failures"), &sid, legacy)
        .await
        .unwrap();
    let pending = &log.pending(0, 10).await.unwrap()[0];
    assert_eq!(pending.attempts, 2);
    assert_eq!(pending.last_error.as_deref(), Some("busy\twith a tab"));
    let at = std::time::UNIX_EPOCH + Duration::from_micros(failed_at);
    assert_eq!(pending.failed_attempts.len(), 1);
    assert_eq!(pending.failed_attempts[0].at, at);

    log.move_to_dead_letters(s, "broken".into()).await.unwrap();
    let dead = log.dead_letter("old").await.unwrap().unwrap();
    let errors: Vec<&str> = dead
        .failed_attempts
        .iter()
        .map(|a| a.error.as_str())
        .collect();
    assert_eq!(errors, ["busy\twith a tab", "broken"]);
    assert_eq!(dead.attempts, 3);

    // A dead letter without its history field, as written before.
    let record = format!("{{{prefix}}}:dl:old");
    let _: () = raw.hdel(&record, "h").await.unwrap();
    let dead = log.dead_letter("old").await.unwrap().unwrap();
    assert_eq!(dead.failed_attempts.len(), 1);
    assert_eq!(
        (
            dead.failed_attempts[0].error.as_str(),
            dead.failed_attempts[0].at
        ),
        ("broken", dead.updated_at)
    );
    let replayed = log
        .replay_dead_letters(rhiz_events::DeadLetterFilter::id("old"))
        .await
        .unwrap();
    assert_eq!(
        log.pending(0, 10).await.unwrap()[0].failed_attempts,
        replayed[0].failed_attempts
    );
}
