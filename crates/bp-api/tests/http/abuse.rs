//! Bad input and abuse: each gets its documented 4xx and nothing is written.

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bp_testkit::TestApp;
use serde_json::json;

use super::{call, count, register};

#[tokio::test]
async fn malformed_bodies_are_400_413_or_415_and_write_nothing() {
    let app = TestApp::init().await;
    let cases: Vec<(&str, Vec<u8>, StatusCode)> = vec![
        (
            "application/json",
            b"{\"text\": ".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            b"{\"text\": 42}".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        ("application/json", b"{}".to_vec(), StatusCode::BAD_REQUEST),
        (
            "application/json",
            b"{\"text\": \"   \\n\\t \"}".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            b"{\"text\": \"\\ud800 lone surrogate\"}".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            json!({ "text": "x".repeat(16_001) }).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            json!({ "text": "ok", "max_techniques": 0 })
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            json!({ "text": "ok", "prefer_techniques": ["telepathy"] })
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            json!({ "text": "ok", "target_complexity": "extreme" })
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "text/plain",
            b"{\"text\": \"hello\"}".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "application/json",
            json!({ "text": "y".repeat(2 * 1024 * 1024) })
                .to_string()
                .into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (i, (content_type, body, want)) in cases.into_iter().enumerate() {
        let res = app
            .raw(Method::POST, "/api/v1/enhance", content_type, body, &[])
            .await;
        assert_eq!(
            res.status,
            want,
            "case {i}: {}",
            res.text.chars().take(300).collect::<String>()
        );
        assert!(
            res.json["error"].is_string(),
            "case {i}: no JSON error body: {}",
            res.text
        );
    }
    assert_eq!(count(&app, "prompts.history").await, 0);
}

fn forge(header: &serde_json::Value, claims: &serde_json::Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[tokio::test]
async fn expired_forged_and_alg_none_tokens_and_wrong_api_keys_are_401() {
    let app = TestApp::init().await;
    let eve = register(&app, "eve").await;
    let real = eve.access.clone();
    let mut parts = real.split('.');
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    let signature = parts.next().unwrap();
    claims["roles"] = json!(["admin"]);
    let forged = forge(&header, &claims, signature);
    let none = forge(&json!({ "alg": "none", "typ": "JWT" }), &claims, "");
    let mut expired_claims = claims.clone();
    expired_claims["exp"] = json!(1_000_000);
    let expired = forge(&header, &expired_claims, signature);
    for token in [forged, none, expired, "garbage".to_owned(), String::new()] {
        let bearer = format!("Bearer {token}");
        let res = app
            .request(Method::GET, "/api/v1/auth/me", &[("authorization", &bearer)])
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{token}");
    }
    // A bad credential on an optional-auth route is 401, never a silent anonymous request.
    let res = app
        .json(
            Method::POST,
            "/api/v1/enhance",
            &json!({ "text": "hello there" }),
            &[("x-api-key", "bp_wrongwrongwrong")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = app.get("/api/v1/history").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(count(&app, "prompts.history").await, 0);
}

#[tokio::test]
async fn sql_metacharacters_in_fields_and_query_parameters_are_data_or_400() {
    let app = TestApp::init().await;
    let mal = register(&app, "mallory").await;
    let text = "Robert'); DROP TABLE prompts.history; -- explain SQL injection";
    let res = call(
        &app,
        Method::POST,
        "/api/v1/enhance",
        &json!({ "text": text }),
        Some(&mal),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(res.json["original_text"], text);
    for query in [
        "sort_by=created_at;DROP%20TABLE%20auth.users",
        "sort_by=id%20DESC--",
        "sort_direction=desc;%20SELECT%201",
        "intent=x'%20OR%20'1'='1",
        "date_from=2024-01-01'%20OR%201=1",
        "page=-1",
        "limit=1000",
    ] {
        let res = call(
            &app,
            Method::GET,
            &format!("/api/v1/history?{query}"),
            &json!(null),
            Some(&mal),
        )
        .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{query}: {}", res.json);
    }
    let res = call(
        &app,
        Method::GET,
        "/api/v1/history?search=%25'%20OR%201=1%20--",
        &json!(null),
        Some(&mal),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json["data"], json!([]), "a search is a literal substring");
    let res = app
        .json(
            Method::POST,
            "/api/v1/auth/login",
            &json!({ "email_or_username": "' OR '1'='1", "password": "' OR '1'='1" }),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(count(&app, "prompts.history").await, 1);
    assert_eq!(count(&app, "auth.users").await, 1);
}

fn assert_security_headers(res: &bp_testkit::TestResponse, what: &str) {
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ),
    ] {
        assert_eq!(
            res.headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name} on {what}"
        );
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_hsts_only_over_https() {
    let app = TestApp::init().await;
    let ok = app.get("/api/v1/health").await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_security_headers(&ok, "200");
    assert!(
        ok.headers.get("strict-transport-security").is_none(),
        "HSTS over plain HTTP"
    );
    let missing = app.get("/api/v1/no-such-route").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_security_headers(&missing, "404");
    let refused = app.get("/api/v1/auth/me").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_security_headers(&refused, "401");
    assert_eq!(
        refused.headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store")
    );

    // Behind HTTPS (BP_COOKIE_SECURE, or the TLS listener) HSTS is sent too.
    let mut config = bp_testkit::test_config();
    config.cookie_secure = true;
    let secure = bp_api::App::new(
        bp_store::Db::new(app.db().unwrap().pool().clone(), None),
        app.cache().clone(),
        None,
        config,
    )
    .await
    .unwrap();
    let router = bp_api::router(bp_api::AppState(std::sync::Arc::new(secure)));
    let res = tower::ServiceExt::oneshot(
        router,
        axum::http::Request::get("/api/v1/health")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        res.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000; includeSubDomains")
    );
}
