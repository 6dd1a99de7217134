//! `/admin/*`: user management, platform metrics, cache control and feature
//! flags, for the `admin` role with a login session (API keys are refused).
//!
//! Every admin request writes one `auth.audit_log` row, in the request
//! (an admin action is rare and must not be lost): who, what, which row,
//! from where, and the outcome. A non-admin reaching these routes is
//! answered 403 and audited as `denied`.

use axum::Json as JsonOut;
use axum::extract::{Path, State};
use bp_cache::{FeatureFlag, Invalidation, Namespace};
use bp_store::PageRequest;
use bp_store::audit;
use bp_store::users::{self, AdminUpdate, User as UserRow, UserFilter};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::{Principal, User};
use crate::error::ApiError;
use crate::extract::{Client, Id, Json, Query};
use crate::routes::{Access, Endpoint, Table, Verb};
use crate::state::AppState;

/// One admin request: the checked caller and where it came from.
struct Admin {
    principal: std::sync::Arc<Principal>,
    client: Client,
}

impl Admin {
    /// 403 (audited as denied) unless the caller is an admin.
    async fn check(
        state: &AppState,
        principal: std::sync::Arc<Principal>,
        client: Client,
        action: &str,
    ) -> Result<Self, ApiError> {
        let admin = Self { principal, client };
        if let Err(denied) = admin.principal.require_role(&["admin"]) {
            admin.audit(state, action, None, "denied", json!({})).await?;
            return Err(denied);
        }
        Ok(admin)
    }

    /// Appends the audit row of this request.
    async fn audit(
        &self,
        state: &AppState,
        action: &str,
        target: Option<(&'static str, String)>,
        outcome: &'static str,
        details: Value,
    ) -> Result<(), ApiError> {
        crate::audit::record(
            state,
            &self.client,
            crate::audit::Actor::from(&*self.principal),
            crate::audit::Event {
                action,
                target,
                outcome,
                details,
            },
        )
        .await
    }
}

fn user_target(id: Uuid) -> Option<(&'static str, String)> {
    Some(("auth.users", id.to_string()))
}

/// The admin view of an account (never the password hash or tokens).
fn admin_user_json(u: &UserRow) -> Value {
    let mut v = super::auth::user_json(u);
    v["is_active"] = json!(u.is_active.unwrap_or(true));
    v["failed_login_attempts"] = json!(u.failed_login_attempts.unwrap_or(0));
    v["locked_until"] = json!(u.locked_until);
    v["last_login_at"] = json!(u.last_login_at);
    v
}

/// `GET /admin/users` query.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct UsersQuery {
    page: Option<u32>,
    limit: Option<u32>,
    search: Option<String>,
    role: Option<String>,
    tier: Option<String>,
}

/// `GET /admin/users`: accounts, newest first, filtered and paged.
pub async fn list_users(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Query(q): Query<UsersQuery>,
) -> Result<JsonOut<Value>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.users.list").await?;
    let request = PageRequest::new(q.page.unwrap_or(1), q.limit.unwrap_or(20))?;
    let filter = UserFilter {
        search: q.search.filter(|s| !s.is_empty()),
        role: q.role.filter(|s| !s.is_empty()),
        tier: q.tier.filter(|s| !s.is_empty()),
    };
    let page = users::list_users(state.db.read(), &filter, request).await?;
    admin
        .audit(
            &state,
            "admin.users.list",
            None,
            "success",
            json!({ "returned": page.items.len() }),
        )
        .await?;
    Ok(JsonOut(json!({
        "data": page.items.iter().map(admin_user_json).collect::<Vec<_>>(),
        "pagination": super::pagination(&page),
    })))
}

/// `GET /admin/users/{id}`: the account with its history stats (a read of
/// another user's data, audited).
pub async fn get_user(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Id(id): Id,
) -> Result<JsonOut<Value>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.user.view").await?;
    let user = match users::get_user_by_id(state.db.read(), id).await {
        Ok(u) => u,
        Err(e) => {
            admin
                .audit(&state, "admin.user.view", user_target(id), "failure", json!({}))
                .await?;
            return Err(e.into());
        }
    };
    let stats = bp_store::history::history_stats(state.db.read(), id, 30).await?;
    admin
        .audit(&state, "admin.user.view", user_target(id), "success", json!({}))
        .await?;
    let mut body = admin_user_json(&user);
    body["history_stats"] = json!({
        "total": stats.total,
        "by_intent": stats.by_intent,
        "by_technique": stats.by_technique,
        "average_feedback": stats.average_feedback,
    });
    Ok(JsonOut(body))
}

/// `PUT /admin/users/{id}` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct UpdateUserBody {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    tier: Option<String>,
    #[serde(default)]
    is_active: Option<bool>,
    #[serde(default)]
    is_verified: Option<bool>,
    /// Clear the failed-login counter and lock.
    #[serde(default)]
    unlock: bool,
}

/// `PUT /admin/users/{id}`: role, tier, active, verified, unlock. A change
/// of role or a deactivation revokes the account's sessions (their tokens
/// carry the old role). Admins cannot demote or deactivate themselves.
pub async fn update_user(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Id(id): Id,
    Json(body): Json<UpdateUserBody>,
) -> Result<JsonOut<Value>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.user.update").await?;
    let own = id == admin.principal.user_id;
    if own && (body.is_active == Some(false) || body.role.as_deref().is_some_and(|r| r != "admin")) {
        return Err(ApiError::BadRequest(
            "an admin cannot demote or deactivate their own account".into(),
        ));
    }
    let update = AdminUpdate {
        role: body.role.clone(),
        tier: body.tier.clone(),
        is_active: body.is_active,
        is_verified: body.is_verified,
    };
    let changes = json!({
        "role": body.role, "tier": body.tier, "is_active": body.is_active,
        "is_verified": body.is_verified, "unlock": body.unlock,
    });
    let mut tx = state.db.begin().await?;
    let before = match users::get_user_by_id(&mut *tx, id).await {
        Ok(u) => u,
        Err(e) => {
            drop(tx);
            admin
                .audit(&state, "admin.user.update", user_target(id), "failure", changes)
                .await?;
            return Err(e.into());
        }
    };
    let mut updated = users::admin_update_user(&mut *tx, id, &update).await?;
    if body.unlock {
        users::reset_lock(&mut *tx, id).await?;
        updated.failed_login_attempts = Some(0);
        updated.locked_until = None;
    }
    let role_changed = before.role != updated.role;
    let deactivated = updated.is_active == Some(false) && before.is_active != Some(false);
    let revoked = if role_changed || deactivated {
        bp_store::sessions::revoke_user_sessions(&mut *tx, id, None).await?
    } else {
        0
    };
    tx.commit().await?;
    if role_changed || deactivated {
        // Rotated sessions' access tokens are ended too, active or not.
        let _ = state.cache.delete_user_sessions(&id.to_string()).await;
    }
    let _ = state
        .cache
        .invalidate(Invalidation::UserUpdate {
            user_id: &id.to_string(),
        })
        .await;
    admin
        .audit(
            &state,
            "admin.user.update",
            user_target(id),
            "success",
            json!({ "changes": changes, "revoked_sessions": revoked }),
        )
        .await?;
    let mut answer = admin_user_json(&updated);
    answer["revoked_sessions"] = json!(revoked);
    Ok(JsonOut(answer))
}

/// `DELETE /admin/users/{id}`: deletes the account (its history stays,
/// anonymised). An admin cannot delete their own account.
pub async fn delete_user(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Id(id): Id,
) -> Result<JsonOut<Value>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.user.delete").await?;
    if id == admin.principal.user_id {
        return Err(ApiError::BadRequest(
            "an admin cannot delete their own account".into(),
        ));
    }
    let outcome = users::delete_user(state.db.pool(), id).await;
    let result = if outcome.is_ok() { "success" } else { "failure" };
    admin
        .audit(&state, "admin.user.delete", user_target(id), result, json!({}))
        .await?;
    outcome?;
    let _ = state.cache.delete_user_sessions(&id.to_string()).await;
    Ok(JsonOut(json!({ "message": "user deleted" })))
}

/// `GET /admin/metrics`: platform totals, database pool, cache server and
/// the service's own buffers.
pub async fn metrics(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
) -> Result<JsonOut<Value>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.metrics.view").await?;
    let o = bp_store::analytics::platform_overview(state.db.read()).await?;
    let pool = state.db.stats();
    let redis = match state.cache.server_stats().await {
        Ok(s) => json!({
            "status": "up",
            "version": s.version,
            "used_memory_bytes": s.used_memory,
            "connected_clients": s.connected_clients,
            "keyspace_hits": s.keyspace_hits,
            "keyspace_misses": s.keyspace_misses,
            "hit_rate": s.hit_rate(),
            "evicted_keys": s.evicted_keys,
            "keys": s.keys,
        }),
        Err(_) => json!({ "status": "down" }),
    };
    let namespaces: Vec<Value> = state
        .cache
        .namespace_stats()
        .iter()
        .map(|n| json!({ "namespace": n.namespace, "hits": n.hits, "misses": n.misses, "hit_rate": n.hit_rate() }))
        .collect();
    admin
        .audit(&state, "admin.metrics.view", None, "success", json!({}))
        .await?;
    Ok(JsonOut(json!({
        "users": { "total": o.users_total, "active": o.users_active, "new_24h": o.users_new_24h },
        "sessions": { "active": o.sessions_active },
        "api_keys": { "active": o.api_keys_active },
        "enhancements": { "total": o.enhancements_total, "last_24h": o.enhancements_24h },
        "feedback": { "rated_30d": o.feedback_30d, "average_rating_30d": o.average_feedback_30d },
        "requests": {
            "last_24h": o.requests_24h,
            "errors_24h": o.errors_24h,
            "average_response_time_ms_24h": o.average_response_time_ms_24h,
        },
        "database": { "pool_size": pool.size, "idle": pool.idle, "in_use": pool.in_use, "max": pool.max, "waiting": pool.waiting },
        "cache": { "server": redis, "namespaces": namespaces },
        "buffers": {
            "analytics_depth": state.recorder.depth(),
            "analytics_dropped": state.recorder.dropped(),
            "analytics_written": state.recorder.written(),
        },
    })))
}

/// `GET /admin/metrics/usage` query.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct UsageQuery {
    days: Option<u32>,
}

/// `GET /admin/metrics/usage`: the daily rollups of the last `days` (30).
pub async fn usage(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Query(q): Query<UsageQuery>,
) -> Result<JsonOut<Value>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.metrics.usage").await?;
    let days = q.days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(ApiError::BadRequest("invalid days: must be 1 to 365".into()));
    }
    let rows = bp_store::analytics::daily_stats(state.db.read(), days).await?;
    admin
        .audit(
            &state,
            "admin.metrics.usage",
            None,
            "success",
            json!({ "days": days }),
        )
        .await?;
    let data: Vec<Value> = rows
        .iter()
        .map(|d| {
            json!({
                "date": d.date,
                "total_requests": d.total_requests.unwrap_or(0),
                "unique_users": d.unique_users.unwrap_or(0),
                "new_users": d.new_users.unwrap_or(0),
                "total_enhancements": d.total_enhancements.unwrap_or(0),
                "average_response_time_ms": d.average_response_time_ms,
                "error_count": d.error_count.unwrap_or(0),
                "by_technique": d.by_technique,
                "by_intent": d.by_intent,
                "by_hour": d.by_hour,
            })
        })
        .collect();
    Ok(JsonOut(json!({ "days": days, "data": data })))
}

/// `POST /admin/cache/clear` body.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ClearBody {
    /// One namespace (`api_responses`, `predictions`, `techniques`,
    /// `templates`, `user_prefs`); all of them when absent. Sessions, rate
    /// limits and feature flags are never cleared this way.
    #[serde(default)]
    namespace: Option<String>,
}

/// Namespaces an admin may clear.
const CLEARABLE: &[Namespace] = &[
    Namespace::ApiResponses,
    Namespace::Predictions,
    Namespace::Techniques,
    Namespace::Templates,
    Namespace::UserPrefs,
];

/// `POST /admin/cache/clear`: clears cached data (not sessions, rate limits
/// or flags).
pub async fn clear_cache(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    crate::extract::OptionalJson(body): crate::extract::OptionalJson<ClearBody>,
) -> Result<JsonOut<Value>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.cache.clear").await?;
    let chosen: Vec<Namespace> = match body.namespace.as_deref().filter(|n| !n.is_empty()) {
        None => CLEARABLE.to_vec(),
        Some(name) => vec![*CLEARABLE.iter().find(|n| n.name() == name).ok_or_else(|| {
            let names: Vec<&str> = CLEARABLE.iter().map(|n| n.name()).collect();
            ApiError::BadRequest(format!("invalid namespace: choose from {}", names.join(", ")))
        })?],
    };
    let mut deleted = 0;
    for ns in &chosen {
        deleted += state.cache.flush_namespace(*ns).await?;
    }
    let names: Vec<&str> = chosen.iter().map(|n| n.name()).collect();
    admin
        .audit(
            &state,
            "admin.cache.clear",
            None,
            "success",
            json!({ "namespaces": names, "deleted": deleted }),
        )
        .await?;
    Ok(JsonOut(
        json!({ "message": "cache cleared", "namespaces": names, "deleted_keys": deleted }),
    ))
}

/// `POST /admin/cache/invalidate/{user_id}`: that user's cached sessions and
/// preferences. Their sessions stay valid (they re-cache from the database).
pub async fn invalidate_user(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Id(id): Id,
) -> Result<JsonOut<Value>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.cache.invalidate").await?;
    let deleted = state
        .cache
        .invalidate(Invalidation::UserUpdate {
            user_id: &id.to_string(),
        })
        .await?;
    admin
        .audit(
            &state,
            "admin.cache.invalidate",
            user_target(id),
            "success",
            json!({ "deleted": deleted }),
        )
        .await?;
    Ok(JsonOut(
        json!({ "message": "user cache invalidated", "deleted_keys": deleted }),
    ))
}

fn flag_json(f: &FeatureFlag) -> Value {
    json!({ "name": f.name, "enabled": f.enabled, "rollout_percent": f.rollout_percent, "description": f.description })
}

/// `GET /admin/feature-flags`.
pub async fn list_flags(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
) -> Result<JsonOut<Value>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.flags.list").await?;
    let flags = state.cache.list_flags().await?;
    admin
        .audit(&state, "admin.flags.list", None, "success", json!({}))
        .await?;
    Ok(JsonOut(
        json!({ "total": flags.len(), "flags": flags.iter().map(flag_json).collect::<Vec<_>>() }),
    ))
}

/// `PUT /admin/feature-flags` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct FlagBody {
    name: String,
    enabled: bool,
    #[serde(default = "full_rollout")]
    rollout_percent: u8,
    #[serde(default)]
    description: String,
}

fn full_rollout() -> u8 {
    100
}

/// `PUT /admin/feature-flags` (also POST): creates or replaces a flag; every
/// server sees it within milliseconds.
pub async fn set_flag(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Json(body): Json<FlagBody>,
) -> Result<JsonOut<Value>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.flags.set").await?;
    let flag = FeatureFlag {
        name: body.name,
        enabled: body.enabled,
        rollout_percent: body.rollout_percent,
        description: body.description,
    };
    let before = state.cache.get_flag(&flag.name).await.ok().flatten();
    state.cache.set_flag(&flag).await?;
    admin
        .audit(
            &state,
            "admin.flags.set",
            Some(("feature_flags", flag.name.clone())),
            "success",
            json!({ "before": before.as_ref().map(flag_json), "after": flag_json(&flag) }),
        )
        .await?;
    Ok(JsonOut(flag_json(&flag)))
}

/// `DELETE /admin/feature-flags/{name}`.
pub async fn delete_flag(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Path(name): Path<String>,
) -> Result<JsonOut<Value>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.flags.delete").await?;
    let existed = state.cache.delete_flag(&name).await?;
    if !existed {
        return Err(ApiError::NotFound);
    }
    admin
        .audit(
            &state,
            "admin.flags.delete",
            Some(("feature_flags", name)),
            "success",
            json!({}),
        )
        .await?;
    Ok(JsonOut(json!({ "message": "feature flag deleted" })))
}

/// `GET /admin/audit` query.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct AuditQuery {
    action: Option<String>,
    actor_user_id: Option<Uuid>,
    target_id: Option<String>,
    outcome: Option<String>,
    /// `YYYY-MM-DD` or RFC 3339, inclusive.
    from: Option<String>,
    /// `YYYY-MM-DD` (that whole day included) or RFC 3339 (exclusive).
    to: Option<String>,
    limit: Option<i64>,
}

/// `GET /admin/audit`: the newest audit entries matching the filters
/// (action, actor, target, outcome, time range), addresses decrypted.
pub async fn audit_log(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Query(q): Query<AuditQuery>,
) -> Result<JsonOut<Value>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.audit.view").await?;
    let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let filter = audit::AuditFilter {
        action: non_empty(q.action),
        actor_user_id: q.actor_user_id,
        target_id: non_empty(q.target_id),
        outcome: non_empty(q.outcome),
        from: super::history::date("from", q.from.as_deref(), false)?,
        to: super::history::date("to", q.to.as_deref(), true)?,
    };
    let rows = audit::search(state.db.read(), &filter, q.limit.unwrap_or(100)).await?;
    admin
        .audit(&state, "admin.audit.view", None, "success", json!({}))
        .await?;
    let data: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id, "occurred_at": r.occurred_at, "actor_user_id": r.actor_user_id,
                "actor_api_key_id": r.actor_api_key_id, "actor_role": r.actor_role,
                "action": r.action, "target_table": r.target_table, "target_id": r.target_id,
                "ip_address": r.ip_address, "user_agent": r.user_agent, "request_id": r.request_id,
                "outcome": r.outcome, "details": r.details,
            })
        })
        .collect();
    Ok(JsonOut(json!({ "total": data.len(), "data": data })))
}

/// This module's endpoints.
pub(crate) fn routes(t: &mut Table) {
    t.add(
        Endpoint::new(Verb::Get, "/admin/users", "admin", Access::Admin, "Accounts").query::<UsersQuery>(),
        list_users,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/admin/users/{id}",
            "admin",
            Access::Admin,
            "One account",
        ),
        get_user,
    );
    t.add(
        Endpoint::new(
            Verb::Put,
            "/admin/users/{id}",
            "admin",
            Access::Admin,
            "Change role, tier, state; unlock",
        )
        .body::<UpdateUserBody>(),
        update_user,
    );
    t.add(
        Endpoint::new(
            Verb::Delete,
            "/admin/users/{id}",
            "admin",
            Access::Admin,
            "Delete an account",
        ),
        delete_user,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/admin/metrics",
            "admin",
            Access::Admin,
            "Platform totals",
        ),
        metrics,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/admin/metrics/usage",
            "admin",
            Access::Admin,
            "Daily rollups",
        )
        .query::<UsageQuery>(),
        usage,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/admin/cache/clear",
            "admin",
            Access::Admin,
            "Clear cached data",
        )
        .optional_body::<ClearBody>(),
        clear_cache,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/admin/cache/invalidate/{id}",
            "admin",
            Access::Admin,
            "Forget a user's cached data",
        ),
        invalidate_user,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/admin/feature-flags",
            "admin",
            Access::Admin,
            "Feature flags",
        ),
        list_flags,
    );
    t.add(
        Endpoint::new(
            Verb::Put,
            "/admin/feature-flags",
            "admin",
            Access::Admin,
            "Create or replace a flag",
        )
        .body::<FlagBody>(),
        set_flag,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/admin/feature-flags",
            "admin",
            Access::Admin,
            "Create or replace a flag",
        )
        .body::<FlagBody>(),
        set_flag,
    );
    t.add(
        Endpoint::new(
            Verb::Delete,
            "/admin/feature-flags/{name}",
            "admin",
            Access::Admin,
            "Delete a flag",
        ),
        delete_flag,
    );
    t.add(
        Endpoint::new(Verb::Get, "/admin/audit", "admin", Access::Admin, "Audit log").query::<AuditQuery>(),
        audit_log,
    );
}
