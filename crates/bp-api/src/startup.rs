//! Start-up: the router with its middleware over the route table, and
//! serving it over HTTP or HTTPS with graceful shutdown.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tower_http::timeout::TimeoutLayer;

use crate::error::ApiError;
use crate::state::AppState;
use crate::{auth, controllers, headers, limits, observe, openapi, request_id, routes, tls};

/// Largest accepted request body on most routes.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// Largest accepted body of `/enhance/batch` (100 prompts of 16000 characters).
pub const BATCH_BODY_LIMIT_BYTES: usize = 8 * 1024 * 1024;

/// How long one request may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The API router with its middleware; the `/api/v1` routes come from
/// [`routes::table`].
pub fn router(state: AppState) -> Router {
    let table = routes::table();
    let large = table.large.layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT_BYTES));
    let limited = table
        .limited
        .merge(large)
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), limits::limit));
    let limited_in_handler = table
        .limited_in_handler
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::limit_after,
        ));
    let v1 = table
        .open
        .merge(limited)
        .merge(limited_in_handler)
        .route("/openapi.json", get(openapi::serve))
        .route_layer(axum::middleware::from_fn(observe::mark_route));
    Router::new()
        .nest("/api/v1", v1)
        .route("/metrics", get(controllers::health::metrics))
        .fallback(crate::web::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::principal::authenticate,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .layer(cors(&state.cors_origins))
        .layer(axum::middleware::from_fn(request_id::assign))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::secure,
        ))
        .with_state(state)
}

fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use axum::http::{HeaderName, Method};
    let origins: Vec<axum::http::HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            HeaderName::from_static("x-api-key"),
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static(crate::cookies::CSRF_HEADER),
            HeaderName::from_static(crate::cookies::COOKIE_SESSION_HEADER),
        ])
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
        ])
        .allow_credentials(true)
        .max_age(Duration::from_secs(600))
}

/// A handler that panicked answers the JSON 500 of any internal error (the
/// panic is logged, never shown), instead of a dropped connection.
fn panicked(cause: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let message = cause
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| cause.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a handler panicked".to_owned());
    ApiError::Internal(message.into()).into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Serves `router` on `listener` until `shutdown` resolves, lets in-flight
/// requests finish, then writes what the analytics buffer still holds.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    state.recorder.shutdown().await;
    served
}

/// [`serve`] over HTTPS: `listener`'s connections go through `acceptor`'s
/// handshake first (see [`tls`]).
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt as _;
    // `tap_io` only to get axum's ConnectInfo<SocketAddr> for a listener of ours.
    let listener = tls::TlsListener::new(listener, acceptor)?.tap_io(|_| {});
    let app = router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    state.recorder.shutdown().await;
    served
}
