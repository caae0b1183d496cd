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
