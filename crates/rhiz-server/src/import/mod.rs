//! `rhiz import FILE`: events from a file through the same pipeline as
//! every other write.
//!
//! - **Offline** (default): opens the storage `rhiz serve` uses (same
//!   configuration: `--data-dir`, `--database-url`), takes the data
//!   directory's lock (so it refuses to run beside a server on it), submits
//!   every valid line to the embedded pipeline, waits until all of them are
//!   applied or dead-lettered, and stops.
//! - **Remote** (`--server URL`): posts batches to a running server's
//!   `POST /internal/events/batch` with the internal key.
//!
//! Either way, a line that breaks a rule is reported with its number and
//! skipped; refused events (backpressure) are offered again, in order, after
//! the `retry_after` the pipeline gives; a summary ends the run.

mod remote;
mod source;

use std::num::NonZeroUsize;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use rhiz_events::async_trait;
use rhiz_events::{Pipeline, SubmitOutcome};
use rhiz_protocol::Event;
use tokio::sync::mpsc;

pub use remote::RemoteSink;
pub use source::{Format, Item, Source};

/// Events per request to a server: its default `ingest_batch_max`.
pub const DEFAULT_BATCH: NonZeroUsize = NonZeroUsize::new(1_000).unwrap();
/// Invalid lines printed in full; the rest are only counted.
const MAX_PRINTED_ERRORS: u64 = 1_000;
/// Chunks parsed ahead of the one being submitted.
const CHUNKS_AHEAD: usize = 2;

/// Where imported events go.
#[async_trait]
pub trait Sink: Send {
    /// Submits events in order; one outcome per event.
    async fn submit(&mut self, events: &[Event]) -> anyhow::Result<Vec<Outcome>>;
}

/// What became of one submitted event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Durably accepted.
    Accepted,
    /// Seen before.
    Duplicate,
    /// Backpressure: offer it again after this long.
    Refused(Duration),
    /// The server rejected it (remote only; a rule it checks).
    Rejected(String),
}

/// The embedded pipeline of an offline import.
pub struct PipelineSink<'a>(pub &'a Pipeline<Event>);

#[async_trait]
impl Sink for PipelineSink<'_> {
    async fn submit(&mut self, events: &[Event]) -> anyhow::Result<Vec<Outcome>> {
        let submissions = events
            .iter()
            .cloned()
            .map(crate::ingest::submission)
            .collect();
        let outcomes = self.0.submit_batch(submissions).await?;
        Ok(outcomes
            .into_iter()
            .map(|outcome| match outcome {
                SubmitOutcome::Accepted { .. } => Outcome::Accepted,
                SubmitOutcome::Duplicate => Outcome::Duplicate,
                SubmitOutcome::Refused { retry_after } => Outcome::Refused(retry_after),
            })
            .collect())
    }
}

/// The counts an import ends with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Lines read.
    pub lines: u64,
    /// Events durably accepted.
    pub accepted: u64,
    /// Events seen before.
    pub duplicates: u64,
    /// Lines that broke a rule (locally or at the server).
    pub invalid: u64,
    /// Lines that are not Rhiz events.
    pub skipped: u64,
    /// Times a refused event was offered again.
    pub retries: u64,
}

impl Summary {
    /// One line for the terminal.
    pub fn describe(&self, elapsed: Duration) -> String {
        let rate = self.accepted as f64 / elapsed.as_secs_f64().max(1e-9);
        format!(
            "{} lines: {} accepted, {} duplicates, {} invalid, {} skipped, {} resubmissions after backpressure; {:.1} s, {:.0} events/s",
            self.lines,
            self.accepted,
            self.duplicates,
            self.invalid,
            self.skipped,
            self.retries,
            elapsed.as_secs_f64(),
            rate
        )
    }
}

/// Reads `source` and submits every valid event to `sink`, `batch` at a
/// time, printing invalid lines to stderr with their numbers and drawing a
/// progress bar (events/s and ETA) when stderr is a terminal.
pub async fn run(
    source: Source,
    batch: NonZeroUsize,
    sink: &mut dyn Sink,
) -> anyhow::Result<Summary> {
    let bytes_read = Arc::clone(&source.bytes_read);
    let progress = ProgressBar::new(source.total_bytes);
    progress.set_style(ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {msg} ({elapsed}, ETA {eta})",
    )?);
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut chunks = read_ahead(source, batch.get());
    while let Some(chunk) = chunks.recv().await {
        let mut events = Vec::with_capacity(chunk.len());
        for (line, item) in chunk {
            summary.lines = summary.lines.max(line);
            match item {
                Item::Event(event) => events.push((line, *event)),
                Item::Skipped => summary.skipped += 1,
                Item::Invalid(message) => report_invalid(&progress, &mut summary, line, &message),
            }
        }
        submit_in_order(sink, events, &mut summary, &progress).await?;
        progress.set_position(bytes_read.load(Ordering::Relaxed));
        let rate = summary.accepted as f64 / started.elapsed().as_secs_f64().max(1e-9);
        progress.set_message(format!("{} events, {rate:.0}/s", summary.accepted));
    }
    progress.finish_and_clear();
    Ok(summary)
}

/// Reads and parses `source` in chunks of `batch` lines on a blocking
/// thread, a few chunks ahead: parsing the next lines overlaps submitting
/// these. The thread stops at the end of the file or when the receiver is
/// dropped.
fn read_ahead(mut source: Source, batch: usize) -> mpsc::Receiver<Vec<(u64, Item)>> {
    let (chunks, receiver) = mpsc::channel(CHUNKS_AHEAD);
    tokio::task::spawn_blocking(move || loop {
        let chunk = source.next_chunk(batch);
        if chunk.is_empty() || chunks.blocking_send(chunk).is_err() {
            break;
        }
    });
    receiver
}

/// Submits `events`; refused ones are offered again after the delay the
/// sink gives, keeping their order.
async fn submit_in_order(
    sink: &mut dyn Sink,
    events: Vec<(u64, Event)>,
    summary: &mut Summary,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    let (mut lines, mut events): (Vec<u64>, Vec<Event>) = events.into_iter().unzip();
    while !events.is_empty() {
        let outcomes = sink.submit(&events).await?;
        let mut wait = None;
        let mut refused = Vec::new();
        for ((outcome, line), event) in outcomes.into_iter().zip(lines).zip(events) {
            match outcome {
                Outcome::Accepted => summary.accepted += 1,
                Outcome::Duplicate => summary.duplicates += 1,
                Outcome::Rejected(message) => report_invalid(progress, summary, line, &message),
                Outcome::Refused(after) => {
                    wait = Some(wait.map_or(after, |w: Duration| w.max(after)));
                    refused.push((line, event));
                }
            }
        }
        if let Some(wait) = wait {
            summary.retries += refused.len() as u64;
            tokio::time::sleep(wait.min(Duration::from_secs(5))).await;
        }
        (lines, events) = refused.into_iter().unzip();
    }
    Ok(())
}

fn report_invalid(progress: &ProgressBar, summary: &mut Summary, line: u64, message: &str) {
    summary.invalid += 1;
    if summary.invalid <= MAX_PRINTED_ERRORS {
        progress.suspend(|| eprintln!("line {line}: {message}"));
    } else if summary.invalid == MAX_PRINTED_ERRORS + 1 {
        progress.suspend(|| eprintln!("(further invalid lines are counted, not printed)"));
    }
}

/// An offline import: runs `source` into `pipeline`, then waits until
/// every accepted event is applied or dead-lettered.
pub async fn run_offline(
    pipeline: &Pipeline<Event>,
    source: Source,
    batch: NonZeroUsize,
) -> anyhow::Result<Summary> {
    let summary = run(source, batch, &mut PipelineSink(pipeline)).await?;
    while pipeline.metrics().events_in_queue > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(summary)
}
