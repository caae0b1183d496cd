//! [`ApplyLease`]: one instance at a time applies a shared log's events.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::redis::aio::ConnectionManager;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::log::Keys;
use super::millis;
use super::scripts::{self, Script};
use crate::EventsError;

/// Timing of an [`ApplyLease`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseOptions {
    /// How long the lease outlives its holder's last renewal: the longest an
    /// instance that died holds up applying. Default 10 s.
    pub ttl: Duration,
    /// How often the holder renews; well below `ttl`. Default 3 s.
    pub renew_every: Duration,
    /// How often an instance without the lease tries to take it. Default 1 s.
    pub retry_every: Duration,
}

impl Default for LeaseOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(10),
            renew_every: Duration::from_secs(3),
            retry_every: Duration::from_secs(1),
        }
    }
}

impl LeaseOptions {
    fn validate(&self) -> Result<(), EventsError> {
        let invalid = |field, reason: &str| {
            Err(EventsError::Config {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.ttl < Duration::from_millis(10) {
            return invalid("ttl", "must be at least 10 ms");
        }
        if self.renew_every.is_zero() || self.renew_every * 2 > self.ttl {
            return invalid("renew_every", "must be positive and at most half of `ttl`");
        }
        if self.retry_every.is_zero() {
            return invalid("retry_every", "must be positive");
        }
        Ok(())
    }
}

/// The right to apply a shared log's events, held by one instance at a time.
///
/// A Redis key set with `SET NX PX ttl` holding a **fencing token**, a number
/// that grows with every acquisition (`INCR` of a counter, in the same
/// script). A background task takes the lease when it is free, renews it
/// every `renew_every` (a script that extends the key only if it still
/// holds this token), and gives it up locally as soon as a renewal fails or
/// cannot be confirmed before the key would have expired. The log that made
/// the lease checks the token atomically in every state change (acknowledge,
/// failure, dead letter, claim, read), so a holder that stalled past its TTL
/// cannot change anything once another instance took over: its calls fail
/// with [`EventsError::LeaseLost`]. Its appends still succeed, as any
/// instance's do, but no longer hand it their entries.
///
/// Give it to [`PipelineBuilder::lease`](crate::PipelineBuilder::lease);
/// [`ApplyLease::token`] is there for the apply step to fence its own
/// writes (compare-and-set on the token in the store). Cheap to clone; the
/// task stops when the last clone is dropped, and the key then expires.
#[derive(Clone)]
pub struct ApplyLease {
    inner: Arc<Inner>,
}

struct Inner {
    state: Arc<watch::Sender<Option<u64>>>,
    conn: ConnectionManager,
    lease_key: String,
    release: Script,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for ApplyLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyLease")
            .field("key", &self.inner.lease_key)
            .field("token", &self.token())
            .finish()
    }
}

impl ApplyLease {
    /// Starts the task competing for the lease. Must run inside a tokio runtime.
    pub(super) fn start(
        conn: ConnectionManager,
        keys: &Keys,
        options: LeaseOptions,
    ) -> Result<Self, EventsError> {
        options.validate()?;
        let state = Arc::new(watch::Sender::new(None));
        let keeper = Keeper {
            state: Arc::clone(&state),
            conn: conn.clone(),
            lease_key: keys.lease.clone(),
            fencing_key: keys.fencing.clone(),
            acquire: Script::new(scripts::ACQUIRE),
            renew: Script::new(scripts::RENEW),
            options,
        };
        let task = tokio::spawn(keeper.run());
        Ok(Self {
            inner: Arc::new(Inner {
                state,
                conn,
                lease_key: keys.lease.clone(),
                release: Script::new(scripts::RELEASE),
                task: Mutex::new(Some(task)),
            }),
        })
    }

    /// The fencing token while this instance holds the lease.
    pub fn token(&self) -> Option<u64> {
        *self.inner.state.borrow()
    }

    /// Whether this instance holds the lease now.
    pub fn is_held(&self) -> bool {
        self.token().is_some()
    }

    /// Follows the token: `Some` while held, `None` otherwise.
    pub fn subscribe(&self) -> watch::Receiver<Option<u64>> {
        self.inner.state.subscribe()
    }

    /// Waits until this instance holds the lease; returns its token.
    pub async fn acquired(&self) -> u64 {
        let mut state = self.subscribe();
        loop {
            if let Some(token) = *state.borrow_and_update() {
                return token;
            }
            if state.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Stops competing and gives the lease up at once if held, so another
    /// instance takes over without waiting for the TTL (a clean shutdown).
    pub async fn release(&self) -> Result<(), EventsError> {
        let task = self
            .inner
            .task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        let Some(token) = self.inner.state.send_replace(None) else {
            return Ok(());
        };
        self.inner
            .release
            .run::<u64, _>(
                &mut self.inner.conn.clone(),
                &[&self.inner.lease_key],
                &token,
                "releasing the apply lease",
            )
            .await
            .map(drop)
    }
}

/// The background task: takes, renews and gives up the lease.
struct Keeper {
    state: Arc<watch::Sender<Option<u64>>>,
    conn: ConnectionManager,
    lease_key: String,
    fencing_key: String,
    acquire: Script,
    renew: Script,
    options: LeaseOptions,
}

impl Keeper {
    async fn run(mut self) {
        let ttl = millis(self.options.ttl);
        let mut valid_until = Instant::now();
        loop {
            let held = *self.state.borrow();
            match held {
                None => {
                    let sent = Instant::now();
                    let keys = [self.lease_key.as_str(), self.fencing_key.as_str()];
                    let attempt = self.acquire.run::<u64, _>(
                        &mut self.conn,
                        &keys,
                        &ttl,
                        "acquiring the apply lease",
                    );
                    // Patient enough not to give up on a script Redis may
                    // already have run (the lease would then sit unused
                    // until it expires).
                    match tokio::time::timeout(self.options.ttl / 2, attempt).await {
                        Ok(Ok(token)) if token > 0 => {
                            valid_until = sent + self.options.ttl;
                            self.state.send_replace(Some(token));
                            tracing::info!(token, "acquired the apply lease");
                            continue;
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "could not try for the apply lease")
                        }
                        _ => {}
                    }
                    tokio::time::sleep(self.options.retry_every).await;
                }
                Some(token) => {
                    tokio::time::sleep(self.options.renew_every).await;
                    let sent = Instant::now();
                    let (keys, args) = ([self.lease_key.as_str()], (token, ttl));
                    let renewal = self.renew.run::<u64, _>(
                        &mut self.conn,
                        &keys,
                        &args,
                        "renewing the apply lease",
                    );
                    match tokio::time::timeout(self.options.renew_every, renewal).await {
                        Ok(Ok(1)) => valid_until = sent + self.options.ttl,
                        Ok(Ok(_)) => {
                            tracing::warn!(
                                token,
                                "lost the apply lease: another instance holds it or it expired"
                            );
                            self.state.send_replace(None);
                        }
                        failed => {
                            if let Ok(Err(e)) = failed {
                                tracing::warn!(token, error = %e, "could not renew the apply lease");
                            }
                            if Instant::now() + self.options.renew_every >= valid_until {
                                tracing::warn!(token, "giving up the apply lease: it could not be renewed before expiring");
                                self.state.send_replace(None);
                            }
                        }
                    }
                }
            }
        }
    }
}
