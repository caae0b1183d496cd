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
//! let state = rhiz_server::AppState::new(store, config).unwrap();
//! let request = axum::http::Request::get("/health").body(axum::body::Body::empty()).unwrap();
//! let response = rhiz_server::app(state).oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//! # }
//! ```

pub mod api;
mod app;
pub mod cli;
pub mod config;
mod handle_resolution;
mod server;
mod telemetry;

use std::sync::Arc;

pub use app::app;
pub use handle_resolution::{HandleResolver, ResolverSetupError};
pub use server::serve;

/// How long one handle resolution (DNS or HTTPS) may take.
const HANDLE_RESOLUTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// What every request handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The persistent store.
    pub store: Arc<dyn rhiz_store::Store>,
    /// The effective configuration.
    pub config: Arc<config::Config>,
    /// Handle → DID resolution, unless `handle_resolution` is off.
    pub handles: Option<Arc<HandleResolver>>,
}

impl AppState {
    /// The state for `config` over `store`, with handle resolution set up as
    /// configured.
    pub fn new(
        store: Arc<dyn rhiz_store::Store>,
        config: config::Config,
    ) -> Result<AppState, ResolverSetupError> {
        let handles = if config.handle_resolution {
            let resolver = HandleResolver::new(&config.dns_servers, HANDLE_RESOLUTION_TIMEOUT)?;
            Some(Arc::new(resolver))
        } else {
            None
        };
        Ok(AppState {
            store,
            config: Arc::new(config),
            handles,
        })
    }
}
