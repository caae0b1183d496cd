//! The pipeline: admission with backpressure, the appender that writes
//! accepted events to the log in order, the workers that apply them, and the
//! acknowledger that marks them applied.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use futures_util::FutureExt;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;

use crate::metrics::{Count, Metrics, MetricsSnapshot};
use crate::scheduler::{Entry, Next, Scheduler};
use crate::{
    AppendOutcome, ApplyLease, Codec, DeadLetterFilter, EventLog, EventsError, Handler,
    HandlerError, Lane, NewEvent, PipelineConfig, StoredEvent,
};

/// Most events written to the log in one append by the appender.
const APPEND_GROUP: usize = 8_192;
/// Most acknowledgements written in one call.
const ACK_GROUP: usize = 8_192;
/// Pending events read per page during recovery.
const RECOVERY_PAGE: usize = 10_000;
/// Most events a lease holder takes from the log in one read.
const FOLLOW_PAGE: usize = 8_192;
/// How long one read of a lease holder waits for new events.
const FOLLOW_WAIT: Duration = Duration::from_millis(250);
/// Pause of a lease holder whose scheduler is full, or after an error.
const FOLLOW_PAUSE: Duration = Duration::from_millis(5);

/// An event offered to [`Pipeline::submit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission<P> {
    /// Idempotency key: a repeat of an id still remembered is a duplicate.
    pub id: String,
    /// Partition key: same key, same order, never concurrently.
    pub key: String,
    /// Priority lane.
    pub lane: Lane,
    /// Type label, for metrics and dead-letter filters.
    pub event_type: String,
    /// The event itself.
    pub payload: P,
}

/// What happened to one submitted event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Durably accepted; it will be applied.
    Accepted {
        /// Its position in the log.
        seq: u64,
    },
    /// Its id was seen before; nothing was written.
    Duplicate,
    /// Backpressure: nothing was written; offer it again after `retry_after`.
    Refused {
        /// When the producer should try again.
        retry_after: Duration,
    },
}

/// Configures and starts a [`Pipeline`].
pub struct PipelineBuilder<P> {
    log: Arc<dyn EventLog>,
    handler: Arc<dyn Handler<P>>,
    codec: Arc<dyn Codec<P>>,
    config: PipelineConfig,
    lease: Option<ApplyLease>,
}

impl<P: Send + Sync + 'static> PipelineBuilder<P> {
    /// A builder with the default configuration.
    pub fn new(
        log: Arc<dyn EventLog>,
        handler: Arc<dyn Handler<P>>,
        codec: Arc<dyn Codec<P>>,
    ) -> Self {
        Self {
            log,
            handler,
            codec,
            config: PipelineConfig::default(),
            lease: None,
        }
    }

    /// Replaces the configuration.
    pub fn config(mut self, config: PipelineConfig) -> Self {
        self.config = config;
        self
    }

    /// Applies only while holding `lease`, for a log several instances
    /// share (made by [`RedisStreamsEventLog::lease`](crate::RedisStreamsEventLog::lease)).
    ///
    /// Every instance accepts submissions and appends them; only the holder
    /// applies. The pipeline then learns of every event, its own included,
    /// from the log: on each acquisition it claims the events the previous
    /// holder left unsettled ([`EventLog::claim_pending`]), in log order,
    /// then follows new appends ([`EventLog::follow`]) while the lease is
    /// held, reading no more than its capacity has room for. When the lease
    /// is lost, it forgets what it had scheduled (the next holder claims
    /// it); an apply in progress finishes but its acknowledgement is refused
    /// by the fence. Backpressure counts the events the holder has taken
    /// from the log: an instance without the lease never refuses.
    pub fn lease(mut self, lease: ApplyLease) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Validates the configuration, schedules every pending event of the log
    /// (recovery; with a lease, at each acquisition instead) and starts the
    /// workers. Must run inside a tokio runtime.
    pub async fn build(self) -> Result<Pipeline<P>, EventsError> {
        self.config.validate()?;
        if self.lease.is_some() {
            self.log.follow(0, Duration::ZERO).await?;
        }
        let seed = self.config.jitter_seed.unwrap_or_else(rand::random);
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            scheduler: Mutex::new(Scheduler::new(self.config.lane_weights)),
            log: self.log,
            handler: self.handler,
            codec: self.codec,
            config: self.config,
            wake: Notify::new(),
            metrics: Metrics::new(),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            acks: ack_tx,
            stopping: AtomicBool::new(false),
            waiting_out: AtomicBool::new(false),
            lease: self.lease,
            epoch: AtomicU64::new(0),
        });
        let follower = match shared.lease.clone() {
            Some(lease) => Some(tokio::spawn(follow(Arc::clone(&shared), lease))),
            None => {
                shared.recover().await?;
                None
            }
        };
        let acker = tokio::spawn(acknowledge(Arc::clone(&shared.log), ack_rx));
        let (append_tx, append_rx) = mpsc::unbounded_channel();
        let appender = tokio::spawn(append(Arc::clone(&shared), append_rx));
        let workers = (0..shared.config.workers)
            .map(|_| tokio::spawn(work(Arc::clone(&shared))))
            .collect();
        Ok(Pipeline {
            inner: Arc::new(Inner {
                shared,
                appends: Mutex::new(Some(append_tx)),
                tasks: Mutex::new(Some(Tasks {
                    appender,
                    workers,
                    acker,
                    follower,
                })),
            }),
        })
    }
}

/// Applies events from an [`EventLog`] with a [`Handler`]: priority lanes,
/// per-key ordering, backpressure, retries and dead letters.
///
/// Cheap to clone; all clones drive the same pipeline.
pub struct Pipeline<P> {
    inner: Arc<Inner<P>>,
}

impl<P> Clone for Pipeline<P> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<P> {
    shared: Arc<Shared<P>>,
    /// Taken at shutdown, which lets the appender finish and stop.
    appends: Mutex<Option<mpsc::UnboundedSender<AppendRequest<P>>>>,
    tasks: Mutex<Option<Tasks>>,
}

struct Tasks {
    appender: JoinHandle<()>,
    workers: Vec<JoinHandle<()>>,
    acker: JoinHandle<()>,
    /// Takes events from the log while the lease is held (lease only).
    follower: Option<JoinHandle<()>>,
}

impl<P> Drop for Inner<P> {
    /// Dropped without [`Pipeline::shutdown`]: workers stop after their
    /// current event; whatever was not acknowledged stays pending in the log
    /// (with a lease: for the next holder, once the lease expires).
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.wake.notify_waiters();
        let tasks = self.tasks.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(follower) = tasks.as_mut().and_then(|t| t.follower.take()) {
            follower.abort();
        }
    }
}

struct Shared<P> {
    log: Arc<dyn EventLog>,
    handler: Arc<dyn Handler<P>>,
    codec: Arc<dyn Codec<P>>,
    config: PipelineConfig,
    scheduler: Mutex<Scheduler<P>>,
    wake: Notify,
    metrics: Metrics,
    rng: Mutex<StdRng>,
    acks: mpsc::UnboundedSender<Ack>,
    stopping: AtomicBool,
    /// Whether some event waits out an unavailable dependency: the next
    /// success releases them all (see `conclude`).
    waiting_out: AtomicBool,
    /// Apply only while holding it; see [`PipelineBuilder::lease`].
    lease: Option<ApplyLease>,
    /// Grows each time the lease is taken or lost; scheduled events carry
    /// the epoch they were scheduled in.
    epoch: AtomicU64,
}

/// Events admitted by one submit call, for the appender.
struct AppendRequest<P> {
    entries: Vec<Entry<P>>,
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Result<Vec<AppendOutcome>, String>>,
}

enum Ack {
    Applied(u64),
    Flush(oneshot::Sender<()>),
}

impl<P: Send + Sync + 'static> Pipeline<P> {
    /// Starts a builder; see [`PipelineBuilder`].
    pub fn builder(
        log: Arc<dyn EventLog>,
        handler: Arc<dyn Handler<P>>,
        codec: Arc<dyn Codec<P>>,
    ) -> PipelineBuilder<P> {
        PipelineBuilder::new(log, handler, codec)
    }

    /// Submits one event; see [`Pipeline::submit_batch`].
    pub async fn submit(&self, submission: Submission<P>) -> Result<SubmitOutcome, EventsError> {
        let mut outcomes = self.submit_batch(vec![submission]).await?;
        outcomes.pop().ok_or(EventsError::Closed)
    }

    /// Submits events, returning one outcome per event in order.
    ///
    /// **Backpressure policy** (the only place events are admitted): an event
    /// is refused when the events accepted and not yet settled reach
    /// `capacity × high_water`, or when its lane holds `lane_capacity`. A
    /// refused event is never written; within a call, once one event is
    /// refused every later one is refused too, so a producer that retries the
    /// refused tail keeps its order. `retry_after` estimates how long the
    /// workers need to drain the excess at the current throughput.
    ///
    /// Accepted events are durable when this returns. An error means none of
    /// the call's events was written.
    pub async fn submit_batch(
        &self,
        submissions: Vec<Submission<P>>,
    ) -> Result<Vec<SubmitOutcome>, EventsError> {
        let shared = &self.inner.shared;
        let now = Instant::now();
        let mut events = Vec::with_capacity(submissions.len());
        let mut entries = Vec::with_capacity(submissions.len());
        for s in submissions {
            let payload =
                shared
                    .codec
                    .encode(&s.payload)
                    .map_err(|message| EventsError::Codec {
                        event_id: s.id.clone(),
                        message,
                    })?;
            events.push(NewEvent {
                id: s.id.clone(),
                key: s.key.clone(),
                lane: s.lane,
                event_type: s.event_type.clone(),
                payload,
            });
            entries.push(Entry {
                seq: 0,
                epoch: shared.epoch.load(Ordering::SeqCst),
                counters: shared.metrics.type_counters(&s.event_type),
                id: s.id,
                key: s.key,
                lane: s.lane,
                payload: Box::new(s.payload),
                ingested: now,
                failures: 0,
                not_before: None,
                waiting_out: false,
            });
        }
        let admitted = shared.reserve(&entries);
        let refused = entries.len() - admitted;
        for e in &entries[admitted..] {
            shared
                .metrics
                .count(e.lane.index(), &e.counters, Count::Refused);
        }
        let retry_after = (refused > 0).then(|| shared.retry_after(refused));
        entries.truncate(admitted);
        events.truncate(admitted);
        let mut outcomes = Vec::with_capacity(admitted + refused);
        if admitted > 0 {
            let (reply, response) = oneshot::channel();
            let lanes: Vec<Lane> = entries.iter().map(|e| e.lane).collect();
            let request = AppendRequest {
                entries,
                events,
                reply,
            };
            let sent = match self
                .inner
                .appends
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
            {
                Some(appends) => appends.send(request).is_ok(),
                None => false,
            };
            let result = if sent {
                response.await.map_err(|_| EventsError::Closed)?
            } else {
                Err(String::new())
            };
            let appended = match result {
                Ok(appended) => appended,
                Err(message) => {
                    let mut scheduler = shared.lock();
                    for lane in lanes {
                        scheduler.release(lane);
                    }
                    return Err(if message.is_empty() {
                        EventsError::Closed
                    } else {
                        EventsError::Append(message)
                    });
                }
            };
            outcomes.extend(appended.into_iter().map(|o| match o {
                AppendOutcome::Appended { seq } => SubmitOutcome::Accepted { seq },
                AppendOutcome::Duplicate => SubmitOutcome::Duplicate,
            }));
        }
        if let Some(retry_after) = retry_after {
            shared.metrics.backpressure.store(true, Ordering::Relaxed);
            outcomes.extend((0..refused).map(|_| SubmitOutcome::Refused { retry_after }));
        } else if admitted > 0 {
            shared.metrics.backpressure.store(false, Ordering::Relaxed);
        }
        Ok(outcomes)
    }

    /// Makes the dead letters matching `filter` pending again and schedules
    /// them, bypassing backpressure; returns how many. With a lease, the
    /// holder takes them from the log like any new event.
    pub async fn replay_dead_letters(&self, filter: DeadLetterFilter) -> Result<u64, EventsError> {
        let shared = &self.inner.shared;
        let events = shared.log.replay_dead_letters(filter).await?;
        let n = events.len() as u64;
        if shared.lease.is_none() {
            shared.schedule_stored(events).await?;
        }
        Ok(n)
    }

    /// The apply lease this pipeline applies under, if any: its
    /// [token](ApplyLease::token) fences the apply step's own writes.
    pub fn lease(&self) -> Option<&ApplyLease> {
        self.inner.shared.lease.as_ref()
    }

    /// The log the pipeline runs on, for the dead-letter operations that
    /// need no scheduling: list, inspect, purge, counts.
    pub fn log(&self) -> &Arc<dyn EventLog> {
        &self.inner.shared.log
    }

    /// The pipeline's metrics now.
    pub fn metrics(&self) -> MetricsSnapshot {
        let shared = &self.inner.shared;
        let depth = shared.lock().depth();
        shared.metrics.snapshot(depth, shared.config.workers)
    }

    /// Stops taking events, lets every worker finish the event it is
    /// applying, and writes all acknowledgements. Events not yet applied stay
    /// pending in the log and are applied by the next pipeline on this log.
    pub async fn shutdown(&self) -> Result<(), EventsError> {
        let shared = &self.inner.shared;
        self.inner
            .appends
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let tasks = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(tasks) = tasks else {
            return Ok(());
        };
        if let Some(follower) = tasks.follower {
            follower.abort();
            let _ = follower.await;
        }
        let _ = tasks.appender.await;
        shared.stopping.store(true, Ordering::SeqCst);
        shared.wake.notify_waiters();
        for worker in tasks.workers {
            let _ = worker.await;
        }
        let (flushed, done) = oneshot::channel();
        if shared.acks.send(Ack::Flush(flushed)).is_ok() {
            let _ = done.await;
        }
        tasks.acker.abort();
        match &shared.lease {
            Some(lease) => lease.release().await,
            None => Ok(()),
        }
    }
}

impl<P: Send + Sync + 'static> Shared<P> {
    fn lock(&self) -> MutexGuard<'_, Scheduler<P>> {
        self.scheduler.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves room for the longest admissible prefix of `entries`; returns its length.
    fn reserve(&self, entries: &[Entry<P>]) -> usize {
        let high_water = self.config.high_water_mark();
        let mut scheduler = self.lock();
        entries
            .iter()
            .take_while(|e| scheduler.try_reserve(e.lane, high_water, self.config.lane_capacity))
            .count()
    }

    /// How long `refused` events should wait: the time the workers need, at
    /// the last second's throughput, to drain the excess over the high-water mark.
    fn retry_after(&self, refused: usize) -> Duration {
        let excess = (self.lock().occupied() + refused)
            .saturating_sub(self.config.high_water_mark())
            .max(1);
        let rate = self.metrics.throughput();
        if rate == 0.0 {
            // No complete second measured yet (start-up, or nothing draining):
            // no basis for an estimate, so the shortest wait.
            return self.config.retry_after_min;
        }
        Duration::from_secs_f64(excess as f64 / rate)
            .clamp(self.config.retry_after_min, self.config.retry_after_max)
    }

    /// Schedules every pending event of the log, in log order.
    async fn recover(&self) -> Result<(), EventsError> {
        let mut after = 0;
        loop {
            let page = self.log.pending(after, RECOVERY_PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.seq;
            self.schedule_stored(page).await?;
        }
    }

    /// Schedules events read back from the log; payloads that no longer
    /// decode go to the dead letters.
    async fn schedule_stored(&self, events: Vec<StoredEvent>) -> Result<(), EventsError> {
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut entries = Vec::with_capacity(events.len());
        for stored in events {
            let payload = match self.codec.decode(&stored.event.payload) {
                Ok(p) => p,
                Err(e) => {
                    let error = format!("payload does not decode: {e}");
                    self.log.move_to_dead_letters(stored.seq, error).await?;
                    continue;
                }
            };
            let age = wall.duration_since(stored.enqueued_at).unwrap_or_default();
            let not_before = stored
                .next_attempt_at
                .map(|t| now + t.duration_since(wall).unwrap_or_default());
            entries.push(Entry {
                seq: stored.seq,
                epoch: self.epoch.load(Ordering::SeqCst),
                counters: self.metrics.type_counters(&stored.event.event_type),
                id: stored.event.id,
                key: stored.event.key,
                lane: stored.event.lane,
                payload: Box::new(payload),
                ingested: now.checked_sub(age).unwrap_or(now),
                failures: stored.attempts,
                not_before,
                waiting_out: false,
            });
        }
        let mut scheduler = self.lock();
        for entry in entries {
            self.metrics
                .count(entry.lane.index(), &entry.counters, Count::Accepted);
            scheduler.insert(entry, now);
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Whether `entry` was scheduled before the lease was last taken or lost.
    fn stale(&self, entry: &Entry<P>) -> bool {
        entry.epoch != self.epoch.load(Ordering::SeqCst)
    }

    /// Applies one event and settles, retries or dead-letters it. An event
    /// scheduled under a lease since lost is left to the next holder.
    async fn apply(&self, entry: Entry<P>) {
        if self.stale(&entry) {
            return;
        }
        let started = Instant::now();
        let result = AssertUnwindSafe(self.handler.apply(&entry.payload))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(HandlerError::Permanent("the handler panicked".into())));
        self.conclude(entry, result, started).await;
    }

    /// Applies several events of different keys with one
    /// [`Handler::apply_batch`] call, then concludes each on its own. After a
    /// panic, each event is applied again alone.
    async fn apply_many(&self, entries: Vec<Entry<P>>) {
        let entries: Vec<Entry<P>> = entries.into_iter().filter(|e| !self.stale(e)).collect();
        let started = Instant::now();
        let payloads: Vec<&P> = entries.iter().map(|e| &*e.payload).collect();
        let results = AssertUnwindSafe(self.handler.apply_batch(&payloads))
            .catch_unwind()
            .await;
        drop(payloads);
        match results {
            Ok(results) if results.len() == entries.len() => {
                for (entry, result) in entries.into_iter().zip(results) {
                    self.conclude(entry, result, started).await;
                }
            }
            _ => {
                tracing::warn!(
                    events = entries.len(),
                    "a batch apply panicked or miscounted; applying its events one by one"
                );
                for entry in entries {
                    self.apply(entry).await;
                }
            }
        }
    }

    /// Settles, retries or dead-letters an applied event by its result.
    async fn conclude(
        &self,
        mut entry: Entry<P>,
        result: Result<(), HandlerError>,
        started: Instant,
    ) {
        let lane = entry.lane.index();
        let finished = Instant::now();
        if self.stale(&entry) {
            return;
        }
        let error = match result {
            Ok(()) => {
                self.metrics.count(lane, &entry.counters, Count::Applied);
                self.metrics.record_applied(
                    finished - started,
                    finished.saturating_duration_since(entry.ingested),
                );
                let _ = self.acks.send(Ack::Applied(entry.seq));
                self.settle(&entry);
                self.release_waiting();
                return;
            }
            Err(e) => e,
        };
        self.metrics.count(lane, &entry.counters, Count::Failed);
        entry.failures += 1;
        let retry = match error {
            HandlerError::Unavailable(_) => true,
            HandlerError::Transient(_) => entry.failures < self.config.max_attempts,
            HandlerError::Permanent(_) => false,
        };
        if retry {
            let ceiling = self.config.backoff_ceiling(entry.failures);
            let delay = ceiling.mul_f64(
                self.rng
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .random_range(0.0..=1.0),
            );
            let at = SystemTime::now() + delay;
            if let Err(e) = self
                .log
                .record_failure(entry.seq, error.message().to_owned(), at)
                .await
            {
                tracing::warn!(event_id = %entry.id, error = %e, "could not record a failed attempt");
            }
            tracing::debug!(event_id = %entry.id, attempt = entry.failures, ?delay, %error, "event failed; retrying");
            self.metrics.count(lane, &entry.counters, Count::Retried);
            entry.not_before = Some(Instant::now() + delay);
            entry.waiting_out = matches!(error, HandlerError::Unavailable(_));
            if self.stale(&entry) {
                return;
            }
            let waiting_out = entry.waiting_out;
            let mut scheduler = self.lock();
            scheduler.retry(entry, Instant::now());
            if waiting_out {
                // Set once the entry is in the scheduler, so a success after
                // this releases it.
                self.waiting_out.store(true, Ordering::SeqCst);
            }
            drop(scheduler);
            self.wake.notify_one();
        } else {
            tracing::warn!(event_id = %entry.id, attempts = entry.failures, %error, "event moved to the dead letters");
            if let Err(e) = self
                .log
                .move_to_dead_letters(entry.seq, error.message().to_owned())
                .await
            {
                tracing::error!(event_id = %entry.id, error = %e, "could not move an event to the dead letters; it stays pending");
            }
            self.metrics
                .count(lane, &entry.counters, Count::DeadLettered);
            self.settle(&entry);
        }
    }

    /// An event applied: whatever was unavailable is back, so the events
    /// waiting it out are retried now rather than after their backoff,
    /// which may have grown to a minute during a long outage.
    fn release_waiting(&self) {
        if self.waiting_out.swap(false, Ordering::SeqCst) && self.lock().release_waiting() {
            self.wake.notify_waiters();
        }
    }

    fn settle(&self, entry: &Entry<P>) {
        if self.lock().settle(&entry.key, entry.lane, Instant::now()) {
            self.wake.notify_one();
        }
    }
}

/// A worker: applies ready events until the pipeline stops.
async fn work<P: Send + Sync + 'static>(shared: Arc<Shared<P>>) {
    loop {
        let notified = shared.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let next = shared.lock().next(Instant::now());
        match next {
            Next::Run(entry) => {
                shared.metrics.busy_workers.fetch_add(1, Ordering::Relaxed);
                let batch_max = shared.config.apply_batch_max;
                if batch_max > 1 {
                    let mut entries = vec![entry];
                    {
                        let mut scheduler = shared.lock();
                        let now = Instant::now();
                        while entries.len() < batch_max {
                            match scheduler.next(now) {
                                Next::Run(more) => entries.push(more),
                                Next::Wait(_) => break,
                            }
                        }
                    }
                    if entries.len() == 1 {
                        shared.apply(entries.remove(0)).await;
                    } else {
                        shared.apply_many(entries).await;
                    }
                } else {
                    shared.apply(entry).await;
                }
                shared.metrics.busy_workers.fetch_sub(1, Ordering::Relaxed);
            }
            Next::Wait(Some(due)) => {
                tokio::select! {
                    () = &mut notified => {}
                    () = tokio::time::sleep_until(due.into()) => {}
                }
            }
            Next::Wait(None) => notified.await,
        }
    }
}

/// The follower of a pipeline with a lease: waits for the lease, claims the
/// events a previous holder left, follows new appends while the lease is
/// held, and forgets its scheduled events when it is lost.
async fn follow<P: Send + Sync + 'static>(shared: Arc<Shared<P>>, lease: ApplyLease) {
    let mut held = lease.subscribe();
    loop {
        let token = loop {
            if let Some(token) = *held.borrow_and_update() {
                break token;
            }
            if held.changed().await.is_err() {
                return;
            }
        };
        shared.epoch.fetch_add(1, Ordering::SeqCst);
        tracing::info!(token, "holding the apply lease: taking over pending events");
        let result = shared.lead(&mut held, token).await;
        shared.epoch.fetch_add(1, Ordering::SeqCst);
        shared.lock().clear();
        match result {
            Ok(()) | Err(EventsError::LeaseLost { .. }) => {
                tracing::info!(token, "stopped applying: the apply lease is lost");
            }
            Err(e) => {
                tracing::error!(token, error = %e, "stopped applying on an error; taking over again");
                tokio::time::sleep(FOLLOW_PAUSE * 100).await;
            }
        }
    }
}

impl<P: Send + Sync + 'static> Shared<P> {
    /// Applies as the lease holder until the token changes.
    async fn lead(
        &self,
        held: &mut watch::Receiver<Option<u64>>,
        token: u64,
    ) -> Result<(), EventsError> {
        let mut after = 0;
        loop {
            let page = self.log.claim_pending(after, RECOVERY_PAGE).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = last.seq;
            self.schedule_stored(page).await?;
        }
        while *held.borrow() == Some(token) {
            let room = self
                .config
                .capacity
                .saturating_sub(self.lock().occupied())
                .min(FOLLOW_PAGE);
            if room == 0 {
                tokio::time::sleep(FOLLOW_PAUSE).await;
                continue;
            }
            tokio::select! {
                changed = held.changed() => if changed.is_err() {
                    return Ok(());
                },
                events = self.log.follow(room, FOLLOW_WAIT) => self.schedule_stored(events?).await?,
            }
        }
        Ok(())
    }
}

/// The appender: writes admitted events to the log one group at a time, so
/// events reach the scheduler in log order, and many submissions share one
/// durable write.
async fn append<P: Send + Sync + 'static>(
    shared: Arc<Shared<P>>,
    mut requests: mpsc::UnboundedReceiver<AppendRequest<P>>,
) {
    let mut group = Vec::new();
    while requests.recv_many(&mut group, APPEND_GROUP).await > 0 {
        let events: Vec<NewEvent> = group
            .iter_mut()
            .flat_map(|r| std::mem::take(&mut r.events))
            .collect();
        let result = shared.log.append(events).await;
        let mut outcomes = match result {
            Ok(outcomes) => outcomes.into_iter(),
            Err(e) => {
                let message = e.to_string();
                for r in group.drain(..) {
                    let _ = r.reply.send(Err(message.clone()));
                }
                continue;
            }
        };
        let now = Instant::now();
        let mut replies = Vec::with_capacity(group.len());
        {
            let mut scheduler = shared.lock();
            for request in group.drain(..) {
                let mut results = Vec::with_capacity(request.entries.len());
                for mut entry in request.entries {
                    let outcome = outcomes.next().unwrap_or(AppendOutcome::Duplicate);
                    match outcome {
                        // A lease holder takes its own appends from the log too.
                        AppendOutcome::Appended { .. } if shared.lease.is_some() => {
                            scheduler.release(entry.lane);
                        }
                        AppendOutcome::Appended { seq } => {
                            entry.seq = seq;
                            shared.metrics.count(
                                entry.lane.index(),
                                &entry.counters,
                                Count::Accepted,
                            );
                            scheduler.admit(entry, now);
                            shared.wake.notify_one();
                        }
                        AppendOutcome::Duplicate => scheduler.release(entry.lane),
                    }
                    results.push(outcome);
                }
                replies.push((request.reply, results));
            }
        }
        for (reply, results) in replies {
            let _ = reply.send(Ok(results));
        }
    }
}

/// The acknowledger: marks applied events in the log, many per write.
async fn acknowledge(log: Arc<dyn EventLog>, mut acks: mpsc::UnboundedReceiver<Ack>) {
    let mut batch = Vec::new();
    while acks.recv_many(&mut batch, ACK_GROUP).await > 0 {
        let mut seqs = Vec::with_capacity(batch.len());
        let mut flushes = Vec::new();
        for ack in batch.drain(..) {
            match ack {
                Ack::Applied(seq) => seqs.push(seq),
                Ack::Flush(done) => flushes.push(done),
            }
        }
        if !seqs.is_empty() {
            if let Err(e) = log.ack(seqs).await {
                tracing::error!(error = %e, "could not acknowledge applied events; they will be applied again after a restart");
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}
