//! The local infrastructure BetterPrompts runs on when no `DATABASE_URL` /
//! `REDIS_URL` is configured: PostgreSQL 16 with pgvector (found, or installed
//! from a pinned relocatable bundle) and Redis 7 (found, or installed with the
//! system's package manager), each bound to 127.0.0.1 on a free port.
//!
//! Everything lives under `BP_HOME/instances/<instance>`: a state file with
//! ports, pids and versions, a private credentials file, the Redis directory
//! and (unless that directory is out of reach for the unprivileged user that
//! runs PostgreSQL as root, see [`service_user`]) the PostgreSQL cluster.
//! Several instances can run side by side: `default` for `make run`, `test`
//! for `make test`.

mod bundle;
mod error;
pub mod model;
pub mod pgbouncer;
mod postgres;
mod process;
mod redis;
mod replica;
pub mod service_user;
mod state;

use std::fs;
use std::path::{Path, PathBuf};

use bp_config::Secret;
use nix::fcntl::{Flock, FlockArg};

pub use error::{InfraError, Result};
pub use postgres::{PgInstall, major as pg_major};
pub use process::pid_alive;
pub use redis::RedisInstall;
pub use replica::{Failover, ReplicaReport, ReplicaState, superuser};
use service_user::RunAs;
pub use state::{Credentials, InfraState, ServiceState};

/// The application role and database the embedded instance creates.
pub const APP_DATABASE: &str = "betterprompts";

/// What `install` found or installed.
#[derive(Debug, Clone)]
pub struct Installed {
    /// PostgreSQL 16+ with pgvector.
    pub postgres: PgInstall,
    /// Redis 7+.
    pub redis: RedisInstall,
}

/// Connection URLs of a running instance. Both carry credentials.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// `postgres://betterprompts:...@127.0.0.1:PORT/betterprompts`.
    pub database_url: Secret,
    /// `redis://127.0.0.1:PORT`.
    pub redis_url: Secret,
}

/// One named instance of the embedded infrastructure under a home directory.
#[derive(Debug, Clone)]
pub struct Infra {
    home: PathBuf,
    instance: String,
    ephemeral: bool,
}

impl Infra {
    /// The instance `instance` under `home` (`BP_HOME`).
    pub fn new(home: impl Into<PathBuf>, instance: impl Into<String>) -> Self {
        Self {
            home: home.into(),
            instance: instance.into(),
            ephemeral: false,
        }
    }

    /// An ephemeral instance trades durability for speed (fsync off, no
    /// Redis persistence): right for a throw-away test run, wrong for data.
    pub fn ephemeral(mut self, yes: bool) -> Self {
        self.ephemeral = yes;
        self
    }

    /// `BP_HOME/instances/<instance>`.
    pub fn instance_dir(&self) -> PathBuf {
        self.home.join("instances").join(&self.instance)
    }

    fn prepare_home(&self) -> Result<RunAs> {
        let dir = self.instance_dir();
        fs::create_dir_all(&dir).map_err(InfraError::io("creating", &dir))?;
        RunAs::for_postgres()
    }

    /// Finds PostgreSQL 16 + pgvector and Redis 7, installing what is missing.
    pub fn install(&self, progress: &dyn Fn(&str)) -> Result<Installed> {
        let run_as = self.prepare_home()?;
        self.install_as(&run_as, progress)
    }

    fn install_as(&self, run_as: &RunAs, progress: &dyn Fn(&str)) -> Result<Installed> {
        let bundle_dir = service_user::postgres_base(&self.home, run_as).join(bundle::BUNDLE_DIR);
        let postgres = match postgres::find(&bundle_dir)? {
            Some(found) => found,
            None => {
                bundle::install(&bundle_dir, progress)?;
                postgres::find(&bundle_dir)?.ok_or_else(|| {
                    InfraError::Other("the bundle was unpacked but PostgreSQL is not in it".into())
                })?
            }
        };
        let redis = match redis::find()? {
            Some(found) => found,
            None => {
                redis::install(progress)?;
                redis::find()?.ok_or_else(|| InfraError::Missing {
                    what: "redis-server",
                    how: "the package was installed but redis-server is not on PATH; set BP_REDIS_BIN".into(),
                })?
            }
        };
        Ok(Installed { postgres, redis })
    }

    fn lock(&self) -> Result<Flock<fs::File>> {
        let path = self
            .home
            .join("instances")
            .join(format!("{}.lock", self.instance));
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(InfraError::io("opening", &path))?;
        Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| InfraError::io("locking", &path)(std::io::Error::from(errno)))
    }

    /// Installs what is missing, initialises the data directories on first
    /// use, starts whatever is not running and creates the application role,
    /// database and `vector` extension. Running it again is harmless.
    pub async fn up(&self, progress: &dyn Fn(&str)) -> Result<InfraState> {
        let run_as = self.prepare_home()?;
        let _lock = self.lock()?;
        let installed = self.install_as(&run_as, progress)?;
        let dir = self.instance_dir();
        let creds = Credentials::load_or_create(&dir)?;
        let previous = InfraState::load(&dir)?;

        // After a failover the primary is a former replica's cluster: the
        // recorded one, never the old primary's `pg` (that would be two
        // primaries).
        let pg_dir = previous
            .as_ref()
            .and_then(|p| p.postgres.data_dir.parent().map(Path::to_path_buf))
            .filter(|d| d.join("data/PG_VERSION").is_file())
            .unwrap_or_else(|| {
                service_user::postgres_base(&self.home, &run_as)
                    .join("instances")
                    .join(&self.instance)
                    .join("pg")
            });
        let pg = postgres::PgServer {
            install: &installed.postgres,
            dir: pg_dir,
            run_as: &run_as,
        };
        if pg.init(creds.superuser_password.expose(), self.ephemeral)? {
            progress("initialised a new PostgreSQL cluster");
        }
        let pg_port = match pg.pid().and_then(|_| state::postmaster_port(&pg.data_dir())) {
            Some(port) => port,
            None => {
                let port = pick_port(previous.as_ref().map(|s| s.postgres.port))?;
                progress(&format!(
                    "starting PostgreSQL {} on 127.0.0.1:{port}",
                    installed.postgres.version
                ));
                pg.start(port)?;
                port
            }
        };

        let redis = redis::RedisServer {
            install: &installed.redis,
            dir: dir.join("redis"),
        };
        let previous_redis_port = previous.as_ref().map(|s| s.redis.port);
        let redis_port = match (redis.pid(), previous_redis_port) {
            (Some(_), Some(port)) if redis::ping(port) => port,
            (running, _) => {
                if running.is_some() {
                    redis.stop()?;
                }
                let port = pick_port(previous_redis_port)?;
                progress(&format!(
                    "starting Redis {} on 127.0.0.1:{port}",
                    installed.redis.version
                ));
                redis.start(port, self.ephemeral)?;
                port
            }
        };

        progress("creating the betterprompts role and database");
        postgres::bootstrap(
            pg_port,
            creds.superuser_password.expose(),
            APP_DATABASE,
            creds.app_password.expose(),
            APP_DATABASE,
        )
        .await?;

        let state = InfraState {
            replicas: previous.map(|p| p.replicas).unwrap_or_default(),
            instance: self.instance.clone(),
            ephemeral: self.ephemeral,
            postgres: ServiceState {
                version: installed.postgres.version.clone(),
                extra_version: Some(installed.postgres.pgvector_version.clone()),
                source: installed.postgres.source.clone(),
                program: installed.postgres.bin_dir.clone(),
                port: pg_port,
                pid: pg.pid(),
                data_dir: pg.data_dir(),
                log_file: pg.log_file(),
                run_as: Some(run_as.name.clone()),
            },
            redis: ServiceState {
                version: installed.redis.version.clone(),
                extra_version: None,
                source: "redis-server".into(),
                program: installed.redis.binary.clone(),
                port: redis_port,
                pid: redis.pid(),
                data_dir: redis.dir.clone(),
                log_file: redis.log_file(),
                run_as: None,
            },
        };
        state.save(&dir)?;
        Ok(state)
    }

    /// The directory holding `pg_dump` and `pg_restore`, in the order:
    /// `BP_PG_BIN`, the PostgreSQL this instance last ran, the bundle under
    /// this home, then `pg_dump` on PATH. `None` when there is none; the
    /// caller checks the version against the server's.
    pub fn pg_client_dir(&self) -> Result<Option<PathBuf>> {
        let has_tools = |dir: &Path| dir.join("pg_dump").is_file() && dir.join("pg_restore").is_file();
        if let Some(dir) = std::env::var_os("BP_PG_BIN").filter(|v| !v.is_empty()) {
            return Ok(Some(PathBuf::from(dir)));
        }
        if let Some(state) = self.state()?
            && has_tools(&state.postgres.program)
        {
            return Ok(Some(state.postgres.program));
        }
        let bundle_dir =
            service_user::postgres_base(&self.home, &RunAs::for_postgres()?).join(bundle::BUNDLE_DIR);
        if bundle::is_installed(&bundle_dir) && has_tools(&bundle::bin_dir(&bundle_dir)) {
            return Ok(Some(bundle::bin_dir(&bundle_dir)));
        }
        Ok(postgres::which("pg_dump").and_then(|p| p.parent().map(Path::to_path_buf)))
    }

    /// The recorded state, or `None` when the instance was never started.
    pub fn state(&self) -> Result<Option<InfraState>> {
        InfraState::load(&self.instance_dir())
    }

    /// URLs of the instance when both servers answer, else `None`.
    pub fn endpoints(&self) -> Result<Option<Endpoints>> {
        let dir = self.instance_dir();
        let Some(state) = InfraState::load(&dir)? else {
            return Ok(None);
        };
        if !state.postgres_answers() || !state.redis_answers() {
            return Ok(None);
        }
        let creds = Credentials::load(&dir)?;
        Ok(Some(state.endpoints(&creds)))
    }

    /// Stops both servers and waits until their processes are gone. With
    /// `purge`, also deletes the instance's data.
    pub fn down(&self, purge: bool) -> Result<bool> {
        let dir = self.instance_dir();
        if !dir.exists() {
            return Ok(false);
        }
        let run_as = RunAs::for_postgres()?;
        let _lock = self.lock()?;
        let state = InfraState::load(&dir)?;
        let mut stopped = false;
        if let Some(state) = &state {
            let install = PgInstall {
                bin_dir: state.postgres.program.clone(),
                version: state.postgres.version.clone(),
                pgvector_version: String::new(),
                source: state.postgres.source.clone(),
            };
            let pg_dir = state
                .postgres
                .data_dir
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            // Replicas first: a standby whose primary is gone retries it.
            for replica in &state.replicas {
                let standby = postgres::PgServer {
                    install: &install,
                    dir: self.replica_dir(&run_as, replica.index),
                    run_as: &run_as,
                };
                stopped |= standby.pid().is_some();
                standby.stop()?;
                if purge && standby.dir.exists() {
                    fs::remove_dir_all(&standby.dir).map_err(InfraError::io("removing", &standby.dir))?;
                }
            }
            let pg = postgres::PgServer {
                install: &install,
                dir: pg_dir.clone(),
                run_as: &run_as,
            };
            stopped |= pg.pid().is_some();
            pg.stop()?;
            let redis_install = RedisInstall {
                binary: state.redis.program.clone(),
                version: state.redis.version.clone(),
            };
            let redis = redis::RedisServer {
                install: &redis_install,
                dir: state.redis.data_dir.clone(),
            };
            stopped |= redis.pid().is_some();
            redis.stop()?;
            if purge && pg_dir.exists() {
                fs::remove_dir_all(&pg_dir).map_err(InfraError::io("removing", &pg_dir))?;
            }
        }
        // The cluster directories, a primary that a failover left behind
        // among them (they live apart from `dir` when PostgreSQL's user
        // cannot enter BP_HOME).
        let clusters = service_user::postgres_base(&self.home, &run_as)
            .join("instances")
            .join(&self.instance);
        if purge && clusters.exists() {
            fs::remove_dir_all(&clusters).map_err(InfraError::io("removing", &clusters))?;
        }
        if purge {
            if dir.exists() {
                fs::remove_dir_all(&dir).map_err(InfraError::io("removing", &dir))?;
            }
            let _ = fs::remove_file(
                self.home
                    .join("instances")
                    .join(format!("{}.lock", self.instance)),
            );
        }
        Ok(stopped)
    }
}

/// Reuses `previous` when it is still free, so URLs stay stable across restarts.
fn pick_port(previous: Option<u16>) -> Result<u16> {
    match previous {
        Some(port) if process::port_is_free(port) => Ok(port),
        _ => process::free_port(),
    }
}
