//! Typed settings for every BetterPrompts component, read from environment
//! variables (see `.env.example` for the full list with defaults).
//!
//! Variables read here:
//! - `DATABASE_URL`, `DATABASE_READ_URL` (optional replica for reads)
//! - `BP_DB_MAX_CONNECTIONS` (25), `BP_DB_MIN_CONNECTIONS` (5),
//!   `BP_DB_ACQUIRE_TIMEOUT_SECS` (5), `BP_DB_STATEMENT_TIMEOUT_MS` (30000)
//! - `REDIS_URL`, `BP_REDIS_KEY_PREFIX` (`api-gateway`)
//! - `BP_HOME` (embedded infrastructure and generated keys),
//!   `BP_INFRA_INSTANCE` (`default`)
//! - `BP_LISTEN` (`127.0.0.1:8080`)
//! - `BP_JWT_SECRET`, `BP_ENCRYPTION_KEY` (secrets; never printed)
//!
//! An unset `DATABASE_URL`/`REDIS_URL` means "use the embedded infrastructure
//! under `BP_HOME`"; the CLI resolves that, not this crate.

mod secret;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use secret::{Secret, redact_url};

/// A variable that is set but cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{var} is invalid: {reason}")]
pub struct ConfigError {
    /// The environment variable's name.
    pub var: &'static str,
    /// What is wrong and what is expected; never the secret value itself.
    pub reason: String,
}

/// PostgreSQL connection and pool settings.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// Primary database URL; `None` selects the embedded instance.
    pub url: Option<Secret>,
    /// Optional read replica for history pages and analytics.
    pub read_url: Option<Secret>,
    /// Pool ceiling (guide: 25).
    pub max_connections: u32,
    /// Connections kept open when idle (guide: 5).
    pub min_connections: u32,
    /// How long a caller waits for a pooled connection.
    pub acquire_timeout: Duration,
    /// Server-side `statement_timeout` set on every connection.
    pub statement_timeout: Duration,
}

/// Redis connection settings.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// Redis URL; `None` selects the embedded instance.
    pub url: Option<Secret>,
    /// Prefix put before every key this service writes (guide: `api-gateway`).
    pub key_prefix: String,
}

/// Where embedded infrastructure and generated keys live.
#[derive(Debug, Clone)]
pub struct HomeConfig {
    /// `BP_HOME`.
    pub home: PathBuf,
    /// Name of the embedded infrastructure instance (`default`, `test`, ...).
    pub instance: String,
}

/// HTTP server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address the API listens on.
    pub listen: SocketAddr,
    /// HS256 signing secret for access tokens; generated under `BP_HOME` when unset.
    pub jwt_secret: Option<Secret>,
    /// Key for PII encryption at rest; generated under `BP_HOME` when unset.
    pub encryption_key: Option<Secret>,
}

/// All settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// PostgreSQL.
    pub database: DatabaseConfig,
    /// Redis.
    pub redis: RedisConfig,
    /// Embedded infrastructure location.
    pub home: HomeConfig,
    /// HTTP server.
    pub server: ServerConfig,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (a variable name to its value), so tests
    /// need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let database = DatabaseConfig {
            url: get("DATABASE_URL")
                .map(|v| checked_url("DATABASE_URL", &v, &["postgres", "postgresql"]))
                .transpose()?,
            read_url: get("DATABASE_READ_URL")
                .map(|v| checked_url("DATABASE_READ_URL", &v, &["postgres", "postgresql"]))
                .transpose()?,
            max_connections: number(&get, "BP_DB_MAX_CONNECTIONS", 25)?,
            min_connections: number(&get, "BP_DB_MIN_CONNECTIONS", 5)?,
            acquire_timeout: Duration::from_secs(number(&get, "BP_DB_ACQUIRE_TIMEOUT_SECS", 5)?),
            statement_timeout: Duration::from_millis(number(&get, "BP_DB_STATEMENT_TIMEOUT_MS", 30_000)?),
        };
        if database.max_connections == 0 || database.min_connections > database.max_connections {
            return Err(ConfigError {
                var: "BP_DB_MIN_CONNECTIONS",
                reason: "must be at most BP_DB_MAX_CONNECTIONS, which must be at least 1".into(),
            });
        }
        let redis = RedisConfig {
            url: get("REDIS_URL")
                .map(|v| checked_url("REDIS_URL", &v, &["redis", "rediss"]))
                .transpose()?,
            key_prefix: get("BP_REDIS_KEY_PREFIX").unwrap_or_else(|| "api-gateway".into()),
        };
        let home = HomeConfig {
            home: get("BP_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| default_home(&get)),
            instance: instance_name(get("BP_INFRA_INSTANCE"))?,
        };
        let listen = match get("BP_LISTEN") {
            Some(v) => v.parse().map_err(|_| ConfigError {
                var: "BP_LISTEN",
                reason: format!("`{v}` is not an address like 127.0.0.1:8080"),
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let server = ServerConfig {
            listen,
            jwt_secret: get("BP_JWT_SECRET").map(Secret::new),
            encryption_key: get("BP_ENCRYPTION_KEY").map(Secret::new),
        };
        Ok(Self {
            database,
            redis,
            home,
            server,
        })
    }
}

/// Validates an infrastructure instance name: it becomes a directory name.
pub fn instance_name(value: Option<String>) -> Result<String, ConfigError> {
    let name = value.unwrap_or_else(|| "default".into());
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(name)
    } else {
        Err(ConfigError {
            var: "BP_INFRA_INSTANCE",
            reason: "use 1 to 40 characters of [A-Za-z0-9_-]".into(),
        })
    }
}

fn default_home(get: &impl Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(xdg) = get("XDG_DATA_HOME") {
        return PathBuf::from(xdg).join("betterprompts");
    }
    match get("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/betterprompts"),
        None => PathBuf::from(".bp"),
    }
}

fn number<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(var) {
        Some(v) => v.trim().parse().map_err(|_| ConfigError {
            var,
            reason: format!("`{v}` is not a whole number"),
        }),
        None => Ok(default),
    }
}

fn checked_url(var: &'static str, value: &str, schemes: &[&str]) -> Result<Secret, ConfigError> {
    let parsed = url::Url::parse(value).map_err(|e| ConfigError {
        var,
        reason: format!(
            "not a URL ({e}); expected e.g. {}://user:password@host:port/name",
            schemes[0]
        ),
    })?;
    if !schemes.contains(&parsed.scheme()) {
        return Err(ConfigError {
            var,
            reason: format!(
                "scheme `{}` is not one of {}",
                parsed.scheme(),
                schemes.join(", ")
            ),
        });
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError {
            var,
            reason: "the URL names no host".into(),
        });
    }
    Ok(Secret::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_follow_the_guide() {
        let s = settings(&[("HOME", "/home/a")]).unwrap();
        assert_eq!(s.database.max_connections, 25);
        assert_eq!(s.database.min_connections, 5);
        assert!(s.database.url.is_none());
        assert_eq!(s.redis.key_prefix, "api-gateway");
        assert_eq!(s.home.home, PathBuf::from("/home/a/.local/share/betterprompts"));
        assert_eq!(s.home.instance, "default");
        assert_eq!(s.server.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn a_malformed_database_url_names_the_variable_and_not_the_password() {
        let err = settings(&[("DATABASE_URL", "postgres//bp:pw-secret@localhost/db")]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("DATABASE_URL is invalid"), "{msg}");
        assert!(!msg.contains("pw-secret"), "{msg}");
        let err = settings(&[("DATABASE_URL", "mysql://localhost/db")]).unwrap_err();
        assert!(err.to_string().contains("scheme `mysql`"));
    }

    #[test]
    fn debug_output_of_settings_hides_credentials() {
        let s = settings(&[
            ("DATABASE_URL", "postgres://bp:pw-secret@localhost/db"),
            ("BP_JWT_SECRET", "jwt-secret-value"),
        ])
        .unwrap();
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("pw-secret") && !dbg.contains("jwt-secret-value"),
            "{dbg}"
        );
    }

    #[test]
    fn pool_bounds_and_numbers_are_checked() {
        assert!(settings(&[("BP_DB_MAX_CONNECTIONS", "ten")]).is_err());
        assert!(settings(&[("BP_DB_MAX_CONNECTIONS", "2"), ("BP_DB_MIN_CONNECTIONS", "3")]).is_err());
        assert!(settings(&[("BP_INFRA_INSTANCE", "../etc")]).is_err());
        assert!(settings(&[("BP_LISTEN", "localhost")]).is_err());
    }
}
