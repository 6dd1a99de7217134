//! `GET /health` (liveness) and `GET /ready` (database and Redis checks).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;

use crate::routes::{Access, Endpoint, Table, Verb};
use crate::state::AppState;

/// `GET /health` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Health {
    /// Always `healthy`.
    pub status: String,
    /// The service name (`api-gateway`).
    pub service: String,
}

/// The state of each dependency.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReadyChecks {
    /// `ok` or `unavailable`.
    pub database: String,
    /// `ok` or `degraded` (the service runs without Redis, slower).
    pub redis: String,
}

/// `GET /ready` answer when the database answers (a 503 otherwise).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Ready {
    /// Always `ready`.
    pub status: String,
    /// The service name.
    pub service: String,
    /// `ready`, or `degraded` while Redis is down.
    pub state: String,
    /// Each dependency.
    pub checks: ReadyChecks,
    /// The embedder behind search and the intent model's sentence
    /// features: `all-MiniLM-L6-v2-static-v2` when the sentence model is
    /// installed, `local-hash-768-v1` (lexical) when it is not, or an HTTP
    /// provider's model; `none` without an enhancement service.
    pub embedder: String,
}

/// Liveness: answers while the process serves requests.
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "healthy".into(),
        service: SERVICE.into(),
    })
}

/// The service name in health answers (the original gateway's).
const SERVICE: &str = "api-gateway";

/// Readiness: 200 when the database answers (a down Redis is reported as
/// degraded), 503 when the database does not.
pub async fn ready(State(state): State<AppState>) -> Response {
    let app_state = state.clone();
    let (db, redis) = tokio::join!(
        tokio::time::timeout(Duration::from_secs(3), state.db.ping(Duration::from_secs(2))),
        tokio::time::timeout(Duration::from_secs(1), state.cache.ping()),
    );
    let database_ok = passed("database", db);
    let redis_ok = passed("redis", redis);
    let checks = ReadyChecks {
        database: if database_ok { "ok" } else { "unavailable" }.into(),
        redis: if redis_ok { "ok" } else { "degraded" }.into(),
    };
    if database_ok {
        let state = if redis_ok { "ready" } else { "degraded" };
        (
            StatusCode::OK,
            Json(Ready {
                status: "ready".into(),
                service: SERVICE.into(),
                state: state.into(),
                checks,
                embedder: state_embedder(&app_state),
            }),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not ready", "error": "database unavailable", "checks": checks })),
        )
            .into_response()
    }
}

fn state_embedder(state: &AppState) -> String {
    state
        .service
        .as_ref()
        .map_or_else(|| "none".to_owned(), |s| s.embedder_model().to_owned())
}

/// True when a check finished in time without error; logs why it did not.
fn passed<E: std::fmt::Display>(
    name: &str,
    outcome: Result<Result<(), E>, tokio::time::error::Elapsed>,
) -> bool {
    match outcome {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(check = name, error = %e, "readiness check failed");
            false
        }
        Err(_) => {
            tracing::warn!(check = name, "readiness check timed out");
            false
        }
    }
}

/// `GET /metrics`: OpenMetrics text (see [`crate::metrics`]).
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut scrape = crate::metrics::Scrape {
        pool: Some(state.db.stats()),
        cache: state
            .cache
            .namespace_stats()
            .into_iter()
            .map(|ns| (ns.namespace.to_owned(), ns.hits, ns.misses))
            .collect(),
        cache_available: state.cache.is_available(),
        buffer: (
            state.recorder.depth() as u64,
            state.recorder.dropped(),
            state.recorder.written(),
        ),
        replicas: state
            .db
            .replica_status()
            .iter()
            .map(|r| (r.index, r.lag.as_secs_f64(), r.up, r.serving))
            .collect(),
        ..crate::metrics::Scrape::default()
    };
    // The last backup's time, recorded in Redis by `betterprompts backup`
    // (shared by every process and machine); absent when there is none.
    if let Ok(Some(at)) = state.cache.get(bp_cache::keys::BACKUP_LAST_SUCCESS).await {
        scrape.backup_at = at.parse::<i64>().ok();
    }
    // Redis memory against maxmemory (one INFO), for the memory alert.
    if let Ok(server) = state.cache.server_stats().await {
        scrape.redis_memory = Some((server.used_memory, server.max_memory));
    }
    (
        [(axum::http::header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.render(scrape),
    )
        .into_response()
}

/// This module's endpoints.
pub(crate) fn routes(t: &mut Table) {
    t.add(
        Endpoint::new(Verb::Get, "/health", "health", Access::Public, "Liveness").returns::<Health>(),
        health,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/ready",
            "health",
            Access::Public,
            "Readiness (database, Redis)",
        )
        .returns::<Ready>(),
        ready,
    );
}
