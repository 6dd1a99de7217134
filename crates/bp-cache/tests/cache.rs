//! Integration tests of bp-cache against the real Redis 7 that `make test`
//! starts; every test has its own key prefix (bp-testkit).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed unwrap is a failed test, with its message"
)]

#[path = "cache/cluster.rs"]
mod cluster;
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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

pub use bp_testkit::eventually;

/// A raw connection for looking behind the cache (TTLs, stored bytes), on
/// whatever topology the suite runs on.
pub async fn raw() -> bp_cache::link::Conn {
    bp_cache::link::raw_connection(bp_testkit::test_env().redis_url.as_str())
        .await
        .unwrap()
}

/// When the suite is run through Sentinel (`sentinel::the_cache_suite_passes_through_sentinel`)
/// or on a cluster (`cluster::the_cache_suite_passes_on_a_cluster`), every
/// test above talks to it: the URL under test is the Sentinel's or the
/// cluster's.
#[test]
fn the_redis_under_test_is_the_one_asked_for() {
    let url = &bp_testkit::test_env().redis_url;
    if std::env::var_os("BP_TEST_EXPECT_SENTINEL").is_some() {
        assert!(url.starts_with("redis+sentinel://"), "the suite runs on {url}");
    }
    if std::env::var_os("BP_TEST_EXPECT_CLUSTER").is_some() {
        assert!(url.starts_with("redis+cluster://"), "the suite runs on {url}");
    }
}

/// Writes and reads from two tasks until [`FailoverLoad::finish`], each
/// call either answered or refused as Redis unavailable (degraded mode):
/// any other error fails the test. The failover tests run it while they
/// kill a master.
pub struct FailoverLoad {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    degraded: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl FailoverLoad {
    /// Starts the load on `cache`, over `keys` keys per task, and waits
    /// until more than `warm` calls have been answered.
    pub async fn start(cache: &bp_cache::Cache, keys: u64, warm: u64) -> Self {
        let mut load = Self {
            stop: Arc::default(),
            answered: Arc::default(),
            degraded: Arc::default(),
            tasks: Vec::new(),
        };
        for worker in 0..2 {
            let (cache, stop, answered, degraded) = (
                cache.clone(),
                load.stop.clone(),
                load.answered.clone(),
                load.degraded.clone(),
            );
            load.tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let key = format!("load:{worker}:{}", n % keys);
                    let outcome = async {
                        cache.set(&key, "v", Duration::from_secs(60)).await?;
                        cache.get(&key).await
                    }
                    .await;
                    match outcome {
                        Ok(_) => answered.fetch_add(1, Ordering::Relaxed),
                        Err(bp_cache::CacheError::Unavailable(_)) => degraded.fetch_add(1, Ordering::Relaxed),
                        Err(e) => panic!("a call during the failover failed otherwise: {e}"),
                    };
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }));
        }
        eventually(Duration::from_secs(10), "the load runs", || async {
            load.answered() > warm
        })
        .await;
        load
    }

    /// Calls answered so far.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// Calls refused as unavailable so far.
    pub fn degraded(&self) -> u64 {
        self.degraded.load(Ordering::Relaxed)
    }

    /// Stops the load and waits for its tasks (a task's panic fails here).
    pub async fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
    }

    /// Prints how long `what` took since `killed` and how many calls were
    /// refused meanwhile (a figure for docs/scaling.md, not a threshold),
    /// stops the load, and checks that the dead master was noticed.
    pub async fn finish_after_failover(self, what: &str, killed: std::time::Instant) {
        let degraded = self.degraded();
        eprintln!(
            "{what}: answered again {} ms after the master was killed; {degraded} calls refused meanwhile",
            killed.elapsed().as_millis()
        );
        self.finish().await;
        assert!(degraded > 0, "the dead master was noticed");
    }
}

/// Sessions `s0`.. `s{n-1}` hold `0`.. `n-1`: written before a failover's
/// replication point, they are kept.
pub async fn assert_sessions_kept(cache: &bp_cache::Cache, n: i32) {
    for i in 0..n {
        let data: Option<i32> = cache.get_session(&format!("s{i}")).await.unwrap();
        assert_eq!(
            data,
            Some(i),
            "session s{i}, replicated before the failover, is kept"
        );
    }
}

/// How many subscribers `channel` has on the server `client` names.
pub async fn subscribers(client: &redis::Client, channel: &str) -> u64 {
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return 0;
    };
    let n: redis::RedisResult<(String, u64)> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query_async(&mut conn)
        .await;
    n.map_or(0, |(_, n)| n)
}

/// After a failover, with both caches' listeners subscribed again: a flag
/// read through `cache` is cached locally (for 60 s), and one set through
/// `other` (whose first call may still be refused while it finds the new
/// master) reaches that copy within 1 s, through an event.
pub async fn a_flag_change_reaches_the_other_cache(cache: &bp_cache::Cache, other: &bp_cache::Cache) {
    assert!(!cache.is_enabled("after_failover", None).await);
    eventually(
        Duration::from_secs(10),
        "the other client writes the flag",
        || async {
            other
                .set_flag(&bp_cache::FeatureFlag {
                    name: "after_failover".into(),
                    enabled: true,
                    rollout_percent: 100,
                    description: "set after the failover".into(),
                })
                .await
                .is_ok()
        },
    )
    .await;
    eventually(
        Duration::from_secs(1),
        "the flag change reaches the cache",
        || async { cache.is_enabled("after_failover", None).await },
    )
    .await;
}

/// Runs this test binary again, skipping the Sentinel and cluster modules,
/// with `REDIS_URL` set to `url` and `expect` set; panics with the report
/// unless it passes with at least 20 tests.
pub async fn run_suite_on(url: String, expect: &'static str) {
    let exe = std::env::current_exe().unwrap();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .args([
                "--skip",
                "sentinel::",
                "--skip",
                "cluster::",
                "--test-threads",
                "4",
            ])
            .env("REDIS_URL", url)
            .env("DATABASE_URL", &bp_testkit::test_env().database_url)
            .env(expect, "1")
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the suite ({expect}) failed:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passed = report
        .lines()
        .find_map(|l| l.strip_prefix("test result: ok. "))
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse::<u32>().ok());
    assert!(passed.is_some_and(|n| n >= 20), "{report}");
}
