//! The one writing connection, on its own thread.
//!
//! SQLite serializes writers, so the backend has exactly one: a thread that
//! owns the read-write connection and runs the jobs sent to it in order.
//! A caller sends a closure and awaits its result; no SQLite call ever
//! blocks a runtime thread, and a whole batch of statements costs one
//! hand-off rather than one per statement.
//!
//! Commits do not checkpoint. A second thread, the checkpointer, copies the
//! write-ahead log back into the database (passive checkpoints, which never
//! wait for the writer or the readers) at most every [`CHECKPOINT_EVERY`]
//! while jobs come, so the copy and its `fsync` overlap the next
//! transactions instead of stalling them: under import they were nearly
//! half of the writer's time.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::connection::{closed, open_checkpointer};
use crate::error::Result;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The handle to the writer thread.
#[derive(Debug)]
pub(super) struct Writer {
    path: PathBuf,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the thread that owns `conn`, the connection to `path`, and
    /// its checkpointer.
    pub(super) fn start(conn: Connection, path: PathBuf) -> std::io::Result<Self> {
        let checkpointer = Checkpointer::start(&path)?;
        let (jobs, receiver) = mpsc::channel::<Job>();
        let thread_path = path.clone();
        let thread = std::thread::Builder::new()
            .name("rhiz-store-writer".into())
            .spawn(move || run(conn, &receiver, &thread_path, checkpointer))?;
        Ok(Self {
            path,
            jobs: Mutex::new(Some(jobs)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Runs `job` on the writing connection and returns its result.
    /// [`StoreError::Unavailable`] once the store is closed.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let sender = self
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(closed)?;
        let (reply, outcome) = oneshot::channel();
        sender
            .send(Box::new(move |conn| {
                let _ = reply.send(job(conn));
            }))
            .map_err(|_| closed())?;
        outcome.await.map_err(|_| closed())?
    }

    /// Stops taking jobs, lets the thread finish those sent, checkpoint the
    /// write-ahead log and close the connection, and waits for it.
    pub(super) async fn close(&self) {
        drop(self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take());
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let joined = tokio::task::spawn_blocking(move || thread.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!(path = %self.path.display(), "sqlite writer thread panicked");
            }
        }
    }
}

/// The size of the write-ahead log above which the writer resets it.
///
/// SQLite's automatic checkpoint is passive: while reads keep overlapping
/// (the apply step reads before each batch it writes), it can copy pages
/// back but never start the log over, and the file grows without bound,
/// slowing every read that has to search it.
const WAL_RESET_BYTES: u64 = 64 << 20;

/// The shortest time between the starts of two passive checkpoints.
///
/// Longer intervals write each hot index page back fewer times; a longer
/// log makes reads search more (measured in BENCHMARKS.md).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// The path of the write-ahead log of the database at `path`.
fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// The length of the file at `path`; 0 when it does not exist.
fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The thread that runs passive checkpoints, woken after each job.
struct Checkpointer {
    wake: mpsc::SyncSender<()>,
    thread: JoinHandle<()>,
}

impl Checkpointer {
    fn start(path: &Path) -> std::io::Result<Self> {
        let conn = open_checkpointer(path).map_err(std::io::Error::other)?;
        // One pending wake-up is enough: it re-reads the log's size.
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let path = path.to_owned();
        let thread = std::thread::Builder::new()
            .name("rhiz-store-checkpointer".into())
            .spawn(move || checkpoint_while_woken(&conn, &woken, &path))?;
        Ok(Self { wake, thread })
    }

    /// Tells the thread the log may have grown; never blocks.
    fn wake(&self) {
        let _ = self.wake.try_send(());
    }

    /// Lets the thread finish and waits for it.
    fn stop(self) {
        drop(self.wake);
        if self.thread.join().is_err() {
            tracing::error!("sqlite checkpointer thread panicked");
        }
    }
}

/// The checkpointer's loop, until the writer drops its end. A wake-up
/// within [`CHECKPOINT_EVERY`] of the last checkpoint is skipped: what it
/// announced is copied by the next one, or by the writer's checkpoint on
/// close.
fn checkpoint_while_woken(conn: &Connection, woken: &mpsc::Receiver<()>, path: &Path) {
    let mut last: Option<Instant> = None;
    for () in woken {
        if last.is_some_and(|at| at.elapsed() < CHECKPOINT_EVERY) {
            continue;
        }
        last = Some(Instant::now());
        if let Err(err) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
            tracing::warn!(path = %path.display(), error = %err, "sqlite checkpoint failed");
        }
    }
}

/// The thread's loop: every job in order until every sender is gone.
fn run(mut conn: Connection, jobs: &mpsc::Receiver<Job>, path: &Path, checkpointer: Checkpointer) {
    let wal = wal_path(path);
    for job in jobs {
        job(&mut conn);
        checkpointer.wake();
        if file_len(&wal) > WAL_RESET_BYTES {
            // Waits (busy timeout) for the readers still in the log, then
            // copies it back and truncates it.
            if let Err(err) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
                tracing::warn!(path = %path.display(), error = %err, "sqlite checkpoint failed");
            }
        }
    }
    checkpointer.stop();
    if let Err(err) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
        tracing::warn!(path = %path.display(), error = %err, "sqlite checkpoint on close failed");
    }
    if let Err((_, err)) = conn.close() {
        tracing::warn!(path = %path.display(), error = %err, "closing the sqlite writer failed");
    }
}
