//! One process per data directory: the embedded event log and SQLite store
//! have a single writer. `rhiz serve` and an offline `rhiz import` take an
//! exclusive lock on `<data_dir>/rhiz.lock` for as long as they run; a second
//! process on the same directory is refused with a clear error. The
//! operating system releases the lock when the process ends, even after
//! `kill -9`.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "rhiz.lock";

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "another rhiz process is using the data directory {dir} (lock {lock}); \
         stop it, or send events to it with `rhiz import --server URL`"
    )]
    Held {
        /// The data directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The directory or the lock file could not be created.
    #[error("cannot lock the data directory {dir}: {error}")]
    Io {
        /// The data directory.
        dir: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
}

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Creates `dir` if needed and locks it, without waiting.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let io = |error| LockError::Io {
            dir: dir.to_owned(),
            error,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let lock = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    dir: dir.to_owned(),
                    lock,
                })
            }
            Err(TryLockError::Error(error)) => return Err(io(error)),
        }
        // For whoever looks: which process holds it.
        file.set_len(0).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        let second = DataDirLock::acquire(dir.path()).unwrap_err();
        assert!(matches!(second, LockError::Held { .. }), "{second}");
        assert!(second.to_string().contains("--server"));
        drop(first);
        DataDirLock::acquire(dir.path()).unwrap();
    }
}
