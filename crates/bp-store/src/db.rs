//! [`Db`]: the service's database handle. It holds the primary pool, the
//! optional read pool (`DATABASE_READ_URL`: history pages and analytics may
//! read from a replica), and a gauge of callers waiting for a connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bp_config::DatabaseConfig;
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::error::StoreError;
use crate::pool::{PoolSettings, connect};

/// Sets `bp.user_id` to `user` until the current transaction ends. Under
/// the application role (`bp_app`, migration 0010) row-level security then
/// shows and accepts only `user`'s rows in history, saved prompts,
/// collections, preferences, sessions and API keys: a query that forgot
/// its `user_id` filter finds nothing of anyone else's. Owners bypass it.
pub async fn scope_to_user(conn: &mut PgConnection, user: Uuid) -> Result<(), StoreError> {
    sqlx::query("SELECT set_config('bp.user_id', $1, true)")
        .bind(user.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Primary and read pools.
#[derive(Debug, Clone)]
pub struct Db {
    primary: PgPool,
    replica: Option<PgPool>,
    waiting: Arc<AtomicUsize>,
    row_security: bool,
}

/// A connection acting for one user ([`Db::for_user`]): a transaction with
/// `bp.user_id` set when row security is on, else a plain pooled
/// connection. Use it as an executor with `&mut *conn`, then
/// [`UserConn::finish`] (dropping it instead rolls back a transaction).
#[derive(Debug)]
pub struct UserConn(UserConnInner);

#[derive(Debug)]
enum UserConnInner {
    Scoped(Transaction<'static, Postgres>),
    Plain(PoolConnection<Postgres>),
}

impl UserConn {
    /// Commits the scoped transaction; a plain connection just goes back
    /// to the pool.
    pub async fn finish(self) -> Result<(), StoreError> {
        match self.0 {
            UserConnInner::Scoped(tx) => Ok(tx.commit().await?),
            UserConnInner::Plain(_) => Ok(()),
        }
    }
}

impl std::ops::Deref for UserConn {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match &self.0 {
            UserConnInner::Scoped(tx) => tx,
            UserConnInner::Plain(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for UserConn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match &mut self.0 {
            UserConnInner::Scoped(tx) => tx,
            UserConnInner::Plain(conn) => conn,
        }
    }
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
            row_security: false,
        }
    }

    /// Turns per-user scoping on or off ([`Db::for_user`],
    /// [`Db::begin_for`]; `BP_DB_ROW_SECURITY`).
    pub fn with_row_security(mut self, on: bool) -> Self {
        self.row_security = on;
        self
    }

    /// True when requests acting for a user run scoped to that user.
    pub fn row_security(&self) -> bool {
        self.row_security
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
        Ok(Self::new(primary, replica).with_row_security(config.row_security))
    }

    /// The primary pool: every write, and reads that must see them.
    pub fn pool(&self) -> &PgPool {
        &self.primary
    }

    /// A transaction on the primary.
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.primary.begin().await?)
    }

    /// A transaction on the primary for work done on `user`'s behalf:
    /// scoped to `user`'s rows ([`scope_to_user`]) when row security is on.
    pub async fn begin_for(&self, user: Uuid) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.primary.begin().await?;
        if self.row_security {
            scope_to_user(&mut tx, user).await?;
        }
        Ok(tx)
    }

    /// A primary connection for single statements on `user`'s behalf: a
    /// transaction scoped to `user` when row security is on (three round
    /// trips more: `BEGIN`, the setting, `COMMIT`), else a pooled
    /// connection as [`Db::pool`] would use.
    pub async fn for_user(&self, user: Uuid) -> Result<UserConn, StoreError> {
        Self::user_conn(&self.primary, self.row_security, user).await
    }

    /// [`Db::for_user`] on the read pool.
    pub async fn read_for(&self, user: Uuid) -> Result<UserConn, StoreError> {
        Self::user_conn(self.read(), self.row_security, user).await
    }

    async fn user_conn(pool: &PgPool, row_security: bool, user: Uuid) -> Result<UserConn, StoreError> {
        if row_security {
            let mut tx = pool.begin().await?;
            scope_to_user(&mut tx, user).await?;
            Ok(UserConn(UserConnInner::Scoped(tx)))
        } else {
            Ok(UserConn(UserConnInner::Plain(pool.acquire().await?)))
        }
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
