//! [`Db`]: the service's database handle. It holds the primary pool, the
//! optional read pool (`DATABASE_READ_URL`: history pages and analytics may
//! read from a replica), and a gauge of callers waiting for a connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bp_config::DatabaseConfig;
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};

use crate::error::StoreError;
use crate::pool::{PoolSettings, connect};

/// Primary and read pools.
#[derive(Debug, Clone)]
pub struct Db {
    primary: PgPool,
    replica: Option<PgPool>,
    waiting: Arc<AtomicUsize>,
}

/// A snapshot of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    /// Open and idle.
    pub idle: usize,
    /// Open and lent out.
    pub in_use: usize,
    /// The ceiling.
    pub max: u32,
    /// Callers of [`Db::acquire`] waiting for a connection now.
    pub waiting: usize,
}

/// Counts one waiting caller for as long as it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(gauge: &'a AtomicUsize) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Self(gauge)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Db {
    /// Wraps existing pools (tests, or a caller that built its own).
    pub fn new(primary: PgPool, replica: Option<PgPool>) -> Self {
        Self {
            primary,
            replica,
            waiting: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Connects the primary (`url`) and, when the configuration has one,
    /// the read replica, both with the configured pool settings.
    pub async fn connect(url: &str, config: &DatabaseConfig) -> Result<Self, StoreError> {
        let settings = PoolSettings::from_config(config);
        let primary = connect(url, &settings).await?;
        let replica = match &config.read_url {
            Some(read) => Some(connect(read.expose(), &settings).await?),
            None => None,
        };
        Ok(Self::new(primary, replica))
    }

    /// The primary pool: every write, and reads that must see them.
    pub fn pool(&self) -> &PgPool {
        &self.primary
    }

    /// A transaction on the primary.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, crate::StoreError> {
        Ok(self.primary.begin().await?)
    }

    /// The pool for reads that may lag a little (history pages, stats,
    /// analytics): the replica when configured, else the primary.
    pub fn read(&self) -> &PgPool {
        self.replica.as_ref().unwrap_or(&self.primary)
    }

    /// True when reads go to a separate replica.
    pub fn has_replica(&self) -> bool {
        self.replica.is_some()
    }

    /// A primary connection, counted in [`PoolStats::waiting`] while the
    /// caller waits for it.
    pub async fn acquire(&self) -> Result<PoolConnection<Postgres>, StoreError> {
        // The guard also decrements when the caller gives up (the future is
        // dropped mid-wait, e.g. by a request timeout).
        let _waiting = Waiting::enter(&self.waiting);
        Ok(self.primary.acquire().await?)
    }

    /// The primary pool's numbers.
    pub fn stats(&self) -> PoolStats {
        let size = self.primary.size();
        let idle = self.primary.num_idle();
        PoolStats {
            size,
            idle,
            in_use: (size as usize).saturating_sub(idle),
            max: self.primary.options().get_max_connections(),
            waiting: self.waiting.load(Ordering::Relaxed),
        }
    }

    /// `SELECT 1` on the primary (and the replica, if any) within `timeout`;
    /// a slow answer is [`StoreError::Unavailable`].
    pub async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        let pools = std::iter::once(&self.primary).chain(self.replica.as_ref());
        for pool in pools {
            match tokio::time::timeout(timeout, crate::health::ping(pool)).await {
                Ok(result) => result?,
                Err(_) => {
                    return Err(StoreError::Unavailable(format!(
                        "no answer within {} ms",
                        timeout.as_millis()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Closes both pools, waiting for lent connections to come back.
    pub async fn close(&self) {
        self.primary.close().await;
        if let Some(r) = &self.replica {
            r.close().await;
        }
    }
}
