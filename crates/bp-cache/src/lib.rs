//! Redis for BetterPrompts: the guide's cache namespaces on one
//! multiplexed, auto-reconnecting connection with a per-service key prefix
//! (the guide's `KeyPrefix: "api-gateway"`).
//!
//! - [`Cache`]: connection, prefix, bounded calls and degraded mode
//!   ([`client`]); generic keys, locks, counters, batch and pattern
//!   operations ([`ops`]).
//! - Typed namespace caches: API responses, predictions, technique
//!   selections, templates, user preferences ([`typed`]); sessions with a
//!   per-user index ([`sessions`]).
//! - Invalidation triggers by generation or index ([`invalidate`],
//!   [`generations`]), propagated by change events ([`events`]).
//! - Sliding-window rate limiting in one Lua round trip ([`ratelimit`]).
//! - Feature flags with percentage rollout ([`flags`]).
//! - Hit/miss counters and server INFO ([`stats`]).
//! - Key dumps and server snapshots for backup and restore ([`snapshot`]).
//! - One server, or the master Redis Sentinel names, followed through a
//!   failover ([`link`]).
//!
//! Redis down is a degraded mode: every call is bounded by
//! `BP_REDIS_TIMEOUT_MS`; typed reads miss, writes are dropped with a
//! rate-limited warning, rate limiting follows its fail policy, and
//! [`Cache::is_available`] says so for readiness checks and metrics.

pub mod client;
pub mod codec;
pub mod error;
pub mod events;
pub mod flags;
pub mod generations;
pub mod invalidate;
pub mod keys;
pub mod link;
pub mod namespace;
pub mod ops;
pub mod ratelimit;
pub mod sessions;
pub mod snapshot;
pub mod stats;
pub mod typed;

pub use client::{Cache, CacheSettings};
pub use error::CacheError;
pub use flags::FeatureFlag;
pub use invalidate::Invalidation;
pub use namespace::Namespace;
pub use ops::Lock;
pub use ratelimit::{RateDecision, RateLimit, RateLimitPolicy};
pub use stats::{NamespaceStats, ServerStats, StatementStats};
