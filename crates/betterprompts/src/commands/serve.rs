//! `betterprompts serve`: the HTTP API with graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use std::io::Write as _;

use anyhow::Context;
use bp_api::{ApiConfig, App, AppState};
use bp_config::Settings;

use crate::cli::ServeArgs;

/// Serves until SIGINT or SIGTERM.
pub async fn run(settings: &Settings, instance: Option<&str>, args: ServeArgs) -> anyhow::Result<u8> {
    let (db, cache) = super::connect::platform(settings, instance, super::connect::Role::App).await?;
    let service = super::connect::service(settings, db.clone(), cache.clone()).await?;
    let _refresh = service.spawn_refresh(settings.engine.refresh_interval);
    let _rollup =
        bp_api::recorder::spawn_rollup(db.clone(), cache.clone(), std::time::Duration::from_secs(3600));
    let jwt = super::keys::jwt_keys(settings)?;
    let outbox = bp_api::mail::Outbox::Dir(settings.home.home.join("outbox"));
    let mut config = ApiConfig::from_settings(&settings.server, jwt, outbox);
    config.web = load_web(settings.server.web_dir.as_deref());
    let statements = spawn_statement_flush(cache.clone());
    let state = AppState(Arc::new(
        App::new(db, cache.clone(), Some(service), config).await?,
    ));
    let addr = args.addr.unwrap_or(settings.server.listen);
    // Read the certificate before binding, so a bad file fails at once.
    let tls = match &settings.server.tls {
        Some(files) => Some(bp_api::tls::acceptor(&files.cert, &files.key).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "BetterPrompts API listening on {scheme}://{local}/api/v1 (ready check: {scheme}://{local}/api/v1/ready)"
    );
    tracing::info!(%local, scheme, "listening");
    if state.web.is_some() {
        println!("Web application at {scheme}://{local}/");
    }
    match tls {
        Some(acceptor) => bp_api::serve_tls(listener, acceptor, state, shutdown_signal()).await?,
        None => bp_api::serve(listener, state, shutdown_signal()).await?,
    }
    statements.abort();
    flush_statements(&cache).await;
    // stdout may be gone by now (a closed pipe): not worth a panic.
    let _ = writeln!(std::io::stdout(), "BetterPrompts API stopped");
    Ok(0)
}

/// The built web application, if `dir` holds one. A missing build is no
/// error (the API runs alone; `make web` builds the page); an unreadable
/// one is logged and left out.
fn load_web(dir: Option<&std::path::Path>) -> Option<Arc<bp_api::web::WebApp>> {
    let dir = dir?;
    match bp_api::web::WebApp::load(dir) {
        Ok(Some(web)) => {
            tracing::info!(dir = %dir.display(), files = web.len(), "serving the web application at /");
            Some(Arc::new(web))
        }
        Ok(None) => {
            tracing::warn!(
                dir = %dir.display(),
                "no web application built there (no index.html): only the API is served; build it with `make web`"
            );
            None
        }
        Err(e) => {
            tracing::error!(dir = %dir.display(), error = %e, "cannot read the web application: only the API is served");
            None
        }
    }
}

/// How often this process's slow-statement timings go to Redis.
const STATEMENT_FLUSH: Duration = Duration::from_secs(10);

/// Moves the slow-statement timings recorded in this process (see
/// `bp_store::slow`) into Redis every [`STATEMENT_FLUSH`], for `db stats`.
fn spawn_statement_flush(cache: bp_cache::Cache) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(STATEMENT_FLUSH);
        loop {
            tick.tick().await;
            flush_statements(&cache).await;
        }
    })
}

async fn flush_statements(cache: &bp_cache::Cache) {
    let items: Vec<bp_cache::StatementStats> = bp_store::slow::drain()
        .into_iter()
        .map(|t| bp_cache::StatementStats {
            sql: t.sql,
            calls: t.calls,
            total_us: t.total_us,
            max_us: t.max_us,
        })
        .collect();
    // Best effort, like the cache's own counters: a Redis outage loses
    // these timings, never a request.
    if let Err(e) = cache.add_statement_stats(&items).await {
        tracing::debug!(error = %e, "slow-statement timings not flushed");
    }
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
