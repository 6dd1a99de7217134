//! Read replicas: which hot standby, if any, may serve a read now.
//!
//! Reads that may be a little stale (history pages, stats, analytics,
//! search, templates) go to a replica ([`crate::Db::read`]), under two
//! rules that make a replica cost nothing but speed when it misbehaves:
//!
//! - **Health and lag.** A monitor ([`Replicas::spawn_monitor`]) asks every
//!   replica for its replay position every `interval`, and the primary for
//!   its WAL position. A replica that does not answer, or whose replay is
//!   more than `max_lag` behind in time (`BP_DB_MAX_REPLICA_LAG_MS`), is
//!   skipped: its reads go to the primary until it has caught up. Until its
//!   first answer, a replica is not used. Between a replica's death and
//!   the next check, [`crate::Db::read_for`] falls back to the primary at
//!   once; a single statement on [`crate::Db::read`] fails within the
//!   replica pool's acquire timeout (500 ms).
//! - **Read-your-writes.** A request that carries a minimum position
//!   ([`consistency`]) is served only by a replica that has replayed it:
//!   after a user writes, the API records the primary's WAL position for
//!   that user, and the user's reads go to the primary until a replica has
//!   replayed that far (GitLab's database load balancer works this way).
//!
//! Positions are `pg_lsn` values as byte offsets (`lsn - '0/0'`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::error::StoreError;

/// The primary's current WAL insert position: at or past the end of every
/// transaction committed before it is read, also under asynchronous commit
/// (the write position may still be behind such a commit record).
pub const PRIMARY_POSITION: &str = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint";

/// The primary's written WAL position, for measuring lag: an idle
/// replica that has replayed everything reaches it exactly (the insert
/// position may stand past a page header no record has filled yet).
const PRIMARY_WRITTEN: &str = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint";

/// A replica's replay position (its own WAL position once promoted).
const REPLAY_POSITION: &str = "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() \
     ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint";

/// Read-your-writes for the current request: the WAL position a replica
/// must have replayed before it may serve this task's reads.
pub mod consistency {
    use std::future::Future;

    tokio::task_local! {
        static MIN_POSITION: u64;
    }

    /// Every read on the primary: for a request that writes, whose own
    /// reads must see its writes.
    pub const PRIMARY_ONLY: u64 = u64::MAX;

    /// Runs `f` with reads held to `min_position` (0: any healthy
    /// replica; [`PRIMARY_ONLY`]: the primary).
    pub async fn scope<F: Future>(min_position: u64, f: F) -> F::Output {
        MIN_POSITION.scope(min_position, f).await
    }

    /// The current scope's minimum; 0 outside a scope.
    pub fn required() -> u64 {
        MIN_POSITION.try_with(|m| *m).unwrap_or(0)
    }
}

/// What the monitor last saw of one replica.
#[derive(Debug, Default)]
struct Health {
    /// Answered the last check.
    up: AtomicBool,
    /// Replay position at the last check.
    replayed: AtomicU64,
    /// Replay lag in milliseconds at the last check.
    lag_ms: AtomicU64,
}

#[derive(Debug)]
struct Member {
    pool: PgPool,
    health: Health,
}

/// A replica's state, for `/metrics` and `db health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// 0-based position in `DATABASE_READ_URL`.
    pub index: usize,
    /// Answered the last check.
    pub up: bool,
    /// How far its replay is behind the primary, in time.
    pub lag: Duration,
    /// Whether reads without a minimum position go to it now.
    pub serving: bool,
}

/// The replicas of one primary and what is known of them.
#[derive(Debug)]
pub struct Replicas {
    members: Vec<Member>,
    max_lag: Duration,
    /// Whether a monitor keeps [`Health`] current; unmonitored replicas
    /// ([`crate::Db::new`]) serve every read that needs no position.
    monitored: AtomicBool,
    next: AtomicUsize,
    /// The primary's positions with when they were seen, oldest first: a
    /// replica that has replayed sample `k` is at most `now - t(k+1)` behind.
    samples: Mutex<VecDeque<(u64, Instant)>>,
}

impl Replicas {
    /// Replicas on these pools, skipped when more than `max_lag` behind.
    pub fn new(pools: Vec<PgPool>, max_lag: Duration) -> Self {
        Self {
            members: pools
                .into_iter()
                .map(|pool| Member {
                    pool,
                    health: Health::default(),
                })
                .collect(),
            max_lag,
            monitored: AtomicBool::new(false),
            next: AtomicUsize::new(0),
            samples: Mutex::new(VecDeque::new()),
        }
    }

    /// The lag beyond which a replica serves nothing.
    pub fn max_lag(&self) -> Duration {
        self.max_lag
    }

    /// A replica that may serve a read needing `min_position` (0: none),
    /// taken in turn, with its index (for [`Replicas::mark_down`] when it
    /// then fails); `None` sends the read to the primary.
    pub fn pick(&self, min_position: u64) -> Option<(usize, &PgPool)> {
        let n = self.members.len();
        if min_position == consistency::PRIMARY_ONLY || n == 0 {
            return None;
        }
        let start = self.turn();
        if !self.monitored.load(Ordering::Relaxed) {
            return (min_position == 0).then(|| (start % n, &self.members[start % n].pool));
        }
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| self.serves(&self.members[i], min_position))
            .map(|i| (i, &self.members[i].pool))
    }

    /// Replica `index`'s pool.
    pub fn pool(&self, index: usize) -> Option<&PgPool> {
        self.members.get(index).map(|m| &m.pool)
    }

    /// Takes replica `index` out of service until the monitor's next good
    /// check: a read just failed to get a connection from it.
    pub fn mark_down(&self, index: usize, why: &str) {
        if let Some(m) = self.members.get(index)
            && m.health.up.swap(false, Ordering::Relaxed)
        {
            tracing::warn!(
                replica = index,
                why,
                "read replica failed; its reads go to the primary"
            );
        }
    }

    fn turn(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    fn serves(&self, m: &Member, min_position: u64) -> bool {
        m.health.up.load(Ordering::Relaxed)
            && u128::from(m.health.lag_ms.load(Ordering::Relaxed)) <= self.max_lag.as_millis()
            && m.health.replayed.load(Ordering::Relaxed) >= min_position
    }

    /// Closes every replica's pool.
    pub async fn close(&self) {
        for m in &self.members {
            m.pool.close().await;
        }
    }

    /// Each replica's last known state.
    pub fn status(&self) -> Vec<ReplicaStatus> {
        self.members
            .iter()
            .enumerate()
            .map(|(index, m)| ReplicaStatus {
                index,
                up: m.health.up.load(Ordering::Relaxed),
                lag: Duration::from_millis(m.health.lag_ms.load(Ordering::Relaxed)),
                serving: self.serves(m, 0),
            })
            .collect()
    }

    /// One round of checks: the primary's position, then each replica's
    /// replay position (each within `timeout`). A replica that fails is
    /// marked down; a primary that fails leaves the lag as it was.
    ///
    /// Returns whether every replica that answered could be measured: one
    /// behind even the oldest sample, while that sample is younger than the
    /// lag limit, cannot be (it is kept out of service until it can), and
    /// the monitor checks again soon rather than a whole interval later.
    pub async fn check(&self, primary: &PgPool, timeout: Duration) -> bool {
        self.monitored.store(true, Ordering::Relaxed);
        let now = Instant::now();
        if let Ok(Ok(position)) = tokio::time::timeout(timeout, position(primary, PRIMARY_WRITTEN)).await {
            let mut samples = self
                .samples
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if samples.back().is_none_or(|(p, _)| *p != position) {
                samples.push_back((position, now));
            }
            // Keep one sample older than the horizon, so that a replica
            // stuck before every recent sample still measures as far
            // behind as it is.
            let horizon = self.max_lag.saturating_mul(4);
            while samples
                .get(1)
                .is_some_and(|(_, t)| now.saturating_duration_since(*t) > horizon)
            {
                samples.pop_front();
            }
        }
        // All replicas at once: one that does not answer delays no other.
        let checks = self
            .members
            .iter()
            .map(|m| tokio::time::timeout(timeout, position(&m.pool, REPLAY_POSITION)));
        let results = futures_util::future::join_all(checks).await;
        let mut measured = true;
        for (m, result) in self.members.iter().zip(results) {
            match result {
                Ok(Ok(replayed)) => {
                    let lag = self.lag_of(replayed, now);
                    measured &= self.measurable(replayed, now);
                    m.health.replayed.store(replayed, Ordering::Relaxed);
                    m.health.lag_ms.store(
                        u64::try_from(lag.as_millis()).unwrap_or(u64::MAX),
                        Ordering::Relaxed,
                    );
                    m.health.up.store(true, Ordering::Relaxed);
                }
                Ok(Err(e)) => {
                    if m.health.up.swap(false, Ordering::Relaxed) {
                        tracing::warn!(error = %e, "read replica unavailable; its reads go to the primary");
                    }
                }
                Err(_) => {
                    if m.health.up.swap(false, Ordering::Relaxed) {
                        tracing::warn!("read replica did not answer in time; its reads go to the primary");
                    }
                }
            }
        }
        measured
    }

    /// Whether a replica at `replayed` has a known lag: it has replayed a
    /// sample, or is behind one older than the limit (so surely beyond it).
    fn measurable(&self, replayed: u64, now: Instant) -> bool {
        let samples = self
            .samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match samples.front() {
            Some((first, t)) if *first > replayed => now.saturating_duration_since(*t) > self.max_lag,
            _ => true,
        }
    }

    /// How long ago the primary first passed `replayed`: zero when the
    /// replica has replayed every position seen. Behind even the oldest
    /// sample, the lag is at least that sample's age and, while that age
    /// is still within the limit (just after start), taken to be beyond
    /// it: nothing shows the replica is not hours behind.
    fn lag_of(&self, replayed: u64, now: Instant) -> Duration {
        let samples = self
            .samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match samples.iter().position(|(p, _)| *p > replayed) {
            None => Duration::ZERO,
            Some(0) => {
                let age = samples
                    .front()
                    .map_or(Duration::ZERO, |(_, t)| now.saturating_duration_since(*t));
                age.max(self.max_lag.saturating_add(Duration::from_millis(1)))
            }
            Some(k) => now.saturating_duration_since(samples[k].1),
        }
    }

    /// Checks every `interval` in the background for as long as these
    /// replicas are in use (the task holds only a weak reference).
    pub fn spawn_monitor(self: &Arc<Self>, primary: PgPool, interval: Duration) {
        // From now on a replica serves only after a good check.
        self.monitored.store(true, Ordering::Relaxed);
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // While a replica cannot be measured yet (just after start,
                // on a primary that keeps writing, it is usually behind the
                // only sample), check again soon: otherwise it would wait a
                // whole interval to serve.
                loop {
                    let Some(replicas) = weak.upgrade() else { return };
                    if replicas.check(&primary, interval.max(CHECK_TIMEOUT)).await {
                        break;
                    }
                    drop(replicas);
                    tokio::time::sleep(interval.min(SETTLE_PACE)).await;
                }
            }
        });
    }
}

/// How long one check waits for an answer: a busy two-core machine may take
/// a while; a dead server refuses at once.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// How often the monitor checks while a replica cannot be measured yet.
const SETTLE_PACE: Duration = Duration::from_millis(100);

/// One position, over the simple protocol (one round trip, nothing
/// prepared): the primary may be behind PgBouncer in transaction mode.
pub(crate) async fn position(pool: &PgPool, sql: &'static str) -> Result<u64, StoreError> {
    let row = sqlx::raw_sql(sql).fetch_one(pool).await?;
    let value: i64 = sqlx::Row::try_get(&row, 0)?;
    Ok(u64::try_from(value).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scope_holds_reads_to_its_minimum_and_outside_one_there_is_none() {
        assert_eq!(consistency::required(), 0);
        consistency::scope(5, async {
            assert_eq!(consistency::required(), 5);
            consistency::scope(consistency::PRIMARY_ONLY, async {
                assert_eq!(consistency::required(), consistency::PRIMARY_ONLY);
            })
            .await;
            assert_eq!(consistency::required(), 5, "an inner scope ends with its future");
        })
        .await;
        assert_eq!(consistency::required(), 0);
    }

    #[test]
    fn lag_is_the_age_of_the_first_position_not_yet_replayed() {
        let r = Replicas::new(Vec::new(), Duration::from_secs(1));
        let t0 = Instant::now();
        {
            let mut s = r
                .samples
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            s.push_back((100, t0));
            s.push_back((200, t0 + Duration::from_millis(300)));
            s.push_back((300, t0 + Duration::from_millis(600)));
        }
        let now = t0 + Duration::from_millis(1000);
        assert_eq!(r.lag_of(300, now), Duration::ZERO);
        assert_eq!(r.lag_of(200, now), Duration::from_millis(400));
        assert_eq!(r.lag_of(150, now), Duration::from_millis(700));
        // Behind every sample: at least the oldest one's age, and never
        // within the limit while that age is.
        assert_eq!(r.lag_of(50, now), Duration::from_millis(1001));
        assert_eq!(r.lag_of(50, t0 + Duration::from_secs(5)), Duration::from_secs(5));
        // Only that last case cannot be measured yet, and only while the
        // oldest sample is within the limit.
        assert!(r.measurable(150, now));
        assert!(!r.measurable(50, now));
        assert!(r.measurable(50, t0 + Duration::from_secs(5)));
    }
}
