//! Durable event log and apply pipeline, generic over the event payload.
//!
//! An [`EventLog`] keeps events durable from the moment they are accepted
//! until they are applied or given up on (the dead-letter queue). Two
//! implementations are embedded, each written by one thread with group
//! commit: [`FileEventLog`], an append-only file of checksummed frames with
//! its state in memory (the faster, and rhiz's default), and
//! [`SqliteEventLog`], a SQLite file in WAL mode with `synchronous=FULL`,
//! which keeps the ids of applied events on disk.
//!
//! A [`Pipeline`] sits on a log and applies its events with a caller's
//! [`Handler`]:
//!
//! - four priority [`Lane`]s with weighted scheduling, so no lane starves;
//! - a worker pool; events with the same partition key are applied one at a
//!   time, in log order, even while one of them waits for a retry;
//! - backpressure in one place ([`Pipeline::submit_batch`]): above a share of
//!   capacity, or when a lane is full, events are refused with a
//!   `retry_after`, never dropped;
//! - retries with exponential backoff and full jitter, then dead letters that
//!   can be listed, replayed and purged; every event keeps its last
//!   [`FAILED_ATTEMPTS_KEPT`] failed attempts, each with its time and error
//!   ([`StoredEvent::failed_attempts`]);
//! - recovery: a new pipeline applies every event its log still holds as pending;
//! - idempotency by event id: a repeated id is reported as a duplicate;
//! - [metrics](MetricsSnapshot) for every step.
//!
//! For several instances of one service, [`RedisStreamsEventLog`] keeps the
//! log in a Redis stream that every instance appends to, and an
//! [`ApplyLease`] (a fenced Redis lease) lets one instance at a time apply,
//! with takeover when it dies: see [`PipelineBuilder::lease`].
//!
//! Delivery is at least once: an event applied just before a crash, whose
//! acknowledgement had not reached the disk, is applied again on recovery.
//! Handlers that must apply exactly once in effect are idempotent.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use rhiz_events::{
//!     async_trait, FileEventLog, FileLogOptions, Handler, HandlerError, JsonCodec, Lane,
//!     Pipeline, Submission, SubmitOutcome,
//! };
//!
//! struct Print;
//!
//! #[async_trait]
//! impl Handler<String> for Print {
//!     async fn apply(&self, event: &String) -> Result<(), HandlerError> {
//!         println!("applied {event}");
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), rhiz_events::EventsError> {
//! let dir = tempfile::tempdir().unwrap();
//! let log = FileEventLog::open(dir.path().join("events"), FileLogOptions::default()).await?;
//! let pipeline = Pipeline::builder(Arc::new(log), Arc::new(Print), Arc::new(JsonCodec::new()))
//!     .build()
//!     .await?;
//!
//! let outcome = pipeline
//!     .submit(Submission {
//!         id: "event-1".into(),
//!         key: "at://did:plc:abc/net.rhiz.relationship.record/1".into(),
//!         lane: Lane::Normal,
//!         event_type: "relationship.created".into(),
//!         payload: "hello".to_string(),
//!     })
//!     .await?;
//! assert!(matches!(outcome, SubmitOutcome::Accepted { .. }));
//! pipeline.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod codec;
mod config;
mod error;
mod event;
mod file_log;
mod handler;
mod history;
mod log;
mod metrics;
mod pipeline;
mod redis;
mod scheduler;
mod sqlite;
mod writer;

pub use self::redis::{ApplyLease, LeaseOptions, RedisLogOptions, RedisStreamsEventLog};
pub use async_trait::async_trait;
pub use codec::{Codec, JsonCodec};
pub use config::PipelineConfig;
pub use error::EventsError;
pub use event::{
    AppendOutcome, DeadLetterFilter, EventState, Lane, LogCounts, NewEvent, StoredEvent,
};
pub use file_log::{FileEventLog, FileLogOptions};
pub use handler::{Handler, HandlerError};
pub use history::{FailedAttempt, FAILED_ATTEMPTS_KEPT};
pub use log::EventLog;
pub use metrics::{CounterSnapshot, MetricsSnapshot};
pub use pipeline::{Pipeline, PipelineBuilder, Submission, SubmitOutcome};
pub use rhiz_metrics::HistogramSnapshot;
pub use sqlite::{SqliteEventLog, SqliteLogOptions};
