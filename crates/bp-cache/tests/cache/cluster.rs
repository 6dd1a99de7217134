//! Redis Cluster: the whole cache suite passes on a 3-master cluster; keys
//! spread over the masters and a scan finds them on each; a master killed
//! under load costs degraded calls until its replica takes over, then
//! nothing, and no session written before the replication point is lost.

use std::time::Duration;

use bp_cache::{Cache, CacheSettings};
use bp_testkit::cluster::TestCluster;

use crate::{
    FailoverLoad, a_flag_change_reaches_the_other_cache, assert_sessions_kept, eventually, subscribers,
};

/// The whole cache suite once more, with `REDIS_URL` naming a cluster:
/// this test binary runs itself, skipping this module and Sentinel's.
#[tokio::test]
async fn the_cache_suite_passes_on_a_cluster() {
    let cluster = TestCluster::start().await;
    crate::run_suite_on(cluster.url(), "BP_TEST_EXPECT_CLUSTER").await;
}

#[tokio::test]
async fn keys_spread_over_the_masters_and_a_scan_finds_them_on_each() {
    let cluster = TestCluster::start().await;
    let cache = Cache::connect(&cluster.url(), "spread").await.unwrap();
    for i in 0..60 {
        cache
            .set(&format!("k{i}"), "v", Duration::from_secs(60))
            .await
            .unwrap();
    }
    // Each master holds some of them: the keys are spread, not pinned.
    let mut holding = 0;
    for port in [cluster.first_master_port()]
        .into_iter()
        .chain(other_masters(&cluster).await)
    {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let n: u64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
        holding += usize::from(n > 0);
    }
    assert_eq!(holding, 3, "every master holds some of the 60 keys");
    let counts = cache.key_counts(10_000).await.unwrap();
    assert!(counts.complete);
    assert_eq!(counts.scanned, 60, "the scan visits every master");
    let many = cache.get_many(&["k1", "k2", "k3", "nope"]).await.unwrap();
    assert_eq!(
        many,
        vec![Some("v".into()), Some("v".into()), Some("v".into()), None]
    );
    assert_eq!(cache.delete_pattern("k1*").await.unwrap(), 11);
    assert_eq!(cache.delete_all().await.unwrap(), 49);
    assert_eq!(cache.key_counts(10_000).await.unwrap().scanned, 0);
}

/// The masters other than the first, from the first's view of the cluster.
async fn other_masters(cluster: &TestCluster) -> Vec<u16> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{}", cluster.first_master_port())).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let nodes: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(&mut conn)
        .await
        .unwrap();
    nodes
        .lines()
        .filter(|l| l.contains("master") && !l.contains("myself"))
        .filter_map(|l| l.split(' ').nth(1))
        .filter_map(|addr| addr.split('@').next()?.rsplit(':').next()?.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_master_costs_degraded_calls_until_its_replica_takes_over_and_keeps_replicated_sessions() {
    let mut cluster = TestCluster::start_with(true, Duration::from_millis(1000)).await;
    let cache = Cache::connect_with(&cluster.url(), CacheSettings::new("failover"))
        .await
        .unwrap();
    let other = Cache::connect_with(&cluster.url(), CacheSettings::new("failover"))
        .await
        .unwrap();
    for i in 0..30 {
        cache
            .set_session(&format!("s{i}"), &format!("u{i}"), &i, None)
            .await
            .unwrap();
    }
    cluster.wait_replicated().await;

    // Load over every slot (50 keys per task).
    let load = FailoverLoad::start(&cache, 50, 50).await;

    let replica = cluster.replica_port().unwrap();
    cluster.kill_first_master();
    let killed = std::time::Instant::now();
    eventually(
        Duration::from_secs(60),
        "the cluster promotes the replica",
        || async { cluster.is_master(replica).await },
    )
    .await;
    eventually(
        Duration::from_secs(30),
        "the load is answered again on every slot",
        || async {
            // A quiet window: calls answered and none refused.
            let (degraded, answered) = (load.degraded(), load.answered());
            tokio::time::sleep(Duration::from_millis(300)).await;
            load.degraded() == degraded && load.answered() > answered + 20
        },
    )
    .await;
    load.finish_after_failover("cluster failover (every slot)", killed)
        .await;
    assert_sessions_kept(&cache, 30).await;
    // The change events move off the dead seed node too: once both
    // listeners are subscribed on live nodes, a flag change reaches the
    // other cache through an event.
    let killed_port = cluster.first_master_port();
    let live: Vec<redis::Client> = cluster
        .ports()
        .into_iter()
        .filter(|p| *p != killed_port)
        .map(|p| redis::Client::open(format!("redis://127.0.0.1:{p}")).unwrap())
        .collect();
    eventually(
        Duration::from_secs(10),
        "both listeners subscribe on live nodes",
        || async {
            let mut n = 0;
            for client in &live {
                n += subscribers(client, "failover:events").await;
            }
            n == 2
        },
    )
    .await;
    a_flag_change_reaches_the_other_cache(&cache, &other).await;
    // And a logout everywhere still finds every session of a user.
    cache.set_session("extra", "u3", &99, None).await.unwrap();
    assert_eq!(cache.delete_user_sessions("u3").await.unwrap(), 2);
    assert_eq!(cache.get_session::<i32>("s3").await.unwrap(), None);
}

/// A logout on a cluster is confirmed by a replica where the session's
/// master has one (`WAIT 1` on a connection to that master), and costs no
/// wait where it has none.
#[tokio::test]
async fn a_logout_waits_for_the_replica_of_the_sessions_master() {
    let cluster = TestCluster::start_with(true, Duration::from_secs(5)).await;
    let cache = Cache::connect(&cluster.url(), "logoutc").await.unwrap();
    for i in 0..24 {
        cache.set_session(&format!("s{i}"), "u1", &i, None).await.unwrap();
    }
    let node = |port: u16| async move {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
        client.get_multiplexed_async_connection().await.unwrap()
    };
    let mut first = node(cluster.first_master_port()).await;
    let waits = async |conn: &mut redis::aio::MultiplexedConnection| {
        let stats: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(conn)
            .await
            .unwrap();
        stats
            .lines()
            .find_map(|l| l.strip_prefix("cmdstat_wait:calls="))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |n| n.parse::<u64>().unwrap())
    };
    // The sessions (not the user's index) the replicated master holds.
    let sessions_on_first = async |conn: &mut redis::aio::MultiplexedConnection| {
        redis::cmd("KEYS")
            .arg("logoutc:session:*")
            .query_async::<Vec<String>>(conn)
            .await
            .unwrap()
            .into_iter()
            .filter(|k| !k.contains(":user:"))
            .count() as u64
    };
    let held = sessions_on_first(&mut first).await;
    assert!(held > 0, "some of 24 sessions land on the first master");
    let before = waits(&mut first).await;
    for i in 0..12 {
        assert!(cache.delete_session(&format!("s{i}")).await.unwrap());
    }
    let left = sessions_on_first(&mut first).await;
    assert_eq!(
        waits(&mut first).await - before,
        held - left,
        "one WAIT per single logout of a session on the replicated master"
    );
    let before = waits(&mut first).await;
    assert_eq!(cache.delete_user_sessions("u1").await.unwrap(), 12);
    assert_eq!(
        waits(&mut first).await - before,
        u64::from(left > 0),
        "one WAIT for a logout everywhere's deletions on that master (none if it held none)"
    );
    for port in cluster.ports().into_iter().skip(1).take(2) {
        let mut other = node(port).await;
        assert_eq!(
            waits(&mut other).await,
            0,
            "no WAIT on a master without a replica"
        );
    }
    for i in 0..24 {
        assert_eq!(cache.get_session::<i32>(&format!("s{i}")).await.unwrap(), None);
    }
}

#[tokio::test]
async fn key_slots_match_the_servers() {
    let cluster = TestCluster::start().await;
    let client = redis::Client::open(format!("redis://127.0.0.1:{}", cluster.first_master_port())).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for key in [
        "somekey",
        "foo{}{bar}",
        "{user1000}.following",
        "a{b}c{d}",
        "{}",
        "api-gateway:session:0f3a",
        "unicode:é",
    ] {
        let theirs: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(bp_cache::link::key_slot(key), theirs, "{key}");
    }
}
