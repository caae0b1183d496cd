//! The store contract against the PostgreSQL backend. Needs a server:
//! `RHIZ_TEST_POSTGRES_URL` names a database to connect to as an
//! administrator; every test creates its own fresh database there and drops
//! it afterwards.

mod contract;

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use rhiz_store::{Backend, Store, StoreError};
use sqlx::{Connection, Executor, PgConnection};

/// The administrator URL; panics when it is missing, so a run without
/// PostgreSQL cannot pass by skipping.
fn admin_url() -> String {
    std::env::var("RHIZ_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "RHIZ_TEST_POSTGRES_URL is not set. The PostgreSQL store tests need a server, e.g. \
             RHIZ_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test -p rhiz-store"
        )
    })
}

/// `url` with its database name replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// A database name no other test (or concurrent test run) uses.
fn unique_database_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "rhiz_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// A fresh database for one test; dropped by [`TestDatabase::drop_now`].
struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    async fn create() -> Self {
        let admin_url = admin_url();
        let name = unique_database_name();
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|err| panic!("cannot connect to RHIZ_TEST_POSTGRES_URL: {err}"));
        admin
            .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await
            .expect("create test database");
        admin.close().await.ok();
        let url = with_database(&admin_url, &name);
        TestDatabase {
            admin_url,
            name,
            url,
        }
    }

    async fn drop_now(self) {
        let mut admin = PgConnection::connect(&self.admin_url)
            .await
            .expect("reconnect as admin");
        admin
            .execute(format!(r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#, self.name).as_str())
            .await
            .expect("drop test database");
        admin.close().await.ok();
    }
}

/// Runs `case` on a fresh PostgreSQL store in its own database, dropping the
/// database afterwards even when the case panics.
async fn run<F, Fut>(case: F)
where
    F: FnOnce(Arc<dyn Store>, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let database = TestDatabase::create().await;
    let store = rhiz_store::open(&database.url)
        .await
        .expect("open postgres store");
    assert_eq!(store.backend(), Backend::Postgres);
    let outcome = tokio::spawn(case(Arc::clone(&store), database.url.clone())).await;
    store.close().await;
    database.drop_now().await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

contract::contract_suite!(run);

#[test]
fn database_name_replacement() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
        "postgres://postgres@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database("postgresql://u:p@h/db?sslmode=disable", "t1"),
        "postgresql://u:p@h/t1?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "t1"), "postgres://h/t1");
}

#[tokio::test]
async fn corrupt_rows_name_the_column() {
    let database = TestDatabase::create().await;
    let store = rhiz_store::open(&database.url).await.unwrap();
    let mut raw = PgConnection::connect(&database.url).await.unwrap();
    raw.execute(
        "INSERT INTO relationships (uri, cid, author, rel_type, strength, context, visibility, \
         allow_discovery, allow_attestation, started_at, last_interaction_at, created_at, \
         indexed_at, record, participant0, participant1) VALUES \
         ('at://did:plc:a/net.rhiz.relationship.record/r', \
         'bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a', '', 'personal', 50, '', \
         'public', true, true, now(), now(), now(), now(), '{}', 'did:plc:a', 'did:plc:b')",
    )
    .await
    .unwrap();
    raw.close().await.ok();
    let uri = "at://did:plc:a/net.rhiz.relationship.record/r"
        .parse()
        .unwrap();
    let outcome = store.get_relationship(&uri).await;
    store.close().await;
    database.drop_now().await;
    match outcome {
        Err(StoreError::Corrupt { column, .. }) => assert_eq!(column, "author"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn unreachable_server_is_unavailable() {
    let started = std::time::Instant::now();
    match rhiz_store::open("postgres://postgres:secret@127.0.0.1:1/rhiz").await {
        Err(err @ StoreError::Unavailable { .. }) => {
            assert!(err.is_retryable());
            assert!(!err.to_string().contains("secret"), "{err}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

/// A database of schema version 1 (participants in their own table) is
/// migrated on open: nothing stored is lost.
#[tokio::test]
async fn a_version_1_database_is_migrated_on_open() {
    use contract::version_1;

    let database = TestDatabase::create().await;
    let mut raw = PgConnection::connect(&database.url).await.unwrap();
    let mut first = sqlx::migrate!("./migrations/postgres");
    first.migrations = first
        .migrations
        .iter()
        .filter(|m| m.version == 1)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    first.run(&mut raw).await.unwrap();
    sqlx::query(
        "INSERT INTO relationships (uri, cid, author, rel_type, strength, context, visibility, \
         allow_discovery, allow_attestation, started_at, last_interaction_at, created_at, \
         indexed_at, record) VALUES ($1, $2, $3, 'personal', 60, 'met', 'public', true, true, \
         $4, $4, $4, $4, $5::jsonb)",
    )
    .bind(version_1::URI)
    .bind(version_1::CID)
    .bind(version_1::PARTICIPANTS[0])
    .bind(chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap())
    .bind(version_1::RECORD)
    .execute(&mut raw)
    .await
    .unwrap();
    for (position, did) in version_1::PARTICIPANTS.iter().enumerate() {
        sqlx::query(
            "INSERT INTO relationship_participants (relationship_uri, did, position) \
             VALUES ($1, $2, $3)",
        )
        .bind(version_1::URI)
        .bind(did)
        .bind(position as i16)
        .execute(&mut raw)
        .await
        .unwrap();
    }
    raw.close().await.ok();

    let store = rhiz_store::open(&database.url).await.unwrap();
    let outcome = tokio::spawn({
        let store = Arc::clone(&store);
        async move { contract::version_1_relationship_reads_back(&*store).await }
    })
    .await;
    store.close().await;
    database.drop_now().await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}
