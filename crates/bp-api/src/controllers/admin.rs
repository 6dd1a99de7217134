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
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::{Principal, User};
use crate::error::ApiError;
use crate::extract::{Client, Id, Json, Query};
use crate::routes::{Endpoint, Table, Verb};
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

/// The admin view of an account: the profile a user sees of themselves plus
/// the lock state (never the password hash or tokens).
#[derive(Debug, Serialize, JsonSchema)]
pub struct AdminUser {
    /// The profile, as the user sees it.
    #[serde(flatten)]
    pub profile: super::auth::UserView,
    /// Failed logins since the last success or lock expiry.
    pub failed_login_attempts: i32,
    /// Logins are refused until this time, while locked.
    pub locked_until: Option<DateTime<Utc>>,
}

impl From<&UserRow> for AdminUser {
    fn from(u: &UserRow) -> Self {
        Self {
            profile: super::auth::UserView::from(u),
            failed_login_attempts: u.failed_login_attempts.unwrap_or(0),
            locked_until: u.locked_until,
        }
    }
}

/// `GET /admin/users` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AdminUserPage {
    /// The accounts of this page, newest first.
    pub data: Vec<AdminUser>,
    /// Where the page stands.
    pub pagination: super::Pagination,
}

/// A user's history totals over the last 30 days, as an admin sees them.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AdminUserHistoryStats {
    /// Enhancements.
    pub total: i64,
    /// Enhancements per intent (`unknown` for none).
    pub by_intent: std::collections::BTreeMap<String, i64>,
    /// Enhancements using each technique.
    pub by_technique: std::collections::BTreeMap<String, i64>,
    /// Mean rating of the rated ones; null when none was rated.
    pub average_feedback: Option<f64>,
}

/// `GET /admin/users/{id}` answer: the account and its history totals.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AdminUserDetail {
    /// The account (its fields sit at the top level).
    #[serde(flatten)]
    pub user: AdminUser,
    /// What the user did over the last 30 days.
    pub history_stats: AdminUserHistoryStats,
}

/// `PUT /admin/users/{id}` answer: the account as updated.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AdminUserUpdated {
    /// The account after the change (its fields sit at the top level).
    #[serde(flatten)]
    pub user: AdminUser,
    /// Sessions ended because the role changed or the account was
    /// deactivated (0 otherwise).
    pub revoked_sessions: u64,
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
) -> Result<JsonOut<AdminUserPage>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.users.list").await?;
    let request = PageRequest::new(q.page.unwrap_or(1), q.limit.unwrap_or(20))?;
    let filter = UserFilter {
        search: q.search.filter(|s| !s.is_empty()),
        role: q.role.filter(|s| !s.is_empty()),
        tier: q.tier.filter(|s| !s.is_empty()),
    };
    let page = bp_store::reading!(state.db, pool => users::list_users(pool, &filter, request))?;
    admin
        .audit(
            &state,
            "admin.users.list",
            None,
            "success",
            json!({ "returned": page.items.len() }),
        )
        .await?;
    Ok(JsonOut(AdminUserPage {
        data: page.items.iter().map(AdminUser::from).collect(),
        pagination: super::pagination(&page),
    }))
}

/// `GET /admin/users/{id}`: the account with its history stats (a read of
/// another user's data, audited).
pub async fn get_user(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Id(id): Id,
) -> Result<JsonOut<AdminUserDetail>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.user.view").await?;
    let user = match bp_store::reading!(state.db, pool => users::get_user_by_id(pool, id)) {
        Ok(u) => u,
        Err(e) => {
            admin
                .audit(&state, "admin.user.view", user_target(id), "failure", json!({}))
                .await?;
            return Err(e.into());
        }
    };
    let stats = bp_store::reading!(state.db, pool => bp_store::history::history_stats(pool, id, 30))?;
    admin
        .audit(&state, "admin.user.view", user_target(id), "success", json!({}))
        .await?;
    Ok(JsonOut(AdminUserDetail {
        user: AdminUser::from(&user),
        history_stats: AdminUserHistoryStats {
            total: stats.total,
            by_intent: stats.by_intent,
            by_technique: stats.by_technique,
            average_feedback: stats.average_feedback,
        },
    }))
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
) -> Result<JsonOut<AdminUserUpdated>, ApiError> {
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
    Ok(JsonOut(AdminUserUpdated {
        user: AdminUser::from(&updated),
        revoked_sessions: revoked,
    }))
}

/// `DELETE /admin/users/{id}`: deletes the account (its history stays,
/// anonymised). An admin cannot delete their own account.
pub async fn delete_user(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Id(id): Id,
) -> Result<JsonOut<super::Message>, ApiError> {
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
    Ok(JsonOut(super::Message::new("user deleted")))
}

/// Account totals.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UserTotals {
    /// Every account.
    pub total: i64,
    /// Accounts not deactivated.
    pub active: i64,
    /// Accounts created in the last 24 hours.
    pub new_24h: i64,
}

/// A count of things currently in force (sessions, API keys).
#[derive(Debug, Serialize, JsonSchema)]
pub struct ActiveTotal {
    /// Unrevoked and unexpired.
    pub active: i64,
}

/// Enhancement totals.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EnhancementTotals {
    /// Every enhancement (the planner's estimate when the table is large).
    pub total: i64,
    /// Enhancements in the last 24 hours.
    pub last_24h: i64,
}

/// Ratings of the last 30 days.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FeedbackTotals {
    /// Enhancements of the last 30 days that were rated.
    pub rated_30d: i64,
    /// Their mean rating, 1 to 5; null when none was rated.
    pub average_rating_30d: Option<f64>,
}

/// API traffic of the last 24 hours.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RequestTotals {
    /// Requests.
    pub last_24h: i64,
    /// Of those, the ones answered 5xx or with an error.
    pub errors_24h: i64,
    /// Mean response time; null without requests.
    pub average_response_time_ms_24h: Option<f64>,
}

/// The database pool at the time of the call.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PoolFigures {
    /// Open connections.
    pub pool_size: u32,
    /// Open and idle.
    pub idle: usize,
    /// Open and lent out.
    pub in_use: usize,
    /// The ceiling.
    pub max: u32,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

/// The Redis server's figures, from `INFO`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CacheServerStats {
    /// `redis_version`.
    pub version: String,
    /// Memory in use, in bytes.
    pub used_memory_bytes: u64,
    /// Clients connected to the server.
    pub connected_clients: u64,
    /// Server-wide reads that found a key.
    pub keyspace_hits: u64,
    /// Server-wide reads that found nothing.
    pub keyspace_misses: u64,
    /// hits / (hits + misses); null before any read.
    pub hit_rate: Option<f64>,
    /// Keys evicted under memory pressure.
    pub evicted_keys: u64,
    /// Keys in the selected database.
    pub keys: u64,
}

/// The Redis server: `up` with its figures, or just `down` when it did not
/// answer (the service keeps running without it).
#[derive(Debug, Serialize, JsonSchema)]
pub struct CacheServer {
    /// `up` or `down`.
    pub status: String,
    /// The figures, present only when `up` (their fields sit at this level).
    #[serde(flatten)]
    pub stats: Option<CacheServerStats>,
}

/// This server's reads of one cache namespace since it started.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NamespaceFigures {
    /// The namespace.
    pub namespace: String,
    /// Reads that found a usable value.
    pub hits: u64,
    /// Reads that found nothing usable.
    pub misses: u64,
    /// hits / (hits + misses); null before any read.
    pub hit_rate: Option<f64>,
}

/// The cache: the Redis server and this server's namespace counters.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CacheFigures {
    /// The Redis server.
    pub server: CacheServer,
    /// Every namespace, in a fixed order.
    pub namespaces: Vec<NamespaceFigures>,
}

/// The in-process analytics buffer (events are written in the background).
#[derive(Debug, Serialize, JsonSchema)]
pub struct BufferFigures {
    /// Events waiting to be written.
    pub analytics_depth: usize,
    /// Events lost because the buffer was full or a write failed.
    pub analytics_dropped: u64,
    /// Events written since the server started.
    pub analytics_written: u64,
}

/// `GET /admin/metrics` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PlatformMetrics {
    /// Accounts.
    pub users: UserTotals,
    /// Login sessions.
    pub sessions: ActiveTotal,
    /// API keys.
    pub api_keys: ActiveTotal,
    /// Enhancements.
    pub enhancements: EnhancementTotals,
    /// Ratings.
    pub feedback: FeedbackTotals,
    /// API traffic.
    pub requests: RequestTotals,
    /// The database pool.
    pub database: PoolFigures,
    /// The cache.
    pub cache: CacheFigures,
    /// This server's buffers.
    pub buffers: BufferFigures,
}

/// `GET /admin/metrics`: platform totals, database pool, cache server and
/// the service's own buffers.
pub async fn metrics(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
) -> Result<JsonOut<PlatformMetrics>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.metrics.view").await?;
    let o = bp_store::reading!(state.db, pool => bp_store::analytics::platform_overview(pool))?;
    let pool = state.db.stats();
    let server = match state.cache.server_stats().await {
        Ok(s) => CacheServer {
            status: "up".into(),
            stats: Some(CacheServerStats {
                hit_rate: s.hit_rate(),
                version: s.version,
                used_memory_bytes: s.used_memory,
                connected_clients: s.connected_clients,
                keyspace_hits: s.keyspace_hits,
                keyspace_misses: s.keyspace_misses,
                evicted_keys: s.evicted_keys,
                keys: s.keys,
            }),
        },
        Err(_) => CacheServer {
            status: "down".into(),
            stats: None,
        },
    };
    let namespaces = state
        .cache
        .namespace_stats()
        .iter()
        .map(|n| NamespaceFigures {
            namespace: n.namespace.to_owned(),
            hits: n.hits,
            misses: n.misses,
            hit_rate: n.hit_rate(),
        })
        .collect();
    admin
        .audit(&state, "admin.metrics.view", None, "success", json!({}))
        .await?;
    Ok(JsonOut(PlatformMetrics {
        users: UserTotals {
            total: o.users_total,
            active: o.users_active,
            new_24h: o.users_new_24h,
        },
        sessions: ActiveTotal {
            active: o.sessions_active,
        },
        api_keys: ActiveTotal {
            active: o.api_keys_active,
        },
        enhancements: EnhancementTotals {
            total: o.enhancements_total,
            last_24h: o.enhancements_24h,
        },
        feedback: FeedbackTotals {
            rated_30d: o.feedback_30d,
            average_rating_30d: o.average_feedback_30d,
        },
        requests: RequestTotals {
            last_24h: o.requests_24h,
            errors_24h: o.errors_24h,
            average_response_time_ms_24h: o.average_response_time_ms_24h,
        },
        database: PoolFigures {
            pool_size: pool.size,
            idle: pool.idle,
            in_use: pool.in_use,
            max: pool.max,
            waiting: pool.waiting,
        },
        cache: CacheFigures { server, namespaces },
        buffers: BufferFigures {
            analytics_depth: state.recorder.depth(),
            analytics_dropped: state.recorder.dropped(),
            analytics_written: state.recorder.written(),
        },
    }))
}

/// `GET /admin/metrics/usage` query.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct UsageQuery {
    days: Option<u32>,
}

/// One UTC day's rollup.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DailyUsage {
    /// The UTC day.
    pub date: NaiveDate,
    /// API requests.
    pub total_requests: i32,
    /// Users who enhanced or did anything else.
    pub unique_users: i32,
    /// Accounts created.
    pub new_users: i32,
    /// Enhancements.
    pub total_enhancements: i32,
    /// Mean API response time; null without requests.
    pub average_response_time_ms: Option<f64>,
    /// Requests answered 5xx or with an error.
    pub error_count: i32,
    /// Enhancements per technique, as rolled up (null if absent).
    pub by_technique: Option<Value>,
    /// Enhancements per intent, as rolled up (null if absent).
    pub by_intent: Option<Value>,
    /// Enhancements per UTC hour (`"0"` to `"23"`), as rolled up (null if
    /// absent).
    pub by_hour: Option<Value>,
}

/// `GET /admin/metrics/usage` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UsageRollups {
    /// The period asked for, in days.
    pub days: u32,
    /// The days rolled up so far, newest first (days without a rollup are
    /// missing).
    pub data: Vec<DailyUsage>,
}

/// `GET /admin/metrics/usage`: the daily rollups of the last `days` (30).
pub async fn usage(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Query(q): Query<UsageQuery>,
) -> Result<JsonOut<UsageRollups>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.metrics.usage").await?;
    let days = q.days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(ApiError::BadRequest("invalid days: must be 1 to 365".into()));
    }
    let rows = bp_store::reading!(state.db, pool => bp_store::analytics::daily_stats(pool, days))?;
    admin
        .audit(
            &state,
            "admin.metrics.usage",
            None,
            "success",
            json!({ "days": days }),
        )
        .await?;
    let data = rows
        .into_iter()
        .map(|d| DailyUsage {
            date: d.date,
            total_requests: d.total_requests.unwrap_or(0),
            unique_users: d.unique_users.unwrap_or(0),
            new_users: d.new_users.unwrap_or(0),
            total_enhancements: d.total_enhancements.unwrap_or(0),
            average_response_time_ms: d.average_response_time_ms,
            error_count: d.error_count.unwrap_or(0),
            by_technique: d.by_technique,
            by_intent: d.by_intent,
            by_hour: d.by_hour,
        })
        .collect();
    Ok(JsonOut(UsageRollups { days, data }))
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

/// `POST /admin/cache/clear` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CacheCleared {
    /// `cache cleared`.
    pub message: String,
    /// The namespaces flushed.
    pub namespaces: Vec<String>,
    /// Keys deleted across them.
    pub deleted_keys: u64,
}

/// `POST /admin/cache/clear`: clears cached data (not sessions, rate limits
/// or flags).
pub async fn clear_cache(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    crate::extract::OptionalJson(body): crate::extract::OptionalJson<ClearBody>,
) -> Result<JsonOut<CacheCleared>, ApiError> {
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
    Ok(JsonOut(CacheCleared {
        message: "cache cleared".into(),
        namespaces: names.iter().map(|n| (*n).to_owned()).collect(),
        deleted_keys: deleted,
    }))
}

/// `POST /admin/cache/invalidate/{id}` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UserCacheInvalidated {
    /// `user cache invalidated`.
    pub message: String,
    /// Cached entries deleted.
    pub deleted_keys: u64,
}

/// `POST /admin/cache/invalidate/{user_id}`: that user's cached sessions and
/// preferences. Their sessions stay valid (they re-cache from the database).
pub async fn invalidate_user(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Id(id): Id,
) -> Result<JsonOut<UserCacheInvalidated>, ApiError> {
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
    Ok(JsonOut(UserCacheInvalidated {
        message: "user cache invalidated".into(),
        deleted_keys: deleted,
    }))
}

/// A feature flag, as stored.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FlagView {
    /// The flag's name (`[a-z0-9_.-]`, 1 to 64 characters).
    pub name: String,
    /// Off for everyone when false.
    pub enabled: bool,
    /// Share of users (0 to 100) who get it when enabled; stable per user.
    pub rollout_percent: u8,
    /// What it switches (may be empty).
    pub description: String,
}

impl From<&FeatureFlag> for FlagView {
    fn from(f: &FeatureFlag) -> Self {
        Self {
            name: f.name.clone(),
            enabled: f.enabled,
            rollout_percent: f.rollout_percent,
            description: f.description.clone(),
        }
    }
}

/// `GET /admin/feature-flags` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FlagList {
    /// Number of flags.
    pub total: usize,
    /// Every flag.
    pub flags: Vec<FlagView>,
}

/// `GET /admin/feature-flags`.
pub async fn list_flags(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
) -> Result<JsonOut<FlagList>, ApiError> {
    let admin = Admin::check(&state, p, client, "admin.flags.list").await?;
    let flags = state.cache.list_flags().await?;
    admin
        .audit(&state, "admin.flags.list", None, "success", json!({}))
        .await?;
    Ok(JsonOut(FlagList {
        total: flags.len(),
        flags: flags.iter().map(FlagView::from).collect(),
    }))
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
) -> Result<JsonOut<FlagView>, ApiError> {
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
            json!({ "before": before.as_ref().map(FlagView::from), "after": FlagView::from(&flag) }),
        )
        .await?;
    Ok(JsonOut(FlagView::from(&flag)))
}

/// `DELETE /admin/feature-flags/{name}`.
pub async fn delete_flag(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Path(name): Path<String>,
) -> Result<JsonOut<super::Message>, ApiError> {
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
    Ok(JsonOut(super::Message::new("feature flag deleted")))
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

/// One audit entry, the address and software decrypted.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AuditRecord {
    /// Entry id.
    pub id: Uuid,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The acting user, if any.
    pub actor_user_id: Option<Uuid>,
    /// The acting API key, if the call used one.
    pub actor_api_key_id: Option<Uuid>,
    /// The actor's role at the time.
    pub actor_role: Option<String>,
    /// What was done (`admin.user.update`).
    pub action: String,
    /// The table acted on.
    pub target_table: Option<String>,
    /// The row acted on.
    pub target_id: Option<String>,
    /// Client address.
    pub ip_address: Option<String>,
    /// Client software.
    pub user_agent: Option<String>,
    /// The request, to match with logs.
    pub request_id: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// What the action recorded about itself; its shape depends on the
    /// action.
    pub details: Value,
}

impl From<audit::AuditEntry> for AuditRecord {
    fn from(r: audit::AuditEntry) -> Self {
        Self {
            id: r.id,
            occurred_at: r.occurred_at,
            actor_user_id: r.actor_user_id,
            actor_api_key_id: r.actor_api_key_id,
            actor_role: r.actor_role,
            action: r.action,
            target_table: r.target_table,
            target_id: r.target_id,
            ip_address: r.ip_address,
            user_agent: r.user_agent,
            request_id: r.request_id,
            outcome: r.outcome,
            details: r.details,
        }
    }
}

/// `GET /admin/audit` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AuditPage {
    /// Entries returned (at most the limit asked for).
    pub total: usize,
    /// The entries, newest first.
    pub data: Vec<AuditRecord>,
}

/// `GET /admin/audit`: the newest audit entries matching the filters
/// (action, actor, target, outcome, time range), addresses decrypted.
pub async fn audit_log(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Query(q): Query<AuditQuery>,
) -> Result<JsonOut<AuditPage>, ApiError> {
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
    let rows = bp_store::reading!(state.db, pool => audit::search(pool, &filter, q.limit.unwrap_or(100)))?;
    admin
        .audit(&state, "admin.audit.view", None, "success", json!({}))
        .await?;
    let data: Vec<AuditRecord> = rows.into_iter().map(AuditRecord::from).collect();
    Ok(JsonOut(AuditPage {
        total: data.len(),
        data,
    }))
}

/// This module's endpoints.
pub(crate) fn routes(t: &mut Table) {
    t.add(
        Endpoint::admin(Verb::Get, "/admin/users", "Accounts", "admin.users.list")
            .query::<UsersQuery>()
            .returns::<AdminUserPage>(),
        list_users,
    );
    t.add(
        Endpoint::admin(Verb::Get, "/admin/users/{id}", "One account", "admin.user.view")
            .returns::<AdminUserDetail>(),
        get_user,
    );
    t.add(
        Endpoint::admin(
            Verb::Put,
            "/admin/users/{id}",
            "Change role, tier, state; unlock",
            "admin.user.update",
        )
        .body::<UpdateUserBody>()
        .returns::<AdminUserUpdated>(),
        update_user,
    );
    t.add(
        Endpoint::admin(
            Verb::Delete,
            "/admin/users/{id}",
            "Delete an account",
            "admin.user.delete",
        )
        .returns::<super::Message>(),
        delete_user,
    );
    t.add(
        Endpoint::admin(
            Verb::Get,
            "/admin/metrics",
            "Platform totals",
            "admin.metrics.view",
        )
        .returns::<PlatformMetrics>(),
        metrics,
    );
    t.add(
        Endpoint::admin(
            Verb::Get,
            "/admin/metrics/usage",
            "Daily rollups",
            "admin.metrics.usage",
        )
        .query::<UsageQuery>()
        .returns::<UsageRollups>(),
        usage,
    );
    t.add(
        Endpoint::admin(
            Verb::Post,
            "/admin/cache/clear",
            "Clear cached data",
            "admin.cache.clear",
        )
        .optional_body::<ClearBody>()
        .returns::<CacheCleared>(),
        clear_cache,
    );
    t.add(
        Endpoint::admin(
            Verb::Post,
            "/admin/cache/invalidate/{id}",
            "Forget a user's cached data",
            "admin.cache.invalidate",
        )
        .returns::<UserCacheInvalidated>(),
        invalidate_user,
    );
    t.add(
        Endpoint::admin(
            Verb::Get,
            "/admin/feature-flags",
            "Feature flags",
            "admin.flags.list",
        )
        .returns::<FlagList>(),
        list_flags,
    );
    // PUT and POST both create or replace a flag (the original clients use both).
    for verb in [Verb::Put, Verb::Post] {
        t.add(
            Endpoint::admin(
                verb,
                "/admin/feature-flags",
                "Create or replace a flag",
                "admin.flags.set",
            )
            .body::<FlagBody>()
            .returns::<FlagView>(),
            set_flag,
        );
    }
    t.add(
        Endpoint::admin(
            Verb::Delete,
            "/admin/feature-flags/{name}",
            "Delete a flag",
            "admin.flags.delete",
        )
        .returns::<super::Message>(),
        delete_flag,
    );
    t.add(
        Endpoint::admin(Verb::Get, "/admin/audit", "Audit log", "admin.audit.view")
            .query::<AuditQuery>()
            .returns::<AuditPage>(),
        audit_log,
    );
}
