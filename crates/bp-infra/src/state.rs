//! The instance's state file (`state.json`: versions, ports, pids, paths; no
//! secrets) and its credentials file (`credentials.json`, mode 0600).

use std::fs;
use std::path::{Path, PathBuf};

use bp_config::Secret;
use serde::{Deserialize, Serialize};

use crate::error::{InfraError, Result};
use crate::postgres::write_private;
use crate::process::{pid_alive, port_answers};
use crate::{APP_DATABASE, Endpoints, redis};

/// One server of an instance as last started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceState {
    /// Server version.
    pub version: String,
    /// pgvector's version for PostgreSQL.
    pub extra_version: Option<String>,
    /// Where the binaries came from.
    pub source: String,
    /// PostgreSQL's bin directory, or the `redis-server` binary.
    pub program: PathBuf,
    /// 127.0.0.1 port.
    pub port: u16,
    /// Pid when last started.
    pub pid: Option<u32>,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Log file.
    pub log_file: PathBuf,
    /// The user PostgreSQL runs as.
    pub run_as: Option<String>,
}

impl ServiceState {
    /// True when the recorded pid still exists.
    pub fn running(&self) -> bool {
        self.pid.is_some_and(pid_alive)
    }
}

/// What `infra up` recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InfraState {
    /// Instance name.
    pub instance: String,
    /// Started without durability (tests).
    pub ephemeral: bool,
    /// PostgreSQL.
    pub postgres: ServiceState,
    /// Redis.
    pub redis: ServiceState,
    /// Hot standbys of PostgreSQL (`infra up --replicas N`).
    #[serde(default)]
    pub replicas: Vec<crate::replica::ReplicaState>,
}

impl InfraState {
    fn path(dir: &Path) -> PathBuf {
        dir.join("state.json")
    }

    /// Reads `state.json` from an instance directory.
    pub fn load(dir: &Path) -> Result<Option<Self>> {
        let path = Self::path(dir);
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                InfraError::Other(format!(
                    "{} is corrupt ({e}); run `betterprompts infra down --purge`",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(InfraError::io("reading", path)(e)),
        }
    }

    /// Writes `state.json` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = Self::path(dir);
        let tmp = dir.join(".state.json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|e| InfraError::Other(e.to_string()))?;
        fs::write(&tmp, text).map_err(InfraError::io("writing", &tmp))?;
        fs::rename(&tmp, &path).map_err(InfraError::io("writing", &path))
    }

    /// True when PostgreSQL accepts TCP connections on its port.
    pub fn postgres_answers(&self) -> bool {
        port_answers(self.postgres.port)
    }

    /// True when Redis answers PING.
    pub fn redis_answers(&self) -> bool {
        redis::ping(self.redis.port)
    }

    /// The URLs for this state and its credentials.
    pub fn endpoints(&self, creds: &Credentials) -> Endpoints {
        Endpoints {
            database_url: Secret::new(format!(
                "postgres://{APP_DATABASE}:{}@127.0.0.1:{}/{APP_DATABASE}",
                creds.app_password.expose(),
                self.postgres.port
            )),
            redis_url: Secret::new(format!("redis://127.0.0.1:{}", self.redis.port)),
        }
    }
}

/// Passwords generated on first `up`: hex of 32 random bytes each.
#[derive(Clone)]
pub struct Credentials {
    /// The cluster superuser `postgres` (bootstrap only).
    pub superuser_password: Secret,
    /// The application role `betterprompts`.
    pub app_password: Secret,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials([redacted])")
    }
}

#[derive(Serialize, Deserialize)]
struct CredentialsFile {
    superuser_password: String,
    app_password: String,
}

impl Credentials {
    fn path(dir: &Path) -> PathBuf {
        dir.join("credentials.json")
    }

    /// Reads the credentials file of an instance.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = Self::path(dir);
        let text = fs::read_to_string(&path).map_err(InfraError::io("reading", &path))?;
        let file: CredentialsFile = serde_json::from_str(&text)
            .map_err(|e| InfraError::Other(format!("{} is corrupt ({e})", path.display())))?;
        Ok(Self {
            superuser_password: Secret::new(file.superuser_password),
            app_password: Secret::new(file.app_password),
        })
    }

    /// Reads the credentials, generating and saving them on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self> {
        if Self::path(dir).is_file() {
            return Self::load(dir);
        }
        let file = CredentialsFile {
            superuser_password: random_secret(),
            app_password: random_secret(),
        };
        let text = serde_json::to_string(&file).map_err(|e| InfraError::Other(e.to_string()))?;
        write_private(&Self::path(dir), &text)?;
        Self::load(dir)
    }
}

/// Random bits from the OS generator (three v4 UUIDs: 366 bits), as 96 hex digits.
fn random_secret() -> String {
    format!(
        "{}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The port a running postmaster listens on (line 4 of `postmaster.pid`).
pub(crate) fn postmaster_port(data_dir: &Path) -> Option<u16> {
    fs::read_to_string(data_dir.join("postmaster.pid"))
        .ok()?
        .lines()
        .nth(3)?
        .trim()
        .parse()
        .ok()
}
