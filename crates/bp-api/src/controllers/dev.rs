//! `/dev/api-keys`: developers' API keys. The full key (`bp_` + 32 random
//! bytes in base62) is returned once at creation; only its SHA-256 is stored.
//! Rotation issues a successor and keeps the old key valid for a grace
//! period. Creating, rotating and revoking a key are audited.

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use bp_store::api_keys::{self, ApiKey, NewApiKey};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::audit::{self, Actor, Event};
use crate::auth::User;
use crate::auth::tokens::{digest, new_api_key};
use crate::error::ApiError;
use crate::extract::{Client, Id, Json, OptionalJson};
use crate::routes::{Access, Endpoint, Table, Verb};
use crate::state::AppState;

/// Scopes a key may carry.
pub const SCOPES: &[&str] = &["enhance", "history:read", "history:write", "admin"];

/// Scopes of a key created without any.
pub const DEFAULT_SCOPES: &[&str] = &["enhance", "history:read"];

fn key_json(k: &ApiKey) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "scopes": k.scopes.clone().unwrap_or_default(),
        "rate_limit": k.rate_limit,
        "rate_limit_window": k.rate_limit_window,
        "usage_count": k.usage_count.unwrap_or(0),
        "last_used_at": k.last_used_at,
        "expires_at": k.expires_at,
        "is_active": k.is_active.unwrap_or(true),
        "created_at": k.created_at,
    })
}

/// Appends the audit row of a change to the key `id` by `p`.
async fn audit_key(
    state: &AppState,
    client: &Client,
    p: &crate::auth::Principal,
    action: &str,
    id: uuid::Uuid,
    details: Value,
) -> Result<(), ApiError> {
    audit::record(
        state,
        client,
        Actor::from(p),
        Event {
            action,
            target: Some(("auth.api_keys", id.to_string())),
            outcome: "success",
            details,
        },
    )
    .await
}

/// `POST /dev/api-keys` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CreateKeyBody {
    name: String,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    rate_limit: Option<i32>,
    #[serde(default)]
    rate_limit_window: Option<String>,
    #[serde(default)]
    expires_in_days: Option<u32>,
}

/// `POST /dev/api-keys`: 201 with the key, shown this once.
pub async fn create(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Json(body): Json<CreateKeyBody>,
) -> Result<(StatusCode, JsonOut<Value>), ApiError> {
    p.require_role(&["developer", "admin"])?;
    let scopes = body
        .scopes
        .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect());
    if scopes.is_empty() || scopes.iter().any(|s| !SCOPES.contains(&s.as_str())) {
        return Err(ApiError::BadRequest(format!(
            "invalid scopes: choose from {}",
            SCOPES.join(", ")
        )));
    }
    if scopes.iter().any(|s| s == "admin") {
        p.require_role(&["admin"])?;
    }
    if body.expires_in_days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(ApiError::BadRequest(
            "invalid expires_in_days: must be 1 to 3650".into(),
        ));
    }
    let key = new_api_key()?;
    let mut conn = state.db.for_user(p.user_id).await?;
    let created = api_keys::create_api_key(
        &mut *conn,
        &NewApiKey {
            user_id: p.user_id,
            name: body.name.trim().to_owned(),
            key_hash: digest(&key),
            scopes,
            rate_limit: body.rate_limit,
            rate_limit_window: body.rate_limit_window,
            expires_at: body
                .expires_in_days
                .map(|d| chrono::Utc::now() + chrono::Duration::days(i64::from(d))),
        },
    )
    .await?;
    conn.finish().await?;
    let details = json!({ "scopes": created.scopes, "expires_at": created.expires_at });
    audit_key(&state, &client, &p, "apikey.create", created.id, details).await?;
    let mut answer = key_json(&created);
    answer["key"] = json!(key);
    answer["message"] = json!("store this key now: it is not shown again");
    Ok((StatusCode::CREATED, JsonOut(answer)))
}

/// `GET /dev/api-keys`: the caller's keys, without secrets.
pub async fn list(State(state): State<AppState>, User(p): User) -> Result<JsonOut<Value>, ApiError> {
    p.require_role(&["developer", "admin"])?;
    let mut conn = state.db.read_for(p.user_id).await?;
    let keys = api_keys::list_api_keys(&mut *conn, p.user_id).await?;
    conn.finish().await?;
    Ok(JsonOut(
        json!({ "api_keys": keys.iter().map(key_json).collect::<Vec<_>>(), "total": keys.len() }),
    ))
}

/// `DELETE /dev/api-keys/{id}`: revokes the key at once.
pub async fn revoke(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Id(id): Id,
) -> Result<JsonOut<Value>, ApiError> {
    p.require_role(&["developer", "admin"])?;
    let mut conn = state.db.for_user(p.user_id).await?;
    api_keys::revoke_api_key(&mut *conn, p.user_id, id).await?;
    conn.finish().await?;
    audit_key(&state, &client, &p, "apikey.revoke", id, json!({})).await?;
    Ok(JsonOut(json!({ "message": "API key revoked" })))
}

/// Longest grace period of a rotation: a week.
pub const MAX_GRACE_HOURS: u32 = 168;

/// `POST /dev/api-keys/{id}/rotate` body (optional).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct RotateKeyBody {
    /// Hours the old key keeps working (0..=168, default 24).
    #[serde(default)]
    grace_hours: Option<u32>,
}

/// `POST /dev/api-keys/{id}/rotate`: 201 with a new key (shown once) that
/// has the old one's name, scopes and limits; the old key keeps working
/// for the grace period, then stops.
pub async fn rotate(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Id(id): Id,
    OptionalJson(body): OptionalJson<RotateKeyBody>,
) -> Result<(StatusCode, JsonOut<Value>), ApiError> {
    p.require_role(&["developer", "admin"])?;
    let grace_hours = body.grace_hours.unwrap_or(24);
    if grace_hours > MAX_GRACE_HOURS {
        return Err(ApiError::BadRequest(format!(
            "invalid grace_hours: must be 0 to {MAX_GRACE_HOURS}"
        )));
    }
    let key = new_api_key()?;
    let mut conn = state.db.for_user(p.user_id).await?;
    let (created, old_until) = api_keys::rotate_api_key(
        &mut *conn,
        p.user_id,
        id,
        &digest(&key),
        chrono::Duration::hours(i64::from(grace_hours)),
    )
    .await?;
    conn.finish().await?;
    let details = json!({ "successor": created.id, "old_valid_until": old_until });
    audit_key(&state, &client, &p, "apikey.rotate", id, details).await?;
    let mut answer = key_json(&created);
    answer["key"] = json!(key);
    answer["previous_key_id"] = json!(id);
    answer["previous_key_valid_until"] = json!(old_until);
    answer["message"] = json!(
        "store this key now: it is not shown again; the previous key stops working at previous_key_valid_until"
    );
    Ok((StatusCode::CREATED, JsonOut(answer)))
}

/// `/dev/analytics/*` query.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct AnalyticsQuery {
    days: Option<u32>,
    /// Admins only: every request, not just those made with the caller's keys.
    #[serde(default)]
    all: bool,
}

/// The period and the endpoint figures a developer may see: the requests
/// made with their own API keys (an admin may ask for all).
async fn endpoint_figures(
    state: &AppState,
    p: &crate::auth::Principal,
    q: &AnalyticsQuery,
) -> Result<(Value, Vec<ApiKey>, Vec<bp_store::analytics::EndpointMetrics>), ApiError> {
    p.require_role(&["developer", "admin"])?;
    if q.all {
        p.require_role(&["admin"])?;
    }
    let days = q.days.unwrap_or(7);
    if !(1..=90).contains(&days) {
        return Err(ApiError::BadRequest("invalid days: must be 1 to 90".into()));
    }
    let to = chrono::Utc::now();
    let from = to - chrono::Duration::days(i64::from(days));
    let mut conn = state.db.read_for(p.user_id).await?;
    let keys = api_keys::list_api_keys(&mut *conn, p.user_id).await?;
    conn.finish().await?;
    let ids: Vec<uuid::Uuid> = keys.iter().map(|k| k.id).collect();
    let filter = (!q.all).then_some(ids.as_slice());
    let rows = bp_store::analytics::api_metrics_summary(state.db.read(), from, to, filter).await?;
    let period =
        json!({ "from": from, "to": to, "days": days, "scope": if q.all { "all" } else { "own_api_keys" } });
    Ok((period, keys, rows))
}

/// `GET /dev/analytics/usage`: requests and errors per endpoint and the
/// use of each of the caller's keys.
pub async fn usage(
    State(state): State<AppState>,
    User(p): User,
    crate::extract::Query(q): crate::extract::Query<AnalyticsQuery>,
) -> Result<JsonOut<Value>, ApiError> {
    let (period, keys, rows) = endpoint_figures(&state, &p, &q).await?;
    let total: i64 = rows.iter().map(|r| r.requests).sum();
    let errors: i64 = rows.iter().map(|r| r.errors).sum();
    Ok(JsonOut(json!({
        "period": period,
        "total_requests": total,
        "total_errors": errors,
        "by_endpoint": rows.iter().map(|r| json!({
            "endpoint": r.endpoint, "method": r.method, "requests": r.requests, "errors": r.errors,
        })).collect::<Vec<_>>(),
        "api_keys": keys.iter().map(|k| json!({
            "id": k.id, "name": k.name, "usage_count": k.usage_count.unwrap_or(0), "last_used_at": k.last_used_at,
        })).collect::<Vec<_>>(),
    })))
}

/// `GET /dev/analytics/performance`: latency (mean, p95) and error rate per
/// endpoint.
pub async fn performance(
    State(state): State<AppState>,
    User(p): User,
    crate::extract::Query(q): crate::extract::Query<AnalyticsQuery>,
) -> Result<JsonOut<Value>, ApiError> {
    let (period, _, rows) = endpoint_figures(&state, &p, &q).await?;
    Ok(JsonOut(json!({
        "period": period,
        "endpoints": rows.iter().map(|r| json!({
            "endpoint": r.endpoint,
            "method": r.method,
            "requests": r.requests,
            "average_response_time_ms": r.average_response_time_ms,
            "p95_response_time_ms": r.p95_response_time_ms,
            "error_rate": if r.requests > 0 { r.errors as f64 / r.requests as f64 } else { 0.0 },
        })).collect::<Vec<_>>(),
    })))
}

/// This module's endpoints.
pub(crate) fn routes(t: &mut Table) {
    t.add(
        Endpoint::new(
            Verb::Post,
            "/dev/api-keys",
            "developer",
            Access::Developer,
            "Create an API key (shown once)",
        )
        .body::<CreateKeyBody>()
        .created(),
        create,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/dev/api-keys",
            "developer",
            Access::Developer,
            "The caller's API keys",
        ),
        list,
    );
    t.add(
        Endpoint::new(
            Verb::Delete,
            "/dev/api-keys/{id}",
            "developer",
            Access::Developer,
            "Revoke an API key",
        ),
        revoke,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/dev/api-keys/{id}/rotate",
            "developer",
            Access::Developer,
            "Rotate an API key: a new key now, the old one valid for a grace period",
        )
        .body::<RotateKeyBody>()
        .created(),
        rotate,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/dev/analytics/usage",
            "developer",
            Access::Developer,
            "Requests per endpoint and key",
        )
        .query::<AnalyticsQuery>(),
        usage,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/dev/analytics/performance",
            "developer",
            Access::Developer,
            "Latency per endpoint",
        )
        .query::<AnalyticsQuery>(),
        performance,
    );
}
