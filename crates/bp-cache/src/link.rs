//! Where the cache's connection points: one fixed server (`redis://`,
//! `rediss://`), or the master that Redis Sentinel names
//! (`redis+sentinel://`, see [`bp_config::SentinelUrl`]).
//!
//! With Sentinel, a watcher asks a Sentinel for the master's address every
//! [`SENTINEL_CHECK`], and at once when a call fails on the connection or
//! is refused as `READONLY` (the old master came back as a replica). When
//! the address changes and the server there answers `ROLE` as a master, the
//! connection is replaced and the change events listener resubscribes on
//! it. When a call failed but the Sentinel still names the server in use,
//! and that server says it is no master, the next Sentinel is asked from
//! then on (the first may be behind, or cut off from the others). Until then calls fail fast and the cache is in degraded mode, as
//! with any outage: a failover costs the seconds Sentinel takes to agree,
//! and no restart.

use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use bp_config::SentinelUrl;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use tokio::sync::{Notify, watch};

use crate::client::Inner;
use crate::error::CacheError;

/// How often the watcher asks a Sentinel where the master is.
pub const SENTINEL_CHECK: Duration = Duration::from_millis(200);

/// The bound on one question to one Sentinel, or on connecting to a newly
/// named master.
const SENTINEL_TIMEOUT: Duration = Duration::from_millis(500);

/// The least time between two of the watcher's checks.
const MIN_GAP: Duration = Duration::from_millis(50);

/// Whether the server behind `manager` answers `ROLE` as a master.
async fn is_master(mut manager: ConnectionManager) -> bool {
    let role = tokio::time::timeout(
        SENTINEL_TIMEOUT,
        redis::cmd("ROLE").query_async::<Vec<redis::Value>>(&mut manager),
    )
    .await;
    matches!(role, Ok(Ok(v)) if is_master_role(v.first()))
}

fn is_master_role(first: Option<&redis::Value>) -> bool {
    match first {
        Some(redis::Value::BulkString(b)) => b == b"master",
        Some(redis::Value::SimpleString(s)) => s == "master",
        _ => false,
    }
}

/// The connection in use and how to replace it.
pub(crate) struct Link {
    current: RwLock<Current>,
    /// Bumped each time the connection moves to another server.
    moved: watch::Sender<u64>,
    /// Wakes the Sentinel watcher before its next tick.
    nudge: Arc<Notify>,
    /// Through Sentinel: the master has a replica that a failover promotes.
    replicated: bool,
}

#[derive(Clone)]
struct Current {
    manager: ConnectionManager,
    /// For the change events listener's own (pub/sub) connection.
    client: redis::Client,
    /// `host:port`, for logs and comparison.
    addr: String,
}

impl Link {
    pub(crate) fn new(
        manager: ConnectionManager,
        client: redis::Client,
        addr: String,
        replicated: bool,
    ) -> Self {
        Self {
            current: RwLock::new(Current {
                manager,
                client,
                addr,
            }),
            moved: watch::channel(0).0,
            nudge: Arc::new(Notify::new()),
            replicated,
        }
    }

    /// True through Sentinel, where a failover promotes a replica.
    pub(crate) fn replicated(&self) -> bool {
        self.replicated
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Current> {
        // A panic while holding the lock cannot leave `Current` half
        // written (it is replaced whole), so a poisoned lock is still good.
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The multiplexed connection to use now (a cheap clone).
    pub(crate) fn manager(&self) -> ConnectionManager {
        self.read().manager.clone()
    }

    /// The client of the server in use, for a pub/sub connection.
    pub(crate) fn client(&self) -> redis::Client {
        self.read().client.clone()
    }

    /// `host:port` of the server in use.
    pub(crate) fn addr(&self) -> String {
        self.read().addr.clone()
    }

    /// Changes each time the connection moves to another server.
    pub(crate) fn moves(&self) -> watch::Receiver<u64> {
        self.moved.subscribe()
    }

    /// Asks the Sentinel watcher (if any) to check the master now.
    pub(crate) fn nudge(&self) {
        self.nudge.notify_one();
    }

    fn replace(&self, next: Current) {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = next;
        drop(current);
        self.moved.send_modify(|n| *n += 1);
    }
}

/// The Sentinels of one `redis+sentinel://` URL, asked in turn.
pub(crate) struct Sentinels {
    url: SentinelUrl,
    clients: Vec<redis::Client>,
    /// A connection to the Sentinel that last answered, and its index.
    open: Option<(usize, MultiplexedConnection)>,
    /// Which Sentinel to ask first when none is open.
    start: usize,
}

impl Sentinels {
    pub(crate) fn new(url: SentinelUrl) -> Result<Self, CacheError> {
        let clients = url
            .sentinels
            .iter()
            .map(|(host, port)| {
                redis::Client::open(redis::ConnectionAddr::Tcp(host.clone(), *port))
                    .map_err(|e| CacheError::InvalidUrl(format!("Sentinel {host}:{port}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            url,
            clients,
            open: None,
            start: 0,
        })
    }

    /// `host:port` of every Sentinel, for messages.
    pub(crate) fn describe(&self) -> String {
        let nodes: Vec<String> = self
            .url
            .sentinels
            .iter()
            .map(|(h, p)| format!("{h}:{p}"))
            .collect();
        format!("Sentinel {} (master `{}`)", nodes.join(","), self.url.master)
    }

    /// The master's address as the first Sentinel that answers names it.
    async fn master_addr(&mut self) -> Result<(String, u16), String> {
        let mut last = String::from("no Sentinel answered");
        let start = self.open.as_ref().map_or(self.start, |(i, _)| *i);
        for step in 0..self.clients.len() {
            let index = (start + step) % self.clients.len();
            let conn = match self.open.take() {
                Some((i, conn)) if i == index => conn,
                _ => match tokio::time::timeout(
                    SENTINEL_TIMEOUT,
                    self.clients[index].get_multiplexed_async_connection(),
                )
                .await
                {
                    Ok(Ok(conn)) => conn,
                    Ok(Err(e)) => {
                        last = e.to_string();
                        continue;
                    }
                    Err(_) => {
                        last = "no answer in time".into();
                        continue;
                    }
                },
            };
            let mut ask = conn.clone();
            let mut cmd = redis::cmd("SENTINEL");
            cmd.arg("get-master-addr-by-name").arg(&self.url.master);
            let question = cmd.query_async::<Option<(String, u16)>>(&mut ask);
            match tokio::time::timeout(SENTINEL_TIMEOUT, question).await {
                Ok(Ok(Some(addr))) => {
                    self.open = Some((index, conn));
                    return Ok(addr);
                }
                Ok(Ok(None)) => {
                    self.open = Some((index, conn));
                    last = format!("the Sentinels know no master named `{}`", self.url.master);
                }
                Ok(Err(e)) => last = e.to_string(),
                Err(_) => last = "no answer in time".into(),
            }
        }
        Err(last)
    }

    /// Asks the next Sentinel from now on: the one that answered named a
    /// server that is not the master (it may be behind, or cut off).
    fn rotate(&mut self) {
        if let Some((i, _)) = self.open.take() {
            self.start = (i + 1) % self.clients.len();
        }
    }

    /// Connects to the master the Sentinels name, once it says it is one.
    pub(crate) async fn connect_master(
        &mut self,
        config: &ConnectionManagerConfig,
    ) -> Result<(ConnectionManager, redis::Client, String), String> {
        let (host, port) = self.master_addr().await?;
        let addr = format!("{host}:{port}");
        let client =
            redis::Client::open(self.url.master_url(&host, port).as_str()).map_err(|e| e.to_string())?;
        let connect = async {
            let mut manager = ConnectionManager::new_with_config(client.clone(), config.clone()).await?;
            let role: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut manager).await?;
            Ok::<_, redis::RedisError>((manager, role))
        };
        match tokio::time::timeout(SENTINEL_TIMEOUT.max(Duration::from_secs(1)), connect).await {
            Ok(Ok((manager, role))) if is_master_role(role.first()) => Ok((manager, client, addr)),
            Ok(Ok(_)) => Err(format!("{addr}, named master by Sentinel, is not a master yet")),
            Ok(Err(e)) => Err(format!("{addr}: {e}")),
            Err(_) => Err(format!("{addr}: no answer in time")),
        }
    }
}

/// Follows the master the Sentinels name until the cache is dropped.
pub(crate) fn spawn_watcher(
    weak: Weak<Inner>,
    mut sentinels: Sentinels,
    config: ConnectionManagerConfig,
    nudge: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut last = tokio::time::Instant::now();
        loop {
            let nudged = tokio::select! {
                _ = tokio::time::sleep(SENTINEL_CHECK) => false,
                _ = nudge.notified() => true,
                _ = stop.changed() => return,
            };
            // A burst of failing calls nudges many times: one check per
            // MIN_GAP at most.
            tokio::time::sleep_until(last + MIN_GAP).await;
            last = tokio::time::Instant::now();
            let Some((current, manager)) = weak
                .upgrade()
                .map(|inner| (inner.link.addr(), inner.link.manager()))
            else {
                return;
            };
            let named = match sentinels.master_addr().await {
                Ok((host, port)) => format!("{host}:{port}"),
                Err(e) => {
                    tracing::debug!(error = %e, "asking the Redis Sentinels for the master failed");
                    continue;
                }
            };
            if named == current {
                // A call failed, yet the Sentinel names the server in use:
                // if that server says it is no master, this Sentinel is
                // behind; ask the next one from now on.
                if nudged && !is_master(manager).await {
                    sentinels.rotate();
                }
                continue;
            }
            match sentinels.connect_master(&config).await {
                Ok((manager, client, addr)) => {
                    let Some(inner) = weak.upgrade() else { return };
                    tracing::warn!(from = %current, to = %addr, "Redis master moved (Sentinel failover); the cache follows it");
                    inner.link.replace(Current {
                        manager,
                        client,
                        addr,
                    });
                }
                Err(e) => tracing::debug!(error = %e, "the master Sentinel names is not ready"),
            }
        }
    });
}

impl Link {
    /// The watcher's wake-up handle (held by the watcher, not the cache, so
    /// that waiting on it keeps nothing alive).
    pub(crate) fn nudge_handle(&self) -> Arc<Notify> {
        self.nudge.clone()
    }
}

/// A client for the server `url` points at now: for `redis+sentinel://`,
/// the master its Sentinels name. For tools and tests that need a plain
/// connection of their own; a [`crate::Cache`] follows a failover by itself.
pub async fn current_server(url: &str) -> Result<redis::Client, CacheError> {
    match bp_config::parse_sentinel_url(url).map_err(CacheError::InvalidUrl)? {
        None => redis::Client::open(url).map_err(|e| CacheError::InvalidUrl(e.to_string())),
        Some(parsed) => {
            let mut sentinels = Sentinels::new(parsed.clone())?;
            let (host, port) = sentinels
                .master_addr()
                .await
                .map_err(|reason| CacheError::Unreachable {
                    target: sentinels.describe(),
                    reason,
                })?;
            redis::Client::open(parsed.master_url(&host, port).as_str())
                .map_err(|e| CacheError::InvalidUrl(e.to_string()))
        }
    }
}
