//! Admin routes (each audited) and developer analytics.

use axum::http::{Method, StatusCode};
use bp_testkit::TestApp;
use serde_json::json;

use super::{Account, call, enhance, get, register, with_role};

/// Audit rows of `action` with `outcome`.
async fn audited(app: &TestApp, action: &str, outcome: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM auth.audit_log WHERE action = $1 AND outcome = $2")
        .bind(action)
        .bind(outcome)
        .fetch_one(app.db().unwrap().pool())
        .await
        .unwrap()
}

async fn admin(app: &TestApp) -> Account {
    let account = register(app, "root").await;
    with_role(app, account, "admin").await
}

#[tokio::test]
async fn only_admins_reach_admin_routes_and_every_attempt_is_audited() {
    let app = TestApp::init().await;
    let root = admin(&app).await;
    let user = register(&app, "plain").await;
    for (method, path, action) in [
        (Method::GET, "/api/v1/admin/users", "admin.users.list"),
        (Method::GET, "/api/v1/admin/metrics", "admin.metrics.view"),
        (Method::POST, "/api/v1/admin/cache/clear", "admin.cache.clear"),
        (Method::GET, "/api/v1/admin/feature-flags", "admin.flags.list"),
    ] {
        let res = call(&app, method.clone(), path, &json!(null), Some(&user)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}: {}", res.json);
        assert_eq!(audited(&app, action, "denied").await, 1, "{path}");
        let res = call(&app, method.clone(), path, &json!(null), None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{path}");
        let res = call(&app, method, path, &json!(null), Some(&root)).await;
        assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.json);
        assert_eq!(audited(&app, action, "success").await, 1, "{path}");
    }
    let row: (Option<uuid::Uuid>, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT actor_user_id, actor_role, request_id FROM auth.audit_log WHERE action = 'admin.metrics.view' AND outcome = 'success'",
    )
    .fetch_one(app.db().unwrap().pool())
    .await
    .unwrap();
    assert_eq!(row.0.map(|u| u.to_string()), Some(root.id.clone()));
    assert_eq!(row.1.as_deref(), Some("admin"));
    assert!(row.2.is_some(), "the request id is audited");

    let res = get(&app, "/api/v1/admin/users?search=pla", Some(&root)).await;
    assert_eq!(res.json["pagination"]["total_records"], 1, "{}", res.json);
    assert!(res.json["data"][0].get("password_hash").is_none());
    let res = get(&app, "/api/v1/admin/users?role=superuser", Some(&root)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let res = get(&app, "/api/v1/admin/metrics", Some(&root)).await;
    assert_eq!(res.json["users"]["total"], 2, "{}", res.json);
    assert!(res.json["database"]["max"].as_u64().is_some());
    assert_eq!(res.json["cache"]["server"]["status"], "up");
    let res = get(&app, "/api/v1/admin/metrics/usage?days=0", Some(&root)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let res = get(&app, "/api/v1/admin/audit?action=admin.users.list", Some(&root)).await;
    assert_eq!(res.json["total"], 3, "{}", res.json);
}

#[tokio::test]
async fn an_admin_changes_roles_and_deactivates_and_the_users_sessions_end() {
    let app = TestApp::init().await;
    let root = admin(&app).await;
    let user = register(&app, "target").await;
    let path = format!("/api/v1/admin/users/{}", user.id);

    let res = call(
        &app,
        Method::PUT,
        &path,
        &json!({ "role": "emperor" }),
        Some(&root),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.json);
    let res = call(&app, Method::PUT, &path, &json!({ "tier": "pro" }), Some(&root)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(res.json["tier"], "pro");
    assert_eq!(res.json["revoked_sessions"], 0, "a tier change ended sessions");
    let res = get(&app, "/api/v1/auth/profile", Some(&user)).await;
    assert_eq!(res.status, StatusCode::OK);

    let res = call(
        &app,
        Method::PUT,
        &path,
        &json!({ "is_active": false }),
        Some(&root),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(res.json["revoked_sessions"], 1);
    let res = get(&app, "/api/v1/auth/profile", Some(&user)).await;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "a deactivated user's token still works"
    );
    assert_eq!(audited(&app, "admin.user.update", "success").await, 2);
    assert_eq!(audited(&app, "admin.user.update", "failure").await, 0);

    let own = format!("/api/v1/admin/users/{}", root.id);
    for body in [json!({ "role": "user" }), json!({ "is_active": false })] {
        let res = call(&app, Method::PUT, &own, &body, Some(&root)).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{body}");
    }
    let res = call(&app, Method::DELETE, &own, &json!(null), Some(&root)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);

    let res = get(&app, &path, Some(&root)).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json["is_active"], false);
    assert_eq!(audited(&app, "admin.user.view", "success").await, 1);
    let res = call(&app, Method::DELETE, &path, &json!(null), Some(&root)).await;
    assert_eq!(res.status, StatusCode::OK);
    let res = get(&app, &path, Some(&root)).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(audited(&app, "admin.user.delete", "success").await, 1);
    assert_eq!(audited(&app, "admin.user.view", "failure").await, 1);
    let res = get(&app, "/api/v1/admin/users/not-a-uuid", Some(&root)).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admins_clear_caches_and_manage_feature_flags() {
    let app = TestApp::init().await;
    let root = admin(&app).await;
    let user = register(&app, "flagged").await;
    assert_eq!(app.get("/api/v1/templates").await.status, StatusCode::OK);
    let cached = || async {
        let key = bp_api::controllers::library::TEMPLATE_LIST_KEY;
        app.cache()
            .fetch::<serde_json::Value>(bp_cache::Namespace::Templates, key)
            .await
            .is_some()
    };
    assert!(cached().await, "the template list was not cached");
    let res = call(
        &app,
        Method::POST,
        "/api/v1/admin/cache/clear",
        &json!({ "namespace": "sessions" }),
        Some(&root),
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::BAD_REQUEST,
        "sessions may not be cleared this way"
    );
    let res = call(
        &app,
        Method::POST,
        "/api/v1/admin/cache/clear",
        &json!({ "namespace": "templates" }),
        Some(&root),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert!(!cached().await, "the template list is still cached");
    let res = get(&app, "/api/v1/auth/profile", Some(&user)).await;
    assert_eq!(res.status, StatusCode::OK, "clearing the cache logged a user out");

    let res = call(
        &app,
        Method::POST,
        &format!("/api/v1/admin/cache/invalidate/{}", user.id),
        &json!(null),
        Some(&root),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    let res = get(&app, "/api/v1/auth/profile", Some(&user)).await;
    assert_eq!(res.status, StatusCode::OK, "sessions re-cache from the database");

    let flag = json!({ "name": "new-editor", "enabled": true, "rollout_percent": 25, "description": "beta" });
    let res = call(
        &app,
        Method::PUT,
        "/api/v1/admin/feature-flags",
        &flag,
        Some(&root),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert!(
        app.cache()
            .get_flag("new-editor")
            .await
            .unwrap()
            .is_some_and(|f| f.rollout_percent == 25)
    );
    for bad in [
        json!({ "name": "Bad Name!", "enabled": true }),
        json!({ "name": "x", "enabled": true, "rollout_percent": 101 }),
        json!({ "name": "x" }),
    ] {
        let res = call(
            &app,
            Method::PUT,
            "/api/v1/admin/feature-flags",
            &bad,
            Some(&root),
        )
        .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}: {}", res.json);
    }
    let res = get(&app, "/api/v1/admin/feature-flags", Some(&root)).await;
    assert_eq!(res.json["total"], 1, "{}", res.json);
    // Deleting twice: the second finds nothing.
    for status in [StatusCode::OK, StatusCode::NOT_FOUND] {
        let flag = "/api/v1/admin/feature-flags/new-editor";
        let res = call(&app, Method::DELETE, flag, &json!(null), Some(&root)).await;
        assert_eq!(res.status, status);
    }
    for action in [
        "admin.cache.clear",
        "admin.cache.invalidate",
        "admin.flags.set",
        "admin.flags.delete",
    ] {
        assert_eq!(audited(&app, action, "success").await, 1, "{action}");
    }
}

#[tokio::test]
async fn developers_see_the_traffic_of_their_own_keys() {
    let app = TestApp::init().await;
    let user = register(&app, "dev-user").await;
    let res = get(&app, "/api/v1/dev/analytics/usage", Some(&user)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let dev = with_role(&app, user, "developer").await;
    let res = call(
        &app,
        Method::POST,
        "/api/v1/dev/api-keys",
        &json!({ "name": "ci" }),
        Some(&dev),
    )
    .await;
    let key = res.json["key"].as_str().unwrap().to_owned();
    for text in ["Summarize the plot of Hamlet", "Translate hello into French"] {
        let res = app
            .json(
                Method::POST,
                "/api/v1/enhance",
                &json!({ "text": text }),
                &[("x-api-key", &key)],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    }
    // Traffic without the key is not the developer's key traffic.
    enhance(&app, "Explain recursion simply", Some(&dev)).await;
    app.state().recorder.flush().await;

    let res = get(&app, "/api/v1/dev/analytics/usage?days=1", Some(&dev)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(res.json["total_requests"], 2, "{}", res.json);
    assert_eq!(res.json["by_endpoint"][0]["endpoint"], "/api/v1/enhance");
    assert_eq!(res.json["api_keys"][0]["name"], "ci");
    let res = get(&app, "/api/v1/dev/analytics/performance", Some(&dev)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(res.json["endpoints"][0]["requests"], 2);
    assert!(
        res.json["endpoints"][0]["p95_response_time_ms"]
            .as_f64()
            .is_some()
    );

    for bad in ["days=0", "days=91", "days=abc"] {
        let res = get(&app, &format!("/api/v1/dev/analytics/usage?{bad}"), Some(&dev)).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let res = get(&app, "/api/v1/dev/analytics/usage?all=true", Some(&dev)).await;
    assert_eq!(
        res.status,
        StatusCode::FORBIDDEN,
        "a developer saw everyone's traffic"
    );
}
