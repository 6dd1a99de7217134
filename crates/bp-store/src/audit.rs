//! `auth.audit_log`: who did what to which row, with the outcome. Admin
//! actions and security events append here; rows are never updated.

use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::{StoreError, check_opt_text, check_text, invalid};

/// One audit entry.
#[derive(Debug, Clone, Default)]
pub struct NewAuditEntry {
    /// The acting user.
    pub actor_user_id: Option<Uuid>,
    /// The acting API key.
    pub actor_api_key_id: Option<Uuid>,
    /// The actor's role.
    pub actor_role: Option<String>,
    /// What was done (`admin.user.update`, `auth.login`...), up to 100 characters.
    pub action: String,
    /// The table acted on.
    pub target_table: Option<String>,
    /// The row acted on.
    pub target_id: Option<String>,
    /// Client address (stored encrypted).
    pub ip_address: Option<String>,
    /// Client software (stored encrypted).
    pub user_agent: Option<String>,
    /// The request.
    pub request_id: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: &'static str,
    /// Details, a JSON object (never secrets).
    pub details: Option<Value>,
}

/// An audit row as read back (the address and software decrypted).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditEntry {
    /// Primary key.
    pub id: Uuid,
    /// When.
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// The acting user.
    pub actor_user_id: Option<Uuid>,
    /// The acting API key.
    pub actor_api_key_id: Option<Uuid>,
    /// The actor's role.
    pub actor_role: Option<String>,
    /// What was done.
    pub action: String,
    /// The table acted on.
    pub target_table: Option<String>,
    /// The row acted on.
    pub target_id: Option<String>,
    /// Client address.
    #[sqlx(try_from = "crate::crypto::PiiOpt")]
    pub ip_address: Option<String>,
    /// Client software.
    #[sqlx(try_from = "crate::crypto::PiiOpt")]
    pub user_agent: Option<String>,
    /// The request.
    pub request_id: Option<String>,
    /// The outcome.
    pub outcome: String,
    /// Details.
    pub details: Value,
}

/// Filters of the audit list; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exact action (`auth.login`).
    pub action: Option<String>,
    /// The acting user.
    pub actor_user_id: Option<Uuid>,
    /// The row acted on.
    pub target_id: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: Option<String>,
    /// At or after.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Before.
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

/// Appends one entry.
pub async fn record(db: impl PgExecutor<'_>, entry: &NewAuditEntry) -> Result<(), StoreError> {
    check_text("action", &entry.action, 1, 100)?;
    check_opt_text("target_table", entry.target_table.as_deref(), 100)?;
    check_opt_text("target_id", entry.target_id.as_deref(), 255)?;
    check_opt_text("request_id", entry.request_id.as_deref(), 128)?;
    if !matches!(entry.outcome, "success" | "failure" | "denied") {
        return Err(invalid("outcome", "must be success, failure or denied"));
    }
    if entry.details.as_ref().is_some_and(|d| !d.is_object()) {
        return Err(invalid("details", "must be a JSON object"));
    }
    sqlx::query(
        "INSERT INTO auth.audit_log (actor_user_id, actor_api_key_id, actor_role, action, target_table,
             target_id, ip_address, user_agent, request_id, outcome, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11, '{}'::jsonb))",
    )
    .bind(entry.actor_user_id)
    .bind(entry.actor_api_key_id)
    .bind(&entry.actor_role)
    .bind(&entry.action)
    .bind(&entry.target_table)
    .bind(&entry.target_id)
    .bind(crate::crypto::seal_opt(entry.ip_address.as_deref())?)
    .bind(crate::crypto::seal_opt(entry.user_agent.as_deref())?)
    .bind(&entry.request_id)
    .bind(entry.outcome)
    .bind(&entry.details)
    .execute(db)
    .await?;
    Ok(())
}

/// The newest entries matching `filter`, at most `limit` (1..=1000).
pub async fn search(
    db: impl PgExecutor<'_>,
    filter: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    check_opt_text("action", filter.action.as_deref(), 100)?;
    check_opt_text("target_id", filter.target_id.as_deref(), 255)?;
    if filter
        .outcome
        .as_deref()
        .is_some_and(|o| !matches!(o, "success" | "failure" | "denied"))
    {
        return Err(invalid("outcome", "must be success, failure or denied"));
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(invalid("from", "must not be after to"));
    }
    Ok(sqlx::query_as(
        "SELECT id, occurred_at, actor_user_id, actor_api_key_id, actor_role, action, target_table, target_id,
                ip_address, user_agent, request_id, outcome, details
         FROM auth.audit_log
         WHERE ($1::text IS NULL OR action = $1) AND ($2::uuid IS NULL OR actor_user_id = $2)
           AND ($3::text IS NULL OR target_id = $3) AND ($4::text IS NULL OR outcome = $4)
           AND ($5::timestamptz IS NULL OR occurred_at >= $5) AND ($6::timestamptz IS NULL OR occurred_at < $6)
         ORDER BY occurred_at DESC, id DESC LIMIT $7",
    )
    .bind(&filter.action)
    .bind(filter.actor_user_id)
    .bind(&filter.target_id)
    .bind(&filter.outcome)
    .bind(filter.from)
    .bind(filter.to)
    .bind(limit.clamp(1, 1000))
    .fetch_all(db)
    .await?)
}

/// The newest entries, optionally for one action.
pub async fn recent(
    db: impl PgExecutor<'_>,
    action: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    search(
        db,
        &AuditFilter {
            action: action.map(str::to_owned),
            ..AuditFilter::default()
        },
        limit,
    )
    .await
}

/// Deletes entries older than `days` (the retention setting,
/// `BP_AUDIT_RETENTION_DAYS`); returns how many. The service's role may not
/// delete audit rows, so this runs as the owner (`betterprompts db prune-audit`).
pub async fn prune(db: impl PgExecutor<'_>, days: u32) -> Result<u64, StoreError> {
    if days == 0 {
        return Err(invalid("days", "must be at least 1"));
    }
    let done =
        sqlx::query("DELETE FROM auth.audit_log WHERE occurred_at < now() - make_interval(days => $1)")
            .bind(i32::try_from(days).unwrap_or(i32::MAX))
            .execute(db)
            .await?;
    Ok(done.rows_affected())
}
