//! Typed settings for every BetterPrompts component, read from environment
//! variables (see `.env.example` for the full list with defaults).
//!
//! Variables read here:
//! - `DATABASE_DIRECT_URL` (PostgreSQL itself, for migrations, backup and
//!   restore when `DATABASE_URL` goes through PgBouncer or another proxy)
//! - `DATABASE_URL`, `DATABASE_READ_URL` (optional read replicas: one URL,
//!   or several separated by commas), `BP_DB_MAX_REPLICA_LAG_MS` (1000: a
//!   replica further behind serves no reads), `BP_DB_REPLICA_CHECK_MS`
//!   (100: how often replicas' replay is checked)
//! - `BP_DB_MAX_CONNECTIONS` (25), `BP_DB_MIN_CONNECTIONS` (5),
//!   `BP_DB_ACQUIRE_TIMEOUT_SECS` (5), `BP_DB_STATEMENT_TIMEOUT_MS` (30000),
//!   `BP_DB_SLOW_STATEMENT_MS` (200), `BP_DB_APP_ROLE` (`bp_app`: the
//!   role `serve` acts as; `none` keeps the login role),
//!   `BP_DB_ROW_SECURITY` (false: scope each user's requests for
//!   row-level security)
//! - `REDIS_URL` (`redis://`, `rediss://` for TLS, or
//!   `redis+sentinel://host:port[,host:port…]/master[/db]` to follow the
//!   master Redis Sentinel names, or `redis+cluster://host:port[,host:port…]`
//!   for a Redis Cluster), `BP_REDIS_KEY_PREFIX` (`api-gateway`),
//!   `BP_REDIS_TIMEOUT_MS` (250, the bound on one cache call),
//!   `BP_RATE_LIMIT_FAIL_CLOSED` (`false`: requests pass while Redis is down)
//! - `BP_CACHE_TTL_<NAMESPACE>_SECS` for each cache namespace: `SESSIONS`
//!   (86400), `API_RESPONSES` (300), `PREDICTIONS` (3600), `TECHNIQUES`
//!   (1800), `TEMPLATES` (7200), `USER_PREFS` (3600), `ANALYTICS` (900),
//!   `FEATURE_FLAGS` (60, the local flag cache), `TEMP` (300)
//! - `BP_HOME` (embedded infrastructure and generated keys),
//!   `BP_INFRA_INSTANCE` (`default`)
//! - `BP_LISTEN` (`127.0.0.1:8080`), `BP_TLS_CERT_FILE` and
//!   `BP_TLS_KEY_FILE` (PEM: serve HTTPS)
//! - `BP_REDIS_CA_FILE` (PEM: the authority of a `rediss://` server)
//! - `BP_MODEL_DIR` (`$BP_HOME/models/all-MiniLM-L6-v2`): the sentence
//!   model's files, installed by `betterprompts model install`
//! - `BP_EMBEDDINGS_PROVIDER` (`local` | `lexical` | `openai`), and for `openai`:
//!   `BP_EMBEDDINGS_URL` (`https://api.openai.com`), `BP_EMBEDDINGS_MODEL`
//!   (`text-embedding-3-small`), `BP_EMBEDDINGS_API_KEY` (secret)
//! - `BP_ENGINE_REFRESH_SECS` (60): how often a server checks for new
//!   intent patterns and templates
//! - `BP_JWT_SECRET`, `BP_JWT_PREVIOUS_SECRET` (secrets; never printed; the
//!   JWT secret is generated under `BP_HOME` when unset),
//!   `BP_JWT_PREVIOUS_UNTIL` (unix seconds: the end of a rotation's grace period)
//! - `BP_ENCRYPTION_KEYS` (`id:base64key` entries, comma-separated),
//!   `BP_ENCRYPTION_ACTIVE_KEY` (default: the last entry),
//!   `BP_BLIND_INDEX_KEY` (base64), `BP_ENCRYPT_PROMPTS` (false): PII
//!   encryption at rest; keys are generated under `BP_HOME` for the
//!   embedded instance when unset
//! - `BP_AUDIT_RETENTION_DAYS` (365): what `db prune-audit` keeps
//! - `BP_WEB_DIR` (`web/dist`): the built web application `serve` answers
//!   at `/` (an empty value serves none)
//! - `BP_BCRYPT_COST` (12), `BP_COOKIE_SECURE` (false), `BP_CORS_ORIGINS`
//!   (comma-separated), `BP_TRUST_PROXY` (false), `BP_RATE_LIMIT_ANONYMOUS`,
//!   `BP_RATE_LIMIT_FREE`, `BP_RATE_LIMIT_PRO`, `BP_RATE_LIMIT_ENTERPRISE`
//!   (requests per minute: 100, 100, 1000, 10000)
//!
//! An unset `DATABASE_URL`/`REDIS_URL` means "use the embedded infrastructure
//! under `BP_HOME`"; the CLI resolves that, not this crate.

mod cluster;
mod secret;
mod sentinel;

pub use cluster::{CLUSTER_SCHEME, ClusterUrl, parse_cluster_url};
pub use sentinel::{SENTINEL_SCHEME, SentinelUrl, parse_sentinel_url};

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
    /// PostgreSQL itself, not a pooler: migrations (session advisory
    /// locks), backup and restore (one snapshot) use it when set.
    pub direct_url: Option<Secret>,
    /// Read replicas for reads that may lag (history pages, stats,
    /// analytics, search, templates); empty: every read on the primary.
    pub read_urls: Vec<Secret>,
    /// A replica whose replay is further behind than this serves no reads.
    pub max_replica_lag: Duration,
    /// How often the replicas' replay positions are checked.
    pub replica_check: Duration,
    /// Pool ceiling (guide: 25).
    pub max_connections: u32,
    /// Connections kept open when idle (guide: 5).
    pub min_connections: u32,
    /// How long a caller waits for a pooled connection.
    pub acquire_timeout: Duration,
    /// Server-side `statement_timeout` set on every connection.
    pub statement_timeout: Duration,
    /// Statements slower than this are logged (WARN) and timed for `db stats`.
    pub slow_statement: Duration,
    /// The role `serve`'s connections take (`bp_app`, migration 0010: DML
    /// only, row-level security); `None` keeps the login role.
    pub app_role: Option<String>,
    /// Run each request acting for a user in a transaction scoped to that
    /// user, so row-level security backs the application's own filters
    /// (`BP_DB_ROW_SECURITY`, off: it costs three round trips a request;
    /// see docs/benchmarks.md).
    pub row_security: bool,
    /// `DATABASE_URL` leads to PgBouncer in transaction pooling mode
    /// (`BP_DB_POOLER=transaction`): every statement runs inside a
    /// transaction of its own, with no statement cache, so that one
    /// statement's prepare and execute share a server connection.
    pub transaction_pooler: bool,
}

/// Redis connection settings.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// Redis URL; `None` selects the embedded instance.
    pub url: Option<Secret>,
    /// Prefix put before every key this service writes (guide: `api-gateway`).
    pub key_prefix: String,
    /// The longest one cache call may take before it counts as Redis being down.
    pub op_timeout: Duration,
    /// Refuse rate-limited requests while Redis is down (default: let them pass).
    pub rate_limit_fail_closed: bool,
    /// Time to live of each namespace.
    pub ttls: CacheTtls,
    /// The authority that signed a `rediss://` server's certificate (PEM,
    /// `BP_REDIS_CA_FILE`); unset, the system's roots are trusted.
    pub ca_file: Option<PathBuf>,
}

/// Time to live of each cache namespace (the guide's cache configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheTtls {
    /// `session:` (24 h).
    pub sessions: Duration,
    /// `api:response:` (5 min).
    pub api_responses: Duration,
    /// `ml:intent:` (1 h).
    pub predictions: Duration,
    /// `technique:` (30 min).
    pub techniques: Duration,
    /// `template:` (2 h).
    pub templates: Duration,
    /// `user:pref:` (1 h).
    pub user_prefs: Duration,
    /// `analytics:` (15 min).
    pub analytics: Duration,
    /// How long a process trusts its local copy of a feature flag (1 min).
    pub feature_flags: Duration,
    /// `temp:` (5 min).
    pub temp: Duration,
}

impl Default for CacheTtls {
    fn default() -> Self {
        let mins = |m: u64| Duration::from_secs(m * 60);
        Self {
            sessions: mins(24 * 60),
            api_responses: mins(5),
            predictions: mins(60),
            techniques: mins(30),
            templates: mins(120),
            user_prefs: mins(60),
            analytics: mins(15),
            feature_flags: mins(1),
            temp: mins(5),
        }
    }
}

impl CacheTtls {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let ttl = |var: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            let secs = number(get, var, default.as_secs())?;
            if secs == 0 {
                return Err(ConfigError {
                    var,
                    reason: "a time to live must be at least 1 second".into(),
                });
            }
            Ok(Duration::from_secs(secs))
        };
        Ok(Self {
            sessions: ttl("BP_CACHE_TTL_SESSIONS_SECS", d.sessions)?,
            api_responses: ttl("BP_CACHE_TTL_API_RESPONSES_SECS", d.api_responses)?,
            predictions: ttl("BP_CACHE_TTL_PREDICTIONS_SECS", d.predictions)?,
            techniques: ttl("BP_CACHE_TTL_TECHNIQUES_SECS", d.techniques)?,
            templates: ttl("BP_CACHE_TTL_TEMPLATES_SECS", d.templates)?,
            user_prefs: ttl("BP_CACHE_TTL_USER_PREFS_SECS", d.user_prefs)?,
            analytics: ttl("BP_CACHE_TTL_ANALYTICS_SECS", d.analytics)?,
            feature_flags: ttl("BP_CACHE_TTL_FEATURE_FLAGS_SECS", d.feature_flags)?,
            temp: ttl("BP_CACHE_TTL_TEMP_SECS", d.temp)?,
        })
    }
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
    /// The signing secret before the last rotation, still accepted for
    /// verification (`BP_JWT_PREVIOUS_SECRET`).
    pub jwt_previous_secret: Option<Secret>,
    /// Unix seconds after which the previous secret's tokens are refused
    /// (`BP_JWT_PREVIOUS_UNTIL`; unset: accepted until the variable goes).
    pub jwt_previous_until: Option<i64>,
    /// bcrypt cost for new password hashes (`BP_BCRYPT_COST`, 12; 10..=16).
    pub bcrypt_cost: u32,
    /// Cookies carry `Secure` (`BP_COOKIE_SECURE`, false for plain-HTTP development).
    pub cookie_secure: bool,
    /// Origins allowed by CORS (`BP_CORS_ORIGINS`, comma-separated; empty: none).
    pub cors_origins: Vec<String>,
    /// Trust `X-Forwarded-For` for the client address (`BP_TRUST_PROXY`, false).
    pub trust_proxy: bool,
    /// Days `auth.audit_log` rows are kept by `db prune-audit`
    /// (`BP_AUDIT_RETENTION_DAYS`, 365).
    pub audit_retention_days: u32,
    /// Serve HTTPS with this certificate chain and private key (PEM files,
    /// `BP_TLS_CERT_FILE` and `BP_TLS_KEY_FILE`, both or neither); with it
    /// cookies are `Secure` and responses carry HSTS.
    pub tls: Option<TlsFiles>,
    /// Requests per minute per tier (`BP_RATE_LIMIT_FREE`/`_PRO`/`_ENTERPRISE`:
    /// 100, 1000, 10000) and for anonymous clients per IP (`BP_RATE_LIMIT_ANONYMOUS`, 100).
    pub rate_limits: TierLimits,
    /// The built web application served at `/` (`BP_WEB_DIR`, default
    /// `web/dist` relative to the working directory; empty: no page).
    pub web_dir: Option<PathBuf>,
}

/// A server certificate chain and its private key, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Requests per minute by tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierLimits {
    /// Anonymous clients, per IP address.
    pub anonymous: u32,
    /// `free` users.
    pub free: u32,
    /// `pro` users.
    pub pro: u32,
    /// `enterprise` users.
    pub enterprise: u32,
}

/// Where embeddings for semantic search come from.
#[derive(Debug, Clone, PartialEq)]
pub enum EmbeddingProvider {
    /// The sentence model (all-MiniLM-L6-v2, distilled) when it is
    /// installed, else the built-in lexical embedder.
    Local,
    /// The built-in lexical embedder only (no model files).
    Lexical,
    /// An OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, Ollama, vLLM...).
    OpenAi {
        /// Base URL; `/v1/embeddings` is appended (may carry credentials).
        url: Secret,
        /// Model name, e.g. `text-embedding-3-small` or `nomic-embed-text`.
        model: String,
        /// Bearer token, when the provider needs one.
        api_key: Option<Secret>,
    },
}

/// Enhancement engine settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Embedding provider (`BP_EMBEDDINGS_PROVIDER` = `local` | `lexical` | `openai`).
    pub embeddings: EmbeddingProvider,
    /// The sentence model's directory (`BP_MODEL_DIR`). The intent model
    /// uses it whatever the embedding provider.
    pub model_dir: PathBuf,
    /// How often a server checks whether intent patterns or templates changed.
    pub refresh_interval: Duration,
}

/// PII encryption at rest.
#[derive(Debug, Clone, Default)]
pub struct EncryptionConfig {
    /// `BP_ENCRYPTION_KEYS`: every key that may have sealed a stored value,
    /// as `id:base64key` entries.
    pub keys: Option<Secret>,
    /// `BP_ENCRYPTION_ACTIVE_KEY`: the id that seals new values (default:
    /// the last entry).
    pub active_key: Option<String>,
    /// `BP_BLIND_INDEX_KEY`: the email blind-index key (base64).
    pub blind_index_key: Option<Secret>,
    /// `BP_ENCRYPT_PROMPTS`: also seal prompt text in the history.
    pub encrypt_prompts: bool,
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
    /// Enhancement engine.
    pub engine: EngineConfig,
    /// PII encryption at rest.
    pub encryption: EncryptionConfig,
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
            direct_url: get("DATABASE_DIRECT_URL")
                .map(|v| checked_url("DATABASE_DIRECT_URL", &v, &["postgres", "postgresql"]))
                .transpose()?,
            read_urls: get("DATABASE_READ_URL")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|u| !u.is_empty())
                        .map(|u| checked_url("DATABASE_READ_URL", u, &["postgres", "postgresql"]))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?
                .unwrap_or_default(),
            max_replica_lag: Duration::from_millis(number(&get, "BP_DB_MAX_REPLICA_LAG_MS", 1000)?),
            replica_check: Duration::from_millis(number(&get, "BP_DB_REPLICA_CHECK_MS", 100)?.max(10)),
            max_connections: number(&get, "BP_DB_MAX_CONNECTIONS", 25)?,
            min_connections: number(&get, "BP_DB_MIN_CONNECTIONS", 5)?,
            acquire_timeout: Duration::from_secs(number(&get, "BP_DB_ACQUIRE_TIMEOUT_SECS", 5)?),
            statement_timeout: Duration::from_millis(number(&get, "BP_DB_STATEMENT_TIMEOUT_MS", 30_000)?),
            slow_statement: Duration::from_millis(number(&get, "BP_DB_SLOW_STATEMENT_MS", 200)?),
            app_role: app_role(get("BP_DB_APP_ROLE"))?,
            row_security: flag(&get, "BP_DB_ROW_SECURITY")?,
            transaction_pooler: pooler(get("BP_DB_POOLER"))?,
        };
        if database.max_connections == 0 || database.min_connections > database.max_connections {
            return Err(ConfigError {
                var: "BP_DB_MIN_CONNECTIONS",
                reason: "must be at most BP_DB_MAX_CONNECTIONS, which must be at least 1".into(),
            });
        }
        let redis = RedisConfig {
            url: get("REDIS_URL").map(|v| checked_redis_url(&v)).transpose()?,
            key_prefix: get("BP_REDIS_KEY_PREFIX").unwrap_or_else(|| "api-gateway".into()),
            op_timeout: Duration::from_millis(number(&get, "BP_REDIS_TIMEOUT_MS", 250)?.max(1)),
            rate_limit_fail_closed: flag(&get, "BP_RATE_LIMIT_FAIL_CLOSED")?,
            ttls: CacheTtls::from_lookup(&get)?,
            ca_file: get("BP_REDIS_CA_FILE").map(|v| PathBuf::from(v.trim())),
        };
        if redis.ca_file.is_some()
            && !redis
                .url
                .as_ref()
                .is_some_and(|u| u.expose().starts_with("rediss://"))
        {
            return Err(ConfigError {
                var: "BP_REDIS_CA_FILE",
                reason: "applies to a rediss:// REDIS_URL only".into(),
            });
        }
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
        let tls = match (get("BP_TLS_CERT_FILE"), get("BP_TLS_KEY_FILE")) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: PathBuf::from(cert.trim()),
                key: PathBuf::from(key.trim()),
            }),
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                return Err(ConfigError {
                    var: "BP_TLS_CERT_FILE",
                    reason: "BP_TLS_CERT_FILE and BP_TLS_KEY_FILE go together".into(),
                });
            }
        };
        let server = ServerConfig {
            listen,
            jwt_secret: get("BP_JWT_SECRET").map(Secret::new),
            jwt_previous_secret: get("BP_JWT_PREVIOUS_SECRET").map(Secret::new),
            jwt_previous_until: get("BP_JWT_PREVIOUS_UNTIL")
                .map(|v| {
                    v.trim().parse::<i64>().map_err(|_| ConfigError {
                        var: "BP_JWT_PREVIOUS_UNTIL",
                        reason: format!("`{v}` is not a time in unix seconds"),
                    })
                })
                .transpose()?,
            bcrypt_cost: number(&get, "BP_BCRYPT_COST", 12)?,
            cookie_secure: flag(&get, "BP_COOKIE_SECURE")? || tls.is_some(),
            tls,
            cors_origins: get("BP_CORS_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_string())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            trust_proxy: flag(&get, "BP_TRUST_PROXY")?,
            audit_retention_days: number(&get, "BP_AUDIT_RETENTION_DAYS", 365)?.max(1),
            rate_limits: TierLimits {
                anonymous: number(&get, "BP_RATE_LIMIT_ANONYMOUS", 100)?,
                free: number(&get, "BP_RATE_LIMIT_FREE", 100)?,
                pro: number(&get, "BP_RATE_LIMIT_PRO", 1000)?,
                enterprise: number(&get, "BP_RATE_LIMIT_ENTERPRISE", 10_000)?,
            },
            web_dir: match lookup("BP_WEB_DIR") {
                None => Some(PathBuf::from("web/dist")),
                Some(v) if v.trim().is_empty() => None,
                Some(v) => Some(PathBuf::from(v.trim())),
            },
        };
        if !(10..=16).contains(&server.bcrypt_cost) {
            return Err(ConfigError {
                var: "BP_BCRYPT_COST",
                reason: "must be between 10 and 16".into(),
            });
        }
        let limits = server.rate_limits;
        if [limits.anonymous, limits.free, limits.pro, limits.enterprise].contains(&0) {
            return Err(ConfigError {
                var: "BP_RATE_LIMIT_FREE",
                reason: "rate limits must be at least 1 request per minute".into(),
            });
        }
        let embeddings = match get("BP_EMBEDDINGS_PROVIDER").as_deref() {
            None | Some("local") => EmbeddingProvider::Local,
            Some("lexical") => EmbeddingProvider::Lexical,
            Some("openai") => EmbeddingProvider::OpenAi {
                url: checked_url(
                    "BP_EMBEDDINGS_URL",
                    &get("BP_EMBEDDINGS_URL").unwrap_or_else(|| "https://api.openai.com".into()),
                    &["http", "https"],
                )?,
                model: get("BP_EMBEDDINGS_MODEL").unwrap_or_else(|| "text-embedding-3-small".into()),
                api_key: get("BP_EMBEDDINGS_API_KEY").map(Secret::new),
            },
            Some(other) => {
                return Err(ConfigError {
                    var: "BP_EMBEDDINGS_PROVIDER",
                    reason: format!("`{other}` is not `local`, `lexical` or `openai`"),
                });
            }
        };
        let engine = EngineConfig {
            embeddings,
            model_dir: get("BP_MODEL_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| home.home.join("models/all-MiniLM-L6-v2")),
            refresh_interval: Duration::from_secs(number(&get, "BP_ENGINE_REFRESH_SECS", 60)?.max(1)),
        };
        let encryption = EncryptionConfig {
            keys: get("BP_ENCRYPTION_KEYS").map(Secret::new),
            active_key: get("BP_ENCRYPTION_ACTIVE_KEY"),
            blind_index_key: get("BP_BLIND_INDEX_KEY").map(Secret::new),
            encrypt_prompts: flag(&get, "BP_ENCRYPT_PROMPTS")?,
        };
        if encryption.keys.is_some() != encryption.blind_index_key.is_some() {
            return Err(ConfigError {
                var: "BP_BLIND_INDEX_KEY",
                reason: "BP_ENCRYPTION_KEYS and BP_BLIND_INDEX_KEY are set together (or neither, for the \
                         embedded instance's generated keys)"
                    .into(),
            });
        }
        Ok(Self {
            database,
            redis,
            home,
            server,
            engine,
            encryption,
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

/// `BP_DB_APP_ROLE`: a plain lower-case identifier (it goes into the
/// startup options as `-c role=...`), `bp_app` when unset, none for `none`.
fn app_role(value: Option<String>) -> Result<Option<String>, ConfigError> {
    let value = value
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| "bp_app".into());
    if value == "none" {
        return Ok(None);
    }
    let mut chars = value.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && value.len() <= 63;
    if !valid {
        return Err(ConfigError {
            var: "BP_DB_APP_ROLE",
            reason: "must be a role name of lower-case letters, digits and _ (or `none`)".into(),
        });
    }
    Ok(Some(value))
}

/// `BP_DB_POOLER`: `none` (the default: PostgreSQL itself, or PgBouncer in
/// session mode) or `transaction` (PgBouncer in transaction mode).
fn pooler(value: Option<String>) -> Result<bool, ConfigError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("none" | "session") => Ok(false),
        Some("transaction") => Ok(true),
        Some(other) => Err(ConfigError {
            var: "BP_DB_POOLER",
            reason: format!("`{other}` is not `none`, `session` or `transaction`"),
        }),
    }
}

fn flag(get: &impl Fn(&str) -> Option<String>, var: &'static str) -> Result<bool, ConfigError> {
    match get(var).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
        Some(v) => Err(ConfigError {
            var,
            reason: format!("`{v}` is not true or false"),
        }),
    }
}

/// A `redis://`, `rediss://` or `redis+sentinel://` URL (the last is not
/// a URL the `url` crate reads: it lists several hosts).
fn checked_redis_url(value: &str) -> Result<Secret, ConfigError> {
    match parse_cluster_url(value) {
        Ok(Some(_)) => return Ok(Secret::new(value)),
        Ok(None) => {}
        Err(reason) => {
            return Err(ConfigError {
                var: "REDIS_URL",
                reason,
            });
        }
    }
    match parse_sentinel_url(value) {
        Ok(Some(_)) => Ok(Secret::new(value)),
        Ok(None) => checked_url(
            "REDIS_URL",
            value,
            &["redis", "rediss", SENTINEL_SCHEME, CLUSTER_SCHEME],
        ),
        Err(reason) => Err(ConfigError {
            var: "REDIS_URL",
            reason,
        }),
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
        assert_eq!(s.redis.ttls.sessions, Duration::from_secs(24 * 3600));
        assert_eq!(s.redis.ttls.api_responses, Duration::from_secs(300));
        assert_eq!(s.redis.ttls.predictions, Duration::from_secs(3600));
        assert!(!s.redis.rate_limit_fail_closed, "fail-open by default");
        assert_eq!(s.home.home, PathBuf::from("/home/a/.local/share/betterprompts"));
        assert_eq!(s.home.instance, "default");
        assert_eq!(s.server.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn the_pooler_mode_is_read_and_checked() {
        assert!(!settings(&[]).unwrap().database.transaction_pooler);
        assert!(
            !settings(&[("BP_DB_POOLER", "session")])
                .unwrap()
                .database
                .transaction_pooler
        );
        assert!(
            settings(&[("BP_DB_POOLER", " Transaction ")])
                .unwrap()
                .database
                .transaction_pooler
        );
        let e = settings(&[("BP_DB_POOLER", "statement")]).unwrap_err();
        assert_eq!(e.var, "BP_DB_POOLER");
        assert!(e.reason.contains("statement"), "{}", e.reason);
    }

    #[test]
    fn least_privilege_and_tls_settings_are_read_and_checked() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.database.app_role.as_deref(), Some("bp_app"));
        assert!(
            !s.database.row_security,
            "the scope is off by default (docs/operations.md)"
        );
        assert!(s.server.tls.is_none() && !s.server.cookie_secure);
        let s = settings(&[
            ("BP_DB_APP_ROLE", "none"),
            ("BP_DB_ROW_SECURITY", "true"),
            ("BP_TLS_CERT_FILE", "/tls/cert.pem"),
            ("BP_TLS_KEY_FILE", "/tls/key.pem"),
            ("REDIS_URL", "rediss://cache.internal:6380"),
            ("BP_REDIS_CA_FILE", "/tls/redis-ca.pem"),
        ])
        .unwrap();
        assert_eq!(s.database.app_role, None);
        assert!(s.database.row_security);
        assert!(
            s.server.cookie_secure,
            "HTTPS makes cookies Secure (and sends HSTS)"
        );
        assert_eq!(s.server.tls.map(|t| t.key), Some(PathBuf::from("/tls/key.pem")));
        assert_eq!(s.redis.ca_file, Some(PathBuf::from("/tls/redis-ca.pem")));
        for (vars, var) in [
            (&[("BP_DB_APP_ROLE", "bp_app; DROP")][..], "BP_DB_APP_ROLE"),
            (&[("BP_TLS_CERT_FILE", "/tls/cert.pem")][..], "BP_TLS_CERT_FILE"),
            (&[("BP_REDIS_CA_FILE", "/tls/ca.pem")][..], "BP_REDIS_CA_FILE"),
        ] {
            assert_eq!(settings(vars).unwrap_err().var, var);
        }
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
    fn cache_ttls_and_the_rate_limit_policy_are_configurable_and_checked() {
        let s = settings(&[
            ("BP_CACHE_TTL_SESSIONS_SECS", "60"),
            ("BP_RATE_LIMIT_FAIL_CLOSED", "true"),
        ])
        .unwrap();
        assert_eq!(s.redis.ttls.sessions, Duration::from_secs(60));
        assert!(s.redis.rate_limit_fail_closed);
        let err = settings(&[("BP_CACHE_TTL_TEMP_SECS", "0")]).unwrap_err();
        assert_eq!(err.var, "BP_CACHE_TTL_TEMP_SECS");
        let err = settings(&[("BP_RATE_LIMIT_FAIL_CLOSED", "maybe")]).unwrap_err();
        assert_eq!(err.var, "BP_RATE_LIMIT_FAIL_CLOSED");
    }

    #[test]
    fn pool_bounds_and_numbers_are_checked() {
        assert!(settings(&[("BP_DB_MAX_CONNECTIONS", "ten")]).is_err());
        assert!(settings(&[("BP_DB_MAX_CONNECTIONS", "2"), ("BP_DB_MIN_CONNECTIONS", "3")]).is_err());
        assert!(settings(&[("BP_INFRA_INSTANCE", "../etc")]).is_err());
        assert!(settings(&[("BP_LISTEN", "localhost")]).is_err());
    }

    #[test]
    fn the_embedding_provider_is_local_unless_openai_is_chosen() {
        assert_eq!(settings(&[]).unwrap().engine.embeddings, EmbeddingProvider::Local);
        let s = settings(&[
            ("BP_EMBEDDINGS_PROVIDER", "openai"),
            ("BP_EMBEDDINGS_URL", "http://127.0.0.1:11434"),
            ("BP_EMBEDDINGS_MODEL", "nomic-embed-text"),
            ("BP_EMBEDDINGS_API_KEY", "sk-secret-value"),
        ])
        .unwrap();
        let EmbeddingProvider::OpenAi { url, model, api_key } = &s.engine.embeddings else {
            panic!("expected openai");
        };
        assert_eq!(
            (url.expose(), model.as_str()),
            ("http://127.0.0.1:11434", "nomic-embed-text")
        );
        assert!(api_key.is_some());
        assert!(!format!("{s:?}").contains("sk-secret-value"));
        assert_eq!(
            settings(&[("BP_EMBEDDINGS_PROVIDER", "bert")]).unwrap_err().var,
            "BP_EMBEDDINGS_PROVIDER"
        );
        assert_eq!(
            settings(&[
                ("BP_EMBEDDINGS_PROVIDER", "openai"),
                ("BP_EMBEDDINGS_URL", "ftp://x")
            ])
            .unwrap_err()
            .var,
            "BP_EMBEDDINGS_URL"
        );
    }
}
