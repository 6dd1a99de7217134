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

/// The number of audit rows with this action and target.
async fn audited(app: &TestApp, action: &str, target: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM auth.audit_log WHERE action = $1 AND target_id = $2")
        .bind(action)
        .bind(target)
        .fetch_one(app.db().unwrap().pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_rotated_key_has_a_successor_and_stays_valid_only_for_its_grace_period() {
    let app = TestApp::init().await;
    let dev = developer(&app, "rotor").await;
    let body = json!({ "name": "ci", "scopes": ["enhance"], "expires_in_days": 30 });
    let res = call(&app, Method::POST, "/api/v1/dev/api-keys", &body, Some(&dev)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.json);
    let old_key = res.json["key"].as_str().unwrap().to_owned();
    let old_id = res.json["id"].as_str().unwrap().to_owned();
    assert_eq!(audited(&app, "apikey.create", &old_id).await, 1);

    let path = format!("/api/v1/dev/api-keys/{old_id}/rotate");
    let res = call(
        &app,
        Method::POST,
        &path,
        &json!({ "grace_hours": 999 }),
        Some(&dev),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.json);
    let res = call(
        &app,
        Method::POST,
        &path,
        &json!({ "grace_hours": 2 }),
        Some(&dev),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.json);
    let new_key = res.json["key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, old_key);
    assert_eq!(res.json["name"], "ci");
    assert_eq!(res.json["scopes"], json!(["enhance"]));
    assert_eq!(res.json["previous_key_id"], old_id.as_str());
    assert_eq!(audited(&app, "apikey.rotate", &old_id).await, 1);

    let text = json!({ "text": "Summarise the water cycle" });
    for key in [&old_key, &new_key] {
        let res = app
            .json(Method::POST, "/api/v1/enhance", &text, &[("x-api-key", key)])
            .await;
        assert_eq!(
            res.status,
            StatusCode::OK,
            "during the grace period: {}",
            res.json
        );
    }
    // The grace period ends (moved into the past here instead of waiting).
    let pool = app.db().unwrap().pool();
    let until: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT expires_at FROM auth.api_keys WHERE id = $1::uuid")
            .bind(&old_id)
            .fetch_one(pool)
            .await
            .unwrap();
    let minutes = (until - chrono::Utc::now()).num_minutes();
    assert!(
        (110..=120).contains(&minutes),
        "old key valid for {minutes} more minutes"
    );
    sqlx::query("UPDATE auth.api_keys SET expires_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(&old_id)
        .execute(pool)
        .await
        .unwrap();
    let res = app
        .json(Method::POST, "/api/v1/enhance", &text, &[("x-api-key", &old_key)])
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "after the grace period");
    let res = app
        .json(Method::POST, "/api/v1/enhance", &text, &[("x-api-key", &new_key)])
        .await;
    assert_eq!(res.status, StatusCode::OK);

    // An expired key cannot be rotated; another developer's key is not found.
    let res = call(&app, Method::POST, &path, &json!({}), Some(&dev)).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.json);
    let other = developer(&app, "other").await;
    let new_id = sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM auth.api_keys WHERE id <> $1::uuid")
        .bind(&old_id)
        .fetch_one(pool)
        .await
        .unwrap();
    let res = call(
        &app,
        Method::POST,
        &format!("/api/v1/dev/api-keys/{new_id}/rotate"),
        &json!({}),
        Some(&other),
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.json);
}
