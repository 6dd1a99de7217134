//! Where the cache's connection points: one fixed server (`redis://`,
//! `rediss://`), the master that Redis Sentinel names
//! (`redis+sentinel://`, see [`bp_config::SentinelUrl`]), or a Redis
//! Cluster (`redis+cluster://`, see [`bp_config::ClusterUrl`] and [`Conn`]).
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
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
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

/// The connection a cache's calls go through: one server's multiplexed,
/// auto-reconnecting connection, or a Redis Cluster's, which routes each
/// command to the node that holds its keys' slot and follows the slot map
/// as it changes.
///
/// In a cluster, a pipeline whose commands touch keys of more than one
/// slot cannot go to one node. A transaction (`MULTI`) must keep its keys
/// in one slot (the cache's own do: each touches one key, or keys sharing
/// a hash tag), and fails with `CROSSSLOT` otherwise. A plain pipeline is
/// sent as one when its keys share a slot. When its single-key commands
/// name several slots the client refuses it before sending anything, and
/// it is then sent command by command, in order, each to its own node:
/// the same replies, at the cost of a round trip per command. (The client
/// routes a pipeline by its single-key commands only: a multi-key command
/// such as MGET inside a pipeline would go to the first key's node; the
/// cache sends those on their own.)
#[derive(Clone)]
pub enum Conn {
    /// One server (or the master Sentinel names).
    Single(ConnectionManager),
    /// A Redis Cluster.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => {
                if pipeline.is_transaction() {
                    return c.req_packed_commands(pipeline, offset, count);
                }
                // A clone shares the cluster's connections.
                let mut c = c.clone();
                Box::pin(async move {
                    match c.req_packed_commands(pipeline, offset, count).await {
                        // Refused by the client before anything was sent
                        // (the commands' keys are in several slots): one
                        // by one.
                        Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::CrossSlot) => {
                            let mut replies = Vec::with_capacity(pipeline.len());
                            for cmd in pipeline.cmd_iter() {
                                replies.push(match c.req_packed_command(cmd).await {
                                    Ok(value) => value,
                                    // As in a pipeline's replies: a command's
                                    // own error is its reply; a lost
                                    // connection fails the whole.
                                    Err(e) => match redis::ServerError::try_from(e) {
                                        Ok(server) => Value::ServerError(server),
                                        Err(e) => return Err(e),
                                    },
                                });
                            }
                            Ok(replies.into_iter().skip(offset).take(count).collect())
                        }
                        other => other,
                    }
                })
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

impl Conn {
    /// Runs `cmd` on the master that holds `slot` (a key scan goes to each
    /// master in turn, named by one of its slots, so that the client's own
    /// slot map picks the node); on one server, on that server.
    pub(crate) async fn on_slot(&mut self, cmd: Cmd, slot: u16) -> redis::RedisResult<Value> {
        match self {
            Self::Single(c) => cmd.query_async(c).await,
            Self::Cluster(c) => {
                use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
                let to = SingleNodeRoutingInfo::SpecificNode(Route::new(slot, SlotAddr::Master));
                c.route_command(cmd, RoutingInfo::SingleNode(to)).await
            }
        }
    }
}

/// Whether the server behind `manager` answers `ROLE` as a master.
async fn is_master(mut manager: Conn) -> bool {
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
    /// What it connects to.
    topology: Topology,
    /// On a Redis Cluster, a client of each seed node, for the change
    /// events' pub/sub connection (a cluster passes every `PUBLISH` to all
    /// its nodes, so any one will do), and which one is in use.
    seeds: Vec<redis::Client>,
    seed: std::sync::atomic::AtomicUsize,
}

/// What a [`Link`] connects to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Topology {
    /// One server, fixed.
    Single,
    /// The master Sentinel names, with a replica a failover promotes.
    Sentinel,
    /// A Redis Cluster.
    Cluster,
}

#[derive(Clone)]
struct Current {
    manager: Conn,
    /// For the change events listener's own (pub/sub) connection.
    client: redis::Client,
    /// `host:port`, for logs and comparison.
    addr: String,
}

impl Link {
    pub(crate) fn new(manager: Conn, client: redis::Client, addr: String, topology: Topology) -> Self {
        Self {
            current: RwLock::new(Current {
                manager,
                client,
                addr,
            }),
            moved: watch::channel(0).0,
            nudge: Arc::new(Notify::new()),
            topology,
            seeds: Vec::new(),
            seed: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Sets a cluster's seed nodes' clients (see [`Link::client`]).
    pub(crate) fn with_seeds(mut self, seeds: Vec<redis::Client>) -> Self {
        self.seeds = seeds;
        self
    }

    /// Moves the change events to the next seed node (a cluster's; a no-op
    /// otherwise): the one in use did not answer.
    pub(crate) fn next_seed(&self) {
        if !self.seeds.is_empty() {
            self.seed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// True on a Redis Cluster, where the keys of one transaction must
    /// share a slot.
    pub(crate) fn cluster(&self) -> bool {
        self.topology == Topology::Cluster
    }

    /// True through Sentinel, where a failover promotes a replica.
    pub(crate) fn replicated(&self) -> bool {
        self.topology == Topology::Sentinel
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Current> {
        // A panic while holding the lock cannot leave `Current` half
        // written (it is replaced whole), so a poisoned lock is still good.
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The multiplexed connection to use now (a cheap clone).
    pub(crate) fn manager(&self) -> Conn {
        self.read().manager.clone()
    }

    /// The client of the server in use, for a pub/sub connection (on a
    /// cluster, the seed node in use).
    pub(crate) fn client(&self) -> redis::Client {
        match self.seeds.len() {
            0 => self.read().client.clone(),
            n => self.seeds[self.seed.load(std::sync::atomic::Ordering::Relaxed) % n].clone(),
        }
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
                        manager: Conn::Single(manager),
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

/// A connection to the Redis Cluster `url` names, through its first seed
/// node that answers, with each call bounded by `bound`; also a client of
/// each seed node (for the change events' pub/sub connection) and the URL
/// without its password.
pub(crate) async fn connect_cluster(
    url: &bp_config::ClusterUrl,
    bound: Duration,
) -> Result<(Conn, Vec<redis::Client>, String), CacheError> {
    let target = url.redacted();
    let nodes = url.node_urls();
    let invalid = |e: redis::RedisError| CacheError::InvalidUrl(e.to_string());
    let client = redis::cluster::ClusterClient::builder(nodes.iter().map(String::as_str))
        .connection_timeout(bound.max(Duration::from_secs(1)))
        .response_timeout(bound)
        // A redirection (MOVED after a failover) and a slot-map refresh
        // each take a retry; the call bound caps the whole.
        .retries(3)
        .min_retry_wait(10)
        .max_retry_wait(200)
        .build()
        .map_err(invalid)?;
    let conn = tokio::time::timeout(bound.max(Duration::from_secs(2)), client.get_async_connection())
        .await
        .map_err(|_| CacheError::Unreachable {
            target: target.clone(),
            reason: "no answer in time".into(),
        })?
        .map_err(|e| CacheError::Unreachable {
            target: target.clone(),
            reason: e.to_string(),
        })?;
    let seeds = nodes
        .iter()
        .map(|n| redis::Client::open(n.as_str()).map_err(invalid))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((Conn::Cluster(conn), seeds, target))
}

/// One slot of each master of the cluster behind `conn`, from `CLUSTER
/// SLOTS`: where a key scan must look, since each master holds only its
/// own keys.
pub(crate) async fn cluster_masters(conn: &mut Conn) -> redis::RedisResult<Vec<u16>> {
    let mut seen: Vec<(String, u16)> = Vec::new();
    let mut slots = Vec::new();
    for (start, _, host, port, _) in slot_ranges(conn).await? {
        if !seen.contains(&(host.clone(), port)) {
            seen.push((host, port));
            slots.push(start);
        }
    }
    slots.sort_unstable();
    Ok(slots)
}

/// The cluster slot of `key` (CRC16/XMODEM of its hash tag, or of the
/// whole key, modulo 16,384), as Redis Cluster computes it.
pub fn key_slot(key: &str) -> u16 {
    let tagged = key
        .split_once('{')
        .and_then(|(_, rest)| rest.split_once('}'))
        .map(|(tag, _)| tag)
        .filter(|tag| !tag.is_empty())
        .unwrap_or(key);
    let mut crc: u16 = 0;
    for byte in tagged.bytes() {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16_384
}

/// One range of a cluster's slots: `(first, last, master host, master
/// port, whether the master has a replica)`.
pub(crate) type SlotRange = (u16, u16, String, u16, bool);

/// The cluster's slot ranges, from `CLUSTER SLOTS`.
pub(crate) async fn slot_ranges(conn: &mut Conn) -> redis::RedisResult<Vec<SlotRange>> {
    let ranges: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER").arg("SLOTS").query_async(conn).await?;
    let mut out = Vec::with_capacity(ranges.len());
    for range in ranges {
        let mut parts = range.into_iter();
        let start: u16 = redis::from_redis_value(parts.next().unwrap_or(redis::Value::Nil))?;
        let end: u16 = redis::from_redis_value(parts.next().unwrap_or(redis::Value::Nil))?;
        let Some(redis::Value::Array(master)) = parts.next() else {
            continue;
        };
        let mut master = master.into_iter();
        let host: String = redis::from_redis_value(master.next().unwrap_or(redis::Value::Nil))?;
        let port: u16 = redis::from_redis_value(master.next().unwrap_or(redis::Value::Nil))?;
        // What follows the master are its replicas.
        out.push((start, end, host, port, parts.next().is_some()));
    }
    Ok(out)
}

/// A connection of its own to what `url` names: for tools and tests that
/// look behind a [`crate::Cache`] (TTLs, stored bytes) on any topology.
pub async fn raw_connection(url: &str) -> Result<Conn, CacheError> {
    if let Some(cluster) = bp_config::parse_cluster_url(url).map_err(CacheError::InvalidUrl)? {
        return connect_cluster(&cluster, Duration::from_secs(2))
            .await
            .map(|(conn, _, _)| conn);
    }
    let client = current_server(url).await?;
    let target = client.get_connection_info().addr().to_string();
    ConnectionManager::new(client)
        .await
        .map(Conn::Single)
        .map_err(|e| CacheError::Unreachable {
            target,
            reason: e.to_string(),
        })
}

/// A client for the server `url` points at now: for `redis+sentinel://`,
/// the master its Sentinels name. For tools and tests that need a plain
/// connection of their own; a [`crate::Cache`] follows a failover by itself.
/// For `redis+cluster://`, its first seed node (one node of several: use
/// [`raw_connection`] to reach every key).
pub async fn current_server(url: &str) -> Result<redis::Client, CacheError> {
    if let Some(cluster) = bp_config::parse_cluster_url(url).map_err(CacheError::InvalidUrl)? {
        let first = cluster.node_urls().into_iter().next();
        let first = first.ok_or_else(|| CacheError::InvalidUrl("a cluster URL names no node".into()))?;
        return redis::Client::open(first.as_str()).map_err(|e| CacheError::InvalidUrl(e.to_string()));
    }
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

#[cfg(test)]
mod tests {
    use super::key_slot;

    #[test]
    fn key_slots_are_redis_clusters() {
        // The examples of Redis' own CLUSTER KEYSLOT documentation.
        assert_eq!(key_slot("somekey"), 11058);
        assert_eq!(key_slot("foo{hash_tag}"), 2515);
        assert_eq!(key_slot("{hash_tag}bar"), key_slot("hash_tag"));
        assert_eq!(
            key_slot("a{}b"),
            key_slot("a{}b"),
            "an empty tag hashes the whole key"
        );
    }
}
