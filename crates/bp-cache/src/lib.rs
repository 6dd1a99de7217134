//! Redis access for BetterPrompts. [`Cache`] wraps one multiplexed,
//! auto-reconnecting connection and puts a configurable prefix before every
//! key (the guide's `KeyPrefix: "api-gateway"`), so several services, or
//! several tests, share one server without seeing each other's keys.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Why a cache operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// `REDIS_URL` does not parse.
    #[error("REDIS_URL is invalid: {0}")]
    InvalidUrl(String),
    /// The server cannot be reached.
    #[error(
        "cannot connect to Redis at {target}: {reason}; is it running? Start it with `betterprompts infra up` or fix REDIS_URL"
    )]
    Unreachable {
        /// `host:port`.
        target: String,
        /// The client's reason.
        reason: String,
    },
    /// A command failed.
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
}

/// A prefixed handle on one Redis server; cheap to clone.
#[derive(Clone)]
pub struct Cache {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// Connects to `url` (which may carry a password; it is never printed)
    /// and prefixes every key with `prefix` and `:`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, CacheError> {
        let client = redis::Client::open(url).map_err(|e| CacheError::InvalidUrl(e.to_string()))?;
        let target = client.get_connection_info().addr().to_string();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| CacheError::Unreachable {
                target,
                reason: e.to_string(),
            })?;
        Ok(Self {
            conn,
            prefix: prefix.trim_end_matches(':').to_owned(),
        })
    }

    /// The prefix (without the trailing `:`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `prefix:key`.
    pub fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.prefix)
    }

    /// One round trip: PING.
    pub async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    /// Sets `key` to `value` with a time to live.
    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let () = conn.set_ex(self.key(key), value, ttl.as_secs().max(1)).await?;
        Ok(())
    }

    /// The value of `key`, if present.
    pub async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let mut conn = self.conn.clone();
        Ok(conn.get(self.key(key)).await?)
    }

    /// Deletes `key`; true when it existed.
    pub async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let mut conn = self.conn.clone();
        let n: u64 = conn.del(self.key(key)).await?;
        Ok(n > 0)
    }

    /// Deletes every key under this prefix, with SCAN in batches (never KEYS);
    /// returns how many were deleted.
    pub async fn delete_all(&self) -> Result<u64, CacheError> {
        let mut conn = self.conn.clone();
        let pattern = format!("{}:*", escape_glob(&self.prefix));
        let mut cursor: u64 = 0;
        let mut deleted = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut conn)
                .await?;
            if !keys.is_empty() {
                let n: u64 = conn.unlink(&keys).await?;
                deleted += n;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }
}

/// Escapes glob metacharacters so a prefix matches only itself in SCAN MATCH.
fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_glob;

    #[test]
    fn glob_metacharacters_in_a_prefix_are_escaped() {
        assert_eq!(escape_glob("test:a*b?[c]"), "test:a\\*b\\?\\[c\\]");
    }
}
