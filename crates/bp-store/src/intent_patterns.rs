//! `prompts.intent_patterns`: the labelled examples the intent classifier is
//! trained on. The table's trigger stores `normalized_pattern` (lowercased,
//! trimmed). Similar patterns are found with PostgreSQL full-text search
//! (`to_tsvector('english', ...)`, GIN index from migration 0007) ranked by
//! `ts_rank`: the bundled PostgreSQL has no pg_trgm, and full-text search
//! gives the same results on every server, so it is used everywhere.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::{StoreError, check_identifier, check_opt_text, check_text, invalid, validate_rows};

/// Longest pattern, in characters.
pub const MAX_PATTERN_CHARS: usize = 5_000;

const COLUMNS: &str = "id, pattern, normalized_pattern, intent, sub_intent, confidence, is_verified, verified_by, \
    source, created_at, updated_at";

/// A labelled example.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IntentPattern {
    /// Primary key.
    pub id: Uuid,
    /// The text as given.
    pub pattern: String,
    /// Lowercased and trimmed (trigger).
    pub normalized_pattern: String,
    /// Its intent.
    pub intent: String,
    /// Finer label.
    pub sub_intent: Option<String>,
    /// Label confidence, 0..=1.
    pub confidence: Option<f64>,
    /// Checked by a person.
    pub is_verified: Option<bool>,
    /// Who checked it.
    pub verified_by: Option<Uuid>,
    /// Where it came from (`seed`, `feedback`, `admin`).
    pub source: Option<String>,
    /// Created.
    pub created_at: Option<DateTime<Utc>>,
    /// Updated (trigger).
    pub updated_at: Option<DateTime<Utc>>,
}

/// A pattern to save.
#[derive(Debug, Clone, Default)]
pub struct NewIntentPattern {
    /// 1..=[`MAX_PATTERN_CHARS`] characters.
    pub pattern: String,
    /// An intent name.
    pub intent: String,
    /// Finer label (identifier).
    pub sub_intent: Option<String>,
    /// 0..=1; 1 when `None`.
    pub confidence: Option<f64>,
    /// Checked by a person.
    pub is_verified: bool,
    /// Who checked it.
    pub verified_by: Option<Uuid>,
    /// Up to 50 characters.
    pub source: Option<String>,
}

impl NewIntentPattern {
    /// Checks every field before any SQL runs.
    pub fn validate(&self) -> Result<(), StoreError> {
        check_text("pattern", &self.pattern, 1, MAX_PATTERN_CHARS)?;
        if self.pattern.trim().is_empty() {
            return Err(invalid("pattern", "must not be blank"));
        }
        check_identifier("intent", &self.intent)?;
        if let Some(sub) = &self.sub_intent {
            check_identifier("sub_intent", sub)?;
        }
        if let Some(c) = self.confidence
            && !(0.0..=1.0).contains(&c)
        {
            return Err(invalid("confidence", "must be between 0 and 1"));
        }
        check_opt_text("source", self.source.as_deref(), 50)
    }
}

/// Saves one pattern.
pub async fn save_intent_pattern(
    db: impl PgExecutor<'_>,
    new: &NewIntentPattern,
) -> Result<IntentPattern, StoreError> {
    new.validate()?;
    // normalized_pattern is overwritten by the trigger; '' satisfies NOT NULL.
    let sql = format!(
        "INSERT INTO prompts.intent_patterns (pattern, normalized_pattern, intent, sub_intent, confidence, \
         is_verified, verified_by, source)
         VALUES ($1, '', $2, $3, coalesce($4, 1.0), $5, $6, $7) RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(&new.pattern)
        .bind(&new.intent)
        .bind(&new.sub_intent)
        .bind(new.confidence)
        .bind(new.is_verified)
        .bind(new.verified_by)
        .bind(&new.source)
        .fetch_one(db)
        .await?)
}

/// Saves many patterns in one statement, skipping any whose normalised text
/// is already stored with the same intent (so seeding twice adds nothing).
/// Returns how many were inserted.
pub async fn save_intent_patterns(
    db: impl PgExecutor<'_>,
    rows: &[NewIntentPattern],
) -> Result<u64, StoreError> {
    validate_rows(rows, NewIntentPattern::validate)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query(
        "INSERT INTO prompts.intent_patterns (pattern, normalized_pattern, intent, sub_intent, confidence, \
         is_verified, verified_by, source)
         SELECT DISTINCT ON (lower(trim(t.pattern)), t.intent)
                t.pattern, '', t.intent, t.sub_intent, coalesce(t.confidence, 1.0), t.is_verified, \
                t.verified_by, t.source
         FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::bool[], $6::uuid[], $7::text[])
              AS t(pattern, intent, sub_intent, confidence, is_verified, verified_by, source)
         WHERE NOT EXISTS (SELECT 1 FROM prompts.intent_patterns p
                           WHERE p.normalized_pattern = lower(trim(t.pattern)) AND p.intent = t.intent)",
    )
    .bind(rows.iter().map(|r| r.pattern.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.intent.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.sub_intent.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.confidence).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.is_verified).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.verified_by).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.source.as_deref()).collect::<Vec<_>>())
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Patterns of one intent (or all), at least `min_confidence`, verified
/// ones first, then by confidence.
pub async fn list_intent_patterns(
    db: impl PgExecutor<'_>,
    intent: Option<&str>,
    min_confidence: f64,
) -> Result<Vec<IntentPattern>, StoreError> {
    if !(0.0..=1.0).contains(&min_confidence) {
        return Err(invalid("min_confidence", "must be between 0 and 1"));
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM prompts.intent_patterns
         WHERE ($1::text IS NULL OR intent = $1) AND coalesce(confidence, 1.0) >= $2
         ORDER BY is_verified DESC NULLS LAST, confidence DESC NULLS LAST, created_at, id"
    );
    Ok(sqlx::query_as(&sql)
        .bind(intent)
        .bind(min_confidence)
        .fetch_all(db)
        .await?)
}

/// A pattern and how well it matched.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SimilarPattern {
    /// The pattern.
    #[sqlx(flatten)]
    pub pattern: IntentPattern,
    /// `ts_rank` of the match; higher is closer.
    pub rank: f32,
}

/// Up to `limit` stored patterns sharing words with `text` (stemmed,
/// stop words dropped, any word may match), best first.
pub async fn similar_patterns(
    db: impl PgExecutor<'_>,
    text: &str,
    limit: u32,
) -> Result<Vec<SimilarPattern>, StoreError> {
    check_text("text", text, 1, MAX_PATTERN_CHARS)?;
    if limit == 0 || limit > 100 {
        return Err(invalid("limit", "must be 1 to 100"));
    }
    // plainto_tsquery ANDs the words; turning '&' into '|' makes any shared
    // word a match and lets ts_rank order by how many are shared. The
    // query's text form quotes every lexeme, so the cast back is safe.
    let sql = format!(
        "WITH q AS (SELECT replace(plainto_tsquery('english', $1)::text, '&', '|')::tsquery AS query)
         SELECT {COLUMNS}, ts_rank(to_tsvector('english', normalized_pattern), q.query) AS rank
         FROM prompts.intent_patterns, q
         WHERE to_tsvector('english', normalized_pattern) @@ q.query
         ORDER BY rank DESC, id LIMIT $2"
    );
    Ok(sqlx::query_as(&sql)
        .bind(text)
        .bind(i64::from(limit))
        .fetch_all(db)
        .await?)
}

/// A value that changes whenever a pattern is added, changed or deleted
/// (row count and newest update): servers poll it to know when to retrain.
pub async fn patterns_fingerprint(db: impl PgExecutor<'_>) -> Result<String, StoreError> {
    let (n, newest): (i64, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT count(*), max(greatest(created_at, updated_at)) FROM prompts.intent_patterns")
            .fetch_one(db)
            .await?;
    Ok(format!("{n}:{}", newest.map_or(0, |t| t.timestamp_micros())))
}

/// Deletes every pattern whose `source` is `source` (e.g. `seed` for
/// `seed --clean`); returns how many.
pub async fn delete_intent_patterns_by_source(
    db: impl PgExecutor<'_>,
    source: &str,
) -> Result<u64, StoreError> {
    check_text("source", source, 1, 50)?;
    Ok(
        sqlx::query("DELETE FROM prompts.intent_patterns WHERE source = $1")
            .bind(source)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
