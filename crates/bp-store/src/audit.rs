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

/// An audit row as read back.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditEntry {
    /// Primary key.
    pub id: Uuid,
    /// When.
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// The acting user.
    pub actor_user_id: Option<Uuid>,
    /// What was done.
    pub action: String,
    /// The row acted on.
    pub target_id: Option<String>,
    /// The outcome.
    pub outcome: String,
    /// Details.
    pub details: Value,
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

/// The newest entries, optionally for one action.
pub async fn recent(
    db: impl PgExecutor<'_>,
    action: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, occurred_at, actor_user_id, action, target_id, outcome, details FROM auth.audit_log
         WHERE ($1::text IS NULL OR action = $1) ORDER BY occurred_at DESC LIMIT $2",
    )
    .bind(action)
    .bind(limit.clamp(1, 1000))
    .fetch_all(db)
    .await?)
}
