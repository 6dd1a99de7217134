//! Sessions: 24 h default TTL, refresh, delete, delete all of a user.

use std::time::Duration;

use bp_cache::Namespace;
use bp_testkit::TestRedis;
use serde_json::{Value, json};

use crate::raw;

#[tokio::test]
async fn a_session_lives_24_hours_under_a_hashed_key() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    let token = "secret-session-token";
    cache
        .set_session(token, "user-1", &json!({"role": "admin"}), None)
        .await
        .unwrap();
    assert_eq!(
        cache.get_session::<Value>(token).await.unwrap(),
        Some(json!({"role": "admin"}))
    );

    let pattern = format!("{}:{}*", cache.prefix(), Namespace::Sessions.key_prefix());
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert!(
        keys.iter().all(|k| !k.contains(token) && !k.contains("user-1")),
        "{keys:?}"
    );
    let session_key = keys.iter().find(|k| !k.contains(":user:")).unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg(session_key)
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert!((86_390..=86_400).contains(&ttl), "ttl {ttl}");
}

#[tokio::test]
async fn refresh_extends_and_delete_ends_a_session() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    cache
        .set_session("s", "u", &1, Some(Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(
        cache
            .refresh_session("s", Some(Duration::from_secs(3600)))
            .await
            .unwrap()
    );
    assert!(cache.delete_session("s").await.unwrap());
    assert_eq!(cache.get_session::<i32>("s").await.unwrap(), None);
    assert!(!cache.refresh_session("s", None).await.unwrap(), "gone");
    assert!(!cache.delete_session("s").await.unwrap());
}

#[tokio::test]
async fn deleting_a_users_sessions_leaves_other_users_alone() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    for i in 0..700 {
        cache
            .set_session(&format!("a{i}"), "alice", &i, None)
            .await
            .unwrap();
    }
    cache.set_session("b0", "bob", &0, None).await.unwrap();
    cache.delete_session("a0").await.unwrap();
    assert_eq!(cache.delete_user_sessions("alice").await.unwrap(), 699);
    assert_eq!(cache.get_session::<i32>("a5").await.unwrap(), None);
    assert_eq!(cache.get_session::<i32>("b0").await.unwrap(), Some(0));
    assert_eq!(cache.delete_user_sessions("alice").await.unwrap(), 0);
}
