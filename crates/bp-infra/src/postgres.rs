//! Finding PostgreSQL 16 with pgvector, initialising a data directory,
//! starting and stopping the server, and bootstrapping the application role,
//! database and `vector` extension.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

use crate::bundle;
use crate::error::{InfraError, Result};
use crate::process::{pid_alive, run, wait_until};
use crate::service_user::RunAs;

/// The lowest PostgreSQL major version the schema is written for.
pub const MIN_MAJOR: u32 = 16;

/// A PostgreSQL installation that has pgvector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PgInstall {
    /// Directory with `postgres`, `initdb`, `pg_ctl`, `pg_dump`, `psql`.
    pub bin_dir: PathBuf,
    /// `16.14` and the like.
    pub version: String,
    /// pgvector's default version from `vector.control`.
    pub pgvector_version: String,
    /// Where it was found: `BP_PG_BIN`, `pg_config on PATH` or `bundle`.
    pub source: String,
}

/// Finds PostgreSQL in the order: `BP_PG_BIN`, a `pg_config` on PATH whose
/// share dir has `extension/vector.control`, then the bundle in `bundle_dir`.
/// Returns `Ok(None)` when only the bundle would do and it is not installed.
pub fn find(bundle_dir: &Path) -> Result<Option<PgInstall>> {
    if let Some(dir) = std::env::var_os("BP_PG_BIN").filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(dir);
        let share = pg_config(&bin.join("pg_config"), "--sharedir")?;
        return describe(&bin, &share, "BP_PG_BIN")?.map(Some).ok_or_else(|| InfraError::Missing {
            what: "pgvector in BP_PG_BIN's PostgreSQL",
            how: format!(
                "{} has no extension/vector.control; install pgvector for it or unset BP_PG_BIN to use the bundle",
                share.display()
            ),
        });
    }
    // A PATH install without pgvector, or older than 16, is skipped, not an error.
    if let Some(pg_config_path) = which("pg_config")
        && let (Ok(bin), Ok(share)) = (
            pg_config(&pg_config_path, "--bindir"),
            pg_config(&pg_config_path, "--sharedir"),
        )
        && let Ok(Some(found)) = describe(&bin, &share, "pg_config on PATH")
        && major(&found.version) >= MIN_MAJOR
    {
        return Ok(Some(found));
    }
    if bundle::is_installed(bundle_dir) {
        let bin = bundle::bin_dir(bundle_dir);
        let share = bin.join("../share/postgresql");
        return describe(&bin, &share, "bundle");
    }
    Ok(None)
}

fn describe(bin: &Path, share: &Path, source: &str) -> Result<Option<PgInstall>> {
    let control = share.join("extension/vector.control");
    let Ok(text) = fs::read_to_string(&control) else {
        return Ok(None);
    };
    let pgvector_version = text
        .lines()
        .find_map(|l| l.strip_prefix("default_version"))
        .map(|v| {
            v.trim_matches(|c: char| c == '=' || c == '\'' || c.is_whitespace())
                .to_owned()
        })
        .unwrap_or_default();
    let out = run(std::process::Command::new(bin.join("postgres")).arg("--version"))?;
    let version = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_owned();
    if major(&version) < MIN_MAJOR {
        return Err(InfraError::Missing {
            what: "PostgreSQL 16 or newer",
            how: format!(
                "{} is PostgreSQL {version}; point BP_PG_BIN at PostgreSQL 16+ or unset it",
                bin.display()
            ),
        });
    }
    Ok(Some(PgInstall {
        bin_dir: bin.to_path_buf(),
        version,
        pgvector_version,
        source: source.to_owned(),
    }))
}

/// The major number of a PostgreSQL version (`16` of `16.14`), 0 when it
/// does not parse (`17beta1`).
pub fn major(version: &str) -> u32 {
    version
        .split('.')
        .next()
        .and_then(|m| m.trim().parse().ok())
        .unwrap_or(0)
}

fn pg_config(program: &Path, flag: &str) -> Result<PathBuf> {
    let out = run(std::process::Command::new(program).arg(flag))?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The first `name` on PATH.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// One PostgreSQL server: its data directory and how to run its tools.
pub struct PgServer<'a> {
    /// The installation.
    pub install: &'a PgInstall,
    /// Owned by `run_as`; holds `data/` and `postgres.log`.
    pub dir: PathBuf,
    /// Who runs the server.
    pub run_as: &'a RunAs,
}

impl PgServer<'_> {
    /// The cluster's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The server log.
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    pub(crate) fn tool(&self, name: &str) -> std::process::Command {
        self.run_as.command(self.install.bin_dir.join(name), &self.dir)
    }

    /// Creates the cluster on first use with a superuser `postgres` whose
    /// password is `superuser_password`; `ephemeral` turns off fsync (tests).
    pub fn init(&self, superuser_password: &str, ephemeral: bool) -> Result<bool> {
        if self.data_dir().join("PG_VERSION").is_file() {
            return Ok(false);
        }
        fs::create_dir_all(&self.dir).map_err(InfraError::io("creating", &self.dir))?;
        self.run_as.own(&self.dir)?;
        if !self.run_as.can_enter(&self.dir) {
            return Err(InfraError::Other(format!(
                "user `{}` cannot reach {}; set BP_HOME to a directory outside a private home",
                self.run_as.name,
                self.dir.display()
            )));
        }
        let pwfile = self.dir.join(".initdb-password");
        write_private(&pwfile, superuser_password)?;
        self.run_as.own(&pwfile)?;
        let mut initdb = self.tool("initdb");
        initdb
            .arg("-D")
            .arg(self.data_dir())
            .args([
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ])
            .arg(format!("--pwfile={}", pwfile.display()));
        let result = run(&mut initdb);
        let _ = fs::remove_file(&pwfile);
        result?;
        let mut conf = String::from(
            "\n# BetterPrompts embedded instance\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n\
             max_connections = 200\nshared_buffers = 128MB\nlog_min_duration_statement = 500\n\
             log_line_prefix = '%m [%p] %q%u@%d '\n",
        );
        if ephemeral {
            conf.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        let conf_path = self.data_dir().join("postgresql.conf");
        let mut existing = fs::read_to_string(&conf_path).map_err(InfraError::io("reading", &conf_path))?;
        existing.push_str(&conf);
        fs::write(&conf_path, existing).map_err(InfraError::io("writing", &conf_path))?;
        Ok(true)
    }

    /// Starts the server on 127.0.0.1:`port` and returns its pid.
    pub fn start(&self, port: u16) -> Result<u32> {
        let mut ctl = self.tool("pg_ctl");
        ctl.arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_file())
            .args(["-w", "-t", "60", "-o", &format!("-p {port}"), "start"]);
        run(&mut ctl).map_err(|e| match e {
            InfraError::Command { command, detail } => InfraError::Command {
                command,
                detail: format!("{detail} (log: {})", self.log_file().display()),
            },
            other => other,
        })?;
        self.pid()
            .ok_or_else(|| InfraError::Other("PostgreSQL started but wrote no postmaster.pid".into()))
    }

    /// The postmaster's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        let text = fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        let pid = text.lines().next()?.trim().parse().ok()?;
        pid_alive(pid).then_some(pid)
    }

    /// Stops the server (fast shutdown) and waits until its process is gone.
    pub fn stop(&self) -> Result<()> {
        let Some(pid) = self.pid() else { return Ok(()) };
        let mut ctl = self.tool("pg_ctl");
        ctl.arg("-D")
            .arg(self.data_dir())
            .args(["-m", "fast", "-w", "-t", "60", "stop"]);
        run(&mut ctl)?;
        if wait_until(Duration::from_secs(30), || !pid_alive(pid)) {
            Ok(())
        } else {
            Err(InfraError::Timeout {
                what: "PostgreSQL",
                action: "stop",
                secs: 30,
                log: self.log_file(),
            })
        }
    }
}

/// Creates role `app_user` (LOGIN CREATEDB) with `app_password`, the
/// service's privilege role `bp_app` (NOLOGIN, granted to `app_user` so it
/// can `SET ROLE bp_app`), the database `app_db` owned by `app_user`, and `vector` in `template1` and `app_db`. Idempotent.
pub async fn bootstrap(
    port: u16,
    superuser_password: &str,
    app_user: &str,
    app_password: &str,
    app_db: &str,
) -> Result<()> {
    let admin = |db: &str| {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(port)
            .username("postgres")
            .password(superuser_password)
            .database(db)
            // Statements here carry a password: never log them.
            .disable_statement_logging()
    };
    let mut conn = PgConnection::connect_with(&admin("postgres")).await?;
    let role_exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(app_user)
        .fetch_one(&mut conn)
        .await?;
    // Utility statements take no bind parameters: the server quotes the
    // values itself with format(%I, %L) from bound parameters.
    let role_sql = if role_exists {
        "SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', $1::text, $2::text)"
    } else {
        "SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', $1::text, $2::text)"
    };
    let stmt: String = sqlx::query_scalar(role_sql)
        .bind(app_user)
        .bind(app_password)
        .fetch_one(&mut conn)
        .await?;
    sqlx::raw_sql(&stmt).execute(&mut conn).await?;
    // The service's privileges (migration 0010 grants to it); creating a
    // role takes a superuser, which the application role is not.
    sqlx::raw_sql(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bp_app') THEN \
         CREATE ROLE bp_app NOLOGIN; END IF; END $$",
    )
    .execute(&mut conn)
    .await?;
    // The owner may take on bp_app's privileges (`SET ROLE bp_app`).
    let stmt: String = sqlx::query_scalar("SELECT format('GRANT bp_app TO %I', $1::text)")
        .bind(app_user)
        .fetch_one(&mut conn)
        .await?;
    sqlx::raw_sql(&stmt).execute(&mut conn).await?;

    let mut template = PgConnection::connect_with(&admin("template1")).await?;
    sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public")
        .execute(&mut template)
        .await?;
    template.close().await?;

    let db_exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(app_db)
        .fetch_one(&mut conn)
        .await?;
    if !db_exists {
        let stmt: String =
            sqlx::query_scalar("SELECT format('CREATE DATABASE %I OWNER %I', $1::text, $2::text)")
                .bind(app_db)
                .bind(app_user)
                .fetch_one(&mut conn)
                .await?;
        sqlx::raw_sql(&stmt).execute(&mut conn).await?;
    }
    conn.close().await?;
    let mut app = PgConnection::connect_with(&admin(app_db)).await?;
    sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public")
        .execute(&mut app)
        .await?;
    app.close().await?;
    Ok(())
}

/// Writes `contents` to `path` readable by its owner only.
pub(crate) fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(InfraError::io("creating", path))?;
    file.write_all(contents.as_bytes())
        .map_err(InfraError::io("writing", path))
}
