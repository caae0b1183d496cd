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

/// A relationship stored before the graph columns existed (NULL there) is
/// read with the values derived from its record.
#[tokio::test]
async fn graph_columns_missing_from_old_rows_come_from_the_record() {
    use rhiz_store::StoredRelationship;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rhiz.db");
    let store = open_at(&db).await;
    let (alice, bob) = ("did:plc:alice", "did:plc:bob");
    let at = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let rel = StoredRelationship {
        uri: "at://did:plc:alice/net.rhiz.relationship.record/r1"
            .parse()
            .unwrap(),
        cid: "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"
            .parse()
            .unwrap(),
        author: alice.parse().unwrap(),
        participants: [alice.parse().unwrap(), bob.parse().unwrap()],
        rel_type: "personal".into(),
        strength: 60,
        context: "met".into(),
        visibility: "public".into(),
        allow_discovery: true,
        allow_attestation: true,
        started_at: at,
        last_interaction_at: at,
        created_at: at,
        indexed_at: at,
        record: serde_json::json!({
            "$type": "net.rhiz.relationship.record",
            "participants": [alice, bob],
            "type": "personal",
            "strength": 60,
            "context": "met",
            "verification": {
                "consensusScore": 50,
                "attestationCount": 0,
                "lastUpdated": "2025-01-01T00:00:00Z",
            },
            "privacy": {"visibility": "public", "consent": "full"},
            "temporal": {
                "start": "2025-01-01T00:00:00Z",
                "lastInteraction": "2025-01-01T00:00:00Z",
                "history": [{"timestamp": "2024-06-01T00:00:00Z", "strength": 20}],
            },
            "signatures": [{"did": bob, "signature": "c2ln"}],
            "createdAt": "2025-01-01T00:00:00Z",
        }),
        signed: [true, true],
        strength_deviation: 0,
    };
    store.upsert_relationship(&rel).await.unwrap();
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute(
        "UPDATE relationships SET signed0 = NULL, signed1 = NULL, strength_deviation = NULL",
        [],
    )
    .unwrap();
    drop(raw);

    let read = store.get_relationship(&rel.uri).await.unwrap().unwrap();
    assert_eq!((read.signed, read.strength_deviation), ([false, true], 20));
    let edges = store.relationship_edges().await.unwrap();
    assert_eq!(
        (
            &edges[0].participants,
            edges[0].signed,
            edges[0].strength_deviation
        ),
        (&rel.participants, [false, true], 20)
    );
    store.close().await;
}
