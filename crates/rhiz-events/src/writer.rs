//! The writer thread the embedded logs share: every call becomes a command
//! on a channel; one thread owns the storage and runs every command waiting
//! in the channel as one group, made durable by one commit (group commit),
//! and replies to each command only after that commit.
//!
//! A storage plugs in as a [`GroupStore`]; [`embedded_event_log!`] makes a
//! public log type over a [`Handle`] to its thread.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime};

use tokio::sync::oneshot;

use crate::{AppendOutcome, DeadLetterFilter, EventsError, LogCounts, NewEvent, StoredEvent};

/// How long an embedded log remembers applied ids, by default: a day.
pub(crate) const DEFAULT_IDEMPOTENCY_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// The most commands an embedded log commits in one group, by default.
pub(crate) const DEFAULT_MAX_GROUP_COMMIT: usize = 4096;

/// A storage run by the writer thread, one group of commands at a time:
/// [`GroupStore::begin`], the commands, then [`GroupStore::commit`]. Each
/// command is all-or-nothing on its own: one that fails leaves no change.
pub(crate) trait GroupStore: Send + 'static {
    /// Starts a group.
    fn begin(&mut self) -> Result<(), EventsError>;
    /// Appends each event whose id is new, in order.
    fn append(&mut self, events: &[NewEvent]) -> Result<Vec<AppendOutcome>, EventsError>;
    /// Settles the pending events at `seqs` as applied; others are ignored.
    fn ack(&mut self, seqs: &[u64]) -> Result<(), EventsError>;
    /// Records a failed attempt of the pending event at `seq`; returns its
    /// failed attempts so far (0 when nothing is pending there).
    fn fail(&mut self, seq: u64, error: &str, next: SystemTime) -> Result<u32, EventsError>;
    /// Records a last failed attempt and makes the pending event a dead letter.
    fn dead(&mut self, seq: u64, error: &str) -> Result<(), EventsError>;
    /// Makes the matching dead letters pending again; returns them in log order.
    fn replay(&mut self, filter: &DeadLetterFilter) -> Result<Vec<StoredEvent>, EventsError>;
    /// Deletes the matching dead letters; returns how many.
    fn purge(&mut self, filter: &DeadLetterFilter) -> Result<u64, EventsError>;
    /// Pending events after `after`, in log order, at most `limit`.
    fn pending(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, EventsError>;
    /// Matching dead letters in log order, skipping `offset`, at most `limit`.
    fn dead_letters(
        &self,
        filter: &DeadLetterFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, EventsError>;
    /// The counts as of the last commit.
    fn counts(&self) -> LogCounts;
    /// Makes the group durable. On error none of its changes is kept, and
    /// the error's text is what every command of the group is told.
    fn commit(&mut self) -> Result<(), String>;
    /// Housekeeping between groups (forgetting expired ids, compaction).
    fn between_groups(&mut self) {}
}

pub(crate) type Reply<T> = oneshot::Sender<Result<T, EventsError>>;

/// One call to the log, with where its result goes.
pub(crate) enum Command {
    Append(Vec<NewEvent>, Reply<Vec<AppendOutcome>>),
    Ack(Vec<u64>, Reply<()>),
    Fail(u64, String, SystemTime, Reply<u32>),
    Dead(u64, String, Reply<()>),
    Pending(u64, usize, Reply<Vec<StoredEvent>>),
    DeadLetters(DeadLetterFilter, usize, usize, Reply<Vec<StoredEvent>>),
    Replay(DeadLetterFilter, Reply<Vec<StoredEvent>>),
    Purge(DeadLetterFilter, Reply<u64>),
    Counts(Reply<LogCounts>),
    Close(Reply<()>),
}

/// The sending end of a writer thread's command channel.
#[derive(Debug)]
pub(crate) struct Handle {
    commands: mpsc::Sender<Command>,
}

impl Handle {
    /// Starts the writer thread `name`, which opens its store with `open`
    /// and then runs groups of at most `max_group` commands; returns once
    /// the store is open, or with the error that kept it from opening.
    pub(crate) async fn spawn<S: GroupStore>(
        name: &str,
        max_group: usize,
        open: impl FnOnce() -> Result<S, EventsError> + Send + 'static,
    ) -> Result<Self, EventsError> {
        if max_group == 0 {
            return Err(EventsError::Config {
                field: "max_group_commit",
                reason: "must be at least 1".into(),
            });
        }
        let (commands, receiver) = mpsc::channel();
        let (opened, opened_rx) = oneshot::channel();
        thread::Builder::new()
            .name(name.into())
            .spawn(move || match open() {
                Ok(store) => {
                    let _ = opened.send(Ok(()));
                    run(store, receiver, max_group);
                }
                Err(e) => {
                    let _ = opened.send(Err(e));
                }
            })
            .map_err(|source| EventsError::Io {
                path: "writer thread".into(),
                source,
            })?;
        opened_rx.await.map_err(|_| EventsError::Closed)??;
        Ok(Self { commands })
    }

    /// Sends the command `make` builds and waits for its reply.
    pub(crate) async fn call<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, EventsError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(make(reply))
            .map_err(|_| EventsError::Closed)?;
        response.await.map_err(|_| EventsError::Closed)?
    }
}

fn run<S: GroupStore>(mut store: S, receiver: mpsc::Receiver<Command>, max_group: usize) {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while group.len() < max_group {
            match receiver.try_recv() {
                Ok(command) => group.push(command),
                Err(_) => break,
            }
        }
        let close = execute(&mut store, group);
        if !close.is_empty() {
            // Release the storage (its file lock) before saying it is closed,
            // so that the caller can open it again at once.
            drop(store);
            for r in close {
                let _ = r.send(Ok(()));
            }
            return;
        }
        store.between_groups();
    }
}

/// Result of one command inside a group, replied after the commit.
enum Done {
    Append(
        Reply<Vec<AppendOutcome>>,
        Result<Vec<AppendOutcome>, EventsError>,
    ),
    Ack(Reply<()>, Result<(), EventsError>),
    Fail(Reply<u32>, Result<u32, EventsError>),
    Dead(Reply<()>, Result<(), EventsError>),
    Replay(
        Reply<Vec<StoredEvent>>,
        Result<Vec<StoredEvent>, EventsError>,
    ),
    Purge(Reply<u64>, Result<u64, EventsError>),
}

impl Done {
    /// Sends the result, or a commit error instead when the commit failed.
    fn reply(self, failure: Option<&str>) {
        fn send<T>(reply: Reply<T>, result: Result<T, EventsError>, failure: Option<&str>) {
            let result = match failure {
                Some(reason) => Err(EventsError::Commit(reason.to_owned())),
                None => result,
            };
            let _ = reply.send(result);
        }
        match self {
            Done::Append(r, v) => send(r, v, failure),
            Done::Ack(r, v) => send(r, v, failure),
            Done::Fail(r, v) => send(r, v, failure),
            Done::Dead(r, v) => send(r, v, failure),
            Done::Replay(r, v) => send(r, v, failure),
            Done::Purge(r, v) => send(r, v, failure),
        }
    }
}

/// Runs a group of commands and replies after the commit. Returns the
/// replies of the close commands, which the caller sends once the store is
/// released.
fn execute<S: GroupStore>(store: &mut S, group: Vec<Command>) -> Vec<Reply<()>> {
    if let Err(e) = store.begin() {
        let reason = e.to_string();
        let mut close = Vec::new();
        for command in group {
            match command {
                Command::Close(r) => close.push(r),
                other => refuse(other, &reason),
            }
        }
        return close;
    }
    let mut done = Vec::with_capacity(group.len());
    let mut close = Vec::new();
    for command in group {
        match command {
            Command::Append(events, r) => done.push(Done::Append(r, store.append(&events))),
            Command::Ack(seqs, r) => done.push(Done::Ack(r, store.ack(&seqs))),
            Command::Fail(seq, error, at, r) => {
                done.push(Done::Fail(r, store.fail(seq, &error, at)))
            }
            Command::Dead(seq, error, r) => done.push(Done::Dead(r, store.dead(seq, &error))),
            Command::Replay(filter, r) => done.push(Done::Replay(r, store.replay(&filter))),
            Command::Purge(filter, r) => done.push(Done::Purge(r, store.purge(&filter))),
            Command::Pending(after, limit, r) => {
                let _ = r.send(store.pending(after, limit));
            }
            Command::DeadLetters(filter, offset, limit, r) => {
                let _ = r.send(store.dead_letters(&filter, offset, limit));
            }
            Command::Counts(r) => {
                let _ = r.send(Ok(store.counts()));
            }
            Command::Close(r) => close.push(r),
        }
    }
    let failure = store.commit().err();
    for d in done {
        d.reply(failure.as_deref());
    }
    close
}

/// Tells a command of a group that could not start why.
fn refuse(command: Command, reason: &str) {
    fn send<T>(r: Reply<T>, reason: &str) {
        let _ = r.send(Err(EventsError::Commit(reason.to_owned())));
    }
    match command {
        Command::Append(_, r) => send(r, reason),
        Command::Ack(_, r) | Command::Dead(_, _, r) | Command::Close(r) => send(r, reason),
        Command::Fail(_, _, _, r) => send(r, reason),
        Command::Pending(_, _, r) | Command::DeadLetters(_, _, _, r) | Command::Replay(_, r) => {
            send(r, reason)
        }
        Command::Purge(_, r) => send(r, reason),
        Command::Counts(r) => send(r, reason),
    }
}

/// Implements [`EventLog`](crate::EventLog) for a type whose `writer` field
/// is a [`Handle`]: every method is a command to the writer thread.
macro_rules! embedded_event_log {
    ($log:ty) => {
        #[async_trait::async_trait]
        impl $crate::EventLog for $log {
            async fn append(
                &self,
                events: Vec<$crate::NewEvent>,
            ) -> Result<Vec<$crate::AppendOutcome>, $crate::EventsError> {
                if events.is_empty() {
                    return Ok(Vec::new());
                }
                self.writer
                    .call(|r| $crate::writer::Command::Append(events, r))
                    .await
            }

            async fn pending(
                &self,
                after_seq: u64,
                limit: usize,
            ) -> Result<Vec<$crate::StoredEvent>, $crate::EventsError> {
                self.writer
                    .call(|r| $crate::writer::Command::Pending(after_seq, limit, r))
                    .await
            }

            async fn ack(&self, seqs: Vec<u64>) -> Result<(), $crate::EventsError> {
                self.writer
                    .call(|r| $crate::writer::Command::Ack(seqs, r))
                    .await
            }

            async fn record_failure(
                &self,
                seq: u64,
                error: String,
                next_attempt_at: std::time::SystemTime,
            ) -> Result<u32, $crate::EventsError> {
                self.writer
                    .call(|r| $crate::writer::Command::Fail(seq, error, next_attempt_at, r))
                    .await
            }

            async fn move_to_dead_letters(
                &self,
                seq: u64,
                error: String,
            ) -> Result<(), $crate::EventsError> {
                self.writer
                    .call(|r| $crate::writer::Command::Dead(seq, error, r))
                    .await
            }

            async fn dead_letters(
                &self,
                filter: $crate::DeadLetterFilter,
                offset: usize,
                limit: usize,
            ) -> Result<Vec<$crate::StoredEvent>, $crate::EventsError> {
                self.writer
                    .call(|r| $crate::writer::Command::DeadLetters(filter, offset, limit, r))
                    .await
            }

            async fn replay_dead_letters(
                &self,
                filter: $crate::DeadLetterFilter,
            ) -> Result<Vec<$crate::StoredEvent>, $crate::EventsError> {
                self.writer
                    .call(|r| $crate::writer::Command::Replay(filter, r))
                    .await
            }

            async fn purge_dead_letters(
                &self,
                filter: $crate::DeadLetterFilter,
            ) -> Result<u64, $crate::EventsError> {
                self.writer
                    .call(|r| $crate::writer::Command::Purge(filter, r))
                    .await
            }

            async fn counts(&self) -> Result<$crate::LogCounts, $crate::EventsError> {
                self.writer.call($crate::writer::Command::Counts).await
            }

            async fn close(&self) -> Result<(), $crate::EventsError> {
                match self.writer.call($crate::writer::Command::Close).await {
                    Err($crate::EventsError::Closed) => Ok(()),
                    other => other,
                }
            }
        }
    };
}

pub(crate) use embedded_event_log;
