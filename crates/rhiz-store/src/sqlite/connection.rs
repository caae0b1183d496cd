//! What every part of the SQLite backend shares: opening connections,
//! binding the shared statements' `$N` parameters, reading columns and
//! classifying errors.

use crate::RecordJson;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags, Row, Statement, ToSql};

use crate::error::{from_class, DbErrorClass, Result, StoreError};
use crate::rows::{corrupt, Columns};
use crate::timestamp;

/// How long a connection waits on a lock held by another connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

/// Opens the read-write connection, creating the file, in WAL mode.
///
/// `synchronous=NORMAL`: a commit survives a crash of the process; the
/// event log, not the store, is what an acknowledgement rests on. A 64 MiB
/// page cache keeps a batch's index pages from spilling mid-transaction.
/// A new store has 16 KiB pages: a relationship row with its record is
/// about a kilobyte, and on 4 KiB pages every few inserts split a page
/// (100,000 imported events: −14 % wall time on disk, −10 % on tmpfs; the
/// graph loads from it no slower). A store made with other pages keeps them.
pub(super) fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch(
        "PRAGMA page_size = 16384;
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -65536;
         PRAGMA mmap_size = 268435456;",
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Opens a read-only connection; WAL lets it read while the writer writes.
pub(super) fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA mmap_size = 268435456;")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Binds `values[k - 1]` to each `$k` of `statement`.
///
/// The shared statements' `$1`, `$2`, … are named parameters in SQLite,
/// indexed by first appearance (not always `$1` first): each index's name
/// says which value it takes. Reading the names costs less than looking
/// each one up (`parameter_index`), which was 2 % of an import.
fn bind<P: ToSql>(statement: &mut Statement<'_>, values: &[P]) -> rusqlite::Result<()> {
    let count = statement.parameter_count();
    if count != values.len() {
        return Err(rusqlite::Error::InvalidParameterCount(values.len(), count));
    }
    for index in 1..=count {
        let name = statement.parameter_name(index).unwrap_or_default();
        let value = name
            .strip_prefix('$')
            .and_then(|number| number.parse::<usize>().ok())
            .and_then(|number| values.get(number.checked_sub(1)?))
            .ok_or_else(|| rusqlite::Error::InvalidParameterName(name.to_owned()))?;
        statement.raw_bind_parameter(index, value)?;
    }
    Ok(())
}

/// Runs `sql` (no result rows) with `values`; how many rows it changed.
pub(super) fn execute<P: ToSql>(
    conn: &Connection,
    op: &'static str,
    sql: &'static str,
    values: &[P],
) -> Result<usize> {
    let mut statement = conn.prepare_cached(sql).map_err(store_error(op))?;
    bind(&mut statement, values).map_err(store_error(op))?;
    statement.raw_execute().map_err(store_error(op))
}

/// Runs `sql` with `values` and decodes every row it returns.
pub(super) fn query<P: ToSql, T>(
    conn: &Connection,
    op: &'static str,
    sql: &'static str,
    values: &[P],
    mut decode: impl FnMut(&NamedRow<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(store_error(op))?;
    bind(&mut statement, values).map_err(store_error(op))?;
    let names = column_names(&statement);
    let mut rows = statement.raw_query();
    let mut decoded = Vec::new();
    while let Some(row) = rows.next().map_err(store_error(op))? {
        decoded.push(decode(&NamedRow { row, names: &names })?);
    }
    Ok(decoded)
}

/// Runs `sql` with `values` and decodes the first row it returns, if any.
pub(super) fn query_optional<P: ToSql, T>(
    conn: &Connection,
    op: &'static str,
    sql: &'static str,
    values: &[P],
    decode: impl FnOnce(&NamedRow<'_>) -> Result<T>,
) -> Result<Option<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(store_error(op))?;
    bind(&mut statement, values).map_err(store_error(op))?;
    let names = column_names(&statement);
    first_row(&mut statement, &names, op, decode)
}

/// Runs `sql` once per key (bound to `$1`) and decodes the first row of
/// each, if any: one prepared statement and one read of its column names
/// for all the keys.
pub(super) fn query_each<T>(
    conn: &Connection,
    op: &'static str,
    sql: &'static str,
    keys: &[String],
    decode: impl Fn(&NamedRow<'_>) -> Result<T>,
) -> Result<Vec<Option<T>>> {
    // One read transaction for every key: a single snapshot, and the
    // write-ahead log's read lock taken once rather than once per key.
    let snapshot = conn.unchecked_transaction().map_err(store_error(op))?;
    let mut statement = snapshot.prepare_cached(sql).map_err(store_error(op))?;
    let names = column_names(&statement);
    let found = keys
        .iter()
        .map(|key| {
            bind(&mut statement, &[key]).map_err(store_error(op))?;
            first_row(&mut statement, &names, op, &decode)
        })
        .collect();
    drop(statement);
    snapshot.commit().map_err(store_error(op))?;
    found
}

/// Runs the bound `statement` and decodes its first row, if any.
fn first_row<T>(
    statement: &mut Statement<'_>,
    names: &[String],
    op: &'static str,
    decode: impl FnOnce(&NamedRow<'_>) -> Result<T>,
) -> Result<Option<T>> {
    let mut rows = statement.raw_query();
    rows.next()
        .map_err(store_error(op))?
        .map(|row| decode(&NamedRow { row, names }))
        .transpose()
}

fn column_names(statement: &Statement<'_>) -> Vec<String> {
    statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// A row with its statement's column names, read once per statement:
/// rusqlite's lookup by name asks SQLite for every column's name on every
/// access, which dominated reading many rows.
pub(super) struct NamedRow<'r> {
    row: &'r Row<'r>,
    names: &'r [String],
}

impl NamedRow<'_> {
    fn get<T: rusqlite::types::FromSql>(&self, column: &'static str) -> Result<T> {
        self.row
            .get(self.index(column)?)
            .map_err(|err| corrupt(column, err))
    }

    fn index(&self, column: &'static str) -> Result<usize> {
        self.names
            .iter()
            .position(|name| name == column)
            .ok_or_else(|| corrupt(column, "no such column"))
    }
}

/// Translates the errors of store operation `op`.
pub(super) fn store_error(op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |err| from_class(op, classify(&err), err)
}

/// The error of an operation on a closed store.
pub(super) fn closed() -> StoreError {
    StoreError::Unavailable {
        source: "the store is closed".into(),
    }
}

/// Classifies SQLite's result codes.
fn classify(err: &rusqlite::Error) -> DbErrorClass {
    const SQLITE_CONSTRAINT_PRIMARYKEY: std::ffi::c_int = 1555;
    const SQLITE_CONSTRAINT_UNIQUE: std::ffi::c_int = 2067;
    let rusqlite::Error::SqliteFailure(failure, message) = err else {
        return DbErrorClass::Other;
    };
    match failure.code {
        ErrorCode::ConstraintViolation
            if matches!(
                failure.extended_code,
                SQLITE_CONSTRAINT_PRIMARYKEY | SQLITE_CONSTRAINT_UNIQUE
            ) =>
        {
            unique_key(message.as_deref().unwrap_or_default())
        }
        ErrorCode::DatabaseBusy
        | ErrorCode::DatabaseLocked
        | ErrorCode::OutOfMemory
        | ErrorCode::SystemIoFailure
        | ErrorCode::DiskFull
        | ErrorCode::CannotOpen => DbErrorClass::Unavailable,
        _ => DbErrorClass::Other,
    }
}

/// Reads `table.column` out of "UNIQUE constraint failed: t.c[, t.d]".
fn unique_key(message: &str) -> DbErrorClass {
    message
        .split_once("constraint failed: ")
        .and_then(|(_, keys)| keys.split(',').next())
        .and_then(|key| key.trim().split_once('.'))
        .map_or(DbErrorClass::Other, |(table, column)| {
            DbErrorClass::unique_violation(table, column)
        })
}

impl Columns for NamedRow<'_> {
    fn text(&self, column: &'static str) -> Result<String> {
        self.get(column)
    }

    fn opt_text(&self, column: &'static str) -> Result<Option<String>> {
        self.get(column)
    }

    fn opt_int(&self, column: &'static str) -> Result<Option<i64>> {
        self.get(column)
    }

    fn flag(&self, column: &'static str) -> Result<bool> {
        self.get(column)
    }

    fn timestamp(&self, column: &'static str) -> Result<DateTime<Utc>> {
        timestamp::from_text(&self.text(column)?).map_err(|err| corrupt(column, err))
    }

    fn json(&self, column: &'static str) -> Result<RecordJson> {
        self.opt_json(column)?
            .ok_or_else(|| corrupt(column, "unexpected NULL"))
    }

    fn opt_flag(&self, column: &'static str) -> Result<Option<bool>> {
        self.get(column)
    }

    fn opt_json(&self, column: &'static str) -> Result<Option<RecordJson>> {
        let text = self
            .row
            .get_ref(self.index(column)?)
            .and_then(|value| value.as_str_or_null().map_err(Into::into))
            .map_err(|err| corrupt(column, err))?;
        text.map(|text| RecordJson::parse(text.to_owned()))
            .transpose()
            .map_err(|err| corrupt(column, err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_messages_name_table_and_column() {
        assert_eq!(
            unique_key("UNIQUE constraint failed: entities.handle"),
            DbErrorClass::UniqueViolation {
                table: "entities".into(),
                column: "handle".into()
            }
        );
        assert_eq!(
            unique_key(
                "UNIQUE constraint failed: trust_snapshots.did, trust_snapshots.calculated_at"
            ),
            DbErrorClass::UniqueViolation {
                table: "trust_snapshots".into(),
                column: "did".into()
            }
        );
        assert_eq!(unique_key("something else"), DbErrorClass::Other);
    }

    #[test]
    fn parameters_bind_by_name_whatever_their_order_in_the_text() {
        let conn = Connection::open_in_memory().unwrap();
        let values: [&dyn ToSql; 2] = [&"first", &"second"];
        let got = query(
            &conn,
            "test",
            "SELECT $2 || '+' || $1 AS v",
            &values,
            |row| row.text("v"),
        )
        .unwrap();
        assert_eq!(got, ["second+first"]);
    }
}
