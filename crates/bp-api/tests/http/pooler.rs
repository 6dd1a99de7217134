//! The whole API through a real PgBouncer in transaction mode (three
//! server connections shared by the app's eight clients), as `serve` runs with
//! `BP_DB_POOLER=transaction`, acting as `bp_app` under row security:
//! signed-in users enhancing, paging their history, rating, saving
//! favourites and searching at the same time.

use axum::http::{Method, StatusCode};
use bp_testkit::TestApp;
use serde_json::json;

use super::{call, get, register};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_work_concurrently_through_pgbouncer_in_transaction_mode() {
    let app = std::sync::Arc::new(TestApp::through_pgbouncer().await);
    // Readiness pings the database through the pooler too.
    let ready = app.get("/api/v1/ready").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.json);
    let users = futures_util::future::join_all((0..4).map(|u| {
        let app = app.clone();
        async move { register(&app, &format!("pooled{u}")).await }
    }))
    .await;
    let work = users.iter().enumerate().map(|(u, who)| {
        let app = app.clone();
        async move {
            let mut ids = Vec::new();
            for k in 0..3 {
                let text = format!("Explain how tides work to user {u}, question {k}");
                let res = call(
                    &app,
                    Method::POST,
                    "/api/v1/enhance",
                    &json!({ "text": text }),
                    Some(who),
                )
                .await;
                assert_eq!(res.status, StatusCode::OK, "{}", res.json);
                ids.push(res.json["id"].as_str().unwrap().to_owned());
                // Read straight after the write: the new item is there.
                let page = get(&app, "/api/v1/history?limit=10", Some(who)).await;
                assert_eq!(page.status, StatusCode::OK, "{}", page.json);
                assert_eq!(
                    page.json["data"].as_array().unwrap().len(),
                    k + 1,
                    "{}",
                    page.json
                );
            }
            let rated = json!({ "prompt_history_id": ids[0], "rating": 5 });
            let res = call(&app, Method::POST, "/api/v1/feedback", &rated, Some(who)).await;
            assert_eq!(res.status, StatusCode::CREATED, "{}", res.json);
            let fav = call(
                &app,
                Method::PUT,
                &format!("/api/v1/history/{}/favorite", ids[1]),
                &json!(null),
                Some(who),
            )
            .await;
            assert_eq!(fav.json["is_favorite"], true, "{}", fav.json);
            let stats = get(&app, "/api/v1/history/stats", Some(who)).await;
            assert_eq!(stats.status, StatusCode::OK, "{}", stats.json);
            ids
        }
    });
    let all: Vec<Vec<String>> = futures_util::future::join_all(work).await;
    app.state().service().unwrap().embeddings().flush().await;
    let body = json!({ "query": "how tides work", "source_type": "prompt_history" });
    let res = call(&app, Method::POST, "/api/v1/search", &body, Some(&users[0])).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    let hits = res.json["results"].as_array().unwrap();
    assert!(!hits.is_empty(), "{}", res.json);
    assert!(
        hits.iter()
            .all(|h| all[0].contains(&h["source_id"].as_str().unwrap_or_default().to_owned())),
        "only the caller's own prompts: {}",
        res.json
    );
    // Everything landed, read directly on PostgreSQL.
    let pool = app.db().unwrap().pool().clone();
    let (rows, favourites, ratings): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM prompts.history WHERE user_id IS NOT NULL), \
                (SELECT count(*) FROM prompts.history WHERE is_favorite), \
                (SELECT count(*) FROM prompts.history WHERE feedback_score IS NOT NULL)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((rows, favourites, ratings), (12, 4, 4));
}
