//! Feature flags: CRUD, rollout, and real-time propagation between processes.

use std::time::Duration;

use bp_cache::FeatureFlag;
use bp_testkit::TestRedis;

use crate::eventually;

fn flag(name: &str, enabled: bool, rollout_percent: u8) -> FeatureFlag {
    FeatureFlag {
        name: name.into(),
        enabled,
        rollout_percent,
        description: "test flag".into(),
    }
}

#[tokio::test]
async fn flags_are_set_listed_read_and_deleted() {
    let redis = TestRedis::new().await;
    let cache = redis.cache();
    assert_eq!(cache.get_flag("new-ui").await.unwrap(), None);
    assert!(
        !cache.is_enabled("new-ui", Some("u1")).await,
        "unknown flags are off"
    );
    cache.set_flag(&flag("new-ui", true, 100)).await.unwrap();
    cache.set_flag(&flag("beta.search", false, 100)).await.unwrap();
    assert_eq!(
        cache.get_flag("new-ui").await.unwrap(),
        Some(flag("new-ui", true, 100))
    );
    let names: Vec<String> = cache
        .list_flags()
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["beta.search", "new-ui"]);
    assert!(cache.is_enabled("new-ui", None).await);
    assert!(!cache.is_enabled("beta.search", Some("u1")).await);
    assert!(cache.delete_flag("new-ui").await.unwrap());
    assert!(!cache.delete_flag("new-ui").await.unwrap());
    assert!(!cache.is_enabled("new-ui", None).await);
    assert!(cache.set_flag(&flag("Bad Name", true, 1)).await.is_err());
    assert!(cache.set_flag(&flag("ok", true, 101)).await.is_err());
}

#[tokio::test]
async fn a_change_in_one_process_is_seen_by_another_well_before_the_local_ttl() {
    let redis = TestRedis::new().await;
    let (a, b) = (redis.cache(), redis.another_client().await);
    assert_eq!(b.settings().ttls.feature_flags, Duration::from_secs(60));
    a.set_flag(&flag("dark-mode", false, 100)).await.unwrap();
    // b reads and caches the flag locally (off).
    eventually(Duration::from_secs(5), "b sees the flag", || async {
        b.get_flag("dark-mode").await.unwrap().is_some()
    })
    .await;
    assert!(!b.is_enabled("dark-mode", Some("u")).await);

    a.set_flag(&flag("dark-mode", true, 100)).await.unwrap();
    eventually(
        Duration::from_secs(5),
        "b sees the change through pub/sub",
        || async { b.is_enabled("dark-mode", Some("u")).await },
    )
    .await;
}

#[tokio::test]
async fn percentage_rollouts_agree_across_processes() {
    let redis = TestRedis::new().await;
    let (a, b) = (redis.cache(), redis.another_client().await);
    a.set_flag(&flag("rollout", true, 25)).await.unwrap();
    let mut on = 0;
    for i in 0..400 {
        let user = format!("user-{i}");
        let in_a = a.is_enabled("rollout", Some(&user)).await;
        assert_eq!(in_a, b.is_enabled("rollout", Some(&user)).await, "{user}");
        on += usize::from(in_a);
    }
    assert!((60..140).contains(&on), "{on} of 400 at 25%");
}
