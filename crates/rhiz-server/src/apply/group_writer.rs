//! Group commit of the apply step's store writes.
//!
//! Applies of different records run concurrently (the pipeline hands the
//! applier batches of events with distinct keys); each sends its one write
//! here and waits. One task commits the writes waiting, up to
//! [`MAX_GROUP`], in one transaction ([`Store::write_batch`]), so a batch of
//! events costs one commit rather than one each. Applies run under
//! [`GroupWriter::track`] are counted: while some of them are still reading
//! (and may yet write), the task waits for them, so a batch's writes land in
//! one group instead of trickling in one at a time. A write's caller learns its own outcome only after the
//! commit, so nothing is published before it is durable in the store. When
//! a group fails, its writes are retried one by one, so one bad write
//! cannot fail the others.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rhiz_events::HandlerError;
use rhiz_protocol::AtUri;
use rhiz_store::{Store, StoreError, StoreWrite, StoredAttestation, StoredRelationship};
use tokio::sync::{mpsc, oneshot, Notify};

/// Most writes committed in one transaction.
pub(crate) const MAX_GROUP: usize = 512;

/// A write the apply step asks for (the owned form of [`StoreWrite`]).
#[derive(Debug)]
pub(crate) enum Write {
    /// Insert or replace a relationship.
    Relationship(StoredRelationship),
    /// Delete a relationship.
    DeleteRelationship(AtUri),
    /// Insert or replace an attestation.
    Attestation(StoredAttestation),
    /// Delete an attestation.
    DeleteAttestation(AtUri),
}

impl Write {
    fn as_store_write(&self) -> StoreWrite<'_> {
        match self {
            Write::Relationship(rel) => StoreWrite::UpsertRelationship(rel),
            Write::DeleteRelationship(uri) => StoreWrite::DeleteRelationship(uri),
            Write::Attestation(att) => StoreWrite::UpsertAttestation(att),
            Write::DeleteAttestation(uri) => StoreWrite::DeleteAttestation(uri),
        }
    }
}

type Reply = oneshot::Sender<Result<bool, StoreError>>;

/// The longest the task waits for tracked applies still reading.
const LINGER: Duration = Duration::from_millis(20);

/// The sending side; cheap to share.
#[derive(Debug, Clone)]
pub(crate) struct GroupWriter {
    requests: mpsc::UnboundedSender<(Write, Reply)>,
    tracked: Arc<Tracked>,
}

/// Applies running under [`GroupWriter::track`], and a signal when one ends.
#[derive(Debug, Default)]
struct Tracked {
    running: AtomicUsize,
    ended: Notify,
}

impl GroupWriter {
    /// Starts the committing task on `store`. It ends when every sender is dropped.
    pub(crate) fn start(store: Arc<dyn Store>) -> Self {
        let (requests, receiver) = mpsc::unbounded_channel();
        let tracked = Arc::new(Tracked::default());
        tokio::spawn(commit_groups(store, receiver, Arc::clone(&tracked)));
        Self { requests, tracked }
    }

    /// Runs one apply of a batch, counted, so the group waits for its write.
    pub(crate) async fn track<F: Future>(&self, apply: F) -> F::Output {
        struct Running<'a>(&'a Tracked);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.running.fetch_sub(1, Ordering::SeqCst);
                self.0.ended.notify_one();
            }
        }
        self.tracked.running.fetch_add(1, Ordering::SeqCst);
        let _running = Running(&self.tracked);
        apply.await
    }

    /// Commits `write` (with whatever else is waiting); whether it changed
    /// a row. Store errors are classified as the apply step's are.
    pub(crate) async fn write(&self, write: Write) -> Result<bool, HandlerError> {
        let (reply, outcome) = oneshot::channel();
        let stopped = || HandlerError::Transient("the store writer has stopped".to_owned());
        self.requests.send((write, reply)).map_err(|_| stopped())?;
        outcome
            .await
            .map_err(|_| stopped())?
            .map_err(super::store_error)
    }
}

async fn commit_groups(
    store: Arc<dyn Store>,
    mut receiver: mpsc::UnboundedReceiver<(Write, Reply)>,
    tracked: Arc<Tracked>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while receiver.recv_many(&mut group, MAX_GROUP).await > 0 {
        // Every tracked apply not yet waiting here may still write: wait for
        // its write, or its end, within the linger.
        let deadline = tokio::time::Instant::now() + LINGER;
        while group.len() < MAX_GROUP && group.len() < tracked.running.load(Ordering::SeqCst) {
            let room = MAX_GROUP - group.len();
            let more = tokio::select! {
                n = receiver.recv_many(&mut group, room) => n > 0,
                () = tracked.ended.notified() => true,
                () = tokio::time::sleep_until(deadline) => false,
            };
            if !more {
                break;
            }
        }
        let writes: Vec<StoreWrite<'_>> = group.iter().map(|(w, _)| w.as_store_write()).collect();
        match store.write_batch(&writes).await {
            Ok(changed) => {
                drop(writes);
                for ((_, reply), changed) in group.drain(..).zip(changed) {
                    let _ = reply.send(Ok(changed));
                }
            }
            Err(error) => {
                drop(writes);
                if group.len() == 1 {
                    if let Some((_, reply)) = group.pop() {
                        let _ = reply.send(Err(error));
                    }
                    continue;
                }
                for (write, reply) in group.drain(..) {
                    let result = store
                        .write_batch(&[write.as_store_write()])
                        .await
                        .map(|changed| changed.first().copied().unwrap_or(false));
                    let _ = reply.send(result);
                }
            }
        }
    }
}
