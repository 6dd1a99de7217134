//! Enhance, analyze, batch, techniques, rerun; the response cache; rate limits; metrics.

use axum::http::{Method, StatusCode};
use bp_testkit::TestApp;
use serde_json::json;

use super::{call, count, register};

const PROMPT: &str = "Write a Python function that parses a CSV file and returns the rows as dictionaries";

#[tokio::test]
async fn anonymous_enhance_answers_the_contract_saves_history_and_caches_the_answer() {
    let app = TestApp::init().await;
    let res = app
        .json(
            Method::POST,
            "/api/v1/enhance",
            &json!({ "text": PROMPT }),
            &[("x-request-id", "req-1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    for field in [
        "id",
        "original_text",
        "enhanced_text",
        "enhanced_prompt",
        "intent",
        "complexity",
        "techniques",
        "techniques_used",
        "confidence",
        "processing_time_ms",
    ] {
        assert!(!res.json[field].is_null(), "missing {field}: {}", res.json);
    }
    assert_eq!(res.json["enhanced"], true);
    assert_eq!(res.json["intent"], "code_generation");
    assert!(
        res.json["metadata"]["model_version"]
            .as_str()
            .unwrap()
            .starts_with("lr-")
    );
    assert!(res.headers.contains_key("x-ratelimit-remaining"));
    let id = res.json["id"].as_str().unwrap().to_owned();
    let pool = app.db().unwrap().pool().clone();
    type Row = (
        Option<uuid::Uuid>,
        Option<String>,
        Option<f64>,
        Option<i32>,
        Option<String>,
    );
    let row: Row = sqlx::query_as(
        "SELECT user_id, request_id, intent_confidence, token_count, model_used FROM prompts.history WHERE id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(row.0, None);
    assert_eq!(row.1.as_deref(), Some("req-1"));
    assert!(row.2.is_some() && row.3.is_some() && row.4.is_some());
    // The same anonymous request again: the cached answer, no new row.
    let again = app
        .json(Method::POST, "/api/v1/enhance", &json!({ "text": PROMPT }), &[])
        .await;
    assert_eq!(again.json["id"], id.as_str());
    assert_eq!(again.json["metadata"]["cached"], true);
    assert_eq!(count(&app, "prompts.history").await, 1);
}

#[tokio::test]
async fn enhance_counts_every_request_once_cached_or_malformed_and_refuses_the_101st() {
    // /enhance makes its rate-limit check in the handler, together with
    // the response-cache lookup; a request the handler refuses before that
    // (a malformed body) is checked after it, so it counts all the same.
    let app = TestApp::init().await;
    let body = json!({ "text": PROMPT });
    let remaining = |res: &bp_testkit::TestResponse| -> u32 {
        res.headers["x-ratelimit-remaining"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let first = app.json(Method::POST, "/api/v1/enhance", &body, &[]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.json);
    assert_eq!(remaining(&first), 99);
    let hit = app.json(Method::POST, "/api/v1/enhance", &body, &[]).await;
    assert_eq!(hit.json["metadata"]["cached"], true);
    assert_eq!(hit.json["id"], first.json["id"]);
    assert_eq!(hit.headers["content-type"], "application/json");
    assert_eq!(remaining(&hit), 98);
    let malformed = app
        .raw(
            Method::POST,
            "/api/v1/enhance",
            "application/json",
            b"{\"text\":".to_vec(),
            &[],
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST, "{}", malformed.text);
    assert_eq!(remaining(&malformed), 97, "a malformed body counts too");
    for i in 0..97 {
        let res = app.json(Method::POST, "/api/v1/enhance", &body, &[]).await;
        assert_eq!(res.status, StatusCode::OK, "request {} of 100", i + 4);
    }
    let refused = app.json(Method::POST, "/api/v1/enhance", &body, &[]).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.json);
    assert_eq!(refused.json["error"], "Rate limit exceeded");
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(remaining(&refused), 0);
    let malformed = app
        .raw(
            Method::POST,
            "/api/v1/enhance",
            "application/json",
            b"{".to_vec(),
            &[],
        )
        .await;
    assert_eq!(
        malformed.status,
        StatusCode::TOO_MANY_REQUESTS,
        "over the limit, malformed or not"
    );
    assert_eq!(
        count(&app, "prompts.history").await,
        1,
        "one row: every other answer was the cached one"
    );
}

#[tokio::test]
async fn preferences_and_exclusions_are_honoured_for_signed_in_users() {
    let app = TestApp::init().await;
    let ann = register(&app, "ann").await;
    let body = json!({ "text": PROMPT, "prefer_techniques": ["role_play"], "exclude_techniques": ["few_shot", "step_by_step"], "max_techniques": 2 });
    let res = call(&app, Method::POST, "/api/v1/enhance", &body, Some(&ann)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    let used: Vec<&str> = res.json["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(used.first(), Some(&"role_play"), "{used:?}");
    assert!(used.len() <= 2 && !used.contains(&"few_shot") && !used.contains(&"step_by_step"));
    let history = call(&app, Method::GET, "/api/v1/history", &json!(null), Some(&ann)).await;
    assert_eq!(history.json["data"][0]["id"], res.json["id"]);
    assert_eq!(history.json["data"][0]["user_id"], ann.id.as_str());
}

#[tokio::test]
async fn batch_needs_credentials_writes_every_row_and_refuses_oversized_batches() {
    let app = TestApp::init().await;
    let res = app
        .json(
            Method::POST,
            "/api/v1/enhance/batch",
            &json!({ "items": [{ "text": PROMPT }] }),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let bo = register(&app, "bob").await;
    let items: Vec<_> = (0..5)
        .map(|i| json!({ "text": format!("{PROMPT} number {i}") }))
        .collect();
    let res = call(
        &app,
        Method::POST,
        "/api/v1/enhance/batch",
        &json!({ "items": items }),
        Some(&bo),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(res.json["results"].as_array().unwrap().len(), 5);
    assert_eq!(count(&app, "prompts.history").await, 5);
    let too_many: Vec<_> = (0..101).map(|_| json!({ "text": "hi" })).collect();
    let res = call(
        &app,
        Method::POST,
        "/api/v1/enhance/batch",
        &json!({ "items": too_many }),
        Some(&bo),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let mixed = json!({ "items": [{ "text": PROMPT }, { "text": "   " }] });
    let res = call(&app, Method::POST, "/api/v1/enhance/batch", &mixed, Some(&bo)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.json["error"].as_str().unwrap().contains("item 1"),
        "{}",
        res.json
    );
    assert_eq!(
        count(&app, "prompts.history").await,
        5,
        "an invalid batch wrote rows"
    );
}

#[tokio::test]
async fn analyze_select_and_the_catalogue_agree_with_the_engine() {
    let app = TestApp::init().await;
    let res = app
        .json(Method::POST, "/api/v1/analyze", &json!({ "text": PROMPT }), &[])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(res.json["intent"], "code_generation");
    assert_eq!(res.json["intent_scores"].as_object().unwrap().len(), 10);
    let res = app.get("/api/v1/techniques").await;
    assert_eq!(res.json["total"], 12);
    let ids: Vec<&str> = res.json["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    let res = app
        .json(
            Method::POST,
            "/api/v1/techniques/select",
            &json!({ "text": PROMPT, "intent": "code_generation", "max_techniques": 2 }),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    let picked = res.json["techniques"].as_array().unwrap();
    assert!(!picked.is_empty() && picked.len() <= 2);
    assert!(picked.iter().all(|t| ids.contains(&t["id"].as_str().unwrap())));
    assert_eq!(res.json["primary_technique"], picked[0]["id"]);
    let res = app
        .json(
            Method::POST,
            "/api/v1/techniques/select",
            &json!({ "text": PROMPT, "intent": "poetry" }),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_anonymous_rate_limit_answers_429_with_retry_after() {
    let app = TestApp::init().await;
    let mut last = None;
    for _ in 0..101 {
        let res = app
            .json(
                Method::POST,
                "/api/v1/auth/verify-email",
                &json!({ "token": "x" }),
                &[],
            )
            .await;
        last = Some(res);
    }
    let res = last.unwrap();
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.json);
    assert_eq!(res.json["error"], "Rate limit exceeded");
    assert!(res.json["retry_after"].as_u64().unwrap() >= 1);
    assert!(res.headers.contains_key("retry-after"));
    assert_eq!(res.headers["x-ratelimit-remaining"], "0");
    let metrics = app.get("/metrics").await;
    assert!(
        metrics.text.contains("bp_rate_limited_total 1\n"),
        "{}",
        metrics.text
    );
}

#[tokio::test]
async fn metrics_and_api_metrics_rows_record_requests() {
    let app = TestApp::init().await;
    app.json(Method::POST, "/api/v1/analyze", &json!({ "text": PROMPT }), &[])
        .await;
    app.get("/api/v1/health").await;
    app.state().recorder.flush().await;
    let pool = app.db().unwrap().pool().clone();
    let endpoints: Vec<String> =
        sqlx::query_scalar("SELECT endpoint FROM analytics.api_metrics ORDER BY endpoint")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(endpoints, ["/api/v1/analyze", "/api/v1/health"]);
    app.cache()
        .set(
            bp_cache::keys::BACKUP_LAST_SUCCESS,
            "1764460800",
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    let res = app.get("/metrics").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.text
            .contains("bp_backup_last_success_timestamp_seconds 1764460800\n"),
        "{}",
        res.text
    );
    assert!(
        res.text.contains(
            r#"bp_http_requests_total{route="/api/v1/analyze",method="POST",status="200",class="2xx"} 1"#
        ),
        "{}",
        res.text
    );
    for family in [
        "bp_http_request_duration_seconds_bucket",
        "bp_db_pool_connections",
        "bp_cache_requests_total",
        "bp_analytics_buffer_depth",
        "bp_engine_duration_seconds_count 1",
        "bp_redis_memory_used_bytes ",
        "bp_redis_maxmemory_bytes ",
    ] {
        assert!(res.text.contains(family), "missing {family}");
    }
}
