//! `auth.api_keys`: developer keys, stored as hashes only. Usage is recorded
//! in batches: the API layer counts uses in memory and flushes them with
//! [`record_api_key_uses`], one statement for many keys, instead of one
//! write per request.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::{StoreError, check_text, invalid};

const COLUMNS: &str = "id, user_id, name, key_hash, scopes, rate_limit, rate_limit_window, usage_count, \
    last_used_at, expires_at, is_active, created_at, updated_at";

/// An API key row (the hash only; the key itself is shown once at creation).
#[derive(Clone, sqlx::FromRow)]
pub struct ApiKey {
    /// Primary key.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// The owner's label.
    pub name: String,
    /// SHA-256 of the key.
    pub key_hash: String,
    /// Granted scopes.
    pub scopes: Option<Vec<String>>,
    /// Requests allowed per window.
    pub rate_limit: Option<i32>,
    /// Window, e.g. `1h`.
    pub rate_limit_window: Option<String>,
    /// Requests made with the key (as of the last flush).
    pub usage_count: Option<i32>,
    /// Last use (as of the last flush).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Stops working after this.
    pub expires_at: Option<DateTime<Utc>>,
    /// False once revoked.
    pub is_active: Option<bool>,
    /// Created.
    pub created_at: Option<DateTime<Utc>>,
    /// Updated (trigger).
    pub updated_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// A key to store.
#[derive(Clone)]
pub struct NewApiKey {
    /// Owner.
    pub user_id: Uuid,
    /// Label, 1 to 255 characters.
    pub name: String,
    /// SHA-256 of the key, hex.
    pub key_hash: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Requests per window; 1000 when `None`.
    pub rate_limit: Option<i32>,
    /// Window such as `1m`, `1h`, `1d`; `1h` when `None`.
    pub rate_limit_window: Option<String>,
    /// Optional expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl NewApiKey {
    fn validate(&self) -> Result<(), StoreError> {
        check_text("name", &self.name, 1, 255)?;
        if self.key_hash.is_empty() || self.key_hash.len() > 255 {
            return Err(invalid("key_hash", "must be 1 to 255 bytes"));
        }
        if self.scopes.len() > 32 || self.scopes.iter().any(|s| s.is_empty() || s.len() > 64) {
            return Err(invalid("scopes", "at most 32 scopes of 1 to 64 characters"));
        }
        if self.rate_limit.is_some_and(|n| n <= 0) {
            return Err(invalid("rate_limit", "must be positive"));
        }
        if let Some(window) = &self.rate_limit_window
            && parse_window(window).is_none()
        {
            return Err(invalid(
                "rate_limit_window",
                "must be a number and s, m, h or d, e.g. 1h",
            ));
        }
        Ok(())
    }
}

/// Seconds in a window written like `30s`, `1m`, `1h`, `1d`.
pub fn parse_window(window: &str) -> Option<u64> {
    // The unit is the last character, which may be more than one byte.
    let (at, _) = window.char_indices().last()?;
    let (number, unit) = window.split_at(at);
    let n: u64 = number.parse().ok().filter(|n| *n > 0)?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(unit_secs)
}

/// Stores a key; a duplicate hash is a conflict on `api_keys_key_hash_key`.
pub async fn create_api_key(db: impl PgExecutor<'_>, new: &NewApiKey) -> Result<ApiKey, StoreError> {
    new.validate()?;
    let sql = format!(
        "INSERT INTO auth.api_keys (user_id, name, key_hash, scopes, rate_limit, rate_limit_window, expires_at)
         VALUES ($1, $2, $3, $4, coalesce($5, 1000), coalesce($6, '1h'), $7) RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(new.user_id)
        .bind(&new.name)
        .bind(&new.key_hash)
        .bind(&new.scopes)
        .bind(new.rate_limit)
        .bind(&new.rate_limit_window)
        .bind(new.expires_at)
        .fetch_one(db)
        .await?)
}

/// The key with this hash if it is active and not expired, else `NotFound`
/// (a revoked or expired key is indistinguishable from an unknown one).
pub async fn get_usable_api_key(db: impl PgExecutor<'_>, key_hash: &str) -> Result<ApiKey, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM auth.api_keys
         WHERE key_hash = $1 AND is_active AND (expires_at IS NULL OR expires_at > now())"
    );
    sqlx::query_as(&sql)
        .bind(key_hash)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "api key" })
}

/// A usable key with what authentication needs of its owner.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyWithOwner {
    /// The key.
    #[sqlx(flatten)]
    pub key: ApiKey,
    /// The owner's email (stored encrypted).
    #[sqlx(try_from = "crate::crypto::Pii")]
    pub email: String,
    /// The owner's role.
    pub role: Option<String>,
    /// The owner's tier.
    pub tier: Option<String>,
    /// Whether the owner's account is active.
    pub owner_active: Option<bool>,
}

/// [`get_usable_api_key`] and its owner in one query (authentication runs
/// it on every API-key request).
pub async fn get_usable_api_key_with_owner(
    db: impl PgExecutor<'_>,
    key_hash: &str,
) -> Result<KeyWithOwner, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS}, email, role, tier, owner_active FROM (
             SELECT k.*, u.email, u.role, u.tier, u.is_active AS owner_active
             FROM auth.api_keys k JOIN auth.users u ON u.id = k.user_id
             WHERE k.key_hash = $1 AND k.is_active AND (k.expires_at IS NULL OR k.expires_at > now())
         ) s"
    );
    sqlx::query_as(&sql)
        .bind(key_hash)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "api key" })
}

/// A user's keys, newest first, revoked ones included.
pub async fn list_api_keys(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<Vec<ApiKey>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM auth.api_keys WHERE user_id = $1 ORDER BY created_at DESC, id DESC");
    Ok(sqlx::query_as(&sql).bind(user_id).fetch_all(db).await?)
}

/// Revokes a key of `user_id`; `NotFound` when it is not theirs or absent.
pub async fn revoke_api_key(db: impl PgExecutor<'_>, user_id: Uuid, id: Uuid) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE auth.api_keys SET is_active = false WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(db)
        .await?;
    if done.rows_affected() == 0 {
        Err(StoreError::NotFound { entity: "api key" })
    } else {
        Ok(())
    }
}

/// Issues a successor of a usable key of `user_id` (same name, scopes,
/// limits, and the same lifetime counted from now) under `new_hash`, and
/// cuts the old key's validity to at most `grace` from now, so clients can
/// switch without an outage. One statement: two concurrent rotations of one
/// key both succeed only as successive rotations. Returns the new key and
/// the moment the old one stops working; `NotFound` when the key is not the
/// caller's, revoked or expired.
pub async fn rotate_api_key(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    id: Uuid,
    new_hash: &str,
    grace: chrono::Duration,
) -> Result<(ApiKey, DateTime<Utc>), StoreError> {
    if new_hash.is_empty() || new_hash.len() > 255 {
        return Err(invalid("key_hash", "must be 1 to 255 bytes"));
    }
    let sql = format!(
        "WITH cur AS (
             SELECT * FROM auth.api_keys
             WHERE id = $1 AND user_id = $2 AND is_active AND (expires_at IS NULL OR expires_at > now())
             FOR UPDATE
         ), old AS (
             UPDATE auth.api_keys k SET expires_at = least(coalesce(cur.expires_at, 'infinity'), now() + $4)
             FROM cur WHERE k.id = cur.id
             RETURNING k.expires_at
         ), new AS (
             INSERT INTO auth.api_keys (user_id, name, key_hash, scopes, rate_limit, rate_limit_window, expires_at)
             SELECT user_id, name, $3, scopes, rate_limit, rate_limit_window,
                    CASE WHEN expires_at IS NULL THEN NULL ELSE now() + (expires_at - created_at) END
             FROM cur
             RETURNING {COLUMNS}
         )
         SELECT new.*, (SELECT expires_at FROM old) AS old_valid_until FROM new"
    );
    let row: Option<RotatedKey> = sqlx::query_as(&sql)
        .bind(id)
        .bind(user_id)
        .bind(new_hash)
        .bind(grace)
        .fetch_optional(db)
        .await?;
    let row = row.ok_or(StoreError::NotFound { entity: "api key" })?;
    Ok((row.key, row.old_valid_until))
}

#[derive(sqlx::FromRow)]
struct RotatedKey {
    #[sqlx(flatten)]
    key: ApiKey,
    old_valid_until: DateTime<Utc>,
}

/// Uses of one key since the last flush.
#[derive(Debug, Clone, Copy)]
pub struct ApiKeyUse {
    /// The key.
    pub id: Uuid,
    /// Requests since the last flush.
    pub count: i32,
    /// The latest of them.
    pub last_used_at: DateTime<Utc>,
}

/// Adds many keys' counts in one statement (UNNEST); returns rows updated.
pub async fn record_api_key_uses(db: impl PgExecutor<'_>, uses: &[ApiKeyUse]) -> Result<u64, StoreError> {
    if uses.is_empty() {
        return Ok(0);
    }
    if uses.iter().any(|u| u.count <= 0) {
        return Err(invalid("count", "must be positive"));
    }
    let ids: Vec<Uuid> = uses.iter().map(|u| u.id).collect();
    let counts: Vec<i32> = uses.iter().map(|u| u.count).collect();
    let times: Vec<DateTime<Utc>> = uses.iter().map(|u| u.last_used_at).collect();
    let done = sqlx::query(
        "UPDATE auth.api_keys k
         SET usage_count = coalesce(k.usage_count, 0) + u.count,
             last_used_at = greatest(k.last_used_at, u.last_used_at)
         FROM (SELECT id, sum(count)::int AS count, max(last_used_at) AS last_used_at
               FROM unnest($1::uuid[], $2::int[], $3::timestamptz[]) AS t(id, count, last_used_at)
               GROUP BY id) u
         WHERE k.id = u.id",
    )
    .bind(ids)
    .bind(counts)
    .bind(times)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::parse_window;

    #[test]
    fn windows_parse_to_seconds() {
        assert_eq!(parse_window("1h"), Some(3600));
        assert_eq!(parse_window("30s"), Some(30));
        assert_eq!(parse_window("2d"), Some(172_800));
        for bad in ["", "h", "0m", "1w", "-1h", "1.5h", "é", "1é", "2ñ"] {
            assert_eq!(parse_window(bad), None, "{bad}");
        }
    }
}
