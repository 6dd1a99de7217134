//! Appending to `auth.audit_log` from a request: who (user, API key,
//! role), what (action, target table and id), from where (the client's
//! address and software, stored encrypted), the request id and the outcome.
//! Written in the request, so an audited action is never reported done
//! while its row is missing.

use bp_store::audit::{self, NewAuditEntry};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::Client;
use crate::state::AppState;

/// Who acted.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// The acting user, when known.
    pub user_id: Option<Uuid>,
    /// The API key used, if any.
    pub api_key_id: Option<Uuid>,
    /// The actor's role.
    pub role: Option<String>,
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Self {
        Self {
            user_id: Some(p.user_id),
            api_key_id: p.api_key_id(),
            role: Some(p.role.clone()),
        }
    }
}

/// One audited event.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// `auth.login`, `apikey.rotate`, `admin.user.view`...
    pub action: &'a str,
    /// The table and row acted on.
    pub target: Option<(&'static str, String)>,
    /// `success`, `failure` or `denied`.
    pub outcome: &'static str,
    /// Details (never secrets).
    pub details: Value,
}

/// Appends one row for `event` by `actor` from `client`.
pub async fn record(
    state: &AppState,
    client: &Client,
    actor: Actor,
    event: Event<'_>,
) -> Result<(), ApiError> {
    let (target_table, target_id) = event
        .target
        .map_or((None, None), |(t, id)| (Some(t.to_owned()), Some(id)));
    audit::record(
        state.db.pool(),
        &NewAuditEntry {
            actor_user_id: actor.user_id,
            actor_api_key_id: actor.api_key_id,
            actor_role: actor.role,
            action: event.action.to_owned(),
            target_table,
            target_id,
            ip_address: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            request_id: client.request_id.clone(),
            outcome: event.outcome,
            details: Some(event.details),
        },
    )
    .await?;
    Ok(())
}
