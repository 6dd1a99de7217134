//! The HTTP API in-process: auth, enhance, history, feedback, abuse.

mod abuse;
mod auth;
mod enhance;
mod history;
mod keys;

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
