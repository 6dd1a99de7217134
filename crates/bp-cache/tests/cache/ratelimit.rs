//! The sliding-window limiter: exact at the boundary, on Redis's clock.

use std::time::Duration;

use bp_cache::{RateLimit, RateLimitPolicy};
use bp_testkit::TestRedis;

use crate::eventually;

#[tokio::test]
async fn ten_per_second_allows_ten_refuses_the_eleventh_and_frees_as_the_window_slides() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    let limit = RateLimit::new(10, Duration::from_secs(1));
    for i in 0..10 {
        let d = cache.check_rate_limit("client-a", limit).await.unwrap();
        assert!(d.allowed, "request {} of 10", i + 1);
        assert_eq!((d.limit, d.remaining), (10, 9 - i));
        assert!(!d.degraded);
    }
    let refused = cache.check_rate_limit("client-a", limit).await.unwrap();
    assert!(!refused.allowed, "the 11th in the window");
    assert_eq!(refused.remaining, 0);
    // reset_at is rounded up and now down to whole ms: at most one window plus 1 ms.
    assert!(
        refused.reset_at_ms > refused.now_ms && refused.retry_after() <= Duration::from_millis(1001),
        "{refused:?}"
    );
    assert!(
        cache.check_rate_limit("client-b", limit).await.unwrap().allowed,
        "per identifier"
    );

    // Still refused while Redis's clock is before reset_at; allowed from it on.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        assert!(std::time::Instant::now() < deadline, "capacity never came back");
        let now = cache.server_time_ms().await.unwrap();
        let d = cache.check_rate_limit("client-a", limit).await.unwrap();
        if now >= refused.reset_at_ms {
            assert!(
                d.allowed,
                "capacity is back once the oldest request left the window"
            );
            break;
        }
        if !d.allowed {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        // Allowed before our reading of the clock reached reset_at: only
        // possible if the clock passed the exact (microsecond) reset between
        // our TIME and the check; reset_at is that instant rounded up to a
        // whole millisecond and our reading is rounded down, hence the 1 ms.
        let after = cache.server_time_ms().await.unwrap();
        assert!(
            after + 1 >= refused.reset_at_ms,
            "allowed at {after} before reset {}",
            refused.reset_at_ms
        );
        break;
    }
}

#[tokio::test]
async fn refused_requests_do_not_extend_the_penalty() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    let limit = RateLimit::new(2, Duration::from_millis(300));
    assert!(cache.check_rate_limit("c", limit).await.unwrap().allowed);
    assert!(cache.check_rate_limit("c", limit).await.unwrap().allowed);
    let first_refusal = cache.check_rate_limit("c", limit).await.unwrap();
    for _ in 0..20 {
        let d = cache.check_rate_limit("c", limit).await.unwrap();
        if !d.allowed {
            assert_eq!(
                d.reset_at_ms, first_refusal.reset_at_ms,
                "hammering does not move the reset"
            );
        }
    }
    eventually(Duration::from_secs(5), "allowed again", || async {
        cache.check_rate_limit("c", limit).await.unwrap().allowed
    })
    .await;
}

#[tokio::test]
async fn tiers_and_per_key_overrides_set_the_limit() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    let hour = Duration::from_secs(3600);
    let policy = RateLimitPolicy::new(RateLimit::new(1, hour))
        .with_tier("pro", RateLimit::new(3, hour))
        .with_key("vip-key", RateLimit::new(5, hour));
    let allowed = |tier: &'static str, id: &'static str| {
        let policy = policy.clone();
        async move {
            let mut n = 0;
            for _ in 0..8 {
                if cache
                    .check_rate_limit_with(&policy, tier, id)
                    .await
                    .unwrap()
                    .allowed
                {
                    n += 1;
                }
            }
            n
        }
    };
    assert_eq!(allowed("free", "u1").await, 1);
    assert_eq!(allowed("pro", "u2").await, 3);
    assert_eq!(allowed("pro", "vip-key").await, 5);
}

#[tokio::test]
async fn an_impossible_limit_is_refused() {
    let redis = TestRedis::new().await;
    let err = redis
        .cache()
        .check_rate_limit("c", RateLimit::new(0, Duration::from_secs(1)))
        .await;
    assert!(matches!(
        err,
        Err(bp_cache::CacheError::Invalid { field: "limit", .. })
    ));
}

/// Drops every loaded script on the server, as a restart or a failover to a
/// fresh master would. (Every client here reloads on NOSCRIPT, so the
/// other tests running meanwhile are not disturbed.)
async fn flush_scripts() {
    // The server itself, also through Sentinel; every master of a cluster.
    let mut conn = crate::raw().await;
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_check_and_a_stored_answer_come_in_one_call_byte_for_byte_and_survive_a_script_flush() {
    use bp_cache::typed::ApiResponseKey;
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    let limit = RateLimit::new(3, Duration::from_secs(60));
    let small = ApiResponseKey::new("/api/v1/enhance", r#"{"text":"hi"}"#);
    let large = ApiResponseKey::new("/api/v1/enhance", r#"{"text":"a long one"}"#);

    // No script on the server: the call loads it and repeats itself.
    flush_scripts().await;
    let (first, hit) = cache
        .check_rate_limit_and_fetch("ip:a", limit, &small)
        .await
        .unwrap();
    assert!(first.allowed && !first.degraded, "{first:?}");
    assert_eq!(first.remaining, 2);
    assert_eq!(hit, None, "nothing stored yet");

    let small_json = br#"{"enhanced":"hi","metadata":{"cached":true}}"#.to_vec();
    let large_json = serde_json::to_vec(&serde_json::json!({ "enhanced": "step ".repeat(1000) })).unwrap();
    assert!(cache.cache_api_response_json(&small, &small_json).await);
    assert!(cache.cache_api_response_json(&large, &large_json).await);

    let (second, hit) = cache
        .check_rate_limit_and_fetch("ip:a", limit, &small)
        .await
        .unwrap();
    assert_eq!(second.remaining, 1, "each call counts");
    assert_eq!(
        hit.as_deref(),
        Some(&small_json[..]),
        "the stored JSON as it was stored"
    );
    let (_, hit) = cache
        .check_rate_limit_and_fetch("ip:b", limit, &large)
        .await
        .unwrap();
    assert_eq!(
        hit.as_deref(),
        Some(&large_json[..]),
        "a compressed value comes back whole"
    );
    let typed: Option<serde_json::Value> = cache.get_cached_api_response_at(&small).await;
    assert_eq!(
        typed,
        Some(serde_json::json!({"enhanced":"hi","metadata":{"cached":true}}))
    );

    let (_, _) = cache
        .check_rate_limit_and_fetch("ip:a", limit, &small)
        .await
        .unwrap();
    let (refused, hit) = cache
        .check_rate_limit_and_fetch("ip:a", limit, &small)
        .await
        .unwrap();
    assert!(!refused.allowed, "the 4th of 3");
    assert_eq!(hit, None, "a refused caller gets no answer, cached or not");
}

#[tokio::test]
async fn a_stored_answer_that_cannot_be_read_is_a_miss_and_the_request_counts_once() {
    use bp_cache::typed::ApiResponseKey;
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    let limit = RateLimit::new(5, Duration::from_secs(60));
    let key = ApiResponseKey::new("/api/v1/enhance", r#"{"text":"broken"}"#);
    assert!(cache.cache_api_response_json(&key, br#"{"a":1}"#).await);
    // Replace the stored value by a list: its GET fails with WRONGTYPE.
    let mut conn = crate::raw().await;
    let pattern = format!("{}:api:response:*", cache.prefix());
    let stored: Vec<String> = redis::cmd("KEYS")
        .arg(&pattern)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "one stored answer: {stored:?}");
    let _: () = redis::cmd("DEL")
        .arg(&stored[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg(&stored[0])
        .arg("x")
        .query_async(&mut conn)
        .await
        .unwrap();

    let (decision, hit) = cache
        .check_rate_limit_and_fetch("ip:c", limit, &key)
        .await
        .unwrap();
    assert!(decision.allowed, "{decision:?}");
    assert_eq!(hit, None, "an unreadable answer is a miss, not an error");
    let next = cache.check_rate_limit("ip:c", limit).await.unwrap();
    assert_eq!(next.remaining, 3, "the failed read's request counted once");
}
