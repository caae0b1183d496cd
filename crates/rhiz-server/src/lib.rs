//! rhiz-server: the wiring of rhiz. Configuration, the HTTP API, health, and
//! the `rhiz` command line; the binary in `main.rs` only calls [`cli::run`].
//!
//! The application is a plain axum [`Router`](axum::Router) built by
//! [`app`] from an [`AppState`], so tests drive it without a socket:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use tower::ServiceExt;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let config = rhiz_server::config::Config {
//!     data_dir: dir.path().to_owned(),
//!     ..Default::default()
//! };
//! let store = rhiz_store::open(&config.store_url()).await.unwrap();
//! let state = rhiz_server::AppState::start(store, config).await.unwrap();
//! let request = axum::http::Request::get("/health").body(axum::body::Body::empty()).unwrap();
//! let response = rhiz_server::app(state).oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//! # }
//! ```

pub mod answer_cache;
pub mod api;
mod app;
pub mod apply;
pub mod change_feed;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data_dir_lock;
mod handle_resolution;
pub mod import;
pub mod ingest;
pub mod live_graph;
mod server;
mod telemetry;
pub mod trust_service;

use std::sync::Arc;

pub use app::app;
pub use handle_resolution::{HandleResolver, ResolverSetupError};
pub use server::serve;

/// How long one handle resolution (DNS or HTTPS) may take.
const HANDLE_RESOLUTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The persistent store.
    pub store: Arc<dyn rhiz_store::Store>,
    /// The effective configuration.
    pub config: Arc<config::Config>,
    /// Handle → DID resolution, unless `handle_resolution` is off.
    pub handles: Option<Arc<HandleResolver>>,
    /// The in-memory trust graph the queries run on.
    pub graph: Arc<live_graph::LiveGraph>,
    /// What each applied event changed.
    pub changes: Arc<change_feed::ChangeFeed>,
    /// The apply step (to wait for one event's outcome).
    pub applier: Arc<apply::Applier>,
    /// The durable event pipeline every write goes through.
    pub pipeline: rhiz_events::Pipeline<rhiz_protocol::Event>,
    /// The latest trust metrics, recomputed in the background.
    pub trust: Arc<trust_service::TrustService>,
    /// Computed answers (see [`answer_cache`]), invalidated by the apply step.
    pub cache: rhiz_cache::Cache,
    /// This process's exclusive hold on the data directory.
    pub data_dir_lock: Arc<data_dir_lock::DataDirLock>,
    /// When the service started, for `uptime_seconds`.
    pub started_at: std::time::Instant,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store.backend())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Another process uses the data directory.
    #[error(transparent)]
    Locked(#[from] data_dir_lock::LockError),
    /// Handle resolution could not be set up.
    #[error(transparent)]
    Resolver(#[from] ResolverSetupError),
    /// The graph could not be loaded from the store.
    #[error("cannot load the graph from the store: {0}")]
    Graph(#[from] rhiz_store::StoreError),
    /// The event log could not be opened, or the pipeline configured.
    #[error("cannot start the event pipeline: {0}")]
    Events(#[from] rhiz_events::EventsError),
    /// The answer cache could not be built.
    #[error("cannot build the cache: {0}")]
    Cache(#[from] rhiz_cache::CacheError),
}

impl AppState {
    /// Starts everything behind the API for `config` over `store`: handle
    /// resolution as configured, the graph loaded from the store, the
    /// answer cache, the embedded event log in the data directory and the
    /// pipeline applying it (which first applies whatever the log still
    /// holds).
    pub async fn start(
        store: Arc<dyn rhiz_store::Store>,
        config: config::Config,
    ) -> Result<AppState, StartError> {
        let data_dir_lock = Arc::new(data_dir_lock::DataDirLock::acquire(&config.data_dir)?);
        let handles = if config.handle_resolution {
            let resolver = HandleResolver::new(&config.dns_servers, HANDLE_RESOLUTION_TIMEOUT)?;
            Some(Arc::new(resolver))
        } else {
            None
        };
        let (graph, loaded) = live_graph::LiveGraph::load(store.as_ref()).await?;
        tracing::info!(
            relationships = loaded.relationships,
            attestations = loaded.attestations,
            elapsed_ms = loaded.elapsed.as_millis() as u64,
            "graph loaded from the store"
        );
        let graph = Arc::new(graph);
        let changes = Arc::new(change_feed::ChangeFeed::new());
        let trust = trust_service::TrustService::start(
            Arc::clone(&graph),
            &changes,
            config.trust_seeds.clone(),
        )
        .await;
        let cache = answer_cache::build(&config)?;
        let applier = Arc::new(apply::Applier::new(
            Arc::clone(&store),
            Some(Arc::clone(&graph)),
            Arc::clone(&changes),
            cache.clone(),
        ));
        let pipeline = start_pipeline(&config, Arc::clone(&applier)).await?;
        Ok(AppState {
            store,
            config: Arc::new(config),
            handles,
            graph,
            changes,
            applier,
            pipeline,
            trust,
            cache,
            data_dir_lock,
            started_at: std::time::Instant::now(),
        })
    }

    /// Stops the pipeline (in-flight applies finish, the rest stays durable
    /// in the log) and closes the store.
    pub async fn shutdown(&self) {
        stop(&self.pipeline, self.store.as_ref()).await;
    }
}

/// The write side alone, for an offline `rhiz import`: the data directory's
/// lock, the store, and the pipeline applying to it.
///
/// It keeps no graph and computes no trust: nothing queries an import, and
/// `rhiz serve` loads its graph from the store when it starts. (Importing
/// 20,000 relationships, the graph and trust upkeep were 12 % of the
/// instructions.) Cached answers are still invalidated as each event is
/// applied, for a shared Redis tier.
pub struct ImportState {
    /// The persistent store.
    pub store: Arc<dyn rhiz_store::Store>,
    /// The durable event pipeline, applying to the store.
    pub pipeline: rhiz_events::Pipeline<rhiz_protocol::Event>,
    _data_dir_lock: data_dir_lock::DataDirLock,
}

impl ImportState {
    /// Locks the data directory and starts the pipeline on `store` (which
    /// first applies whatever the log still holds).
    pub async fn start(
        store: Arc<dyn rhiz_store::Store>,
        config: &config::Config,
    ) -> Result<ImportState, StartError> {
        let data_dir_lock = data_dir_lock::DataDirLock::acquire(&config.data_dir)?;
        let cache = answer_cache::build(config)?;
        let applier = Arc::new(apply::Applier::new(
            Arc::clone(&store),
            None,
            Arc::new(change_feed::ChangeFeed::new()),
            cache,
        ));
        let pipeline = start_pipeline(config, applier).await?;
        Ok(ImportState {
            store,
            pipeline,
            _data_dir_lock: data_dir_lock,
        })
    }

    /// Stops the pipeline (in-flight applies finish, the rest stays durable
    /// in the log) and closes the store.
    pub async fn shutdown(&self) {
        stop(&self.pipeline, self.store.as_ref()).await;
    }
}

impl std::fmt::Debug for ImportState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportState")
            .field("store", &self.store.backend())
            .finish_non_exhaustive()
    }
}

/// Stops `pipeline` (in-flight applies finish, the rest stays durable in
/// the log) and closes `store`.
async fn stop(
    pipeline: &rhiz_events::Pipeline<rhiz_protocol::Event>,
    store: &dyn rhiz_store::Store,
) {
    if let Err(error) = pipeline.shutdown().await {
        tracing::error!(%error, "the event pipeline did not stop cleanly");
    }
    store.close().await;
}

/// The pipeline on the configured event log: the embedded file, or the
/// Redis stream with its apply lease (only the holder applies).
async fn start_pipeline(
    config: &config::Config,
    applier: Arc<apply::Applier>,
) -> Result<rhiz_events::Pipeline<rhiz_protocol::Event>, rhiz_events::EventsError> {
    let handler = applier as Arc<dyn rhiz_events::Handler<rhiz_protocol::Event>>;
    let codec = Arc::new(rhiz_events::JsonCodec::new());
    match (config.event_log, &config.redis_url) {
        (config::EventLogKind::Redis, Some(url)) => {
            let options = rhiz_events::RedisLogOptions {
                prefix: format!("{}:events", config.redis_prefix),
                idempotency_retention: config.idempotency_retention(),
                ..rhiz_events::RedisLogOptions::default()
            };
            let log = rhiz_events::RedisStreamsEventLog::connect(url, options).await?;
            let lease = log.lease(rhiz_events::LeaseOptions::default())?;
            tracing::info!(
                consumer = log.consumer(),
                "event log: Redis stream, applying while holding the lease"
            );
            rhiz_events::Pipeline::builder(Arc::new(log), handler, codec)
                .config(config.pipeline_config())
                .lease(lease)
                .build()
                .await
        }
        (kind, _) => {
            let log = open_embedded_log(config, kind).await?;
            rhiz_events::Pipeline::builder(log, handler, codec)
                .config(config.pipeline_config())
                .build()
                .await
        }
    }
}

/// The embedded log in the data directory: the file log, or SQLite when
/// asked for or when the directory holds only an SQLite log (from a rhiz
/// before the file log), so that no accepted event is left behind in it.
async fn open_embedded_log(
    config: &config::Config,
    kind: config::EventLogKind,
) -> Result<Arc<dyn rhiz_events::EventLog>, rhiz_events::EventsError> {
    let sqlite = config.data_dir.join(EVENT_LOG_FILE);
    let file = config.data_dir.join(EVENT_LOG_DIR);
    let keep_sqlite = sqlite.exists() && !file.exists();
    if kind == config::EventLogKind::Sqlite || keep_sqlite {
        if kind != config::EventLogKind::Sqlite {
            tracing::info!(
                path = %sqlite.display(),
                "event log: keeping this data directory's SQLite log (event_log = \"sqlite\"); \
                 move it aside once it has no pending events or dead letters to use the file log"
            );
        }
        let options = rhiz_events::SqliteLogOptions {
            idempotency_retention: config.idempotency_retention(),
            ..rhiz_events::SqliteLogOptions::default()
        };
        return Ok(Arc::new(
            rhiz_events::SqliteEventLog::open(sqlite, options).await?,
        ));
    }
    let options = rhiz_events::FileLogOptions {
        idempotency_retention: config.idempotency_retention(),
        ..rhiz_events::FileLogOptions::default()
    };
    Ok(Arc::new(
        rhiz_events::FileEventLog::open(file, options).await?,
    ))
}

/// The SQLite event log's file in the data directory.
pub const EVENT_LOG_FILE: &str = "events.db";

/// The file event log's directory in the data directory.
pub const EVENT_LOG_DIR: &str = "events";

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> rhiz_events::NewEvent {
        rhiz_events::NewEvent {
            id: id.into(),
            key: "at://did:plc:abc/net.rhiz.relationship.record/1".into(),
            lane: rhiz_events::Lane::Normal,
            event_type: "relationship.created".into(),
            payload: b"{}".to_vec(),
        }
    }

    /// The default embedded log of a server whose data directory is `dir`.
    async fn embedded_log_in(dir: &std::path::Path) -> Arc<dyn rhiz_events::EventLog> {
        let config = config::Config {
            data_dir: dir.to_path_buf(),
            ..config::Config::default()
        };
        open_embedded_log(&config, config::EventLogKind::Embedded)
            .await
            .unwrap()
    }

    /// A data directory from before the file log, with events still
    /// pending in its `events.db`, keeps its SQLite log: nothing accepted
    /// there is left behind. A new directory gets the file log.
    #[tokio::test]
    async fn the_embedded_log_is_the_file_unless_the_directory_has_only_an_sqlite_log() {
        use rhiz_events::EventLog;

        let old = tempfile::tempdir().unwrap();
        let sqlite = rhiz_events::SqliteEventLog::open(
            old.path().join(EVENT_LOG_FILE),
            rhiz_events::SqliteLogOptions::default(),
        )
        .await
        .unwrap();
        sqlite.append_one(event("pending")).await.unwrap();
        sqlite.close().await.unwrap();
        let log = embedded_log_in(old.path()).await;
        assert_eq!(log.counts().await.unwrap().pending_total(), 1);
        assert!(!old.path().join(EVENT_LOG_DIR).exists());

        let new = tempfile::tempdir().unwrap();
        let log = embedded_log_in(new.path()).await;
        log.append_one(event("new")).await.unwrap();
        assert!(new.path().join(EVENT_LOG_DIR).is_dir());
        assert!(!new.path().join(EVENT_LOG_FILE).exists());
    }
}
