//! `prompts.embeddings`: one 768-dimensional vector per source row
//! (history item, saved prompt or template), searched by cosine distance
//! through the HNSW index.
//!
//! [`Embedding`] is encoded in pgvector's binary format, both as a bound
//! parameter and in `COPY ... (FORMAT binary)`; vectors never pass through
//! SQL text. A vector of the wrong dimension, with NaN or infinity, or of
//! zero length (no cosine direction) is rejected before any SQL runs.

use bytes_helpers::*;
use chrono::{DateTime, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef};
use sqlx::{Acquire, Decode, Encode, PgExecutor, Postgres};
use uuid::Uuid;

use crate::error::{StoreError, check_opt_text, invalid};

/// The dimension of every stored embedding (the column is `vector(768)`).
pub const DIMENSION: usize = 768;
/// Most rows one [`upsert_embeddings`] call takes.
pub const MAX_COPY_ROWS: usize = 100_000;
/// The `hnsw.ef_search` used when the caller does not choose (pgvector's default is 40).
pub const DEFAULT_EF_SEARCH: u32 = 160;

/// A vector in pgvector's `vector` type.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding(Vec<f32>);

impl Embedding {
    /// Checks the dimension and values: exactly [`DIMENSION`] finite
    /// numbers, not all zero.
    pub fn new(values: Vec<f32>) -> Result<Self, StoreError> {
        if values.len() != DIMENSION {
            return Err(invalid(
                "embedding",
                format!("must have {DIMENSION} dimensions, got {}", values.len()),
            ));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(invalid(
                "embedding",
                format!("value {i} is {}; every value must be a finite number", values[i]),
            ));
        }
        if values.iter().all(|v| *v == 0.0) {
            return Err(invalid(
                "embedding",
                "is all zeros and has no direction for cosine distance",
            ));
        }
        Ok(Self(values))
    }

    /// The values.
    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }

    fn write_binary(&self, buf: &mut Vec<u8>) {
        // pgvector's binary format: dim (int16), unused (int16), dim float4.
        // DIMENSION fits in u16, checked by `new` (768).
        buf.extend_from_slice(&(self.0.len() as u16).to_be_bytes());
        buf.extend_from_slice(&0u16.to_be_bytes());
        for v in &self.0 {
            buf.extend_from_slice(&v.to_be_bytes());
        }
    }
}

impl sqlx::Type<Postgres> for Embedding {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("vector")
    }
}

impl PgHasArrayType for Embedding {
    fn array_type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("_vector")
    }
}

impl Encode<'_, Postgres> for Embedding {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        let mut bytes = Vec::with_capacity(4 + 4 * self.0.len());
        self.write_binary(&mut bytes);
        buf.extend_from_slice(&bytes);
        Ok(IsNull::No)
    }
}

impl Decode<'_, Postgres> for Embedding {
    fn decode(value: PgValueRef<'_>) -> Result<Self, BoxDynError> {
        let bytes = value.as_bytes()?;
        let dim = usize::from(read_u16(bytes, 0)?);
        let values = (0..dim)
            .map(|i| read_f32(bytes, 4 + 4 * i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(values))
    }
}

mod bytes_helpers {
    use sqlx::error::BoxDynError;

    pub(super) fn read_u16(bytes: &[u8], at: usize) -> Result<u16, BoxDynError> {
        let b = bytes.get(at..at + 2).ok_or("vector value is truncated")?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(super) fn read_f32(bytes: &[u8], at: usize) -> Result<f32, BoxDynError> {
        let b = bytes.get(at..at + 4).ok_or("vector value is truncated")?;
        Ok(f32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// What an embedding belongs to (the table's check constraint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceType {
    /// `prompts.history`.
    PromptHistory,
    /// `prompts.saved_prompts`.
    SavedPrompt,
    /// `prompts.templates`.
    Template,
}

impl SourceType {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PromptHistory => "prompt_history",
            Self::SavedPrompt => "saved_prompt",
            Self::Template => "template",
        }
    }
}

impl std::str::FromStr for SourceType {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "prompt_history" => Ok(Self::PromptHistory),
            "saved_prompt" => Ok(Self::SavedPrompt),
            "template" => Ok(Self::Template),
            _ => Err(invalid(
                "source_type",
                "must be one of prompt_history, saved_prompt, template",
            )),
        }
    }
}

/// An embedding to store.
#[derive(Debug, Clone)]
pub struct NewEmbedding {
    /// What it belongs to.
    pub source_type: SourceType,
    /// The source row's id.
    pub source_id: Uuid,
    /// The vector.
    pub embedding: Embedding,
    /// The model that made it, up to 50 characters.
    pub model_version: Option<String>,
}

/// Stores or replaces the embedding of one source row; returns its id.
pub async fn upsert_embedding(db: impl PgExecutor<'_>, new: &NewEmbedding) -> Result<Uuid, StoreError> {
    check_opt_text("model_version", new.model_version.as_deref(), 50)?;
    Ok(sqlx::query_scalar(
        "INSERT INTO prompts.embeddings (source_type, source_id, embedding, model_version)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (source_type, source_id) DO UPDATE
         SET embedding = EXCLUDED.embedding, model_version = EXCLUDED.model_version, created_at = now()
         RETURNING id",
    )
    .bind(new.source_type.as_str())
    .bind(new.source_id)
    .bind(&new.embedding)
    .bind(&new.model_version)
    .fetch_one(db)
    .await?)
}

/// Up to this many rows, [`upsert_embeddings`] writes them one statement
/// each instead of through COPY.
const FEW_ROWS: usize = 8;

/// Stores or replaces many embeddings: `COPY ... (FORMAT binary)` into a
/// temporary table, then one `INSERT ... ON CONFLICT DO UPDATE`, all in one
/// transaction (a failure stores none). When a source appears twice, the
/// last one wins. Returns the rows written.
pub async fn upsert_embeddings<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    rows: &[NewEmbedding],
) -> Result<u64, StoreError> {
    if rows.len() > MAX_COPY_ROWS {
        return Err(invalid("rows", format!("at most {MAX_COPY_ROWS} per call")));
    }
    for row in rows {
        check_opt_text("model_version", row.model_version.as_deref(), 50)?;
    }
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    if rows.len() <= FEW_ROWS {
        // A few rows (the embedding writer's usual batch at moderate load)
        // cost less as plain upserts than as a temporary table's DDL and a
        // COPY. The last of a source's duplicates wins, as in the COPY path.
        let mut written = 0;
        for (i, row) in rows.iter().enumerate() {
            let later = rows[i + 1..]
                .iter()
                .any(|r| r.source_type == row.source_type && r.source_id == row.source_id);
            if !later {
                upsert_embedding(&mut *tx, row).await?;
                written += 1;
            }
        }
        tx.commit().await?;
        return Ok(written);
    }
    sqlx::query(
        "CREATE TEMP TABLE embeddings_load (ord int4, source_type text, source_id uuid, embedding vector(768), \
         model_version text) ON COMMIT DROP",
    )
    .execute(&mut *tx)
    .await?;
    let mut copy = tx
        .copy_in_raw("COPY embeddings_load FROM STDIN (FORMAT binary)")
        .await?;
    let mut buf = Vec::with_capacity(rows.len().min(4096) * (4 * DIMENSION + 64));
    buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    buf.extend_from_slice(&0i32.to_be_bytes()); // flags
    buf.extend_from_slice(&0i32.to_be_bytes()); // header extension length
    for (ord, row) in rows.iter().enumerate() {
        buf.extend_from_slice(&5i16.to_be_bytes());
        buf.extend_from_slice(&4i32.to_be_bytes());
        // MAX_COPY_ROWS keeps `ord` far below i32::MAX.
        buf.extend_from_slice(&(ord as i32).to_be_bytes());
        let source_type = row.source_type.as_str().as_bytes();
        buf.extend_from_slice(&(source_type.len() as i32).to_be_bytes());
        buf.extend_from_slice(source_type);
        buf.extend_from_slice(&16i32.to_be_bytes());
        buf.extend_from_slice(row.source_id.as_bytes());
        buf.extend_from_slice(&((4 + 4 * DIMENSION) as i32).to_be_bytes());
        row.embedding.write_binary(&mut buf);
        match &row.model_version {
            Some(m) => {
                buf.extend_from_slice(&(m.len() as i32).to_be_bytes());
                buf.extend_from_slice(m.as_bytes());
            }
            None => buf.extend_from_slice(&(-1i32).to_be_bytes()),
        }
        if buf.len() > 1 << 20 {
            copy.send(std::mem::take(&mut buf)).await?;
        }
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes());
    copy.send(buf).await?;
    copy.finish().await?;
    let done = sqlx::query(
        "INSERT INTO prompts.embeddings (source_type, source_id, embedding, model_version)
         SELECT DISTINCT ON (source_type, source_id) source_type, source_id, embedding, model_version
         FROM embeddings_load ORDER BY source_type, source_id, ord DESC
         ON CONFLICT (source_type, source_id) DO UPDATE
         SET embedding = EXCLUDED.embedding, model_version = EXCLUDED.model_version, created_at = now()",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// One search hit.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SimilarItem {
    /// The embedding's id.
    pub id: Uuid,
    /// What it belongs to.
    pub source_type: String,
    /// The source row.
    pub source_id: Uuid,
    /// The model that made it.
    pub model_version: Option<String>,
    /// Cosine similarity, -1..=1 (1 is identical direction).
    pub similarity: f64,
    /// When it was stored.
    pub created_at: Option<DateTime<Utc>>,
}

/// A top-k search.
#[derive(Debug, Clone)]
pub struct SearchRequest<'a> {
    /// The query vector.
    pub query: &'a Embedding,
    /// Only this kind of source.
    pub source_type: Option<SourceType>,
    /// Only hits at least this similar (-1..=1).
    pub min_similarity: Option<f64>,
    /// Hits wanted, 1..=100.
    pub limit: u32,
    /// HNSW candidate list size, 1..=1000 ([`DEFAULT_EF_SEARCH`] when `None`);
    /// larger is slower and finds more of the true nearest neighbours.
    pub ef_search: Option<u32>,
}

/// Builds one search statement. The inner `ORDER BY embedding <=> $1
/// LIMIT n` is what lets the planner use `idx_embeddings_hnsw`; filtering by
/// source type happens in the index scan (pgvector 0.8 iterative scan), the
/// similarity threshold outside it. The LIMIT is a constant, not a
/// parameter: PostgreSQL's generic plan for a prepared statement guesses a
/// parameter LIMIT at a tenth of the table and picks a sequential scan, and
/// forcing custom plans would re-plan every call.
macro_rules! search_sql {
    ($filter:literal, $threshold:literal, $limit:literal) => {
        concat!(
            "SELECT id, source_type::text, source_id, model_version, similarity, created_at FROM (
                SELECT id, source_type, source_id, model_version, created_at,
                       embedding <=> $1 AS distance, 1 - (embedding <=> $1) AS similarity
                FROM prompts.embeddings ",
            $filter,
            " ORDER BY embedding <=> $1 LIMIT ",
            $limit,
            ") hits WHERE ",
            $threshold,
            "::float8 IS NULL OR similarity >= ",
            $threshold,
            " ORDER BY distance, id"
        )
    };
}

/// The statement for `limit` hits (rounded up to 10, 20, 50 or 100; the
/// caller truncates), from this fixed set: no value is ever formatted into
/// SQL text.
///
/// Unfiltered statements take `$1` the vector and `$2` the threshold;
/// filtered ones (`by_source`) `$1` the vector, `$2` the source type, `$3`
/// the threshold. Two families rather than one `($2 IS NULL OR source_type
/// = $2)`: in a cached generic plan that OR is priced as a selective
/// filter, and at 100k rows the planner then preferred a sequential scan
/// and sort (about 90 ms a query) over the index.
pub fn search_sql(limit: u32, by_source: bool) -> &'static str {
    match (by_source, limit) {
        (false, 0..=10) => search_sql!("", "$2", "10"),
        (false, 11..=20) => search_sql!("", "$2", "20"),
        (false, 21..=50) => search_sql!("", "$2", "50"),
        (false, _) => search_sql!("", "$2", "100"),
        (true, 0..=10) => search_sql!("WHERE source_type = $2", "$3", "10"),
        (true, 11..=20) => search_sql!("WHERE source_type = $2", "$3", "20"),
        (true, 21..=50) => search_sql!("WHERE source_type = $2", "$3", "50"),
        (true, _) => search_sql!("WHERE source_type = $2", "$3", "100"),
    }
}

/// The `limit` nearest embeddings by cosine distance, through the HNSW
/// index with `hnsw.ef_search` set for the query's own transaction.
pub async fn search_similar<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    request: &SearchRequest<'_>,
) -> Result<Vec<SimilarItem>, StoreError> {
    if request.limit == 0 || request.limit > 100 {
        return Err(invalid("limit", "must be 1 to 100"));
    }
    let ef = request.ef_search.unwrap_or(DEFAULT_EF_SEARCH);
    if ef == 0 || ef > 1000 {
        return Err(invalid("ef_search", "must be 1 to 1000"));
    }
    if let Some(t) = request.min_similarity
        && !(-1.0..=1.0).contains(&t)
    {
        return Err(invalid("threshold", "must be between -1 and 1"));
    }
    // ef_search below k would cap the hits at ef.
    let ef = ef.max(request.limit);
    // The settings are local to one read-only transaction, so nothing is
    // left on the pooled connection. `enable_seqscan = off` because the
    // planner prices a sequential scan without the cost of reading each
    // row's toasted 768-float vector: on a table of a few thousand rows it
    // chose the scan and a sort (about 20 ms on this machine) over the
    // index (about 2 ms), and the mixed load in `bench api` spent most of
    // PostgreSQL's time there.
    let mut tx = db.begin().await?;
    sqlx::query(
        "SELECT set_config('hnsw.ef_search', $1, true),
                set_config('hnsw.iterative_scan', 'relaxed_order', true),
                set_config('enable_seqscan', 'off', true)",
    )
    .bind(ef.to_string())
    .execute(&mut *tx)
    .await?;
    let source = request.source_type.map(SourceType::as_str);
    let mut query = sqlx::query_as(search_sql(request.limit, source.is_some())).bind(request.query);
    if let Some(source) = source {
        query = query.bind(source);
    }
    let mut hits: Vec<SimilarItem> = query.bind(request.min_similarity).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    hits.truncate(request.limit as usize);
    Ok(hits)
}

/// A search hit's source as the searcher may see it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VisibleSource {
    /// `prompt_history`, `saved_prompt` or `template`.
    pub source_type: String,
    /// The source row.
    pub source_id: Uuid,
    /// A title: the template or saved prompt name, or the start of the input.
    pub title: String,
    /// The text (enhanced prompt or template text), when there is one.
    pub text: Option<String>,
}

/// Of the given source rows, those `viewer` may see, in one query: their own
/// history items, their own or public saved prompts, active public templates.
pub async fn visible_sources(
    db: impl PgExecutor<'_>,
    viewer: Uuid,
    history_ids: &[Uuid],
    saved_ids: &[Uuid],
    template_ids: &[Uuid],
) -> Result<Vec<VisibleSource>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT 'prompt_history' AS source_type, id AS source_id, left(original_input, 120) AS title,
                enhanced_output AS text
         FROM prompts.history WHERE id = ANY($1) AND user_id = $4
         UNION ALL
         SELECT 'saved_prompt', s.id, s.title, coalesce(h.enhanced_output, s.description)
         FROM prompts.saved_prompts s LEFT JOIN prompts.history h ON h.id = s.history_id
         WHERE s.id = ANY($2) AND (s.user_id = $4 OR s.is_public)
         UNION ALL
         SELECT 'template', id, name, template_text
         FROM prompts.templates WHERE id = ANY($3) AND is_active AND coalesce(is_public, true)",
    )
    .bind(history_ids)
    .bind(saved_ids)
    .bind(template_ids)
    .bind(viewer)
    .fetch_all(db)
    .await?)
}

/// The exact top `limit` by cosine distance, with the index turned off for
/// this query: the ground truth that recall is measured against.
pub async fn search_exact<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    query: &Embedding,
    limit: u32,
) -> Result<Vec<Uuid>, StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query("SET LOCAL enable_indexscan = off")
        .execute(&mut *tx)
        .await?;
    let ids = sqlx::query_scalar("SELECT id FROM prompts.embeddings ORDER BY embedding <=> $1, id LIMIT $2")
        .bind(query)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ids)
}

/// The stored embedding of a source row.
pub async fn get_embedding(
    db: impl PgExecutor<'_>,
    source_type: SourceType,
    source_id: Uuid,
) -> Result<Embedding, StoreError> {
    sqlx::query_scalar("SELECT embedding FROM prompts.embeddings WHERE source_type = $1 AND source_id = $2")
        .bind(source_type.as_str())
        .bind(source_id)
        .fetch_optional(db)
        .await?
        .flatten()
        .ok_or(StoreError::NotFound { entity: "embedding" })
}

/// A signed-in user's row that has no embedding yet (see [`missing_embeddings`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Unembedded {
    /// The source row's id.
    pub id: Uuid,
    /// When the row was made: the sweep's keyset position.
    pub created_at: DateTime<Utc>,
    /// The text to embed (opened when prompt encryption sealed it).
    #[sqlx(try_from = "crate::crypto::Pii")]
    pub text: String,
}

/// Up to `limit` rows of `source` owned by a user, made after `after`
/// (keyset: creation time, then id), that have no embedding, oldest first:
/// the embedding writer's sweep finds history rows whose embedding was
/// dropped, failed or never queued, so none stays out of semantic search.
/// Only history is swept: templates are embedded at start-up, and a saved
/// prompt's indexed text includes what the client sent with it.
pub async fn missing_embeddings(
    db: impl PgExecutor<'_>,
    source: SourceType,
    after: (DateTime<Utc>, Uuid),
    limit: i64,
) -> Result<Vec<Unembedded>, StoreError> {
    // Each statement is a constant chosen by the allow-listed enum.
    let sql = match source {
        SourceType::PromptHistory => {
            "SELECT h.id, coalesce(h.created_at, 'epoch') AS created_at, h.original_input AS text
             FROM prompts.history h
             WHERE h.user_id IS NOT NULL AND (coalesce(h.created_at, 'epoch'), h.id) > ($1, $2)
               AND NOT EXISTS (SELECT 1 FROM prompts.embeddings e
                               WHERE e.source_type = 'prompt_history' AND e.source_id = h.id)
             ORDER BY coalesce(h.created_at, 'epoch'), h.id LIMIT $3"
        }
        // A saved prompt's indexed text includes what the client sent with
        // it, which is not stored; it is embedded when saved.
        SourceType::SavedPrompt | SourceType::Template => return Ok(Vec::new()),
    };
    Ok(sqlx::query_as(sql)
        .bind(after.0)
        .bind(after.1)
        .bind(limit)
        .fetch_all(db)
        .await?)
}

/// An embedding made by another model than the current one, with the text
/// to embed again (see [`stale_embeddings`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaleEmbedding {
    /// The embedding's id: the re-embedding's keyset position.
    pub id: Uuid,
    /// What it belongs to (`prompt_history`, `saved_prompt`, `template`).
    pub source_type: String,
    /// The source row.
    pub source_id: Uuid,
    /// The first part of the text: a saved prompt's title, a template's name.
    pub head: Option<String>,
    /// A saved prompt's or template's description.
    pub description: Option<String>,
    /// The prompt's own text (opened when prompt encryption sealed it).
    #[sqlx(try_from = "crate::crypto::PiiOpt")]
    pub prompt: Option<String>,
    /// A template's text.
    pub template_text: Option<String>,
}

impl StaleEmbedding {
    /// The text the service embeds for this source: the same parts, in the
    /// same order, as when it was first queued.
    pub fn text(&self) -> String {
        [&self.head, &self.description, &self.prompt, &self.template_text]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Up to `limit` embeddings whose `model_version` is not `model`, after the
/// embedding id `after`, in id order: `betterprompts model reembed` pages
/// through them. Re-embedded rows drop out of the set, so a run that stops
/// can simply be started again. Embeddings whose source row is gone are
/// returned with no text parts (the caller deletes them).
pub async fn stale_embeddings(
    db: impl PgExecutor<'_>,
    model: &str,
    after: Uuid,
    limit: i64,
) -> Result<Vec<StaleEmbedding>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT e.id, e.source_type::text AS source_type, e.source_id,
                coalesce(s.title, t.name) AS head,
                coalesce(s.description, t.description) AS description,
                coalesce(h.original_input, sh.original_input) AS prompt,
                t.template_text
         FROM prompts.embeddings e
         LEFT JOIN prompts.history h ON e.source_type = 'prompt_history' AND h.id = e.source_id
         LEFT JOIN prompts.saved_prompts s ON e.source_type = 'saved_prompt' AND s.id = e.source_id
         LEFT JOIN prompts.history sh ON sh.id = s.history_id
         LEFT JOIN prompts.templates t ON e.source_type = 'template' AND t.id = e.source_id
         WHERE e.model_version IS DISTINCT FROM $1 AND e.id > $2
         ORDER BY e.id LIMIT $3",
    )
    .bind(model)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// How many embeddings were made by another model than `model`.
pub async fn count_stale_embeddings(db: impl PgExecutor<'_>, model: &str) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM prompts.embeddings WHERE model_version IS DISTINCT FROM $1")
            .bind(model)
            .fetch_one(db)
            .await?,
    )
}

/// How many embeddings each model made, most first.
pub async fn embeddings_by_model(db: impl PgExecutor<'_>) -> Result<Vec<(Option<String>, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT model_version, count(*) FROM prompts.embeddings GROUP BY model_version ORDER BY count(*) DESC",
    )
    .fetch_all(db)
    .await?)
}

/// Removes the embedding of a source row (when the row is deleted).
pub async fn delete_embedding(
    db: impl PgExecutor<'_>,
    source_type: SourceType,
    source_id: Uuid,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM prompts.embeddings WHERE source_type = $1 AND source_id = $2")
        .bind(source_type.as_str())
        .bind(source_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_dimension_nan_infinity_and_zero_vectors_are_rejected() {
        assert!(Embedding::new(vec![0.5; DIMENSION]).is_ok());
        for bad in [
            vec![0.5; DIMENSION - 1],
            vec![0.5; DIMENSION + 1],
            vec![],
            vec![0.0; DIMENSION],
        ] {
            assert!(matches!(Embedding::new(bad), Err(StoreError::Invalid { .. })));
        }
        let mut nan = vec![0.5; DIMENSION];
        nan[7] = f32::NAN;
        let err = Embedding::new(nan).unwrap_err();
        assert!(err.to_string().contains("value 7 is NaN"), "{err}");
        let mut inf = vec![0.5; DIMENSION];
        inf[0] = f32::INFINITY;
        assert!(Embedding::new(inf).is_err());
    }

    #[test]
    fn source_types_come_from_the_allow_list() {
        assert_eq!("template".parse::<SourceType>().ok(), Some(SourceType::Template));
        assert!("users".parse::<SourceType>().is_err());
    }
}
