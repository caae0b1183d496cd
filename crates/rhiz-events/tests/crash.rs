//! A real crash: a child process appends through a pipeline and is killed
//! with SIGKILL mid-stream; every event it was told was accepted must be in
//! the reopened log, and the pending ones must apply exactly once. Run for
//! both embedded logs.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{open_file_log_with, open_log, start, test_config, wait_idle, Job, Recorder};
use rhiz_events::{EventLog, FileLogOptions, Lane, SubmitOutcome};

const CHILD_DIR: &str = "RHIZ_EVENTS_CRASH_CHILD_DIR";
const CHILD_LOG: &str = "RHIZ_EVENTS_CRASH_CHILD_LOG";

/// Opens the embedded log `kind` (`sqlite` or `file`) in `dir`.
async fn open_kind(kind: &str, dir: &std::path::Path) -> Arc<dyn EventLog> {
    match kind {
        "sqlite" => open_log(dir).await,
        _ => open_file_log_with(dir, FileLogOptions::default()).await,
    }
}

/// The child: runs only when re-executed by the crash test, with the log
/// directory in the environment; prints `accepted <id>` for each accepted event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of the killed_*_writer_loses_no_accepted_event tests"]
async fn crash_child() {
    let (Some(dir), Ok(kind)) = (std::env::var_os(CHILD_DIR), std::env::var(CHILD_LOG)) else {
        return;
    };
    let recorder = Arc::new(Recorder::default());
    let log = open_kind(&kind, std::path::Path::new(&dir)).await;
    let pipeline = start(log, recorder, test_config()).await;
    let mut stdout = std::io::stdout().lock();
    for b in 0.. {
        let batch: Vec<_> = (0..25)
            .map(|i| {
                let mut j = Job::new(format!("b{b}-{i}"), format!("k{}", i % 13));
                j.work_ms = 1;
                j.submission(Lane::ALL[i % 4])
            })
            .collect();
        let ids: Vec<String> = batch.iter().map(|s| s.id.clone()).collect();
        let outcomes = pipeline.submit_batch(batch).await.unwrap();
        for (id, outcome) in ids.iter().zip(outcomes) {
            match outcome {
                SubmitOutcome::Accepted { .. } => writeln!(stdout, "accepted {id}").unwrap(),
                SubmitOutcome::Refused { retry_after } => tokio::time::sleep(retry_after).await,
                SubmitOutcome::Duplicate => panic!("ids are unique"),
            }
        }
        stdout.flush().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_sqlite_writer_loses_no_accepted_event() {
    killed_writer_loses_no_accepted_event("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_file_writer_loses_no_accepted_event() {
    killed_writer_loses_no_accepted_event("file").await;
}

async fn killed_writer_loses_no_accepted_event(kind: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir.path())
        .env(CHILD_LOG, kind)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut accepted = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while accepted.len() < 3_000 {
        let line = lines.next().expect("child exited early").unwrap();
        if let Some(id) = line.strip_prefix("accepted ") {
            accepted.push(id.to_owned());
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Lines already written by the child before it died count as acknowledged too.
    for line in lines.map_while(Result::ok) {
        if let Some(id) = line.strip_prefix("accepted ") {
            accepted.push(id.to_owned());
        }
    }

    let log = open_kind(kind, dir.path()).await;
    let counts = log.counts().await.unwrap();
    assert!(
        counts.pending_total() > 0,
        "the child was killed with work left"
    );
    let recorder = Arc::new(Recorder::default());
    let pipeline = start(log, recorder.clone(), test_config()).await;
    wait_idle(&pipeline, Duration::from_secs(30)).await;
    let applied = recorder.applied.lock().unwrap().clone();
    assert_eq!(
        applied.len() as u64,
        counts.pending_total(),
        "every pending event applies"
    );
    assert!(applied.values().all(|&n| n == 1), "and applies once");
    let again: Vec<_> = accepted
        .iter()
        .map(|id| Job::new(id.clone(), "k").submission(Lane::Normal))
        .collect();
    for chunk in again.chunks(500) {
        let outcomes = pipeline.submit_batch(chunk.to_vec()).await.unwrap();
        assert!(
            outcomes.iter().all(|o| *o == SubmitOutcome::Duplicate),
            "an acknowledged event is missing from the log"
        );
    }
    pipeline.shutdown().await.unwrap();
}
