//! A user's library: saved prompts (`/prompts/saved`), collections
//! (`/collections`) and public share links (`/shared/{token}`), plus the
//! public template list (`/templates`, cached 2 h).
//!
//! Another user's saved prompt or collection answers 404, the same as one
//! that does not exist, so ids do not reveal what others keep. A share token
//! is checked for its shape (43 base64url characters) before any query, so
//! `../`-style paths never reach the database.

use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bp_cache::Namespace;
use bp_store::PageRequest;
use bp_store::embeddings::SourceType;
use bp_store::library::{
    self, Collection, CollectionFields, SavedPrompt, SavedPromptText, SavedPromptUpdate,
};
use bp_store::templates::{self, Template};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::User;
use crate::error::ApiError;
use crate::extract::{Id, Json, Query};
use crate::routes::{Access, Endpoint, Table, Verb};
use crate::state::AppState;

/// Where a share token is opened.
pub const SHARE_PATH: &str = "/api/v1/shared/";

/// Cache key of the public template list.
pub const TEMPLATE_LIST_KEY: &[&str] = &["public-list"];

/// What only the owner of a saved prompt or collection sees: dropped from
/// a shared item.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ShareFields {
    /// The enhancement it was saved from (saved prompts only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_id: Option<Option<Uuid>>,
    /// The share token, when shared.
    pub share_token: Option<String>,
    /// The path that opens it for anyone, when shared.
    pub share_url: Option<String>,
}

impl ShareFields {
    fn new(history_id: Option<Option<Uuid>>, token: Option<&String>) -> Self {
        Self {
            history_id,
            share_token: token.cloned(),
            share_url: token.map(|t| format!("{SHARE_PATH}{t}")),
        }
    }
}

/// A saved prompt with the enhancement it keeps.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SavedView {
    /// Id.
    pub id: Uuid,
    /// `saved_prompt` on a shared link; absent otherwise.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The owner's fields; absent on a shared link.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub owner: Option<ShareFields>,
    /// Title.
    pub title: String,
    /// Notes.
    pub description: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Listed publicly.
    pub is_public: bool,
    /// Times opened through its share link.
    pub view_count: i32,
    /// The prompt the user typed.
    pub original_text: Option<String>,
    /// The enhanced prompt.
    pub enhanced_text: Option<String>,
    /// Detected intent.
    pub intent: Option<String>,
    /// Techniques applied.
    pub techniques_used: Vec<String>,
    /// Created.
    pub created_at: Option<DateTime<Utc>>,
    /// Last changed.
    pub updated_at: Option<DateTime<Utc>>,
}

impl SavedView {
    fn new(s: &SavedPrompt, text: Option<&SavedPromptText>) -> Self {
        Self {
            id: s.id,
            kind: None,
            owner: Some(ShareFields::new(Some(s.history_id), s.share_token.as_ref())),
            title: s.title.clone(),
            description: s.description.clone(),
            tags: s.tags.clone().unwrap_or_default(),
            is_public: s.is_public.unwrap_or(false),
            view_count: s.view_count.unwrap_or(0),
            original_text: text.map(|t| t.original_input.clone()),
            enhanced_text: text.map(|t| t.enhanced_output.clone()),
            intent: text.and_then(|t| t.intent.clone()),
            techniques_used: text.and_then(|t| t.techniques_used.clone()).unwrap_or_default(),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }

    /// Without what only the owner should see.
    fn public(mut self) -> Self {
        self.owner = None;
        self
    }
}

/// A page of saved prompts.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SavedPage {
    /// The saved prompts (never null).
    pub data: Vec<SavedView>,
    /// Where the page stands.
    pub pagination: super::Pagination,
}

/// Saved prompts with their texts, fetched in one query.
pub(crate) async fn saved_views(state: &AppState, items: &[SavedPrompt]) -> Result<Vec<SavedView>, ApiError> {
    let ids: Vec<Uuid> = items.iter().map(|s| s.id).collect();
    let texts: std::collections::HashMap<Uuid, SavedPromptText> =
        bp_store::reading!(state.db, pool => library::saved_prompt_texts(pool, &ids))?
            .into_iter()
            .map(|t| (t.saved_prompt_id, t))
            .collect();
    Ok(items
        .iter()
        .map(|s| SavedView::new(s, texts.get(&s.id)))
        .collect())
}

async fn one_saved(state: &AppState, saved: &SavedPrompt) -> Result<SavedView, ApiError> {
    let mut list = saved_views(state, std::slice::from_ref(saved)).await?;
    // One item in, one out (saved_views maps each item).
    list.pop().ok_or(ApiError::NotFound)
}

/// Queues the saved prompt's embedding (title, notes and text) for search.
fn index_saved(state: &AppState, saved: &SavedPrompt, view: &SavedView) {
    let Some(service) = state.service.as_ref() else {
        return;
    };
    let text = [
        Some(saved.title.as_str()),
        saved.description.as_deref(),
        view.original_text.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n");
    service
        .embeddings()
        .push(SourceType::SavedPrompt, saved.id, &text);
}

/// `GET /prompts/saved` query.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct SavedQuery {
    page: Option<u32>,
    limit: Option<u32>,
    tag: Option<String>,
}

/// `GET /prompts/saved`: the caller's saved prompts, newest first.
pub async fn list_saved(
    State(state): State<AppState>,
    User(p): User,
    Query(q): Query<SavedQuery>,
) -> Result<JsonOut<SavedPage>, ApiError> {
    let request = PageRequest::new(q.page.unwrap_or(1), q.limit.unwrap_or(20))?;
    let tag = q.tag.as_deref().filter(|t| !t.is_empty());
    let mut conn = state.db.read_for(p.user_id).await?;
    let page = library::list_saved_prompts(&mut conn, p.user_id, tag, request).await?;
    conn.finish().await?;
    Ok(JsonOut(SavedPage {
        data: saved_views(&state, &page.items).await?,
        pagination: super::pagination(&page),
    }))
}

/// `POST /prompts/saved` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SaveBody {
    title: String,
    #[serde(default)]
    history_id: Option<Uuid>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    is_public: bool,
    /// Create a share link at once.
    #[serde(default)]
    share: bool,
}

/// `POST /prompts/saved`: 201 with the saved prompt. A `history_id` that is
/// not one of the caller's enhancements is 404.
pub async fn create_saved(
    State(state): State<AppState>,
    User(p): User,
    Json(body): Json<SaveBody>,
) -> Result<(StatusCode, JsonOut<SavedView>), ApiError> {
    let new = library::NewSavedPrompt {
        user_id: p.user_id,
        history_id: body.history_id,
        title: body.title.trim().to_owned(),
        description: body.description,
        tags: body.tags,
        is_public: body.is_public,
    };
    let mut tx = state.db.begin_for(p.user_id).await?;
    let mut saved = library::create_saved_prompt(&mut *tx, &new).await?;
    if body.share {
        saved.share_token = Some(library::share_saved_prompt(&mut *tx, saved.id, p.user_id).await?);
    }
    tx.commit().await?;
    let answer = one_saved(&state, &saved).await?;
    index_saved(&state, &saved, &answer);
    Ok((StatusCode::CREATED, JsonOut(answer)))
}

/// `GET /prompts/saved/{id}`.
pub async fn get_saved(
    State(state): State<AppState>,
    User(p): User,
    Id(id): Id,
) -> Result<JsonOut<SavedView>, ApiError> {
    let mut conn = state.db.read_for(p.user_id).await?;
    let saved = library::get_saved_prompt(&mut *conn, id, p.user_id).await?;
    conn.finish().await?;
    Ok(JsonOut(one_saved(&state, &saved).await?))
}

/// `PUT /prompts/saved/{id}` body; absent fields stay as they are.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct UpdateSavedBody {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    is_public: Option<bool>,
    /// `true` issues a new share link (the old one stops working); `false`
    /// removes it.
    #[serde(default)]
    share: Option<bool>,
}

/// `PUT /prompts/saved/{id}`: all changes in one transaction.
pub async fn update_saved(
    State(state): State<AppState>,
    User(p): User,
    Id(id): Id,
    Json(body): Json<UpdateSavedBody>,
) -> Result<JsonOut<SavedView>, ApiError> {
    let update = SavedPromptUpdate {
        title: body.title.map(|t| t.trim().to_owned()),
        description: body.description,
        tags: body.tags,
        is_public: body.is_public,
    };
    let mut tx = state.db.begin_for(p.user_id).await?;
    let mut saved = library::update_saved_prompt(&mut *tx, id, p.user_id, &update).await?;
    match body.share {
        Some(true) => saved.share_token = Some(library::share_saved_prompt(&mut *tx, id, p.user_id).await?),
        Some(false) => {
            library::unshare_saved_prompt(&mut *tx, id, p.user_id).await?;
            saved.share_token = None;
        }
        None => {}
    }
    tx.commit().await?;
    let answer = one_saved(&state, &saved).await?;
    index_saved(&state, &saved, &answer);
    Ok(JsonOut(answer))
}

/// `DELETE /prompts/saved/{id}`.
pub async fn delete_saved(
    State(state): State<AppState>,
    User(p): User,
    Id(id): Id,
) -> Result<JsonOut<super::Message>, ApiError> {
    let mut conn = state.db.for_user(p.user_id).await?;
    library::delete_saved_prompt(&mut *conn, id, p.user_id).await?;
    conn.finish().await?;
    if let Err(e) = bp_store::embeddings::delete_embedding(state.db.pool(), SourceType::SavedPrompt, id).await
    {
        tracing::warn!(error = %e, "embedding of a deleted saved prompt left behind");
    }
    Ok(JsonOut(super::Message::new("saved prompt deleted")))
}

/// A share token as issued: 32 bytes in unpadded base64url.
fn valid_share_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `GET /shared/{share_token}` answer: a saved prompt or a collection.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum SharedItem {
    /// `type` is `saved_prompt`.
    Prompt(SavedView),
    /// `type` is `collection`.
    Collection(CollectionView),
}

/// `GET /shared/{share_token}`: a shared saved prompt (its view counted) or
/// a shared collection with its prompts; no login needed. Read on the
/// primary: an anonymous reader has no write position, and a link is
/// opened moments after it is made.
pub async fn shared(state: State<AppState>, token: Path<String>) -> Result<JsonOut<SharedItem>, ApiError> {
    bp_store::replicas::consistency::scope(
        bp_store::replicas::consistency::PRIMARY_ONLY,
        shared_item(state, token),
    )
    .await
}

async fn shared_item(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<JsonOut<SharedItem>, ApiError> {
    if !valid_share_token(&token) {
        return Err(ApiError::NotFound);
    }
    match library::view_shared_prompt(state.db.pool(), &token).await {
        Ok(saved) => {
            let mut view = one_saved(&state, &saved).await?.public();
            view.kind = Some("saved_prompt".into());
            return Ok(JsonOut(SharedItem::Prompt(view)));
        }
        Err(bp_store::StoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let collection = bp_store::reading!(state.db, pool => library::get_shared_collection(pool, &token))?;
    let prompts =
        bp_store::reading!(state.db, pool => library::collection_prompts(pool, collection.id, None))?;
    let mut view = CollectionView::new(&collection, None).public();
    view.kind = Some("collection".into());
    view.prompts = Some(
        saved_views(&state, &prompts)
            .await?
            .into_iter()
            .map(SavedView::public)
            .collect(),
    );
    Ok(JsonOut(SharedItem::Collection(view)))
}

/// A collection.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CollectionView {
    /// Id.
    pub id: Uuid,
    /// `collection` on a shared link; absent otherwise.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name.
    pub name: String,
    /// Notes.
    pub description: Option<String>,
    /// Display colour.
    pub color: Option<String>,
    /// Display icon.
    pub icon: Option<String>,
    /// Listed publicly.
    pub is_public: bool,
    /// The owner's fields; absent on a shared link.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub owner: Option<ShareFields>,
    /// Created.
    pub created_at: Option<DateTime<Utc>>,
    /// Last changed.
    pub updated_at: Option<DateTime<Utc>>,
    /// Saved prompts in it (lists and single views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_count: Option<i64>,
    /// Its saved prompts in order (single views and shared links).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompts: Option<Vec<SavedView>>,
}

impl CollectionView {
    pub(crate) fn new(c: &Collection, prompt_count: Option<i64>) -> Self {
        Self {
            id: c.id,
            kind: None,
            name: c.name.clone(),
            description: c.description.clone(),
            color: c.color.clone(),
            icon: c.icon.clone(),
            is_public: c.is_public.unwrap_or(false),
            owner: Some(ShareFields::new(None, c.share_token.as_ref())),
            created_at: c.created_at,
            updated_at: c.updated_at,
            prompt_count,
            prompts: None,
        }
    }

    fn public(mut self) -> Self {
        self.owner = None;
        self
    }
}

/// A list with its length.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Listing<T> {
    /// Number of items.
    pub total: usize,
    /// The items (never null).
    pub data: Vec<T>,
}

impl<T> Listing<T> {
    fn of(data: Vec<T>) -> Self {
        Self {
            total: data.len(),
            data,
        }
    }
}

/// `GET /collections`: the caller's collections by name with prompt counts.
pub async fn list_collections(
    State(state): State<AppState>,
    User(p): User,
) -> Result<JsonOut<Listing<CollectionView>>, ApiError> {
    let mut conn = state.db.read_for(p.user_id).await?;
    let list = library::list_collections(&mut *conn, p.user_id).await?;
    conn.finish().await?;
    Ok(JsonOut(Listing::of(
        list.iter()
            .map(|s| CollectionView::new(&s.collection, Some(s.prompt_count)))
            .collect(),
    )))
}

/// `POST /collections` and `PUT /collections/{id}` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CollectionBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    color: Option<String>,
    #[serde(default)]
    icon: Option<String>,
    #[serde(default)]
    is_public: Option<bool>,
    /// `true` issues a share link, `false` removes it.
    #[serde(default)]
    share: Option<bool>,
    /// On update: the collection's saved prompt ids in their new order
    /// (every member exactly once).
    #[serde(default)]
    order: Option<Vec<Uuid>>,
}

impl CollectionBody {
    fn fields(&self) -> CollectionFields {
        CollectionFields {
            name: self.name.as_ref().map(|n| n.trim().to_owned()),
            description: self.description.clone(),
            color: self.color.clone(),
            icon: self.icon.clone(),
            is_public: self.is_public,
        }
    }
}

/// `POST /collections`: 201 with the new collection.
pub async fn create_collection(
    State(state): State<AppState>,
    User(p): User,
    Json(body): Json<CollectionBody>,
) -> Result<(StatusCode, JsonOut<CollectionView>), ApiError> {
    if body.order.is_some() {
        return Err(ApiError::BadRequest(
            "order: a new collection has no prompts to order".into(),
        ));
    }
    let mut tx = state.db.begin_for(p.user_id).await?;
    let mut created = library::create_collection(&mut *tx, p.user_id, &body.fields()).await?;
    if body.share == Some(true) {
        created.share_token = Some(library::share_collection(&mut *tx, created.id, p.user_id).await?);
    }
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        JsonOut(CollectionView::new(&created, Some(0))),
    ))
}

/// `GET /collections/{id}`: the collection with its prompts in order.
pub async fn get_collection(
    State(state): State<AppState>,
    User(p): User,
    Id(id): Id,
) -> Result<JsonOut<CollectionView>, ApiError> {
    let mut conn = state.db.read_for(p.user_id).await?;
    let collection = library::get_collection(&mut *conn, id, p.user_id).await?;
    let prompts = library::collection_prompts(&mut *conn, id, Some(p.user_id)).await?;
    conn.finish().await?;
    let mut view = CollectionView::new(&collection, Some(prompts.len() as i64));
    view.prompts = Some(saved_views(&state, &prompts).await?);
    Ok(JsonOut(view))
}

/// `PUT /collections/{id}`: fields, sharing and order in one transaction.
pub async fn update_collection(
    State(state): State<AppState>,
    User(p): User,
    Id(id): Id,
    Json(body): Json<CollectionBody>,
) -> Result<JsonOut<CollectionView>, ApiError> {
    let mut tx = state.db.begin_for(p.user_id).await?;
    let mut updated = library::update_collection(&mut *tx, id, p.user_id, &body.fields()).await?;
    match body.share {
        Some(true) => updated.share_token = Some(library::share_collection(&mut *tx, id, p.user_id).await?),
        Some(false) => {
            library::unshare_collection(&mut *tx, id, p.user_id).await?;
            updated.share_token = None;
        }
        None => {}
    }
    if let Some(order) = &body.order {
        library::reorder_collection(&mut *tx, id, p.user_id, order).await?;
    }
    tx.commit().await?;
    Ok(JsonOut(CollectionView::new(&updated, None)))
}

/// `DELETE /collections/{id}` (its saved prompts stay).
pub async fn delete_collection(
    State(state): State<AppState>,
    User(p): User,
    Id(id): Id,
) -> Result<JsonOut<super::Message>, ApiError> {
    let mut conn = state.db.for_user(p.user_id).await?;
    library::delete_collection(&mut *conn, id, p.user_id).await?;
    conn.finish().await?;
    Ok(JsonOut(super::Message::new("collection deleted")))
}

fn member_ids(raw: &(String, String)) -> Result<(Uuid, Uuid), ApiError> {
    let parse = |s: &str| Uuid::parse_str(s).map_err(|_| ApiError::NotFound);
    Ok((parse(&raw.0)?, parse(&raw.1)?))
}

/// `POST /collections/{id}/prompts/{saved_id}` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Membership {
    /// What was done.
    pub message: String,
    /// The collection.
    pub collection_id: Uuid,
    /// The saved prompt added.
    pub saved_prompt_id: Uuid,
}

/// `POST /collections/{id}/prompts/{saved_id}`: 201; already in it is 409.
pub async fn add_member(
    State(state): State<AppState>,
    User(p): User,
    Path(raw): Path<(String, String)>,
) -> Result<(StatusCode, JsonOut<Membership>), ApiError> {
    let (collection, saved) = member_ids(&raw)?;
    let mut conn = state.db.for_user(p.user_id).await?;
    match library::add_to_collection(&mut *conn, collection, p.user_id, saved).await {
        Ok(()) => conn.finish().await?,
        Err(bp_store::StoreError::Conflict { .. }) => {
            return Err(ApiError::Conflict(
                "the prompt is already in this collection".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    Ok((
        StatusCode::CREATED,
        JsonOut(Membership {
            message: "added to collection".into(),
            collection_id: collection,
            saved_prompt_id: saved,
        }),
    ))
}

/// `DELETE /collections/{id}/prompts/{saved_id}`.
pub async fn remove_member(
    State(state): State<AppState>,
    User(p): User,
    Path(raw): Path<(String, String)>,
) -> Result<JsonOut<super::Message>, ApiError> {
    let (collection, saved) = member_ids(&raw)?;
    let mut conn = state.db.for_user(p.user_id).await?;
    library::remove_from_collection(&mut *conn, collection, p.user_id, saved).await?;
    conn.finish().await?;
    Ok(JsonOut(super::Message::new("removed from collection")))
}

/// A public template.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TemplateView {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// URL name.
    pub slug: String,
    /// What it is for.
    pub description: Option<String>,
    /// The technique it applies.
    pub technique: String,
    /// Grouping.
    pub category: Option<String>,
    /// The template; `{{prompt}}` is the user's text.
    pub template_text: String,
    /// Its variables.
    pub variables: Option<Value>,
    /// Example fills.
    pub examples: Option<Value>,
    /// Measured effectiveness.
    pub effectiveness_score: Option<f64>,
    /// Times used.
    pub usage_count: i32,
    /// Last changed.
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<&Template> for TemplateView {
    fn from(t: &Template) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            slug: t.slug.clone(),
            description: t.description.clone(),
            technique: t.technique.clone(),
            category: t.category.clone(),
            template_text: t.template_text.clone(),
            variables: t.variables.clone(),
            examples: t.examples.clone(),
            effectiveness_score: t.effectiveness_score,
            usage_count: t.usage_count.unwrap_or(0),
            updated_at: t.updated_at,
        }
    }
}

/// `GET /templates` query.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct TemplateQuery {
    technique: Option<String>,
    category: Option<String>,
}

/// `GET /templates`: active public templates, most effective first. The
/// whole list is cached (2 h); the filters apply to it.
pub async fn list_templates(
    State(state): State<AppState>,
    Query(q): Query<TemplateQuery>,
) -> Result<JsonOut<Listing<TemplateView>>, ApiError> {
    let all: Vec<TemplateView> = match state.cache.fetch(Namespace::Templates, TEMPLATE_LIST_KEY).await {
        Some(hit) => hit,
        None => {
            let rows =
                bp_store::reading!(state.db, pool => templates::list_active_templates(pool, None, None))?;
            let list: Vec<TemplateView> = rows
                .iter()
                .filter(|t| t.is_public.unwrap_or(true))
                .map(TemplateView::from)
                .collect();
            state
                .cache
                .put(Namespace::Templates, TEMPLATE_LIST_KEY, &list)
                .await;
            list
        }
    };
    let wanted = |want: &Option<String>, have: Option<&str>| {
        want.as_deref()
            .filter(|w| !w.is_empty())
            .is_none_or(|w| have == Some(w))
    };
    let data: Vec<TemplateView> = all
        .into_iter()
        .filter(|t| wanted(&q.technique, Some(&t.technique)) && wanted(&q.category, t.category.as_deref()))
        .collect();
    Ok(JsonOut(Listing::of(data)))
}

/// `GET /templates/{slug}`: one active public template (cached 2 h).
pub async fn get_template(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<JsonOut<TemplateView>, ApiError> {
    let plausible = (1..=100).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !plausible {
        return Err(ApiError::NotFound);
    }
    if let Some(hit) = state.cache.get_cached_template::<TemplateView>(&slug).await {
        return Ok(JsonOut(hit));
    }
    let template = bp_store::reading!(state.db, pool => templates::get_template_by_slug(pool, &slug))?;
    if !template.is_active.unwrap_or(true) || !template.is_public.unwrap_or(true) {
        return Err(ApiError::NotFound);
    }
    let body = TemplateView::from(&template);
    state.cache.cache_template(&slug, &body).await;
    Ok(JsonOut(body))
}

/// This module's endpoints.
pub(crate) fn routes(t: &mut Table) {
    t.add(
        Endpoint::new(
            Verb::Get,
            "/prompts/saved",
            "library",
            Access::Session,
            "The caller's saved prompts",
        )
        .query::<SavedQuery>()
        .returns::<SavedPage>(),
        list_saved,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/prompts/saved",
            "library",
            Access::Session,
            "Save a prompt",
        )
        .body::<SaveBody>()
        .created()
        .returns::<SavedView>(),
        create_saved,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/prompts/saved/{id}",
            "library",
            Access::Session,
            "One saved prompt",
        )
        .returns::<SavedView>(),
        get_saved,
    );
    t.add(
        Endpoint::new(
            Verb::Put,
            "/prompts/saved/{id}",
            "library",
            Access::Session,
            "Change or share a saved prompt",
        )
        .body::<UpdateSavedBody>()
        .returns::<SavedView>(),
        update_saved,
    );
    t.add(
        Endpoint::new(
            Verb::Delete,
            "/prompts/saved/{id}",
            "library",
            Access::Session,
            "Delete a saved prompt",
        )
        .returns::<super::Message>(),
        delete_saved,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/shared/{token}",
            "library",
            Access::Public,
            "A shared saved prompt or collection",
        )
        .returns::<SharedItem>(),
        shared,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/collections",
            "library",
            Access::Session,
            "The caller's collections",
        )
        .returns::<Listing<CollectionView>>(),
        list_collections,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/collections",
            "library",
            Access::Session,
            "Create a collection",
        )
        .body::<CollectionBody>()
        .created()
        .returns::<CollectionView>(),
        create_collection,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/collections/{id}",
            "library",
            Access::Session,
            "A collection and its prompts",
        )
        .returns::<CollectionView>(),
        get_collection,
    );
    t.add(
        Endpoint::new(
            Verb::Put,
            "/collections/{id}",
            "library",
            Access::Session,
            "Change, share or reorder a collection",
        )
        .body::<CollectionBody>()
        .returns::<CollectionView>(),
        update_collection,
    );
    t.add(
        Endpoint::new(
            Verb::Delete,
            "/collections/{id}",
            "library",
            Access::Session,
            "Delete a collection",
        )
        .returns::<super::Message>(),
        delete_collection,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/collections/{id}/prompts/{saved_id}",
            "library",
            Access::Session,
            "Add a saved prompt",
        )
        .created()
        .returns::<Membership>(),
        add_member,
    );
    t.add(
        Endpoint::new(
            Verb::Delete,
            "/collections/{id}/prompts/{saved_id}",
            "library",
            Access::Session,
            "Remove a saved prompt",
        )
        .returns::<super::Message>(),
        remove_member,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/templates",
            "library",
            Access::Public,
            "Active public templates",
        )
        .query::<TemplateQuery>()
        .returns::<Listing<TemplateView>>(),
        list_templates,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/templates/{slug}",
            "library",
            Access::Public,
            "One template",
        )
        .returns::<TemplateView>(),
        get_template,
    );
}
