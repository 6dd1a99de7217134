//! Who is calling. The [`authenticate`] middleware reads the credentials of
//! every request (Bearer access token, `auth_token` cookie, or an API key as
//! `Bearer bp_...` / `X-API-Key`) and leaves an [`AuthOutcome`] in the
//! request's extensions; the extractors [`User`] (a session only),
//! [`Caller`] (a session or an API key) and [`MaybeCaller`] (anyone, but a
//! bad credential is still 401) read it.
//!
//! An access token is honoured until it expires while its session family
//! lives: a normal refresh leaves it valid, while logout, a password change,
//! refresh-token reuse, deactivation and a role change end the family and
//! every access token of it at once. The check is one Redis lookup
//! (`session:` namespace), falling back to the database when Redis has no
//! entry or is down; ending a family evicts the user's cached sessions.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use bp_cache::RateLimit;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::tokens::{API_KEY_PREFIX, digest};
use crate::error::ApiError;
use crate::state::AppState;

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq)]
pub enum Via {
    /// An access token of a session.
    Session {
        /// `auth.sessions.id`.
        session_id: Uuid,
    },
    /// An API key.
    ApiKey {
        /// `auth.api_keys.id`.
        key_id: Uuid,
        /// What the key may do.
        scopes: Vec<String>,
        /// The key's own rate limit, when it has one.
        limit: Option<RateLimit>,
    },
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The user (an API key acts for its owner).
    pub user_id: Uuid,
    /// The user's email.
    pub email: String,
    /// `user`, `developer` or `admin`.
    pub role: String,
    /// Rate-limit tier.
    pub tier: String,
    /// Session or API key.
    pub via: Via,
}

impl Principal {
    /// The session id, for a session caller.
    pub fn session_id(&self) -> Option<Uuid> {
        match self.via {
            Via::Session { session_id } => Some(session_id),
            Via::ApiKey { .. } => None,
        }
    }

    /// The API key id, for an API-key caller.
    pub fn api_key_id(&self) -> Option<Uuid> {
        match self.via {
            Via::ApiKey { key_id, .. } => Some(key_id),
            Via::Session { .. } => None,
        }
    }

    /// 403 unless the user has one of `roles`.
    pub fn require_role(&self, roles: &[&str]) -> Result<(), ApiError> {
        if roles.contains(&self.role.as_str()) {
            Ok(())
        } else {
            Err(ApiError::Denied(format!("requires role {}", roles.join(" or "))))
        }
    }

    /// 403 when an API key lacks `scope` (`admin` covers every scope);
    /// a session may do whatever its role allows.
    pub fn require_scope(&self, scope: &str) -> Result<(), ApiError> {
        match &self.via {
            Via::Session { .. } => Ok(()),
            Via::ApiKey { scopes, .. } if scopes.iter().any(|s| s == scope || s == "admin") => Ok(()),
            Via::ApiKey { .. } => Err(ApiError::Denied(format!("API key lacks the `{scope}` scope"))),
        }
    }
}

/// What [`authenticate`] found.
#[derive(Debug, Clone)]
pub enum AuthOutcome {
    /// No credentials.
    Anonymous,
    /// Valid credentials.
    Authenticated(Arc<Principal>),
    /// Credentials that are not valid; the reason is for the log only.
    Failed(&'static str),
    /// Credentials that could not be checked because the database is not
    /// answering: the request is answered 503, never 401, so that a client
    /// does not sign its user out over an outage.
    Unverifiable,
}

/// Why a credential was not accepted.
enum Refusal {
    /// Not valid; the reason is for the log only.
    Invalid(&'static str),
    /// The database that decides could not be asked.
    Unavailable,
}

impl From<&'static str> for Refusal {
    fn from(reason: &'static str) -> Self {
        Self::Invalid(reason)
    }
}

impl Refusal {
    /// The refusal for a failed lookup: `invalid` unless the store is down.
    fn of(err: &bp_store::StoreError, invalid: &'static str) -> Self {
        match err {
            bp_store::StoreError::Unavailable(_) => Self::Unavailable,
            _ => Self::Invalid(invalid),
        }
    }

    fn outcome(self) -> AuthOutcome {
        match self {
            Self::Invalid(reason) => AuthOutcome::Failed(reason),
            Self::Unavailable => AuthOutcome::Unverifiable,
        }
    }
}

/// What the session cache holds for a live session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedSession {
    /// Hash of the access token id (`jti`) the session was issued with.
    pub token_hash: String,
    /// Expiry of the refresh token.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

enum Credential {
    AccessToken(String),
    /// An access token from the `auth_token` cookie: state-changing
    /// requests must pass the CSRF check as well.
    CookieToken(String),
    ApiKey(String),
}

/// Whether a cookie-authenticated request with this method and path must
/// carry the CSRF header: every state-changing method, except signing in
/// and registering (which a cookie does not authenticate).
fn needs_csrf(method: &axum::http::Method, path: &str) -> bool {
    use axum::http::Method;
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        && !matches!(path, "/api/v1/auth/login" | "/api/v1/auth/register")
}

fn credential(headers: &HeaderMap) -> Option<Credential> {
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(Credential::ApiKey(key.trim().to_owned()));
    }
    if let Some(auth) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
            .unwrap_or("")
            .trim();
        return Some(if token.starts_with(API_KEY_PREFIX) {
            Credential::ApiKey(token.to_owned())
        } else {
            Credential::AccessToken(token.to_owned())
        });
    }
    crate::cookies::get(headers, crate::cookies::ACCESS).map(Credential::CookieToken)
}

/// Middleware: authenticates the request's credentials, if any.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let outcome = match credential(req.headers()) {
        None => AuthOutcome::Anonymous,
        Some(Credential::AccessToken(token)) => match session_principal(&state, &token).await {
            Ok(p) => AuthOutcome::Authenticated(Arc::new(p)),
            Err(refusal) => refusal.outcome(),
        },
        Some(Credential::CookieToken(token)) => match session_principal(&state, &token).await {
            // Checked once the cookie is known to be good, so that a bad
            // cookie is still the 401 it always was.
            Ok(_)
                if needs_csrf(req.method(), req.uri().path())
                    && !crate::cookies::csrf_matches(req.headers()) =>
            {
                return crate::error::ApiError::Denied(crate::controllers::auth::CSRF_REFUSAL.into())
                    .into_response();
            }
            Ok(p) => AuthOutcome::Authenticated(Arc::new(p)),
            Err(refusal) => refusal.outcome(),
        },
        Some(Credential::ApiKey(key)) => match key_principal(&state, &key).await {
            Ok(p) => {
                if let Some(id) = p.api_key_id() {
                    state.recorder.key_used(id);
                }
                AuthOutcome::Authenticated(Arc::new(p))
            }
            Err(refusal) => refusal.outcome(),
        },
    };
    if let AuthOutcome::Failed(reason) = &outcome {
        tracing::debug!(reason, "credentials refused");
    }
    let key_id = match &outcome {
        AuthOutcome::Authenticated(p) => p.api_key_id(),
        _ => None,
    };
    let user = match &outcome {
        AuthOutcome::Authenticated(p) if state.db.has_replica() => Some(p.user_id),
        _ => None,
    };
    req.extensions_mut().insert(outcome);
    // For route layers that need the state (auth::access audits refusals).
    req.extensions_mut().insert(state.clone());
    let mut response = match user {
        Some(user) => read_your_writes(&state, user, req, next).await,
        None => next.run(req).await,
    };
    if let Some(id) = key_id {
        response.extensions_mut().insert(crate::observe::ApiKeyUsed(id));
    }
    response
}

/// Runs a signed-in user's request with replicas allowed only as far as
/// they have replayed the user's last write (see `bp_store::replicas`):
/// a request that writes reads on the primary, and afterwards records the
/// primary's WAL position for the user in Redis (shared by every `serve`;
/// a write cut off by the request timeout, which sits outside, records
/// none);
/// a request that reads waits for a replica that has replayed it. With
/// Redis down nothing can be known, so reads go to the primary.
async fn read_your_writes(state: &AppState, user: uuid::Uuid, req: Request, next: Next) -> Response {
    use bp_store::replicas::consistency;
    let key = bp_cache::keys::write_position(&user.to_string());
    let writes = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let min_position = if writes {
        consistency::PRIMARY_ONLY
    } else {
        match state.cache.get(&key).await {
            Ok(Some(position)) => position.parse().unwrap_or(consistency::PRIMARY_ONLY),
            Ok(None) => 0,
            Err(_) => consistency::PRIMARY_ONLY,
        }
    };
    let response = consistency::scope(min_position, next.run(req)).await;
    // Whatever the status: a request that failed after its commit wrote too.
    if writes {
        // Past the lag limit every serving replica has the write.
        let ttl = bp_cache::keys::WRITE_POSITION_TTL
            .max(state.db.max_replica_lag().saturating_add(Duration::from_secs(10)));
        match state.db.write_position().await {
            Ok(position) => {
                // Only forward: a slower concurrent request of the same
                // user must not put back an earlier position.
                if let Err(e) = state.cache.set_max(&key, position, ttl).await {
                    tracing::warn!(error = %e, "could not record a write position; the user's reads may lag");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the primary's write position"),
        }
    }
    response
}

async fn session_principal(state: &AppState, token: &str) -> Result<Principal, Refusal> {
    let claims = state
        .auth
        .keys
        .verify(token, chrono::Utc::now().timestamp())
        .map_err(|_| Refusal::Invalid("invalid access token"))?;
    let sid = claims.sid.to_string();
    let token_hash = digest(&claims.jti);
    let live = match state.cache.get_session::<CachedSession>(&sid).await {
        Ok(Some(cached)) => {
            super::tokens::constant_time_eq(cached.token_hash.as_bytes(), token_hash.as_bytes())
                && cached.expires_at > chrono::Utc::now()
        }
        // Not cached (evicted, or Redis down): the database decides.
        Ok(None) | Err(_) => {
            match bp_store::sessions::get_session_by_token_hash(state.db.pool(), &token_hash).await {
                Ok(session)
                    if session.id == claims.sid && session.honours_access_token(chrono::Utc::now()) =>
                {
                    let cached = CachedSession {
                        token_hash,
                        expires_at: session.expires_at,
                    };
                    let _ = state
                        .cache
                        .set_session(&sid, &claims.user_id.to_string(), &cached, None)
                        .await;
                    true
                }
                // Not found, or found but not honoured: the session ended.
                Ok(_) | Err(bp_store::StoreError::NotFound { .. }) => false,
                // Any other failure is the database's, not the caller's:
                // 503, never a sign-out.
                Err(_) => return Err(Refusal::Unavailable),
            }
        }
    };
    if !live {
        return Err("session ended".into());
    }
    Ok(Principal {
        user_id: claims.user_id,
        email: claims.email,
        role: claims.roles.first().cloned().unwrap_or_else(|| "user".into()),
        tier: claims.tier,
        via: Via::Session {
            session_id: claims.sid,
        },
    })
}

async fn key_principal(state: &AppState, key: &str) -> Result<Principal, Refusal> {
    if !key.starts_with(API_KEY_PREFIX) || key.len() > 100 {
        return Err("malformed API key".into());
    }
    let bp_store::api_keys::KeyWithOwner {
        key: found,
        email,
        role,
        tier,
        owner_active,
    } = bp_store::api_keys::get_usable_api_key_with_owner(state.db.pool(), &digest(key))
        .await
        .map_err(|e| Refusal::of(&e, "unknown, revoked or expired API key"))?;
    if owner_active == Some(false) {
        return Err("API key owner inactive".into());
    }
    let limit = match (found.rate_limit, found.rate_limit_window.as_deref()) {
        (Some(max), window) => {
            let secs = window.and_then(bp_store::api_keys::parse_window).unwrap_or(3600);
            u32::try_from(max)
                .ok()
                .map(|max| RateLimit::new(max, std::time::Duration::from_secs(secs)))
        }
        (None, _) => None,
    };
    Ok(Principal {
        user_id: found.user_id,
        email,
        role: role.unwrap_or_else(|| "user".into()),
        tier: tier.unwrap_or_else(|| "free".into()),
        via: Via::ApiKey {
            key_id: found.id,
            scopes: found.scopes.unwrap_or_default(),
            limit,
        },
    })
}

fn outcome(parts: &Parts) -> AuthOutcome {
    parts
        .extensions
        .get::<AuthOutcome>()
        .cloned()
        .unwrap_or(AuthOutcome::Anonymous)
}

fn required(parts: &Parts) -> Result<Arc<Principal>, ApiError> {
    match outcome(parts) {
        AuthOutcome::Authenticated(p) => Ok(p),
        AuthOutcome::Anonymous => Err(ApiError::Unauthorized("Authentication required".into())),
        AuthOutcome::Failed(_) => Err(ApiError::Unauthorized("Invalid or expired credentials".into())),
        AuthOutcome::Unverifiable => Err(unverifiable()),
    }
}

/// The answer when credentials could not be checked.
fn unverifiable() -> ApiError {
    ApiError::Unavailable("database unavailable".into())
}

/// A signed-in user (session only; API keys are refused with 403).
#[derive(Debug, Clone)]
pub struct User(pub Arc<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let p = required(parts)?;
        if p.api_key_id().is_some() {
            return Err(ApiError::Denied(
                "API keys cannot be used on this endpoint".into(),
            ));
        }
        Ok(Self(p))
    }
}

/// A signed-in user or an API key.
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        required(parts).map(Self)
    }
}

/// Anyone; `None` when anonymous. Credentials that were sent but are not
/// valid are 401, never a silent downgrade to anonymous.
#[derive(Debug, Clone)]
pub struct MaybeCaller(pub Option<Arc<Principal>>);

/// The caller if its credentials are good, else nobody: for signing out,
/// which must work with an expired or revoked access token too. A
/// credential that cannot be checked (the database is down) is still a 503.
#[derive(Debug, Clone)]
pub struct CallerIfValid(pub Option<Arc<Principal>>);

impl<S: Send + Sync> FromRequestParts<S> for CallerIfValid {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match outcome(parts) {
            AuthOutcome::Authenticated(p) => Ok(Self(Some(p))),
            AuthOutcome::Anonymous | AuthOutcome::Failed(_) => Ok(Self(None)),
            AuthOutcome::Unverifiable => Err(unverifiable()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match outcome(parts) {
            AuthOutcome::Anonymous => Ok(Self(None)),
            AuthOutcome::Authenticated(p) => Ok(Self(Some(p))),
            AuthOutcome::Failed(_) => Err(ApiError::Unauthorized("Invalid or expired credentials".into())),
            AuthOutcome::Unverifiable => Err(unverifiable()),
        }
    }
}
