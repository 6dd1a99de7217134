//! Rate limiting on the enhance, analyze, batch and auth routes: a sliding
//! window in Redis (bp-cache) per user, else per API key (with the key's own
//! limit when it has one), else per client address; limits per tier. Every
//! answer carries `X-RateLimit-Limit`, `-Remaining` and `-Reset` (unix
//! seconds); a refusal is 429 with `Retry-After`.

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bp_cache::{RateDecision, RateLimit};
use bp_config::TierLimits;

use crate::auth::principal::{AuthOutcome, Via};
use crate::error::ApiError;
use crate::state::AppState;

/// Limits per tier, per minute.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests per minute by tier.
    pub tiers: TierLimits,
}

impl Limits {
    /// The limit of a tier (`anonymous` for callers without credentials).
    pub fn for_tier(&self, tier: &str) -> RateLimit {
        let per_minute = match tier {
            "pro" => self.tiers.pro,
            "enterprise" => self.tiers.enterprise,
            "anonymous" => self.tiers.anonymous,
            _ => self.tiers.free,
        };
        RateLimit::new(per_minute, Duration::from_secs(60))
    }

    /// Login attempts per account (on top of the per-address limit).
    pub fn login_per_account(&self) -> RateLimit {
        RateLimit::new(20, Duration::from_secs(15 * 60))
    }
}

/// The client's address: the first `X-Forwarded-For` hop when proxies are
/// trusted, else the peer address.
pub fn client_ip(
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    trust_proxy: bool,
) -> Option<IpAddr> {
    if trust_proxy
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return Some(ip);
    }
    extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Writes the three `X-RateLimit-*` headers.
pub fn set_headers(headers: &mut HeaderMap, d: &RateDecision) {
    let reset_secs = d.reset_at_ms.div_ceil(1000);
    for (name, value) in [
        ("x-ratelimit-limit", u64::from(d.limit)),
        ("x-ratelimit-remaining", u64::from(d.remaining)),
        ("x-ratelimit-reset", reset_secs),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            headers.insert(name, v);
        }
    }
}

/// Checks `identifier` against `limit`; a refusal is counted and returned as 429.
pub async fn check(state: &AppState, identifier: &str, limit: RateLimit) -> Result<RateDecision, ApiError> {
    let decision = state.cache.check_rate_limit(identifier, limit).await?;
    if decision.allowed {
        Ok(decision)
    } else {
        state.metrics.rate_limited();
        Err(ApiError::RateLimited(decision))
    }
}

/// Middleware for the limited routes (after [`crate::auth::principal::authenticate`]).
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (identifier, limit) = identify(&state, &req);
    match check(&state, &identifier, limit).await {
        Ok(decision) => {
            let mut response = next.run(req).await;
            set_headers(response.headers_mut(), &decision);
            response
        }
        Err(e) => e.into_response(),
    }
}

/// A rate-limit check left to the handler (a route declared with
/// [`crate::routes::Endpoint::limited_in_handler`]): an anonymous caller's
/// check goes together with the handler's own first round trip (the
/// response-cache lookup of `/enhance`), and the decision is recorded here.
#[derive(Debug)]
pub struct PendingLimit {
    /// Whose requests are counted (`user:…`, `key:…`, `ip:…`).
    pub identifier: String,
    /// Their limit.
    pub limit: RateLimit,
    decided: std::sync::Mutex<Option<RateDecision>>,
    /// Set before the handler's check is sent: a check that failed may
    /// still have counted, so the middleware does not make another.
    attempted: std::sync::atomic::AtomicBool,
}

impl PendingLimit {
    fn new(identifier: String, limit: RateLimit) -> Self {
        Self {
            identifier,
            limit,
            decided: std::sync::Mutex::new(None),
            attempted: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Records `decision` for the middleware's headers.
    fn record(&self, decision: RateDecision) {
        if let Ok(mut slot) = self.decided.lock() {
            *slot = Some(decision);
        }
    }

    /// Records `decision`; a refusal is counted and returned as 429.
    fn decide(&self, state: &AppState, decision: RateDecision) -> Result<(), ApiError> {
        self.record(decision);
        refusal(state, decision)
    }

    /// The check on its own (a caller with nothing to join it with); the
    /// decision already made when there is one.
    pub async fn check(&self, state: &AppState) -> Result<(), ApiError> {
        if let Some(decision) = self.decision() {
            // Made and counted up front: a refusal never reached here.
            return if decision.allowed {
                Ok(())
            } else {
                Err(ApiError::RateLimited(decision))
            };
        }
        self.attempted.store(true, std::sync::atomic::Ordering::Relaxed);
        let decision = state.cache.check_rate_limit(&self.identifier, self.limit).await?;
        self.decide(state, decision)
    }

    /// The check and the stored answer under `key` in one round trip
    /// ([`bp_cache::Cache::check_rate_limit_and_fetch`]): the answer's
    /// JSON on a hit, `None` on a miss, 429 over the limit.
    pub async fn check_and_fetch(
        &self,
        state: &AppState,
        key: &bp_cache::typed::ApiResponseKey,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        if self.decision().is_some() {
            // Checked up front (a signed-in caller): nothing to join.
            self.check(state).await?;
            return Ok(None);
        }
        self.attempted.store(true, std::sync::atomic::Ordering::Relaxed);
        let (decision, hit) = state
            .cache
            .check_rate_limit_and_fetch(&self.identifier, self.limit, key)
            .await?;
        self.decide(state, decision)?;
        Ok(hit)
    }

    fn decision(&self) -> Option<RateDecision> {
        self.decided.lock().ok().and_then(|slot| *slot)
    }
}

/// `Ok` when `decision` allows the request; a refusal is counted in the
/// metrics (once: only where the decision is first made).
fn refusal(state: &AppState, decision: RateDecision) -> Result<(), ApiError> {
    if decision.allowed {
        Ok(())
    } else {
        state.metrics.rate_limited();
        Err(ApiError::RateLimited(decision))
    }
}

/// Middleware for the routes that check their limit in the handler. A
/// signed-in caller (for whom there is no response cache to join) is
/// checked up front, as on the other limited routes; an anonymous one is
/// handed a [`PendingLimit`]. When the handler answered without a check (a
/// malformed body, a refused scope) it is made after, so every request
/// counts once and one over the limit is answered 429.
pub async fn limit_after(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let (identifier, limit) = identify(&state, &req);
    let pending = std::sync::Arc::new(PendingLimit::new(identifier, limit));
    if matches!(
        req.extensions().get::<AuthOutcome>(),
        Some(AuthOutcome::Authenticated(_))
    ) {
        match check(&state, &pending.identifier, pending.limit).await {
            Ok(decision) => pending.record(decision),
            Err(e) => return e.into_response(),
        }
    }
    req.extensions_mut().insert(pending.clone());
    let mut response = next.run(req).await;
    let decision = match pending.decision() {
        Some(decision) => decision,
        // The handler's check failed (its error is the answer) and may
        // have counted: no second one.
        None if pending.attempted.load(std::sync::atomic::Ordering::Relaxed) => return response,
        None => match check(&state, &pending.identifier, pending.limit).await {
            Ok(decision) => decision,
            Err(e) => return e.into_response(),
        },
    };
    set_headers(response.headers_mut(), &decision);
    response
}

/// Whom a request counts for, and their limit: the user, else the API key
/// (with the key's own limit when it has one), else the client address.
fn identify(state: &AppState, req: &Request) -> (String, RateLimit) {
    match req.extensions().get::<AuthOutcome>() {
        Some(AuthOutcome::Authenticated(p)) => match &p.via {
            Via::ApiKey { key_id, limit, .. } => (
                format!("key:{key_id}"),
                limit.unwrap_or_else(|| state.limits.for_tier(&p.tier)),
            ),
            Via::Session { .. } => (format!("user:{}", p.user_id), state.limits.for_tier(&p.tier)),
        },
        _ => {
            let ip = client_ip(req.headers(), req.extensions(), state.trust_proxy)
                .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
            (format!("ip:{ip}"), state.limits.for_tier("anonymous"))
        }
    }
}
