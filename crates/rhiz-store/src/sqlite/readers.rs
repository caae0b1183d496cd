//! Read-only connections, used on tokio's blocking threads.
//!
//! WAL lets any number of readers run beside the writer. A read takes an
//! idle connection (or opens one), runs on a blocking thread so the runtime
//! never waits on SQLite, and returns the connection for the next read.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::connection::{closed, open_reader, store_error};
use crate::error::{Result, StoreError};

/// The pool of read-only connections.
#[derive(Debug)]
pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
    closed: AtomicBool,
}

impl Readers {
    /// A pool over the database at `path`, keeping up to `max_idle`
    /// connections open between reads.
    pub(super) fn new(path: PathBuf, max_idle: usize) -> Arc<Self> {
        Arc::new(Self {
            path,
            idle: Mutex::new(Vec::new()),
            max_idle,
            closed: AtomicBool::new(false),
        })
    }

    /// Runs `job` on a read-only connection, on a blocking thread.
    /// [`StoreError::Unavailable`] once the store is closed.
    pub(super) async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        op: &'static str,
        job: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let conn = match readers.take() {
                Some(conn) => conn,
                None => open_reader(&readers.path).map_err(store_error(op))?,
            };
            let result = job(&conn);
            readers.give_back(conn);
            result
        })
        .await
        .map_err(|err| StoreError::Unavailable {
            source: Box::new(err),
        })?
    }

    /// How many connections the pool keeps: how many reads it is sized to
    /// run at once.
    pub(super) fn size(&self) -> usize {
        self.max_idle
    }

    /// Closes every idle connection; later reads fail.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn take(&self) -> Option<Connection> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.max_idle && !self.closed.load(Ordering::Acquire) {
            idle.push(conn);
        }
    }
}
