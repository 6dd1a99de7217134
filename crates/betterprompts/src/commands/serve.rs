//! `betterprompts serve`: the HTTP API with graceful shutdown.

use std::sync::Arc;

use anyhow::Context;
use bp_api::{App, AppState};
use bp_config::Settings;

use crate::cli::ServeArgs;

/// Serves until SIGINT or SIGTERM.
pub async fn run(settings: &Settings, instance: Option<&str>, args: ServeArgs) -> anyhow::Result<u8> {
    let (db, cache) = super::connect::platform(settings, instance).await?;
    let state = AppState(Arc::new(App { db, cache }));
    let addr = args.addr.unwrap_or(settings.server.listen);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    println!(
        "BetterPrompts API listening on http://{local}/api/v1 (ready check: http://{local}/api/v1/ready)"
    );
    tracing::info!(%local, "listening");
    bp_api::serve(listener, bp_api::router(state), shutdown_signal()).await?;
    println!("BetterPrompts API stopped");
    Ok(0)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
