//! A scripted handler that records what it applies, and pipeline helpers.
#![allow(dead_code, unreachable_pub)]

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhiz_events::{
    async_trait, EventLog, FileEventLog, FileLogOptions, Handler, HandlerError, JsonCodec, Lane,
    Pipeline, PipelineConfig, SqliteEventLog, SqliteLogOptions, Submission,
};
use serde::{Deserialize, Serialize};

/// A test event: its script says how it behaves when applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub key: String,
    /// Transient failures before the first success.
    pub transient_failures: u32,
    /// Failures of an unavailable dependency before anything else.
    pub outage_failures: u32,
    /// Fails permanently on its first attempt.
    pub permanent: bool,
    /// Time the handler takes.
    pub work_ms: u64,
}

impl Job {
    pub fn new(id: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            key: key.into(),
            transient_failures: 0,
            outage_failures: 0,
            permanent: false,
            work_ms: 0,
        }
    }

    pub fn submission(self, lane: Lane) -> Submission<Job> {
        Submission {
            id: self.id.clone(),
            key: self.key.clone(),
            lane,
            event_type: if self.permanent { "poison" } else { "job" }.into(),
            payload: self,
        }
    }
}

/// Applies [`Job`]s by their script and records every attempt.
#[derive(Default)]
pub struct Recorder {
    /// Every attempt, in the order attempts started: (key, id).
    pub attempts: Mutex<Vec<(String, String, Instant)>>,
    /// Successful applies per id.
    pub applied: Mutex<HashMap<String, u32>>,
    /// Keys being applied right now.
    active: Mutex<HashSet<String>>,
    /// Times an apply started while another of its key was running.
    pub overlaps: AtomicUsize,
    /// When set, transient scripts no longer fail ("the cause is fixed").
    pub fixed: AtomicBool,
}

#[async_trait]
impl Handler<Job> for Recorder {
    async fn apply(&self, job: &Job) -> Result<(), HandlerError> {
        if !self.active.lock().unwrap().insert(job.key.clone()) {
            self.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        let earlier = {
            let mut attempts = self.attempts.lock().unwrap();
            let earlier = attempts.iter().filter(|a| a.1 == job.id).count() as u32;
            attempts.push((job.key.clone(), job.id.clone(), Instant::now()));
            earlier
        };
        if job.work_ms > 0 {
            tokio::time::sleep(Duration::from_millis(job.work_ms)).await;
        }
        self.active.lock().unwrap().remove(&job.key);
        let fixed = self.fixed.load(Ordering::SeqCst);
        if earlier < job.outage_failures {
            return Err(HandlerError::Unavailable(format!(
                "{} found the database down",
                job.id
            )));
        }
        if job.permanent && !fixed {
            return Err(HandlerError::Permanent(format!("{} breaks a rule", job.id)));
        }
        if earlier < job.transient_failures && !fixed {
            return Err(HandlerError::Transient(format!(
                "{} hit a busy database",
                job.id
            )));
        }
        *self
            .applied
            .lock()
            .unwrap()
            .entry(job.id.clone())
            .or_default() += 1;
        Ok(())
    }
}

impl Recorder {
    pub fn applied_count(&self, id: &str) -> u32 {
        self.applied.lock().unwrap().get(id).copied().unwrap_or(0)
    }

    /// Ids in the order their attempts started, per key, consecutive repeats
    /// (retries) collapsed.
    pub fn order_by_key(&self) -> HashMap<String, Vec<String>> {
        let mut order: HashMap<String, Vec<String>> = HashMap::new();
        for (key, id, _) in self.attempts.lock().unwrap().iter() {
            let ids = order.entry(key.clone()).or_default();
            if ids.last() != Some(id) {
                ids.push(id.clone());
            }
        }
        order
    }
}

/// Fast retries and small limits for tests.
pub fn test_config() -> PipelineConfig {
    PipelineConfig {
        workers: 2,
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(40),
        retry_after_min: Duration::from_millis(5),
        retry_after_max: Duration::from_millis(50),
        jitter_seed: Some(7),
        ..PipelineConfig::default()
    }
}

pub async fn open_log(dir: &Path) -> Arc<SqliteEventLog> {
    open_log_with(dir, SqliteLogOptions::default()).await
}

/// Opens the SQLite log in `dir`, waiting for a previous owner's writer
/// thread to let go.
pub async fn open_log_with(dir: &Path, options: SqliteLogOptions) -> Arc<SqliteEventLog> {
    reopen(|| SqliteEventLog::open(dir.join("events.db"), options.clone())).await
}

/// Opens the file log in `dir`, waiting for a previous owner's writer
/// thread to let go.
pub async fn open_file_log_with(dir: &Path, options: FileLogOptions) -> Arc<FileEventLog> {
    reopen(|| FileEventLog::open(dir.join("events"), options.clone())).await
}

/// Calls `open` until it succeeds, for up to ten seconds.
async fn reopen<L, F>(open: impl Fn() -> F) -> Arc<L>
where
    F: std::future::Future<Output = Result<L, rhiz_events::EventsError>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match open().await {
            Ok(log) => return Arc::new(log),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("cannot reopen the log: {e}"),
        }
    }
}

pub async fn start(
    log: Arc<dyn EventLog>,
    handler: Arc<Recorder>,
    config: PipelineConfig,
) -> Pipeline<Job> {
    Pipeline::builder(log, handler, Arc::new(JsonCodec::new()))
        .config(config)
        .build()
        .await
        .expect("pipeline starts")
}

/// Waits until every accepted event is applied or dead-lettered.
pub async fn wait_idle(pipeline: &Pipeline<Job>, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let m = pipeline.metrics();
        if m.events_in_queue == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pipeline still has {} events after {timeout:?}: {m:?}",
            m.events_in_queue
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
