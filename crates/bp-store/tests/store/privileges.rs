//! Least privilege: what the service's role `bp_app` may not do, and
//! row-level security scoping a query that forgot its user filter.

use bp_store::history::{self, NewPromptHistory};
use bp_testkit::TestDb;
use sqlx::PgPool;
use uuid::Uuid;

/// A transaction acting as `bp_app`, scoped to `user` when given; the
/// caller rolls it back.
async fn app_tx(pool: &PgPool, user: Option<Uuid>) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL ROLE bp_app")
        .execute(&mut *tx)
        .await
        .unwrap();
    if let Some(user) = user {
        sqlx::query("SELECT set_config('bp.user_id', $1, true)")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx
}

/// Runs `sql` as `bp_app` (scoped to `user` when given), rolled back;
/// returns the rows affected or the SQLSTATE.
async fn as_app(pool: &PgPool, user: Option<Uuid>, sql: &str) -> Result<u64, String> {
    let mut tx = app_tx(pool, user).await;
    let result = sqlx::query(sql).execute(&mut *tx).await;
    let _ = tx.rollback().await;
    result.map(|r| r.rows_affected()).map_err(|e| {
        e.as_database_error()
            .and_then(|d| d.code())
            .unwrap_or_default()
            .into_owned()
    })
}

/// `count(*)` of `sql` as `bp_app` scoped to `user`.
async fn count_as(pool: &PgPool, user: Option<Uuid>, sql: &str) -> i64 {
    let mut tx = app_tx(pool, user).await;
    let n = sqlx::query_scalar(sql).fetch_one(&mut *tx).await.unwrap();
    let _ = tx.rollback().await;
    n
}

const DENIED: &str = "42501";

#[tokio::test]
async fn the_app_role_cannot_drop_truncate_or_rewrite_the_audit_log() {
    let db = TestDb::new().await;
    let pool = db.pool();
    super::user_id(&db, "priv").await;
    bp_store::audit::record(
        pool,
        &bp_store::audit::NewAuditEntry {
            action: "auth.login".into(),
            outcome: "success",
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for sql in [
        "DROP TABLE prompts.history",
        "DROP TABLE auth.audit_log",
        "TRUNCATE prompts.history",
        "TRUNCATE auth.audit_log",
        "ALTER TABLE auth.audit_log ADD COLUMN sneaky text",
        "ALTER TABLE auth.audit_log DISABLE TRIGGER ALL",
        "CREATE TABLE prompts.sneaky (id int)",
        "UPDATE auth.audit_log SET outcome = 'success'",
        "DELETE FROM auth.audit_log",
    ] {
        assert_eq!(as_app(pool, None, sql).await, Err(DENIED.to_owned()), "{sql}");
    }
    // What the service does need still works.
    assert_eq!(
        as_app(
            pool,
            None,
            "INSERT INTO auth.audit_log (action, outcome) VALUES ('x', 'success')"
        )
        .await,
        Ok(1)
    );
    assert_eq!(
        as_app(pool, None, "UPDATE auth.users SET tier = 'pro'").await,
        Ok(1)
    );
    assert_eq!(as_app(pool, None, "DELETE FROM prompts.history").await, Ok(0));
}

#[tokio::test]
async fn row_level_security_scopes_a_query_that_forgot_its_user_filter() {
    let db = TestDb::new().await;
    let pool = db.pool();
    let alice = super::user_id(&db, "rlsalice").await;
    let bob = super::user_id(&db, "rlsbob").await;
    for (user, n) in [(alice, 3), (bob, 2)] {
        for i in 0..n {
            history::save_history(
                pool,
                &NewPromptHistory {
                    user_id: Some(user),
                    original_input: format!("prompt {i}"),
                    enhanced_output: "out".into(),
                    ..NewPromptHistory::default()
                },
            )
            .await
            .unwrap();
        }
    }
    let all = "SELECT count(*) FROM prompts.history";
    assert_eq!(
        count_as(pool, None, all).await,
        5,
        "unscoped: service jobs see everything"
    );
    assert_eq!(count_as(pool, Some(alice), all).await, 3);
    assert_eq!(count_as(pool, Some(bob), all).await, 2);
    assert_eq!(
        as_app(pool, Some(alice), "UPDATE prompts.history SET is_favorite = true").await,
        Ok(3),
        "only alice's rows are touched"
    );
    assert_eq!(
        as_app(pool, Some(alice), "DELETE FROM auth.sessions").await,
        Ok(0),
        "nothing of bob's is visible"
    );
    let mut tx = app_tx(pool, Some(alice)).await;
    let refused = sqlx::query(
        "INSERT INTO prompts.history (user_id, original_input, enhanced_output) VALUES ($1, 'a', 'b')",
    )
    .bind(bob)
    .execute(&mut *tx)
    .await
    .unwrap_err();
    let _ = tx.rollback().await;
    assert_eq!(
        refused.as_database_error().and_then(|d| d.code()).as_deref(),
        Some(DENIED),
        "writing another user's row is refused"
    );
}

/// The service's own path: a pool acting as `bp_app` (as `serve`
/// connects) and [`bp_store::Db::for_user`]. With row security on, a
/// statement without its user filter sees only the scoped user's rows and
/// another user's item is reported as forbidden, not missing; with it off
/// the same connection sees every row (the application's filters alone).
#[tokio::test]
async fn the_service_role_scopes_each_users_requests_when_row_security_is_on() {
    let db = TestDb::new().await;
    let alice = super::user_id(&db, "scopealice").await;
    let bob = super::user_id(&db, "scopebob").await;
    let mut bobs = Vec::new();
    for user in [alice, bob, bob] {
        let saved = history::save_history(
            db.pool(),
            &NewPromptHistory {
                user_id: Some(user),
                original_input: "prompt".into(),
                enhanced_output: "out".into(),
                ..NewPromptHistory::default()
            },
        )
        .await
        .unwrap();
        if user == bob {
            bobs.push(saved.id);
        }
    }
    let app = bp_store::Db::new(db.app_pool().await, None);
    let role: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(role, "bp_app");
    let all = "SELECT count(*) FROM prompts.history";
    for (row_security, alice_sees) in [(true, 1i64), (false, 3)] {
        let app = app.clone().with_row_security(row_security);
        let mut conn = app.for_user(alice).await.unwrap();
        let seen: i64 = sqlx::query_scalar(all).fetch_one(&mut *conn).await.unwrap();
        assert_eq!(seen, alice_sees, "row security {row_security}");
        assert!(
            matches!(
                history::get_history(&mut conn, bobs[0], alice).await,
                Err(bp_store::StoreError::Forbidden { .. })
            ),
            "another user's item is forbidden, row security {row_security}"
        );
        assert!(matches!(
            history::get_history(&mut conn, Uuid::new_v4(), alice).await,
            Err(bp_store::StoreError::NotFound { .. })
        ));
        conn.finish().await.unwrap();
    }
    // The scope ends with the transaction: the next use of the pool is unscoped.
    let seen: i64 = sqlx::query_scalar(all).fetch_one(app.pool()).await.unwrap();
    assert_eq!(seen, 3);
}
