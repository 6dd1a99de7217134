//! The auth cookies: `auth_token` (access token) and `refresh_token`, both
//! HttpOnly and SameSite=Lax, `Secure` when configured; the refresh cookie
//! is sent only to `/api/v1/auth`.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};

/// The access-token cookie.
pub const ACCESS: &str = "auth_token";
/// The refresh-token cookie.
pub const REFRESH: &str = "refresh_token";

/// The value of cookie `name`, if sent.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

/// Sets both cookies.
pub fn set_tokens(
    headers: &mut HeaderMap,
    access: &str,
    access_secs: i64,
    refresh: &str,
    refresh_secs: i64,
    secure: bool,
) {
    for value in [
        cookie(ACCESS, access, "/", access_secs, secure),
        cookie(REFRESH, refresh, "/api/v1/auth", refresh_secs, secure),
    ]
    .into_iter()
    .flatten()
    {
        headers.append(SET_COOKIE, value);
    }
}

/// Expires both cookies.
pub fn clear(headers: &mut HeaderMap, secure: bool) {
    for value in [
        cookie(ACCESS, "", "/", 0, secure),
        cookie(REFRESH, "", "/api/v1/auth", 0, secure),
    ]
    .into_iter()
    .flatten()
    {
        headers.append(SET_COOKIE, value);
    }
}
