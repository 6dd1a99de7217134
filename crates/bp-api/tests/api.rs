//! The HTTP API in-process over a real database and Redis (bp-testkit).

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap is a failed test, with its message"
)]

use axum::http::{Method, StatusCode};
use bp_store::PoolSettings;
use bp_testkit::TestApp;

mod http;

#[tokio::test]
async fn health_answers_healthy_with_the_service_name() {
    let app = TestApp::init().await;
    let res = app.get("/api/v1/health").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.json,
        serde_json::json!({ "status": "healthy", "service": "api-gateway" })
    );
}

#[tokio::test]
async fn ready_reports_database_and_redis_ok() {
    let app = TestApp::init().await;
    let res = app.get("/api/v1/ready").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(res.json["status"], "ready");
    assert_eq!(res.json["checks"]["database"], "ok");
    assert_eq!(res.json["checks"]["redis"], "ok");
}

#[tokio::test]
async fn ready_is_503_when_the_database_is_down() {
    // Port 1 on loopback: nothing listens there.
    let pool = bp_store::connect_lazy("postgres://u:p@127.0.0.1:1/x", &PoolSettings::small()).unwrap();
    let app = TestApp::with_pool(pool).await;
    let res = app.get("/api/v1/ready").await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.json["status"], "not ready");
    assert_eq!(res.json["checks"]["database"], "unavailable");
    assert_eq!(res.json["checks"]["redis"], "ok");
    assert!(
        !res.json.to_string().contains("127.0.0.1"),
        "internal detail leaked: {}",
        res.json
    );
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json_404_and_405() {
    let app = TestApp::init().await;
    let res = app.get("/api/v1/no-such-thing").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.json["error"], "not found");
    let res = app.request(Method::POST, "/api/v1/health", &[]).await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.json["error"], "method not allowed");
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_an_unsafe_one_replaced() {
    let app = TestApp::init().await;
    let res = app
        .request(Method::GET, "/api/v1/health", &[("x-request-id", "abc-123.x_y")])
        .await;
    assert_eq!(res.headers["x-request-id"], "abc-123.x_y");
    let res = app
        .request(
            Method::GET,
            "/api/v1/health",
            &[("x-request-id", "bad id <script>")],
        )
        .await;
    let id = res.headers["x-request-id"].to_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "expected a generated UUID, got {id}"
    );
    let res = app.get("/api/v1/nowhere").await;
    assert!(
        res.headers.contains_key("x-request-id"),
        "404s carry a request id too"
    );
}
