//! `auth.users`: accounts, login bookkeeping (last login, failed attempts,
//! lockout) and the admin listing. Email and username are unique
//! case-insensitively (`users_email_key`, `users_username_key`).
//!
//! The email, first and last name are stored encrypted ([`crate::crypto`]);
//! the email is found and kept unique through its blind index
//! (`email_bidx`), so lookups by email are exact (any letter case), never
//! by substring.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::crypto::{self, Pii, PiiOpt};
use crate::error::{StoreError, check_one_of, check_opt_text, check_text, invalid};
use crate::page::{Page, PageRequest, escape_like};

/// Every column a query returns for a user, in table order.
const COLUMNS: &str = "id, email, username, password_hash, first_name, last_name, avatar_url, \
    is_active, is_verified, role, tier, preferences, metadata, last_login_at, \
    failed_login_attempts, locked_until, created_at, updated_at";

/// A user row. `password_hash` is a bcrypt hash, never printed by `Debug`.
#[derive(Clone, sqlx::FromRow)]
pub struct User {
    /// Primary key.
    pub id: Uuid,
    /// Login email (unique, case-insensitive); stored encrypted.
    #[sqlx(try_from = "Pii")]
    pub email: String,
    /// Login name (unique, case-insensitive).
    pub username: String,
    /// bcrypt hash.
    pub password_hash: String,
    /// Given name; stored encrypted.
    #[sqlx(try_from = "PiiOpt")]
    pub first_name: Option<String>,
    /// Family name; stored encrypted.
    #[sqlx(try_from = "PiiOpt")]
    pub last_name: Option<String>,
    /// Avatar URL.
    pub avatar_url: Option<String>,
    /// False once deactivated.
    pub is_active: Option<bool>,
    /// Email verified.
    pub is_verified: Option<bool>,
    /// `user`, `developer` or `admin`.
    pub role: Option<String>,
    /// `free`, `pro` or `enterprise`.
    pub tier: Option<String>,
    /// Free-form preferences.
    pub preferences: Option<Value>,
    /// Free-form metadata.
    pub metadata: Option<Value>,
    /// Last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Failed logins since the last success or lock expiry.
    pub failed_login_attempts: Option<i32>,
    /// Locked until this time, if locked.
    pub locked_until: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: Option<DateTime<Utc>>,
    /// Last updated (trigger).
    pub updated_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("is_active", &self.is_active)
            .finish_non_exhaustive()
    }
}

impl User {
    /// True while `locked_until` is in the future.
    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// What it takes to create a user.
#[derive(Clone)]
pub struct NewUser {
    /// Login email.
    pub email: String,
    /// Login name.
    pub username: String,
    /// bcrypt hash (hashing is the caller's job).
    pub password_hash: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// `user` when `None`.
    pub role: Option<String>,
    /// `free` when `None`.
    pub tier: Option<String>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Profile fields a user may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Login name.
    pub username: Option<String>,
    /// Replaces the preferences object.
    pub preferences: Option<Value>,
}

/// Filters of the admin user list.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Case-insensitive substring of the username, or a whole email address.
    pub search: Option<String>,
    /// Exact role.
    pub role: Option<String>,
    /// Exact tier.
    pub tier: Option<String>,
}

const ROLES: &[&str] = &["user", "developer", "admin"];
const TIERS: &[&str] = &["free", "pro", "enterprise"];

fn check_email(email: &str) -> Result<(), StoreError> {
    check_text("email", email, 3, 255)?;
    let valid = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.starts_with('.'))
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(invalid("email", "is not an email address"))
    }
}

fn check_username(username: &str) -> Result<(), StoreError> {
    check_text("username", username, 3, 100)?;
    if username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        Ok(())
    } else {
        Err(invalid(
            "username",
            "may contain only letters, digits, '_', '-' and '.'",
        ))
    }
}

impl NewUser {
    /// Checks every field against the column limits and allowed values.
    pub fn validate(&self) -> Result<(), StoreError> {
        check_email(&self.email)?;
        check_username(&self.username)?;
        check_text("password_hash", &self.password_hash, 1, 255)?;
        check_opt_text("first_name", self.first_name.as_deref(), 100)?;
        check_opt_text("last_name", self.last_name.as_deref(), 100)?;
        check_one_of("role", self.role.as_deref(), ROLES)?;
        check_one_of("tier", self.tier.as_deref(), TIERS)
    }
}

/// Inserts a user; a taken email or username (in any letter case) is
/// [`StoreError::Conflict`] naming `users_email_key` or `users_username_key`.
pub async fn create_user(db: impl PgExecutor<'_>, new: &NewUser) -> Result<User, StoreError> {
    new.validate()?;
    let keys = crypto::keyring()?;
    let sql = format!(
        "INSERT INTO auth.users (email, email_bidx, username, password_hash, first_name, last_name, role, tier)
         VALUES ($1, $8, $2, $3, $4, $5, coalesce($6, 'user'), coalesce($7, 'free')) RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(keys.seal(&new.email)?)
        .bind(&new.username)
        .bind(&new.password_hash)
        .bind(keys.seal_opt(new.first_name.as_deref())?)
        .bind(keys.seal_opt(new.last_name.as_deref())?)
        .bind(&new.role)
        .bind(&new.tier)
        .bind(keys.email_index(&new.email))
        .fetch_one(db)
        .await?)
}

/// The user matching `condition`, whose `$1`, `$2`... are `values`.
async fn fetch_one_by(db: impl PgExecutor<'_>, condition: &str, values: &[&str]) -> Result<User, StoreError> {
    // `condition` is one of this module's constants, never input.
    let sql = format!("SELECT {COLUMNS} FROM auth.users WHERE {condition}");
    let mut query = sqlx::query_as(&sql);
    for value in values {
        query = query.bind(*value);
    }
    query
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "user" })
}

/// The user with this id.
pub async fn get_user_by_id(db: impl PgExecutor<'_>, id: Uuid) -> Result<User, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM auth.users WHERE id = $1");
    sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "user" })
}

/// The user with this email, in any letter case (through the blind index).
pub async fn get_user_by_email(db: impl PgExecutor<'_>, email: &str) -> Result<User, StoreError> {
    fetch_one_by(db, "email_bidx = $1", &[&crypto::email_index(email)?]).await
}

/// The user with this username, in any letter case.
pub async fn get_user_by_username(db: impl PgExecutor<'_>, username: &str) -> Result<User, StoreError> {
    fetch_one_by(db, "lower(username) = lower($1)", &[username]).await
}

/// The user whose email or username this is (login accepts either).
pub async fn get_user_by_email_or_username(db: impl PgExecutor<'_>, login: &str) -> Result<User, StoreError> {
    fetch_one_by(
        db,
        "email_bidx = $1 OR lower(username) = lower($2)",
        &[&crypto::email_index(login)?, login],
    )
    .await
}

/// Applies a profile update and returns the new row.
pub async fn update_profile(
    db: impl PgExecutor<'_>,
    id: Uuid,
    update: &ProfileUpdate,
) -> Result<User, StoreError> {
    check_opt_text("first_name", update.first_name.as_deref(), 100)?;
    check_opt_text("last_name", update.last_name.as_deref(), 100)?;
    if let Some(username) = &update.username {
        check_username(username)?;
    }
    if update.preferences.as_ref().is_some_and(|p| !p.is_object()) {
        return Err(invalid("preferences", "must be a JSON object"));
    }
    let sql = format!(
        "UPDATE auth.users SET first_name = coalesce($2, first_name), last_name = coalesce($3, last_name),
                username = coalesce($4, username), preferences = coalesce($5, preferences)
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    sqlx::query_as(&sql)
        .bind(id)
        .bind(crypto::seal_opt(update.first_name.as_deref())?)
        .bind(crypto::seal_opt(update.last_name.as_deref())?)
        .bind(&update.username)
        .bind(&update.preferences)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "user" })
}

/// Records a successful login: sets `last_login_at` and clears the failure
/// counter and any lock.
pub async fn record_successful_login(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE auth.users SET last_login_at = now(), failed_login_attempts = 0, locked_until = NULL WHERE id = $1",
    )
    .bind(id)
    .execute(db)
    .await?;
    found(done.rows_affected())
}

/// Counts a failed login in one statement (exact under concurrency). A lock
/// that has expired resets the counter first; reaching `max_attempts` locks
/// the account for `lock_for`. Returns the new count and the lock, if any.
pub async fn record_failed_login(
    db: impl PgExecutor<'_>,
    id: Uuid,
    max_attempts: i32,
    lock_for: chrono::Duration,
) -> Result<(i32, Option<DateTime<Utc>>), StoreError> {
    let row: Option<(i32, Option<DateTime<Utc>>)> = sqlx::query_as(
        "UPDATE auth.users u SET
             failed_login_attempts = c.attempts,
             locked_until = CASE WHEN c.attempts >= $2 THEN now() + $3 ELSE NULL END
         FROM (SELECT id, CASE WHEN locked_until IS NOT NULL AND locked_until <= now() THEN 1
                               ELSE coalesce(failed_login_attempts, 0) + 1 END AS attempts
               FROM auth.users WHERE id = $1 FOR UPDATE) c
         WHERE u.id = c.id
         RETURNING u.failed_login_attempts, u.locked_until",
    )
    .bind(id)
    .bind(max_attempts)
    .bind(lock_for)
    .fetch_optional(db)
    .await?;
    row.ok_or(StoreError::NotFound { entity: "user" })
}

/// Clears the failure counter and the lock (admin unlock).
pub async fn reset_lock(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), StoreError> {
    let done =
        sqlx::query("UPDATE auth.users SET failed_login_attempts = 0, locked_until = NULL WHERE id = $1")
            .bind(id)
            .execute(db)
            .await?;
    found(done.rows_affected())
}

/// Replaces the password hash.
pub async fn set_password_hash(
    db: impl PgExecutor<'_>,
    id: Uuid,
    password_hash: &str,
) -> Result<(), StoreError> {
    check_text("password_hash", password_hash, 1, 255)?;
    let done = sqlx::query("UPDATE auth.users SET password_hash = $2 WHERE id = $1")
        .bind(id)
        .bind(password_hash)
        .execute(db)
        .await?;
    found(done.rows_affected())
}

/// Stores the hash of a new email-verification token valid until `expires`
/// (replacing any earlier one).
pub async fn set_email_verification(
    db: impl PgExecutor<'_>,
    id: Uuid,
    token_hash: &str,
    expires: DateTime<Utc>,
) -> Result<(), StoreError> {
    check_text("email_verify_token", token_hash, 1, 255)?;
    let done =
        sqlx::query("UPDATE auth.users SET email_verify_token = $2, email_verify_expires = $3 WHERE id = $1")
            .bind(id)
            .bind(token_hash)
            .bind(expires)
            .execute(db)
            .await?;
    found(done.rows_affected())
}

/// Marks the account verified when `token_hash` is its unexpired
/// verification token (and, when given, `email` its address); the token is
/// spent. `None` when nothing matched.
pub async fn verify_email(
    db: impl PgExecutor<'_>,
    token_hash: &str,
    email: Option<&str>,
) -> Result<Option<User>, StoreError> {
    let sql = format!(
        "UPDATE auth.users SET is_verified = true, email_verify_token = NULL, email_verify_expires = NULL
         WHERE email_verify_token = $1 AND email_verify_expires > now()
           AND ($2::text IS NULL OR email_bidx = $2)
         RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(token_hash)
        .bind(email.map(crypto::email_index).transpose()?)
        .fetch_optional(db)
        .await?)
}

/// What an admin may change on an account.
#[derive(Debug, Clone, Default)]
pub struct AdminUpdate {
    /// `user`, `developer` or `admin`.
    pub role: Option<String>,
    /// `free`, `pro` or `enterprise`.
    pub tier: Option<String>,
    /// Active or not.
    pub is_active: Option<bool>,
    /// Verified or not.
    pub is_verified: Option<bool>,
}

/// Applies an admin update and returns the new row.
pub async fn admin_update_user(
    db: impl PgExecutor<'_>,
    id: Uuid,
    update: &AdminUpdate,
) -> Result<User, StoreError> {
    check_one_of("role", update.role.as_deref(), ROLES)?;
    check_one_of("tier", update.tier.as_deref(), TIERS)?;
    let sql = format!(
        "UPDATE auth.users SET role = coalesce($2, role), tier = coalesce($3, tier),
                is_active = coalesce($4, is_active), is_verified = coalesce($5, is_verified)
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    sqlx::query_as(&sql)
        .bind(id)
        .bind(&update.role)
        .bind(&update.tier)
        .bind(update.is_active)
        .bind(update.is_verified)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "user" })
}

/// Marks the account inactive (it can no longer log in; data is kept).
pub async fn deactivate_user(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE auth.users SET is_active = false WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    found(done.rows_affected())
}

/// Deletes the user: sessions, API keys, preferences, saved prompts,
/// collections and activity go with it; history rows stay, with `user_id` NULL.
pub async fn delete_user(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM auth.users WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    found(done.rows_affected())
}

/// What erasing an account removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    /// History items (with their ratings and embeddings).
    pub history: u64,
    /// Saved prompts.
    pub saved_prompts: u64,
    /// Collections.
    pub collections: u64,
    /// API keys.
    pub api_keys: u64,
    /// Sessions.
    pub sessions: u64,
}

/// Erases the account and everything that is the person's: history items
/// (with their ratings and embeddings, not kept anonymised as
/// [`delete_user`] keeps them), saved prompts and their embeddings,
/// collections, API keys, sessions, preferences and activity. Templates and
/// intent patterns the account wrote or verified stay, without its id; the
/// audit log keeps its rows with the actor cleared. Run it in a transaction:
/// nothing is half-erased.
pub async fn erase_user(conn: &mut sqlx::PgConnection, id: Uuid) -> Result<Erased, StoreError> {
    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).bind(id);
    let saved_prompts = count("SELECT count(*) FROM prompts.saved_prompts WHERE user_id = $1")
        .fetch_one(&mut *conn)
        .await?;
    let collections = count("SELECT count(*) FROM prompts.collections WHERE user_id = $1")
        .fetch_one(&mut *conn)
        .await?;
    let api_keys = count("SELECT count(*) FROM auth.api_keys WHERE user_id = $1")
        .fetch_one(&mut *conn)
        .await?;
    let sessions = count("SELECT count(*) FROM auth.sessions WHERE user_id = $1")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query(
        "DELETE FROM prompts.embeddings e
         WHERE (e.source_type = 'prompt_history'
                AND e.source_id IN (SELECT h.id FROM prompts.history h WHERE h.user_id = $1))
            OR (e.source_type = 'saved_prompt'
                AND e.source_id IN (SELECT s.id FROM prompts.saved_prompts s WHERE s.user_id = $1))",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    let history = sqlx::query("DELETE FROM prompts.history WHERE user_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query("UPDATE prompts.templates SET created_by = NULL WHERE created_by = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE prompts.intent_patterns SET verified_by = NULL WHERE verified_by = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM auth.users WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    found(done.rows_affected())?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(Erased {
        history,
        saved_prompts: n(saved_prompts),
        collections: n(collections),
        api_keys: n(api_keys),
        sessions: n(sessions),
    })
}

/// The admin list: newest first, filtered, one page and the total count in one query.
pub async fn list_users(
    db: impl PgExecutor<'_>,
    filter: &UserFilter,
    page: PageRequest,
) -> Result<Page<User>, StoreError> {
    check_one_of("role", filter.role.as_deref(), ROLES)?;
    check_one_of("tier", filter.tier.as_deref(), TIERS)?;
    // Emails are encrypted: a search matches a username substring or a
    // whole email address (through its blind index).
    let (pattern, email_index) = match &filter.search {
        Some(s) => {
            check_text("search", s, 1, 255)?;
            (
                Some(format!("%{}%", escape_like(s))),
                Some(crypto::email_index(s)?),
            )
        }
        None => (None, None),
    };
    let sql = format!(
        "SELECT {COLUMNS}, count(*) OVER () AS total FROM auth.users
         WHERE ($1::text IS NULL OR username ILIKE $1 OR email_bidx = $6)
           AND ($2::text IS NULL OR role = $2) AND ($3::text IS NULL OR tier = $3)
         ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
    );
    let rows: Vec<UserWithTotal> = sqlx::query_as(&sql)
        .bind(pattern)
        .bind(&filter.role)
        .bind(&filter.tier)
        .bind(i64::from(page.limit))
        .bind(page.offset())
        .bind(email_index)
        .fetch_all(db)
        .await?;
    let total = rows.first().map_or(0, |r| r.total);
    Ok(Page {
        items: rows.into_iter().map(|r| r.user).collect(),
        total,
        request: page,
    })
}

#[derive(sqlx::FromRow)]
struct UserWithTotal {
    #[sqlx(flatten)]
    user: User,
    total: i64,
}

fn found(rows: u64) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound { entity: "user" })
    } else {
        Ok(())
    }
}
