//! A real hot standby of the test PostgreSQL, for tests of read routing:
//! cloned with `pg_basebackup` and streaming through a replication slot,
//! exactly as `betterprompts infra up --replicas 1` makes one
//! ([`bp_infra::Infra::replicas_up`]). It belongs to the embedded instance
//! the tests run on (`make test`'s `test` instance, or `default`) and goes
//! away with it (`infra down --purge`).
//!
//! Tests may pause and resume its replay (`pg_wal_replay_pause()`, as the
//! instance's superuser) to make it lag by design, and stop and start it.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::env::test_env;

/// Serialises tests that use the replica: it is one server, and pausing
/// its replay or stopping it affects every reader.
static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The test server's replica 1, held exclusively while this lives.
pub struct TestReplica {
    infra: bp_infra::Infra,
    creds: bp_infra::Credentials,
    port: u16,
    _exclusive: tokio::sync::MutexGuard<'static, ()>,
}

impl std::fmt::Debug for TestReplica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestReplica")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// The embedded instance whose PostgreSQL serves the test URL's port.
fn instance() -> bp_infra::Infra {
    let url: PgConnectOptions = test_env()
        .database_url
        .parse()
        .unwrap_or_else(|e| panic!("test database URL: {e}"));
    let homes = std::env::var("BP_HOME")
        .ok()
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.bp")]);
    for home in homes {
        for name in ["test", "default"] {
            let infra = bp_infra::Infra::new(&home, name);
            if let Ok(Some(state)) = infra.state()
                && state.postgres.port == url.get_port()
            {
                return infra;
            }
        }
    }
    panic!("the test PostgreSQL is not an embedded instance: replica tests need `make test` or `infra up`")
}

impl TestReplica {
    /// The replica, started (and cloned on first use) if need be; waits for
    /// other tests that hold it.
    ///
    /// # Panics
    /// When the replica cannot be made: a broken fixture fails loudly.
    pub async fn start() -> Self {
        let exclusive = EXCLUSIVE.lock().await;
        let infra = instance();
        let replicas = infra
            .replicas_up(1, &|_| {})
            .await
            .unwrap_or_else(|e| panic!("starting the test replica: {e}"));
        let creds = bp_infra::Credentials::load(&infra.instance_dir()).unwrap_or_else(|e| panic!("{e}"));
        let port = replicas
            .first()
            .map_or_else(|| panic!("no replica was started"), |r| r.port);
        let replica = Self {
            infra,
            creds,
            port,
            _exclusive: exclusive,
        };
        // A test before this one may have left replay paused.
        replica.resume_replay().await;
        replica
    }

    /// The test role's options on the replica, for `database`.
    pub fn options(&self, database: &str) -> PgConnectOptions {
        let url: PgConnectOptions = test_env()
            .database_url
            .parse()
            .unwrap_or_else(|e| panic!("test database URL: {e}"));
        url.port(self.port).database(database)
    }

    async fn superuser(&self) -> PgConnection {
        PgConnection::connect_with(&bp_infra::superuser(self.port, &self.creds))
            .await
            .unwrap_or_else(|e| panic!("superuser on the replica: {e}"))
    }

    /// Stops applying WAL: the replica keeps receiving but lags by design.
    pub async fn pause_replay(&self) {
        let mut conn = self.superuser().await;
        sqlx::query("SELECT pg_wal_replay_pause()")
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("pausing replay: {e}"));
    }

    /// Applies WAL again.
    pub async fn resume_replay(&self) {
        let mut conn = self.superuser().await;
        sqlx::query("SELECT pg_wal_replay_resume()")
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("resuming replay: {e}"));
    }

    /// Stops the replica's server (fast shutdown: its sessions end).
    pub fn stop(&self) {
        self.infra
            .stop_replica(1)
            .unwrap_or_else(|e| panic!("stopping the replica: {e}"));
    }

    /// Starts it again; it catches up through its slot.
    pub async fn restart(&mut self) {
        let replicas = self
            .infra
            .replicas_up(1, &|_| {})
            .await
            .unwrap_or_else(|e| panic!("restarting the replica: {e}"));
        self.port = replicas.first().map_or(self.port, |r| r.port);
    }
}

/// How long a test waits for the replica to catch up with the primary.
pub const CATCH_UP: Duration = Duration::from_secs(30);
