//! A real PgBouncer (Debian's `pgbouncer`, installed by `make test`) in
//! front of the test PostgreSQL, on a loopback port of its own, for tests
//! that run the store and the API through a pooler
//! ([`bp_infra::pgbouncer`] starts it).

use crate::env::test_env;

pub use bp_infra::pgbouncer::PoolMode;

/// A running PgBouncer for one test database; stopped on drop.
#[derive(Debug)]
pub struct TestPgBouncer {
    bouncer: bp_infra::pgbouncer::PgBouncer,
    _dir: tempfile::TempDir,
}

impl TestPgBouncer {
    /// PgBouncer in `mode` in front of the test server's database `database`,
    /// at most `pool_size` server connections; waits until it accepts.
    ///
    /// # Panics
    /// When `pgbouncer` (or `BP_PGBOUNCER`) is missing or does not start:
    /// a test fixture failing loudly is the point.
    pub fn start(database: &str, mode: PoolMode, pool_size: u32) -> Self {
        let upstream = bp_infra::pgbouncer::Upstream {
            database: database.to_owned(),
            ..bp_infra::pgbouncer::Upstream::from_url(&test_env().database_url)
                .unwrap_or_else(|e| panic!("test database URL: {e}"))
        };
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let bouncer = bp_infra::pgbouncer::PgBouncer::start(&upstream, mode, pool_size, dir.path())
            .unwrap_or_else(|e| panic!("starting pgbouncer: {e}"));
        Self { bouncer, _dir: dir }
    }

    /// A URL through PgBouncer to the database (no password: `auth_type = any`).
    pub fn url(&self) -> String {
        self.bouncer.url("bp_test")
    }

    /// The port PgBouncer listens on.
    pub fn port(&self) -> u16 {
        self.bouncer.port()
    }
}
