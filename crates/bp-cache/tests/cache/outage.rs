//! Redis down is a degraded mode: bounded calls, misses, dropped writes,
//! the fail policy for rate limits, and recovery without a restart.

use std::time::Duration;

use bp_cache::{Cache, CacheError, CacheSettings, Namespace, RateLimit};

use bp_testkit::OwnRedis;

use crate::eventually;

/// Fails the test if `fut` hangs instead of answering within the call bound.
async fn prompt<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), fut)
        .await
        .expect("a cache call hung while Redis was down")
}

#[tokio::test]
async fn with_redis_down_calls_degrade_promptly_and_recover_when_it_returns() {
    let mut redis = OwnRedis::start();
    let open = Cache::connect_with(&redis.url(), CacheSettings::new("outage"))
        .await
        .unwrap();
    let closed = Cache::connect_with(
        &redis.url(),
        CacheSettings {
            rate_limit_fail_closed: true,
            ..CacheSettings::new("outage")
        },
    )
    .await
    .unwrap();
    let limit = RateLimit::new(5, Duration::from_secs(60));
    assert!(open.put(Namespace::Templates, &["t"], &1).await);
    assert_eq!(open.fetch::<i32>(Namespace::Templates, &["t"]).await, Some(1));
    assert!(open.is_available());

    redis.down();
    assert!(matches!(
        prompt(open.get("k")).await,
        Err(CacheError::Unavailable(_))
    ));
    assert!(!open.is_available(), "the degraded state is visible");
    assert_eq!(
        prompt(open.fetch::<i32>(Namespace::Templates, &["t"])).await,
        None,
        "a read is a miss"
    );
    assert!(
        !prompt(open.put(Namespace::Templates, &["t"], &2)).await,
        "a write is dropped"
    );
    assert!(!prompt(open.is_enabled("any", Some("u"))).await);
    let d = prompt(open.check_rate_limit("c", limit)).await.unwrap();
    assert!(d.allowed && d.degraded, "fail-open by default");
    let d = prompt(closed.check_rate_limit("c", limit)).await.unwrap();
    assert!(!d.allowed && d.degraded, "fail-closed when configured");

    redis.up();
    eventually(
        Duration::from_secs(20),
        "the client reconnects by itself",
        || async { open.ping().await.is_ok() },
    )
    .await;
    assert!(open.is_available());
    assert!(open.put(Namespace::Templates, &["t"], &3).await);
    assert_eq!(open.fetch::<i32>(Namespace::Templates, &["t"]).await, Some(3));
    eventually(
        Duration::from_secs(20),
        "the second client reconnects too",
        || async { matches!(closed.check_rate_limit("c2", limit).await, Ok(d) if d.allowed && !d.degraded) },
    )
    .await;
}
