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

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut body = state.metrics.render(&state);
    // The last backup's time, recorded in Redis by `betterprompts backup`
    // (shared by every process and machine); absent when there is none.
    if let Ok(Some(at)) = state.cache.get(bp_cache::keys::BACKUP_LAST_SUCCESS).await
        && let Ok(at) = at.parse::<i64>()
    {
        body.push_str("# HELP bp_backup_last_success_timestamp_seconds When the last backup succeeded.\n");
        body.push_str("# TYPE bp_backup_last_success_timestamp_seconds gauge\n");
        body.push_str(&format!("bp_backup_last_success_timestamp_seconds {at}\n"));
    }
    // Redis memory against maxmemory (one INFO), for the memory alert.
    if let Ok(server) = state.cache.server_stats().await {
        body.push_str("# HELP bp_redis_memory_used_bytes Redis used_memory.\n");
        body.push_str("# TYPE bp_redis_memory_used_bytes gauge\n");
        body.push_str(&format!("bp_redis_memory_used_bytes {}\n", server.used_memory));
        body.push_str("# HELP bp_redis_maxmemory_bytes Redis maxmemory (0: no limit).\n");
        body.push_str("# TYPE bp_redis_maxmemory_bytes gauge\n");
        body.push_str(&format!("bp_redis_maxmemory_bytes {}\n", server.max_memory));
    }
    // Each read replica as the monitor last saw it: its replay lag, and
    // whether it answers and serves reads (bp_store::replicas).
    let replicas = state.db.replica_status();
    let families: [(&str, &str, ReplicaGauge); 3] = [
        (
            "bp_db_replica_lag_seconds",
            "Replay lag of a read replica behind the primary.",
            |r| r.lag.as_secs_f64(),
        ),
        (
            "bp_db_replica_up",
            "1 when a read replica answered its last check.",
            |r| f64::from(u8::from(r.up)),
        ),
        (
            "bp_db_replica_serving",
            "1 when a read replica serves reads (up, within the lag limit).",
            |r| f64::from(u8::from(r.serving)),
        ),
    ];
    for (name, help, value) in if replicas.is_empty() {
        &[][..]
    } else {
        &families[..]
    } {
        body.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for r in &replicas {
            body.push_str(&format!("{name}{{replica=\"{}\"}} {}\n", r.index, value(r)));
        }
    }
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body,
    )
        .into_response()
}

/// How one replica's gauge is read from its status.
type ReplicaGauge = fn(&bp_store::replicas::ReplicaStatus) -> f64;

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
