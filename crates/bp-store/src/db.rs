//! [`Db`]: the service's database handle. It holds the primary pool, the
//! read replicas (`DATABASE_READ_URL`: reads that may lag go to a healthy
//! replica that has replayed what the caller wrote, see [`crate::replicas`]),
//! and a gauge of callers waiting for a connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bp_config::DatabaseConfig;
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::error::StoreError;
use crate::pool::{PoolSettings, connect};
use crate::replicas::{PRIMARY_POSITION, ReplicaStatus, Replicas, consistency};

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

/// How long a read waits for a replica's connection before it goes to the
/// primary instead: a live replica hands one out in well under this.
const REPLICA_ACQUIRE: Duration = Duration::from_millis(500);

/// Primary and read pools.
#[derive(Debug, Clone)]
pub struct Db {
    primary: PgPool,
    replicas: Option<Arc<Replicas>>,
    waiting: Arc<AtomicUsize>,
    row_security: bool,
    /// Behind a transaction pooler: the statement that opens each
    /// transaction on the primary (`BEGIN` plus the session's settings).
    pooler_begin: Option<Arc<str>>,
}

/// What each transaction sets for itself behind a transaction pooler
/// (`BP_DB_POOLER=transaction`): PgBouncer drops the startup options that
/// carry the statement timeout and the application role on a direct
/// connection, so every transaction opens with `BEGIN; SET LOCAL
/// statement_timeout = ...; SET LOCAL ROLE ...` in one round trip.
#[derive(Debug, Clone)]
pub struct PoolerSession {
    /// `statement_timeout` for every statement.
    pub statement_timeout: Duration,
    /// The role to act as (`bp_app`); `None` keeps the login role.
    pub role: Option<String>,
}

impl PoolerSession {
    fn begin_statement(&self) -> String {
        let mut sql = format!(
            "BEGIN; SET LOCAL statement_timeout = {}",
            self.statement_timeout.as_millis()
        );
        if let Some(role) = &self.role {
            // An identifier, quoted: the configured role is checked as a
            // plain name (`bp_config`), and a quote in it is doubled.
            sql.push_str(&format!("; SET LOCAL ROLE \"{}\"", role.replace('"', "\"\"")));
        }
        sql
    }
}

/// A pool as an executor, what [`Db::pool`] and [`Db::read`] hand out.
///
/// On PostgreSQL itself it is the pool. Behind PgBouncer in transaction
/// mode (`BP_DB_POOLER=transaction`) each statement runs in a transaction
/// of its own: sqlx prepares a statement (`Parse`, `Describe`, `Sync`)
/// before it executes it (`Bind`, `Execute`, `Sync`), and PgBouncer 1.18
/// hands the server connection back at every `Sync` outside a
/// transaction, so the two halves could land on different server
/// connections. The `COMMIT` is awaited before the statement's result is
/// returned: a write is durable when its caller sees it. It costs two more
/// round trips a statement, `BEGIN` and `COMMIT`, and the prepare the
/// missing statement cache would have saved (`bench store`'s `pooler_*`
/// figures measure them).
#[derive(Debug, Clone, Copy)]
pub struct Exec<'a> {
    pool: &'a PgPool,
    /// The statement that opens each statement's transaction; `None`: no
    /// transaction (a direct connection).
    begin: Option<&'a str>,
}

/// A new connection to `pool`'s server, pinged.
async fn probe_new_connection(pool: &PgPool) -> Result<(), sqlx::Error> {
    let options = pool.connect_options();
    let mut conn: PgConnection = sqlx::ConnectOptions::connect(&*options).await?;
    sqlx::Connection::ping(&mut conn).await?;
    let _ = sqlx::Connection::close(conn).await;
    Ok(())
}

/// A transaction on `pool`, opened with `begin` when given.
async fn begin_on(pool: &PgPool, begin: Option<&str>) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    match begin {
        Some(sql) => pool.begin_with(sql.to_owned()).await,
        None => pool.begin().await,
    }
}

impl Exec<'_> {
    /// A transaction on this pool: one server connection throughout,
    /// with the session's settings behind a transaction pooler.
    pub async fn begin(self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        begin_on(self.pool, self.begin).await
    }
}

/// For functions that open their own transaction on what they are given:
/// a transaction pins one server connection whatever the pooler. (A bare
/// connection from `acquire` is the pool's: behind a transaction pooler,
/// use it only inside a transaction.)
impl<'c> sqlx::Acquire<'c> for Exec<'c> {
    type Database = Postgres;
    type Connection = PoolConnection<Postgres>;

    fn acquire(self) -> futures_util::future::BoxFuture<'c, Result<Self::Connection, sqlx::Error>> {
        <&PgPool as sqlx::Acquire<'c>>::acquire(self.pool)
    }

    fn begin(self) -> futures_util::future::BoxFuture<'c, Result<Transaction<'c, Postgres>, sqlx::Error>> {
        use futures_util::FutureExt;
        async move { begin_on(self.pool, self.begin).await }.boxed()
    }
}

impl<'c> sqlx::Executor<'c> for Exec<'c> {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> futures_util::stream::BoxStream<
        'e,
        Result<sqlx::Either<sqlx::postgres::PgQueryResult, sqlx::postgres::PgRow>, sqlx::Error>,
    >
    where
        'c: 'e,
        E: 'q + sqlx::Execute<'q, Postgres>,
    {
        use futures_util::{StreamExt, TryStreamExt};
        let Some(begin) = self.begin else {
            return self.pool.fetch_many(query);
        };
        let pool = self.pool;
        // The rows are collected before the COMMIT: fine for the store's
        // statements, which page their results (an export streams on a
        // connection of its own, `Db::read_for`).
        futures_util::stream::once(async move {
            let mut tx = begin_on(pool, Some(begin)).await?;
            let items: Vec<_> = (&mut *tx).fetch_many(query).try_collect().await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(futures_util::stream::iter(items.into_iter().map(Ok)))
        })
        .try_flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> futures_util::future::BoxFuture<'e, Result<Option<sqlx::postgres::PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + sqlx::Execute<'q, Postgres>,
    {
        use futures_util::FutureExt;
        let Some(begin) = self.begin else {
            return self.pool.fetch_optional(query);
        };
        let pool = self.pool;
        async move {
            let mut tx = begin_on(pool, Some(begin)).await?;
            let row = (&mut *tx).fetch_optional(query).await?;
            tx.commit().await?;
            Ok(row)
        }
        .boxed()
    }

    /// Not wrapped: nothing in the service prepares or describes through
    /// the pool (behind a transaction pooler, do it inside a transaction).
    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [sqlx::postgres::PgTypeInfo],
    ) -> futures_util::future::BoxFuture<'e, Result<sqlx::postgres::PgStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.pool.prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> futures_util::future::BoxFuture<'e, Result<sqlx::Describe<Postgres>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.pool.describe(sql)
    }
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
    /// Wraps existing pools (tests, or a caller that built its own). The
    /// replica is not monitored: it serves every read that needs no
    /// position ([`Db::with_replicas`] for monitored ones).
    pub fn new(primary: PgPool, replica: Option<PgPool>) -> Self {
        Self {
            primary,
            replicas: replica.map(|r| Arc::new(Replicas::new(vec![r], Duration::MAX))),
            waiting: Arc::new(AtomicUsize::new(0)),
            row_security: false,
            pooler_begin: None,
        }
    }

    /// Marks the primary's URL as PgBouncer in transaction mode
    /// (`BP_DB_POOLER=transaction`; `None` for a direct connection): every
    /// statement on the primary, and every primary connection acting for a
    /// user, runs inside a transaction ([`Exec`]) that sets `session`'s
    /// settings. The primary pool must have been opened without a
    /// statement cache ([`crate::PoolSettings::transaction_pooler`]).
    /// Replicas are read directly.
    pub fn with_transaction_pooler(mut self, session: Option<PoolerSession>) -> Self {
        self.pooler_begin = session.map(|s| Arc::from(s.begin_statement()));
        self
    }

    /// Reads that may lag go to these replicas, each used while it answers,
    /// is at most `max_lag` behind and has replayed what the caller wrote;
    /// a monitor checks them every `interval`.
    pub fn with_replicas(mut self, pools: Vec<PgPool>, max_lag: Duration, interval: Duration) -> Self {
        if pools.is_empty() {
            self.replicas = None;
            return self;
        }
        let replicas = Arc::new(Replicas::new(pools, max_lag));
        replicas.spawn_monitor(self.primary.clone(), interval);
        self.replicas = Some(replicas);
        self
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

    /// Connects the primary (`url`) and the configured read replicas, all
    /// with the configured pool settings. A replica that is down now is
    /// connected lazily: it serves reads once it answers.
    pub async fn connect(url: &str, config: &DatabaseConfig) -> Result<Self, StoreError> {
        let settings = PoolSettings::from_config(config);
        let primary = connect(url, &settings).await?;
        // A replica that stops answering fails a read in half a second, not
        // after the primary's acquire timeout. Replicas are read directly
        // (a transaction pooler fronts the primary only), with the
        // statement cache.
        let replica_settings = PoolSettings {
            acquire_timeout: REPLICA_ACQUIRE,
            transaction_pooler: false,
            ..settings.clone()
        };
        let mut replicas = Vec::with_capacity(config.read_urls.len());
        for read in &config.read_urls {
            let options = crate::pool::connect_options(read.expose())?;
            replicas.push(crate::pool::lazy(options, &replica_settings));
        }
        Ok(Self::new(primary, None)
            .with_replicas(replicas, config.max_replica_lag, config.replica_check)
            .with_row_security(config.row_security)
            .with_transaction_pooler(config.transaction_pooler.then(|| PoolerSession {
                statement_timeout: config.statement_timeout,
                role: config.app_role.clone(),
            })))
    }

    /// The primary's WAL position now: at or past every commit made before
    /// it. After a user's write, the API records it so that the user's
    /// reads wait for a replica that has replayed it.
    pub async fn write_position(&self) -> Result<u64, StoreError> {
        crate::replicas::position(&self.primary, PRIMARY_POSITION).await
    }

    /// The lag beyond which a replica serves nothing (zero without
    /// replicas): how long a recorded write position must be kept.
    pub fn max_replica_lag(&self) -> Duration {
        self.replicas.as_ref().map_or(Duration::ZERO, |r| r.max_lag())
    }

    /// Each replica's last known state (empty without replicas).
    pub fn replica_status(&self) -> Vec<ReplicaStatus> {
        self.replicas.as_ref().map(|r| r.status()).unwrap_or_default()
    }

    /// The primary pool: every write, and reads that must see them.
    pub fn pool(&self) -> Exec<'_> {
        Exec {
            pool: &self.primary,
            begin: self.pooler_begin.as_deref(),
        }
    }

    /// The primary pool itself, for what pins a connection of its own (a
    /// transaction) or needs the pool (its numbers, closing it).
    pub fn primary(&self) -> &PgPool {
        &self.primary
    }

    /// A transaction on the primary.
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool().begin().await?)
    }

    /// A transaction on the primary for work done on `user`'s behalf:
    /// scoped to `user`'s rows ([`scope_to_user`]) when row security is on.
    pub async fn begin_for(&self, user: Uuid) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.pool().begin().await?;
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
        self.user_conn(self.pool(), user).await
    }

    /// [`Db::for_user`] on a replica that may serve the current request
    /// ([`Db::read`]); when that replica gives no connection at once (it
    /// died since the monitor's last check), the primary, and the replica
    /// is out of service until it answers again.
    pub async fn read_for(&self, user: Uuid) -> Result<UserConn, StoreError> {
        if let Some(replicas) = &self.replicas
            && let Some((index, pool)) = replicas.pick(consistency::required())
        {
            let replica = Exec { pool, begin: None };
            match tokio::time::timeout(REPLICA_ACQUIRE, self.user_conn(replica, user)).await {
                Ok(Ok(conn)) => return Ok(conn),
                Ok(Err(e)) => replicas.mark_down(index, &e.to_string()),
                Err(_) => replicas.mark_down(index, "no connection in time"),
            }
        }
        self.user_conn(self.pool(), user).await
    }

    /// Behind a transaction pooler the connection is a transaction even
    /// without row security: its statements must share a server connection.
    async fn user_conn(&self, exec: Exec<'_>, user: Uuid) -> Result<UserConn, StoreError> {
        if self.row_security || exec.begin.is_some() {
            let mut tx = exec.begin().await?;
            if self.row_security {
                scope_to_user(&mut tx, user).await?;
            }
            Ok(UserConn(UserConnInner::Scoped(tx)))
        } else {
            Ok(UserConn(UserConnInner::Plain(exec.pool.acquire().await?)))
        }
    }

    /// The pool for reads that may lag a little: a healthy replica that has
    /// replayed the current request's writes ([`consistency`]), else the
    /// primary. A statement on it fails when the replica died since the
    /// monitor's last check; [`crate::reading!`] runs such a read once more
    /// on the primary instead, and is what callers use.
    pub fn read(&self) -> Exec<'_> {
        self.read_replica().map_or(self.pool(), |(_, pool)| pool)
    }

    /// The replica [`Db::read`] would use, with its index, if any.
    pub fn read_replica(&self) -> Option<(usize, Exec<'_>)> {
        self.replicas
            .as_ref()
            .and_then(|r| r.pick(consistency::required()))
            .map(|(index, pool)| (index, Exec { pool, begin: None }))
    }

    /// After a read on replica `index` failed with `error`: true when the
    /// failure was the replica's, which takes it out of service until it
    /// answers again, so that the read can run again on the primary. An
    /// unavailability error is the replica's only when the replica then
    /// gives no answer on a new connection within 500 ms: a
    /// statement timeout, a serialization failure or a lock wait on a live
    /// replica is the read's own, returned as it is (not repeated on the
    /// primary).
    pub async fn replica_failed(&self, index: usize, error: &StoreError) -> bool {
        let unavailable = matches!(
            error,
            StoreError::Unavailable(_)
                | StoreError::ConnectionRefused { .. }
                | StoreError::Unreachable { .. }
        );
        let Some(replicas) = self.replicas.as_ref().filter(|_| unavailable) else {
            return false;
        };
        let Some(pool) = replicas.pool(index) else {
            return false;
        };
        // A new connection, not a pooled one: while a replica shuts down
        // (its backends "terminating connection due to administrator
        // command" one by one), a pooled connection may still answer for a
        // moment, but the server already refuses new ones.
        let probe = probe_new_connection(pool);
        let answers = tokio::time::timeout(REPLICA_ACQUIRE, probe)
            .await
            .is_ok_and(|r| r.is_ok());
        if !answers {
            replicas.mark_down(index, &error.to_string());
        }
        !answers
    }

    /// True when reads may go to replicas.
    pub fn has_replica(&self) -> bool {
        self.replicas.is_some()
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

    /// `SELECT 1` on the primary within `timeout`; a slow answer is
    /// [`StoreError::Unavailable`]. Replicas are not asked: one that is
    /// down costs speed, not readiness ([`Db::replica_status`]).
    pub async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        match tokio::time::timeout(timeout, crate::health::ping(&self.primary)).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Unavailable(format!(
                "no answer within {} ms",
                timeout.as_millis()
            ))),
        }
    }

    /// Closes every pool, waiting for lent connections to come back.
    pub async fn close(&self) {
        self.primary.close().await;
        if let Some(r) = &self.replicas {
            r.close().await;
        }
    }
}
