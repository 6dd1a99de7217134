//! The cache's error type. Callers match on variants, never on strings.

/// Why a cache operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// `REDIS_URL` does not parse.
    #[error("REDIS_URL is invalid: {0}")]
    InvalidUrl(String),
    /// The server cannot be reached at start.
    #[error(
        "cannot connect to Redis at {target}: {reason}; is it running? Start it with `betterprompts infra up` or fix REDIS_URL"
    )]
    Unreachable {
        /// `host:port`.
        target: String,
        /// The client's reason.
        reason: String,
    },
    /// Redis is down or did not answer within the configured bound; the
    /// cache is in degraded mode until a call succeeds again.
    #[error("Redis is unavailable: {0}")]
    Unavailable(String),
    /// The server refused the command (wrong type, script error, ...).
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
    /// An argument was refused before anything was sent.
    #[error("{field} {reason}")]
    Invalid {
        /// The argument.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl CacheError {
    /// True when the failure is Redis being unreachable or slow (degraded
    /// mode), as opposed to a refused command or argument.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Unreachable { .. })
    }
}

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> CacheError {
    CacheError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// True for errors that mean the connection, not the command, failed.
pub(crate) fn is_connection_error(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout()
}

/// On a cluster, true also for a slot without a reachable master
/// (`CLUSTERDOWN`, `TRYAGAIN`, `MASTERDOWN`, a redirection still
/// unsettled, or no node to send to), which a failover ends. (On one
/// server these mean the URL names a cluster node: a loud error, not an
/// outage.)
pub(crate) fn is_cluster_outage(e: &redis::RedisError) -> bool {
    e.is_cluster_error()
        || e.kind() == redis::ErrorKind::ClusterConnectionNotFound
        || e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::MasterDown)
}
