//! Technique effectiveness under concurrency, activity and API metrics with
//! retention, and the daily rollup.

use bp_store::StoreError;
use bp_store::analytics::{self, NewActivity, NewApiMetric, RetainedTable, TechniqueOutcome};
use bp_store::history;
use bp_testkit::TestDb;
use chrono::{Duration, Utc};
use serde_json::json;

fn outcome(score: i32, ms: i32) -> TechniqueOutcome {
    TechniqueOutcome {
        technique: "chain_of_thought".into(),
        intent: "reasoning".into(),
        date: None,
        success: score >= 4,
        feedback_score: Some(score),
        processing_time_ms: Some(ms),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_outcomes_on_one_key_are_counted_exactly_with_the_exact_mean() {
    let db = TestDb::new().await;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let pool = db.pool().clone();
            tokio::spawn(async move {
                analytics::record_technique_outcome(
                    &pool,
                    &outcome(i % 5 + 1, if i < 190 { 10 } else { 1000 }),
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let rows = analytics::technique_effectiveness(db.pool(), 1, 1, Some("reasoning"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!((r.total_count, r.success_count), (200, 80));
    assert_eq!(r.average_feedback, Some(3.0), "ratings 1..=5 forty times each");
    let mean = (190.0 * 10.0 + 10.0 * 1000.0) / 200.0;
    assert_eq!(r.average_processing_time_ms, Some(mean));
    let p95 = r.p95_processing_time_ms.unwrap();
    assert!(
        (10.0..=11.0).contains(&p95),
        "190 of 200 took 10 ms, so p95 is about 10: {p95}"
    );
    let stored: (i32, f64, f64) = sqlx::query_as(
        "SELECT total_count, average_feedback, p95_processing_time_ms FROM analytics.technique_effectiveness",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!((stored.0, stored.1), (200, 3.0));
    assert!((stored.2 - p95).abs() < 1e-9, "the SQL and Rust quantiles agree");
}

#[tokio::test]
async fn effectiveness_queries_respect_days_min_samples_and_validation() {
    let db = TestDb::new().await;
    let today = Utc::now().date_naive();
    for (technique, intent, days_ago, n, score) in [
        ("few_shot", "translation", 0, 3, 5),
        ("few_shot", "translation", 2, 3, 1),
        ("zero_shot", "translation", 0, 1, 5),
        ("role_play", "translation", 10, 5, 5),
    ] {
        for _ in 0..n {
            let o = TechniqueOutcome {
                technique: technique.into(),
                intent: intent.into(),
                date: Some(today - Duration::days(days_ago)),
                ..outcome(score, 5)
            };
            analytics::record_technique_outcome(db.pool(), &o).await.unwrap();
        }
    }
    let week = analytics::technique_effectiveness(db.pool(), 7, 2, None)
        .await
        .unwrap();
    assert_eq!(
        week.len(),
        1,
        "zero_shot has too few samples, role_play is too old: {week:?}"
    );
    assert_eq!((week[0].total_count, week[0].success_rate), (6, 0.5));
    assert_eq!(week[0].average_feedback, Some(3.0));
    let all = analytics::technique_effectiveness(db.pool(), 30, 1, None)
        .await
        .unwrap();
    assert_eq!(
        all[0].technique, "role_play",
        "best success rate, then most uses, first"
    );
    for bad in [
        TechniqueOutcome {
            feedback_score: Some(6),
            ..outcome(5, 1)
        },
        TechniqueOutcome {
            technique: "Chain Of Thought".into(),
            ..outcome(5, 1)
        },
        TechniqueOutcome {
            processing_time_ms: Some(-5),
            ..outcome(5, 1)
        },
    ] {
        assert!(matches!(
            analytics::record_technique_outcome(db.pool(), &bad).await,
            Err(StoreError::Invalid { .. })
        ));
    }
    assert!(
        analytics::technique_effectiveness(db.pool(), 0, 1, None)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn activity_and_metrics_append_in_batches_query_and_expire_in_bounded_batches() {
    let db = TestDb::new().await;
    let alice = super::user_id(&db, "alice").await;
    let now = Utc::now();
    let acts: Vec<_> = (0..25)
        .map(|i| NewActivity {
            user_id: alice,
            activity_type: if i % 5 == 0 {
                "login".into()
            } else {
                "enhance".into()
            },
            activity_data: Some(json!({"n": i})),
            ip_address: Some("2001:db8::1".into()),
            user_agent: Some("'; DROP TABLE analytics.user_activity; --".into()),
            ..Default::default()
        })
        .collect();
    assert_eq!(analytics::record_activities(db.pool(), &acts).await.unwrap(), 25);
    let logins = analytics::list_activity(db.pool(), alice, Some("login"), (None, None), 100)
        .await
        .unwrap();
    assert_eq!(logins.len(), 5);
    assert_eq!(
        logins[0].user_agent.as_deref(),
        Some("'; DROP TABLE analytics.user_activity; --")
    );
    let bad = NewActivity {
        ip_address: Some("not-an-ip".into()),
        ..acts[0].clone()
    };
    let err = analytics::record_activities(db.pool(), &[acts[0].clone(), bad])
        .await
        .unwrap_err();
    assert!(matches!(&err, StoreError::Invalid { field, .. } if field == "rows[1].ip_address"));

    let metrics: Vec<_> = (0..40)
        .map(|i| NewApiMetric {
            endpoint: if i % 4 == 0 {
                "/api/v1/history".into()
            } else {
                "/api/v1/enhance".into()
            },
            method: "POST".into(),
            status_code: Some(if i == 3 { 500 } else { 200 }),
            response_time_ms: Some(i),
            created_at: Some(now - Duration::days(if i < 10 { 40 } else { 0 })),
            ..Default::default()
        })
        .collect();
    assert_eq!(
        analytics::record_api_metrics(db.pool(), &metrics).await.unwrap(),
        40
    );
    let summary = analytics::api_metrics_summary(
        db.pool(),
        now - Duration::days(60),
        now + Duration::hours(1),
        None,
    )
    .await
    .unwrap();
    let enhance = summary.iter().find(|e| e.endpoint == "/api/v1/enhance").unwrap();
    assert_eq!((enhance.requests, enhance.errors), (30, 1));
    assert!(matches!(
        analytics::record_api_metrics(
            db.pool(),
            &[NewApiMetric {
                status_code: Some(42),
                ..metrics[0].clone()
            }]
        )
        .await,
        Err(StoreError::Invalid { .. })
    ));

    sqlx::query("UPDATE analytics.user_activity SET created_at = now() - interval '100 days' WHERE activity_type = 'enhance'")
        .execute(db.pool())
        .await
        .unwrap();
    let cutoff = now - Duration::days(30);
    assert_eq!(
        analytics::delete_older_than(db.pool(), RetainedTable::UserActivity, cutoff, 7)
            .await
            .unwrap(),
        20
    );
    assert_eq!(
        analytics::delete_older_than(db.pool(), RetainedTable::ApiMetrics, cutoff, 3)
            .await
            .unwrap(),
        10
    );
    assert_eq!(
        analytics::delete_older_than(db.pool(), RetainedTable::ApiMetrics, cutoff, 3)
            .await
            .unwrap(),
        0
    );
    let left: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM analytics.user_activity), (SELECT count(*) FROM analytics.api_metrics)",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(left, (5, 30));
}

#[tokio::test]
async fn the_daily_rollup_counts_one_utc_day_and_rerunning_replaces_it() {
    let db = TestDb::new().await;
    let alice = super::user_id(&db, "alice").await;
    let bob = super::user_id(&db, "bob").await;
    let day = Utc::now().date_naive() - Duration::days(1);
    let rows = vec![
        super::history::item(
            Some(alice),
            "a",
            "reasoning",
            &["chain_of_thought", "step_by_step"],
        ),
        super::history::item(Some(alice), "b", "reasoning", &["chain_of_thought"]),
        super::history::item(Some(bob), "c", "translation", &[]),
        super::history::item(None, "d", "translation", &["few_shot"]),
        super::history::item(Some(bob), "other day", "translation", &[]),
    ];
    let ids = history::save_history_batch(db.pool(), &rows).await.unwrap();
    for (id, at) in ids.iter().zip(["09:15", "09:45", "17:00", "23:59", "00:00"]) {
        let when = if at == "00:00" {
            format!("{} 00:00:00+00", day + Duration::days(1))
        } else {
            format!("{day} {at}:00+00")
        };
        sqlx::query("UPDATE prompts.history SET created_at = $2::text::timestamptz WHERE id = $1")
            .bind(id)
            .bind(when)
            .execute(db.pool())
            .await
            .unwrap();
    }
    sqlx::query("UPDATE auth.users SET created_at = $2::text::timestamptz WHERE id = $1")
        .bind(bob)
        .bind(format!("{day} 12:00:00+00"))
        .execute(db.pool())
        .await
        .unwrap();
    let at = |h: u32| Some(day.and_hms_opt(h, 0, 0).unwrap().and_utc());
    let metrics: Vec<_> = [(200, 10), (200, 30), (503, 50)]
        .iter()
        .map(|(s, t)| NewApiMetric {
            endpoint: "/api/v1/enhance".into(),
            method: "POST".into(),
            status_code: Some(*s),
            response_time_ms: Some(*t),
            created_at: at(10),
            ..Default::default()
        })
        .collect();
    analytics::record_api_metrics(db.pool(), &metrics).await.unwrap();

    let stats = analytics::rollup_daily_stats(db.pool(), day).await.unwrap();
    assert_eq!(stats.date, day);
    assert_eq!(
        stats.total_enhancements,
        Some(4),
        "midnight belongs to the next day"
    );
    assert_eq!((stats.unique_users, stats.new_users), (Some(2), Some(1)));
    assert_eq!((stats.total_requests, stats.error_count), (Some(3), Some(1)));
    assert_eq!(stats.average_response_time_ms, Some(30.0));
    assert_eq!(
        stats.by_technique,
        Some(json!({"chain_of_thought": 2, "step_by_step": 1, "few_shot": 1}))
    );
    assert_eq!(stats.by_intent, Some(json!({"reasoning": 2, "translation": 2})));
    assert_eq!(stats.by_hour, Some(json!({"9": 2, "17": 1, "23": 1})));

    // A late row, then a re-run: the day is replaced, not duplicated.
    analytics::record_api_metrics(db.pool(), &metrics[..1])
        .await
        .unwrap();
    sqlx::query(
        "UPDATE analytics.api_metrics SET created_at = $1 WHERE created_at > now() - interval '1 minute'",
    )
    .bind(at(11))
    .execute(db.pool())
    .await
    .unwrap();
    let again = analytics::rollup_daily_stats(db.pool(), day).await.unwrap();
    assert_eq!(again.total_requests, Some(4));
    let stored = analytics::daily_stats(db.pool(), 7).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0], again);
    let empty = analytics::rollup_daily_stats(db.pool(), day - Duration::days(30))
        .await
        .unwrap();
    assert_eq!(
        (empty.total_enhancements, empty.average_response_time_ms),
        (Some(0), None)
    );
    assert_eq!(
        analytics::daily_stats(db.pool(), 7).await.unwrap().len(),
        1,
        "the 30-day-old rollup is outside 7 days"
    );
}
