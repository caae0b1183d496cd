//! Waiting for one event's apply: how a synchronous route (`POST
//! /api/v1/attestations`) turns the asynchronous pipeline into a response.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rhiz_events::HandlerError;
use tokio::sync::oneshot;

use super::Applied;

/// How a watched event ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Applied (or found already applied).
    Applied(Applied),
    /// Failed for good: a rule is broken. The event is in the dead letters.
    Rejected(String),
    /// Not settled within the wait: still pending or being retried.
    TimedOut,
}

/// The senders waiting on each event id.
type Waiting = HashMap<String, Vec<oneshot::Sender<ApplyOutcome>>, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
pub(super) struct Watchers {
    waiting: Mutex<Waiting>,
}

impl Watchers {
    pub(super) fn watch(&self, event_id: &str) -> Watch<'_> {
        let (sender, receiver) = oneshot::channel();
        self.lock()
            .entry(event_id.to_owned())
            .or_default()
            .push(sender);
        Watch {
            watchers: self,
            event_id: event_id.to_owned(),
            receiver,
        }
    }

    /// Tells the watchers of `event_id` how it ended, unless it will be
    /// retried (a transient failure or an outage settles nothing).
    pub(super) fn settle(&self, event_id: &str, result: &Result<Applied, HandlerError>) {
        let outcome = match result {
            Ok(applied) => ApplyOutcome::Applied(*applied),
            Err(HandlerError::Permanent(reason)) => ApplyOutcome::Rejected(reason.clone()),
            Err(HandlerError::Transient(_) | HandlerError::Unavailable(_)) => return,
        };
        let Some(senders) = self.lock().remove(event_id) else {
            return;
        };
        for sender in senders {
            // A watcher that stopped waiting dropped its receiver.
            let _ = sender.send(outcome.clone());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A registration to learn how one event ends; see
/// [`Applier::watch`](super::Applier::watch). Dropping it unregisters.
#[derive(Debug)]
pub struct Watch<'a> {
    watchers: &'a Watchers,
    event_id: String,
    receiver: oneshot::Receiver<ApplyOutcome>,
}

impl Watch<'_> {
    /// Waits at most `timeout` for the event to settle.
    pub async fn wait(mut self, timeout: Duration) -> ApplyOutcome {
        match tokio::time::timeout(timeout, &mut self.receiver).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) | Err(_) => ApplyOutcome::TimedOut,
        }
    }
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        self.receiver.close();
        let mut waiting = self.watchers.lock();
        if let Some(senders) = waiting.get_mut(&self.event_id) {
            senders.retain(|sender| !sender.is_closed());
            if senders.is_empty() {
                waiting.remove(&self.event_id);
            }
        }
    }
}
