//! Redis Sentinel: the cache finds the master through the Sentinels, keeps
//! answering (degraded) while they fail over, then uses the new master with
//! no restart, and loses no session written before the replication point.

use std::time::Duration;

use bp_cache::{Cache, CacheError, CacheSettings};
use bp_testkit::sentinel::SentinelSet;

use crate::{
    FailoverLoad, a_flag_change_reaches_the_other_cache, assert_sessions_kept, eventually, subscribers,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_under_load_moves_the_cache_to_the_new_master_and_keeps_replicated_sessions() {
    let mut set = SentinelSet::start_with(Duration::from_millis(1000)).await;
    let cache = Cache::connect_with(&set.url(), CacheSettings::new("sentinel"))
        .await
        .unwrap();
    let other = Cache::connect_with(&set.url(), CacheSettings::new("sentinel"))
        .await
        .unwrap();
    for i in 0..20 {
        cache
            .set_session(&format!("s{i}"), &format!("u{i}"), &i, None)
            .await
            .unwrap();
    }
    set.wait_replicated().await;

    let load = FailoverLoad::start(&cache, u64::MAX, 20).await;

    assert_eq!(set.master_port().await, Some(set.first_master_port()));
    set.kill_master();
    let killed = std::time::Instant::now();
    let replica = set.replica_port();
    eventually(
        Duration::from_secs(60),
        "the Sentinels promote the replica",
        || async { set.master_port().await == Some(replica) },
    )
    .await;
    let before = load.answered();
    eventually(
        Duration::from_secs(30),
        "the cache answers again, from the new master",
        || async { load.answered() > before + 20 && cache.is_available() },
    )
    .await;
    load.finish_after_failover("sentinel failover", killed).await;
    assert_sessions_kept(&cache, 20).await;
    // The change events follow the master too: once both listeners are
    // subscribed on the new master (a resubscription drops local copies by
    // itself), a flag change reaches the other cache through an event.
    eventually(
        Duration::from_secs(10),
        "both listeners subscribe on the new master",
        || async {
            let Ok(master) = bp_cache::link::current_server(&set.url()).await else {
                return false;
            };
            subscribers(&master, "sentinel:events").await == 2
        },
    )
    .await;
    a_flag_change_reaches_the_other_cache(&cache, &other).await;
}

#[tokio::test]
async fn a_master_name_the_sentinels_do_not_know_is_a_clear_error() {
    let set = SentinelSet::start().await;
    let url = set.url().replace("/bpmaster", "/nosuch");
    let err = Cache::connect(&url, "sentinel").await.unwrap_err();
    assert!(matches!(err, CacheError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("no master named `nosuch`"), "{err}");
    let bad = Cache::connect("redis+sentinel://127.0.0.1:notaport/m", "sentinel")
        .await
        .unwrap_err();
    assert!(matches!(bad, CacheError::InvalidUrl(_)), "{bad}");
}

/// The whole cache suite once more, with `REDIS_URL` naming a Sentinel set
/// instead of a server: this test binary runs itself, skipping this module.
#[tokio::test]
async fn the_cache_suite_passes_through_sentinel() {
    let set = SentinelSet::start().await;
    crate::run_suite_on(set.url(), "BP_TEST_EXPECT_SENTINEL").await;
}

#[tokio::test]
async fn a_logout_through_sentinel_waits_until_the_replica_has_it() {
    let set = SentinelSet::start().await;
    let cache = Cache::connect_with(&set.url(), CacheSettings::new("logout"))
        .await
        .unwrap();
    cache.set_session("ended", "u1", &1, None).await.unwrap();
    cache.set_session("ended-too", "u2", &2, None).await.unwrap();
    let waits = async || {
        let master = bp_cache::link::current_server(&set.url()).await.unwrap();
        let mut conn = master.get_multiplexed_async_connection().await.unwrap();
        let stats: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut conn)
            .await
            .unwrap();
        stats
            .lines()
            .find_map(|l| l.strip_prefix("cmdstat_wait:calls="))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |n| n.parse::<u64>().unwrap())
    };
    let before = waits().await;
    assert!(cache.delete_session("ended").await.unwrap());
    assert_eq!(cache.delete_user_sessions("u2").await.unwrap(), 1);
    assert_eq!(waits().await, before + 2, "each logout waited for the replica");
    // And the replica, which a failover would promote, has both deletions.
    let replica = Cache::connect(&format!("redis://127.0.0.1:{}", set.replica_port()), "logout")
        .await
        .unwrap();
    assert_eq!(replica.get_session::<i32>("ended").await.unwrap(), None);
    assert_eq!(replica.get_session::<i32>("ended-too").await.unwrap(), None);
}
