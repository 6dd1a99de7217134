//! Developer API keys: shown once, stored hashed, scoped, revocable, counted.

use axum::http::{Method, StatusCode};
use bp_testkit::TestApp;
use serde_json::json;

use super::{Account, call, register, with_role};

async fn developer(app: &TestApp, name: &str) -> Account {
    let account = register(app, name).await;
    let res = call(
        app,
        Method::POST,
        "/api/v1/dev/api-keys",
        &json!({ "name": "k" }),
        Some(&account),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "a plain user made a key");
    with_role(app, account, "developer").await
}

#[tokio::test]
async fn a_key_is_shown_once_works_within_its_scopes_and_stops_when_revoked() {
    let app = TestApp::init().await;
    let dev = developer(&app, "devon").await;
    let body = json!({ "name": "ci", "scopes": ["enhance"], "rate_limit": 50, "rate_limit_window": "1m" });
    let res = call(&app, Method::POST, "/api/v1/dev/api-keys", &body, Some(&dev)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.json);
    let key = res.json["key"].as_str().unwrap().to_owned();
    let id = res.json["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("bp_"));
    let stored: String = sqlx::query_scalar("SELECT key_hash FROM auth.api_keys WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(app.db().unwrap().pool())
        .await
        .unwrap();
    assert_ne!(stored, key, "the key itself is stored");
    let list = call(
        &app,
        Method::GET,
        "/api/v1/dev/api-keys",
        &json!(null),
        Some(&dev),
    )
    .await;
    assert!(!list.text.contains(&key), "the key is listed again");

    let text = json!({ "text": "Translate good morning into Portuguese" });
    let res = app
        .json(Method::POST, "/api/v1/enhance", &text, &[("x-api-key", &key)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(
        res.headers["x-ratelimit-limit"], "50",
        "the key's own limit applies"
    );
    let bearer = format!("Bearer {key}");
    let res = app
        .request(Method::GET, "/api/v1/history", &[("authorization", &bearer)])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "history:read was not granted");
    let res = app
        .request(Method::GET, "/api/v1/auth/me", &[("authorization", &bearer)])
        .await;
    assert_eq!(
        res.status,
        StatusCode::FORBIDDEN,
        "keys are for enhance and history only"
    );
    app.state().recorder.flush().await;
    let uses: i32 = sqlx::query_scalar("SELECT usage_count FROM auth.api_keys WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(app.db().unwrap().pool())
        .await
        .unwrap();
    assert_eq!(uses, 3);

    let res = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/dev/api-keys/{id}"),
        &json!(null),
        Some(&dev),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    let res = app
        .json(Method::POST, "/api/v1/enhance", &text, &[("x-api-key", &key)])
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let bad = json!({ "name": "x", "scopes": ["root"] });
    let res = call(&app, Method::POST, "/api/v1/dev/api-keys", &bad, Some(&dev)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let admin_scope = json!({ "name": "x", "scopes": ["admin"] });
    let res = call(
        &app,
        Method::POST,
        "/api/v1/dev/api-keys",
        &admin_scope,
        Some(&dev),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}
