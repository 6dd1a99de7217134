//! `prompts.history`: every enhancement, anonymous ones included (`user_id`
//! NULL). Saving one row, saving a batch in one round trip (UNNEST of
//! parallel arrays), reads with an owner check, filtered pages by
//! page/limit (with the total) or by keyset cursor, feedback, favourites,
//! per-user stats and a streamed export.
//!
//! Intent and technique names are checked for shape (lowercase identifiers)
//! rather than against a list: the vocabulary belongs to the engine, and a
//! new technique must not need a migration of old rows.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{StreamExt, stream::BoxStream};
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::error::{
    StoreError, check_days, check_identifier, check_non_negative, check_object, check_one_of, check_opt_text,
    check_text, invalid, one_row, validate_rows,
};
use crate::page::{Page, PageRequest, escape_like};

/// Longest prompt accepted, in characters.
pub const MAX_INPUT_CHARS: usize = 50_000;
/// Longest enhanced prompt stored, in characters.
pub const MAX_OUTPUT_CHARS: usize = 200_000;
/// Longest feedback text, in characters (api.md).
pub const MAX_FEEDBACK_CHARS: usize = 1_000;
/// Most rows [`save_history_batch`] takes in one call.
pub const MAX_BATCH: usize = 1_000;
/// Most techniques one row may list.
pub const MAX_TECHNIQUES: usize = 20;

const COMPLEXITIES: &[&str] = &["simple", "moderate", "complex"];

/// Every column a query returns, in table order (a macro so that `concat!`
/// can build `'static` statements from it).
macro_rules! columns {
    () => {
        "id, user_id, session_id, request_id, original_input, enhanced_output, intent, intent_confidence, \
         complexity, techniques_used, technique_scores, processing_time_ms, token_count, model_used, \
         feedback_score, feedback_text, is_favorite, metadata, created_at"
    };
}

/// Every column of a [`PromptHistory`], for statements built elsewhere
/// (the benchmark's pgbench baseline).
pub const COLUMNS: &str = columns!();

/// One stored enhancement.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PromptHistory {
    /// Primary key.
    pub id: Uuid,
    /// Owner; `None` for anonymous enhancements.
    pub user_id: Option<Uuid>,
    /// The client's session.
    pub session_id: Option<String>,
    /// The request that produced it (unique).
    pub request_id: Option<String>,
    /// What the user typed (sealed at rest when `BP_ENCRYPT_PROMPTS` is on).
    #[sqlx(try_from = "crate::crypto::Pii")]
    pub original_input: String,
    /// The enhanced prompt (sealed at rest when `BP_ENCRYPT_PROMPTS` is on).
    #[sqlx(try_from = "crate::crypto::Pii")]
    pub enhanced_output: String,
    /// Classified intent.
    pub intent: Option<String>,
    /// Classifier confidence, 0..=1.
    pub intent_confidence: Option<f64>,
    /// `simple`, `moderate` or `complex`.
    pub complexity: Option<String>,
    /// Techniques applied, in order.
    pub techniques_used: Option<Vec<String>>,
    /// Score per technique considered.
    pub technique_scores: Option<Value>,
    /// Time to enhance.
    pub processing_time_ms: Option<i32>,
    /// Tokens in the enhanced prompt.
    pub token_count: Option<i32>,
    /// Model version that classified it.
    pub model_used: Option<String>,
    /// The user's rating, 1..=5.
    pub feedback_score: Option<i32>,
    /// The user's comment; stored encrypted.
    #[sqlx(try_from = "crate::crypto::PiiOpt")]
    pub feedback_text: Option<String>,
    /// Starred by the user.
    pub is_favorite: Option<bool>,
    /// Free-form metadata.
    pub metadata: Option<Value>,
    /// When it was saved.
    pub created_at: Option<DateTime<Utc>>,
}

/// An enhancement to save. `Default` leaves every optional field empty.
#[derive(Debug, Clone, Default)]
pub struct NewPromptHistory {
    /// Owner; `None` for anonymous.
    pub user_id: Option<Uuid>,
    /// The client's session, up to 255 characters.
    pub session_id: Option<String>,
    /// The request id, up to 255 characters, unique.
    pub request_id: Option<String>,
    /// What the user typed, 1..=[`MAX_INPUT_CHARS`].
    pub original_input: String,
    /// The enhanced prompt, 1..=[`MAX_OUTPUT_CHARS`].
    pub enhanced_output: String,
    /// Classified intent (lowercase identifier).
    pub intent: Option<String>,
    /// 0..=1.
    pub intent_confidence: Option<f64>,
    /// `simple`, `moderate` or `complex`.
    pub complexity: Option<String>,
    /// Techniques applied (lowercase identifiers), at most [`MAX_TECHNIQUES`].
    pub techniques_used: Vec<String>,
    /// A JSON object of scores; `{}` when `None`.
    pub technique_scores: Option<Value>,
    /// Non-negative.
    pub processing_time_ms: Option<i32>,
    /// Non-negative.
    pub token_count: Option<i32>,
    /// Up to 100 characters.
    pub model_used: Option<String>,
    /// A JSON object; `{}` when `None`.
    pub metadata: Option<Value>,
}

impl NewPromptHistory {
    /// Checks every field against its column before any SQL runs.
    pub fn validate(&self) -> Result<(), StoreError> {
        check_text("original_input", &self.original_input, 1, MAX_INPUT_CHARS)?;
        check_text("enhanced_output", &self.enhanced_output, 1, MAX_OUTPUT_CHARS)?;
        check_opt_text("session_id", self.session_id.as_deref(), 255)?;
        check_opt_text("request_id", self.request_id.as_deref(), 255)?;
        check_opt_text("model_used", self.model_used.as_deref(), 100)?;
        if let Some(intent) = &self.intent {
            check_identifier("intent", intent)?;
        }
        if let Some(c) = self.intent_confidence
            && !(0.0..=1.0).contains(&c)
        {
            return Err(invalid("intent_confidence", "must be between 0 and 1"));
        }
        check_one_of("complexity", self.complexity.as_deref(), COMPLEXITIES)?;
        if self.techniques_used.len() > MAX_TECHNIQUES {
            return Err(invalid(
                "techniques_used",
                format!("at most {MAX_TECHNIQUES} techniques"),
            ));
        }
        for t in &self.techniques_used {
            check_identifier("techniques_used", t)?;
        }
        check_object("technique_scores", self.technique_scores.as_ref())?;
        check_object("metadata", self.metadata.as_ref())?;
        check_non_negative("processing_time_ms", self.processing_time_ms)?;
        check_non_negative("token_count", self.token_count)
    }
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// Saves one enhancement. A repeated `request_id` is
/// [`StoreError::Conflict`] on `history_request_id_key`. Only the id and
/// timestamp come back from the server; the rest of the returned row is the
/// input with the table's defaults.
pub async fn save_history(
    db: impl PgExecutor<'_>,
    new: &NewPromptHistory,
) -> Result<PromptHistory, StoreError> {
    new.validate()?;
    let technique_scores = new.technique_scores.clone().unwrap_or_else(empty_object);
    let metadata = new.metadata.clone().unwrap_or_else(empty_object);
    let keys = crate::crypto::keyring()?;
    let (id, created_at): (Uuid, Option<DateTime<Utc>>) = sqlx::query_as(INSERT_ONE)
        .bind(new.user_id)
        .bind(&new.session_id)
        .bind(&new.request_id)
        .bind(keys.seal_prompt(&new.original_input)?)
        .bind(keys.seal_prompt(&new.enhanced_output)?)
        .bind(&new.intent)
        .bind(new.intent_confidence)
        .bind(&new.complexity)
        .bind(&new.techniques_used)
        .bind(&technique_scores)
        .bind(new.processing_time_ms)
        .bind(new.token_count)
        .bind(&new.model_used)
        .bind(&metadata)
        .fetch_one(db)
        .await?;
    Ok(saved_row(new, id, created_at))
}

/// The row [`save_history`] or [`save_history_rows`] wrote: the input with
/// the server's id and timestamp and the table's defaults.
fn saved_row(new: &NewPromptHistory, id: Uuid, created_at: Option<DateTime<Utc>>) -> PromptHistory {
    let technique_scores = new.technique_scores.clone().unwrap_or_else(empty_object);
    let metadata = new.metadata.clone().unwrap_or_else(empty_object);
    PromptHistory {
        id,
        user_id: new.user_id,
        session_id: new.session_id.clone(),
        request_id: new.request_id.clone(),
        original_input: new.original_input.clone(),
        enhanced_output: new.enhanced_output.clone(),
        intent: new.intent.clone(),
        intent_confidence: new.intent_confidence,
        complexity: new.complexity.clone(),
        techniques_used: Some(new.techniques_used.clone()),
        technique_scores: Some(technique_scores),
        processing_time_ms: new.processing_time_ms,
        token_count: new.token_count,
        model_used: new.model_used.clone(),
        feedback_score: None,
        feedback_text: None,
        is_favorite: Some(false),
        metadata: Some(metadata),
        created_at,
    }
}

/// The statement [`save_history`] runs (the benchmark's pgbench baseline
/// runs it too).
pub const INSERT_ONE: &str = "INSERT INTO prompts.history (user_id, session_id, request_id, original_input, \
    enhanced_output, intent, intent_confidence, complexity, techniques_used, technique_scores, processing_time_ms, \
    token_count, model_used, metadata)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id, created_at";

/// Saves up to [`MAX_BATCH`] enhancements in one statement (an
/// `INSERT ... SELECT FROM unnest(...)` of one array per column) and
/// returns their ids in input order. Every row is validated first; one
/// invalid row or a duplicate `request_id` writes none of them.
pub async fn save_history_batch(
    db: impl PgExecutor<'_>,
    rows: &[NewPromptHistory],
) -> Result<Vec<Uuid>, StoreError> {
    Ok(save_history_rows(db, rows)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect())
}

/// [`save_history_batch`], returning the saved rows (with the server's
/// timestamps) in input order: what a group commit hands back to each of
/// the requests whose rows it wrote.
pub async fn save_history_rows(
    db: impl PgExecutor<'_>,
    rows: &[NewPromptHistory],
) -> Result<Vec<PromptHistory>, StoreError> {
    if rows.len() > MAX_BATCH {
        return Err(invalid("batch", format!("at most {MAX_BATCH} rows per call")));
    }
    validate_rows(rows, NewPromptHistory::validate)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::new_v4()).collect();
    // Technique names are identifiers (checked above), so a comma cannot
    // occur inside one and joining is lossless; the SQL splits them again.
    let techniques: Vec<String> = rows.iter().map(|r| r.techniques_used.join(",")).collect();
    let column = |f: fn(&NewPromptHistory) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    let keys = crate::crypto::keyring()?;
    let mut inputs = Vec::with_capacity(rows.len());
    let mut outputs = Vec::with_capacity(rows.len());
    for r in rows {
        inputs.push(keys.seal_prompt(&r.original_input)?);
        outputs.push(keys.seal_prompt(&r.enhanced_output)?);
    }
    let saved: Vec<(Uuid, Option<DateTime<Utc>>)> = sqlx::query_as(
        "INSERT INTO prompts.history (id, user_id, session_id, request_id, original_input, enhanced_output, \
         intent, intent_confidence, complexity, techniques_used, technique_scores, processing_time_ms, \
         token_count, model_used, metadata)
         SELECT id, user_id, session_id, request_id, original_input, enhanced_output, intent, \
                intent_confidence, complexity, string_to_array(techniques, ','), technique_scores, \
                processing_time_ms, token_count, model_used, metadata
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
                     $8::float8[], $9::text[], $10::text[], $11::jsonb[], $12::int4[], $13::int4[], \
                     $14::text[], $15::jsonb[])
              AS t(id, user_id, session_id, request_id, original_input, enhanced_output, intent, \
                   intent_confidence, complexity, techniques, technique_scores, processing_time_ms, \
                   token_count, model_used, metadata)
         RETURNING id, created_at",
    )
    .bind(&ids)
    .bind(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
    .bind(column(|r| r.session_id.clone()))
    .bind(column(|r| r.request_id.clone()))
    .bind(&inputs)
    .bind(&outputs)
    .bind(column(|r| r.intent.clone()))
    .bind(rows.iter().map(|r| r.intent_confidence).collect::<Vec<_>>())
    .bind(column(|r| r.complexity.clone()))
    .bind(&techniques)
    .bind(
        rows.iter()
            .map(|r| r.technique_scores.clone().unwrap_or_else(empty_object))
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.processing_time_ms).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.token_count).collect::<Vec<_>>())
    .bind(column(|r| r.model_used.clone()))
    .bind(
        rows.iter()
            .map(|r| r.metadata.clone().unwrap_or_else(empty_object))
            .collect::<Vec<_>>(),
    )
    .fetch_all(db)
    .await?;
    let stamps: std::collections::HashMap<Uuid, Option<DateTime<Utc>>> = saved.into_iter().collect();
    // One INSERT without a conflict clause writes every row or fails; a
    // row missing from RETURNING would mean a caller acknowledged for a
    // row that is not there, so it is an error, never a default.
    rows.iter()
        .zip(&ids)
        .map(|(row, id)| match stamps.get(id) {
            Some(created_at) => Ok(saved_row(row, *id, *created_at)),
            None => Err(StoreError::Database(sqlx::Error::Protocol(format!(
                "the history insert returned {} of {} rows",
                stamps.len(),
                rows.len()
            )))),
        })
        .collect()
}

/// One item for its owner: [`StoreError::NotFound`] when it does not exist,
/// [`StoreError::Forbidden`] when it is another user's or anonymous.
pub async fn get_history(
    conn: &mut PgConnection,
    id: Uuid,
    owner: Uuid,
) -> Result<PromptHistory, StoreError> {
    let forbidden = StoreError::Forbidden {
        entity: "history item",
    };
    match get_history_any(&mut *conn, id).await {
        Ok(item) if item.user_id == Some(owner) => Ok(item),
        Ok(_) => Err(forbidden),
        // Row security hides other users' rows: ask who owns it (a miss
        // costs one more round trip; a hit none).
        Err(StoreError::NotFound { .. }) => {
            let found: Option<Uuid> = sqlx::query_scalar("SELECT public.bp_history_owner($1)")
                .bind(id)
                .fetch_one(&mut *conn)
                .await?;
            match found {
                Some(_) => Err(forbidden),
                None => Err(StoreError::NotFound {
                    entity: "history item",
                }),
            }
        }
        Err(e) => Err(e),
    }
}

/// One item whoever owns it (admin views, rerun of an anonymous result).
pub async fn get_history_any(db: impl PgExecutor<'_>, id: Uuid) -> Result<PromptHistory, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM prompts.history WHERE id = $1");
    sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound {
            entity: "history item",
        })
}

/// Filters of a history listing; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    /// Exact intent.
    pub intent: Option<String>,
    /// Rows whose techniques include this one.
    pub technique: Option<String>,
    /// Case-insensitive literal substring of the input or the output.
    pub search: Option<String>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
    /// Only favourites.
    pub favorites_only: bool,
    /// Only items the user rated at least this (1 to 5).
    pub min_rating: Option<i32>,
}

impl HistoryFilter {
    fn validate(&self) -> Result<(), StoreError> {
        if let Some(intent) = &self.intent {
            check_identifier("intent", intent)?;
        }
        if let Some(technique) = &self.technique {
            check_identifier("technique", technique)?;
        }
        check_opt_text("search", self.search.as_deref(), 500)?;
        if self.search.as_deref().is_some_and(|s| !s.is_empty())
            && crate::crypto::keyring().is_ok_and(|k| k.seals_prompts())
        {
            return Err(invalid(
                "search",
                "text search is unavailable while prompts are encrypted at rest (BP_ENCRYPT_PROMPTS); \
                 use semantic search (POST /api/v1/search) instead",
            ));
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Err(invalid("date_from", "must not be after date_to"));
        }
        if self.min_rating.is_some_and(|r| !(1..=5).contains(&r)) {
            return Err(invalid("min_rating", "must be 1 to 5"));
        }
        Ok(())
    }

    /// Appends ` AND ...` conditions with bound values.
    fn push(&self, q: &mut QueryBuilder<'_, Postgres>) {
        if let Some(intent) = &self.intent {
            q.push(" AND intent = ").push_bind(intent.clone());
        }
        if let Some(technique) = &self.technique {
            q.push(" AND techniques_used @> ARRAY[")
                .push_bind(technique.clone())
                .push("]::text[]");
        }
        if let Some(search) = self.search.as_deref().filter(|s| !s.is_empty()) {
            let pattern = format!("%{}%", escape_like(search));
            q.push(" AND (original_input ILIKE ")
                .push_bind(pattern.clone())
                .push(" OR enhanced_output ILIKE ")
                .push_bind(pattern)
                .push(")");
        }
        if let Some(from) = self.from {
            q.push(" AND created_at >= ").push_bind(from);
        }
        if let Some(to) = self.to {
            q.push(" AND created_at < ").push_bind(to);
        }
        if self.favorites_only {
            q.push(" AND is_favorite");
        }
        if let Some(rating) = self.min_rating {
            q.push(" AND feedback_score >= ").push_bind(rating);
        }
    }
}

/// Columns a listing may be sorted by (api.md's `sort_by`); the SQL comes
/// from this allow-list, never from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortColumn {
    /// Newest or oldest first.
    #[default]
    CreatedAt,
    /// By intent name.
    Intent,
    /// By rating; unrated rows last.
    FeedbackScore,
}

impl std::str::FromStr for SortColumn {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "created_at" => Ok(Self::CreatedAt),
            "intent" => Ok(Self::Intent),
            "feedback_score" => Ok(Self::FeedbackScore),
            _ => Err(invalid(
                "sort_by",
                "must be one of created_at, intent, feedback_score",
            )),
        }
    }
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    /// Smallest first.
    Asc,
    /// Largest (newest) first.
    #[default]
    Desc,
}

impl std::str::FromStr for SortDirection {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "asc" => Ok(Self::Asc),
            "desc" => Ok(Self::Desc),
            _ => Err(invalid("sort_direction", "must be asc or desc")),
        }
    }
}

/// A sort: column and direction; ties broken by newest first, then id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HistorySort {
    /// Column.
    pub column: SortColumn,
    /// Direction.
    pub direction: SortDirection,
}

impl HistorySort {
    fn order_by(self) -> &'static str {
        use SortColumn::*;
        use SortDirection::*;
        match (self.column, self.direction) {
            (CreatedAt, Desc) => " ORDER BY created_at DESC, id DESC",
            (CreatedAt, Asc) => " ORDER BY created_at ASC, id ASC",
            (Intent, Desc) => " ORDER BY intent DESC NULLS LAST, created_at DESC, id DESC",
            (Intent, Asc) => " ORDER BY intent ASC NULLS LAST, created_at DESC, id DESC",
            (FeedbackScore, Desc) => " ORDER BY feedback_score DESC NULLS LAST, created_at DESC, id DESC",
            (FeedbackScore, Asc) => " ORDER BY feedback_score ASC NULLS LAST, created_at DESC, id DESC",
        }
    }
}

#[derive(sqlx::FromRow)]
struct CountedRow {
    #[sqlx(flatten)]
    item: PromptHistory,
    total: i64,
}

/// One page of a user's history with the total count of matching rows
/// (page/limit pagination). The total comes with the rows in one query;
/// a page past the end costs a second, counting query.
pub async fn page_history(
    conn: &mut PgConnection,
    user_id: Uuid,
    filter: &HistoryFilter,
    sort: HistorySort,
    page: PageRequest,
) -> Result<Page<PromptHistory>, StoreError> {
    filter.validate()?;
    let mut q = QueryBuilder::new(format!(
        "SELECT {COLUMNS}, count(*) OVER () AS total FROM prompts.history WHERE user_id = "
    ));
    q.push_bind(user_id);
    filter.push(&mut q);
    q.push(sort.order_by());
    q.push(" LIMIT ").push_bind(i64::from(page.limit));
    q.push(" OFFSET ").push_bind(page.offset());
    let rows: Vec<CountedRow> = q.build_query_as().fetch_all(&mut *conn).await?;
    let total = match rows.first() {
        Some(row) => row.total,
        None if page.offset() == 0 => 0,
        None => {
            let mut count = QueryBuilder::new("SELECT count(*) FROM prompts.history WHERE user_id = ");
            count.push_bind(user_id);
            filter.push(&mut count);
            count.build_query_scalar().fetch_one(&mut *conn).await?
        }
    };
    Ok(Page {
        items: rows.into_iter().map(|r| r.item).collect(),
        total,
        request: page,
    })
}

/// Where a keyset page starts: the last row of the previous page. Encoded
/// as an opaque URL-safe token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryCursor {
    /// The previous page's last `created_at`.
    pub created_at: DateTime<Utc>,
    /// The previous page's last `id`.
    pub id: Uuid,
}

impl HistoryCursor {
    /// The cursor after `item`.
    pub fn after(item: &PromptHistory) -> Option<Self> {
        item.created_at.map(|created_at| Self {
            created_at,
            id: item.id,
        })
    }

    /// The token handed to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.created_at.timestamp_micros(), self.id))
    }

    /// Parses a token from [`HistoryCursor::encode`]; anything else is
    /// [`StoreError::Invalid`] on `cursor`.
    pub fn decode(token: &str) -> Result<Self, StoreError> {
        let bad = || invalid("cursor", "is not a cursor this server issued");
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (micros, id) = text.split_once(':').ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        Ok(Self {
            created_at: DateTime::from_timestamp_micros(micros).ok_or_else(bad)?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

/// A keyset page: the rows and the cursor of the next page, if any.
#[derive(Debug, Clone)]
pub struct KeysetPage<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Pass this back for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// One page of a user's history after `cursor` in `created_at` order
/// (newest first for [`SortDirection::Desc`]). Costs the same on page 1
/// and page 10 000: it is an index range scan on
/// `idx_history_user_created`, with no count and no offset.
pub async fn page_history_after(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    filter: &HistoryFilter,
    direction: SortDirection,
    cursor: Option<&HistoryCursor>,
    limit: u32,
) -> Result<KeysetPage<PromptHistory>, StoreError> {
    filter.validate()?;
    let limit = PageRequest::new(1, limit)?.limit;
    let mut q = QueryBuilder::new(format!("SELECT {COLUMNS} FROM prompts.history WHERE user_id = "));
    q.push_bind(user_id);
    filter.push(&mut q);
    if let Some(c) = cursor {
        let op = match direction {
            SortDirection::Desc => " AND (created_at, id) < (",
            SortDirection::Asc => " AND (created_at, id) > (",
        };
        q.push(op)
            .push_bind(c.created_at)
            .push(", ")
            .push_bind(c.id)
            .push(")");
    }
    q.push(
        HistorySort {
            column: SortColumn::CreatedAt,
            direction,
        }
        .order_by(),
    );
    q.push(" LIMIT ").push_bind(i64::from(limit) + 1);
    let mut items: Vec<PromptHistory> = q.build_query_as().fetch_all(db).await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if more {
        items.last().and_then(HistoryCursor::after).map(|c| c.encode())
    } else {
        None
    };
    Ok(KeysetPage { items, next_cursor })
}

/// Sets the owner's rating (1..=5) and comment. Another user's item and a
/// missing one are both [`StoreError::NotFound`], so ids cannot be probed.
pub async fn update_feedback(
    db: impl PgExecutor<'_>,
    id: Uuid,
    owner: Uuid,
    score: i32,
    text: Option<&str>,
) -> Result<PromptHistory, StoreError> {
    if !(1..=5).contains(&score) {
        return Err(invalid("rating", "must be 1 to 5"));
    }
    check_opt_text("feedback_text", text, MAX_FEEDBACK_CHARS)?;
    let sql = format!(
        "UPDATE prompts.history SET feedback_score = $3, feedback_text = $4
         WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}"
    );
    sqlx::query_as(&sql)
        .bind(id)
        .bind(owner)
        .bind(score)
        .bind(crate::crypto::seal_opt(text)?)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound {
            entity: "history item",
        })
}

/// Sets `is_favorite` to `value`, or flips it when `value` is `None`;
/// returns the new value.
pub async fn set_favorite(
    db: impl PgExecutor<'_>,
    id: Uuid,
    owner: Uuid,
    value: Option<bool>,
) -> Result<bool, StoreError> {
    sqlx::query_scalar(
        "UPDATE prompts.history SET is_favorite = coalesce($3, NOT coalesce(is_favorite, false))
         WHERE id = $1 AND user_id = $2 RETURNING is_favorite",
    )
    .bind(id)
    .bind(owner)
    .bind(value)
    .fetch_optional(db)
    .await?
    .flatten()
    .ok_or(StoreError::NotFound {
        entity: "history item",
    })
}

/// Deletes the owner's item (saved prompts made from it go with it).
pub async fn delete_history(db: impl PgExecutor<'_>, id: Uuid, owner: Uuid) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM prompts.history WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(owner)
        .execute(db)
        .await?;
    one_row(&done, "history item")
}

/// A user's totals.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryStats {
    /// All items.
    pub total: i64,
    /// Starred items.
    pub favorites: i64,
    /// Mean rating of rated items.
    pub average_feedback: Option<f64>,
    /// Items per intent (`unknown` for none).
    pub by_intent: BTreeMap<String, i64>,
    /// Items using each technique.
    pub by_technique: BTreeMap<String, i64>,
    /// Items per UTC day over the last `days` days.
    pub by_day: BTreeMap<NaiveDate, i64>,
    /// The user's mean rating of the rated items that used each technique.
    pub rating_by_technique: BTreeMap<String, f64>,
}

/// Counts of a user's history by intent, technique and (over the last
/// `days` days) UTC day, in one statement.
pub async fn history_stats(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    days: u32,
) -> Result<HistoryStats, StoreError> {
    check_days(days, 366)?;
    let (total, favorites, average_feedback, by_intent, by_technique, by_day, rating_by_technique): (
        i64,
        i64,
        Option<f64>,
        Value,
        Value,
        Value,
        Value,
    ) = sqlx::query_as(
        "WITH mine AS (SELECT intent, techniques_used, feedback_score, is_favorite, created_at
                       FROM prompts.history WHERE user_id = $1)
         SELECT (SELECT count(*) FROM mine),
                (SELECT count(*) FROM mine WHERE is_favorite),
                (SELECT avg(feedback_score)::float8 FROM mine),
                (SELECT coalesce(jsonb_object_agg(k, n), '{}') FROM
                    (SELECT coalesce(intent, 'unknown') AS k, count(*) AS n FROM mine GROUP BY 1) s),
                (SELECT coalesce(jsonb_object_agg(k, n), '{}') FROM
                    (SELECT t AS k, count(*) AS n FROM mine, unnest(techniques_used) AS t GROUP BY 1) s),
                (SELECT coalesce(jsonb_object_agg(k, n), '{}') FROM
                    (SELECT (created_at AT TIME ZONE 'UTC')::date::text AS k, count(*) AS n FROM mine
                     WHERE created_at >= (now() AT TIME ZONE 'UTC')::date - ($2::int - 1)
                     GROUP BY 1) s),
                (SELECT coalesce(jsonb_object_agg(k, r), '{}') FROM
                    (SELECT t AS k, avg(feedback_score)::float8 AS r FROM mine, unnest(techniques_used) AS t
                     WHERE feedback_score IS NOT NULL GROUP BY 1) s)",
    )
    .bind(user_id)
    .bind(days as i32)
    .fetch_one(db)
    .await?;
    let counts = |v: Value| -> BTreeMap<String, i64> {
        match v {
            Value::Object(map) => map
                .into_iter()
                .filter_map(|(k, n)| n.as_i64().map(|n| (k, n)))
                .collect(),
            _ => BTreeMap::new(),
        }
    };
    Ok(HistoryStats {
        total,
        favorites,
        average_feedback,
        by_intent: counts(by_intent),
        by_technique: counts(by_technique),
        by_day: counts(by_day)
            .into_iter()
            .filter_map(|(k, n)| k.parse().ok().map(|d| (d, n)))
            .collect(),
        rating_by_technique: match rating_by_technique {
            Value::Object(map) => map
                .into_iter()
                .filter_map(|(k, r)| r.as_f64().map(|r| (k, r)))
                .collect(),
            _ => BTreeMap::new(),
        },
    })
}

/// Where an export stands: after the row with this time and id; a row
/// without a time (`created_at` is nullable) comes after every timed one,
/// in id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportCursor {
    /// The last row's `created_at`; `None` once the untimed rows are read.
    pub created_at: Option<DateTime<Utc>>,
    /// The last row's id.
    pub id: Uuid,
}

/// One page of a user's whole history for an export, oldest first: the
/// rows with a time by `(created_at, id)`, then any without one by `id`,
/// so that no row is skipped or repeated however the pages fall. Returns
/// the rows and where the next page starts (`None` after the last).
pub async fn export_history_page(
    db: &mut sqlx::PgConnection,
    user_id: Uuid,
    after: Option<&ExportCursor>,
    limit: u32,
) -> Result<(Vec<PromptHistory>, Option<ExportCursor>), StoreError> {
    const TIMED: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM prompts.history WHERE user_id = $1 AND created_at IS NOT NULL \
          AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3)) \
          ORDER BY created_at, id LIMIT $4"
    );
    const UNTIMED: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM prompts.history WHERE user_id = $1 AND created_at IS NULL \
          AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
    );
    let limit = PageRequest::new(1, limit)?.limit;
    let want = i64::from(limit) + 1;
    let timed_phase = after.is_none_or(|c| c.created_at.is_some());
    let mut rows: Vec<PromptHistory> = Vec::new();
    if timed_phase {
        rows = sqlx::query_as(TIMED)
            .bind(user_id)
            .bind(after.and_then(|c| c.created_at))
            .bind(after.map(|c| c.id))
            .bind(want)
            .fetch_all(&mut *db)
            .await?;
    }
    if rows.len() < want as usize {
        // The timed rows are done: the untimed ones follow.
        let since = if timed_phase { None } else { after.map(|c| c.id) };
        let untimed: Vec<PromptHistory> = sqlx::query_as(UNTIMED)
            .bind(user_id)
            .bind(since)
            .bind(want - rows.len() as i64)
            .fetch_all(&mut *db)
            .await?;
        rows.extend(untimed);
    }
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = more.then(|| rows.last()).flatten().map(|last| ExportCursor {
        created_at: last.created_at,
        id: last.id,
    });
    Ok((rows, next))
}

/// Every item of a user, oldest first, as a stream: rows are read from
/// the server as they are sent, so an export of any size holds one row in
/// memory at a time.
pub fn export_history<'e>(
    db: impl PgExecutor<'e> + 'e,
    user_id: Uuid,
) -> BoxStream<'e, Result<PromptHistory, StoreError>> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM prompts.history WHERE user_id = $1 ORDER BY created_at, id"
    );
    sqlx::query_as::<_, PromptHistory>(SQL)
        .bind(user_id)
        .fetch(db)
        .map(|row| row.map_err(StoreError::from))
        .boxed()
}

/// Sets the time and the rating of many rows in one statement (seed data
/// spread over past days). The arrays are parallel; a `None` score leaves
/// the row unrated. Returns the rows changed.
pub async fn backdate_with_feedback(
    db: impl PgExecutor<'_>,
    ids: &[Uuid],
    created_at: &[DateTime<Utc>],
    scores: &[Option<i32>],
) -> Result<u64, StoreError> {
    if ids.len() != created_at.len() || ids.len() != scores.len() {
        return Err(invalid("ids", "ids, times and scores must be as many"));
    }
    if scores.iter().flatten().any(|s| !(1..=5).contains(s)) {
        return Err(invalid("rating", "must be 1 to 5"));
    }
    let done = sqlx::query(
        "UPDATE prompts.history h SET created_at = v.at, feedback_score = v.score
         FROM unnest($1::uuid[], $2::timestamptz[], $3::int[]) AS v(id, at, score) WHERE h.id = v.id",
    )
    .bind(ids)
    .bind(created_at)
    .bind(scores)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_invalid() {
        let c = HistoryCursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap_or_default(),
            id: Uuid::new_v4(),
        };
        assert_eq!(HistoryCursor::decode(&c.encode()).ok(), Some(c));
        for bad in ["", "x", "!!!", &URL_SAFE_NO_PAD.encode("1:not-a-uuid")] {
            assert!(matches!(
                HistoryCursor::decode(bad),
                Err(StoreError::Invalid { ref field, .. }) if field == "cursor"
            ));
        }
    }

    #[test]
    fn sort_names_come_from_the_allow_list() {
        assert_eq!("intent".parse::<SortColumn>().ok(), Some(SortColumn::Intent));
        assert!("created_at; DROP TABLE x".parse::<SortColumn>().is_err());
        assert_eq!("ASC".parse::<SortDirection>().ok(), Some(SortDirection::Asc));
        assert!("sideways".parse::<SortDirection>().is_err());
    }

    #[test]
    fn identifiers_are_lowercase_names() {
        assert!(check_identifier("intent", "code_generation").is_ok());
        for bad in ["", "Code", "a,b", "a b", "1abc", "x'--"] {
            assert!(check_identifier("intent", bad).is_err(), "{bad}");
        }
    }
}
