//! `auth.sessions`: refresh-token sessions, stored as hashes only. Rotation
//! revokes a session and inserts its successor in one statement, so two
//! concurrent rotations of one token cannot both succeed; a revoked token
//! presented again is reuse, and the caller ends the whole family.
//!
//! Two lifetimes live here. A refresh token works while its session is
//! neither revoked nor expired ([`Session::is_usable`]). An access token of a
//! session that was merely rotated keeps working until its own expiry, so
//! that a refresh does not break requests in flight or other tabs
//! ([`Session::honours_access_token`]); ending the family (logout, password
//! change, reuse, deactivation, role change) stops every access token of it
//! at once (`ended_at`, migration 0012).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::crypto::{self, PiiOpt};
use crate::error::{StoreError, invalid};

const COLUMNS: &str = "id, user_id, token_hash, refresh_token_hash, user_agent, ip_address, expires_at, \
    last_activity, created_at, family_id, revoked_at, replaced_by, ended_at";

/// A session row. The hashes are never printed by `Debug`.
#[derive(Clone, sqlx::FromRow)]
pub struct Session {
    /// Primary key.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Hash of the access token id.
    pub token_hash: String,
    /// Hash of the refresh token.
    pub refresh_token_hash: String,
    /// Client's user agent; stored encrypted.
    #[sqlx(try_from = "PiiOpt")]
    pub user_agent: Option<String>,
    /// Client's address; stored encrypted.
    #[sqlx(try_from = "PiiOpt")]
    pub ip_address: Option<String>,
    /// When the refresh token stops working.
    pub expires_at: DateTime<Utc>,
    /// Last use.
    pub last_activity: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: Option<DateTime<Utc>>,
    /// All sessions descended from one login share this id.
    pub family_id: Uuid,
    /// Set when revoked (by rotation, logout or reuse detection).
    pub revoked_at: Option<DateTime<Utc>>,
    /// The session that replaced this one on rotation.
    pub replaced_by: Option<Uuid>,
    /// Set when the whole family was ended: no access token of it is honoured.
    pub ended_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("family_id", &self.family_id)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("ended_at", &self.ended_at)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Neither revoked nor expired at `now`.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.ended_at.is_none() && self.expires_at > now
    }

    /// Whether an access token issued with this session is still honoured at
    /// `now` (its own `exp` is checked apart): the session is live, or was
    /// only rotated, and its family has not been ended.
    pub fn honours_access_token(&self, now: DateTime<Utc>) -> bool {
        self.ended_at.is_none()
            && self.expires_at > now
            && (self.revoked_at.is_none() || self.replaced_by.is_some())
    }
}

/// A session to insert.
#[derive(Clone)]
pub struct NewSession {
    /// Owner.
    pub user_id: Uuid,
    /// Hash of the access token id.
    pub token_hash: String,
    /// Hash of the refresh token.
    pub refresh_token_hash: String,
    /// Client's user agent (truncated to 1000 characters).
    pub user_agent: Option<String>,
    /// Client's address (at most 45 characters: IPv6 text form).
    pub ip_address: Option<String>,
    /// When the refresh token stops working.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl NewSession {
    fn validate(&self) -> Result<(), StoreError> {
        for (field, value) in [
            ("token_hash", &self.token_hash),
            ("refresh_token_hash", &self.refresh_token_hash),
        ] {
            if value.is_empty() || value.len() > 255 {
                return Err(invalid(field, "must be 1 to 255 bytes"));
            }
        }
        if self.ip_address.as_ref().is_some_and(|ip| ip.len() > 45) {
            return Err(invalid("ip_address", "must be at most 45 characters"));
        }
        Ok(())
    }

    /// The user agent as stored: without NULs, at most 1000 characters, sealed.
    fn user_agent(&self) -> Result<Option<String>, StoreError> {
        let ua: Option<String> = self
            .user_agent
            .as_ref()
            .map(|ua| ua.chars().filter(|c| *c != '\0').take(1000).collect());
        Ok(crypto::seal_opt(ua.as_deref())?)
    }

    /// The address as stored: sealed.
    fn ip_address(&self) -> Result<Option<String>, StoreError> {
        Ok(crypto::seal_opt(self.ip_address.as_deref())?)
    }
}

/// Starts a new session family (a login).
pub async fn create_session(db: impl PgExecutor<'_>, new: &NewSession) -> Result<Session, StoreError> {
    new.validate()?;
    let sql = format!(
        "INSERT INTO auth.sessions (user_id, token_hash, refresh_token_hash, user_agent, ip_address, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(new.user_id)
        .bind(&new.token_hash)
        .bind(&new.refresh_token_hash)
        .bind(new.user_agent()?)
        .bind(new.ip_address()?)
        .bind(new.expires_at)
        .fetch_one(db)
        .await?)
}

/// The columns of a read, with `ended_at` taken over the whole family: a
/// successor inserted by a rotation that raced with the end of its family
/// is ended with it.
const READ_COLUMNS: &str = "s.id, s.user_id, s.token_hash, s.refresh_token_hash, s.user_agent, s.ip_address, \
    s.expires_at, s.last_activity, s.created_at, s.family_id, s.revoked_at, s.replaced_by, \
    COALESCE(s.ended_at, (SELECT max(f.ended_at) FROM auth.sessions f WHERE f.family_id = s.family_id)) AS ended_at";

async fn get_by(db: impl PgExecutor<'_>, column_condition: &str, hash: &str) -> Result<Session, StoreError> {
    // `column_condition` is one of this module's constants, never input.
    let sql = format!("SELECT {READ_COLUMNS} FROM auth.sessions s WHERE s.{column_condition}");
    sqlx::query_as(&sql)
        .bind(hash)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "session" })
}

/// The session with this access-token hash, revoked or not.
pub async fn get_session_by_token_hash(db: impl PgExecutor<'_>, hash: &str) -> Result<Session, StoreError> {
    get_by(db, "token_hash = $1", hash).await
}

/// The session with this refresh-token hash, revoked or not (so that reuse
/// of a revoked token can be detected).
pub async fn get_session_by_refresh_hash(db: impl PgExecutor<'_>, hash: &str) -> Result<Session, StoreError> {
    get_by(db, "refresh_token_hash = $1", hash).await
}

/// Revokes the usable session holding `old_refresh_hash` and inserts its
/// successor in the same family, atomically. `None` means the old session
/// was not usable (already rotated, revoked, expired or unknown): the caller
/// should treat a known-but-revoked token as reuse.
pub async fn rotate_session(
    db: impl PgExecutor<'_>,
    old_refresh_hash: &str,
    successor: &NewSession,
) -> Result<Option<Session>, StoreError> {
    successor.validate()?;
    let new_id = Uuid::new_v4();
    let sql = format!(
        "WITH old AS (
             UPDATE auth.sessions o SET revoked_at = now(), replaced_by = $1
             WHERE o.refresh_token_hash = $2 AND o.revoked_at IS NULL AND o.expires_at > now() AND o.user_id = $3
               AND NOT EXISTS (SELECT 1 FROM auth.sessions f WHERE f.family_id = o.family_id AND f.ended_at IS NOT NULL)
             RETURNING o.family_id
         )
         INSERT INTO auth.sessions (id, user_id, token_hash, refresh_token_hash, user_agent, ip_address, expires_at, family_id)
         SELECT $1, $3, $4, $5, $6, $7, $8, old.family_id FROM old
         RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(new_id)
        .bind(old_refresh_hash)
        .bind(successor.user_id)
        .bind(&successor.token_hash)
        .bind(&successor.refresh_token_hash)
        .bind(successor.user_agent()?)
        .bind(successor.ip_address()?)
        .bind(successor.expires_at)
        .fetch_optional(db)
        .await?)
}

/// Records use of a session now.
pub async fn touch_session(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE auth.sessions SET last_activity = now() WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    if done.rows_affected() == 0 {
        Err(StoreError::NotFound { entity: "session" })
    } else {
        Ok(())
    }
}

/// Ends the family of one session (logout): every session of it is revoked
/// and no access token of it is honoured any more. Returns whether the
/// session was still active.
pub async fn revoke_session(db: impl PgExecutor<'_>, id: Uuid) -> Result<bool, StoreError> {
    let active: Option<bool> = sqlx::query_scalar(
        "WITH target AS (SELECT family_id, revoked_at IS NULL AND ended_at IS NULL AS active
                         FROM auth.sessions WHERE id = $1),
              ended AS (UPDATE auth.sessions s
                        SET ended_at = now(), revoked_at = COALESCE(s.revoked_at, now())
                        FROM target WHERE s.family_id = target.family_id AND s.ended_at IS NULL)
         SELECT active FROM target",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(active.unwrap_or(false))
}

/// Ends every session of a user except `keep` (the current session, after
/// a password change): `keep` first moves to a family of its own, so the
/// sessions it was rotated from (a stolen refresh token's successors among
/// them) end with everything else. Returns how many sessions were still
/// active.
pub async fn revoke_user_sessions(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> Result<u64, StoreError> {
    let active: i64 = sqlx::query_scalar(
        "WITH detach AS (UPDATE auth.sessions SET family_id = gen_random_uuid()
                         WHERE id = $2 AND user_id = $1 RETURNING id),
              old AS (SELECT s.id, s.revoked_at IS NULL AS active FROM auth.sessions s
                      WHERE s.ended_at IS NULL AND s.user_id = $1 AND ($2::uuid IS NULL OR s.id <> $2)
                      FOR UPDATE),
              ended AS (UPDATE auth.sessions s
                        SET ended_at = now(), revoked_at = COALESCE(s.revoked_at, now())
                        FROM old WHERE s.id = old.id)
         SELECT count(*) FILTER (WHERE active) FROM old",
    )
    .bind(user_id)
    .bind(keep)
    .fetch_one(db)
    .await?;
    Ok(u64::try_from(active).unwrap_or(0))
}

/// Ends a whole session family (on refresh-token reuse); returns how many
/// sessions were still active.
pub async fn revoke_session_family(db: impl PgExecutor<'_>, family_id: Uuid) -> Result<u64, StoreError> {
    end_families(db, "s.family_id = $1 AND $2::uuid IS NULL", family_id, None).await
}

/// Sets `ended_at` (and `revoked_at` where unset) on the sessions matching
/// `condition` (one of this module's constants, never input) over `$1` and
/// `$2`; counts the ones that were active.
async fn end_families(
    db: impl PgExecutor<'_>,
    condition: &str,
    first: Uuid,
    second: Option<Uuid>,
) -> Result<u64, StoreError> {
    let sql = format!(
        "WITH old AS (SELECT s.id, s.revoked_at IS NULL AS active FROM auth.sessions s
                      WHERE s.ended_at IS NULL AND {condition} FOR UPDATE),
              ended AS (UPDATE auth.sessions s
                        SET ended_at = now(), revoked_at = COALESCE(s.revoked_at, now())
                        FROM old WHERE s.id = old.id)
         SELECT count(*) FILTER (WHERE active) FROM old"
    );
    let active: i64 = sqlx::query_scalar(&sql)
        .bind(first)
        .bind(second)
        .fetch_one(db)
        .await?;
    Ok(u64::try_from(active).unwrap_or(0))
}

/// Deletes sessions that expired more than `grace` ago (revoked ones are kept
/// until they expire, so that reuse is still detected); returns how many.
pub async fn delete_expired_sessions(
    db: impl PgExecutor<'_>,
    grace: chrono::Duration,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM auth.sessions WHERE expires_at < now() - $1::interval")
        .bind(grace)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
