//! Reads on a real hot standby (`bp_testkit::replica`, cloned with
//! `pg_basebackup` and streaming through a slot): a read goes to it only
//! while it answers, is within the lag limit and has replayed what the
//! reader wrote; otherwise to the primary, without an error.

use std::time::Duration;

use bp_store::replicas::consistency;
use bp_store::{Db, PgPool, PoolSettings, StoreError, users};
use bp_testkit::replica::{CATCH_UP, TestReplica};
use bp_testkit::{TestDb, eventually};

async fn in_recovery<'e>(executor: impl sqlx::PgExecutor<'e>) -> bool {
    sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(executor)
        .await
        .unwrap()
}

fn replica_db(primary: &PgPool, replica: &TestReplica, name: &str, max_lag: Duration, every: Duration) -> Db {
    let pool = bp_store::pool::lazy(replica.options(name), &PoolSettings::small());
    Db::new(primary.clone(), None).with_replicas(vec![pool], max_lag, every)
}

/// A replica handle whose monitor checks every 20 ms, with a 200 ms lag limit.
fn watched(primary: &TestDb, replica: &TestReplica) -> Db {
    replica_db(
        primary.pool(),
        replica,
        primary.name(),
        Duration::from_millis(200),
        Duration::from_millis(20),
    )
}

async fn serving(db: &Db) -> bool {
    db.replica_status().first().is_some_and(|r| r.serving)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_reads_its_write_while_the_replica_lags_by_design() {
    let primary = TestDb::new().await;
    let replica = TestReplica::start().await;
    let db = replica_db(
        primary.pool(),
        &replica,
        primary.name(),
        Duration::from_secs(600),
        Duration::from_millis(20),
    );
    eventually(
        CATCH_UP,
        "a read that needs nothing goes to the replica",
        || async { in_recovery(db.read()).await },
    )
    .await;

    replica.pause_replay().await;
    let id = super::user_id(&primary, "writer").await;
    let written = db.write_position().await.unwrap();
    consistency::scope(written, async {
        assert!(
            !in_recovery(db.read()).await,
            "the writer's reads go to the primary"
        );
        assert!(users::get_user_by_id(db.read(), id).await.is_ok());
        let mut conn = db.read_for(id).await.unwrap();
        assert!(!in_recovery(&mut *conn).await);
    })
    .await;
    // Someone who wrote nothing may read the lagging replica: that is the
    // trade, and the replica is within the (generous) lag limit.
    assert!(serving(&db).await);
    assert!(matches!(
        users::get_user_by_id(db.read(), id).await,
        Err(StoreError::NotFound { .. })
    ));
    // A request that writes reads everything on the primary.
    consistency::scope(consistency::PRIMARY_ONLY, async {
        assert!(!in_recovery(db.read()).await);
    })
    .await;

    replica.resume_replay().await;
    eventually(
        CATCH_UP,
        "the writer's reads return to the replica once it replays",
        || consistency::scope(written, async { in_recovery(db.read()).await }),
    )
    .await;
    consistency::scope(written, async {
        assert!(users::get_user_by_id(db.read(), id).await.is_ok());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_beyond_the_lag_limit_or_down_serves_nothing_and_costs_no_error() {
    let primary = TestDb::new().await;
    let mut replica = TestReplica::start().await;
    let db = watched(&primary, &replica);
    eventually(CATCH_UP, "the replica serves reads", || serving(&db)).await;

    // Lag: replay paused while the primary moves on.
    replica.pause_replay().await;
    let id = super::user_id(&primary, "lagging").await;
    eventually(CATCH_UP, "a replica beyond the lag limit is skipped", || async {
        !serving(&db).await
    })
    .await;
    assert!(db.replica_status()[0].up, "it answers; it is only behind");
    assert!(!in_recovery(db.read()).await);
    replica.resume_replay().await;
    eventually(CATCH_UP, "it is taken back once it catches up", || serving(&db)).await;

    // Down: a monitor that would not notice for an hour still sends no
    // read to it, because the read that finds it dead takes the primary.
    let unaware = replica_db(
        primary.pool(),
        &replica,
        primary.name(),
        Duration::from_secs(600),
        Duration::from_secs(3600),
    );
    eventually(CATCH_UP, "the replica serves reads", || serving(&unaware)).await;
    replica.stop();
    for _ in 0..10 {
        let mut conn = unaware.read_for(id).await.unwrap();
        assert!(!in_recovery(&mut *conn).await);
    }
    assert!(!unaware.replica_status()[0].up);
    // The monitored handle notices on its own.
    eventually(CATCH_UP, "the monitor marks a stopped replica down", || async {
        !db.replica_status()[0].up
    })
    .await;
    assert!(users::get_user_by_id(db.read(), id).await.is_ok());

    replica.restart().await;
    eventually(CATCH_UP, "a restarted replica serves again", || serving(&db)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_stopped_under_load_costs_no_read_an_error() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    let primary = TestDb::new().await;
    let replica = TestReplica::start().await;
    let id = super::user_id(&primary, "steady").await;
    // The replica may have just been started again: a monitor that checks
    // often says when it has caught up.
    let often = watched(&primary, &replica);
    eventually(CATCH_UP, "the replica catches up", || serving(&often)).await;
    // A monitor that would not notice for an hour: only the reads find out.
    let db = Arc::new(replica_db(
        primary.pool(),
        &replica,
        primary.name(),
        Duration::from_secs(600),
        Duration::from_secs(3600),
    ));
    eventually(CATCH_UP, "the replica serves reads", || serving(&db)).await;
    // Whether a read ran on the replica, and found the user there.
    let read = move |db: Arc<Db>| async move {
        bp_store::reading!(db, pool => async {
            let on_replica: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()").fetch_one(pool).await?;
            users::get_user_by_id(pool, id).await?;
            Ok::<bool, StoreError>(on_replica)
        })
    };
    eventually(CATCH_UP, "the replica has replayed the user", || {
        let db = db.clone();
        async move { read(db).await.is_ok_and(|on_replica| on_replica) }
    })
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let (on_replica, on_primary) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (db, stop, on_replica, on_primary) =
            (db.clone(), stop.clone(), on_replica.clone(), on_primary.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match read(db.clone()).await {
                    Ok(true) => on_replica.fetch_add(1, Ordering::Relaxed),
                    Ok(false) => on_primary.fetch_add(1, Ordering::Relaxed),
                    Err(e) => panic!("a read failed while the replica stopped: {e}"),
                };
            }
        }));
    }
    eventually(CATCH_UP, "the load reads on the replica", || async {
        on_replica.load(Ordering::Relaxed) > 50
    })
    .await;
    replica.stop();
    let before = on_primary.load(Ordering::Relaxed);
    eventually(CATCH_UP, "the reads move to the primary", || async {
        on_primary.load(Ordering::Relaxed) > before + 50
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    assert!(
        !db.replica_status()[0].up,
        "the read that found it dead took it out of service"
    );
}
