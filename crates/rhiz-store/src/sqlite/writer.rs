//! The one writing connection, on its own thread.
//!
//! SQLite serializes writers, so the backend has exactly one: a thread that
//! owns the read-write connection and runs the jobs sent to it in order.
//! A caller sends a closure and awaits its result; no SQLite call ever
//! blocks a runtime thread, and a whole batch of statements costs one
//! hand-off rather than one per statement.

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::connection::closed;
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
    /// Starts the thread that owns `conn`, the connection to `path`.
    pub(super) fn start(conn: Connection, path: PathBuf) -> std::io::Result<Self> {
        let (jobs, receiver) = mpsc::channel::<Job>();
        let thread_path = path.clone();
        let thread = std::thread::Builder::new()
            .name("rhiz-store-writer".into())
            .spawn(move || run(conn, &receiver, &thread_path))?;
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

/// The thread's loop: every job in order until every sender is gone.
fn run(mut conn: Connection, jobs: &mpsc::Receiver<Job>, path: &std::path::Path) {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = std::path::PathBuf::from(wal);
    for job in jobs {
        job(&mut conn);
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_RESET_BYTES) {
            // Waits (busy timeout) for the readers still in the log, then
            // copies it back and truncates it.
            if let Err(err) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
                tracing::warn!(path = %path.display(), error = %err, "sqlite checkpoint failed");
            }
        }
    }
    if let Err(err) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
        tracing::warn!(path = %path.display(), error = %err, "sqlite checkpoint on close failed");
    }
    if let Err((_, err)) = conn.close() {
        tracing::warn!(path = %path.display(), error = %err, "closing the sqlite writer failed");
    }
}
