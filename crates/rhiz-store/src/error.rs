//! The one error type of this crate, and the translation of backend errors
//! into it.
//!
//! Each backend classifies its own error codes ([`DbErrorClass`]); turning a
//! classified error into a [`StoreError`] is shared here ([`from_class`]), so
//! both backends report the same failure the same way.

use sqlx::error::DatabaseError;

/// `Result` with [`StoreError`] as the default error.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The underlying driver error of a [`StoreError`].
pub type SourceError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong in the store, in terms a caller can act on.
///
/// Nothing above the store needs to look at SQLite or PostgreSQL error codes:
/// the backends translate them into these variants.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The row an operation needs does not exist.
    #[error("{what} not found: {key}")]
    NotFound {
        /// What was looked for, e.g. `"entity"`.
        what: &'static str,
        /// The key it was looked for by, e.g. the DID.
        key: String,
    },
    /// A unique field already holds this value.
    #[error("{field} already exists: {value}")]
    Conflict {
        /// The field that must be unique: `"did"`, `"handle"`, …
        field: &'static str,
        /// The value that is already taken.
        value: String,
    },
    /// The database cannot be reached right now (connection, pool, I/O, lock
    /// contention). Retrying later may succeed.
    #[error("database unavailable: {source}")]
    Unavailable {
        /// The underlying driver error.
        source: SourceError,
    },
    /// A stored value does not decode into its domain type.
    #[error("corrupt value in column {column}: {reason}")]
    Corrupt {
        /// The column holding the bad value.
        column: &'static str,
        /// Why it does not decode.
        reason: String,
    },
    /// The database URL given to [`open`](crate::open) is not usable.
    /// Passwords are masked in `url`.
    #[error("invalid database URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL, with any password replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Applying the embedded migrations failed.
    #[error("database migration failed: {source}")]
    Migration {
        /// The underlying migration error.
        source: SourceError,
    },
    /// A query failed for a reason that is not one of the above.
    #[error("store operation {query} failed: {source}")]
    Query {
        /// The store operation that failed, e.g. `"create_entity"`.
        query: &'static str,
        /// The underlying driver error.
        source: SourceError,
    },
}

impl StoreError {
    /// Whether retrying the same operation later may succeed.
    ///
    /// ```
    /// use rhiz_store::StoreError;
    ///
    /// let err = StoreError::Unavailable { source: "connection refused".into() };
    /// assert!(err.is_retryable());
    /// let err = StoreError::NotFound { what: "entity", key: "did:plc:x".into() };
    /// assert!(!err.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }

    /// Fills in the value of a [`StoreError::Conflict`] whose backend could
    /// not report it, from the field name.
    pub(crate) fn with_conflict_value(self, value_of: impl FnOnce(&'static str) -> String) -> Self {
        match self {
            StoreError::Conflict { field, value } if value.is_empty() => StoreError::Conflict {
                field,
                value: value_of(field),
            },
            other => other,
        }
    }
}

/// How a backend classifies one of its own database errors.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DbErrorClass {
    /// A unique or primary-key constraint on `table.column` was violated.
    UniqueViolation {
        /// The table of the violated constraint.
        table: String,
        /// Its (first) column.
        column: String,
    },
    /// The database is unreachable, overloaded, locked or failing I/O.
    Unavailable,
    /// Anything else: a bug or a constraint the store does not expect.
    Other,
}

impl DbErrorClass {
    /// A [`DbErrorClass::UniqueViolation`] of `table.column`.
    pub(crate) fn unique_violation(table: &str, column: &str) -> Self {
        DbErrorClass::UniqueViolation {
            table: table.to_owned(),
            column: column.to_owned(),
        }
    }
}

/// Maps a violated unique key to the field name callers see in
/// [`StoreError::Conflict`]. `None` for keys the store never expects to
/// collide on.
fn conflict_field(table: &str, column: &str) -> Option<&'static str> {
    match (table, column) {
        ("entities", "did") => Some("did"),
        ("entities", "handle") => Some("handle"),
        ("relationships" | "attestations", "uri") => Some("uri"),
        ("state", "key") => Some("key"),
        _ => None,
    }
}

/// The [`StoreError`] of driver error `err`, raised by store operation
/// `query` and classified by its backend as `class`.
///
/// A [`StoreError::Conflict`] comes back with an empty `value`; the caller,
/// which knows the values it wrote, fills it with
/// [`StoreError::with_conflict_value`].
pub(crate) fn from_class(
    query: &'static str,
    class: DbErrorClass,
    err: impl Into<SourceError>,
) -> StoreError {
    match class {
        DbErrorClass::UniqueViolation { table, column } => match conflict_field(&table, &column) {
            Some(field) => StoreError::Conflict {
                field,
                value: String::new(),
            },
            None => StoreError::Query {
                query,
                source: err.into(),
            },
        },
        DbErrorClass::Unavailable => StoreError::Unavailable { source: err.into() },
        DbErrorClass::Other => StoreError::Query {
            query,
            source: err.into(),
        },
    }
}

/// Translates an sqlx error raised by store operation `query` into a
/// [`StoreError`], using the backend's `classify` for database errors.
pub(crate) fn translate(
    query: &'static str,
    err: sqlx::Error,
    classify: fn(&dyn DatabaseError) -> DbErrorClass,
) -> StoreError {
    let class = match &err {
        sqlx::Error::Database(db) => classify(db.as_ref()),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => DbErrorClass::Unavailable,
        _ => DbErrorClass::Other,
    };
    from_class(query, class, err)
}

/// Extension to translate `sqlx` results at each call site in one word.
pub(crate) trait SqlxResultExt<T> {
    /// Translates the error of store operation `query` with `classify`.
    fn or_store(
        self,
        query: &'static str,
        classify: fn(&dyn DatabaseError) -> DbErrorClass,
    ) -> Result<T>;
}

impl<T> SqlxResultExt<T> for std::result::Result<T, sqlx::Error> {
    fn or_store(
        self,
        query: &'static str,
        classify: fn(&dyn DatabaseError) -> DbErrorClass,
    ) -> Result<T> {
        self.map_err(|err| translate(query, err, classify))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_and_io_failures_are_unavailable() {
        let classify: fn(&dyn DatabaseError) -> DbErrorClass = |_| DbErrorClass::Other;
        for err in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
            sqlx::Error::Io(std::io::Error::other("reset")),
        ] {
            let translated = translate("ping", err, classify);
            assert!(translated.is_retryable(), "{translated}");
        }
        let translated = translate("ping", sqlx::Error::RowNotFound, classify);
        assert!(matches!(
            translated,
            StoreError::Query { query: "ping", .. }
        ));
    }

    #[test]
    fn known_unique_keys_map_to_fields() {
        assert_eq!(conflict_field("entities", "handle"), Some("handle"));
        assert_eq!(conflict_field("entities", "did"), Some("did"));
        assert_eq!(conflict_field("entities", "name"), None);
    }

    #[test]
    fn conflict_value_is_filled_only_when_missing() {
        let err = StoreError::Conflict {
            field: "handle",
            value: String::new(),
        }
        .with_conflict_value(|field| format!("value of {field}"));
        assert_eq!(err.to_string(), "handle already exists: value of handle");
        let err = StoreError::Conflict {
            field: "did",
            value: "did:plc:a".into(),
        }
        .with_conflict_value(|_| unreachable!());
        assert_eq!(err.to_string(), "did already exists: did:plc:a");
    }
}
