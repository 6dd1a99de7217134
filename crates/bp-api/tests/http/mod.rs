//! The HTTP API in-process: auth, enhance, history, feedback, abuse, and
//! the web application's files.

mod abuse;
mod account;
mod admin;
mod audit;
mod auth;
mod degraded;
mod enhance;
mod history;
mod keys;
mod library;
mod openapi;
mod pooler;
mod web;

use axum::http::{Method, StatusCode};
use bp_testkit::{TestApp, TestResponse};
use serde_json::{Value, json};

/// A password that passes the policy.
pub const PASSWORD: &str = "Str0ng&Secret!";

/// A registered user's tokens.
pub struct Account {
    pub access: String,
    pub id: String,
    pub email: String,
}

impl Account {
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.access)
    }
}

/// `POST /auth/register` with these fields.
pub async fn try_register(
    app: &TestApp,
    email: &str,
    username: &str,
    password: &str,
    confirm: &str,
) -> TestResponse {
    let body =
        json!({ "email": email, "username": username, "password": password, "confirm_password": confirm });
    app.json(Method::POST, "/api/v1/auth/register", &body, &[]).await
}

/// Registers `name` (email `name@example.com`).
pub async fn register(app: &TestApp, name: &str) -> Account {
    let email = format!("{name}@example.com");
    let res = try_register(app, &email, name, PASSWORD, PASSWORD).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.json);
    Account {
        access: res.json["access_token"].as_str().unwrap_or_default().to_owned(),
        id: res.json["user"]["id"].as_str().unwrap_or_default().to_owned(),
        email,
    }
}

/// `POST /auth/login`.
pub async fn login(app: &TestApp, login: &str, password: &str) -> TestResponse {
    app.json(
        Method::POST,
        "/api/v1/auth/login",
        &json!({ "email_or_username": login, "password": password }),
        &[],
    )
    .await
}

/// `method path` with a JSON body as `who`.
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    body: &Value,
    who: Option<&Account>,
) -> TestResponse {
    let bearer = who.map(Account::bearer);
    let headers: Vec<(&str, &str)> = bearer.iter().map(|b| ("authorization", b.as_str())).collect();
    if body.is_null() {
        app.request(method, path, &headers).await
    } else {
        app.json(method, path, body, &headers).await
    }
}

/// `GET path` as `who`.
pub async fn get(app: &TestApp, path: &str, who: Option<&Account>) -> TestResponse {
    call(app, Method::GET, path, &Value::Null, who).await
}

/// Rows in a table of the app's database.
pub async fn count(app: &TestApp, table: &str) -> i64 {
    let pool = app.db().map(|d| d.pool().clone());
    let Some(pool) = pool else { return -1 };
    // `table` is a test constant, never input.
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&pool)
        .await
        .unwrap_or(-1)
}

/// Gives the account `role` in the database and signs in again (the role
/// is in the token).
pub async fn with_role(app: &TestApp, mut account: Account, role: &str) -> Account {
    sqlx::query("UPDATE auth.users SET role = $1 WHERE id = $2::uuid")
        .bind(role)
        .bind(&account.id)
        .execute(app.db().unwrap().pool())
        .await
        .unwrap();
    let res = login(app, &account.email, PASSWORD).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    account.access = res.json["access_token"].as_str().unwrap_or_default().to_owned();
    account
}

/// Enhances `text` as `who`; returns the history id.
pub async fn enhance(app: &TestApp, text: &str, who: Option<&Account>) -> String {
    let res = call(
        app,
        Method::POST,
        "/api/v1/enhance",
        &json!({ "text": text }),
        who,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    res.json["id"].as_str().unwrap_or_default().to_owned()
}
