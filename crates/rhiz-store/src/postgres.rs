//! The PostgreSQL backend: a connection pool, TIMESTAMPTZ timestamps and
//! JSONB records.

use crate::RecordJson;
use serde_json::value::RawValue;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::error::DatabaseError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgQueryResult, PgRow, Postgres};
use sqlx::types::Json;
use sqlx::{Column, Row, TypeInfo};

use crate::error::{DbErrorClass, Result, SqlxResultExt, StoreError};
use crate::rows::{corrupt, get, Columns};
use crate::store::{Dialect, SqlStore};
use crate::url::mask_password;
use crate::{timestamp, Backend};

/// Connections in the pool.
const MAX_CONNECTIONS: u32 = 10;
/// How long an operation waits for a pooled connection (or to connect).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`Store`](crate::Store) on a PostgreSQL database.
pub(crate) type PgStore = SqlStore<PgDialect>;

/// The pool of a PostgreSQL database.
#[derive(Debug)]
pub(crate) struct PgDialect {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` and migrates the database.
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url).map_err(|err| StoreError::InvalidUrl {
            url: mask_password(url),
            reason: err.to_string(),
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .or_store("open", PgDialect::classify)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migration {
                source: source.into(),
            })?;
        tracing::info!(url = %mask_password(url), "opened postgres store");
        Ok(SqlStore::new(PgDialect { pool }))
    }
}

/// Reads the column out of a constraint named `<table>_<column>_key`.
fn unique_key(table: &str, constraint: &str) -> DbErrorClass {
    constraint
        .strip_prefix(table)
        .and_then(|rest| rest.strip_prefix('_'))
        .and_then(|rest| rest.strip_suffix("_key"))
        .map_or(DbErrorClass::Other, |column| {
            DbErrorClass::unique_violation(table, column)
        })
}

impl Columns for PgRow {
    fn text(&self, column: &'static str) -> Result<String> {
        get(self, column)
    }

    fn opt_text(&self, column: &'static str) -> Result<Option<String>> {
        get(self, column)
    }

    fn opt_int(&self, column: &'static str) -> Result<Option<i64>> {
        let ty = self
            .try_column(column)
            .map_err(|err| corrupt(column, err))?
            .type_info()
            .name();
        match ty {
            "INT2" => Ok(get::<_, Option<i16>>(self, column)?.map(i64::from)),
            "INT4" => Ok(get::<_, Option<i32>>(self, column)?.map(i64::from)),
            _ => get(self, column),
        }
    }

    fn flag(&self, column: &'static str) -> Result<bool> {
        get(self, column)
    }

    fn timestamp(&self, column: &'static str) -> Result<DateTime<Utc>> {
        get(self, column)
    }

    fn json(&self, column: &'static str) -> Result<RecordJson> {
        get::<_, Json<RecordJson>>(self, column).map(|json| json.0)
    }

    fn opt_flag(&self, column: &'static str) -> Result<Option<bool>> {
        get(self, column)
    }

    fn opt_json(&self, column: &'static str) -> Result<Option<RecordJson>> {
        get::<_, Option<Json<RecordJson>>>(self, column).map(|json| json.map(|json| json.0))
    }
}

impl Dialect for PgDialect {
    type DB = Postgres;
    type Timestamp = DateTime<Utc>;
    /// The schema keeps 0–100 values in SMALLINT columns.
    type Percent = i16;
    type Json<'a> = Json<&'a RawValue>;

    const BACKEND: Backend = Backend::Postgres;

    fn timestamp(at: DateTime<Utc>) -> DateTime<Utc> {
        timestamp::truncate(at)
    }

    fn percent(value: u8) -> i16 {
        i16::from(value)
    }

    fn json(value: &RecordJson) -> Json<&RawValue> {
        Json(value.raw())
    }

    /// Classifies PostgreSQL's SQLSTATE codes.
    fn classify(err: &dyn DatabaseError) -> DbErrorClass {
        let Some(code) = err.code() else {
            return DbErrorClass::Other;
        };
        match code.as_ref() {
            "23505" => match (err.table(), err.constraint()) {
                (Some(table), Some(constraint)) => unique_key(table, constraint),
                _ => DbErrorClass::Other,
            },
            // connection exceptions, insufficient resources, operator
            // intervention (shutdown), serialization failure, deadlock
            code if code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") => {
                DbErrorClass::Unavailable
            }
            "40001" | "40P01" => DbErrorClass::Unavailable,
            _ => DbErrorClass::Other,
        }
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn close(&self) {
        self.pool.close().await;
        tracing::info!("closed postgres store");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_names_give_the_column() {
        assert_eq!(
            unique_key("entities", "entities_handle_key"),
            DbErrorClass::UniqueViolation {
                table: "entities".into(),
                column: "handle".into()
            }
        );
        assert_eq!(
            unique_key("trust_snapshots", "trust_snapshots_did_key"),
            DbErrorClass::UniqueViolation {
                table: "trust_snapshots".into(),
                column: "did".into()
            }
        );
        assert_eq!(unique_key("entities", "entities_pkey"), DbErrorClass::Other);
    }
}
