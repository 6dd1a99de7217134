//! Per-request observation: the Prometheus counters and one
//! `analytics.api_metrics` row through the [`crate::recorder::Recorder`]
//! buffer (never a synchronous insert on the request path).

use std::time::Instant;

use axum::body::HttpBody as _;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bp_store::analytics::NewApiMetric;
use uuid::Uuid;

use crate::state::AppState;

/// Response extension: the API key that authenticated the request.
#[derive(Debug, Clone, Copy)]
pub struct ApiKeyUsed(pub Uuid);

/// Response extension: the route pattern that served the request.
#[derive(Debug, Clone)]
pub struct RouteName(pub String);

/// Route middleware (inside the router): passes the matched route pattern out.
pub async fn mark_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteName(route));
    }
    response
}

/// Outer middleware: times the request and records it.
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let request_size = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok());
    let response = next.run(req).await;
    let secs = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    let route = response
        .extensions()
        .get::<RouteName>()
        .map_or("unmatched", |r| r.0.as_str())
        .to_owned();
    state.metrics.request(&route, &method, status, secs);
    if route != "/metrics" {
        state.recorder.metric(NewApiMetric {
            api_key_id: response.extensions().get::<ApiKeyUsed>().map(|k| k.0),
            endpoint: route,
            method,
            status_code: Some(i32::from(status)),
            response_time_ms: Some((secs * 1000.0).round() as i32),
            request_size_bytes: request_size,
            response_size_bytes: response
                .body()
                .size_hint()
                .exact()
                .and_then(|n| i32::try_from(n).ok()),
            error_message: (status >= 500).then(|| format!("HTTP {status}")),
            created_at: Some(chrono::Utc::now()),
        });
    }
    response
}
