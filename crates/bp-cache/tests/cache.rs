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
#[path = "cache/sentinel.rs"]
mod sentinel;
#[path = "cache/sessions.rs"]
mod sessions;
#[path = "cache/tls.rs"]
mod tls;

pub use bp_testkit::eventually;

/// A raw connection for looking behind the cache (TTLs, stored bytes).
pub async fn raw() -> redis::aio::MultiplexedConnection {
    bp_cache::link::current_server(bp_testkit::test_env().redis_url.as_str())
        .await
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// When the suite is run through Sentinel (`sentinel::the_cache_suite_passes_through_sentinel`),
/// every test above talks to it: the URL under test is the Sentinel's.
#[test]
fn the_redis_under_test_is_the_one_asked_for() {
    if std::env::var_os("BP_TEST_EXPECT_SENTINEL").is_some() {
        let url = &bp_testkit::test_env().redis_url;
        assert!(url.starts_with("redis+sentinel://"), "the suite runs on {url}");
    }
}
