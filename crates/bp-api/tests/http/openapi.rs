//! The OpenAPI document: kept in a snapshot, served as built, and true
//! about authentication for every operation it lists.

use axum::http::{Method, StatusCode};
use bp_testkit::TestApp;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/openapi.snapshot.json");

#[tokio::test]
async fn the_document_matches_its_snapshot() {
    let built = serde_json::to_string_pretty(bp_api::openapi::document()).unwrap() + "\n";
    if std::env::var("BP_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(SNAPSHOT, &built).unwrap();
    }
    let kept = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        kept == built,
        "the OpenAPI document changed; review it and run with BP_UPDATE_SNAPSHOTS=1 to accept ({SNAPSHOT})"
    );
}

#[tokio::test]
async fn every_operation_that_needs_credentials_refuses_a_call_without_them() {
    let app = TestApp::init().await;
    let served = app.get("/api/v1/openapi.json").await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(&served.json, bp_api::openapi::document());
    let paths = served.json["paths"].as_object().unwrap();
    assert!(paths.len() >= 45, "{} paths", paths.len());
    let mut checked = 0;
    for (path, item) in paths {
        for (verb, op) in item.as_object().unwrap() {
            let security = op["security"].as_array().cloned().unwrap_or_default();
            let anonymous_allowed = security.is_empty()
                || security
                    .iter()
                    .any(|s| s.as_object().is_some_and(|o| o.is_empty()));
            if anonymous_allowed {
                continue;
            }
            assert!(
                op["responses"]["401"].is_object(),
                "{verb} {path} does not document 401"
            );
            let concrete = path
                .replace("{id}", "8d0f4a43-3c43-4c38-9d8e-0b5d7f0c8e11")
                .replace("{saved_id}", "8d0f4a43-3c43-4c38-9d8e-0b5d7f0c8e12")
                .replace("{name}", "flag");
            let method = Method::from_bytes(verb.to_uppercase().as_bytes()).unwrap();
            let res = app
                .request(method, &concrete, &[("content-type", "application/json")])
                .await;
            assert_eq!(
                res.status,
                StatusCode::UNAUTHORIZED,
                "{verb} {path} without credentials: {}",
                res.text
            );
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} operations checked");
}

#[test]
fn every_endpoint_declares_its_success_body() {
    let table = bp_api::routes::table();
    let missing: Vec<String> = table
        .endpoints()
        .iter()
        .filter(|e| e.success.is_none())
        .map(|e| format!("{} {}", e.verb.as_str(), e.path))
        .collect();
    assert!(missing.is_empty(), "no success body declared: {missing:?}");
}

#[tokio::test]
async fn every_developer_and_admin_route_refuses_lower_roles_and_anonymous_callers() {
    use bp_api::routes::Access;
    let app = TestApp::init().await;
    let plain = super::register(&app, "plainuser").await;
    let developer = super::with_role(&app, super::register(&app, "devuser").await, "developer").await;
    let table = bp_api::routes::table();
    let mut checked = 0;
    for e in table.endpoints() {
        let refused: Vec<(&str, Option<&super::Account>)> = match e.access {
            Access::Developer => vec![("anonymous", None), ("a user", Some(&plain))],
            Access::Admin => vec![
                ("anonymous", None),
                ("a user", Some(&plain)),
                ("a developer", Some(&developer)),
            ],
            _ => continue,
        };
        let path = e.path.replace("{id}", &plain.id).replace("{name}", "flag");
        let path = format!("/api/v1{path}");
        let method = Method::from_bytes(e.verb.as_str().to_uppercase().as_bytes()).unwrap();
        for (who, account) in refused {
            let res = super::call(&app, method.clone(), &path, &serde_json::json!({}), account).await;
            let expected = if account.is_none() {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(
                res.status,
                expected,
                "{} {path} as {who} was not refused: {}",
                e.verb.as_str(),
                res.json
            );
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} calls checked");
    // Nothing of the plain user was changed by the refused calls.
    let me = super::call(
        &app,
        Method::GET,
        "/api/v1/auth/me",
        &serde_json::json!(null),
        Some(&plain),
    )
    .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.json);
    assert_eq!(me.json["role"], "user");
}
