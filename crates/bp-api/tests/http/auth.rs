//! Registration, login, lockout, refresh rotation and reuse, logout,
//! profile, password change, email verification.

use axum::http::{Method, StatusCode};
use bp_testkit::TestApp;
use serde_json::json;

use super::{PASSWORD, call, count, login, register, try_register, with_role};

#[tokio::test]
async fn register_login_refresh_and_logout_walk_the_session_lifecycle() {
    let app = TestApp::init().await;
    let alice = register(&app, "alice").await;
    let me = call(&app, Method::GET, "/api/v1/auth/me", &json!(null), Some(&alice)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.json);
    assert_eq!(me.json["email"], "alice@example.com");
    assert!(me.json.get("password_hash").is_none());

    let login = login(&app, "ALICE", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.json);
    assert_eq!(login.json["expires_in"], 900);
    let cookies: Vec<_> = login
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("auth_token=") && c.contains("HttpOnly") && c.contains("SameSite=Lax"))
    );

    // Rotation: the new pair works, the old refresh token is spent.
    let old = login.json["refresh_token"].as_str().unwrap().to_owned();
    let rotated = app
        .json(
            Method::POST,
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": old }),
            &[],
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.json);
    let new_refresh = rotated.json["refresh_token"].as_str().unwrap().to_owned();
    let new_access = rotated.json["access_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, old);
    // Reuse of the spent token revokes the whole family, the new token included.
    let reuse = app
        .json(
            Method::POST,
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": old }),
            &[],
        )
        .await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
    let after = app
        .json(
            Method::POST,
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": new_refresh }),
            &[],
        )
        .await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "family not revoked: {}",
        after.json
    );
    let bearer = format!("Bearer {new_access}");
    let res = app
        .request(Method::GET, "/api/v1/auth/me", &[("authorization", &bearer)])
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "access token of a revoked session still works"
    );

    // Logout ends the registration session too.
    let out = call(
        &app,
        Method::POST,
        "/api/v1/auth/logout",
        &json!(null),
        Some(&alice),
    )
    .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.json);
    let me = call(&app, Method::GET, "/api/v1/auth/me", &json!(null), Some(&alice)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

/// `POST /auth/change-password` as `who`, from `current` to `N3w&Password!x`.
async fn change_password(app: &TestApp, who: &super::Account, current: &str) -> bp_testkit::TestResponse {
    let body = json!({ "current_password": current, "new_password": "N3w&Password!x", "confirm_password": "N3w&Password!x" });
    call(
        app,
        Method::POST,
        "/api/v1/auth/change-password",
        &body,
        Some(who),
    )
    .await
}

/// `GET /auth/me` with a bearer token; the status only.
async fn me_with(app: &TestApp, access: &str) -> StatusCode {
    let bearer = format!("Bearer {access}");
    app.request(Method::GET, "/api/v1/auth/me", &[("authorization", &bearer)])
        .await
        .status
}

/// `POST /auth/refresh`: the new (access, refresh) pair.
async fn refresh(app: &TestApp, refresh_token: &str) -> (String, String) {
    let res = app
        .json(
            Method::POST,
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": refresh_token }),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    (
        res.json["access_token"].as_str().unwrap().to_owned(),
        res.json["refresh_token"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn an_access_token_outlives_a_refresh_until_logout_ends_its_family() {
    let app = TestApp::init().await;
    register(&app, "tabs").await;
    let first = login(&app, "tabs", PASSWORD).await;
    let access1 = first.json["access_token"].as_str().unwrap().to_owned();
    let (access2, refresh2) = refresh(&app, first.json["refresh_token"].as_str().unwrap()).await;
    let (access3, _) = refresh(&app, &refresh2).await;
    // Every access token of the family still works after two normal refreshes.
    for token in [&access1, &access2, &access3] {
        assert_eq!(me_with(&app, token).await, StatusCode::OK);
    }
    // Another login is another family: logout of this one leaves it alone.
    let other = login(&app, "tabs", PASSWORD).await;
    let other_access = other.json["access_token"].as_str().unwrap().to_owned();

    // Logout with the oldest access token (the original auth suite's case).
    let bearer = format!("Bearer {access1}");
    let out = app
        .request(Method::POST, "/api/v1/auth/logout", &[("authorization", &bearer)])
        .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.json);
    for token in [&access1, &access2, &access3] {
        assert_eq!(
            me_with(&app, token).await,
            StatusCode::UNAUTHORIZED,
            "an access token of a logged-out family still works"
        );
    }
    assert_eq!(me_with(&app, &other_access).await, StatusCode::OK);
}

#[tokio::test]
async fn password_change_and_role_change_end_rotated_access_tokens_too() {
    let app = TestApp::init().await;
    let owner = register(&app, "rotor").await;
    let elsewhere = login(&app, "rotor", PASSWORD).await;
    let old_access = elsewhere.json["access_token"].as_str().unwrap().to_owned();
    let (new_access, _) = refresh(&app, elsewhere.json["refresh_token"].as_str().unwrap()).await;
    assert_eq!(me_with(&app, &old_access).await, StatusCode::OK);
    let res = change_password(&app, &owner, PASSWORD).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    for token in [&old_access, &new_access] {
        assert_eq!(me_with(&app, token).await, StatusCode::UNAUTHORIZED);
    }
    // The session that changed the password keeps working.
    assert_eq!(me_with(&app, &owner.access).await, StatusCode::OK);

    // A role change by an admin ends every family of the account.
    let admin = with_role(&app, register(&app, "rotadmin").await, "admin").await;
    let path = format!("/api/v1/admin/users/{}", owner.id);
    let res = call(
        &app,
        Method::PUT,
        &path,
        &json!({ "role": "developer" }),
        Some(&admin),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(me_with(&app, &owner.access).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn registration_rejects_mismatch_weak_passwords_and_duplicates() {
    let app = TestApp::init().await;
    let res = try_register(&app, "a@example.com", "aa", PASSWORD, "other").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.json["error"], "passwords do not match");
    let res = try_register(&app, "a@example.com", "aa", "password1", "password1").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.json["error"].as_str().unwrap().starts_with("password "),
        "{}",
        res.json
    );
    register(&app, "bob").await;
    let res = try_register(&app, "BOB@example.com", "bob2", PASSWORD, PASSWORD).await;
    assert_eq!(
        (res.status, res.json["error"].as_str()),
        (StatusCode::CONFLICT, Some("email already exists"))
    );
    let res = try_register(&app, "b2@example.com", "BOB", PASSWORD, PASSWORD).await;
    assert_eq!(
        (res.status, res.json["error"].as_str()),
        (StatusCode::CONFLICT, Some("username already exists"))
    );
    assert_eq!(count(&app, "auth.users").await, 1);
}

#[tokio::test]
async fn five_failed_logins_lock_the_account_and_unknown_users_get_the_same_401() {
    let app = TestApp::init().await;
    register(&app, "carol").await;
    let attempt = |pw: &'static str| {
        let app = &app;
        async move { login(app, "carol", pw).await }
    };
    for _ in 0..4 {
        let res = attempt("Wrong&Pass1").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.json["error"], "Invalid credentials");
    }
    let res = attempt("Wrong&Pass1").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.json);
    assert!(res.json["locked_until"].is_string());
    // Even the right password is refused while locked.
    let res = attempt(PASSWORD).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = login(&app, "nobody", PASSWORD).await;
    assert_eq!(
        (res.status, res.json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Invalid credentials"))
    );
}

#[tokio::test]
async fn changing_the_password_revokes_other_sessions_and_keeps_this_one() {
    let app = TestApp::init().await;
    let dave = register(&app, "dave").await;
    let other = login(&app, "dave", PASSWORD).await;
    let other_bearer = format!("Bearer {}", other.json["access_token"].as_str().unwrap());
    let res = change_password(&app, &dave, "Wrong&Pass1").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.json);
    let res = change_password(&app, &dave, PASSWORD).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(res.json["revoked_sessions"], 1);
    let res = app
        .request(
            Method::GET,
            "/api/v1/auth/me",
            &[("authorization", &other_bearer)],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = call(&app, Method::GET, "/api/v1/auth/me", &json!(null), Some(&dave)).await;
    assert_eq!(res.status, StatusCode::OK);
    let res = login(&app, "dave", "N3w&Password!x").await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn the_emailed_token_verifies_the_account_once() {
    let app = TestApp::init().await;
    let erin = register(&app, "erin").await;
    let mail = app.state().outbox.sent_to(&erin.email);
    assert_eq!(mail.len(), 1);
    let token = mail[0].body.split_whitespace().nth(4).unwrap().to_owned();
    let res = app
        .json(
            Method::POST,
            "/api/v1/auth/verify-email",
            &json!({ "token": "nope" }),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let res = app
        .json(
            Method::POST,
            "/api/v1/auth/verify-email",
            &json!({ "email": erin.email, "code": token }),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(res.json["user"]["is_verified"], true);
    let res = app
        .json(
            Method::POST,
            "/api/v1/auth/verify-email",
            &json!({ "token": token }),
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "a token verifies once");
    // Resend answers the same for unknown addresses.
    let known = app
        .json(
            Method::POST,
            "/api/v1/auth/resend-verification",
            &json!({ "email": erin.email }),
            &[],
        )
        .await;
    let unknown = app
        .json(
            Method::POST,
            "/api/v1/auth/resend-verification",
            &json!({ "email": "who@example.com" }),
            &[],
        )
        .await;
    assert_eq!((known.status, &known.json), (unknown.status, &unknown.json));
}

#[tokio::test]
async fn profile_updates_and_a_taken_username_is_409() {
    let app = TestApp::init().await;
    let fay = register(&app, "fay").await;
    register(&app, "gus").await;
    let res = call(
        &app,
        Method::PUT,
        "/api/v1/auth/profile",
        &json!({ "first_name": "Fay", "preferences": { "theme": "dark" } }),
        Some(&fay),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    assert_eq!(res.json["first_name"], "Fay");
    let res = call(
        &app,
        Method::PUT,
        "/api/v1/auth/profile",
        &json!({ "username": "GUS" }),
        Some(&fay),
    )
    .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
}

/// The value of cookie `name` among a response's `Set-Cookie` headers.
fn set_cookie(res: &bp_testkit::TestResponse, name: &str) -> Option<String> {
    res.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
}

#[tokio::test]
async fn a_cookie_session_changes_state_only_with_the_csrf_header() {
    let app = TestApp::init().await;
    register(&app, "csrfuser").await;
    let login = login(&app, "csrfuser", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.json);
    let access = set_cookie(&login, "auth_token").expect("the access cookie");
    let csrf = set_cookie(&login, "csrf_token").expect("the CSRF cookie");
    assert!(csrf.len() >= 32, "a random CSRF token: {csrf}");
    let raw = login
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("csrf_token="))
        .unwrap()
        .to_owned();
    // The page must read it: not HttpOnly; and it is never sent cross-site.
    assert!(
        !raw.contains("HttpOnly") && raw.contains("SameSite=Strict"),
        "{raw}"
    );

    let cookies = format!("auth_token={access}; csrf_token={csrf}");
    let body = json!({ "first_name": "Ada" });
    // A read needs no header.
    let me = app
        .request(Method::GET, "/api/v1/auth/me", &[("cookie", &cookies)])
        .await;
    assert_eq!(me.status, StatusCode::OK);
    // A write by cookie without the header, or with a wrong one, is refused
    // and changes nothing.
    for headers in [
        vec![("cookie", cookies.as_str())],
        vec![("cookie", cookies.as_str()), ("x-csrf-token", "not-the-token")],
    ] {
        let refused = app
            .json(Method::PUT, "/api/v1/auth/profile", &body, &headers)
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.json);
        assert!(refused.json["error"].as_str().unwrap().contains("X-CSRF-Token"));
    }
    let unchanged = app
        .request(Method::GET, "/api/v1/auth/me", &[("cookie", &cookies)])
        .await;
    assert_eq!(unchanged.json["first_name"], json!(null));
    // With the header it goes through.
    let done = app
        .json(
            Method::PUT,
            "/api/v1/auth/profile",
            &body,
            &[("cookie", &cookies), ("x-csrf-token", &csrf)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.json);
    assert_eq!(done.json["first_name"], "Ada");
    // A bearer token is no cookie: no CSRF header needed.
    let bearer = format!("Bearer {}", login.json["access_token"].as_str().unwrap());
    let by_header = app
        .json(
            Method::PUT,
            "/api/v1/auth/profile",
            &body,
            &[("authorization", &bearer)],
        )
        .await;
    assert_eq!(by_header.status, StatusCode::OK, "{}", by_header.json);
    // A bad cookie is still the 401 it was, CSRF header or not.
    let stale = app
        .json(
            Method::POST,
            "/api/v1/enhance",
            &json!({ "text": "hello there" }),
            &[("cookie", "auth_token=forged")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED);

    // Refresh by cookie is a write too; the refresh cookie alone is refused.
    let refresh = set_cookie(&login, "refresh_token").expect("the refresh cookie");
    let no_header = app
        .json(
            Method::POST,
            "/api/v1/auth/refresh",
            &json!({}),
            &[("cookie", &format!("refresh_token={refresh}; csrf_token={csrf}"))],
        )
        .await;
    assert_eq!(no_header.status, StatusCode::FORBIDDEN, "{}", no_header.json);
    let rotated = app
        .json(
            Method::POST,
            "/api/v1/auth/refresh",
            &json!({}),
            &[
                ("cookie", &format!("refresh_token={refresh}; csrf_token={csrf}")),
                ("x-csrf-token", &csrf),
            ],
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.json);
    let new_csrf = set_cookie(&rotated, "csrf_token").expect("a new CSRF cookie");
    assert_ne!(new_csrf, csrf);
}

#[tokio::test]
async fn a_cookie_only_session_never_shows_its_tokens_and_signs_out_with_an_expired_access_token() {
    let app = TestApp::init().await;
    register(&app, "cookieonly").await;
    let login = app
        .json(
            Method::POST,
            "/api/v1/auth/login",
            &json!({ "email_or_username": "cookieonly", "password": PASSWORD }),
            &[("x-bp-cookie-session", "1")],
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.json);
    // The body has the account, not the tokens; the cookies have them.
    assert_eq!(login.json["access_token"], "");
    assert_eq!(login.json["refresh_token"], "");
    assert_eq!(login.json["user"]["username"], "cookieonly");
    let access = set_cookie(&login, "auth_token").expect("the access cookie");
    let refresh = set_cookie(&login, "refresh_token").expect("the refresh cookie");
    let csrf = set_cookie(&login, "csrf_token").expect("the CSRF cookie");
    // The access cookie lives as long as the session, so that an expired
    // token inside it is a 401 (and a refresh), never a silent anonymous call.
    let raw_access = login
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("auth_token="))
        .unwrap()
        .to_owned();
    assert!(
        raw_access.contains("Max-Age=2592000") || raw_access.contains("Max-Age=604800"),
        "{raw_access}"
    );

    // A refresh by cookie answers no tokens in the body either.
    let cookies = format!("refresh_token={refresh}; csrf_token={csrf}");
    let rotated = app
        .json(
            Method::POST,
            "/api/v1/auth/refresh",
            &json!({}),
            &[("cookie", &cookies), ("x-csrf-token", &csrf)],
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.json);
    assert_eq!(rotated.json["refresh_token"], "");
    let refresh = set_cookie(&rotated, "refresh_token").unwrap();
    let csrf = set_cookie(&rotated, "csrf_token").unwrap();
    let access_now = set_cookie(&rotated, "auth_token").unwrap();
    assert_ne!(access_now, access);

    // Sign out with a stale access cookie: the refresh cookie names the
    // session, which ends; the cookies are cleared.
    let stale = format!("auth_token=expired.or.forged; refresh_token={refresh}; csrf_token={csrf}");
    let refused = app
        .json(
            Method::POST,
            "/api/v1/auth/logout",
            &json!({}),
            &[("cookie", &stale)],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "without the CSRF header: {}",
        refused.json
    );
    let out = app
        .json(
            Method::POST,
            "/api/v1/auth/logout",
            &json!({}),
            &[("cookie", &stale), ("x-csrf-token", &csrf)],
        )
        .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.json);
    assert!(
        out.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|c| c.starts_with("refresh_token=;") && c.contains("Max-Age=0"))
    );
    let me = app
        .request(
            Method::GET,
            "/api/v1/auth/me",
            &[("cookie", &format!("auth_token={access_now}"))],
        )
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "the session ended");
    let again = app
        .json(
            Method::POST,
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": refresh }),
            &[],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    // Signing out with nothing at all is fine too (idempotent).
    let nothing = app
        .json(Method::POST, "/api/v1/auth/logout", &json!({}), &[])
        .await;
    assert_eq!(nothing.status, StatusCode::OK);
}
