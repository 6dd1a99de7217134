//! Integration tests of bp-cache against the real Redis 7 that `make test`
//! starts; every test has its own key prefix (bp-testkit).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed unwrap is a failed test, with its message"
)]

#[path = "cache/flags.rs"]
mod flags;
#[path = "cache/generic.rs"]
mod generic;
#[path = "cache/namespaces.rs"]
mod namespaces;
#[path = "cache/outage.rs"]
mod outage;
#[path = "cache/ratelimit.rs"]
mod ratelimit;
#[path = "cache/sessions.rs"]
mod sessions;

use std::time::{Duration, Instant};

/// Polls `check` until it is true or `limit` passes; the test fails at the deadline.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A raw connection for looking behind the cache (TTLs, stored bytes).
pub async fn raw() -> redis::aio::MultiplexedConnection {
    redis::Client::open(bp_testkit::test_env().redis_url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}
