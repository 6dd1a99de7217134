//! History paging, ownership, favourites, deletion, export; feedback and effectiveness.

use axum::http::{Method, StatusCode};
use bp_testkit::TestApp;
use serde_json::json;

use super::{call, count, register};

#[tokio::test]
async fn history_pages_filters_and_guards_other_users_items() {
    let app = TestApp::init().await;
    let ann = register(&app, "ann").await;
    let ben = register(&app, "ben").await;
    for i in 0..3 {
        let body = json!({ "text": format!("Explain how photosynthesis works, part {i}") });
        let res = call(&app, Method::POST, "/api/v1/enhance", &body, Some(&ann)).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    }
    let page = call(
        &app,
        Method::GET,
        "/api/v1/history?page=1&limit=2",
        &json!(null),
        Some(&ann),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.json);
    assert_eq!(page.json["data"].as_array().unwrap().len(), 2);
    let p = &page.json["pagination"];
    assert_eq!(
        (
            p["total_records"].as_i64(),
            p["total_pages"].as_i64(),
            p["has_next"].as_bool()
        ),
        (Some(3), Some(2), Some(true))
    );
    let cursor = p["next_cursor"].as_str().unwrap();
    let next = call(
        &app,
        Method::GET,
        &format!("/api/v1/history?limit=2&cursor={cursor}"),
        &json!(null),
        Some(&ann),
    )
    .await;
    assert_eq!(next.json["data"].as_array().unwrap().len(), 1, "{}", next.json);
    let empty = call(
        &app,
        Method::GET,
        "/api/v1/prompts/history",
        &json!(null),
        Some(&ben),
    )
    .await;
    assert_eq!(empty.json["data"], json!([]), "data is never null");

    let id = page.json["data"][0]["id"].as_str().unwrap().to_owned();
    let theirs = call(
        &app,
        Method::GET,
        &format!("/api/v1/history/{id}"),
        &json!(null),
        Some(&ben),
    )
    .await;
    assert_eq!(theirs.status, StatusCode::FORBIDDEN);
    let res = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/history/{id}"),
        &json!(null),
        Some(&ben),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = call(
        &app,
        Method::GET,
        "/api/v1/history/not-a-uuid",
        &json!(null),
        Some(&ann),
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = call(
        &app,
        Method::GET,
        &format!("/api/v1/history/{}", uuid::Uuid::new_v4()),
        &json!(null),
        Some(&ann),
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    let fav = call(
        &app,
        Method::PUT,
        &format!("/api/v1/history/{id}/favorite"),
        &json!(null),
        Some(&ann),
    )
    .await;
    assert_eq!(fav.json["is_favorite"], true, "{}", fav.json);
    let stats = call(
        &app,
        Method::GET,
        "/api/v1/history/stats",
        &json!(null),
        Some(&ann),
    )
    .await;
    assert_eq!(
        (stats.json["total"].as_i64(), stats.json["favorites"].as_i64()),
        (Some(3), Some(1))
    );
    let csv = call(
        &app,
        Method::GET,
        "/api/v1/history/export?format=csv",
        &json!(null),
        Some(&ann),
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.text.starts_with("\"id\",\"created_at\""), "{}", csv.text);
    let ndjson = call(
        &app,
        Method::GET,
        "/api/v1/history/export?format=json",
        &json!(null),
        Some(&ann),
    )
    .await;
    assert_eq!(ndjson.text.lines().count(), 3, "{}", ndjson.text);
    for line in ndjson.text.lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = row["id"].as_str().unwrap();
        assert_eq!(
            csv.text.matches(&format!("\"{id}\"")).count(),
            1,
            "{id} not once in the CSV"
        );
    }
    let res = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/history/{id}"),
        &json!(null),
        Some(&ann),
    )
    .await;
    assert_eq!(res.json["message"], "history item deleted successfully");
    assert_eq!(count(&app, "prompts.history").await, 2);
}

#[tokio::test]
async fn feedback_updates_history_and_effectiveness_once_per_item() {
    let app = TestApp::init().await;
    let cat = register(&app, "cat").await;
    let res = call(
        &app,
        Method::POST,
        "/api/v1/enhance",
        &json!({ "text": "Plan a three day trip to Lisbon with a budget" }),
        Some(&cat),
    )
    .await;
    let id = res.json["id"].as_str().unwrap().to_owned();
    let techniques = res.json["techniques"].as_array().unwrap().len() as i64;
    assert!(techniques > 0);
    let first_technique = res.json["techniques"][0].as_str().unwrap().to_owned();
    let sample_sum = |catalogue: &serde_json::Value| -> i64 {
        catalogue["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["effectiveness"]["sample_size"].as_i64().unwrap())
            .sum()
    };
    // Cached now, with no samples: the feedback below must make it stale.
    let before = app.get("/api/v1/techniques").await;
    assert_eq!(sample_sum(&before.json), 0);
    let body = json!({ "prompt_history_id": id, "rating": 5, "feedback_text": "great" });
    let res = call(&app, Method::POST, "/api/v1/feedback", &body, Some(&cat)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.json);
    // A second rating replaces the first: uses stay, the rating moves.
    let body = json!({ "prompt_history_id": id, "rating": 2 });
    let res = call(&app, Method::POST, "/api/v1/feedback", &body, Some(&cat)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.json);
    let pool = app.db().unwrap().pool().clone();
    let (uses, successes, sum): (i64, i64, f64) = sqlx::query_as(
        "SELECT sum(total_count)::int8, sum(success_count)::int8, sum(feedback_sum) FROM analytics.technique_effectiveness",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((uses, successes, sum), (techniques, 0, 2.0 * techniques as f64));
    let got = call(
        &app,
        Method::GET,
        &format!("/api/v1/feedback/{id}"),
        &json!(null),
        Some(&cat),
    )
    .await;
    assert_eq!(got.json["rating"], 2);
    // The catalogue cache was forgotten: the new figures show at once.
    let after = app.get("/api/v1/techniques").await;
    assert_eq!(sample_sum(&after.json), techniques);
    let eff = call(
        &app,
        Method::POST,
        "/api/v1/feedback/effectiveness",
        &json!({ "technique": first_technique, "period_days": 7 }),
        Some(&cat),
    )
    .await;
    assert_eq!(eff.status, StatusCode::OK, "{}", eff.json);
    assert_eq!(eff.json["sample_size"], 1, "{}", eff.json);
    assert_eq!(eff.json["average_rating"], 2.0);
    assert_eq!(eff.json["positive_ratio"], 0.0);
    assert_eq!(eff.json["period_days"], 7);
    for field in [
        "effectiveness_score",
        "negative_ratio",
        "confidence",
        "last_updated",
    ] {
        assert!(!eff.json[field].is_null(), "missing {field}");
    }
    let bad = json!({ "prompt_history_id": id, "rating": 6 });
    assert_eq!(
        call(&app, Method::POST, "/api/v1/feedback", &bad, Some(&cat))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let dan = register(&app, "dan").await;
    let theirs = json!({ "prompt_history_id": id, "rating": 1 });
    assert_eq!(
        call(&app, Method::POST, "/api/v1/feedback", &theirs, Some(&dan))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

/// Read-your-writes on a real hot standby whose replay is paused: each
/// enhancement is on the very next history page (the user's reads go to
/// the primary until the replica has replayed the write), though the
/// replica does not have it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enhancement_is_on_the_next_history_page_while_the_replica_lags_by_design() {
    use bp_testkit::replica::{CATCH_UP, TestReplica};
    let replica = TestReplica::start().await;
    let app = TestApp::with_replica(&replica).await;
    bp_testkit::eventually(CATCH_UP, "the replica serves reads", || async {
        app.state().db.replica_status().first().is_some_and(|r| r.serving)
    })
    .await;
    let metrics = app.get("/metrics").await;
    assert!(
        metrics.text.contains("bp_db_replica_up{replica=\"0\"} 1"),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains("bp_db_replica_serving{replica=\"0\"} 1"));
    assert!(metrics.text.contains("bp_db_replica_lag_seconds{replica=\"0\"}"));
    let ann = register(&app, "ann").await;
    // The replica has ann (she registered before the pause): her reads may
    // go to it, and do once it has replayed her registration.
    bp_testkit::eventually(CATCH_UP, "the replica replays the registration", || async {
        super::get(&app, "/api/v1/history", Some(&ann)).await.status == StatusCode::OK
    })
    .await;
    replica.pause_replay().await;
    for i in 1..=4_i64 {
        super::enhance(&app, &format!("Explain how tides work, take {i}"), Some(&ann)).await;
        let page = super::get(&app, "/api/v1/history", Some(&ann)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.json);
        assert_eq!(
            page.json["pagination"]["total_records"].as_i64(),
            Some(i),
            "enhancement {i} is on the next page: {}",
            page.json
        );
    }
    // The replica really is behind: it has none of them.
    let db = app.db().unwrap();
    let on_replica = bp_store::pool::lazy(replica.options(db.name()), &bp_store::PoolSettings::small());
    let replicated: i64 = sqlx::query_scalar("SELECT count(*) FROM prompts.history")
        .fetch_one(&on_replica)
        .await
        .unwrap();
    assert_eq!(replicated, 0);
    assert_eq!(count(&app, "prompts.history").await, 4);
    replica.resume_replay().await;
}
