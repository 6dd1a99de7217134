//! Cache statistics: hits and misses per namespace counted in process
//! (exported as metrics by the API) and added every 10 s to a shared hash
//! (`<prefix>:stats:cache`) so `betterprompts cache stats` sees all
//! processes; plus the server's own INFO figures.

use std::collections::HashMap;
use std::sync::Weak;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use crate::client::{Cache, Inner};
use crate::error::CacheError;
use crate::namespace::Namespace;

const FLUSH_EVERY: Duration = Duration::from_secs(10);

/// Per-namespace counters.
#[derive(Default)]
pub(crate) struct Counters {
    hits: [AtomicU64; Namespace::ALL.len()],
    misses: [AtomicU64; Namespace::ALL.len()],
    flushed_hits: [AtomicU64; Namespace::ALL.len()],
    flushed_misses: [AtomicU64; Namespace::ALL.len()],
}

impl Counters {
    pub(crate) fn hit(&self, ns: Namespace) {
        self.hits[ns.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn miss(&self, ns: Namespace) {
        self.misses[ns.index()].fetch_add(1, Ordering::Relaxed);
    }
}

/// Hits and misses of one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NamespaceStats {
    /// The namespace.
    pub namespace: &'static str,
    /// Reads that found a value.
    pub hits: u64,
    /// Reads that found nothing (or nothing usable).
    pub misses: u64,
}

impl NamespaceStats {
    /// hits / (hits + misses), when there were reads.
    pub fn hit_rate(&self) -> Option<f64> {
        let total = self.hits + self.misses;
        (total > 0).then(|| self.hits as f64 / total as f64)
    }
}

/// The server's INFO figures that matter for operations.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServerStats {
    /// `redis_version`.
    pub version: String,
    /// `used_memory` in bytes.
    pub used_memory: u64,
    /// `used_memory_peak` in bytes.
    pub used_memory_peak: u64,
    /// `maxmemory` in bytes (0 = no limit).
    pub max_memory: u64,
    /// `connected_clients`.
    pub connected_clients: u64,
    /// `keyspace_hits`.
    pub keyspace_hits: u64,
    /// `keyspace_misses`.
    pub keyspace_misses: u64,
    /// `evicted_keys`.
    pub evicted_keys: u64,
    /// `expired_keys`.
    pub expired_keys: u64,
    /// Keys in the selected database.
    pub keys: u64,
}

impl ServerStats {
    /// Server-wide hit rate.
    pub fn hit_rate(&self) -> Option<f64> {
        let total = self.keyspace_hits + self.keyspace_misses;
        (total > 0).then(|| self.keyspace_hits as f64 / total as f64)
    }

    /// Adds another cluster node's figures to these. The memory limit is
    /// the sum of the nodes' limits, or none (0) if any node has none.
    fn add(&mut self, other: &Self) {
        self.used_memory += other.used_memory;
        self.used_memory_peak += other.used_memory_peak;
        self.max_memory = if self.max_memory == 0 || other.max_memory == 0 {
            0
        } else {
            self.max_memory + other.max_memory
        };
        self.connected_clients += other.connected_clients;
        self.keyspace_hits += other.keyspace_hits;
        self.keyspace_misses += other.keyspace_misses;
        self.evicted_keys += other.evicted_keys;
        self.expired_keys += other.expired_keys;
        self.keys += other.keys;
    }

    /// Parses the text of `INFO`.
    pub fn parse(info: &str) -> Self {
        let fields: HashMap<&str, &str> = info
            .lines()
            .filter_map(|l| l.trim_end().split_once(':'))
            .collect();
        let num = |k: &str| fields.get(k).and_then(|v| v.parse().ok()).unwrap_or(0);
        // db0:keys=12,expires=3,avg_ttl=0
        let keys = fields
            .iter()
            .filter(|(k, _)| k.starts_with("db"))
            .filter_map(|(_, v)| v.split(',').find_map(|p| p.strip_prefix("keys=")))
            .filter_map(|n| n.parse::<u64>().ok())
            .sum();
        Self {
            version: fields.get("redis_version").unwrap_or(&"").to_string(),
            used_memory: num("used_memory"),
            used_memory_peak: num("used_memory_peak"),
            max_memory: num("maxmemory"),
            connected_clients: num("connected_clients"),
            keyspace_hits: num("keyspace_hits"),
            keyspace_misses: num("keyspace_misses"),
            evicted_keys: num("evicted_keys"),
            expired_keys: num("expired_keys"),
            keys,
        }
    }
}

/// Keys under this service's prefix per namespace, counted with SCAN.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyCounts {
    /// `(namespace name, keys)`, every namespace, in [`Namespace::ALL`] order.
    pub namespaces: Vec<(&'static str, u64)>,
    /// Keys under the prefix that belong to no namespace (stats, generations).
    pub other: u64,
    /// Keys looked at.
    pub scanned: u64,
    /// False when the scan stopped at its limit: the counts are a sample.
    pub complete: bool,
}

impl Cache {
    /// Counts this prefix's keys per namespace with SCAN (never KEYS),
    /// looking at `limit` keys at most.
    pub async fn key_counts(&self, limit: u64) -> Result<KeyCounts, CacheError> {
        let prefix = format!("{}:", self.prefix());
        let pattern = format!("{}*", crate::ops::escape_glob(&prefix));
        let mut counts = [0u64; Namespace::ALL.len()];
        let (mut other, mut scanned, mut at) = (0u64, 0u64, crate::ops::ScanCursor::default());
        loop {
            let keys = self.scan_page(&mut at, &pattern, 1000).await?;
            for key in &keys {
                let rest = key.strip_prefix(&prefix).unwrap_or(key);
                // The longest namespace prefix that matches (`user:pref:` before `user:`).
                match Namespace::ALL
                    .iter()
                    .filter(|ns| rest.starts_with(ns.key_prefix()))
                    .max_by_key(|ns| ns.key_prefix().len())
                {
                    Some(ns) => counts[ns.index()] += 1,
                    None => other += 1,
                }
            }
            scanned += keys.len() as u64;
            if at.done || scanned >= limit {
                return Ok(KeyCounts {
                    namespaces: Namespace::ALL
                        .iter()
                        .map(|ns| (ns.name(), counts[ns.index()]))
                        .collect(),
                    other,
                    scanned,
                    complete: at.done,
                });
            }
        }
    }

    /// This process's hits and misses per namespace.
    pub fn namespace_stats(&self) -> Vec<NamespaceStats> {
        let c = &self.inner.counters;
        Namespace::ALL
            .iter()
            .map(|ns| NamespaceStats {
                namespace: ns.name(),
                hits: c.hits[ns.index()].load(Ordering::Relaxed),
                misses: c.misses[ns.index()].load(Ordering::Relaxed),
            })
            .collect()
    }

    fn stats_key(&self) -> String {
        self.key("stats:cache")
    }

    /// Adds this process's counts since the last flush to the shared hash.
    pub async fn flush_stats(&self) -> Result<(), CacheError> {
        let c = &self.inner.counters;
        let mut pipe = redis::pipe();
        let mut taken = Vec::new();
        for ns in Namespace::ALL {
            let i = ns.index();
            for (field, now, flushed) in [
                ("hits", &c.hits[i], &c.flushed_hits[i]),
                ("misses", &c.misses[i], &c.flushed_misses[i]),
            ] {
                let current = now.load(Ordering::Relaxed);
                let delta = current - flushed.load(Ordering::Relaxed);
                if delta > 0 {
                    pipe.cmd("HINCRBY")
                        .arg(self.stats_key())
                        .arg(format!("{}:{field}", ns.name()))
                        .arg(delta)
                        .ignore();
                    taken.push((flushed, current));
                }
            }
        }
        if taken.is_empty() {
            return Ok(());
        }
        self.query_pipe::<()>(&pipe).await?;
        for (flushed, current) in taken {
            flushed.store(current, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Hits and misses per namespace over every process that shares this
    /// prefix (as last flushed).
    pub async fn shared_namespace_stats(&self) -> Result<Vec<NamespaceStats>, CacheError> {
        let raw: HashMap<String, u64> = self.query(redis::cmd("HGETALL").arg(self.stats_key())).await?;
        let get =
            |ns: Namespace, field: &str| raw.get(&format!("{}:{field}", ns.name())).copied().unwrap_or(0);
        Ok(Namespace::ALL
            .iter()
            .map(|&ns| NamespaceStats {
                namespace: ns.name(),
                hits: get(ns, "hits"),
                misses: get(ns, "misses"),
            })
            .collect())
    }

    /// The server's memory, clients, hit and eviction figures (INFO).
    pub async fn server_stats(&self) -> Result<ServerStats, CacheError> {
        // A cluster answers with each node's INFO: the figures are summed
        // over the nodes (the limit too, unless a node has none).
        let info: redis::Value = self.query(&redis::cmd("INFO")).await?;
        let texts: Vec<String> = match info {
            // Every node's, or an error: a partial sum would look whole.
            redis::Value::Map(nodes) => nodes
                .into_iter()
                .map(|(_, text)| redis::from_redis_value(text))
                .collect::<Result<_, _>>()
                .map_err(|e| CacheError::Redis(e.into()))?,
            other => vec![redis::from_redis_value(other).map_err(|e| CacheError::Redis(e.into()))?],
        };
        let mut nodes = texts.iter().map(|t| ServerStats::parse(t));
        let mut total = nodes.next().unwrap_or_default();
        for node in nodes {
            total.add(&node);
        }
        Ok(total)
    }
}

/// How long flushed statement timings stay after the last flush.
const STATEMENTS_TTL: Duration = Duration::from_secs(7 * 86_400);

/// Keeps the larger of a hash field and ARGV[2].
const MAX_FIELD: &str = "local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') \
    if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return 0";

/// One statement's slow executions, summed over every process that flushed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementStats {
    /// The statement text (SQL with placeholders, never values).
    pub sql: String,
    /// Slow executions.
    pub calls: u64,
    /// Their total time in microseconds.
    pub total_us: u64,
    /// The slowest in microseconds.
    pub max_us: u64,
}

impl Cache {
    fn statements_key(&self) -> String {
        self.key("stats:statements")
    }

    /// Adds statement timings to the shared hash (`<prefix>:stats:statements`,
    /// kept 7 days after the last addition), in one round trip.
    pub async fn add_statement_stats(&self, items: &[StatementStats]) -> Result<(), CacheError> {
        if items.is_empty() {
            return Ok(());
        }
        let key = self.statements_key();
        let mut pipe = redis::pipe();
        for item in items {
            let id = &crate::keys::hash_parts(&[&item.sql])[..16];
            pipe.cmd("HSET")
                .arg(&key)
                .arg(format!("{id}:sql"))
                .arg(&item.sql)
                .ignore();
            pipe.cmd("HINCRBY")
                .arg(&key)
                .arg(format!("{id}:calls"))
                .arg(item.calls)
                .ignore();
            pipe.cmd("HINCRBY")
                .arg(&key)
                .arg(format!("{id}:total_us"))
                .arg(item.total_us)
                .ignore();
            pipe.cmd("EVAL")
                .arg(MAX_FIELD)
                .arg(1)
                .arg(&key)
                .arg(format!("{id}:max_us"))
                .arg(item.max_us)
                .ignore();
        }
        pipe.cmd("PEXPIRE")
            .arg(&key)
            .arg(STATEMENTS_TTL.as_millis() as u64)
            .ignore();
        self.query_pipe::<()>(&pipe).await
    }

    /// Every statement timing the services flushed, slowest mean first.
    pub async fn statement_stats(&self) -> Result<Vec<StatementStats>, CacheError> {
        let fields: HashMap<String, String> = self
            .query(redis::cmd("HGETALL").arg(self.statements_key()))
            .await?;
        let mut by_id: HashMap<&str, StatementStats> = HashMap::new();
        for (field, value) in &fields {
            let Some((id, what)) = field.split_once(':') else {
                continue;
            };
            let entry = by_id.entry(id).or_insert_with(|| StatementStats {
                sql: String::new(),
                calls: 0,
                total_us: 0,
                max_us: 0,
            });
            let number = value.parse().unwrap_or(0);
            match what {
                "sql" => entry.sql = value.clone(),
                "calls" => entry.calls = number,
                "total_us" => entry.total_us = number,
                "max_us" => entry.max_us = number,
                _ => {}
            }
        }
        let mut list: Vec<StatementStats> = by_id.into_values().filter(|s| s.calls > 0).collect();
        list.sort_by(|a, b| {
            let mean = |s: &StatementStats| s.total_us / s.calls.max(1);
            mean(b).cmp(&mean(a)).then_with(|| a.sql.cmp(&b.sql))
        });
        Ok(list)
    }
}

pub(crate) fn spawn_flusher(weak: Weak<Inner>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(FLUSH_EVERY) => {}
                _ = stop.changed() => return,
            }
            let Some(inner) = weak.upgrade() else { return };
            let cache = Cache { inner };
            // A failure keeps the counts for the next flush.
            let _ = cache.flush_stats().await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_text_parses_into_the_figures() {
        let info = "# Server\r\nredis_version:7.0.15\r\n# Memory\r\nused_memory:1048576\r\nmaxmemory:0\r\n\
                    # Clients\r\nconnected_clients:3\r\n# Stats\r\nkeyspace_hits:30\r\nkeyspace_misses:10\r\n\
                    evicted_keys:0\r\nexpired_keys:5\r\n# Keyspace\r\ndb0:keys=12,expires=3,avg_ttl=0\r\n";
        let s = ServerStats::parse(info);
        assert_eq!(s.version, "7.0.15");
        assert_eq!(s.used_memory, 1_048_576);
        assert_eq!(s.connected_clients, 3);
        assert_eq!(s.keys, 12);
        assert_eq!(s.hit_rate(), Some(0.75));
    }
}
