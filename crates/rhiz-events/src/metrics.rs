//! Internal metrics of the pipeline: counters per lane and per event type,
//! latency histograms and a one-second throughput window, read through
//! [`MetricsSnapshot`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rhiz_metrics::{HistogramSnapshot, LatencyHistogram};

/// Counters of one lane or one event type.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    accepted: AtomicU64,
    refused: AtomicU64,
    applied: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    dead_lettered: AtomicU64,
}

/// What can be counted about an event.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Count {
    Accepted,
    Refused,
    Applied,
    Retried,
    Failed,
    DeadLettered,
}

impl Counters {
    fn add(&self, what: Count) {
        let counter = match what {
            Count::Accepted => &self.accepted,
            Count::Refused => &self.refused,
            Count::Applied => &self.applied,
            Count::Retried => &self.retried,
            Count::Failed => &self.failed,
            Count::DeadLettered => &self.dead_lettered,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            accepted: self.accepted.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            applied: self.applied.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
        }
    }
}

/// Event counts since the pipeline started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// Durably accepted.
    pub accepted: u64,
    /// Refused by backpressure.
    pub refused: u64,
    /// Applied successfully.
    pub applied: u64,
    /// Scheduled for another attempt after a transient failure.
    pub retried: u64,
    /// Failed attempts (transient or permanent).
    pub failed: u64,
    /// Moved to the dead letters.
    pub dead_lettered: u64,
}

/// Applies counted per whole second since the pipeline started.
#[derive(Debug, Default)]
struct Window {
    second: u64,
    count: u64,
    sum: Duration,
    last_second: Option<u64>,
    last_count: u64,
    last_mean: Duration,
}

impl Window {
    fn roll(&mut self, now: u64) {
        if now != self.second {
            if self.count > 0 {
                self.last_second = Some(self.second);
                self.last_count = self.count;
                self.last_mean = self.sum / u32::try_from(self.count).unwrap_or(u32::MAX);
            }
            self.second = now;
            self.count = 0;
            self.sum = Duration::ZERO;
        }
    }
}

/// Everything the pipeline measures about itself.
#[derive(Debug)]
pub(crate) struct Metrics {
    started: Instant,
    lanes: [Counters; 4],
    types: RwLock<HashMap<String, Arc<Counters>, foldhash::fast::RandomState>>,
    apply_latency: LatencyHistogram,
    ingest_latency: LatencyHistogram,
    window: Mutex<Window>,
    pub(crate) backpressure: AtomicBool,
    pub(crate) busy_workers: AtomicUsize,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        Self {
            started: Instant::now(),
            lanes: Default::default(),
            types: RwLock::default(),
            apply_latency: LatencyHistogram::default(),
            ingest_latency: LatencyHistogram::default(),
            window: Mutex::default(),
            backpressure: AtomicBool::new(false),
            busy_workers: AtomicUsize::new(0),
        }
    }

    /// The counters of an event type label, created on first use.
    pub(crate) fn type_counters(&self, event_type: &str) -> Arc<Counters> {
        if let Some(c) = self
            .types
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(event_type)
        {
            return Arc::clone(c);
        }
        let mut types = self.types.write().unwrap_or_else(|e| e.into_inner());
        Arc::clone(types.entry(event_type.to_owned()).or_default())
    }

    /// Counts one event in its lane and its type.
    pub(crate) fn count(&self, lane: usize, event_type: &Counters, what: Count) {
        self.lanes[lane].add(what);
        event_type.add(what);
    }

    /// Records a successful apply that took `apply` after `ingest` since the
    /// event was submitted.
    pub(crate) fn record_applied(&self, apply: Duration, ingest: Duration) {
        self.apply_latency.record(apply);
        self.ingest_latency.record(ingest);
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        w.roll(self.started.elapsed().as_secs());
        w.count += 1;
        w.sum += apply;
    }

    /// Applies in the last complete second.
    pub(crate) fn throughput(&self) -> f64 {
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.started.elapsed().as_secs();
        w.roll(now);
        match w.last_second {
            Some(s) if s + 1 == now => w.last_count as f64,
            _ => 0.0,
        }
    }

    pub(crate) fn snapshot(&self, depth: [u64; 4], workers: usize) -> MetricsSnapshot {
        let throughput = self.throughput();
        let avg = {
            let w = self.window.lock().unwrap_or_else(|e| e.into_inner());
            if w.last_second.is_some() {
                w.last_mean
            } else {
                w.sum / u32::try_from(w.count.max(1)).unwrap_or(u32::MAX)
            }
        };
        let lanes = [0, 1, 2, 3].map(|i| self.lanes[i].snapshot());
        let total = lanes.iter().fold(CounterSnapshot::default(), |mut t, l| {
            t.accepted += l.accepted;
            t.refused += l.refused;
            t.applied += l.applied;
            t.retried += l.retried;
            t.failed += l.failed;
            t.dead_lettered += l.dead_lettered;
            t
        });
        let queued: u64 = depth.iter().sum();
        let mut by_type: Vec<(String, CounterSnapshot)> = self
            .types
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.snapshot()))
            .collect();
        by_type.sort_by(|a, b| a.0.cmp(&b.0));
        MetricsSnapshot {
            events_processed: total.applied,
            events_failed: total.failed,
            events_in_queue: queued,
            avg_processing_time_ms: avg.as_secs_f64() * 1000.0,
            throughput_per_second: throughput,
            worker_utilization: (queued as f64 / workers as f64).min(1.0),
            backpressure_active: self.backpressure.load(Ordering::Relaxed),
            workers,
            busy_workers: self.busy_workers.load(Ordering::Relaxed),
            total,
            lanes,
            queue_depth: depth,
            by_type,
            apply_latency: self.apply_latency.snapshot(),
            ingest_to_applied_latency: self.ingest_latency.snapshot(),
        }
    }
}

/// A consistent-enough copy of the pipeline's metrics. The first seven fields
/// are those of `GET /internal/events/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSnapshot {
    /// Events applied since start.
    pub events_processed: u64,
    /// Failed attempts since start.
    pub events_failed: u64,
    /// Events accepted and not yet applied or dead-lettered, all lanes.
    pub events_in_queue: u64,
    /// Mean apply time over the last one-second window with applies.
    pub avg_processing_time_ms: f64,
    /// Events applied in the last complete second.
    pub throughput_per_second: f64,
    /// `min(events_in_queue / workers, 1.0)`, the prototype's formula.
    pub worker_utilization: f64,
    /// True from a refusal until the next accepted event.
    pub backpressure_active: bool,
    /// Size of the worker pool.
    pub workers: usize,
    /// Workers applying an event right now.
    pub busy_workers: usize,
    /// Counts over all lanes.
    pub total: CounterSnapshot,
    /// Counts per lane, indexed by [`Lane::index`](crate::Lane::index).
    pub lanes: [CounterSnapshot; 4],
    /// Events accepted and not yet settled per lane.
    pub queue_depth: [u64; 4],
    /// Counts per caller-given event type label, sorted by label.
    pub by_type: Vec<(String, CounterSnapshot)>,
    /// Time spent in the handler per successful apply.
    pub apply_latency: HistogramSnapshot,
    /// Time from submission (or recovery) to the end of a successful apply.
    pub ingest_to_applied_latency: HistogramSnapshot,
}
