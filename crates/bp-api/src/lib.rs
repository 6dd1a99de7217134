//! The BetterPrompts HTTP API: [`router`] builds the axum router over an
//! [`AppState`]; [`serve`] runs it with graceful shutdown. All paths are under
//! `/api/v1`; unknown routes and wrong methods answer JSON 404/405.

pub mod controllers;
pub mod error;
pub mod request_id;
pub mod service;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bp_cache::Cache;
use bp_store::Db;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

pub use error::ApiError;

/// Everything a handler needs.
#[derive(Debug)]
pub struct App {
    /// The PostgreSQL pools (primary and optional read replica).
    pub db: Db,
    /// The Redis handle.
    pub cache: Cache,
}

/// Shared state handed to every handler.
#[derive(Debug, Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

/// Largest accepted request body (a 100-item batch of 16000-character prompts fits).
pub const BODY_LIMIT_BYTES: usize = 8 * 1024 * 1024;

/// How long one request may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The API router with its middleware.
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/health", get(controllers::health::health))
        .route("/ready", get(controllers::health::ready));
    Router::new()
        .nest("/api/v1", v1)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets
/// in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
