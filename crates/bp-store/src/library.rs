//! `prompts.saved_prompts`, `prompts.collections` and
//! `prompts.collection_prompts`: a user's library. Every call that reads or
//! changes an item takes the owner and treats another user's item as not
//! found. Sharing sets an unguessable token (32 random bytes from the OS,
//! base64url); anyone with the token can view the item, which counts a view.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sqlx::{Acquire, PgConnection, PgExecutor, Postgres};
use uuid::Uuid;

use crate::error::{StoreError, check_opt_text, check_text, invalid, one_row};
use crate::page::{Page, PageRequest};

const SAVED_COLUMNS: &str = "id, user_id, history_id, title, description, tags, is_public, share_token, view_count, \
    created_at, updated_at";
const COLLECTION_COLUMNS: &str = "id, user_id, name, description, color, icon, is_public, share_token, \
    created_at, updated_at";

/// Most tags on one saved prompt.
pub const MAX_TAGS: usize = 20;

/// A saved prompt.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SavedPrompt {
    /// Primary key.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// The enhancement it was saved from.
    pub history_id: Option<Uuid>,
    /// Title.
    pub title: String,
    /// Notes.
    pub description: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Listed publicly.
    pub is_public: Option<bool>,
    /// Share link token, when shared.
    pub share_token: Option<String>,
    /// Views through the share link.
    pub view_count: Option<i32>,
    /// Created.
    pub created_at: Option<DateTime<Utc>>,
    /// Updated (trigger).
    pub updated_at: Option<DateTime<Utc>>,
}

/// A prompt to save.
#[derive(Debug, Clone, Default)]
pub struct NewSavedPrompt {
    /// Owner.
    pub user_id: Uuid,
    /// One of the owner's history items.
    pub history_id: Option<Uuid>,
    /// 1 to 255 characters.
    pub title: String,
    /// Up to 10 000 characters.
    pub description: Option<String>,
    /// Up to [`MAX_TAGS`] tags of 1 to 50 characters.
    pub tags: Vec<String>,
    /// Listed publicly.
    pub is_public: bool,
}

/// Changes to a saved prompt; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct SavedPromptUpdate {
    /// New title.
    pub title: Option<String>,
    /// New notes.
    pub description: Option<String>,
    /// New tags (replace the old ones).
    pub tags: Option<Vec<String>>,
    /// Publish or hide.
    pub is_public: Option<bool>,
}

fn check_tags(tags: &[String]) -> Result<(), StoreError> {
    if tags.len() > MAX_TAGS {
        return Err(invalid("tags", format!("at most {MAX_TAGS} tags")));
    }
    tags.iter().try_for_each(|t| check_text("tags", t, 1, 50))
}

/// A new share token: 32 bytes from the operating system's CSPRNG, base64url.
pub fn new_share_token() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Unavailable(format!("no randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Saves a prompt. A `history_id` that is not one of the owner's items is
/// [`StoreError::NotFound`].
pub async fn create_saved_prompt(
    db: impl PgExecutor<'_>,
    new: &NewSavedPrompt,
) -> Result<SavedPrompt, StoreError> {
    check_text("title", &new.title, 1, 255)?;
    check_opt_text("description", new.description.as_deref(), 10_000)?;
    check_tags(&new.tags)?;
    let sql = format!(
        "INSERT INTO prompts.saved_prompts (user_id, history_id, title, description, tags, is_public)
         SELECT $1, $2, $3, $4, $5, $6
         WHERE $2::uuid IS NULL OR EXISTS (SELECT 1 FROM prompts.history WHERE id = $2 AND user_id = $1)
         RETURNING {SAVED_COLUMNS}"
    );
    sqlx::query_as(&sql)
        .bind(new.user_id)
        .bind(new.history_id)
        .bind(&new.title)
        .bind(&new.description)
        .bind(&new.tags)
        .bind(new.is_public)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound {
            entity: "history item",
        })
}

/// The owner's saved prompts, newest first, optionally with one tag.
pub async fn list_saved_prompts(
    conn: &mut PgConnection,
    owner: Uuid,
    tag: Option<&str>,
    page: PageRequest,
) -> Result<Page<SavedPrompt>, StoreError> {
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM prompts.saved_prompts WHERE user_id = $1 AND ($2::text IS NULL OR tags @> ARRAY[$2])",
    )
    .bind(owner)
    .bind(tag)
    .fetch_one(&mut *conn)
    .await?;
    let sql = format!(
        "SELECT {SAVED_COLUMNS} FROM prompts.saved_prompts
         WHERE user_id = $1 AND ($2::text IS NULL OR tags @> ARRAY[$2])
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
    );
    let items = sqlx::query_as(&sql)
        .bind(owner)
        .bind(tag)
        .bind(i64::from(page.limit))
        .bind(page.offset())
        .fetch_all(&mut *conn)
        .await?;
    Ok(Page {
        items,
        total,
        request: page,
    })
}

/// One of the owner's saved prompts.
pub async fn get_saved_prompt(
    db: impl PgExecutor<'_>,
    id: Uuid,
    owner: Uuid,
) -> Result<SavedPrompt, StoreError> {
    let sql = format!("SELECT {SAVED_COLUMNS} FROM prompts.saved_prompts WHERE id = $1 AND user_id = $2");
    sqlx::query_as(&sql)
        .bind(id)
        .bind(owner)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound {
            entity: "saved prompt",
        })
}

/// Changes the given fields of the owner's saved prompt.
pub async fn update_saved_prompt(
    db: impl PgExecutor<'_>,
    id: Uuid,
    owner: Uuid,
    update: &SavedPromptUpdate,
) -> Result<SavedPrompt, StoreError> {
    if let Some(title) = &update.title {
        check_text("title", title, 1, 255)?;
    }
    check_opt_text("description", update.description.as_deref(), 10_000)?;
    if let Some(tags) = &update.tags {
        check_tags(tags)?;
    }
    let sql = format!(
        "UPDATE prompts.saved_prompts SET title = coalesce($3, title), description = coalesce($4, description),
             tags = coalesce($5, tags), is_public = coalesce($6, is_public)
         WHERE id = $1 AND user_id = $2 RETURNING {SAVED_COLUMNS}"
    );
    sqlx::query_as(&sql)
        .bind(id)
        .bind(owner)
        .bind(&update.title)
        .bind(&update.description)
        .bind(&update.tags)
        .bind(update.is_public)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound {
            entity: "saved prompt",
        })
}

/// Deletes the owner's saved prompt (and its collection memberships).
pub async fn delete_saved_prompt(db: impl PgExecutor<'_>, id: Uuid, owner: Uuid) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM prompts.saved_prompts WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(owner)
        .execute(db)
        .await?;
    one_row(&done, "saved prompt")
}

/// Gives the owner's saved prompt a new share token (a previous link stops
/// working) and returns it.
pub async fn share_saved_prompt(
    db: impl PgExecutor<'_>,
    id: Uuid,
    owner: Uuid,
) -> Result<String, StoreError> {
    let token = new_share_token()?;
    sqlx::query_scalar(
        "UPDATE prompts.saved_prompts SET share_token = $3 WHERE id = $1 AND user_id = $2 RETURNING share_token",
    )
    .bind(id)
    .bind(owner)
    .bind(&token)
    .fetch_optional(db)
    .await?
    .flatten()
    .ok_or(StoreError::NotFound { entity: "saved prompt" })
}

/// Stops sharing: the link no longer works.
pub async fn unshare_saved_prompt(db: impl PgExecutor<'_>, id: Uuid, owner: Uuid) -> Result<(), StoreError> {
    let done =
        sqlx::query("UPDATE prompts.saved_prompts SET share_token = NULL WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(owner)
            .execute(db)
            .await?;
    one_row(&done, "saved prompt")
}

/// Opens a shared prompt by token and counts the view, atomically.
pub async fn view_shared_prompt(db: impl PgExecutor<'_>, token: &str) -> Result<SavedPrompt, StoreError> {
    let sql = format!(
        "UPDATE prompts.saved_prompts SET view_count = coalesce(view_count, 0) + 1
         WHERE share_token = $1 RETURNING {SAVED_COLUMNS}"
    );
    sqlx::query_as(&sql)
        .bind(token)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound {
            entity: "shared prompt",
        })
}

/// A collection.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Collection {
    /// Primary key.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Name.
    pub name: String,
    /// Notes.
    pub description: Option<String>,
    /// `#rrggbb`.
    pub color: Option<String>,
    /// Icon name.
    pub icon: Option<String>,
    /// Listed publicly.
    pub is_public: Option<bool>,
    /// Share link token, when shared.
    pub share_token: Option<String>,
    /// Created.
    pub created_at: Option<DateTime<Utc>>,
    /// Updated (trigger).
    pub updated_at: Option<DateTime<Utc>>,
}

/// A collection's fields, for creating (`name` required) or updating
/// (`None` leaves a field as it is).
#[derive(Debug, Clone, Default)]
pub struct CollectionFields {
    /// 1 to 255 characters.
    pub name: Option<String>,
    /// Up to 10 000 characters.
    pub description: Option<String>,
    /// `#rrggbb`.
    pub color: Option<String>,
    /// Up to 50 characters.
    pub icon: Option<String>,
    /// Listed publicly.
    pub is_public: Option<bool>,
}

impl CollectionFields {
    fn validate(&self) -> Result<(), StoreError> {
        if let Some(name) = &self.name {
            check_text("name", name, 1, 255)?;
        }
        check_opt_text("description", self.description.as_deref(), 10_000)?;
        if let Some(color) = &self.color {
            let hex = color.strip_prefix('#').unwrap_or("");
            if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(invalid("color", "must be #rrggbb"));
            }
        }
        check_opt_text("icon", self.icon.as_deref(), 50)
    }
}

/// Creates a collection for `owner`.
pub async fn create_collection(
    db: impl PgExecutor<'_>,
    owner: Uuid,
    fields: &CollectionFields,
) -> Result<Collection, StoreError> {
    if fields.name.is_none() {
        return Err(invalid("name", "is required"));
    }
    fields.validate()?;
    let sql = format!(
        "INSERT INTO prompts.collections (user_id, name, description, color, icon, is_public)
         VALUES ($1, $2, $3, $4, $5, coalesce($6, false)) RETURNING {COLLECTION_COLUMNS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(owner)
        .bind(&fields.name)
        .bind(&fields.description)
        .bind(&fields.color)
        .bind(&fields.icon)
        .bind(fields.is_public)
        .fetch_one(db)
        .await?)
}

/// A collection with the number of prompts in it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CollectionSummary {
    /// The collection.
    #[sqlx(flatten)]
    pub collection: Collection,
    /// Prompts in it.
    pub prompt_count: i64,
}

/// The owner's collections by name, each with its prompt count.
pub async fn list_collections(
    db: impl PgExecutor<'_>,
    owner: Uuid,
) -> Result<Vec<CollectionSummary>, StoreError> {
    let sql = format!(
        "SELECT {COLLECTION_COLUMNS},
                (SELECT count(*) FROM prompts.collection_prompts cp WHERE cp.collection_id = c.id) AS prompt_count
         FROM prompts.collections c WHERE user_id = $1 ORDER BY name, id"
    );
    Ok(sqlx::query_as(&sql).bind(owner).fetch_all(db).await?)
}

/// One of the owner's collections.
pub async fn get_collection(
    db: impl PgExecutor<'_>,
    id: Uuid,
    owner: Uuid,
) -> Result<Collection, StoreError> {
    let sql = format!("SELECT {COLLECTION_COLUMNS} FROM prompts.collections WHERE id = $1 AND user_id = $2");
    sqlx::query_as(&sql)
        .bind(id)
        .bind(owner)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "collection" })
}

/// Changes the given fields of the owner's collection.
pub async fn update_collection(
    db: impl PgExecutor<'_>,
    id: Uuid,
    owner: Uuid,
    fields: &CollectionFields,
) -> Result<Collection, StoreError> {
    fields.validate()?;
    let sql = format!(
        "UPDATE prompts.collections SET name = coalesce($3, name), description = coalesce($4, description),
             color = coalesce($5, color), icon = coalesce($6, icon), is_public = coalesce($7, is_public)
         WHERE id = $1 AND user_id = $2 RETURNING {COLLECTION_COLUMNS}"
    );
    sqlx::query_as(&sql)
        .bind(id)
        .bind(owner)
        .bind(&fields.name)
        .bind(&fields.description)
        .bind(&fields.color)
        .bind(&fields.icon)
        .bind(fields.is_public)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "collection" })
}

/// Deletes the owner's collection (the saved prompts stay).
pub async fn delete_collection(db: impl PgExecutor<'_>, id: Uuid, owner: Uuid) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM prompts.collections WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(owner)
        .execute(db)
        .await?;
    one_row(&done, "collection")
}

/// Gives the owner's collection a new share token and returns it.
pub async fn share_collection(db: impl PgExecutor<'_>, id: Uuid, owner: Uuid) -> Result<String, StoreError> {
    let token = new_share_token()?;
    sqlx::query_scalar(
        "UPDATE prompts.collections SET share_token = $3 WHERE id = $1 AND user_id = $2 RETURNING share_token",
    )
    .bind(id)
    .bind(owner)
    .bind(&token)
    .fetch_optional(db)
    .await?
    .flatten()
    .ok_or(StoreError::NotFound { entity: "collection" })
}

/// Stops sharing the owner's collection: the link no longer works.
pub async fn unshare_collection(db: impl PgExecutor<'_>, id: Uuid, owner: Uuid) -> Result<(), StoreError> {
    let done =
        sqlx::query("UPDATE prompts.collections SET share_token = NULL WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(owner)
            .execute(db)
            .await?;
    one_row(&done, "collection")
}

/// A shared collection by token.
pub async fn get_shared_collection(db: impl PgExecutor<'_>, token: &str) -> Result<Collection, StoreError> {
    let sql = format!("SELECT {COLLECTION_COLUMNS} FROM prompts.collections WHERE share_token = $1");
    sqlx::query_as(&sql)
        .bind(token)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound {
            entity: "shared collection",
        })
}

/// Adds the owner's saved prompt to the owner's collection, at the end.
/// Either not being the owner's is [`StoreError::NotFound`]; adding it twice
/// is [`StoreError::Conflict`] on `collection_prompts_pkey`.
pub async fn add_to_collection(
    db: impl PgExecutor<'_>,
    collection_id: Uuid,
    owner: Uuid,
    saved_prompt_id: Uuid,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "INSERT INTO prompts.collection_prompts (collection_id, saved_prompt_id, position)
         SELECT c.id, s.id,
                coalesce((SELECT max(position) + 1 FROM prompts.collection_prompts WHERE collection_id = c.id), 0)
         FROM prompts.collections c, prompts.saved_prompts s
         WHERE c.id = $1 AND c.user_id = $2 AND s.id = $3 AND s.user_id = $2",
    )
    .bind(collection_id)
    .bind(owner)
    .bind(saved_prompt_id)
    .execute(db)
    .await?;
    one_row(&done, "collection or saved prompt")
}

/// Removes a prompt from the owner's collection.
pub async fn remove_from_collection(
    db: impl PgExecutor<'_>,
    collection_id: Uuid,
    owner: Uuid,
    saved_prompt_id: Uuid,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "DELETE FROM prompts.collection_prompts cp USING prompts.collections c
         WHERE cp.collection_id = c.id AND c.id = $1 AND c.user_id = $2 AND cp.saved_prompt_id = $3",
    )
    .bind(collection_id)
    .bind(owner)
    .bind(saved_prompt_id)
    .execute(db)
    .await?;
    one_row(&done, "collection item")
}

/// Puts the collection's prompts in the order given. `order` must list every
/// prompt of the collection exactly once; otherwise nothing changes and the
/// error is [`StoreError::Invalid`].
pub async fn reorder_collection<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    collection_id: Uuid,
    owner: Uuid,
    order: &[Uuid],
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    // Locks the collection row so concurrent adds wait for the reorder.
    let owned: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM prompts.collections WHERE id = $1 AND user_id = $2 FOR UPDATE")
            .bind(collection_id)
            .bind(owner)
            .fetch_optional(&mut *tx)
            .await?;
    if owned.is_none() {
        return Err(StoreError::NotFound { entity: "collection" });
    }
    let (members, updated): (i64, i64) = sqlx::query_as(
        "WITH wanted AS (SELECT id, ord FROM unnest($2::uuid[]) WITH ORDINALITY AS t(id, ord)),
              moved AS (UPDATE prompts.collection_prompts cp SET position = w.ord - 1
                        FROM wanted w WHERE cp.collection_id = $1 AND cp.saved_prompt_id = w.id
                        RETURNING 1)
         SELECT (SELECT count(*) FROM prompts.collection_prompts WHERE collection_id = $1),
                (SELECT count(*) FROM moved)",
    )
    .bind(collection_id)
    .bind(order)
    .fetch_one(&mut *tx)
    .await?;
    let distinct = order.iter().collect::<std::collections::HashSet<_>>().len();
    if distinct != order.len() || members != updated || updated != order.len() as i64 {
        // Dropping the transaction rolls the update back.
        return Err(invalid(
            "order",
            "must list every prompt of the collection exactly once",
        ));
    }
    tx.commit().await?;
    Ok(())
}

/// The prompts of a collection in their order. With `owner`, the
/// collection must be theirs; without, it must be shared (looked up by the
/// caller through [`get_shared_collection`]).
pub async fn collection_prompts(
    db: impl PgExecutor<'_>,
    collection_id: Uuid,
    owner: Option<Uuid>,
) -> Result<Vec<SavedPrompt>, StoreError> {
    // The membership rows come from a subquery whose column names do not
    // clash with saved_prompts', so the shared column list serves as is.
    let sql = format!(
        "SELECT {SAVED_COLUMNS} FROM prompts.saved_prompts
         JOIN (SELECT cp.saved_prompt_id, cp.position, cp.added_at
               FROM prompts.collection_prompts cp JOIN prompts.collections c ON c.id = cp.collection_id
               WHERE c.id = $1 AND ($2::uuid IS NULL OR c.user_id = $2)
                 AND ($2::uuid IS NOT NULL OR c.share_token IS NOT NULL)) m
           ON m.saved_prompt_id = saved_prompts.id
         ORDER BY m.position, m.added_at"
    );
    Ok(sqlx::query_as(&sql)
        .bind(collection_id)
        .bind(owner)
        .fetch_all(db)
        .await?)
}

/// The prompt a saved prompt was made from (its history item's text).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SavedPromptText {
    /// The saved prompt.
    pub saved_prompt_id: Uuid,
    /// What the user typed.
    pub original_input: String,
    /// The enhanced prompt.
    pub enhanced_output: String,
    /// Classified intent.
    pub intent: Option<String>,
    /// Techniques applied.
    pub techniques_used: Option<Vec<String>>,
}

/// The texts behind the given saved prompts, in one query (those without a
/// history item are absent). Callers pass ids they have already checked.
pub async fn saved_prompt_texts(
    db: impl PgExecutor<'_>,
    saved_prompt_ids: &[Uuid],
) -> Result<Vec<SavedPromptText>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT s.id AS saved_prompt_id, h.original_input, h.enhanced_output, h.intent, h.techniques_used
         FROM prompts.saved_prompts s JOIN prompts.history h ON h.id = s.history_id
         WHERE s.id = ANY($1)",
    )
    .bind(saved_prompt_ids)
    .fetch_all(db)
    .await?)
}
