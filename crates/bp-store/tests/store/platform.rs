//! Pool behaviour (stats, read routing, a real PostgreSQL restart under the
//! pool) and the injection sweep over every text input.

use std::time::{Duration, Instant};

use bp_store::analytics::{self, NewActivity, NewApiMetric};
use bp_store::history::{self, HistoryFilter, HistorySort, NewPromptHistory};
use bp_store::intent_patterns::{self, NewIntentPattern};
use bp_store::library::{self, CollectionFields, NewSavedPrompt};
use bp_store::sessions::{self, NewSession};
use bp_store::templates::{self, NewTemplate};
use bp_store::users;
use bp_store::{Db, PageRequest, PoolSettings, StoreError};
use bp_testkit::TestDb;
use chrono::Utc;

async fn poll<F: FnMut() -> bool>(what: &str, mut done: F) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_stats_count_idle_in_use_and_waiting_callers() {
    let test_db = TestDb::new().await;
    let settings = PoolSettings {
        max_connections: 2,
        ..PoolSettings::small()
    };
    let pool = bp_store::pool::connect_with(test_db.connect_options(), &settings)
        .await
        .unwrap();
    let db = Db::new(pool, None);
    let a = db.acquire().await.unwrap();
    let b = db.acquire().await.unwrap();
    let stats = db.stats();
    assert_eq!((stats.size, stats.in_use, stats.max, stats.waiting), (2, 2, 2, 0));
    let waiter = {
        let db = db.clone();
        tokio::spawn(async move { db.acquire().await.map(|_| ()) })
    };
    poll("a waiting caller", || db.stats().waiting == 1).await;
    let gives_up = {
        let db = db.clone();
        tokio::spawn(async move { db.acquire().await.map(|_| ()) })
    };
    poll("a second waiting caller", || db.stats().waiting == 2).await;
    gives_up.abort();
    poll("the caller that gave up to stop counting", || {
        db.stats().waiting == 1
    })
    .await;
    drop(a);
    waiter.await.unwrap().unwrap();
    assert_eq!(db.stats().waiting, 0);
    drop(b);
    poll("connections to return", || db.stats().idle == 2).await;
    db.ping(Duration::from_secs(5)).await.unwrap();
    db.close().await;
}

#[tokio::test]
async fn reads_go_to_the_replica_when_one_is_configured() {
    // Two databases stand in for primary and replica: a row only the
    // "replica" has is seen through read() and not through pool().
    let primary = TestDb::new().await;
    let replica = TestDb::new().await;
    let only_there = super::user_id(&replica, "replicated").await;
    let db = Db::new(primary.pool().clone(), Some(replica.pool().clone()));
    assert!(db.has_replica());
    assert!(users::get_user_by_id(db.read(), only_there).await.is_ok());
    assert!(matches!(
        users::get_user_by_id(db.pool(), only_there).await,
        Err(StoreError::NotFound { .. })
    ));
    let single = Db::new(primary.pool().clone(), None);
    assert!(matches!(
        users::get_user_by_id(single.read(), only_there).await,
        Err(StoreError::NotFound { .. })
    ));
}

/// Stops and purges an infra instance even when the test fails.
struct InstanceGuard(bp_infra::Infra);

impl Drop for InstanceGuard {
    fn drop(&mut self) {
        let _ = self.0.down(true);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_reconnects_by_itself_after_postgres_restarts() {
    // An instance of its own: restarting the shared test server would break
    // the tests running beside this one.
    let home = std::env::var_os("BP_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.bp"));
    let infra = bp_infra::Infra::new(home, format!("store-restart-{}", std::process::id())).ephemeral(true);
    let guard = InstanceGuard(infra.clone());
    infra.up(&|_| {}).await.unwrap();
    let url = infra.endpoints().unwrap().unwrap().database_url;
    let settings = PoolSettings {
        min_connections: 2,
        ..PoolSettings::small()
    };
    let db = Db::new(bp_store::connect(url.expose(), &settings).await.unwrap(), None);
    let started = |db: Db| async move {
        sqlx::query_scalar::<_, chrono::DateTime<Utc>>("SELECT pg_postmaster_start_time()")
            .fetch_one(db.pool())
            .await
    };
    let before = started(db.clone()).await.unwrap();

    infra.down(false).unwrap();
    let err = bp_store::health::ping(db.primary()).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable(_)),
        "a stopped server is Unavailable, typed: {err:?}"
    );
    infra.up(&|_| {}).await.unwrap();

    // The same pool, no restart of this process: the next calls succeed.
    for _ in 0..5 {
        db.ping(Duration::from_secs(10)).await.unwrap();
    }
    let after = started(db.clone()).await.unwrap();
    assert!(after > before, "the server really restarted");
    db.close().await;
    drop(guard);
}

const PAYLOADS: &[&str] = &[
    "'",
    "\"",
    "'; DROP TABLE prompts.history; --",
    "' OR 1=1 --",
    "Robert'); DROP TABLE auth.users;--",
    "1; DELETE FROM auth.users WHERE '1'='1",
    "$1 $2 ::text E'\\x00'",
    "\\'; SELECT pg_sleep(10); --",
    "%_\\%",
    "</script><script>alert(1)</script>",
    "ünïcødé 🚀 \u{202e}",
];

#[tokio::test]
async fn injection_strings_in_every_text_input_are_stored_verbatim_or_rejected() {
    let db = TestDb::new().await;
    let pool = db.pool();
    let alice = super::user_id(&db, "alice").await;
    for (i, p) in PAYLOADS.iter().map(|p| (*p).to_string()).enumerate() {
        // Users: names are free text; email and username have shapes and refuse these.
        let mut u = super::new_user(&format!("inj{i}"));
        u.first_name = Some(p.clone());
        u.last_name = Some(p.clone());
        let user = users::create_user(pool, &u).await.unwrap();
        assert_eq!(user.first_name.as_deref(), Some(p.as_str()));
        let mut bad = super::new_user(&format!("injx{i}"));
        bad.username = p.clone();
        assert!(matches!(
            users::create_user(pool, &bad).await,
            Err(StoreError::Invalid { .. })
        ));
        bad.username = format!("injy{i}");
        bad.email = p.clone();
        assert!(matches!(
            users::create_user(pool, &bad).await,
            Err(StoreError::Invalid { .. })
        ));
        assert!(matches!(
            users::get_user_by_email(pool, &p).await,
            Err(StoreError::NotFound { .. })
        ));

        // Sessions: hashes, user agent.
        let s = sessions::create_session(
            pool,
            &NewSession {
                user_id: user.id,
                token_hash: format!("{p}-t"),
                refresh_token_hash: format!("{p}-r"),
                user_agent: Some(p.clone()),
                ip_address: None,
                expires_at: Utc::now() + chrono::Duration::hours(1),
            },
        )
        .await
        .unwrap();
        assert_eq!(
            sessions::get_session_by_token_hash(pool, &format!("{p}-t"))
                .await
                .unwrap()
                .id,
            s.id
        );

        // History: every text column, then search and feedback.
        let h = history::save_history(
            pool,
            &NewPromptHistory {
                user_id: Some(alice),
                session_id: Some(p.clone()),
                request_id: Some(format!("{p}{i}")),
                original_input: p.clone(),
                enhanced_output: p.clone(),
                model_used: Some(p.chars().take(100).collect()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let back = history::get_history(&mut pool.acquire().await.unwrap(), h.id, alice)
            .await
            .unwrap();
        assert_eq!(
            (back.original_input.as_str(), back.session_id.as_deref()),
            (p.as_str(), Some(p.as_str()))
        );
        let found = history::page_history(
            &mut pool.acquire().await.unwrap(),
            alice,
            &HistoryFilter {
                search: Some(p.clone()),
                ..Default::default()
            },
            HistorySort::default(),
            PageRequest::new(1, 100).unwrap(),
        )
        .await
        .unwrap();
        assert!(
            found.items.iter().any(|x| x.id == h.id),
            "search finds {p:?} literally"
        );
        assert!(
            found
                .items
                .iter()
                .all(|x| x.original_input.contains(p.as_str()) || x.enhanced_output.contains(p.as_str()))
        );
        history::update_feedback(pool, h.id, alice, 3, Some(&p))
            .await
            .unwrap();
        assert!(matches!(
            history::save_history(
                pool,
                &NewPromptHistory {
                    intent: Some(p.clone()),
                    ..Default::default()
                }
            )
            .await,
            Err(StoreError::Invalid { .. })
        ));

        // Templates, intent patterns, library, analytics.
        let t = templates::create_template(
            pool,
            &NewTemplate {
                name: format!("{p} x{i}"),
                description: Some(p.clone()),
                technique: "zero_shot".into(),
                category: Some(p.chars().take(100).collect()),
                template_text: p.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            templates::get_template(pool, t.id).await.unwrap().template_text,
            p
        );
        let ip = intent_patterns::save_intent_pattern(
            pool,
            &NewIntentPattern {
                pattern: p.clone(),
                intent: "conversation".into(),
                source: Some(p.chars().take(50).collect()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(ip.pattern, p);
        intent_patterns::similar_patterns(pool, &p, 5).await.unwrap();
        let sp = library::create_saved_prompt(
            pool,
            &NewSavedPrompt {
                user_id: alice,
                title: p.clone(),
                description: Some(p.clone()),
                tags: vec![p.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            library::get_saved_prompt(pool, sp.id, alice).await.unwrap().tags,
            Some(vec![p.clone()])
        );
        let page = library::list_saved_prompts(
            &mut pool.acquire().await.unwrap(),
            alice,
            Some(&p),
            PageRequest::new(1, 100).unwrap(),
        )
        .await
        .unwrap();
        assert!(page.items.iter().any(|x| x.id == sp.id));
        assert!(matches!(
            library::view_shared_prompt(pool, &p).await,
            Err(StoreError::NotFound { .. })
        ));
        let c = library::create_collection(
            pool,
            alice,
            &CollectionFields {
                name: Some(p.clone()),
                description: Some(p.clone()),
                icon: Some(p.chars().take(50).collect()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(c.name, p);
        analytics::record_activities(
            pool,
            &[NewActivity {
                user_id: alice,
                activity_type: p.chars().take(100).collect(),
                user_agent: Some(p.clone()),
                ..Default::default()
            }],
        )
        .await
        .unwrap();
        analytics::record_api_metrics(
            pool,
            &[NewApiMetric {
                endpoint: p.clone(),
                method: "GET".into(),
                error_message: Some(p.clone()),
                ..Default::default()
            }],
        )
        .await
        .unwrap();
    }

    // NUL bytes are refused by the checks; NUL inside JSON by PostgreSQL;
    // a lone surrogate never parses as JSON at all.
    let nul = NewPromptHistory {
        user_id: Some(alice),
        original_input: "a\0b".into(),
        enhanced_output: "x".into(),
        ..Default::default()
    };
    assert!(matches!(
        history::save_history(pool, &nul).await,
        Err(StoreError::Invalid { .. })
    ));
    let json_nul = NewPromptHistory {
        user_id: Some(alice),
        original_input: "ok".into(),
        enhanced_output: "ok".into(),
        metadata: Some(serde_json::json!({"k": "a\u{0}b"})),
        ..Default::default()
    };
    assert!(matches!(
        history::save_history(pool, &json_nul).await,
        Err(StoreError::Invalid { .. })
    ));
    assert!(
        serde_json::from_str::<String>(r#""\ud800""#).is_err(),
        "a lone surrogate is rejected at the JSON boundary"
    );

    // Nothing was executed: every table is there and holds what was written.
    let n = PAYLOADS.len() as i64;
    let counts: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM auth.users), (SELECT count(*) FROM prompts.history),
                (SELECT count(*) FROM prompts.saved_prompts), (SELECT count(*) FROM analytics.api_metrics),
                (SELECT count(*) FROM auth.sessions)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(counts, (n + 1, n, n, n, n));
}

#[tokio::test]
async fn statements_over_the_slow_threshold_are_timed_per_statement_text() {
    use tracing_subscriber::layer::SubscriberExt;
    // The process-wide subscriber, as `serve` installs it. A thread-scoped
    // one (set_default) misses events whose callsite another test's thread
    // registered first with no subscriber (tracing caches that interest).
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(bp_store::slow::SlowStatementLayer);
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
    let test_db = TestDb::new().await;
    let settings = PoolSettings {
        slow_statement: Duration::from_millis(20),
        ..PoolSettings::small()
    };
    let pool = bp_store::pool::connect_with(test_db.connect_options(), &settings)
        .await
        .unwrap();
    for _ in 0..2 {
        sqlx::query("SELECT pg_sleep(0.05) /* slow-statement-test */")
            .execute(&pool)
            .await
            .unwrap();
    }
    sqlx::query("SELECT 1 /* fast-statement-test */")
        .execute(&pool)
        .await
        .unwrap();
    let timings = bp_store::slow::drain();
    let slow = timings
        .iter()
        .find(|t| t.sql.contains("slow-statement-test"))
        .unwrap_or_else(|| panic!("not recorded: {timings:?}"));
    assert_eq!(slow.calls, 2);
    assert!(slow.max_us >= 50_000 && slow.total_us >= 100_000, "{slow:?}");
    assert!(
        !timings.iter().any(|t| t.sql.contains("fast-statement-test")),
        "a fast statement was recorded: {timings:?}"
    );
    assert!(
        bp_store::slow::drain()
            .iter()
            .all(|t| !t.sql.contains("slow-statement-test"))
    );
}
