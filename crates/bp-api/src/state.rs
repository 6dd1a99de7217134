//! The application state every handler receives: the data platform
//! handles, the enhancement service, authentication and rate-limit
//! settings, metrics and the analytics buffer.

use std::sync::Arc;

use bp_cache::Cache;
use bp_config::{ServerConfig, TierLimits};
use bp_service::EnhanceService;
use bp_store::Db;

use crate::auth::{self, JwtKeys};
use crate::error::ApiError;
use crate::{limits, mail, metrics, recorder};

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
    /// The web application served at `/`, if built.
    pub web: Option<Arc<crate::web::WebApp>>,
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
            web: None,
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
    /// The web application served at `/`, if built.
    pub web: Option<Arc<crate::web::WebApp>>,
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
            web: config.web,
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
