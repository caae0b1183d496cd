//! The SQLite schema's migrations, applied in order on open.
//!
//! Each migration runs in its own transaction and is recorded in
//! `rhiz_migrations`. Databases created by earlier versions of rhiz, which
//! recorded their migrations in sqlx's `_sqlx_migrations`, are recognised:
//! what that table lists as applied is not applied again.

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Result, StoreError};
use crate::timestamp;

/// Every migration: version, description, SQL.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "graph columns",
        include_str!("../../migrations/sqlite/0002_graph_columns.sql"),
    ),
    (
        3,
        "no participant indexes",
        include_str!("../../migrations/sqlite/0003_no_participant_indexes.sql"),
    ),
    (
        4,
        "no json_valid checks",
        include_str!("../../migrations/sqlite/0004_no_json_valid_checks.sql"),
    ),
];

/// Applies the migrations `conn`'s database has not had yet.
pub(super) fn run(conn: &mut Connection) -> Result<()> {
    migrate(conn).map_err(|err| StoreError::Migration {
        source: Box::new(err),
    })
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS rhiz_migrations (
             version     INTEGER NOT NULL PRIMARY KEY,
             description TEXT    NOT NULL,
             applied_at  TEXT    NOT NULL
         ) STRICT;",
    )?;
    for &(version, description, sql) in MIGRATIONS {
        if applied(conn, version)? {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO rhiz_migrations (version, description, applied_at) VALUES (?1, ?2, ?3)",
            (version, description, timestamp::to_text(chrono::Utc::now())),
        )?;
        tx.commit()?;
        tracing::info!(version, description, "applied sqlite migration");
    }
    Ok(())
}

/// Whether migration `version` is recorded, by us or by sqlx.
fn applied(conn: &Connection, version: i64) -> rusqlite::Result<bool> {
    let ours = conn
        .query_row(
            "SELECT 1 FROM rhiz_migrations WHERE version = ?1",
            [version],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if ours {
        return Ok(true);
    }
    let sqlx_table = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !sqlx_table {
        return Ok(false);
    }
    Ok(conn
        .query_row(
            "SELECT 1 FROM _sqlx_migrations WHERE version = ?1 AND success",
            [version],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(conn: &Connection) -> Vec<String> {
        let mut statement = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn migrations_apply_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn).unwrap();
        assert!(tables(&conn).contains(&"relationships".to_owned()));
        run(&mut conn).unwrap();
        let count: i64 = conn
            .query_row("SELECT count(*) FROM rhiz_migrations", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, i64::try_from(MIGRATIONS.len()).unwrap());
    }

    #[test]
    fn participants_move_onto_the_relationship_row() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0].2).unwrap();
        conn.execute_batch(
            "INSERT INTO relationships VALUES ('at://r', 'c', 'did:plc:a', 'personal', 50, '',
                 'public', 1, 1, 't', 't', 't', 't', '{}');
             INSERT INTO relationship_participants VALUES ('at://r', 'did:plc:a', 0),
                 ('at://r', 'did:plc:b', 1);
             CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, success BOOLEAN NOT NULL);
             INSERT INTO _sqlx_migrations VALUES (1, TRUE);",
        )
        .unwrap();
        run(&mut conn).unwrap();
        let participants: (String, String) = conn
            .query_row(
                "SELECT participant0, participant1 FROM relationships",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(participants, ("did:plc:a".into(), "did:plc:b".into()));
        assert!(!tables(&conn).contains(&"relationship_participants".to_owned()));
    }

    /// The record columns lose their `json_valid` check in place: rows
    /// written before stay, the file stays sound, and a new connection reads
    /// the new definitions.
    #[test]
    fn record_columns_lose_their_json_check_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let mut conn = Connection::open(&path).unwrap();
        for (_, _, sql) in &MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO relationships (uri, cid, author, rel_type, strength, context, visibility,
                 allow_discovery, allow_attestation, started_at, last_interaction_at, created_at,
                 indexed_at, record)
             VALUES ('at://r', 'c', 'did:plc:a', 'personal', 50, '', 'public', 1, 1,
                 't', 't', 't', 't', '{\"a\":1}');
             CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, success BOOLEAN NOT NULL);
             INSERT INTO _sqlx_migrations VALUES (1, TRUE), (2, TRUE), (3, TRUE);",
        )
        .unwrap();
        run(&mut conn).unwrap();
        drop(conn);

        let conn = Connection::open(&path).unwrap();
        let checks: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%json_valid%'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(checks, 0);
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
        let record: String = conn
            .query_row("SELECT record FROM relationships", [], |row| row.get(0))
            .unwrap();
        assert_eq!(record, r#"{"a":1}"#);
    }

    #[test]
    fn a_database_migrated_by_sqlx_is_not_migrated_again() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0].2).unwrap();
        conn.execute_batch(
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, success BOOLEAN NOT NULL);
             INSERT INTO _sqlx_migrations VALUES (1, TRUE);",
        )
        .unwrap();
        run(&mut conn).unwrap();
        assert!(tables(&conn).contains(&"relationships".to_owned()));
    }
}
