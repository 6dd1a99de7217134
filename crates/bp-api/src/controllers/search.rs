//! `POST /search`: semantic search over the caller's history, their own and
//! public saved prompts, and the public templates, through the pgvector HNSW
//! index.
//!
//! The embeddings table has no owner column, so the index returns the
//! nearest [`CANDIDATES`] of everyone's and one query keeps what the caller
//! may see. A caller whose items are all far behind other users' may
//! therefore get fewer hits than asked for; never another user's private item.

use axum::Json as JsonOut;
use axum::extract::State;
use bp_store::embeddings::{self, SearchRequest, SourceType};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::User;
use crate::error::ApiError;
use crate::extract::Json;
use crate::routes::{Access, Endpoint, Table, Verb};
use crate::state::AppState;

/// Nearest neighbours fetched before the visibility filter.
pub const CANDIDATES: u32 = 100;

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 2000;

/// `POST /search` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchBody {
    query: String,
    #[serde(default)]
    source_type: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    threshold: Option<f64>,
}

/// One search hit.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchHit {
    /// `prompt_history`, `saved_prompt` or `template`.
    pub source_type: String,
    /// The item's id.
    pub source_id: Uuid,
    /// Its title (the start of a prompt for history items).
    pub title: String,
    /// Its text.
    pub text: Option<String>,
    /// Cosine similarity to the query, -1..=1.
    pub similarity: f64,
}

/// `POST /search` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchAnswer {
    /// The query as searched (trimmed).
    pub query: String,
    /// Number of results.
    pub total: usize,
    /// Most similar first.
    pub results: Vec<SearchHit>,
    /// The embedder that made the vectors (its model name).
    pub embedder: String,
}

/// `POST /search`: the caller's visible items most similar to the query.
pub async fn search(
    State(state): State<AppState>,
    User(p): User,
    Json(body): Json<SearchBody>,
) -> Result<JsonOut<SearchAnswer>, ApiError> {
    let query = body.query.trim();
    if query.is_empty() {
        return Err(ApiError::BadRequest("invalid query: must not be empty".into()));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::BadRequest(format!(
            "invalid query: at most {MAX_QUERY_CHARS} characters"
        )));
    }
    let limit = body.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::BadRequest("invalid limit: must be 1 to 50".into()));
    }
    let source_type = body
        .source_type
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::parse::<SourceType>)
        .transpose()?;
    let service = state.service()?;
    let vector = service.embed_query(query).await?;
    let request = SearchRequest {
        query: &vector,
        source_type,
        min_similarity: body.threshold,
        limit: CANDIDATES,
        ef_search: None,
    };
    let hits = bp_store::reading!(state.db, pool => embeddings::search_similar(pool, &request))?;
    let ids_of = |kind: SourceType| -> Vec<Uuid> {
        hits.iter()
            .filter(|h| h.source_type == kind.as_str())
            .map(|h| h.source_id)
            .collect()
    };
    let (history, saved, templates) = (
        ids_of(SourceType::PromptHistory),
        ids_of(SourceType::SavedPrompt),
        ids_of(SourceType::Template),
    );
    let visible = bp_store::reading!(state.db, pool => embeddings::visible_sources(
        pool,
        p.user_id,
        &history,
        &saved,
        &templates
    ))?;
    let results: Vec<SearchHit> = hits
        .iter()
        .filter_map(|h| {
            let source = visible
                .iter()
                .find(|v| v.source_id == h.source_id && v.source_type == h.source_type)?;
            Some(SearchHit {
                source_type: h.source_type.clone(),
                source_id: h.source_id,
                title: source.title.clone(),
                text: source.text.clone(),
                similarity: h.similarity,
            })
        })
        .take(limit as usize)
        .collect();
    Ok(JsonOut(SearchAnswer {
        query: query.to_owned(),
        total: results.len(),
        results,
        embedder: service.embedder_model().to_owned(),
    }))
}

/// This module's endpoints.
pub(crate) fn routes(t: &mut Table) {
    t.add(
        Endpoint::new(
            Verb::Post,
            "/search",
            "search",
            Access::Session,
            "Semantic search (pgvector)",
        )
        .body::<SearchBody>()
        .returns::<SearchAnswer>(),
        search,
    );
}
