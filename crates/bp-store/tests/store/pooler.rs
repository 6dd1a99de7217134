//! The store through a real PgBouncer (Debian's 1.18): concurrent writes,
//! reads and transactions, nothing lost, in session pooling mode with the
//! driver's prepared statements, and in transaction pooling mode with
//! `bp_store::Db`'s pooler mode (every statement in a transaction of its
//! own, no statement cache; docs/scaling.md), many clients sharing two
//! server connections.

use bp_store::PoolSettings;
use bp_store::history;
use bp_testkit::TestDb;
use bp_testkit::pgbouncer::{PoolMode, TestPgBouncer};
use uuid::Uuid;

use super::history::item;

/// The user's history rows and favourites, read on PostgreSQL directly.
async fn rows_and_favourites(db: &TestDb, user: Uuid) -> (i64, i64) {
    sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE is_favorite) FROM prompts.history WHERE user_id = $1",
    )
    .bind(user)
    .fetch_one(db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn the_store_works_through_pgbouncer_in_session_mode() {
    let db = TestDb::new().await;
    // In session mode each pooled client holds its server connection for
    // its whole life, so PgBouncer needs as many as the pool keeps open (a
    // smaller pool makes the extra clients wait until query_wait_timeout:
    // seen here first, and said in docs/scaling.md).
    let bouncer = TestPgBouncer::start(db.name(), PoolMode::Session, 8);
    let settings = PoolSettings {
        max_connections: 8,
        min_connections: 0,
        ..PoolSettings::small()
    };
    let pool = bp_store::connect(&bouncer.url(), &settings).await.unwrap();
    let user = super::user_id(&db, "session").await;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let saved = history::save_history(
                    &pool,
                    &item(
                        Some(user),
                        &format!("prompt {i} through the pooler"),
                        "reasoning",
                        &["chain_of_thought"],
                    ),
                )
                .await
                .unwrap();
                let mut conn = pool.acquire().await.unwrap();
                let read = history::get_history(&mut conn, saved.id, user).await.unwrap();
                drop(conn);
                assert_eq!(read.original_input, format!("prompt {i} through the pooler"));
                let mut tx = pool.begin().await.unwrap();
                history::set_favorite(&mut *tx, saved.id, user, Some(true))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let stats = history::history_stats(&pool, user, 30).await.unwrap();
    assert_eq!((stats.total, stats.favorites), (40, 40), "{stats:?}");
    // The same rows, read directly.
    let (rows, favourites) = rows_and_favourites(&db, user).await;
    assert_eq!((rows, favourites), (40, 40));
    pool.close().await;
    drop(bouncer);
}

#[tokio::test]
async fn the_store_works_through_pgbouncer_in_transaction_mode_with_clients_sharing_servers() {
    let db = TestDb::new().await;
    // Two server connections for twelve clients: every client's statements
    // run on whichever server connection is free at that moment.
    let bouncer = TestPgBouncer::start(db.name(), PoolMode::Transaction, 2);
    let settings = PoolSettings {
        max_connections: 12,
        min_connections: 0,
        // Clients queue at PgBouncer for its two server connections; on a
        // loaded machine that can take a while (nothing here is timed).
        acquire_timeout: std::time::Duration::from_secs(60),
        transaction_pooler: true,
        ..PoolSettings::small()
    };
    let pool = bp_store::connect(&bouncer.url(), &settings).await.unwrap();
    let store = bp_store::Db::new(pool, None).with_transaction_pooler(Some(bp_store::PoolerSession {
        statement_timeout: std::time::Duration::from_millis(4321),
        role: Some("bp_app".into()),
    }));
    // It is PgBouncer in transaction mode with its reset: a prepared
    // statement outside a transaction fails there (sqlx's prepare and
    // execute straddle a Sync), which is what the pooler mode is for.
    assert!(
        sqlx::query_scalar::<_, i32>("SELECT $1::int")
            .bind(1)
            .fetch_one(store.primary())
            .await
            .is_err(),
        "a bare prepared statement worked: this is not a transaction pooler"
    );
    // Each transaction sets what PgBouncer drops from the startup options:
    // the application role and the statement timeout.
    let (role, timeout): (String, String) =
        sqlx::query_as("SELECT current_user::text, current_setting('statement_timeout')")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!((role.as_str(), timeout.as_str()), ("bp_app", "4321ms"));
    let user = super::user_id(&db, "pooled").await;
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let text = format!("prompt {i} through the transaction pooler");
                let saved = history::save_history(
                    store.pool(),
                    &item(Some(user), &text, "reasoning", &["chain_of_thought"]),
                )
                .await
                .unwrap();
                // Several statements on one connection acting for the user.
                let mut conn = store.for_user(user).await.unwrap();
                let read = history::get_history(&mut conn, saved.id, user).await.unwrap();
                assert_eq!(read.original_input, text);
                history::set_favorite(&mut *conn, saved.id, user, Some(true))
                    .await
                    .unwrap();
                conn.finish().await.unwrap();
                // This task's own row, read again in another transaction.
                let again = history::get_history_any(store.pool(), saved.id).await.unwrap();
                assert_eq!(again.is_favorite, Some(true), "{again:?}");
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let stats = history::history_stats(store.pool(), user, 30).await.unwrap();
    assert_eq!((stats.total, stats.favorites), (60, 60), "{stats:?}");
    // A failed statement leaves nothing behind: the next statements on the
    // same client connection (a pool of one) work.
    let single = bp_store::Db::new(
        bp_store::connect(
            &bouncer.url(),
            &PoolSettings {
                max_connections: 1,
                ..settings.clone()
            },
        )
        .await
        .unwrap(),
        None,
    )
    .with_transaction_pooler(Some(bp_store::PoolerSession {
        statement_timeout: std::time::Duration::from_secs(60),
        role: None,
    }));
    assert!(sqlx::query("SELECT 1/0").execute(single.pool()).await.is_err());
    for _ in 0..4 {
        let one: i32 = sqlx::query_scalar("SELECT $1::int")
            .bind(1)
            .fetch_one(single.pool())
            .await
            .unwrap();
        assert_eq!(one, 1);
    }
    single.close().await;
    // The same rows, read directly.
    let (rows, favourites) = rows_and_favourites(&db, user).await;
    assert_eq!((rows, favourites), (60, 60));
    store.close().await;
    drop(bouncer);
}
