//! Generic operations on keys under the service prefix: strings with a
//! TTL, set-if-absent and locks with safe release, counters, many keys in
//! one round trip, and pattern deletes with SCAN (never KEYS).
//!
//! These return errors (a lock must know it was not taken); the typed
//! namespace caches in [`crate::typed`] turn an outage into misses instead.

use std::time::Duration;

use crate::client::Cache;
use crate::error::{CacheError, invalid};

/// The longest key accepted (before the prefix).
pub const MAX_KEY_BYTES: usize = 512;

/// A held lock: release it with [`Cache::release_lock`]; it also expires
/// by itself after its TTL.
#[derive(Debug)]
pub struct Lock {
    key: String,
    token: String,
}

/// `SET key value EX ttl` unless the key holds a larger number; the TTL
/// is renewed either way.
const SET_MAX: &str = r#"
local current = tonumber(redis.call('GET', KEYS[1]))
if current == nil or current < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"#;

/// Deletes the lock only while it still holds our token, so a lock that
/// expired and was taken by someone else is not released by us.
const RELEASE_LOCK: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

pub(crate) fn check_key(key: &str) -> Result<(), CacheError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(invalid("key", format!("must be 1 to {MAX_KEY_BYTES} bytes")));
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            "key",
            "must not contain whitespace or control characters",
        ));
    }
    Ok(())
}

pub(crate) fn ttl_secs(ttl: Duration) -> Result<u64, CacheError> {
    if ttl.is_zero() {
        return Err(invalid("ttl", "must be at least 1 second"));
    }
    Ok(ttl.as_secs().max(1))
}

impl Cache {
    /// Sets `key` to `value` with a time to live.
    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        check_key(key)?;
        let cmd = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("EX")
            .arg(ttl_secs(ttl)?)
            .to_owned();
        self.query::<()>(&cmd).await
    }

    /// The value of `key`, if present.
    pub async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        check_key(key)?;
        self.query(redis::cmd("GET").arg(self.key(key))).await
    }

    /// Deletes `key`; true when it existed.
    pub async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        check_key(key)?;
        let n: u64 = self.query(redis::cmd("UNLINK").arg(self.key(key))).await?;
        Ok(n > 0)
    }

    /// True when `key` exists.
    pub async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        check_key(key)?;
        let n: u64 = self.query(redis::cmd("EXISTS").arg(self.key(key))).await?;
        Ok(n > 0)
    }

    /// Sets `key` only when it does not exist; true when it was set.
    pub async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, CacheError> {
        check_key(key)?;
        let cmd = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64)
            .to_owned();
        let set: Option<String> = self.query(&cmd).await?;
        Ok(set.is_some())
    }

    /// Takes the lock `name` for at most `ttl`; `None` when someone holds it.
    pub async fn acquire_lock(&self, name: &str, ttl: Duration) -> Result<Option<Lock>, CacheError> {
        let key = format!("lock:{name}");
        let token = Self::random_token()?;
        Ok(self
            .set_nx(&key, &token, ttl)
            .await?
            .then_some(Lock { key, token }))
    }

    /// Releases `lock` if it is still ours; false when it had expired (and
    /// may now belong to someone else, whose lock is left alone).
    pub async fn release_lock(&self, lock: Lock) -> Result<bool, CacheError> {
        let script = redis::Script::new(RELEASE_LOCK);
        let mut invocation = script.prepare_invoke();
        invocation.key(self.key(&lock.key)).arg(&lock.token);
        let n: u64 = self.invoke(&invocation).await?;
        Ok(n > 0)
    }

    /// Sets the number `key` to `value` unless it already holds a larger
    /// one, and (either way) its time to live to `ttl`: a position that
    /// only moves forward, whatever order concurrent writers arrive in.
    pub async fn set_max(&self, key: &str, value: u64, ttl: Duration) -> Result<(), CacheError> {
        check_key(key)?;
        let script = redis::Script::new(SET_MAX);
        let mut invocation = script.prepare_invoke();
        invocation.key(self.key(key)).arg(value).arg(ttl_secs(ttl)?);
        self.invoke::<()>(&invocation).await
    }

    /// Adds 1 to the counter `key`.
    pub async fn incr(&self, key: &str) -> Result<i64, CacheError> {
        self.incr_by(key, 1, None).await
    }

    /// Adds `by` to the counter `key`; a `ttl` is set when the key is new
    /// (EXPIRE NX), in the same round trip.
    pub async fn incr_by(&self, key: &str, by: i64, ttl: Option<Duration>) -> Result<i64, CacheError> {
        check_key(key)?;
        let full = self.key(key);
        let mut pipe = redis::pipe();
        pipe.atomic().cmd("INCRBY").arg(&full).arg(by);
        if let Some(ttl) = ttl {
            pipe.cmd("EXPIRE")
                .arg(&full)
                .arg(ttl_secs(ttl)?)
                .arg("NX")
                .ignore();
        }
        let (value,): (i64,) = self.query_pipe(&pipe).await?;
        Ok(value)
    }

    /// The values of `keys`, in order, in one round trip (MGET).
    pub async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<String>>, CacheError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("MGET");
        for key in keys {
            check_key(key)?;
            cmd.arg(self.key(key));
        }
        self.query(&cmd).await
    }

    /// Sets every `(key, value)` with one TTL in one atomic round trip; on
    /// a Redis Cluster, atomic only when the keys share a hash tag
    /// (`{group}:a`, `{group}:b`), else each key is set on its own.
    pub async fn set_many(&self, items: &[(&str, &str)], ttl: Duration) -> Result<(), CacheError> {
        let secs = ttl_secs(ttl)?;
        if items.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        // A cluster's transaction holds keys of one slot only; there the
        // SETs are sent one by one unless the keys share a `{hash tag}`.
        let full: Vec<String> = items.iter().map(|(k, _)| self.key(k)).collect();
        if !self.inner.link.cluster() || same_slot(full.iter().map(String::as_str)) {
            pipe.atomic();
        }
        for (key, value) in items {
            check_key(key)?;
            pipe.cmd("SET")
                .arg(self.key(key))
                .arg(*value)
                .arg("EX")
                .arg(secs)
                .ignore();
        }
        self.query_pipe::<()>(&pipe).await
    }

    /// Deletes the keys under this prefix that match the glob `pattern`,
    /// with SCAN and UNLINK in batches of 500; returns how many.
    pub async fn delete_pattern(&self, pattern: &str) -> Result<u64, CacheError> {
        check_key(pattern)?;
        self.scan_delete(&format!("{}:{pattern}", escape_glob(self.prefix())))
            .await
    }

    /// Deletes every key under this prefix; returns how many.
    pub async fn delete_all(&self) -> Result<u64, CacheError> {
        self.scan_delete(&format!("{}:*", escape_glob(self.prefix())))
            .await
    }

    /// One SCAN step from `at` (which it moves on): up to about `count`
    /// keys matching the glob `full_pattern`. On a cluster each master is
    /// scanned in turn, since each holds only its own slots' keys.
    pub(crate) async fn scan_page(
        &self,
        at: &mut ScanCursor,
        full_pattern: &str,
        count: usize,
    ) -> Result<Vec<String>, CacheError> {
        let cmd = redis::cmd("SCAN")
            .arg(at.cursor)
            .arg("MATCH")
            .arg(full_pattern)
            .arg("COUNT")
            .arg(count)
            .to_owned();
        if !self.inner.link.cluster() {
            let (next, keys): (u64, Vec<String>) = self.query(&cmd).await?;
            at.cursor = next;
            at.done = next == 0;
            return Ok(keys);
        }
        let masters = match at.masters.take() {
            Some(masters) => masters,
            None => {
                let mut conn = self.conn();
                self.bounded(crate::link::cluster_masters(&mut conn)).await?
            }
        };
        let Some(slot) = masters.get(at.node).copied() else {
            at.done = true;
            return Ok(Vec::new());
        };
        at.masters = Some(masters);
        let mut conn = self.conn();
        let reply = self.bounded(conn.on_slot(cmd, slot)).await?;
        let (next, keys): (u64, Vec<String>) =
            redis::from_redis_value(reply).map_err(|e| CacheError::Redis(e.into()))?;
        at.cursor = next;
        if next == 0 {
            at.node += 1;
            at.done = at.masters.as_ref().is_none_or(|m| at.node >= m.len());
        }
        Ok(keys)
    }

    pub(crate) async fn scan_delete(&self, full_pattern: &str) -> Result<u64, CacheError> {
        let mut at = ScanCursor::default();
        let mut deleted = 0;
        loop {
            let keys = self.scan_page(&mut at, full_pattern, 500).await?;
            if !keys.is_empty() {
                let n: u64 = self.query(redis::cmd("UNLINK").arg(&keys)).await?;
                deleted += n;
            }
            if at.done {
                return Ok(deleted);
            }
        }
    }
}

/// Where a key scan stands: the SCAN cursor, and on a cluster which
/// master is being scanned.
#[derive(Default)]
pub(crate) struct ScanCursor {
    cursor: u64,
    /// One slot of each of a cluster's masters, read at the first step.
    masters: Option<Vec<u16>>,
    /// The index in `masters` being scanned.
    node: usize,
    /// True once every key has been offered.
    pub(crate) done: bool,
}

/// The part of `key` Redis Cluster hashes: the text between the first
/// `{` and the next `}` when that is not empty, else the whole key.
fn hash_tag(key: &str) -> &str {
    key.split_once('{')
        .and_then(|(_, rest)| rest.split_once('}'))
        .map(|(tag, _)| tag)
        .filter(|tag| !tag.is_empty())
        .unwrap_or(key)
}

/// Whether every key hashes to one cluster slot by a common hash tag
/// (conservative: untagged keys count as apart).
fn same_slot<'a>(mut keys: impl Iterator<Item = &'a str>) -> bool {
    let Some(first) = keys.next() else { return true };
    let tag = hash_tag(first);
    tag != first && keys.all(|k| hash_tag(k) == tag)
}

/// Escapes glob metacharacters so a prefix matches only itself in SCAN MATCH.
pub(crate) fn escape_glob(s: &str) -> String {
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
    use super::*;

    #[test]
    fn glob_metacharacters_in_a_prefix_are_escaped() {
        assert_eq!(escape_glob("test:a*b?[c]"), "test:a\\*b\\?\\[c\\]");
    }

    #[test]
    fn keys_share_a_slot_only_by_a_common_hash_tag() {
        assert_eq!(hash_tag("{user:1}:a"), "user:1");
        assert_eq!(hash_tag("plain"), "plain");
        assert_eq!(hash_tag("a{}b"), "a{}b");
        assert!(same_slot(["{g}:a", "{g}:b", "x{g}y"].into_iter()));
        assert!(!same_slot(["{g}:a", "{h}:b"].into_iter()));
        assert!(
            !same_slot(["a", "a"].into_iter()),
            "untagged keys are not assumed to share a slot"
        );
    }

    #[test]
    fn keys_are_bounded_and_free_of_whitespace() {
        assert!(check_key("a:b").is_ok());
        assert!(check_key("").is_err());
        assert!(check_key("a b").is_err());
        assert!(check_key("a\nb").is_err());
        assert!(check_key(&"k".repeat(MAX_KEY_BYTES + 1)).is_err());
    }
}
