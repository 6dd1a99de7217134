//! The route table's `Access` column, enforced: [`enforce`] runs before a
//! route's handler (a route layer added by [`crate::routes::Table::add`])
//! and refuses a caller the endpoint does not admit, before the body is
//! read. Anonymous callers and bad credentials get 401, a credential that
//! could not be checked during a database outage 503, and a lower role or
//! an API key on a session-only route 403; a refused admin call is audited
//! under the endpoint's action. Handlers keep their own checks as a second
//! line.

use axum::extract::{FromRequestParts, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::principal::AuthOutcome;
use crate::error::ApiError;
use crate::extract::Client;
use crate::routes::Access;
use crate::state::AppState;

/// Why a caller is refused.
fn refusal(access: Access, outcome: Option<&AuthOutcome>) -> Option<ApiError> {
    let principal = match (access, outcome) {
        (Access::Public | Access::Optional, _) => return None,
        (_, Some(AuthOutcome::Authenticated(p))) => p,
        (_, Some(AuthOutcome::Unverifiable)) => {
            return Some(ApiError::Unavailable("database unavailable".into()));
        }
        (_, Some(AuthOutcome::Failed(_))) => {
            return Some(ApiError::Unauthorized("Invalid or expired credentials".into()));
        }
        (_, Some(AuthOutcome::Anonymous) | None) => {
            return Some(ApiError::Unauthorized("Authentication required".into()));
        }
    };
    let session_only = matches!(access, Access::Session | Access::Developer | Access::Admin);
    if session_only && principal.api_key_id().is_some() {
        return Some(ApiError::Denied(
            "API keys cannot be used on this endpoint".into(),
        ));
    }
    match access {
        Access::Developer => principal.require_role(&["developer", "admin"]).err(),
        Access::Admin => principal.require_role(&["admin"]).err(),
        _ => None,
    }
}

/// Route layer: refuses callers `access` does not admit; audits refused
/// admin calls as `audit_action`.
pub async fn enforce(
    access: Access,
    audit_action: Option<&'static str>,
    req: Request,
    next: Next,
) -> Response {
    let Some(refused) = refusal(access, req.extensions().get::<AuthOutcome>()) else {
        return next.run(req).await;
    };
    let principal = match req.extensions().get::<AuthOutcome>() {
        Some(AuthOutcome::Authenticated(p)) => Some(p.clone()),
        _ => None,
    };
    let state = req.extensions().get::<AppState>().cloned();
    if let (Some(action), ApiError::Denied(_), Some(p), Some(state)) =
        (audit_action, &refused, principal, state)
    {
        let (mut parts, _) = req.into_parts();
        let client = Client::from_request_parts(&mut parts, &state)
            .await
            .unwrap_or_default();
        let event = crate::audit::Event {
            action,
            target: None,
            outcome: "denied",
            details: json!({}),
        };
        if let Err(e) = crate::audit::record(&state, &client, crate::audit::Actor::from(&*p), event).await {
            return e.into_response();
        }
    }
    refused.into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::auth::{Principal, Via};

    fn principal(role: &str, key: bool) -> AuthOutcome {
        let via = if key {
            Via::ApiKey {
                key_id: uuid::Uuid::nil(),
                scopes: vec!["admin".into()],
                limit: None,
            }
        } else {
            Via::Session {
                session_id: uuid::Uuid::nil(),
            }
        };
        AuthOutcome::Authenticated(Arc::new(Principal {
            user_id: uuid::Uuid::nil(),
            email: "a@example.com".into(),
            role: role.into(),
            tier: "free".into(),
            via,
        }))
    }

    fn status(access: Access, outcome: &AuthOutcome) -> u16 {
        refusal(access, Some(outcome)).map_or(200, |e| e.status_code().as_u16())
    }

    #[test]
    fn each_access_level_admits_exactly_its_callers() {
        let anonymous = AuthOutcome::Anonymous;
        let (user, developer, admin) = (
            principal("user", false),
            principal("developer", false),
            principal("admin", false),
        );
        let admin_key = principal("admin", true);
        for outcome in [&anonymous, &user, &admin_key] {
            assert_eq!(status(Access::Public, outcome), 200);
            assert_eq!(status(Access::Optional, outcome), 200);
        }
        assert_eq!(status(Access::Session, &anonymous), 401);
        assert_eq!(status(Access::Session, &user), 200);
        assert_eq!(status(Access::Session, &admin_key), 403);
        assert_eq!(status(Access::SessionOrKey, &admin_key), 200);
        assert_eq!(status(Access::Developer, &user), 403);
        assert_eq!(status(Access::Developer, &developer), 200);
        assert_eq!(status(Access::Developer, &admin), 200);
        assert_eq!(status(Access::Admin, &developer), 403);
        assert_eq!(status(Access::Admin, &admin), 200);
        assert_eq!(
            status(Access::Admin, &admin_key),
            403,
            "an admin's key is not a session"
        );
        assert_eq!(status(Access::Admin, &AuthOutcome::Unverifiable), 503);
        assert_eq!(status(Access::Developer, &AuthOutcome::Failed("bad")), 401);
    }
}
