//! The connection pool: the guide's 25 max / 5 idle by default, a bounded
//! acquire wait, and a server-side statement timeout on every connection.

use std::time::Duration;

use bp_config::DatabaseConfig;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use crate::error::StoreError;

/// Prepared statements kept per connection (sqlx's statement cache).
pub const STATEMENT_CACHE: usize = 256;

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most open connections.
    pub max_connections: u32,
    /// Connections kept open when idle.
    pub min_connections: u32,
    /// How long a caller waits for a connection.
    pub acquire_timeout: Duration,
    /// `statement_timeout` for every statement.
    pub statement_timeout: Duration,
    /// Statements slower than this are logged at WARN (and recorded by
    /// [`crate::slow::SlowStatementLayer`] where it is installed).
    pub slow_statement: Duration,
    /// The role each connection takes at start (`-c role=...` in the
    /// startup packet, so it costs no round trip): `serve` runs as the
    /// privilege role `bp_app` (migration 0010), one-shot owner commands
    /// with `None`.
    pub role: Option<String>,
    /// The URL leads to PgBouncer in transaction mode: no statement cache
    /// (a statement prepared in one transaction may be gone, or another
    /// client's, in the next; see [`crate::Db::pool`]).
    pub transaction_pooler: bool,
}

impl PoolSettings {
    /// Settings from the configuration.
    pub fn from_config(cfg: &DatabaseConfig) -> Self {
        Self {
            max_connections: cfg.max_connections,
            min_connections: cfg.min_connections,
            acquire_timeout: cfg.acquire_timeout,
            statement_timeout: cfg.statement_timeout,
            slow_statement: cfg.slow_statement,
            role: cfg.app_role.clone(),
            transaction_pooler: cfg.transaction_pooler,
        }
    }

    /// Small settings for tests and one-shot commands.
    pub fn small() -> Self {
        Self {
            max_connections: 5,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(60),
            slow_statement: Duration::from_millis(200),
            role: None,
            transaction_pooler: false,
        }
    }
}

/// Parses a database URL into connect options (statement logging at debug,
/// application name set). The error never repeats the URL.
pub fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    let options: PgConnectOptions = url
        .parse()
        .map_err(|e: sqlx::Error| StoreError::Rejected(format!("DATABASE_URL is invalid: {}", redact(&e))))?;
    Ok(options.application_name("betterprompts"))
}

fn redact(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Configuration(e) => e.to_string(),
        other => other.to_string(),
    }
}

/// Opens a pool after one direct connection attempt, so that a wrong
/// password, a missing database or a stopped server is reported as such
/// at once rather than as a pool timeout.
pub async fn connect(url: &str, settings: &PoolSettings) -> Result<PgPool, StoreError> {
    let options = connect_options(url)?;
    connect_with(options, settings).await
}

/// The options every pool's connections get: the statement timeout, the
/// statement cache, slow-statement logging and the application role.
fn with_settings(options: PgConnectOptions, settings: &PoolSettings) -> PgConnectOptions {
    let timeout_ms = settings.statement_timeout.as_millis().to_string();
    let options = options
        .options([("statement_timeout", timeout_ms.as_str())])
        .statement_cache_capacity(if settings.transaction_pooler {
            0
        } else {
            STATEMENT_CACHE
        })
        .log_slow_statements(log::LevelFilter::Warn, settings.slow_statement);
    match &settings.role {
        Some(role) => options.options([("role", role.as_str())]),
        None => options,
    }
}

/// A pool with [`connect_with`]'s settings that connects on first use and
/// keeps no idle connections: for a read replica, which may be down when
/// the service starts and is used once it answers.
pub fn lazy(options: PgConnectOptions, settings: &PoolSettings) -> PgPool {
    pool_options(settings)
        .min_connections(0)
        .connect_lazy_with(with_settings(options, settings))
}

/// [`connect`] with parsed options.
pub async fn connect_with(options: PgConnectOptions, settings: &PoolSettings) -> Result<PgPool, StoreError> {
    let options = with_settings(options, settings);
    let probe = tokio_timeout(settings.acquire_timeout, PgConnection::connect_with(&options)).await;
    match probe {
        Ok(conn) => conn.close().await.map_err(StoreError::Database)?,
        Err(e) => return Err(StoreError::from_connect(e, &options)),
    }
    pool_options(settings)
        .min_connections(settings.min_connections)
        .connect_with(options.clone())
        .await
        .map_err(|e| StoreError::from_connect(e, &options))
}

/// test_before_acquire pings a connection before handing it out, so
/// connections broken by a server restart are found and replaced instead of
/// failing the caller's query. It costs one round trip per acquire (see
/// docs/benchmarks.md); pinging only connections idle for a while (the
/// HikariCP rule) was tried and let a dead connection through after a
/// restart, because the pool's maintenance task resets idle times.
fn pool_options(settings: &PoolSettings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .idle_timeout(Duration::from_secs(600))
        .test_before_acquire(true)
}

/// A pool that connects on first use (for readiness checks against a server
/// that may be down at start).
pub fn connect_lazy(url: &str, settings: &PoolSettings) -> Result<PgPool, StoreError> {
    let options = connect_options(url)?;
    Ok(pool_options(settings)
        .min_connections(0)
        .connect_lazy_with(options.disable_statement_logging()))
}

async fn tokio_timeout<T>(
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::PoolTimedOut),
    }
}
