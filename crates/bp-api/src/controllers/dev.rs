//! `/dev/api-keys`: developers' API keys. The full key (`bp_` + 32 random
//! bytes in base62) is returned once at creation; only its SHA-256 is stored.
//! Rotation issues a successor and keeps the old key valid for a grace
//! period. Creating, rotating and revoking a key are audited.

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use bp_store::api_keys::{self, ApiKey, NewApiKey};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

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

/// An API key as its owner sees it: never the key or its hash.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ApiKeyInfo {
    /// Key id (what revocation and rotation take).
    pub id: Uuid,
    /// The owner's label.
    pub name: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Requests allowed per window; null for no per-key limit.
    pub rate_limit: Option<i32>,
    /// The window of `rate_limit`, e.g. `1h` (an hour when null).
    pub rate_limit_window: Option<String>,
    /// Requests made with the key (as of the last flush of the counters).
    pub usage_count: i32,
    /// Last use (as of the last flush); null if never used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// The key stops working after this; null for never.
    pub expires_at: Option<DateTime<Utc>>,
    /// False once revoked.
    pub is_active: bool,
    /// When the key was created.
    pub created_at: Option<DateTime<Utc>>,
}

impl From<&ApiKey> for ApiKeyInfo {
    fn from(k: &ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name.clone(),
            scopes: k.scopes.clone().unwrap_or_default(),
            rate_limit: k.rate_limit,
            rate_limit_window: k.rate_limit_window.clone(),
            usage_count: k.usage_count.unwrap_or(0),
            last_used_at: k.last_used_at,
            expires_at: k.expires_at,
            is_active: k.is_active.unwrap_or(true),
            created_at: k.created_at,
        }
    }
}

/// `POST /dev/api-keys` answer: the new key, the only time it is shown.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatedApiKey {
    /// The key's details (their fields sit at the top level).
    #[serde(flatten)]
    pub info: ApiKeyInfo,
    /// The key itself (`bp_...`); only its hash is kept.
    pub key: String,
    /// A reminder to store the key now.
    pub message: String,
}

/// `POST /dev/api-keys/{id}/rotate` answer: the successor key, shown once,
/// and until when the previous one keeps working.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RotatedApiKey {
    /// The new key's details (their fields sit at the top level).
    #[serde(flatten)]
    pub info: ApiKeyInfo,
    /// The new key itself (`bp_...`); only its hash is kept.
    pub key: String,
    /// The key that was rotated.
    pub previous_key_id: Uuid,
    /// The previous key stops working at this time.
    pub previous_key_valid_until: DateTime<Utc>,
    /// A reminder to store the key now and replace the previous one in time.
    pub message: String,
}

/// `GET /dev/api-keys` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ApiKeyList {
    /// The caller's keys, newest first, revoked ones included.
    pub api_keys: Vec<ApiKeyInfo>,
    /// Number of keys.
    pub total: usize,
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
) -> Result<(StatusCode, JsonOut<CreatedApiKey>), ApiError> {
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
    Ok((
        StatusCode::CREATED,
        JsonOut(CreatedApiKey {
            info: ApiKeyInfo::from(&created),
            key,
            message: "store this key now: it is not shown again".into(),
        }),
    ))
}

/// `GET /dev/api-keys`: the caller's keys, without secrets.
pub async fn list(State(state): State<AppState>, User(p): User) -> Result<JsonOut<ApiKeyList>, ApiError> {
    p.require_role(&["developer", "admin"])?;
    let mut conn = state.db.read_for(p.user_id).await?;
    let keys = api_keys::list_api_keys(&mut *conn, p.user_id).await?;
    conn.finish().await?;
    Ok(JsonOut(ApiKeyList {
        api_keys: keys.iter().map(ApiKeyInfo::from).collect(),
        total: keys.len(),
    }))
}

/// `DELETE /dev/api-keys/{id}`: revokes the key at once.
pub async fn revoke(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Id(id): Id,
) -> Result<JsonOut<super::Message>, ApiError> {
    p.require_role(&["developer", "admin"])?;
    let mut conn = state.db.for_user(p.user_id).await?;
    api_keys::revoke_api_key(&mut *conn, p.user_id, id).await?;
    conn.finish().await?;
    audit_key(&state, &client, &p, "apikey.revoke", id, json!({})).await?;
    Ok(JsonOut(super::Message::new("API key revoked")))
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
) -> Result<(StatusCode, JsonOut<RotatedApiKey>), ApiError> {
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
    Ok((
        StatusCode::CREATED,
        JsonOut(RotatedApiKey {
            info: ApiKeyInfo::from(&created),
            key,
            previous_key_id: id,
            previous_key_valid_until: old_until,
            message: "store this key now: it is not shown again; the previous key stops working at previous_key_valid_until".into(),
        }),
    ))
}

/// `/dev/analytics/*` query.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct AnalyticsQuery {
    days: Option<u32>,
    /// Admins only: every request, not just those made with the caller's keys.
    #[serde(default)]
    all: bool,
}

/// The period an analytics answer covers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AnalyticsPeriod {
    /// Start (inclusive).
    pub from: DateTime<Utc>,
    /// End (exclusive): the time of the call.
    pub to: DateTime<Utc>,
    /// Its length in days.
    pub days: u32,
    /// `own_api_keys` (requests made with the caller's keys) or `all`
    /// (every request; admins only).
    pub scope: String,
}

/// Requests to one endpoint.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EndpointUsage {
    /// Route pattern.
    pub endpoint: String,
    /// HTTP method.
    pub method: String,
    /// Requests.
    pub requests: i64,
    /// Of those, the ones answered 5xx or with an error.
    pub errors: i64,
}

/// Use of one of the caller's keys (all time, as of the last flush).
#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyUsage {
    /// Key id.
    pub id: Uuid,
    /// The owner's label.
    pub name: String,
    /// Requests made with the key.
    pub usage_count: i32,
    /// Last use; null if never used.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// `GET /dev/analytics/usage` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DevUsageReport {
    /// The period covered.
    pub period: AnalyticsPeriod,
    /// Requests over the period.
    pub total_requests: i64,
    /// Of those, the ones answered 5xx or with an error.
    pub total_errors: i64,
    /// Requests per endpoint and method.
    pub by_endpoint: Vec<EndpointUsage>,
    /// Each of the caller's keys.
    pub api_keys: Vec<KeyUsage>,
}

/// Latency and errors of one endpoint.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EndpointPerformance {
    /// Route pattern.
    pub endpoint: String,
    /// HTTP method.
    pub method: String,
    /// Requests.
    pub requests: i64,
    /// Mean response time; null when unknown.
    pub average_response_time_ms: Option<f64>,
    /// 95th percentile of the response time; null when unknown.
    pub p95_response_time_ms: Option<f64>,
    /// Share of requests that failed, 0 to 1 (0 without requests).
    pub error_rate: f64,
}

/// `GET /dev/analytics/performance` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DevPerformanceReport {
    /// The period covered.
    pub period: AnalyticsPeriod,
    /// Each endpoint and method.
    pub endpoints: Vec<EndpointPerformance>,
}

/// The period and the endpoint figures a developer may see: the requests
/// made with their own API keys (an admin may ask for all).
async fn endpoint_figures(
    state: &AppState,
    p: &crate::auth::Principal,
    q: &AnalyticsQuery,
) -> Result<
    (
        AnalyticsPeriod,
        Vec<ApiKey>,
        Vec<bp_store::analytics::EndpointMetrics>,
    ),
    ApiError,
> {
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
    let rows = bp_store::reading!(state.db, pool => bp_store::analytics::api_metrics_summary(pool, from, to, filter))?;
    let period = AnalyticsPeriod {
        from,
        to,
        days,
        scope: if q.all { "all" } else { "own_api_keys" }.into(),
    };
    Ok((period, keys, rows))
}

/// `GET /dev/analytics/usage`: requests and errors per endpoint and the
/// use of each of the caller's keys.
pub async fn usage(
    State(state): State<AppState>,
    User(p): User,
    crate::extract::Query(q): crate::extract::Query<AnalyticsQuery>,
) -> Result<JsonOut<DevUsageReport>, ApiError> {
    let (period, keys, rows) = endpoint_figures(&state, &p, &q).await?;
    let total: i64 = rows.iter().map(|r| r.requests).sum();
    let errors: i64 = rows.iter().map(|r| r.errors).sum();
    Ok(JsonOut(DevUsageReport {
        period,
        total_requests: total,
        total_errors: errors,
        by_endpoint: rows
            .into_iter()
            .map(|r| EndpointUsage {
                endpoint: r.endpoint,
                method: r.method,
                requests: r.requests,
                errors: r.errors,
            })
            .collect(),
        api_keys: keys
            .into_iter()
            .map(|k| KeyUsage {
                id: k.id,
                name: k.name,
                usage_count: k.usage_count.unwrap_or(0),
                last_used_at: k.last_used_at,
            })
            .collect(),
    }))
}

/// `GET /dev/analytics/performance`: latency (mean, p95) and error rate per
/// endpoint.
pub async fn performance(
    State(state): State<AppState>,
    User(p): User,
    crate::extract::Query(q): crate::extract::Query<AnalyticsQuery>,
) -> Result<JsonOut<DevPerformanceReport>, ApiError> {
    let (period, _, rows) = endpoint_figures(&state, &p, &q).await?;
    Ok(JsonOut(DevPerformanceReport {
        period,
        endpoints: rows
            .into_iter()
            .map(|r| EndpointPerformance {
                error_rate: if r.requests > 0 {
                    r.errors as f64 / r.requests as f64
                } else {
                    0.0
                },
                endpoint: r.endpoint,
                method: r.method,
                requests: r.requests,
                average_response_time_ms: r.average_response_time_ms,
                p95_response_time_ms: r.p95_response_time_ms,
            })
            .collect(),
    }))
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
        .created()
        .returns::<CreatedApiKey>(),
        create,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/dev/api-keys",
            "developer",
            Access::Developer,
            "The caller's API keys",
        )
        .returns::<ApiKeyList>(),
        list,
    );
    t.add(
        Endpoint::new(
            Verb::Delete,
            "/dev/api-keys/{id}",
            "developer",
            Access::Developer,
            "Revoke an API key",
        )
        .returns::<super::Message>(),
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
        .created()
        .returns::<RotatedApiKey>(),
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
        .query::<AnalyticsQuery>()
        .returns::<DevUsageReport>(),
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
        .query::<AnalyticsQuery>()
        .returns::<DevPerformanceReport>(),
        performance,
    );
}
