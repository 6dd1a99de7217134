//! A PgBouncer (Debian's `pgbouncer`) in front of one PostgreSQL database,
//! on a loopback port of its own: what the test kit's pooler tests and
//! `bench store`'s pooler stage run the store through.
//!
//! It listens with `auth_type = any` (loopback only) and connects to
//! PostgreSQL with the given credentials, written to a config file only
//! the process's user can read. As root it runs as PostgreSQL's
//! unprivileged user, since PgBouncer refuses to run as root.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use percent_encoding::percent_decode_str;

use crate::error::{InfraError, Result};
use crate::service_user::RunAs;

/// How PgBouncer hands server connections to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    /// A server connection per client connection, for its whole life.
    Session,
    /// A server connection per transaction (the service needs
    /// `BP_DB_POOLER=transaction` behind it).
    Transaction,
}

/// The PostgreSQL database PgBouncer fronts.
#[derive(Clone)]
pub struct Upstream {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Database name (also the name clients connect to).
    pub database: String,
    /// Login role.
    pub user: String,
    /// Its password (empty for none).
    pub password: String,
}

impl Upstream {
    /// The server, database and credentials of a `postgres://` URL.
    pub fn from_url(url: &str) -> Result<Self> {
        let options: sqlx::postgres::PgConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| InfraError::Other(format!("not a PostgreSQL URL: {e}")))?;
        Ok(Self {
            host: options.get_host().to_owned(),
            port: options.get_port(),
            database: options.get_database().unwrap_or("postgres").to_owned(),
            user: options.get_username().to_owned(),
            // sqlx keeps the password to itself: read it from the URL,
            // percent-decoded, as `backup` does.
            password: url::Url::parse(url)
                .ok()
                .and_then(|u| {
                    u.password()
                        .map(|p| percent_decode_str(p).decode_utf8_lossy().into_owned())
                })
                .unwrap_or_default(),
        })
    }
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The binary: `BP_PGBOUNCER`, else Debian's path.
pub fn binary() -> PathBuf {
    std::env::var_os("BP_PGBOUNCER").map_or_else(|| PathBuf::from("/usr/sbin/pgbouncer"), PathBuf::from)
}

/// A running PgBouncer; stopped on drop.
pub struct PgBouncer {
    child: Child,
    port: u16,
    database: String,
}

impl std::fmt::Debug for PgBouncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBouncer")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl PgBouncer {
    /// PgBouncer in `mode` in front of `upstream`, with at most
    /// `pool_size` server connections, its config in `dir` (which the
    /// caller keeps and removes); waits until it accepts connections.
    pub fn start(upstream: &Upstream, mode: PoolMode, pool_size: u32, dir: &Path) -> Result<Self> {
        let binary = binary();
        if !binary.is_file() {
            return Err(InfraError::Missing {
                what: "pgbouncer",
                how: "install Debian's pgbouncer package (`make test` does), or set BP_PGBOUNCER".into(),
            });
        }
        let port = free_port()?;
        // In transaction mode a server connection passes from client to
        // client between transactions: what one client prepared there
        // (sqlx names its statements `sqlx_s_N` per client connection)
        // must go, or the next client's `sqlx_s_1` collides with it.
        let (mode_name, reset) = match mode {
            PoolMode::Session => ("session", "server_reset_query = DISCARD ALL"),
            PoolMode::Transaction => (
                "transaction",
                "server_reset_query = DEALLOCATE ALL\nserver_reset_query_always = 1",
            ),
        };
        let log = dir.join("pgbouncer.log");
        let ini = format!(
            "[databases]\n\
             {database} = host={host} port={upstream_port} dbname={database} user={user} password='{password}'\n\
             [pgbouncer]\n\
             logfile = {log}\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = any\n\
             pool_mode = {mode_name}\n\
             default_pool_size = {pool_size}\n\
             max_client_conn = 500\n\
             ignore_startup_parameters = extra_float_digits,options,search_path\n\
             {reset}\n",
            database = upstream.database,
            host = upstream.host,
            upstream_port = upstream.port,
            user = upstream.user,
            // A quoted connection-string value: backslashes and quotes escaped.
            password = upstream.password.replace('\\', "\\\\").replace('\'', "\\'"),
            log = log.display(),
        );
        let config = dir.join("pgbouncer.ini");
        std::fs::write(&config, ini).map_err(InfraError::io("writing", &config))?;
        // PgBouncer refuses to run as root: as root it runs as PostgreSQL's
        // own unprivileged user, which alone may read the config.
        let run_as = RunAs::for_postgres()?;
        for path in [dir, config.as_path()] {
            run_as.own(path)?;
        }
        std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(InfraError::io("restricting", &config))?;
        let child = run_as
            .command(&binary, dir)
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(InfraError::io("starting", &binary))?;
        let bouncer = Self {
            child,
            port,
            database: upstream.database.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() >= deadline {
                return Err(InfraError::Timeout {
                    what: "PgBouncer",
                    action: "start",
                    secs: 10,
                    log,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(bouncer)
    }

    /// A URL through PgBouncer to the database as `user` (no password:
    /// `auth_type = any`).
    pub fn url(&self, user: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{}", self.port, self.database)
    }

    /// The port PgBouncer listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| InfraError::Other(format!("no free loopback port: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upstream_comes_from_the_url_and_its_debug_hides_the_password() {
        let u = Upstream::from_url("postgres://bp:s3cret@127.0.0.1:5544/betterprompts").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.database.as_str()),
            ("127.0.0.1", 5544, "betterprompts")
        );
        assert_eq!((u.user.as_str(), u.password.as_str()), ("bp", "s3cret"));
        assert!(!format!("{u:?}").contains("s3cret"));
        assert_eq!(
            Upstream::from_url("postgres://bp@localhost/x").unwrap().password,
            ""
        );
        assert_eq!(
            Upstream::from_url("postgres://bp:p%40ss%2F1@localhost/x")
                .unwrap()
                .password,
            "p@ss/1"
        );
    }
}
