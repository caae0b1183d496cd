//! Serving the trust metrics: the latest [`TrustTable`] of the live graph,
//! recomputed in the background.
//!
//! Policy:
//!
//! - The first table is computed at start-up, before the service answers.
//! - Afterwards a background task recomputes when the change feed reported
//!   a change (or a reader asked for a fresher table, see
//!   [`TrustService::fresh`]), at most once every [`RECOMPUTE_INTERVAL`]
//!   (2 s), and never sooner than [`COST_FACTOR`] times the duration of the
//!   previous computation after it started. Changes arriving meanwhile are
//!   folded into the next computation.
//! - A computation holds the graph's read lock only while it copies its
//!   inputs (`Graph::trust_snapshot`); the propagation runs without it.
//!   The cost factor keeps recomputation to about a quarter of one core on
//!   graphs where one computation takes longer than half the interval.
//! - After each computation the reputations are fed into the graph
//!   (`Graph::apply_reputations`, under a brief write lock), so conviction
//!   weighs attesters by the latest standing.
//! - Readers take the current table (an `Arc` clone, no lock held while
//!   answering). Every response says when it was computed
//!   (`last_calculated`), so staleness is visible; it is at most the
//!   interval plus one computation.
//!
//! Seeds come from the `trust_seeds` configuration key; when none of them is
//! in the graph, rhiz-graph falls back to the best-connected DIDs and the
//! table says so ([`SeedSource::Fallback`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rhiz_graph::{SeedSource, TrustTable};
use rhiz_protocol::Did;
use tokio::sync::{broadcast, watch, Notify};

use crate::change_feed::{Change, ChangeFeed};
use crate::live_graph::LiveGraph;

/// The shortest time between the starts of two computations.
pub const RECOMPUTE_INTERVAL: Duration = Duration::from_secs(2);

/// A computation starts no sooner than this many times the duration of the
/// previous one after that one started.
pub const COST_FACTOR: u32 = 4;

/// The latest trust table and a way to ask for a fresher one.
#[derive(Debug)]
pub struct TrustService {
    latest: watch::Receiver<Arc<TrustTable>>,
    wanted: Arc<Notify>,
}

impl TrustService {
    /// Computes the first table of `graph` and starts the task that keeps it
    /// current as `changes` reports changes. The task ends when the service
    /// is dropped or the feed closes.
    pub async fn start(graph: Arc<LiveGraph>, changes: &ChangeFeed, seeds: Vec<Did>) -> Arc<Self> {
        let feed = changes.subscribe();
        let seeds: Arc<[Did]> = seeds.into();
        let (table, cost) = match compute(Arc::clone(&graph), Arc::clone(&seeds)).await {
            Ok(first) => first,
            // A panic in the computation is a bug: surface it at start-up.
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        };
        if table.seed_source() == SeedSource::Fallback {
            tracing::warn!(
                configured = seeds.len(),
                "no configured trust seed is in the graph (trust_seeds): the trust metrics use \
                 the best-connected DIDs as seeds, which is not Sybil-resistant"
            );
        }
        let (sender, latest) = watch::channel(table);
        let wanted = Arc::new(Notify::new());
        let service = Arc::new(TrustService {
            latest,
            wanted: Arc::clone(&wanted),
        });
        let task = Recomputer {
            graph,
            seeds,
            sender,
            feed,
            wanted,
            last_start: Instant::now(),
            last_cost: cost,
        };
        tokio::spawn(task.run());
        service
    }

    /// The latest table.
    pub fn current(&self) -> Arc<TrustTable> {
        Arc::clone(&self.latest.borrow())
    }

    /// A table computed from graph version `version` or later: the current
    /// one when it is, else the next one, asked for now and awaited for at
    /// most `within` (the interval still applies). After `within`, the
    /// latest table, however old.
    pub async fn fresh(&self, version: u64, within: Duration) -> Arc<TrustTable> {
        let current = self.current();
        if current.graph_version() >= version {
            return current;
        }
        self.wanted.notify_one();
        let mut latest = self.latest.clone();
        let waited = tokio::time::timeout(within, async {
            latest
                .wait_for(|table| table.graph_version() >= version)
                .await
                .map(|table| Arc::clone(&table))
        })
        .await;
        match waited {
            Ok(Ok(table)) => table,
            _ => self.current(),
        }
    }
}

/// The background task's state.
struct Recomputer {
    graph: Arc<LiveGraph>,
    seeds: Arc<[Did]>,
    sender: watch::Sender<Arc<TrustTable>>,
    feed: broadcast::Receiver<Arc<Change>>,
    wanted: Arc<Notify>,
    last_start: Instant,
    last_cost: Duration,
}

impl Recomputer {
    async fn run(mut self) {
        while self.wait_for_reason().await {
            let earliest = self.last_start + RECOMPUTE_INTERVAL.max(self.last_cost * COST_FACTOR);
            tokio::select! {
                () = tokio::time::sleep_until(earliest.into()) => {}
                () = self.sender.closed() => return,
            }
            // Everything reported so far is in the graph this computation reads.
            loop {
                match self.feed.try_recv() {
                    Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) => {}
                    Err(broadcast::error::TryRecvError::Empty) => break,
                    Err(broadcast::error::TryRecvError::Closed) => return,
                }
            }
            self.last_start = Instant::now();
            match compute(Arc::clone(&self.graph), Arc::clone(&self.seeds)).await {
                Ok((table, cost)) => {
                    tracing::debug!(
                        dids = table.len(),
                        graph_version = table.graph_version(),
                        elapsed_ms = cost.as_millis() as u64,
                        "trust metrics recomputed"
                    );
                    self.last_cost = cost;
                    self.sender.send_replace(table);
                }
                Err(error) => tracing::error!(%error, "the trust metrics computation failed"),
            }
        }
    }

    /// Waits until a change is reported or a reader wants a fresher table;
    /// `false` when the service (the table's only reader) or the feed is
    /// gone.
    async fn wait_for_reason(&mut self) -> bool {
        tokio::select! {
            received = self.feed.recv() => !matches!(received, Err(broadcast::error::RecvError::Closed)),
            () = self.wanted.notified() => true,
            () = self.sender.closed() => false,
        }
    }
}

/// Computes the table of `graph` as of now on the blocking pool, then feeds
/// its reputations into the graph. Returns the table and how long the
/// computation took.
async fn compute(
    graph: Arc<LiveGraph>,
    seeds: Arc<[Did]>,
) -> Result<(Arc<TrustTable>, Duration), tokio::task::JoinError> {
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        // Only the snapshot needs the graph; the propagation runs after the
        // read lock is released, so writers wait for the copy alone.
        let snapshot = graph.read().trust_snapshot(&seeds, Utc::now());
        let table = snapshot.compute();
        let cost = started.elapsed();
        graph.write().apply_reputations(&table);
        (Arc::new(table), cost)
    })
    .await
}
