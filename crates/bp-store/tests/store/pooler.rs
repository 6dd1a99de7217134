//! The store through a real PgBouncer (Debian's 1.18) in session pooling
//! mode: concurrent writes, reads and transactions with the driver's
//! prepared statements, nothing lost. Transaction pooling needs a driver
//! change first (docs/scaling.md: sqlx prepares named statements across a
//! `Sync`, which PgBouncer 1.18 does not track).

use bp_store::PoolSettings;
use bp_store::history;
use bp_testkit::TestDb;
use bp_testkit::pgbouncer::{PoolMode, TestPgBouncer};
use uuid::Uuid;

use super::history::item;

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
    let user = Uuid::new_v4();
    sqlx::query("INSERT INTO auth.users (id, email, username, password_hash) VALUES ($1, $2, $3, 'x')")
        .bind(user)
        .bind(format!("{user}@example.com"))
        .bind(format!("u{}", &user.simple().to_string()[..12]))
        .execute(db.pool())
        .await
        .unwrap();
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
    let (rows, favourites): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE is_favorite) FROM prompts.history WHERE user_id = $1",
    )
    .bind(user)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!((rows, favourites), (40, 40));
    pool.close().await;
    drop(bouncer);
}
