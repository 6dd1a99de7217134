//! Sliding-window rate limiting: a sliding log per identifier, checked and
//! updated by one Lua script in one round trip, on Redis's clock. Exact at
//! the boundary: a request counts for exactly one window after it was
//! allowed. Refused requests are not logged, so a client that keeps
//! retrying does not lock itself out for longer.
//!
//! Memory per identifier is at most `limit` entries (16 bytes each plus the
//! sorted set's overhead), and the log expires one window after its last
//! request. The identifier is hashed into the key.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::client::Cache;
use crate::codec;
use crate::error::{CacheError, invalid};
use crate::keys::hash_parts;
use crate::namespace::Namespace;
use crate::typed::ApiResponseKey;

/// The Lua source of the check (`bench cache` runs it under redis-benchmark).
pub const RATE_LIMIT_SCRIPT: &str = include_str!("ratelimit.lua");

static SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(RATE_LIMIT_SCRIPT));

/// A limit: `max` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window (at least 1).
    pub max: u32,
    /// The window (at least 1 ms).
    pub window: Duration,
}

impl RateLimit {
    /// `max` per `window`.
    pub const fn new(max: u32, window: Duration) -> Self {
        Self { max, window }
    }
}

/// Limits by tier (`free`, `pro`, ...) with per-key overrides (an API key
/// or user with a negotiated limit).
#[derive(Debug, Clone)]
pub struct RateLimitPolicy {
    /// For identifiers whose tier is unknown.
    pub default: RateLimit,
    /// By tier name.
    pub tiers: HashMap<String, RateLimit>,
    /// By identifier; wins over the tier.
    pub keys: HashMap<String, RateLimit>,
}

impl RateLimitPolicy {
    /// A policy with only `default`.
    pub fn new(default: RateLimit) -> Self {
        Self {
            default,
            tiers: HashMap::new(),
            keys: HashMap::new(),
        }
    }

    /// Adds a tier.
    pub fn with_tier(mut self, tier: &str, limit: RateLimit) -> Self {
        self.tiers.insert(tier.to_owned(), limit);
        self
    }

    /// Adds a per-identifier override.
    pub fn with_key(mut self, identifier: &str, limit: RateLimit) -> Self {
        self.keys.insert(identifier.to_owned(), limit);
        self
    }

    /// The limit for `identifier` in `tier`.
    pub fn limit_for(&self, tier: &str, identifier: &str) -> RateLimit {
        self.keys
            .get(identifier)
            .or_else(|| self.tiers.get(tier))
            .copied()
            .unwrap_or(self.default)
    }
}

/// The answer to one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateDecision {
    /// Whether this request may proceed.
    pub allowed: bool,
    /// The limit applied.
    pub limit: u32,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// When a slot frees (Unix ms, Redis clock): the `X-RateLimit-Reset`.
    pub reset_at_ms: u64,
    /// Redis's clock at the check (Unix ms).
    pub now_ms: u64,
    /// Redis was down and the configured fail policy decided.
    pub degraded: bool,
}

impl RateDecision {
    /// How long until a slot frees, for `Retry-After`.
    pub fn retry_after(&self) -> Duration {
        Duration::from_millis(self.reset_at_ms.saturating_sub(self.now_ms))
    }
}

/// The script's reply: allowed (0/1), limit, remaining, reset (ms), now (ms).
type ScriptReply = (u8, u32, i64, u64, u64);

fn decision((allowed, limit, remaining, reset_at_ms, now_ms): ScriptReply) -> RateDecision {
    RateDecision {
        allowed: allowed == 1,
        limit,
        remaining: remaining.max(0) as u32,
        reset_at_ms,
        now_ms,
        degraded: false,
    }
}

/// The window in ms, after checking that `limit` is one the script takes.
fn window_ms(limit: RateLimit) -> Result<u64, CacheError> {
    let window_ms = limit.window.as_millis();
    if limit.max == 0 || window_ms == 0 || window_ms > u128::from(u32::MAX) {
        return Err(invalid(
            "limit",
            "needs at least 1 request per window of 1 ms to 49 days",
        ));
    }
    Ok(window_ms as u64)
}

impl Cache {
    /// Checks and counts one request of `identifier` against `limit`.
    /// With Redis down the configured policy decides (fail-open unless
    /// `BP_RATE_LIMIT_FAIL_CLOSED`), marked `degraded`.
    pub async fn check_rate_limit(
        &self,
        identifier: &str,
        limit: RateLimit,
    ) -> Result<RateDecision, CacheError> {
        let window_ms = window_ms(limit)?;
        let key = self.ns_key(Namespace::RateLimits, &hash_parts(&[identifier]));
        let mut invocation = SCRIPT.prepare_invoke();
        invocation.key(key).arg(limit.max).arg(window_ms);
        match self.invoke::<ScriptReply>(&invocation).await {
            Ok(reply) => Ok(decision(reply)),
            Err(e) if e.is_unavailable() => {
                self.degraded("rate limit check", &e);
                Ok(self.fail_policy(limit, window_ms))
            }
            Err(e) => Err(e),
        }
    }

    /// [`Cache::check_rate_limit`] and the stored JSON of an API response
    /// (see [`Cache::cache_api_response_json`]) in one pipeline: the
    /// script's EVALSHA and a GET, so a warm `/enhance` makes one round trip
    /// (two when this process must first re-read the namespace's
    /// generation) and no work on the answer's JSON. The GET is made
    /// whatever the decision; a refused caller's hit is dropped here.
    ///
    /// A failed read of the answer is a miss, never a failed check; a
    /// script the server does not have (a restart, `SCRIPT FLUSH`, a
    /// failover) ran nothing, and is loaded and repeated in one more
    /// pipeline, on the same connection. With Redis down the fail policy
    /// decides and the lookup misses. On a Redis Cluster the two keys live
    /// on different masters: the check and the read are two calls made at
    /// once.
    pub async fn check_rate_limit_and_fetch(
        &self,
        identifier: &str,
        limit: RateLimit,
        response: &ApiResponseKey,
    ) -> Result<(RateDecision, Option<Vec<u8>>), CacheError> {
        type Replies = (
            redis::RedisResult<ScriptReply>,
            redis::RedisResult<Option<Vec<u8>>>,
        );
        let window_ms = window_ms(limit)?;
        let ns = Namespace::ApiResponses;
        let value_key = match self.hashed_key(ns, response.hash()).await {
            Ok(key) => key,
            Err(e) => {
                // The namespace's generation could not be read: the check
                // on its own (it follows the fail policy), and a miss.
                tracing::debug!(error = %e, "response cache lookup skipped");
                let decision = self.check_rate_limit(identifier, limit).await?;
                if decision.allowed {
                    self.inner.counters.miss(ns);
                }
                return Ok((decision, None));
            }
        };
        let rate_key = self.ns_key(Namespace::RateLimits, &hash_parts(&[identifier]));
        let mut invocation = SCRIPT.prepare_invoke();
        invocation.key(rate_key).arg(limit.max).arg(window_ms);
        let sent = async {
            // On a cluster the two keys are in different slots, on
            // different masters: two calls at once, and a failed read of
            // the answer (its master down) is a miss, not a failed check.
            if self.inner.link.cluster() {
                let get = redis::cmd("GET").arg(&value_key).to_owned();
                let (script, stored) = tokio::join!(
                    self.invoke::<ScriptReply>(&invocation),
                    self.query::<Option<Vec<u8>>>(&get)
                );
                let stored =
                    stored.map_err(|e| redis::RedisError::from(std::io::Error::other(e.to_string())));
                return Ok::<_, CacheError>((script?, stored));
            }
            let mut pipe = redis::pipe();
            pipe.ignore_errors()
                .invoke_script(&invocation)
                .cmd("GET")
                .arg(&value_key);
            let (mut script, mut stored) = self.query_pipe::<Replies>(&pipe).await?;
            if script.as_ref().err().and_then(|e| e.code()) == Some("NOSCRIPT") {
                let mut again = redis::pipe();
                again
                    .ignore_errors()
                    .load_script(&SCRIPT)
                    .ignore()
                    .invoke_script(&invocation)
                    .cmd("GET")
                    .arg(&value_key);
                (script, stored) = self.query_pipe::<Replies>(&again).await?;
            }
            // The script's own error (READONLY on a demoted master) keeps
            // the health state as any command's does.
            Ok::<_, CacheError>((self.settle_reply(script)?, stored))
        };
        match sent.await {
            Ok((reply, stored)) => {
                let decision = decision(reply);
                let json = match stored {
                    Ok(Some(bytes)) => match codec::decode_json(&bytes) {
                        Some(json) => Some(json),
                        None => {
                            self.drop_undecodable(ns, &value_key).await;
                            None
                        }
                    },
                    Ok(None) => None,
                    Err(e) => {
                        tracing::debug!(error = %e, namespace = ns.name(), "cache read failed; a miss");
                        None
                    }
                };
                let json = json.filter(|_| decision.allowed);
                match json {
                    Some(_) => self.inner.counters.hit(ns),
                    None if decision.allowed => self.inner.counters.miss(ns),
                    None => {}
                }
                Ok((decision, json))
            }
            Err(e) if e.is_unavailable() => {
                self.degraded("rate limit check", &e);
                let decision = self.fail_policy(limit, window_ms);
                if decision.allowed {
                    self.inner.counters.miss(ns);
                }
                Ok((decision, None))
            }
            Err(e) => Err(e),
        }
    }

    /// The decision with Redis unreachable: fail-open unless
    /// `BP_RATE_LIMIT_FAIL_CLOSED`, marked `degraded`.
    fn fail_policy(&self, limit: RateLimit, window_ms: u64) -> RateDecision {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let allowed = !self.inner.settings.rate_limit_fail_closed;
        RateDecision {
            allowed,
            limit: limit.max,
            remaining: if allowed { limit.max } else { 0 },
            reset_at_ms: now_ms + window_ms,
            now_ms,
            degraded: true,
        }
    }

    /// [`Cache::check_rate_limit`] with the limit `policy` gives
    /// `identifier` in `tier`.
    pub async fn check_rate_limit_with(
        &self,
        policy: &RateLimitPolicy,
        tier: &str,
        identifier: &str,
    ) -> Result<RateDecision, CacheError> {
        self.check_rate_limit(identifier, policy.limit_for(tier, identifier))
            .await
    }

    /// Loads the rate-limit script into the server's script cache and
    /// returns its SHA1 (for EVALSHA by other clients, e.g. a benchmark).
    pub async fn load_rate_limit_script(&self) -> Result<String, CacheError> {
        self.query(redis::cmd("SCRIPT").arg("LOAD").arg(RATE_LIMIT_SCRIPT))
            .await
    }

    /// Redis's clock (Unix ms), for callers that wait on `reset_at_ms`.
    pub async fn server_time_ms(&self) -> Result<u64, CacheError> {
        let (secs, micros): (u64, u64) = self.query(&redis::cmd("TIME")).await?;
        Ok(secs * 1000 + micros / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_key_limits_win_over_tiers_and_the_default() {
        let minute = Duration::from_secs(60);
        let policy = RateLimitPolicy::new(RateLimit::new(10, minute))
            .with_tier("pro", RateLimit::new(1000, minute))
            .with_key("key-vip", RateLimit::new(5000, minute));
        assert_eq!(policy.limit_for("free", "u1").max, 10);
        assert_eq!(policy.limit_for("pro", "u1").max, 1000);
        assert_eq!(policy.limit_for("pro", "key-vip").max, 5000);
    }
}
