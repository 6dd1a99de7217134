//! Generic keys, locks, counters, batches and pattern deletes.

use std::time::Duration;

use bp_cache::CacheError;
use bp_testkit::TestRedis;

use crate::raw;

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn set_get_exists_and_delete_work_under_the_prefix() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    assert_eq!(cache.get("k").await.unwrap(), None);
    cache.set("k", "v", MINUTE).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("v"));
    assert!(cache.exists("k").await.unwrap());
    let ttl: i64 = redis::cmd("TTL")
        .arg(cache.key("k"))
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert!((1..=60).contains(&ttl), "ttl {ttl}");
    assert!(cache.delete("k").await.unwrap());
    assert!(!cache.delete("k").await.unwrap());
    assert!(!cache.exists("k").await.unwrap());
}

#[tokio::test]
async fn bad_keys_and_ttls_are_refused_before_anything_is_sent() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    for bad in ["", "has space", "new\nline"] {
        assert!(matches!(
            cache.set(bad, "v", MINUTE).await,
            Err(CacheError::Invalid { field: "key", .. })
        ));
    }
    assert!(matches!(
        cache.set("k", "v", Duration::ZERO).await,
        Err(CacheError::Invalid { field: "ttl", .. })
    ));
}

#[tokio::test]
async fn set_max_only_moves_a_number_forward_and_renews_its_ttl() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    cache.set_max("position", 500, MINUTE).await.unwrap();
    cache
        .set_max("position", 300, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        cache.get("position").await.unwrap().as_deref(),
        Some("500"),
        "a smaller value loses"
    );
    cache.set_max("position", 900, MINUTE).await.unwrap();
    assert_eq!(cache.get("position").await.unwrap().as_deref(), Some("900"));
}

#[tokio::test]
async fn set_nx_sets_only_once_and_a_lock_is_released_only_by_its_owner() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    assert!(cache.set_nx("once", "a", MINUTE).await.unwrap());
    assert!(!cache.set_nx("once", "b", MINUTE).await.unwrap());
    assert_eq!(cache.get("once").await.unwrap().as_deref(), Some("a"));

    let lock = cache
        .acquire_lock("job", MINUTE)
        .await
        .unwrap()
        .expect("free lock");
    assert!(cache.acquire_lock("job", MINUTE).await.unwrap().is_none(), "held");
    assert!(cache.release_lock(lock).await.unwrap());

    // A lock that expired and was taken by someone else stays theirs.
    let short = cache
        .acquire_lock("job", Duration::from_millis(50))
        .await
        .unwrap()
        .unwrap();
    crate::eventually(Duration::from_secs(5), "the short lock expires", || async {
        !cache.exists("lock:job").await.unwrap()
    })
    .await;
    let other = cache
        .acquire_lock("job", MINUTE)
        .await
        .unwrap()
        .expect("free again");
    assert!(
        !cache.release_lock(short).await.unwrap(),
        "the expired holder releases nothing"
    );
    assert!(cache.exists("lock:job").await.unwrap(), "the new holder keeps it");
    assert!(cache.release_lock(other).await.unwrap());
}

#[tokio::test]
async fn counters_add_and_get_their_ttl_once() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    assert_eq!(cache.incr("hits").await.unwrap(), 1);
    assert_eq!(cache.incr_by("hits", 41, None).await.unwrap(), 42);
    assert_eq!(cache.incr_by("daily", 5, Some(MINUTE)).await.unwrap(), 5);
    let mut conn = raw().await;
    let _: () = redis::cmd("EXPIRE")
        .arg(cache.key("daily"))
        .arg(30)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(cache.incr_by("daily", 1, Some(MINUTE)).await.unwrap(), 6);
    let ttl: i64 = redis::cmd("TTL")
        .arg(cache.key("daily"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl <= 30, "an existing counter keeps its TTL, got {ttl}");
}

#[tokio::test]
async fn many_keys_are_read_and_written_in_one_call() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    cache.set_many(&[("a", "1"), ("b", "2")], MINUTE).await.unwrap();
    assert_eq!(
        cache.get_many(&["a", "missing", "b"]).await.unwrap(),
        vec![Some("1".to_owned()), None, Some("2".to_owned())]
    );
    assert!(cache.get_many(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn pattern_deletes_scan_only_this_prefix() {
    let redis = TestRedis::new().await;
    let neighbour = TestRedis::new().await;
    let cache = redis.cache();
    for i in 0..1200 {
        cache.set(&format!("temp:{i}"), "x", MINUTE).await.unwrap();
    }
    cache.set("keep", "x", MINUTE).await.unwrap();
    neighbour.cache().set("temp:1", "x", MINUTE).await.unwrap();
    assert_eq!(cache.delete_pattern("temp:*").await.unwrap(), 1200);
    assert!(cache.exists("keep").await.unwrap());
    assert!(
        neighbour.cache().exists("temp:1").await.unwrap(),
        "another prefix is untouched"
    );
}
