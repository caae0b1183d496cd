//! The store contract against the SQLite backend: a real database file in a
//! fresh temporary directory per test.

mod contract;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use rhiz_store::{Backend, Store, StoreError};

/// Runs `case` on a fresh SQLite store in its own temporary directory.
async fn run<F, Fut>(case: F)
where
    F: FnOnce(Arc<dyn Store>, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let url = rhiz_store::sqlite_url_for_data_dir(&dir.path().join("data"));
    let store = rhiz_store::open(&url).await.expect("open sqlite store");
    assert_eq!(store.backend(), Backend::Sqlite);
    case(Arc::clone(&store), url).await;
    store.close().await;
}

contract::contract_suite!(run);

fn url_of(db: &Path) -> String {
    format!("sqlite://{}", db.display())
}

async fn open_at(db: &Path) -> Arc<dyn Store> {
    rhiz_store::open(&url_of(db)).await.unwrap()
}

#[tokio::test]
async fn creates_missing_directories_and_reports_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a/b/c/rhiz.db");
    let store = open_at(&db).await;
    assert!(db.exists());
    assert_eq!(store.backend().to_string(), "sqlite");
    store.close().await;
}

#[tokio::test]
async fn corrupt_rows_name_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rhiz.db");
    let store = open_at(&db).await;
    // Write a row behind the store's back, with an unparsable timestamp.
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute(
        "INSERT INTO entities (did, name, entity_type, created_at, updated_at) \
         VALUES ('did:plc:broken', 'Broken', 'person', 'yesterday', '2025-01-01T00:00:00.000000Z')",
        [],
    )
    .unwrap();
    drop(raw);

    let did = "did:plc:broken".parse().unwrap();
    match store.get_entity(&did).await {
        Err(StoreError::Corrupt { column, .. }) => assert_eq!(column, "created_at"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    store.close().await;
}

#[tokio::test]
async fn close_checkpoints_the_write_ahead_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rhiz.db");
    let store = open_at(&db).await;
    for i in 0..50 {
        store.put_state(&format!("k{i}"), "v").await.unwrap();
    }
    store.close().await;
    let wal = dir.path().join("rhiz.db-wal");
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_len, 0, "WAL left behind after close");
}

/// A database of schema version 1 (participants in their own table) is
/// migrated on open: nothing stored is lost.
#[tokio::test]
async fn a_version_1_database_is_migrated_on_open() {
    use contract::version_1;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rhiz.db");
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute_batch(include_str!("../migrations/sqlite/0001_initial.sql"))
        .unwrap();
    raw.execute_batch(
        "CREATE TABLE rhiz_migrations (version INTEGER NOT NULL PRIMARY KEY, \
         description TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT; \
         INSERT INTO rhiz_migrations VALUES (1, 'initial', '2025-01-01T00:00:00.000000Z');",
    )
    .unwrap();
    let at = "2025-01-01T00:00:00.000000Z";
    raw.execute(
        "INSERT INTO relationships (uri, cid, author, rel_type, strength, context, visibility, \
         allow_discovery, allow_attestation, started_at, last_interaction_at, created_at, \
         indexed_at, record) VALUES (?1, ?2, ?3, 'personal', 60, 'met', 'public', 1, 1, ?4, ?4, \
         ?4, ?4, ?5)",
        (
            version_1::URI,
            version_1::CID,
            version_1::PARTICIPANTS[0],
            at,
            version_1::RECORD,
        ),
    )
    .unwrap();
    for (position, did) in version_1::PARTICIPANTS.iter().enumerate() {
        raw.execute(
            "INSERT INTO relationship_participants (relationship_uri, did, position) \
             VALUES (?1, ?2, ?3)",
            (version_1::URI, did, position),
        )
        .unwrap();
    }
    drop(raw);

    let store = open_at(&db).await;
    contract::version_1_relationship_reads_back(&*store).await;
    store.close().await;
}
