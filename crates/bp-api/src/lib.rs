//! The BetterPrompts HTTP API (see `shared/api.md` for the contract):
//! [`router`] builds the axum router over an [`AppState`]; [`serve`] runs it
//! with graceful shutdown and drains the analytics buffer. All paths are
//! under `/api/v1` (Prometheus metrics at `/metrics`); unknown routes and
//! wrong methods answer JSON 404/405. [`routes`] declares every endpoint
//! once; the router and the OpenAPI document ([`openapi`]) both come from it.
//!
//! Middleware, outermost first: security headers ([`headers`]), request id and access log, CORS, metrics and
//! `analytics.api_metrics` capture, request timeout, body size limit,
//! authentication; rate limiting on the enhance, analyze and auth routes.

pub mod audit;
pub mod auth;
pub mod controllers;
pub mod cookies;
pub mod error;
pub mod extract;
pub mod headers;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod observe;
pub mod openapi;
pub mod recorder;
pub mod request_id;
pub mod routes;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use bp_cache::Cache;
use bp_config::{ServerConfig, TierLimits};
use bp_store::Db;
use tower_http::timeout::TimeoutLayer;

pub use error::ApiError;

use crate::auth::JwtKeys;
use bp_service::EnhanceService;

/// How the API authenticates.
#[derive(Debug)]
pub struct AuthSettings {
    /// Access-token keys.
    pub keys: JwtKeys,
    /// bcrypt cost of new hashes.
    pub bcrypt_cost: u32,
    /// Cookies carry `Secure`.
    pub cookie_secure: bool,
    /// A hash verified against when the account does not exist (equal timing).
    pub dummy_hash: String,
}

/// What the API needs besides the data platform.
#[derive(Debug)]
pub struct ApiConfig {
    /// Access-token keys.
    pub keys: JwtKeys,
    /// bcrypt cost (12 in production).
    pub bcrypt_cost: u32,
    /// Cookies carry `Secure`.
    pub cookie_secure: bool,
    /// CORS origins.
    pub cors_origins: Vec<String>,
    /// Trust `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// Rate limits per tier.
    pub tiers: TierLimits,
    /// Where verification mail goes.
    pub outbox: mail::Outbox,
}

impl ApiConfig {
    /// From the server settings, with the resolved signing keys.
    pub fn from_settings(server: &ServerConfig, keys: JwtKeys, outbox: mail::Outbox) -> Self {
        Self {
            keys,
            bcrypt_cost: server.bcrypt_cost,
            cookie_secure: server.cookie_secure,
            cors_origins: server.cors_origins.clone(),
            trust_proxy: server.trust_proxy,
            tiers: server.rate_limits,
            outbox,
        }
    }
}

/// Everything a handler needs.
#[derive(Debug)]
pub struct App {
    /// The PostgreSQL pools (primary and optional read replica).
    pub db: Db,
    /// The Redis handle.
    pub cache: Cache,
    /// The enhancement engine; `None` when it could not start (the database
    /// was down), in which case engine routes answer 503.
    pub service: Option<Arc<EnhanceService>>,
    /// Authentication settings.
    pub auth: AuthSettings,
    /// Rate limits.
    pub limits: limits::Limits,
    /// Trust `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// CORS origins.
    pub cors_origins: Vec<String>,
    /// Prometheus counters.
    pub metrics: metrics::Metrics,
    /// The analytics buffer.
    pub recorder: recorder::Recorder,
    /// Outgoing mail.
    pub outbox: mail::Outbox,
}

impl App {
    /// Builds the app (spawns the analytics writer: call inside a runtime).
    pub async fn new(
        db: Db,
        cache: Cache,
        service: Option<Arc<EnhanceService>>,
        config: ApiConfig,
    ) -> Result<Self, ApiError> {
        let dummy_hash = auth::password::hash("not-a-real-password-Aa1!", config.bcrypt_cost).await?;
        Ok(Self {
            recorder: recorder::Recorder::spawn(db.clone()),
            db,
            cache,
            service,
            auth: AuthSettings {
                keys: config.keys,
                bcrypt_cost: config.bcrypt_cost,
                cookie_secure: config.cookie_secure,
                dummy_hash,
            },
            limits: limits::Limits { tiers: config.tiers },
            trust_proxy: config.trust_proxy,
            cors_origins: config.cors_origins,
            metrics: metrics::Metrics::default(),
            outbox: config.outbox,
        })
    }

    /// The engine, or 503 when it is not running.
    pub fn service(&self) -> Result<&Arc<EnhanceService>, ApiError> {
        self.service
            .as_ref()
            .ok_or_else(|| ApiError::Unavailable("enhancement engine unavailable".into()))
    }
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
    let batch = table
        .batch
        .router
        .layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT_BYTES));
    let limited = table
        .limited
        .router
        .merge(batch)
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), limits::limit));
    let v1 = table
        .open
        .router
        .merge(limited)
        .route("/openapi.json", get(openapi::serve))
        .route_layer(axum::middleware::from_fn(observe::mark_route));
    Router::new()
        .nest("/api/v1", v1)
        .route("/metrics", get(controllers::health::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::principal::authenticate,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
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

async fn not_found() -> ApiError {
    ApiError::NotFound
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
