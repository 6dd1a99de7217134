//! Integration tests of the schema and migration runner against the real
//! PostgreSQL 16 + pgvector (and Redis for isolation), via bp-testkit.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap is a failed test, with its message"
)]

use std::collections::BTreeSet;

use bp_store::migrate::{self, MIGRATOR};
use bp_store::{PoolSettings, StoreError};
use bp_testkit::{TestDb, TestRedis};
use sqlx::PgPool;

const TABLES: &[&str] = &[
    "auth.users",
    "auth.sessions",
    "auth.api_keys",
    "auth.user_preferences",
    "auth.audit_log",
    "prompts.history",
    "prompts.templates",
    "prompts.intent_patterns",
    "prompts.saved_prompts",
    "prompts.collections",
    "prompts.collection_prompts",
    "prompts.embeddings",
    "analytics.technique_effectiveness",
    "analytics.user_activity",
    "analytics.daily_stats",
    "analytics.api_metrics",
];

type Column = (String, String, Option<String>, String);

/// A valid user named `name` (email `name@example.com`).
fn new_user(name: &str) -> bp_store::users::NewUser {
    bp_store::users::NewUser {
        email: format!("{name}@example.com"),
        username: name.into(),
        password_hash: "$2b$12$abcdefghijklmnopqrstuv".into(),
        first_name: Some("Ada".into()),
        last_name: None,
        role: None,
        tier: None,
    }
}

/// Creates a valid user named `name` and returns its id.
async fn user_id(db: &TestDb, name: &str) -> uuid::Uuid {
    bp_store::users::create_user(db.pool(), &new_user(name))
        .await
        .unwrap()
        .id
}

#[path = "store/analytics.rs"]
mod analytics;
#[path = "store/encryption.rs"]
mod encryption;
#[path = "store/history.rs"]
mod history;
#[path = "store/library.rs"]
mod library;
#[path = "store/platform.rs"]
mod platform;
#[path = "store/pooler.rs"]
mod pooler;
#[path = "store/privileges.rs"]
mod privileges;
#[path = "store/replication.rs"]
mod replication;
#[path = "store/saved.rs"]
mod saved;
#[path = "store/tls.rs"]
mod tls;
#[path = "store/vectors.rs"]
mod vectors;

async fn columns(pool: &PgPool, table: &str) -> Vec<Column> {
    let (schema, name) = table.split_once('.').unwrap();
    sqlx::query_as(
        "SELECT column_name::text, udt_name::text, column_default::text, is_nullable::text
         FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
    )
    .bind(schema)
    .bind(name)
    .fetch_all(pool)
    .await
    .unwrap()
}

fn column(cols: &[Column], name: &str) -> Column {
    cols.iter()
        .find(|c| c.0 == name)
        .cloned()
        .unwrap_or_else(|| panic!("missing column {name}"))
}

#[tokio::test]
async fn all_fifteen_guide_tables_and_the_audit_log_exist_with_their_key_columns() {
    let db = TestDb::new().await;
    for table in TABLES {
        let cols = columns(db.pool(), table).await;
        assert!(!cols.is_empty(), "{table} is missing");
        if *table != "prompts.collection_prompts" {
            let id = column(&cols, "id");
            assert_eq!(id.1, "uuid", "{table}.id type");
            assert_eq!(id.2.as_deref(), Some("gen_random_uuid()"), "{table}.id default");
        }
    }
    // A sample of columns with the types and defaults of schema-reference.md.
    let users = columns(db.pool(), "auth.users").await;
    assert_eq!(column(&users, "email").1, "varchar");
    assert_eq!(column(&users, "email").3, "NO");
    assert_eq!(
        column(&users, "tier").2.as_deref(),
        Some("'free'::character varying")
    );
    assert_eq!(column(&users, "preferences").1, "jsonb");
    let history = columns(db.pool(), "prompts.history").await;
    assert_eq!(column(&history, "techniques_used").1, "_text");
    assert_eq!(column(&history, "intent_confidence").1, "float8");
    let typmod: String = sqlx::query_scalar(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
         WHERE attrelid = 'prompts.embeddings'::regclass AND attname = 'embedding'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(typmod, "vector(768)");

    let constraints: BTreeSet<String> = sqlx::query_scalar(
        "SELECT conname::text FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE n.nspname IN ('auth', 'prompts', 'analytics')",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    .into_iter()
    .collect();
    for expected in [
        "user_preferences_user_id_key",
        "sessions_refresh_token_hash_key",
        "api_keys_key_hash_key",
        "history_feedback_score_check",
        "history_complexity_check",
        "history_request_id_key",
        "templates_slug_key",
        "embeddings_source_unique",
        "technique_effectiveness_technique_intent_date_key",
        "daily_stats_date_key",
        "collection_prompts_pkey",
    ] {
        assert!(constraints.contains(expected), "missing constraint {expected}");
    }
}

#[tokio::test]
async fn email_and_username_are_unique_case_insensitively_and_checks_hold() {
    let db = TestDb::new().await;
    // Emails are unique through their blind index, so the check is the
    // store's insert; usernames are unique in SQL itself.
    let user = |email: &str, username: &str| bp_store::users::NewUser {
        email: email.into(),
        username: username.into(),
        password_hash: "x".into(),
        first_name: None,
        last_name: None,
        role: None,
        tier: None,
    };
    bp_store::users::create_user(db.pool(), &user("Ada@Example.com", "ada"))
        .await
        .unwrap();
    let dup_email = bp_store::users::create_user(db.pool(), &user("ada@example.COM", "ada2"))
        .await
        .unwrap_err();
    assert!(
        matches!(&dup_email, StoreError::Conflict { constraint } if constraint == "users_email_key"),
        "{dup_email:?}"
    );
    let dup_name = sqlx::query(
        "INSERT INTO auth.users (email, email_bidx, username, password_hash) VALUES ('x', 'y', 'ADA', 'x')",
    )
    .execute(db.pool())
    .await
    .unwrap_err();
    assert_eq!(
        dup_name.as_database_error().unwrap().constraint(),
        Some("users_username_key")
    );

    let bad_complexity = sqlx::query(
        "INSERT INTO prompts.history (original_input, enhanced_output, complexity) VALUES ('a', 'b', 'extreme')",
    )
    .execute(db.pool())
    .await
    .unwrap_err();
    assert_eq!(
        bad_complexity.as_database_error().unwrap().constraint(),
        Some("history_complexity_check")
    );
    let bad_score = sqlx::query(
        "INSERT INTO prompts.history (original_input, enhanced_output, feedback_score) VALUES ('a', 'b', 6)",
    )
    .execute(db.pool())
    .await
    .unwrap_err();
    assert_eq!(
        bad_score.as_database_error().unwrap().constraint(),
        Some("history_feedback_score_check")
    );
}

#[tokio::test]
async fn triggers_set_updated_at_normalise_patterns_and_derive_slugs() {
    let db = TestDb::new().await;
    let id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO auth.users (email, username, password_hash, updated_at)
         VALUES ('t@x.io', 't', 'x', now() - interval '1 day') RETURNING id",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let fresh: bool = sqlx::query_scalar(
        "UPDATE auth.users SET first_name = 'T' WHERE id = $1 RETURNING updated_at > now() - interval '1 minute'",
    )
    .bind(id)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(fresh, "updated_at was not refreshed by the trigger");

    let normalized: String = sqlx::query_scalar(
        "INSERT INTO prompts.intent_patterns (pattern, normalized_pattern, intent)
         VALUES ('  Write Me A POEM ', '', 'creative_writing') RETURNING normalized_pattern",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(normalized, "write me a poem");

    let slug: String = sqlx::query_scalar(
        "INSERT INTO prompts.templates (name, slug, technique, template_text)
         VALUES ('My Great  Template!', '', 'zero_shot', '{{prompt}}') RETURNING slug",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(slug, "my-great-template");
}

#[tokio::test]
async fn default_templates_cover_every_technique_the_engine_offers() {
    let db = TestDb::new().await;
    let techniques: BTreeSet<String> =
        sqlx::query_scalar("SELECT technique::text FROM prompts.templates WHERE is_active AND is_public")
            .fetch_all(db.pool())
            .await
            .unwrap()
            .into_iter()
            .collect();
    let expected: BTreeSet<String> = bp_engine::Technique::ALL
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    assert_eq!(techniques, expected);
}

#[tokio::test]
async fn pgvector_is_0_8_and_top_10_cosine_search_uses_the_hnsw_index() {
    let db = TestDb::new().await;
    let version: String = sqlx::query_scalar("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert!(version.starts_with("0.8."), "pgvector {version}");
    // 2000 deterministic vectors, generated server-side.
    sqlx::query(
        "INSERT INTO prompts.embeddings (source_type, source_id, embedding)
         SELECT 'prompt_history', gen_random_uuid(),
                (SELECT array_agg(sin(g * 7.0 + d)) FROM generate_series(1, 768) d)::vector
         FROM generate_series(1, 2000) g",
    )
    .execute(db.pool())
    .await
    .unwrap();
    sqlx::query("ANALYZE prompts.embeddings")
        .execute(db.pool())
        .await
        .unwrap();
    let probe: String =
        sqlx::query_scalar("SELECT (SELECT array_agg(cos(d)) FROM generate_series(1, 768) d)::vector::text")
            .fetch_one(db.pool())
            .await
            .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT id FROM prompts.embeddings ORDER BY embedding <=> $1::vector LIMIT 10",
    )
    .bind(&probe)
    .fetch_all(db.pool())
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(
        plan.contains("idx_embeddings_hnsw"),
        "plan does not use the HNSW index:\n{plan}"
    );
}

/// Columns, constraints, indexes, triggers, functions and seeded templates of our schemas, as text.
async fn schema_snapshot(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT 'col ' || table_schema || '.' || table_name || '.' || column_name || ' ' || data_type || ' '
                || coalesce(column_default, '') || ' ' || is_nullable
           FROM information_schema.columns WHERE table_schema IN ('auth', 'prompts', 'analytics')
         UNION ALL
         SELECT 'con ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(c.oid)
           FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
          WHERE n.nspname IN ('auth', 'prompts', 'analytics')
         UNION ALL
         SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname IN ('auth', 'prompts', 'analytics')
         UNION ALL
         SELECT 'trg ' || pg_get_triggerdef(t.oid) FROM pg_trigger t
           JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE NOT t.tgisinternal AND n.nspname IN ('auth', 'prompts', 'analytics')
         UNION ALL
         SELECT 'fn ' || p.oid::regprocedure || ' ' || md5(p.prosrc) FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname IN ('auth', 'prompts', 'analytics') OR p.proname = 'set_updated_at'
         UNION ALL
         SELECT 'tpl ' || slug || ' ' || md5(template_text) FROM prompts.templates
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

fn up_versions() -> Vec<i64> {
    MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .collect()
}

#[tokio::test]
async fn up_down_up_leaves_an_identical_schema() {
    let db = TestDb::new().await;
    let before = schema_snapshot(db.pool()).await;
    assert!(
        before.len() > 200,
        "snapshot too small to mean anything: {}",
        before.len()
    );
    let versions = up_versions();
    let reverted = migrate::run_down(db.pool(), &MIGRATOR, versions.len())
        .await
        .unwrap();
    assert_eq!(reverted, versions.iter().rev().copied().collect::<Vec<_>>());
    let schemas: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_namespace WHERE nspname IN ('auth', 'prompts', 'analytics')",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(schemas, 0, "down left schemas behind");
    let status = migrate::status(db.pool(), &MIGRATOR).await.unwrap();
    assert!(status.iter().all(|m| m.applied_at.is_none()));
    let applied = migrate::run_up(db.pool(), &MIGRATOR).await.unwrap();
    assert_eq!(applied, versions);
    assert_eq!(schema_snapshot(db.pool()).await, before);
}

#[tokio::test]
async fn down_refuses_more_steps_than_are_applied() {
    let db = TestDb::new().await;
    let err = migrate::run_down(db.pool(), &MIGRATOR, 99).await.unwrap_err();
    let expected = format!("only {} are applied", up_versions().len());
    assert!(err.to_string().contains(&expected), "{err}");
}

#[tokio::test]
async fn a_failed_migration_names_its_file_and_statement_and_changes_nothing() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, sql: &str| std::fs::write(dir.path().join(name), sql).unwrap();
    write("0001_good.up.sql", "CREATE TABLE public.good_one (id int);\n");
    write("0001_good.down.sql", "DROP TABLE public.good_one;\n");
    write(
        "0002_broken.up.sql",
        "-- first a fine statement\nCREATE TABLE public.half_done (id int);\n\nINSERT INTO public.no_such_table VALUES (1);\n",
    );
    write("0002_broken.down.sql", "DROP TABLE public.half_done;\n");
    let migrator = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    // This database's own migration history would not match these files: start one afresh.
    sqlx::query("DROP TABLE public._sqlx_migrations")
        .execute(db.pool())
        .await
        .unwrap();

    let err = migrate::run_up(db.pool(), &migrator).await.unwrap_err();
    let StoreError::Migration {
        file,
        line,
        statement,
        message,
    } = &err
    else {
        panic!("unexpected error: {err}")
    };
    assert_eq!(file, "0002_broken.up.sql");
    assert_eq!(*line, 4);
    assert!(
        statement.starts_with("INSERT INTO public.no_such_table"),
        "{statement}"
    );
    assert!(message.contains("no_such_table"), "{message}");
    assert!(err.to_string().contains("0002_broken.up.sql"));

    let exists = |t: &'static str| {
        sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
            .bind(t)
            .fetch_one(db.pool())
    };
    assert!(
        exists("public.good_one").await.unwrap(),
        "the good migration should be applied"
    );
    assert!(
        !exists("public.half_done").await.unwrap(),
        "the failed migration was not rolled back"
    );
    let status = migrate::status(db.pool(), &migrator).await.unwrap();
    assert!(status[0].applied_at.is_some() && status[1].applied_at.is_none());
}

#[tokio::test]
async fn two_test_databases_written_in_parallel_do_not_see_each_other() {
    let (a, b) = tokio::join!(TestDb::new(), TestDb::new());
    assert_ne!(a.name(), b.name());
    let write = |pool: PgPool| async move {
        sqlx::query_scalar::<_, uuid::Uuid>(
            "INSERT INTO auth.users (email, username, password_hash)
             VALUES ('same@example.com', 'same', 'x') RETURNING id",
        )
        .fetch_one(&pool)
        .await
    };
    let (ida, idb) = tokio::join!(write(a.pool().clone()), write(b.pool().clone()));
    assert_ne!(
        ida.unwrap(),
        idb.unwrap(),
        "both writes of one email must succeed, each in its own database"
    );
    for db in [&a, &b] {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM auth.users")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(n, 1, "{} sees another test's rows", db.name());
    }
}

#[tokio::test]
async fn a_redis_key_written_under_one_test_prefix_is_invisible_under_another() {
    let (a, b) = tokio::join!(TestRedis::new(), TestRedis::new());
    a.cache()
        .set("session:1", "alice", std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        a.cache().get("session:1").await.unwrap().as_deref(),
        Some("alice")
    );
    assert_eq!(b.cache().get("session:1").await.unwrap(), None);
    assert_eq!(b.cache().delete_all().await.unwrap(), 0);
    assert_eq!(a.cache().delete_all().await.unwrap(), 1);
}

#[tokio::test]
async fn connection_errors_name_the_problem_and_the_fix() {
    let db = TestDb::new().await;
    let opts = db.connect_options();
    let wrong_password =
        bp_store::pool::connect_with(opts.clone().password("definitely-wrong"), &PoolSettings::small())
            .await
            .unwrap_err();
    assert!(
        matches!(wrong_password, StoreError::AuthenticationFailed { .. }),
        "{wrong_password}"
    );
    assert!(!wrong_password.to_string().contains("definitely-wrong"));
    let missing =
        bp_store::pool::connect_with(opts.clone().database("no_such_db_here"), &PoolSettings::small())
            .await
            .unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("database `no_such_db_here` does not exist"),
        "{missing}"
    );
    // Port 1 on loopback: nothing listens there.
    let refused = bp_store::connect("postgres://u:p@127.0.0.1:1/x", &PoolSettings::small())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("connection refused"), "{refused}");
}

mod users {
    use bp_store::users::{self, NewUser, ProfileUpdate, UserFilter};
    use bp_store::{PageRequest, StoreError};
    use bp_testkit::TestDb;

    fn new_user(email: &str, username: &str) -> NewUser {
        NewUser {
            email: email.into(),
            username: username.into(),
            password_hash: "$2b$12$abcdefghijklmnopqrstuv".into(),
            first_name: Some("Ada".into()),
            last_name: None,
            role: None,
            tier: None,
        }
    }

    #[tokio::test]
    async fn create_user_returns_defaults_and_conflicts_name_the_constraint_in_any_case() {
        let db = TestDb::new().await;
        let user = users::create_user(db.pool(), &new_user("Ada@Example.com", "ada"))
            .await
            .unwrap();
        assert_eq!(user.role.as_deref(), Some("user"));
        assert_eq!(user.tier.as_deref(), Some("free"));
        assert_eq!(user.is_active, Some(true));
        let err = users::create_user(db.pool(), &new_user("ADA@example.com", "other"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict { constraint } if constraint == "users_email_key"),
            "{err}"
        );
        let err = users::create_user(db.pool(), &new_user("x@example.com", "ADA"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict { constraint } if constraint == "users_username_key"),
            "{err}"
        );
        assert!(
            !format!("{user:?}").contains("abcdefghij"),
            "Debug shows the password hash"
        );
    }

    #[tokio::test]
    async fn invalid_input_is_rejected_before_any_write() {
        let db = TestDb::new().await;
        let cases = [
            (new_user("not-an-email", "okname"), "email"),
            (new_user("a@b.co", "no spaces allowed"), "username"),
            (new_user("a@b.co", &"u".repeat(101)), "username"),
            (
                NewUser {
                    role: Some("root".into()),
                    ..new_user("a@b.co", "okname")
                },
                "role",
            ),
            (
                NewUser {
                    first_name: Some("x\0y".into()),
                    ..new_user("a@b.co", "okname")
                },
                "first_name",
            ),
        ];
        for (input, field) in cases {
            let err = users::create_user(db.pool(), &input).await.unwrap_err();
            assert!(
                matches!(&err, StoreError::Invalid { field: f, .. } if f == field),
                "{field}: {err}"
            );
        }
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM auth.users")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(n, 0);
    }

    #[tokio::test]
    async fn lookups_by_id_email_username_and_either_are_case_insensitive() {
        let db = TestDb::new().await;
        let user = users::create_user(db.pool(), &new_user("Grace@Example.com", "Grace"))
            .await
            .unwrap();
        assert_eq!(
            users::get_user_by_id(db.pool(), user.id).await.unwrap().id,
            user.id
        );
        assert_eq!(
            users::get_user_by_email(db.pool(), "grace@EXAMPLE.com")
                .await
                .unwrap()
                .id,
            user.id
        );
        assert_eq!(
            users::get_user_by_username(db.pool(), "grace").await.unwrap().id,
            user.id
        );
        assert_eq!(
            users::get_user_by_email_or_username(db.pool(), "GRACE")
                .await
                .unwrap()
                .id,
            user.id
        );
        assert_eq!(
            users::get_user_by_email_or_username(db.pool(), "grace@example.com")
                .await
                .unwrap()
                .id,
            user.id
        );
        let missing = users::get_user_by_email(db.pool(), "nobody@example.com")
            .await
            .unwrap_err();
        assert!(matches!(missing, StoreError::NotFound { entity: "user" }));
        let missing = users::get_user_by_id(db.pool(), uuid::Uuid::new_v4())
            .await
            .unwrap_err();
        assert!(matches!(missing, StoreError::NotFound { .. }));
    }

    #[tokio::test]
    async fn profile_updates_change_only_given_fields_and_username_conflicts() {
        let db = TestDb::new().await;
        let a = users::create_user(db.pool(), &new_user("a@example.com", "alpha"))
            .await
            .unwrap();
        users::create_user(db.pool(), &new_user("b@example.com", "beta"))
            .await
            .unwrap();
        let update = ProfileUpdate {
            last_name: Some("Lovelace".into()),
            preferences: Some(serde_json::json!({"theme": "dark"})),
            ..Default::default()
        };
        let updated = users::update_profile(db.pool(), a.id, &update).await.unwrap();
        assert_eq!(updated.first_name.as_deref(), Some("Ada"));
        assert_eq!(updated.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(updated.preferences, Some(serde_json::json!({"theme": "dark"})));
        let taken = ProfileUpdate {
            username: Some("BETA".into()),
            ..Default::default()
        };
        let err = users::update_profile(db.pool(), a.id, &taken).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict { constraint } if constraint == "users_username_key"),
            "{err}"
        );
        let bad = ProfileUpdate {
            preferences: Some(serde_json::json!([1])),
            ..Default::default()
        };
        assert!(matches!(
            users::update_profile(db.pool(), a.id, &bad).await,
            Err(StoreError::Invalid { .. })
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_failed_logins_are_counted_exactly_and_lock_at_the_limit() {
        let db = TestDb::new().await;
        let user = users::create_user(db.pool(), &new_user("l@example.com", "locky"))
            .await
            .unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let pool = db.pool().clone();
            tasks.spawn(async move {
                users::record_failed_login(&pool, user.id, 5, chrono::Duration::minutes(30)).await
            });
        }
        let mut counts = Vec::new();
        while let Some(result) = tasks.join_next().await {
            let (count, locked) = result.unwrap().unwrap();
            assert!(locked.is_none(), "locked before the 5th failure");
            counts.push(count);
        }
        counts.sort();
        assert_eq!(
            counts,
            vec![1, 2, 3, 4],
            "concurrent failures were lost or double counted"
        );
        let (count, locked) =
            users::record_failed_login(db.pool(), user.id, 5, chrono::Duration::minutes(30))
                .await
                .unwrap();
        assert_eq!(count, 5);
        let until = locked.expect("the 5th failure locks the account");
        let row = users::get_user_by_id(db.pool(), user.id).await.unwrap();
        assert!(
            row.is_locked(chrono::Utc::now()) && until > chrono::Utc::now() + chrono::Duration::minutes(29)
        );

        // An expired lock resets the counter: the next failure counts as the first.
        sqlx::query("UPDATE auth.users SET locked_until = now() - interval '1 second' WHERE id = $1")
            .bind(user.id)
            .execute(db.pool())
            .await
            .unwrap();
        let (count, locked) =
            users::record_failed_login(db.pool(), user.id, 5, chrono::Duration::minutes(30))
                .await
                .unwrap();
        assert_eq!((count, locked), (1, None));
        users::record_successful_login(db.pool(), user.id).await.unwrap();
        let row = users::get_user_by_id(db.pool(), user.id).await.unwrap();
        assert_eq!(row.failed_login_attempts, Some(0));
        assert!(row.last_login_at.is_some());
    }

    #[tokio::test]
    async fn reset_lock_and_deactivate_change_the_row_and_delete_cascades() {
        let db = TestDb::new().await;
        let user = users::create_user(db.pool(), &new_user("d@example.com", "delta"))
            .await
            .unwrap();
        users::record_failed_login(db.pool(), user.id, 1, chrono::Duration::minutes(30))
            .await
            .unwrap();
        users::reset_lock(db.pool(), user.id).await.unwrap();
        assert!(
            !users::get_user_by_id(db.pool(), user.id)
                .await
                .unwrap()
                .is_locked(chrono::Utc::now())
        );
        users::deactivate_user(db.pool(), user.id).await.unwrap();
        assert_eq!(
            users::get_user_by_id(db.pool(), user.id).await.unwrap().is_active,
            Some(false)
        );

        sqlx::query("INSERT INTO auth.user_preferences (user_id) VALUES ($1)")
            .bind(user.id)
            .execute(db.pool())
            .await
            .unwrap();
        let history: uuid::Uuid = sqlx::query_scalar(
            "INSERT INTO prompts.history (user_id, original_input, enhanced_output) VALUES ($1, 'a', 'b') RETURNING id",
        )
        .bind(user.id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        users::delete_user(db.pool(), user.id).await.unwrap();
        let prefs: i64 = sqlx::query_scalar("SELECT count(*) FROM auth.user_preferences")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(prefs, 0, "preferences must cascade");
        let owner: Option<uuid::Uuid> =
            sqlx::query_scalar("SELECT user_id FROM prompts.history WHERE id = $1")
                .bind(history)
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(owner, None, "history is kept with user_id NULL");
        assert!(matches!(
            users::delete_user(db.pool(), user.id).await,
            Err(StoreError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn admin_list_pages_filters_and_matches_search_text_literally() {
        let db = TestDb::new().await;
        for i in 0..25 {
            let role = if i % 5 == 0 {
                Some("developer".to_owned())
            } else {
                None
            };
            let input = NewUser {
                role,
                ..new_user(&format!("user{i}@example.com"), &format!("user_{i}"))
            };
            users::create_user(db.pool(), &input).await.unwrap();
        }
        let page = users::list_users(
            db.pool(),
            &UserFilter::default(),
            PageRequest::new(2, 10).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!((page.items.len(), page.total, page.total_pages()), (10, 25, 3));
        let devs = UserFilter {
            role: Some("developer".into()),
            ..Default::default()
        };
        assert_eq!(
            users::list_users(db.pool(), &devs, PageRequest::new(1, 100).unwrap())
                .await
                .unwrap()
                .total,
            5
        );
        // `_` and `%` are literal in search, and injection text is just text.
        for (search, expected) in [
            ("user_1", 11),
            ("%", 0),
            ("' OR 1=1 --", 0),
            ("; DROP TABLE auth.users; --", 0),
        ] {
            let filter = UserFilter {
                search: Some(search.into()),
                ..Default::default()
            };
            let got = users::list_users(db.pool(), &filter, PageRequest::new(1, 100).unwrap())
                .await
                .unwrap()
                .total;
            assert_eq!(got, expected, "search {search:?}");
        }
        let bad = UserFilter {
            tier: Some("platinum".into()),
            ..Default::default()
        };
        assert!(matches!(
            users::list_users(db.pool(), &bad, PageRequest::new(1, 10).unwrap()).await,
            Err(StoreError::Invalid { .. })
        ));
    }

    #[tokio::test]
    async fn injection_strings_in_names_are_stored_verbatim() {
        let db = TestDb::new().await;
        let nasty = "Robert'); DROP TABLE auth.users; -- \" ' OR 1=1 --";
        let input = NewUser {
            first_name: Some(nasty.into()),
            ..new_user("bobby@example.com", "bobby")
        };
        let user = users::create_user(db.pool(), &input).await.unwrap();
        assert_eq!(
            users::get_user_by_id(db.pool(), user.id)
                .await
                .unwrap()
                .first_name
                .as_deref(),
            Some(nasty)
        );
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM auth.users")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
}

mod sessions {
    use bp_store::StoreError;
    use bp_store::preferences::{self, UserPreferences};
    use bp_store::sessions::{self, NewSession};
    use bp_store::users;
    use bp_testkit::TestDb;
    use chrono::{Duration, Utc};
    use uuid::Uuid;

    async fn user(db: &TestDb) -> Uuid {
        users::create_user(db.pool(), &super::new_user("sess"))
            .await
            .unwrap()
            .id
    }

    fn session(user_id: Uuid, tag: &str) -> NewSession {
        NewSession {
            user_id,
            token_hash: format!("t-{tag}"),
            refresh_token_hash: format!("r-{tag}"),
            user_agent: Some("test-agent".into()),
            ip_address: Some("127.0.0.1".into()),
            expires_at: Utc::now() + Duration::days(7),
        }
    }

    #[tokio::test]
    async fn rotation_revokes_the_old_session_and_keeps_the_family() {
        let db = TestDb::new().await;
        let uid = user(&db).await;
        let first = sessions::create_session(db.pool(), &session(uid, "1"))
            .await
            .unwrap();
        assert!(first.is_usable(Utc::now()));
        let second = sessions::rotate_session(db.pool(), "r-1", &session(uid, "2"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(second.family_id, first.family_id);
        let old = sessions::get_session_by_refresh_hash(db.pool(), "r-1")
            .await
            .unwrap();
        assert!(old.revoked_at.is_some() && old.replaced_by == Some(second.id));
        assert_eq!(
            sessions::get_session_by_token_hash(db.pool(), "t-2")
                .await
                .unwrap()
                .id,
            second.id
        );
        // Presenting the rotated token again rotates nothing: the caller sees reuse.
        assert!(
            sessions::rotate_session(db.pool(), "r-1", &session(uid, "3"))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            sessions::revoke_session_family(db.pool(), old.family_id)
                .await
                .unwrap(),
            1
        );
        let latest = sessions::get_session_by_token_hash(db.pool(), "t-2")
            .await
            .unwrap();
        assert!(
            !latest.is_usable(Utc::now()),
            "reuse must revoke the family's live session"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_concurrent_rotations_of_one_token_succeed_exactly_once() {
        let db = TestDb::new().await;
        let uid = user(&db).await;
        sessions::create_session(db.pool(), &session(uid, "root"))
            .await
            .unwrap();
        let (next_a, next_b) = (session(uid, "a"), session(uid, "b"));
        let (a, b) = tokio::join!(
            sessions::rotate_session(db.pool(), "r-root", &next_a),
            sessions::rotate_session(db.pool(), "r-root", &next_b),
        );
        let winners = [a.unwrap(), b.unwrap()].into_iter().flatten().count();
        assert_eq!(winners, 1);
    }

    #[tokio::test]
    async fn revoke_all_of_a_user_keeps_the_current_one_and_expired_sessions_are_cleaned() {
        let db = TestDb::new().await;
        let uid = user(&db).await;
        let keep = sessions::create_session(db.pool(), &session(uid, "keep"))
            .await
            .unwrap();
        sessions::create_session(db.pool(), &session(uid, "other"))
            .await
            .unwrap();
        let expired = NewSession {
            expires_at: Utc::now() - Duration::days(2),
            ..session(uid, "old")
        };
        sessions::create_session(db.pool(), &expired).await.unwrap();
        assert_eq!(
            sessions::revoke_user_sessions(db.pool(), uid, Some(keep.id))
                .await
                .unwrap(),
            2
        );
        assert!(
            sessions::get_session_by_token_hash(db.pool(), "t-keep")
                .await
                .unwrap()
                .is_usable(Utc::now())
        );
        sessions::touch_session(db.pool(), keep.id).await.unwrap();
        assert!(sessions::revoke_session(db.pool(), keep.id).await.unwrap());
        assert!(
            !sessions::revoke_session(db.pool(), keep.id).await.unwrap(),
            "second revoke is a no-op"
        );
        assert_eq!(
            sessions::delete_expired_sessions(db.pool(), Duration::days(1))
                .await
                .unwrap(),
            1
        );
        let missing = sessions::get_session_by_token_hash(db.pool(), "t-old")
            .await
            .unwrap_err();
        assert!(matches!(missing, StoreError::NotFound { entity: "session" }));
    }

    #[tokio::test]
    async fn a_duplicate_refresh_hash_is_a_conflict_and_a_bad_ip_writes_nothing() {
        let db = TestDb::new().await;
        let uid = user(&db).await;
        sessions::create_session(db.pool(), &session(uid, "1"))
            .await
            .unwrap();
        let dup = NewSession {
            token_hash: "t-x".into(),
            ..session(uid, "1")
        };
        let err = sessions::create_session(db.pool(), &dup).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict { constraint } if constraint == "sessions_refresh_token_hash_key")
        );
        let bad = NewSession {
            ip_address: Some("x".repeat(46)),
            ..session(uid, "2")
        };
        assert!(matches!(
            sessions::create_session(db.pool(), &bad).await,
            Err(StoreError::Invalid { .. })
        ));
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM auth.sessions")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn preferences_default_until_saved_and_upsert_replaces() {
        let db = TestDb::new().await;
        let uid = user(&db).await;
        assert_eq!(
            preferences::get_preferences(db.pool(), uid).await.unwrap(),
            UserPreferences::default()
        );
        let mut prefs = UserPreferences {
            preferred_techniques: vec!["chain_of_thought".into()],
            complexity_preference: Some("complex".into()),
            ui_theme: "dark".into(),
            ..Default::default()
        };
        preferences::upsert_preferences(db.pool(), uid, &prefs)
            .await
            .unwrap();
        assert_eq!(preferences::get_preferences(db.pool(), uid).await.unwrap(), prefs);
        prefs.excluded_techniques = vec!["emotional_appeal".into()];
        prefs.complexity_preference = None;
        preferences::upsert_preferences(db.pool(), uid, &prefs)
            .await
            .unwrap();
        assert_eq!(preferences::get_preferences(db.pool(), uid).await.unwrap(), prefs);
        let bad = UserPreferences {
            complexity_preference: Some("extreme".into()),
            ..Default::default()
        };
        assert!(matches!(
            preferences::upsert_preferences(db.pool(), uid, &bad).await,
            Err(StoreError::Invalid { .. })
        ));
        assert_eq!(
            preferences::get_preferences(db.pool(), uid).await.unwrap(),
            prefs,
            "a rejected write changed nothing"
        );
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM auth.user_preferences")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(rows, 1);
    }
}

mod api_keys {
    use bp_store::StoreError;
    use bp_store::api_keys::{self, ApiKeyUse, NewApiKey};
    use bp_store::users::{self, NewUser};
    use bp_testkit::TestDb;
    use chrono::{Duration, Utc};
    use uuid::Uuid;

    async fn user(db: &TestDb, name: &str) -> Uuid {
        let new = NewUser {
            role: Some("developer".into()),
            ..super::new_user(name)
        };
        users::create_user(db.pool(), &new).await.unwrap().id
    }

    fn key(user_id: Uuid, hash: &str) -> NewApiKey {
        NewApiKey {
            user_id,
            name: "ci".into(),
            key_hash: hash.into(),
            scopes: vec!["enhance".into(), "history:read".into()],
            rate_limit: None,
            rate_limit_window: None,
            expires_at: None,
        }
    }

    #[tokio::test]
    async fn only_active_unexpired_keys_are_usable_and_revoke_is_owner_only() {
        let db = TestDb::new().await;
        let (alice, bob) = (user(&db, "alice").await, user(&db, "bob").await);
        let k = api_keys::create_api_key(db.pool(), &key(alice, "hash-1"))
            .await
            .unwrap();
        assert_eq!(
            (k.rate_limit, k.rate_limit_window.as_deref()),
            (Some(1000), Some("1h"))
        );
        assert_eq!(
            api_keys::get_usable_api_key(db.pool(), "hash-1")
                .await
                .unwrap()
                .id,
            k.id
        );
        let expired = NewApiKey {
            expires_at: Some(Utc::now() - Duration::minutes(1)),
            ..key(alice, "hash-2")
        };
        api_keys::create_api_key(db.pool(), &expired).await.unwrap();
        assert!(matches!(
            api_keys::get_usable_api_key(db.pool(), "hash-2").await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            api_keys::revoke_api_key(db.pool(), bob, k.id).await,
            Err(StoreError::NotFound { .. })
        ));
        api_keys::revoke_api_key(db.pool(), alice, k.id).await.unwrap();
        assert!(matches!(
            api_keys::get_usable_api_key(db.pool(), "hash-1").await,
            Err(StoreError::NotFound { .. })
        ));
        assert_eq!(api_keys::list_api_keys(db.pool(), alice).await.unwrap().len(), 2);
        assert!(api_keys::list_api_keys(db.pool(), bob).await.unwrap().is_empty());
        let dup = api_keys::create_api_key(db.pool(), &key(bob, "hash-1"))
            .await
            .unwrap_err();
        assert!(matches!(&dup, StoreError::Conflict { constraint } if constraint == "api_keys_key_hash_key"));
        let bad = NewApiKey {
            rate_limit_window: Some("1 week".into()),
            ..key(bob, "hash-3")
        };
        assert!(matches!(
            api_keys::create_api_key(db.pool(), &bad).await,
            Err(StoreError::Invalid { .. })
        ));
    }

    #[tokio::test]
    async fn batched_usage_adds_counts_for_many_keys_in_one_statement() {
        let db = TestDb::new().await;
        let uid = user(&db, "carol").await;
        let a = api_keys::create_api_key(db.pool(), &key(uid, "a")).await.unwrap();
        let b = api_keys::create_api_key(db.pool(), &key(uid, "b")).await.unwrap();
        let now = Utc::now();
        let uses = [
            ApiKeyUse {
                id: a.id,
                count: 3,
                last_used_at: now - Duration::seconds(5),
            },
            ApiKeyUse {
                id: b.id,
                count: 7,
                last_used_at: now,
            },
            ApiKeyUse {
                id: a.id,
                count: 2,
                last_used_at: now,
            },
        ];
        assert_eq!(api_keys::record_api_key_uses(db.pool(), &uses).await.unwrap(), 2);
        api_keys::record_api_key_uses(db.pool(), &uses[..1])
            .await
            .unwrap();
        let a = api_keys::get_usable_api_key(db.pool(), "a").await.unwrap();
        let b = api_keys::get_usable_api_key(db.pool(), "b").await.unwrap();
        assert_eq!((a.usage_count, b.usage_count), (Some(8), Some(7)));
        let last = a.last_used_at.unwrap();
        assert!(
            (last - now).num_milliseconds().abs() < 1,
            "last_used_at is the latest use"
        );
        assert_eq!(api_keys::record_api_key_uses(db.pool(), &[]).await.unwrap(), 0);
    }
}
