//! The auth cookies: `auth_token` (access token) and `refresh_token`, both
//! HttpOnly and SameSite=Lax, `Secure` when configured; the refresh cookie
//! is sent only to `/api/v1/auth`.
//!
//! With them goes `csrf_token`, a random value the page can read (not
//! HttpOnly, SameSite=Strict): a state-changing request that a cookie
//! authenticates must repeat it in the `X-CSRF-Token` header (the
//! double-submit pattern), which a page of another origin cannot do because
//! it cannot read this origin's cookies.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};

/// The access-token cookie.
pub const ACCESS: &str = "auth_token";
/// The refresh-token cookie.
pub const REFRESH: &str = "refresh_token";
/// The CSRF cookie, repeated by the page in [`CSRF_HEADER`].
pub const CSRF: &str = "csrf_token";
/// The header that must carry the CSRF cookie's value.
pub const CSRF_HEADER: &str = "x-csrf-token";

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

/// The readable CSRF cookie (no HttpOnly: the page must copy it).
fn csrf_cookie(value: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{CSRF}={value}; Path=/; Max-Age={max_age}; SameSite=Strict{secure}"
    ))
    .ok()
}

/// Whether a request that a cookie authenticates carries the CSRF cookie's
/// value in [`CSRF_HEADER`] (compared in constant time).
pub fn csrf_matches(headers: &HeaderMap) -> bool {
    let Some(cookie) = get(headers, CSRF).filter(|c| !c.is_empty()) else {
        return false;
    };
    headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|h| crate::auth::tokens::constant_time_eq(h.trim().as_bytes(), cookie.as_bytes()))
}

/// The request header a cookie-session client (the web page) sends to
/// sign in, register or refresh: the answer's body then carries no token,
/// so no script in the page ever holds one.
pub const COOKIE_SESSION_HEADER: &str = "x-bp-cookie-session";

/// Whether the request asks for a cookie-only session.
pub fn cookie_session(headers: &HeaderMap) -> bool {
    headers.contains_key(COOKIE_SESSION_HEADER)
}

/// Sets both cookies, and a new CSRF cookie. All three live as long as the
/// refresh token: the access token inside its cookie expires on its own
/// (15 minutes) and is then refused with a 401, which tells the page to
/// refresh. (A cookie that vanished with the token would instead make the
/// page's requests silently anonymous.)
pub fn set_tokens(
    headers: &mut HeaderMap,
    access: &str,
    refresh: &str,
    refresh_secs: i64,
    secure: bool,
    csrf: &str,
) {
    for value in [
        cookie(ACCESS, access, "/", refresh_secs, secure),
        cookie(REFRESH, refresh, "/api/v1/auth", refresh_secs, secure),
        csrf_cookie(csrf, refresh_secs, secure),
    ]
    .into_iter()
    .flatten()
    {
        headers.append(SET_COOKIE, value);
    }
}

/// Expires the cookies.
pub fn clear(headers: &mut HeaderMap, secure: bool) {
    for value in [
        cookie(ACCESS, "", "/", 0, secure),
        cookie(REFRESH, "", "/api/v1/auth", 0, secure),
        csrf_cookie("", 0, secure),
    ]
    .into_iter()
    .flatten()
    {
        headers.append(SET_COOKIE, value);
    }
}
