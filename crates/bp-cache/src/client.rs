//! [`Cache`]: one multiplexed, auto-reconnecting connection (to one server,
//! the master Sentinel names, or a Redis Cluster) with a service key
//! prefix, a bound on every call, and degraded mode when Redis is down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bp_config::{CacheTtls, RedisConfig};
use redis::aio::ConnectionManagerConfig;
use redis::{FromRedisValue, Pipeline};
use tokio::sync::watch;

use crate::error::{CacheError, invalid, is_cluster_outage, is_connection_error};
use crate::events;
use crate::flags::FlagCache;
use crate::generations::Generations;
use crate::link::{Conn, Link, Sentinels, Topology};
use crate::namespace::Namespace;
use crate::stats::Counters;

/// How a [`Cache`] behaves; [`CacheSettings::from_config`] reads it from
/// the environment's [`RedisConfig`].
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// Put before every key, then `:` (the guide's `KeyPrefix`).
    pub prefix: String,
    /// The longest one call may take; slower counts as Redis being down.
    pub op_timeout: Duration,
    /// Refuse rate-limited requests while Redis is down.
    pub rate_limit_fail_closed: bool,
    /// Namespace times to live.
    pub ttls: CacheTtls,
    /// The authority a `rediss://` server's certificate must chain to (PEM
    /// file); `None` trusts the system's roots.
    pub ca_file: Option<std::path::PathBuf>,
}

impl CacheSettings {
    /// Defaults with `prefix`.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.trim_end_matches(':').to_owned(),
            op_timeout: Duration::from_millis(250),
            rate_limit_fail_closed: false,
            ttls: CacheTtls::default(),
            ca_file: None,
        }
    }

    /// From the configuration.
    pub fn from_config(config: &RedisConfig) -> Self {
        Self {
            op_timeout: config.op_timeout,
            rate_limit_fail_closed: config.rate_limit_fail_closed,
            ttls: config.ttls.clone(),
            ca_file: config.ca_file.clone(),
            ..Self::new(&config.key_prefix)
        }
    }
}

/// A client for `url`: `rediss://` is TLS, the server's certificate checked
/// against `ca_file` when given (else the system's roots) and its name.
fn client(url: &str, ca_file: Option<&std::path::Path>) -> Result<redis::Client, CacheError> {
    let invalid = |e: redis::RedisError| CacheError::InvalidUrl(e.to_string());
    match ca_file {
        None => redis::Client::open(url).map_err(invalid),
        Some(path) => {
            if !url.starts_with("rediss://") {
                return Err(CacheError::InvalidUrl(
                    "a CA file applies to rediss:// URLs only".into(),
                ));
            }
            let root_cert = std::fs::read(path).map_err(|e| {
                CacheError::InvalidUrl(format!("cannot read the Redis CA file {}: {e}", path.display()))
            })?;
            redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(root_cert),
                },
            )
            .map_err(invalid)
        }
    }
}

/// A prefixed handle on one Redis server (or the master Sentinel names,
/// or a Redis Cluster); cheap to clone. Background tasks (change events, stats flushing, the
/// Sentinel watcher) end when the last clone is dropped.
#[derive(Clone)]
pub struct Cache {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) link: Link,
    pub(crate) settings: CacheSettings,
    pub(crate) health: Health,
    pub(crate) counters: Counters,
    pub(crate) generations: Generations,
    pub(crate) flags: FlagCache,
    stop: watch::Sender<bool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("prefix", &self.inner.settings.prefix)
            .field("available", &self.is_available())
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// Connects to `url` (which may carry a password; it is never printed)
    /// with default settings and `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, CacheError> {
        Self::connect_with(url, CacheSettings::new(prefix)).await
    }

    /// Connects with `settings`; fails when Redis cannot be reached now
    /// (later outages are degraded mode, not errors of the process). A
    /// `redis+sentinel://` URL connects to the master its Sentinels name
    /// and follows a failover; a `redis+cluster://` URL connects to the
    /// cluster its seed nodes belong to (see [`crate::link`]).
    pub async fn connect_with(url: &str, settings: CacheSettings) -> Result<Self, CacheError> {
        let bound = settings.op_timeout.max(Duration::from_millis(100));
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(bound.max(Duration::from_secs(1))))
            .set_response_timeout(Some(bound))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(200));
        let sentinel = bp_config::parse_sentinel_url(url).map_err(CacheError::InvalidUrl)?;
        let cluster = bp_config::parse_cluster_url(url).map_err(CacheError::InvalidUrl)?;
        let (link, sentinels) = match (cluster, sentinel) {
            (Some(cluster), _) => {
                if settings.ca_file.is_some() {
                    return Err(CacheError::InvalidUrl(
                        "TLS to a Redis Cluster is not supported; a CA file applies to rediss:// URLs only"
                            .into(),
                    ));
                }
                let (conn, seeds, target) = crate::link::connect_cluster(&cluster, bound).await?;
                // A parsed cluster URL names at least one node.
                let first = seeds
                    .first()
                    .cloned()
                    .ok_or_else(|| CacheError::InvalidUrl("a cluster URL names no node".into()))?;
                (
                    Link::new(conn, first, target, Topology::Cluster).with_seeds(seeds),
                    None,
                )
            }
            (None, Some(parsed)) => {
                if settings.ca_file.is_some() {
                    return Err(CacheError::InvalidUrl(
                        "TLS through Sentinel is not supported; a CA file applies to rediss:// URLs only"
                            .into(),
                    ));
                }
                let mut sentinels = Sentinels::new(parsed)?;
                let (manager, client, addr) =
                    sentinels
                        .connect_master(&config)
                        .await
                        .map_err(|reason| CacheError::Unreachable {
                            target: sentinels.describe(),
                            reason,
                        })?;
                (
                    Link::new(Conn::Single(manager), client, addr, Topology::Sentinel),
                    Some(sentinels),
                )
            }
            (None, None) => {
                let client = client(url, settings.ca_file.as_deref())?;
                let target = client.get_connection_info().addr().to_string();
                let manager = redis::aio::ConnectionManager::new_with_config(client.clone(), config.clone())
                    .await
                    .map_err(|e| CacheError::Unreachable {
                        target: target.clone(),
                        reason: e.to_string(),
                    })?;
                (
                    Link::new(Conn::Single(manager), client, target, Topology::Single),
                    None,
                )
            }
        };
        let nudge = link.nudge_handle();
        let (stop, stopped) = watch::channel(false);
        let inner = Arc::new(Inner {
            link,
            health: Health::default(),
            counters: Counters::default(),
            generations: Generations::default(),
            flags: FlagCache::new(settings.ttls.feature_flags),
            settings,
            stop,
        });
        events::spawn_listener(Arc::downgrade(&inner), stopped.clone());
        if let Some(sentinels) = sentinels {
            crate::link::spawn_watcher(Arc::downgrade(&inner), sentinels, config, nudge, stopped.clone());
        }
        crate::stats::spawn_flusher(Arc::downgrade(&inner), stopped);
        Ok(Self { inner })
    }

    /// The prefix (without the trailing `:`).
    pub fn prefix(&self) -> &str {
        &self.inner.settings.prefix
    }

    /// The settings in force.
    pub fn settings(&self) -> &CacheSettings {
        &self.inner.settings
    }

    /// `prefix:key`.
    pub fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.inner.settings.prefix)
    }

    /// `prefix:<namespace prefix>rest`.
    pub(crate) fn ns_key(&self, ns: Namespace, rest: &str) -> String {
        format!("{}:{}{rest}", self.inner.settings.prefix, ns.key_prefix())
    }

    /// False while Redis is unreachable (degraded mode): reads miss, writes
    /// are dropped, rate limiting follows its fail policy.
    pub fn is_available(&self) -> bool {
        self.inner.health.available.load(Ordering::Relaxed)
    }

    /// One round trip: PING.
    pub async fn ping(&self) -> Result<(), CacheError> {
        let _: String = self.query(&redis::cmd("PING")).await?;
        Ok(())
    }

    /// Runs one command within the call bound, keeping the health state.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, CacheError> {
        self.query_on(
            &mut self.inner.link.manager(),
            cmd,
            self.inner.settings.op_timeout,
        )
        .await
    }

    /// Runs a pipeline within the call bound: one round trip, except on a
    /// cluster when its keys span slots (see [`Conn`]).
    pub(crate) async fn query_pipe<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, CacheError> {
        let mut conn = self.inner.link.manager();
        let result = tokio::time::timeout(self.inner.settings.op_timeout, pipe.query_async(&mut conn)).await;
        self.settle(result)
    }

    /// A connection of its own to the server in use (on a cluster, a seed
    /// node; only Sentinel's logouts use it), for `WAIT`, which
    /// blocks its connection: on the shared one it would stall every other
    /// call of the process.
    pub(crate) async fn own_connection(&self) -> Result<redis::aio::MultiplexedConnection, CacheError> {
        let client = self.inner.link.client();
        let result = tokio::time::timeout(
            self.inner.settings.op_timeout,
            client.get_multiplexed_async_connection(),
        )
        .await;
        self.settle(result)
    }

    /// On a cluster, a connection of its own to the master at
    /// `host:port`, with the seed nodes' credentials, for `WAIT` after
    /// writes made on it (see [`Cache::own_connection`]).
    pub(crate) async fn own_connection_to(
        &self,
        host: &str,
        port: u16,
    ) -> Result<redis::aio::MultiplexedConnection, CacheError> {
        let info = self
            .inner
            .link
            .client()
            .get_connection_info()
            .clone()
            .set_addr(redis::ConnectionAddr::Tcp(host.to_owned(), port));
        let client = redis::Client::open(info).map_err(|e| CacheError::InvalidUrl(e.to_string()))?;
        let result = tokio::time::timeout(
            self.inner.settings.op_timeout,
            client.get_multiplexed_async_connection(),
        )
        .await;
        self.settle(result)
    }

    /// Runs a pipeline on `conn` (one from [`Cache::own_connection`] or
    /// [`Cache::own_connection_to`]) within `bound`, keeping the health
    /// state.
    pub(crate) async fn query_on_pipe<T: FromRedisValue>(
        &self,
        conn: &mut (impl redis::aio::ConnectionLike + Send),
        pipe: &Pipeline,
        bound: Duration,
    ) -> Result<T, CacheError> {
        let result = tokio::time::timeout(bound, pipe.query_async(conn)).await;
        self.settle(result)
    }

    /// Runs one command on `conn` (the shared connection, or one from
    /// [`Cache::own_connection`]) within `bound`, keeping the health state.
    pub(crate) async fn query_on<T: FromRedisValue>(
        &self,
        conn: &mut (impl redis::aio::ConnectionLike + Send),
        cmd: &redis::Cmd,
        bound: Duration,
    ) -> Result<T, CacheError> {
        let result = tokio::time::timeout(bound, cmd.query_async(conn)).await;
        self.settle(result)
    }

    /// Runs `cmds` in their order, all or none: one transaction (`MULTI`)
    /// on one server. On a cluster, where the keys of one transaction must
    /// share a slot and these need not, they run one by one and stop at
    /// the first failure, so each must be written such that stopping
    /// after any of them leaves nothing wrong.
    pub(crate) async fn exec_in_order(&self, cmds: Vec<redis::Cmd>) -> Result<(), CacheError> {
        if self.inner.link.cluster() {
            for cmd in &cmds {
                self.query::<redis::Value>(cmd).await?;
            }
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for cmd in cmds {
            pipe.add_command(cmd).ignore();
        }
        self.query_pipe(&pipe).await
    }

    /// Runs `cmd`, then publishes `event` on the change events channel for
    /// the other processes: in one transaction on one server. On a cluster
    /// the two run one after the other; when the write succeeds and the
    /// event cannot be published, the write stands (other processes see it
    /// when their local copy expires) and a warning is logged.
    pub(crate) async fn write_and_announce<T: FromRedisValue>(
        &self,
        cmd: redis::Cmd,
        event: &str,
    ) -> Result<T, CacheError> {
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(self.events_channel()).arg(event);
        if self.inner.link.cluster() {
            let value = self.query::<T>(&cmd).await?;
            if let Err(e) = self.query::<redis::Value>(&publish).await {
                tracing::warn!(error = %e, event, "a cache change was made but its event not published; other processes see it when their copy expires");
            }
            return Ok(value);
        }
        let mut pipe = redis::pipe();
        pipe.atomic().add_command(cmd).add_command(publish).ignore();
        let (value,): (T,) = self.query_pipe(&pipe).await?;
        Ok(value)
    }

    /// Awaits `call` (made on [`Cache::conn`]) within the call bound,
    /// keeping the health state.
    pub(crate) async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, CacheError> {
        let result = tokio::time::timeout(self.inner.settings.op_timeout, call).await;
        self.settle(result)
    }

    /// The connection in use (a cheap clone).
    pub(crate) fn conn(&self) -> Conn {
        self.inner.link.manager()
    }

    /// Runs a Lua script (EVALSHA, loading it once) within the call bound.
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, CacheError> {
        let mut conn = self.inner.link.manager();
        let result =
            tokio::time::timeout(self.inner.settings.op_timeout, invocation.invoke_async(&mut conn)).await;
        self.settle(result)
    }

    /// One reply of a pipeline run with `ignore_errors`, settled as a
    /// command's own result would be (health state, failover nudge).
    pub(crate) fn settle_reply<T>(&self, reply: redis::RedisResult<T>) -> Result<T, CacheError> {
        self.settle(Ok(reply))
    }

    fn settle<T>(
        &self,
        result: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>,
    ) -> Result<T, CacheError> {
        match result {
            Ok(Ok(value)) => {
                self.inner.health.up();
                Ok(value)
            }
            Ok(Err(e))
                if is_connection_error(&e)
                    || self.inner.link.cluster() && is_cluster_outage(&e)
                    || (self.inner.link.replicated() || self.inner.link.cluster())
                        && e.code() == Some("READONLY") =>
            {
                // A dead master, or one demoted to a replica: with Sentinel
                // the watcher looks for the new one now (a cluster's client
                // follows its slot map by itself).
                self.inner.health.down();
                self.inner.link.nudge();
                Err(CacheError::Unavailable(e.to_string()))
            }
            Ok(Err(e)) => Err(CacheError::Redis(e)),
            Err(_) => {
                self.inner.health.down();
                self.inner.link.nudge();
                Err(CacheError::Unavailable(format!(
                    "no answer within {} ms",
                    self.inner.settings.op_timeout.as_millis()
                )))
            }
        }
    }

    /// Logs a dropped write or failed read in degraded mode, at most once
    /// every 10 s per process.
    pub(crate) fn degraded(&self, what: &str, err: &CacheError) {
        if self.inner.health.should_warn() {
            tracing::warn!(error = %err, "cache {what} skipped: Redis is unavailable (degraded mode)");
        }
    }

    /// A random token (locks, session ids in tests): 16 bytes from the OS, hex.
    pub fn random_token() -> Result<String, CacheError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| invalid("token", format!("no randomness: {e}")))?;
        Ok(hex::encode(bytes))
    }
}

/// Up/down state and the warning limiter.
pub(crate) struct Health {
    available: AtomicBool,
    last_warn_ms: AtomicU64,
    started: Instant,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            available: AtomicBool::new(true),
            last_warn_ms: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl Health {
    fn up(&self) {
        if !self.available.swap(true, Ordering::Relaxed) {
            tracing::info!("Redis is reachable again; cache back in normal mode");
        }
    }

    fn down(&self) {
        self.available.store(false, Ordering::Relaxed);
    }

    /// True at most once every 10 s: whether to log a warning now.
    pub(crate) fn should_warn(&self) -> bool {
        // +1 so the first warning (at 0 ms) is not mistaken for "never".
        let now = self.started.elapsed().as_millis() as u64 + 1;
        let last = self.last_warn_ms.load(Ordering::Relaxed);
        (last == 0 || now.saturating_sub(last) >= 10_000)
            && self
                .last_warn_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}
