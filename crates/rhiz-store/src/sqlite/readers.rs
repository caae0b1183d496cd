//! Read-only connections, used on tokio's blocking threads.
//!
//! WAL lets any number of readers run beside the writer. A read waits
//! (asynchronously) for one of a fixed number of permits, takes an idle
//! connection (or opens one, the first times), runs on a blocking thread so
//! the runtime never waits on SQLite, and returns the connection for the
//! next read. The permits keep a burst of reads from opening a connection
//! each, which costs far more than the read.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::connection::{closed, open_reader, store_error};
use crate::error::{Result, StoreError};

/// The pool of read-only connections.
#[derive(Debug)]
pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    size: usize,
    permits: Arc<Semaphore>,
    closed: AtomicBool,
}

impl Readers {
    /// A pool of `size` connections over the database at `path`.
    pub(super) fn new(path: PathBuf, size: usize) -> Arc<Self> {
        Arc::new(Self {
            path,
            idle: Mutex::new(Vec::new()),
            size,
            permits: Arc::new(Semaphore::new(size)),
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
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| closed())?;
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
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
        self.size
    }

    /// Closes every idle connection; later reads fail.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.permits.close();
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn take(&self) -> Option<Connection> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if !self.closed.load(Ordering::Acquire) {
            idle.push(conn);
        }
    }
}
