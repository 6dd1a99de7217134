//! The API's one error type: each variant has a status code and becomes the
//! `{"error": ..., "details": ...}` body. A 5xx logs its cause and sends no
//! internal detail.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to a client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No route or no such resource.
    #[error("not found")]
    NotFound,
    /// The resource exists but the caller may not see or change it.
    #[error("forbidden")]
    Forbidden,
    /// The route exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Malformed or invalid input; the message says what.
    #[error("{0}")]
    BadRequest(String),
    /// No credentials, or credentials that are not valid.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed; the message says why.
    #[error("{0}")]
    Denied(String),
    /// The account is locked after repeated failed logins.
    #[error("account locked")]
    Locked {
        /// When the lock ends.
        until: chrono::DateTime<chrono::Utc>,
    },
    /// Over the rate limit.
    #[error("Rate limit exceeded")]
    RateLimited(bp_cache::RateDecision),
    /// The body is larger than the route accepts.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The body is not JSON (`Content-Type`).
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// The write collides with an existing row (e.g. `email already exists`).
    #[error("{0}")]
    Conflict(String),
    /// A dependency is down; the message is safe to show.
    #[error("{0}")]
    Unavailable(String),
    /// A failure that is our fault; logged, never shown.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Denied(_) | Self::Locked { .. } => StatusCode::FORBIDDEN,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<bp_store::StoreError> for ApiError {
    /// Caller mistakes keep their 4xx meaning; only our own failures are 5xx.
    /// A handler that wants a friendlier conflict message (`email already
    /// exists`) matches the constraint before converting.
    fn from(err: bp_store::StoreError) -> Self {
        use bp_store::StoreError;
        match err {
            StoreError::NotFound { .. } => Self::NotFound,
            StoreError::Forbidden { .. } => Self::Forbidden,
            StoreError::Conflict { constraint } => Self::Conflict(format!("conflict on {constraint}")),
            StoreError::Invalid { field, reason } => Self::BadRequest(format!("invalid {field}: {reason}")),
            StoreError::Unavailable(cause) => {
                // The caller sees only "database unavailable"; the log says
                // why (a pool timeout, a refused connection, a deadlock).
                tracing::warn!(%cause, "database unavailable");
                Self::Unavailable("database unavailable".into())
            }
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<bp_engine::InputError> for ApiError {
    /// `invalid FIELD: REASON`, a 400.
    fn from(err: bp_engine::InputError) -> Self {
        Self::BadRequest(err.to_string())
    }
}

impl From<bp_service::ServiceError> for ApiError {
    fn from(err: bp_service::ServiceError) -> Self {
        use bp_service::ServiceError;
        match err {
            ServiceError::Invalid(e) => e.into(),
            ServiceError::Store(e) => e.into(),
            ServiceError::Embedding(reason) => {
                tracing::warn!(%reason, "embedding provider failed");
                Self::Unavailable("embedding provider unavailable".into())
            }
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        bp_store::StoreError::from(err).into()
    }
}

impl From<bp_cache::CacheError> for ApiError {
    fn from(err: bp_cache::CacheError) -> Self {
        if err.is_unavailable() {
            Self::Unavailable("cache unavailable".into())
        } else if let bp_cache::CacheError::Invalid { field, reason } = &err {
            Self::BadRequest(format!("invalid {field}: {reason}"))
        } else {
            Self::Internal(Box::new(err))
        }
    }
}

/// `Retry-After` of a 503: a restarting database is usually back within seconds.
pub const RETRY_AFTER_SECS: &str = "2";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        match &self {
            Self::Locked { until } => {
                return (
                    status,
                    Json(json!({
                        "error": "account locked",
                        "details": { "locked_until": until },
                        "locked_until": until,
                    })),
                )
                    .into_response();
            }
            Self::RateLimited(decision) => {
                let retry = decision.retry_after().as_secs_f64().ceil().max(1.0) as u64;
                let mut response = (
                    status,
                    Json(json!({
                        "error": "Rate limit exceeded",
                        "message": format!("Too many requests; try again in {retry} seconds"),
                        "retry_after": retry,
                    })),
                )
                    .into_response();
                crate::limits::set_headers(response.headers_mut(), decision);
                if let Ok(v) = axum::http::HeaderValue::from_str(&retry.to_string()) {
                    response.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
                }
                return response;
            }
            _ => {}
        }
        if let Self::Unavailable(reason) = &self {
            tracing::warn!(%reason, "answered 503");
            let mut response = (status, Json(json!({ "error": self.to_string() }))).into_response();
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECS),
            );
            return response;
        }
        if let Self::Internal(cause) = &self {
            let mut chain = cause.to_string();
            let mut source = cause.source();
            while let Some(s) = source {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                source = s.source();
            }
            tracing::error!(error = %chain, "request failed");
        }
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bp_store::StoreError;

    #[test]
    fn store_errors_keep_their_client_status_and_hide_internal_detail() {
        let status = |e: StoreError| ApiError::from(e).status_code();
        assert_eq!(
            status(StoreError::NotFound { entity: "user" }),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(StoreError::Conflict {
                constraint: "users_email_key".into()
            }),
            StatusCode::CONFLICT
        );
        assert_eq!(
            status(StoreError::Forbidden {
                entity: "history item"
            }),
            StatusCode::FORBIDDEN
        );
        let invalid = StoreError::Invalid {
            field: "email".into(),
            reason: "is not an email address".into(),
        };
        assert_eq!(status(invalid), StatusCode::BAD_REQUEST);
        let down = ApiError::from(StoreError::Unavailable("connection reset by 10.0.0.5".into()));
        assert_eq!(down.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            !down.to_string().contains("10.0.0.5"),
            "internal detail in a 5xx body"
        );
        assert_eq!(
            status(StoreError::Rejected("x".into())),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
