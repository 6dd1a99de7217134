//! `/auth/*`: register, login, refresh (rotation with reuse detection),
//! logout, profile, change-password, email verification.

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bp_store::StoreError;
use bp_store::analytics::NewActivity;
use bp_store::sessions::NewSession;
use bp_store::users::{self, NewUser, ProfileUpdate};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::principal::CachedSession;
use crate::auth::tokens::{digest, random_token};
use crate::auth::{Claims, User, password};
use crate::cookies;
use crate::error::ApiError;
use crate::extract::{Client, Json, OptionalJson};
use crate::mail::Mail;
use crate::routes::{Access, Endpoint, Table, Verb};
use crate::state::AppState;

/// Failed logins before the account locks.
pub const MAX_FAILED_LOGINS: i32 = 5;
/// How long a lock lasts.
pub const LOCK_MINUTES: i64 = 30;
/// Access-token lifetime.
pub const ACCESS_SECS: i64 = 15 * 60;
/// Access-token lifetime with `remember_me`.
pub const REMEMBER_SECS: i64 = 30 * 24 * 3600;
/// Refresh-token lifetime.
pub const REFRESH_SECS: i64 = 7 * 24 * 3600;
/// Email-verification token lifetime.
pub const VERIFY_SECS: i64 = 24 * 3600;

/// The public view of a user.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UserView {
    /// Id.
    pub id: Uuid,
    /// Email address.
    pub email: String,
    /// Username.
    pub username: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// Can sign in.
    pub is_active: bool,
    /// Email verified.
    pub is_verified: bool,
    /// `user`, `developer` or `admin`.
    pub role: String,
    /// The role, as a list (the original clients read this).
    pub roles: Vec<String>,
    /// Rate-limit tier.
    pub tier: String,
    /// Free-form preferences of the profile.
    pub preferences: Value,
    /// Last sign-in.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: Option<DateTime<Utc>>,
    /// Last changed.
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<&users::User> for UserView {
    fn from(u: &users::User) -> Self {
        let role = u.role.clone().unwrap_or_else(|| "user".into());
        Self {
            id: u.id,
            email: u.email.clone(),
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            avatar_url: u.avatar_url.clone(),
            is_active: u.is_active.unwrap_or(true),
            is_verified: u.is_verified.unwrap_or(false),
            roles: vec![role.clone()],
            role,
            tier: u.tier.clone().unwrap_or_else(|| "free".into()),
            preferences: u.preferences.clone().unwrap_or_else(|| json!({})),
            last_login_at: u.last_login_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// A signed-in session: register, login and refresh answer this.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Tokens {
    /// The account.
    pub user: UserView,
    /// Bearer access token (also set as the `auth_token` cookie); empty for
    /// a cookie-only session (the `X-BP-Cookie-Session` request header, or
    /// a refresh by cookie).
    pub access_token: String,
    /// Refresh token (also set as the `refresh_token` cookie); single use;
    /// empty for a cookie-only session.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// `POST /auth/change-password` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PasswordChanged {
    /// What was done.
    pub message: String,
    /// Sessions of other devices that were ended.
    pub revoked_sessions: u64,
}

/// `POST /auth/verify-email` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Verified {
    /// What was done.
    pub message: String,
    /// The verified account.
    pub user: UserView,
}

fn conflict_message(err: StoreError) -> ApiError {
    match err {
        StoreError::Conflict { constraint } if constraint == "users_email_key" => {
            ApiError::Conflict("email already exists".into())
        }
        StoreError::Conflict { constraint } if constraint == "users_username_key" => {
            ApiError::Conflict("username already exists".into())
        }
        other => other.into(),
    }
}

struct Issued {
    access_token: String,
    refresh_token: String,
    expires_in: i64,
    refresh_secs: i64,
}

/// Opens a session (or rotates `rotate_from` into a new one) and signs its access token.
async fn issue(
    state: &AppState,
    user: &users::User,
    remember: bool,
    client: &Client,
    rotate_from: Option<&str>,
) -> Result<Issued, ApiError> {
    let jti = random_token()?;
    let refresh_token = random_token()?;
    let refresh_secs = if remember { REMEMBER_SECS } else { REFRESH_SECS };
    let expires_in = if remember { REMEMBER_SECS } else { ACCESS_SECS };
    let now = Utc::now();
    let new = NewSession {
        user_id: user.id,
        token_hash: digest(&jti),
        refresh_token_hash: digest(&refresh_token),
        user_agent: client.user_agent.clone(),
        ip_address: client.ip.clone(),
        expires_at: now + chrono::Duration::seconds(refresh_secs),
    };
    let session = match rotate_from {
        Some(old) => bp_store::sessions::rotate_session(state.db.pool(), &digest(old), &new)
            .await?
            // Another request rotated the same token first.
            .ok_or_else(|| ApiError::Unauthorized("Invalid or expired refresh token".into()))?,
        None => bp_store::sessions::create_session(state.db.pool(), &new).await?,
    };
    let role = user.role.clone().unwrap_or_else(|| "user".into());
    let claims = Claims {
        sub: user.id.to_string(),
        user_id: user.id,
        email: user.email.clone(),
        roles: vec![role],
        tier: user.tier.clone().unwrap_or_else(|| "free".into()),
        sid: session.id,
        iss: crate::auth::jwt::ISSUER.into(),
        iat: now.timestamp(),
        nbf: now.timestamp(),
        exp: now.timestamp() + expires_in,
        jti,
    };
    let cached = CachedSession {
        token_hash: session.token_hash.clone(),
        expires_at: session.expires_at,
    };
    // A miss here only costs a database lookup on the next request.
    let _ = state
        .cache
        .set_session(&session.id.to_string(), &user.id.to_string(), &cached, None)
        .await;
    Ok(Issued {
        access_token: state.auth.keys.sign(&claims),
        refresh_token,
        expires_in,
        refresh_secs,
    })
}

/// The session answer: cookies always; the tokens in the body too, unless
/// the client keeps a cookie-only session (`cookie_only`), whose body then
/// has empty token fields.
fn token_response(
    state: &AppState,
    status: StatusCode,
    user: &users::User,
    issued: &Issued,
    cookie_only: bool,
) -> Result<Response, ApiError> {
    let csrf = crate::auth::tokens::random_token()?;
    let in_body = |token: &str| {
        if cookie_only {
            String::new()
        } else {
            token.to_owned()
        }
    };
    let mut response = (
        status,
        JsonOut(Tokens {
            user: UserView::from(user),
            access_token: in_body(&issued.access_token),
            refresh_token: in_body(&issued.refresh_token),
            token_type: "Bearer".into(),
            expires_in: issued.expires_in,
        }),
    )
        .into_response();
    cookies::set_tokens(
        response.headers_mut(),
        &issued.access_token,
        &issued.refresh_token,
        issued.refresh_secs,
        state.auth.cookie_secure,
        &csrf,
    );
    Ok(response)
}

/// Appends the audit row of an authentication event about `user` (`None`:
/// an unknown account, whose attempted name is not recorded).
async fn audit_auth(
    state: &AppState,
    client: &Client,
    user: Option<&users::User>,
    action: &str,
    outcome: &'static str,
    details: Value,
) -> Result<(), ApiError> {
    crate::audit::record(
        state,
        client,
        crate::audit::Actor {
            user_id: user.map(|u| u.id),
            api_key_id: None,
            role: user.and_then(|u| u.role.clone()),
        },
        crate::audit::Event {
            action,
            target: user.map(|u| ("auth.users", u.id.to_string())),
            outcome,
            details,
        },
    )
    .await
}

fn activity(user: uuid::Uuid, kind: &str, client: &Client, data: Value) -> NewActivity {
    NewActivity {
        user_id: user,
        activity_type: kind.into(),
        activity_data: Some(data),
        session_id: None,
        ip_address: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    }
}

async fn send_verification(state: &AppState, user: &users::User) -> Result<(), ApiError> {
    let token = random_token()?;
    let expires = Utc::now() + chrono::Duration::seconds(VERIFY_SECS);
    users::set_email_verification(state.db.pool(), user.id, &digest(&token), expires).await?;
    state
        .outbox
        .send(Mail {
            to: user.email.clone(),
            subject: "Verify your BetterPrompts email".into(),
            body: format!(
                "Your verification code is {token}\nPOST /api/v1/auth/verify-email with {{\"token\": \"{token}\"}} \
                 (or with your email and this code) before {expires}."
            ),
        })
        .await;
    Ok(())
}

/// `POST /auth/register` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RegisterBody {
    email: String,
    username: String,
    password: String,
    confirm_password: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
}

/// `POST /auth/register`: 201 with the user and tokens.
pub async fn register(
    State(state): State<AppState>,
    client: Client,
    headers: axum::http::HeaderMap,
    Json(body): Json<RegisterBody>,
) -> Result<Response, ApiError> {
    if body.password != body.confirm_password {
        return Err(ApiError::BadRequest("passwords do not match".into()));
    }
    password::check_policy(&body.password)?;
    let mut new = NewUser {
        email: body.email.trim().to_owned(),
        username: body.username.trim().to_owned(),
        // A placeholder so the other fields are checked before the 250 ms hash.
        password_hash: "-".into(),
        first_name: body.first_name,
        last_name: body.last_name,
        role: None,
        tier: None,
    };
    new.validate()?;
    new.password_hash = password::hash(&body.password, state.auth.bcrypt_cost).await?;
    let user = users::create_user(state.db.pool(), &new)
        .await
        .map_err(conflict_message)?;
    send_verification(&state, &user).await?;
    let issued = issue(&state, &user, false, &client, None).await?;
    state
        .recorder
        .activity(activity(user.id, "register", &client, json!({})));
    token_response(
        &state,
        StatusCode::CREATED,
        &user,
        &issued,
        cookies::cookie_session(&headers),
    )
}

/// `POST /auth/login` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct LoginBody {
    #[serde(alias = "email", alias = "username")]
    email_or_username: String,
    password: String,
    #[serde(default)]
    remember_me: bool,
}

/// `POST /auth/login`: 200 with the user and tokens; 401, or 403 when locked or inactive.
pub async fn login(
    State(state): State<AppState>,
    client: Client,
    headers: axum::http::HeaderMap,
    Json(body): Json<LoginBody>,
) -> Result<Response, ApiError> {
    let login = body.email_or_username.trim().to_lowercase();
    if login.is_empty() || login.len() > 255 || body.password.is_empty() {
        return Err(ApiError::BadRequest(
            "email_or_username and password are required".into(),
        ));
    }
    // Per account, on top of the per-address limit of the route.
    crate::limits::check(
        &state,
        &format!("login:{login}"),
        state.limits.login_per_account(),
    )
    .await?;
    let invalid = || ApiError::Unauthorized("Invalid credentials".into());
    let user = match users::get_user_by_email_or_username(state.db.pool(), &login).await {
        Ok(user) => user,
        Err(StoreError::NotFound { .. }) => {
            // Same work as for a real account, so timing does not reveal which exist.
            let _ = password::verify(&body.password, &state.auth.dummy_hash).await?;
            audit_auth(
                &state,
                &client,
                None,
                "auth.login",
                "failure",
                json!({ "reason": "unknown_account" }),
            )
            .await?;
            return Err(invalid());
        }
        Err(e) => return Err(e.into()),
    };
    let now = Utc::now();
    if let Some(until) = user.locked_until.filter(|u| *u > now) {
        let _ = password::verify(&body.password, &state.auth.dummy_hash).await?;
        audit_auth(
            &state,
            &client,
            Some(&user),
            "auth.login",
            "denied",
            json!({ "reason": "locked" }),
        )
        .await?;
        return Err(ApiError::Locked { until });
    }
    if !password::verify(&body.password, &user.password_hash).await? {
        let lock = chrono::Duration::minutes(LOCK_MINUTES);
        let (_, locked) =
            users::record_failed_login(state.db.pool(), user.id, MAX_FAILED_LOGINS, lock).await?;
        state
            .recorder
            .activity(activity(user.id, "login_failed", &client, json!({})));
        audit_auth(
            &state,
            &client,
            Some(&user),
            "auth.login",
            "failure",
            json!({ "reason": "bad_password" }),
        )
        .await?;
        if let Some(until) = locked {
            audit_auth(
                &state,
                &client,
                Some(&user),
                "auth.lockout",
                "success",
                json!({ "locked_until": until, "failed_attempts": MAX_FAILED_LOGINS }),
            )
            .await?;
        }
        return Err(match locked {
            Some(until) => ApiError::Locked { until },
            None => invalid(),
        });
    }
    if user.is_active == Some(false) {
        audit_auth(
            &state,
            &client,
            Some(&user),
            "auth.login",
            "denied",
            json!({ "reason": "inactive" }),
        )
        .await?;
        return Err(ApiError::Denied("account is inactive".into()));
    }
    users::record_successful_login(state.db.pool(), user.id).await?;
    let issued = issue(&state, &user, body.remember_me, &client, None).await?;
    audit_auth(&state, &client, Some(&user), "auth.login", "success", json!({})).await?;
    state
        .recorder
        .activity(activity(user.id, "login", &client, json!({})));
    token_response(
        &state,
        StatusCode::OK,
        &user,
        &issued,
        cookies::cookie_session(&headers),
    )
}

/// The answer to a cookie request without its CSRF header.
pub const CSRF_REFUSAL: &str =
    "CSRF check failed: send the csrf_token cookie's value in the X-CSRF-Token header";

/// `POST /auth/refresh` body (the `refresh_token` cookie works too).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct RefreshBody {
    #[serde(default)]
    refresh_token: Option<String>,
}

/// `POST /auth/refresh`: rotates the refresh token; a revoked one presented
/// again revokes its whole family.
pub async fn refresh(
    State(state): State<AppState>,
    client: Client,
    headers: axum::http::HeaderMap,
    OptionalJson(body): OptionalJson<RefreshBody>,
) -> Result<Response, ApiError> {
    let from_cookie = body.refresh_token.is_none();
    let token = body
        .refresh_token
        .or_else(|| cookies::get(&headers, cookies::REFRESH))
        .filter(|t| !t.is_empty() && t.len() <= 100)
        .ok_or_else(|| ApiError::BadRequest("refresh_token is required".into()))?;
    // A refresh the cookie authenticates is state-changing like any other
    // cookie request: it must repeat the CSRF cookie, before anything is
    // looked up or revoked.
    if from_cookie && !cookies::csrf_matches(&headers) {
        return Err(ApiError::Denied(CSRF_REFUSAL.into()));
    }
    let refused = || ApiError::Unauthorized("Invalid or expired refresh token".into());
    let session =
        match bp_store::sessions::get_session_by_refresh_hash(state.db.pool(), &digest(&token)).await {
            Ok(s) => s,
            Err(StoreError::NotFound { .. }) => return Err(refused()),
            Err(e) => return Err(e.into()),
        };
    if session.revoked_at.is_some() {
        let revoked = bp_store::sessions::revoke_session_family(state.db.pool(), session.family_id).await?;
        let _ = state
            .cache
            .delete_user_sessions(&session.user_id.to_string())
            .await;
        tracing::warn!(user_id = %session.user_id, family = %session.family_id, revoked, "refresh token reuse: session family revoked");
        state.recorder.activity(activity(
            session.user_id,
            "refresh_token_reuse",
            &client,
            json!({ "revoked_sessions": revoked }),
        ));
        // The session names its owner; no need to load the account.
        crate::audit::record(
            &state,
            &client,
            crate::audit::Actor {
                user_id: Some(session.user_id),
                ..crate::audit::Actor::default()
            },
            crate::audit::Event {
                action: "auth.refresh_reuse",
                target: Some(("auth.users", session.user_id.to_string())),
                outcome: "denied",
                details: json!({ "family_id": session.family_id, "revoked_sessions": revoked }),
            },
        )
        .await?;
        return Err(ApiError::Unauthorized(
            "refresh token reuse detected; sign in again".into(),
        ));
    }
    // Expired, or of a family that was ended (a successor a rotation
    // inserted while its family was being ended).
    if session.expires_at <= Utc::now() || session.ended_at.is_some() {
        return Err(refused());
    }
    let user = users::get_user_by_id(state.db.pool(), session.user_id).await?;
    if user.is_active == Some(false) {
        return Err(ApiError::Denied("account is inactive".into()));
    }
    let remember = session.expires_at - session.created_at.unwrap_or(session.expires_at)
        > chrono::Duration::seconds(REFRESH_SECS);
    let issued = issue(&state, &user, remember, &client, Some(&token)).await?;
    let _ = state.cache.delete_session(&session.id.to_string()).await;
    audit_auth(
        &state,
        &client,
        Some(&user),
        "auth.refresh",
        "success",
        json!({ "family_id": session.family_id }),
    )
    .await?;
    token_response(
        &state,
        StatusCode::OK,
        &user,
        &issued,
        from_cookie || cookies::cookie_session(&headers),
    )
}

/// `POST /auth/logout`: ends the family of the given refresh token's
/// session (the body's, else the `refresh_token` cookie's), else of the
/// caller's, and always clears the cookies. It needs no valid access token:
/// a page whose access token expired must still be able to sign out. The
/// refresh cookie, like any cookie credential, needs the CSRF header.
pub async fn logout(
    State(state): State<AppState>,
    crate::auth::principal::CallerIfValid(caller): crate::auth::principal::CallerIfValid,
    headers: axum::http::HeaderMap,
    OptionalJson(body): OptionalJson<RefreshBody>,
) -> Result<Response, ApiError> {
    let from_body = body.refresh_token.filter(|t| !t.is_empty() && t.len() <= 100);
    let from_cookie = cookies::get(&headers, cookies::REFRESH).filter(|t| !t.is_empty() && t.len() <= 100);
    if from_body.is_none() && from_cookie.is_some() && !cookies::csrf_matches(&headers) {
        return Err(ApiError::Denied(CSRF_REFUSAL.into()));
    }
    let ended = match from_body.or(from_cookie) {
        Some(token) => {
            match bp_store::sessions::get_session_by_refresh_hash(state.db.pool(), &digest(&token)).await {
                // A token names its own session; with a caller, only the
                // caller's own.
                Ok(s) if caller.as_ref().is_none_or(|p| p.user_id == s.user_id) => Some((s.id, s.user_id)),
                Ok(_) | Err(StoreError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            }
        }
        None => None,
    }
    .or_else(|| {
        caller
            .as_ref()
            .and_then(|p| p.session_id().map(|id| (id, p.user_id)))
    });
    if let Some((id, user)) = ended {
        // Ends the family: rotated sessions' access tokens stop too, so every
        // cached session of the user is evicted and re-checked.
        bp_store::sessions::revoke_session(state.db.pool(), id).await?;
        let _ = state.cache.delete_user_sessions(&user.to_string()).await;
    }
    let mut response = JsonOut(super::Message::new("logged out successfully")).into_response();
    cookies::clear(response.headers_mut(), state.auth.cookie_secure);
    Ok(response)
}

/// `GET /auth/profile`, `GET /auth/me`.
pub async fn profile(State(state): State<AppState>, User(p): User) -> Result<JsonOut<UserView>, ApiError> {
    let user = users::get_user_by_id(state.db.pool(), p.user_id).await?;
    Ok(JsonOut(UserView::from(&user)))
}

/// `PUT /auth/profile` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    preferences: Option<Value>,
}

/// `PUT /auth/profile`.
pub async fn update_profile(
    State(state): State<AppState>,
    User(p): User,
    Json(body): Json<ProfileBody>,
) -> Result<JsonOut<UserView>, ApiError> {
    let update = ProfileUpdate {
        first_name: body.first_name,
        last_name: body.last_name,
        username: body.username.map(|u| u.trim().to_owned()),
        preferences: body.preferences,
    };
    let user = users::update_profile(state.db.pool(), p.user_id, &update)
        .await
        .map_err(conflict_message)?;
    Ok(JsonOut(UserView::from(&user)))
}

/// `POST /auth/change-password` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ChangePasswordBody {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

/// `POST /auth/change-password`: other sessions are revoked.
pub async fn change_password(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Json(body): Json<ChangePasswordBody>,
) -> Result<JsonOut<PasswordChanged>, ApiError> {
    if body.new_password != body.confirm_password {
        return Err(ApiError::BadRequest("passwords do not match".into()));
    }
    password::check_policy(&body.new_password)?;
    let user = users::get_user_by_id(state.db.pool(), p.user_id).await?;
    if !password::verify(&body.current_password, &user.password_hash).await? {
        audit_auth(
            &state,
            &client,
            Some(&user),
            "auth.password_change",
            "failure",
            json!({}),
        )
        .await?;
        // 403, not 401: the session is fine, a form field is wrong (a 401
        // would make a client refresh its session and send it again).
        return Err(ApiError::Denied("current password is incorrect".into()));
    }
    let hash = password::hash(&body.new_password, state.auth.bcrypt_cost).await?;
    users::set_password_hash(state.db.pool(), p.user_id, &hash).await?;
    let revoked =
        bp_store::sessions::revoke_user_sessions(state.db.pool(), p.user_id, p.session_id()).await?;
    // The current session re-caches itself from the database on its next request.
    let _ = state.cache.delete_user_sessions(&p.user_id.to_string()).await;
    state.recorder.activity(activity(
        p.user_id,
        "password_changed",
        &client,
        json!({ "revoked_sessions": revoked }),
    ));
    audit_auth(
        &state,
        &client,
        Some(&user),
        "auth.password_change",
        "success",
        json!({ "revoked_sessions": revoked }),
    )
    .await?;
    Ok(JsonOut(PasswordChanged {
        message: "password changed successfully".into(),
        revoked_sessions: revoked,
    }))
}

/// `POST /auth/verify-email` body: the token, or the email and the code (the same token).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct VerifyBody {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// `POST /auth/verify-email`.
pub async fn verify_email(
    State(state): State<AppState>,
    Json(body): Json<VerifyBody>,
) -> Result<JsonOut<Verified>, ApiError> {
    let (token, email) = match (body.token, body.email, body.code) {
        (Some(token), _, _) => (token, None),
        (None, Some(email), Some(code)) => (code, Some(email)),
        _ => return Err(ApiError::BadRequest("send token, or email and code".into())),
    };
    if token.is_empty() || token.len() > 100 {
        return Err(ApiError::BadRequest(
            "invalid or expired verification token".into(),
        ));
    }
    match users::verify_email(state.db.pool(), &digest(token.trim()), email.as_deref()).await? {
        Some(user) => Ok(JsonOut(Verified {
            message: "email verified".into(),
            user: UserView::from(&user),
        })),
        None => Err(ApiError::BadRequest(
            "invalid or expired verification token".into(),
        )),
    }
}

/// `POST /auth/resend-verification` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ResendBody {
    email: String,
}

/// `POST /auth/resend-verification`: the same answer whether or not the account exists.
pub async fn resend_verification(
    State(state): State<AppState>,
    Json(body): Json<ResendBody>,
) -> Result<JsonOut<super::Message>, ApiError> {
    match users::get_user_by_email(state.db.pool(), body.email.trim()).await {
        Ok(user) if user.is_verified != Some(true) => send_verification(&state, &user).await?,
        Ok(_) | Err(StoreError::NotFound { .. }) | Err(StoreError::Invalid { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(JsonOut(super::Message::new(
        "if the account exists and is not yet verified, a verification email has been sent",
    )))
}

/// This module's endpoints.
pub(crate) fn routes(t: &mut Table) {
    t.add(
        Endpoint::new(
            Verb::Post,
            "/auth/register",
            "auth",
            Access::Public,
            "Create an account and sign in",
        )
        .body::<RegisterBody>()
        .created()
        .limited()
        .returns::<Tokens>(),
        register,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/auth/login",
            "auth",
            Access::Public,
            "Sign in (lockout after 5 failures)",
        )
        .body::<LoginBody>()
        .limited()
        .returns::<Tokens>(),
        login,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/auth/refresh",
            "auth",
            Access::Public,
            "Rotate the refresh token (body or cookie)",
        )
        .optional_body::<RefreshBody>()
        .limited()
        .returns::<Tokens>(),
        refresh,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/auth/verify-email",
            "auth",
            Access::Public,
            "Verify an email address",
        )
        .body::<VerifyBody>()
        .limited()
        .returns::<Verified>(),
        verify_email,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/auth/resend-verification",
            "auth",
            Access::Public,
            "Send the verification mail again",
        )
        .body::<ResendBody>()
        .limited()
        .returns::<super::Message>(),
        resend_verification,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/auth/logout",
            "auth",
            Access::Public,
            "End the session (access token, refresh token in the body, or the cookies)",
        )
        .optional_body::<RefreshBody>()
        .returns::<super::Message>(),
        logout,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/auth/profile",
            "auth",
            Access::Session,
            "The caller's profile",
        )
        .returns::<UserView>(),
        profile,
    );
    t.add(
        Endpoint::new(
            Verb::Put,
            "/auth/profile",
            "auth",
            Access::Session,
            "Change the profile",
        )
        .body::<ProfileBody>()
        .returns::<UserView>(),
        update_profile,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/auth/me",
            "auth",
            Access::Session,
            "The caller's profile",
        )
        .returns::<UserView>(),
        profile,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/auth/change-password",
            "auth",
            Access::Session,
            "Change the password (other sessions end)",
        )
        .body::<ChangePasswordBody>()
        .returns::<PasswordChanged>(),
        change_password,
    );
}
