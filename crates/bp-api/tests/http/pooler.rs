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

/// An export is read page by page, each page on a connection of its own
/// released before the rows are sent: four downloads that nobody reads
/// hold none of PgBouncer's three server connections, the app's other
/// requests go on, and each download then delivers every row once,
/// oldest first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_exports_hold_no_server_connection_and_deliver_every_row() {
    let app = TestApp::through_pgbouncer().await;
    let who = register(&app, "exporter").await;
    let user: uuid::Uuid = who.id.parse().unwrap();
    let rows: Vec<bp_store::history::NewPromptHistory> = (0..250)
        .map(|i| bp_store::history::NewPromptHistory {
            user_id: Some(user),
            original_input: format!("prompt {i}"),
            enhanced_output: format!("enhanced {i}"),
            ..Default::default()
        })
        .collect();
    let pool = app.db().unwrap().pool().clone();
    let saved = bp_store::history::save_history_batch(&pool, &rows).await.unwrap();
    // Times spread over the past in an order unlike the ids', and one row
    // without a time (the column allows it): it comes last, once.
    sqlx::query(
        "UPDATE prompts.history SET created_at = now() - make_interval(secs => (abs(hashtext(id::text)) % 100000)) \
         WHERE user_id = $1",
    )
    .bind(user)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE prompts.history SET created_at = NULL WHERE id = $1")
        .bind(saved[7])
        .execute(&pool)
        .await
        .unwrap();

    let mut downloads = Vec::new();
    for _ in 0..4 {
        let request = axum::http::Request::builder()
            .uri("/api/v1/history/export?format=json")
            .header("authorization", who.bearer())
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.send_unread(request).await;
        assert_eq!(response.status(), StatusCode::OK);
        downloads.push(response);
    }
    // Nobody reads the downloads; the app still answers (each of these
    // needs a server connection within the test app's acquire bound).
    for _ in 0..6 {
        let page = get(&app, "/api/v1/history?limit=5", Some(&who)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.json);
    }
    for response in downloads {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let items: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(items.len(), 250, "every row, over three pages");
        let ids: std::collections::HashSet<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 250, "each row once");
        let (untimed, timed) = items.split_last().unwrap();
        assert_eq!(
            untimed["id"],
            saved[7].to_string(),
            "the row without a time comes last"
        );
        assert!(untimed["created_at"].is_null(), "{untimed}");
        let times: Vec<chrono::DateTime<chrono::FixedOffset>> = timed
            .iter()
            .map(|i| chrono::DateTime::parse_from_rfc3339(i["created_at"].as_str().unwrap()).unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");
        assert!(
            times.first() < times.last(),
            "the times differ: the order is tested"
        );
    }
}
