//! Running the HTTP server with graceful shutdown.

use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::{app, AppState};

/// Opens the store, serves HTTP on `config.listen` until SIGINT or SIGTERM,
/// lets in-flight requests finish (up to `shutdown_grace_seconds`), then
/// closes the store.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let store_url = config.store_url();
    let store = rhiz_store::open(&store_url).await.with_context(|| {
        format!(
            "cannot open the store at {}",
            rhiz_store::mask_password(&store_url)
        )
    })?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    tracing::info!(
        listen = %listener.local_addr()?,
        store = %store.backend(),
        "rhiz is starting"
    );
    let state = AppState::start(store, config).await?;
    tracing::info!("rhiz is serving");

    let (stop_tx, mut stop_rx) = watch::channel(false);
    let server = axum::serve(listener, app(state.clone())).with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: no new connections, finishing in-flight requests");
        let _ = stop_tx.send(true);
    });
    let deadline = async move {
        let _ = stop_rx.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(grace).await;
    };
    let outcome = tokio::select! {
        result = server => result.context("the HTTP server failed"),
        () = deadline => {
            tracing::warn!(grace_seconds = grace.as_secs(), "in-flight requests did not finish in time");
            Ok(())
        }
    };
    state.shutdown().await;
    tracing::info!("pipeline stopped and store closed, bye");
    outcome
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
