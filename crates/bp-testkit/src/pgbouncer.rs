//! A real PgBouncer (Debian's `pgbouncer`, installed by `make test`) in
//! front of the test PostgreSQL, on a loopback port of its own, for tests
//! that run the store and the API through a pooler.
//!
//! It listens with `auth_type = any` (loopback only, a test's database) and
//! connects to PostgreSQL with the test role's own credentials, written to
//! a config file only the process's user can read. As root it runs as
//! PostgreSQL's unprivileged user, since PgBouncer refuses to run as root.

use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::env::test_env;

/// How PgBouncer hands server connections to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    /// A server connection per client connection, for its whole life.
    Session,
    /// A server connection per transaction.
    Transaction,
}

/// A running PgBouncer for one test database; stopped on drop.
pub struct TestPgBouncer {
    child: Child,
    port: u16,
    database: String,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestPgBouncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPgBouncer")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl TestPgBouncer {
    /// PgBouncer in `mode` in front of the test server's database `database`,
    /// at most `pool_size` server connections; waits until it accepts.
    ///
    /// # Panics
    /// When `pgbouncer` (or `BP_PGBOUNCER`) is missing or does not start:
    /// a test fixture failing loudly is the point.
    pub fn start(database: &str, mode: PoolMode, pool_size: u32) -> Self {
        let binary = std::env::var("BP_PGBOUNCER").unwrap_or_else(|_| "/usr/sbin/pgbouncer".into());
        assert!(
            std::path::Path::new(&binary).is_file(),
            "{binary} is missing: `make test` installs Debian's pgbouncer package (or set BP_PGBOUNCER)"
        );
        let upstream: sqlx::postgres::PgConnectOptions = test_env()
            .database_url
            .parse()
            .unwrap_or_else(|e| panic!("test database URL: {e}"));
        let password = password_of(&test_env().database_url);
        let port = free_port();
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mode_name = match mode {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
        };
        let ini = format!(
            "[databases]\n\
             {database} = host={host} port={upstream_port} dbname={database} user={user} password={password}\n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = any\n\
             pool_mode = {mode_name}\n\
             default_pool_size = {pool_size}\n\
             max_client_conn = 500\n\
             ignore_startup_parameters = extra_float_digits,options,search_path\n\
             server_reset_query = DISCARD ALL\n",
            host = upstream.get_host(),
            upstream_port = upstream.get_port(),
            user = upstream.get_username(),
        );
        let config = dir.path().join("pgbouncer.ini");
        std::fs::write(&config, ini).unwrap_or_else(|e| panic!("{e}"));
        // PgBouncer refuses to run as root: as root it runs as PostgreSQL's
        // own unprivileged user, which alone may read the config.
        let run_as = bp_infra::service_user::RunAs::for_postgres().unwrap_or_else(|e| panic!("{e}"));
        for path in [dir.path(), config.as_path()] {
            run_as.own(path).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut cmd = run_as.command(&binary, dir.path());
        let child = cmd
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
        let bouncer = Self {
            child,
            port,
            database: database.to_owned(),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pgbouncer did not listen on {port} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        bouncer
    }

    /// A URL through PgBouncer to the database (no password: `auth_type = any`).
    pub fn url(&self) -> String {
        format!("postgres://bp_test@127.0.0.1:{}/{}", self.port, self.database)
    }

    /// The port PgBouncer listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for TestPgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// The password in a `postgres://user:password@host/db` URL ("" if none).
fn password_of(url: &str) -> String {
    let Some(rest) = url.split_once("://").map(|(_, r)| r) else {
        return String::new();
    };
    let userinfo = rest
        .split('@')
        .next()
        .filter(|_| rest.contains('@'))
        .unwrap_or("");
    userinfo
        .split_once(':')
        .map(|(_, p)| p.to_owned())
        .unwrap_or_default()
}
