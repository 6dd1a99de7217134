//! The audit trail: each security-relevant action writes exactly one
//! `auth.audit_log` row naming who, what, which row, from where (the
//! address stored encrypted) and the outcome.

use axum::http::{Method, StatusCode};
use bp_testkit::TestApp;
use serde_json::json;

use super::{PASSWORD, call, login, register, with_role};

/// `(actor_user_id, target_id, outcome, ip_address as stored)` of every row
/// with `action`, oldest first.
async fn rows(
    app: &TestApp,
    action: &str,
) -> Vec<(Option<uuid::Uuid>, Option<String>, String, Option<String>)> {
    sqlx::query_as(
        "SELECT actor_user_id, target_id, outcome, ip_address FROM auth.audit_log
         WHERE action = $1 ORDER BY occurred_at, id",
    )
    .bind(action)
    .fetch_all(app.db().unwrap().pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn logins_lockouts_refreshes_reuse_password_changes_and_exports_each_write_one_row() {
    let app = TestApp::init().await;
    let ada = register(&app, "audita").await;
    let ada_id: uuid::Uuid = ada.id.parse().unwrap();
    let forwarded = [("user-agent", "AuditProbe/2")];

    // From a known address (what the server's listener records per connection).
    let body = json!({ "email_or_username": "audita", "password": PASSWORD });
    let mut request = axum::http::Request::post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let from: std::net::SocketAddr = "198.51.100.23:40000".parse().unwrap();
    request.extensions_mut().insert(axum::extract::ConnectInfo(from));
    let ok = app.send(request).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.json);
    let logins = rows(&app, "auth.login").await;
    assert_eq!(logins.len(), 1, "{logins:?}");
    let (actor, target, outcome, ip) = &logins[0];
    assert_eq!(
        (*actor, target.as_deref(), outcome.as_str()),
        (Some(ada_id), Some(ada.id.as_str()), "success")
    );
    let ip = ip.as_deref().unwrap_or_default();
    assert!(ip.starts_with("enc:v1:"), "the address is stored encrypted: {ip}");
    assert_eq!(
        bp_testkit::test_keyring("").open(ip).as_deref(),
        Ok("198.51.100.23")
    );

    let unknown = login(&app, "nobody-here", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let logins = rows(&app, "auth.login").await;
    assert_eq!(logins.len(), 2);
    assert_eq!((logins[1].0, logins[1].2.as_str()), (None, "failure"));

    // Five bad passwords: five failures and one lockout; then a denied login.
    for _ in 0..5 {
        let bad = login(&app, "audita", "Wrong&Password1").await;
        assert!(bad.status.is_client_error());
    }
    let logins = rows(&app, "auth.login").await;
    assert_eq!(
        logins
            .iter()
            .filter(|r| r.2 == "failure" && r.0 == Some(ada_id))
            .count(),
        5
    );
    assert_eq!(rows(&app, "auth.lockout").await.len(), 1);
    let locked = login(&app, "audita", PASSWORD).await;
    assert_eq!(locked.status, StatusCode::FORBIDDEN, "{}", locked.json);
    let logins = rows(&app, "auth.login").await;
    assert_eq!(logins.last().map(|r| r.2.as_str()), Some("denied"));
    let before = logins.len();

    // Refresh, then reuse of the spent token.
    let refresh = ok.json["refresh_token"].as_str().unwrap().to_owned();
    let body = json!({ "refresh_token": refresh });
    let rotated = app
        .json(Method::POST, "/api/v1/auth/refresh", &body, &forwarded)
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.json);
    assert_eq!(rows(&app, "auth.refresh").await.len(), 1);
    let reused = app.json(Method::POST, "/api/v1/auth/refresh", &body, &[]).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    let reuse = rows(&app, "auth.refresh_reuse").await;
    assert_eq!(reuse.len(), 1);
    assert_eq!((reuse[0].0, reuse[0].2.as_str()), (Some(ada_id), "denied"));
    assert_eq!(
        rows(&app, "auth.login").await.len(),
        before,
        "no stray login rows"
    );

    // Password change: a wrong current password, then a right one.
    let bob = register(&app, "auditb").await;
    let change = |current: &'static str| json!({ "current_password": current, "new_password": "N3w&Password!!", "confirm_password": "N3w&Password!!" });
    let res = call(
        &app,
        Method::POST,
        "/api/v1/auth/change-password",
        &change("Nope&Nope123"),
        Some(&bob),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = call(
        &app,
        Method::POST,
        "/api/v1/auth/change-password",
        &change(PASSWORD),
        Some(&bob),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    let changes = rows(&app, "auth.password_change").await;
    let outcomes: Vec<&str> = changes.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(outcomes, ["failure", "success"]);

    // A data export.
    let res = app
        .request(
            Method::GET,
            "/api/v1/history/export?format=csv",
            &[("authorization", &bob.bearer())],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let exports = rows(&app, "history.export").await;
    assert_eq!(exports.len(), 1);
    assert_eq!(exports[0].1.as_deref(), Some(bob.id.as_str()));

    // An admin reading another user's account, seen in the audit list.
    let admin = with_role(&app, register(&app, "auditadmin").await, "admin").await;
    let res = call(
        &app,
        Method::GET,
        &format!("/api/v1/admin/users/{}", bob.id),
        &json!(null),
        Some(&admin),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    let views = rows(&app, "admin.user.view").await;
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].1.as_deref(), Some(bob.id.as_str()));
    let listed = call(
        &app,
        Method::GET,
        "/api/v1/admin/audit?action=auth.lockout",
        &json!(null),
        Some(&admin),
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);
    assert!(listed.text.contains("auth.lockout"), "{}", listed.json);
}
