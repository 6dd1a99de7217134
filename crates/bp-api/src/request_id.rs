//! `X-Request-ID`: a sane incoming id (<= 128 chars of `[A-Za-z0-9-_.]`) is
//! kept, anything else is replaced by a UUID; the id is echoed on every
//! response and carried by the request's tracing span, which also writes
//! one structured access-log line per request.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header name.
pub const X_REQUEST_ID: &str = "x-request-id";

/// The request's id, available to handlers as an extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// True for ids we accept from clients.
pub fn is_sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Middleware: assigns the id, logs the request, echoes the header.
pub async fn assign(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane(v))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    // The path only: query strings may carry tokens.
    let span =
        tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let started = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "served"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::is_sane;

    #[test]
    fn only_short_plain_tokens_are_accepted() {
        assert!(is_sane("abc-123_x.y"));
        assert!(!is_sane(""));
        assert!(!is_sane("has space"));
        assert!(!is_sane("<script>"));
        assert!(!is_sane(&"a".repeat(129)));
    }
}
