//! The signed-in person's own account, for the settings page:
//!
//! - `GET/PUT /account/preferences`: preferred and excluded techniques, the
//!   complexity preference, the enhancement level and whether new
//!   enhancements are kept in the history;
//! - `GET /account/export`: everything the account holds, as one JSON
//!   download (profile, preferences, history with ratings, saved prompts,
//!   collections, API keys without their secrets);
//! - `DELETE /account`: erases the account and its data, after the
//!   password is given again (not a deactivation: see
//!   [`bp_store::users::erase_user`]).
//!
//! All of them take a login session, never an API key: a leaked key must
//! not be able to read everything or delete the account.

use std::str::FromStr as _;

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bp_cache::Invalidation;
use bp_store::preferences::{UserPreferences, get_preferences, upsert_preferences};
use bp_store::{PageRequest, library, users};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::{User, password};
use crate::controllers::auth::UserView;
use crate::controllers::dev::ApiKeyInfo;
use crate::controllers::history::HistoryItem;
use crate::controllers::library::{CollectionView, SavedView};
use crate::error::ApiError;
use crate::extract::{Client, Json};
use crate::routes::{Access, Endpoint, Table, Verb};
use crate::state::AppState;

/// Key of the history switch in `custom_settings`.
pub const KEEP_HISTORY: &str = "keep_history";
/// Key of the enhancement level in `custom_settings`.
pub const LEVEL: &str = "enhancement_level";

/// The preferences the enhancement uses.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PreferencesView {
    /// Techniques to favour (technique ids).
    pub preferred_techniques: Vec<String>,
    /// Techniques never to apply.
    pub excluded_techniques: Vec<String>,
    /// `simple`, `moderate` or `complex`; null: as measured.
    pub complexity_preference: Option<String>,
    /// `light`, `standard` or `thorough`; null: standard.
    pub enhancement_level: Option<String>,
    /// Whether new enhancements are added to the history (true unless
    /// turned off; when off they are kept only without the account, as a
    /// visitor's are).
    pub keep_history: bool,
}

impl From<&UserPreferences> for PreferencesView {
    fn from(p: &UserPreferences) -> Self {
        Self {
            preferred_techniques: p.preferred_techniques.clone(),
            excluded_techniques: p.excluded_techniques.clone(),
            complexity_preference: p.complexity_preference.clone(),
            enhancement_level: p.custom_settings[LEVEL].as_str().map(str::to_owned),
            keep_history: p.custom_settings[KEEP_HISTORY].as_bool().unwrap_or(true),
        }
    }
}

fn techniques(field: &str, ids: &[String]) -> Result<Vec<String>, ApiError> {
    ids.iter()
        .map(|id| {
            bp_engine::Technique::from_str(id.trim())
                .map(|t| t.as_str().to_owned())
                .map_err(|_| ApiError::BadRequest(format!("invalid {field}: unknown technique `{id}`")))
        })
        .collect()
}

/// `GET /account/preferences`.
pub async fn preferences(
    State(state): State<AppState>,
    User(p): User,
) -> Result<JsonOut<PreferencesView>, ApiError> {
    let mut conn = state.db.read_for(p.user_id).await?;
    let prefs = get_preferences(&mut *conn, p.user_id).await?;
    conn.finish().await?;
    Ok(JsonOut(PreferencesView::from(&prefs)))
}

/// `PUT /account/preferences`: replaces them (every field).
pub async fn set_preferences(
    State(state): State<AppState>,
    User(p): User,
    Json(body): Json<PreferencesView>,
) -> Result<JsonOut<PreferencesView>, ApiError> {
    let preferred = techniques("preferred_techniques", &body.preferred_techniques)?;
    let excluded = techniques("excluded_techniques", &body.excluded_techniques)?;
    if let Some(both) = preferred.iter().find(|t| excluded.contains(t)) {
        return Err(ApiError::BadRequest(format!(
            "invalid excluded_techniques: `{both}` is also preferred"
        )));
    }
    let complexity = body
        .complexity_preference
        .as_deref()
        .map(|c| {
            bp_engine::Complexity::from_str(c)
                .map(|c| c.as_str().to_owned())
                .map_err(|_| {
                    ApiError::BadRequest(
                        "invalid complexity_preference: must be simple, moderate or complex".into(),
                    )
                })
        })
        .transpose()?;
    let level = body
        .enhancement_level
        .as_deref()
        .map(|l| bp_engine::Level::parse(l).map(|l| l.as_str().to_owned()))
        .transpose()?;
    let mut conn = state.db.for_user(p.user_id).await?;
    let mut prefs = get_preferences(&mut *conn, p.user_id).await?;
    prefs.preferred_techniques = preferred;
    prefs.excluded_techniques = excluded;
    prefs.complexity_preference = complexity;
    if let Some(settings) = prefs.custom_settings.as_object_mut() {
        settings.insert(LEVEL.into(), json!(level));
        settings.insert(KEEP_HISTORY.into(), json!(body.keep_history));
    }
    upsert_preferences(&mut *conn, p.user_id, &prefs).await?;
    conn.finish().await?;
    // The enhancement reads them through the cache: the next one must see them.
    state
        .cache
        .invalidate(Invalidation::UserUpdate {
            user_id: &p.user_id.to_string(),
        })
        .await?;
    Ok(JsonOut(PreferencesView::from(&prefs)))
}

/// Everything an account holds.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AccountExport {
    /// When the export was made.
    pub exported_at: DateTime<Utc>,
    /// The profile.
    pub account: UserView,
    /// The enhancement preferences.
    pub preferences: PreferencesView,
    /// Every history item, oldest first, with its rating and comment.
    pub history: Vec<HistoryItem>,
    /// Saved prompts, newest first.
    pub saved_prompts: Vec<SavedView>,
    /// Collections.
    pub collections: Vec<CollectionView>,
    /// API keys (names, scopes and dates; never the keys).
    pub api_keys: Vec<ApiKeyInfo>,
}

/// `GET /account/export`: one JSON file with everything (audited).
pub async fn export(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
) -> Result<Response, ApiError> {
    crate::audit::record(
        &state,
        &client,
        crate::audit::Actor::from(&*p),
        crate::audit::Event {
            action: "account.export",
            target: Some(("auth.users", p.user_id.to_string())),
            outcome: "success",
            details: json!({}),
        },
    )
    .await?;
    let user = p.user_id;
    let account = users::get_user_by_id(state.db.pool(), user).await?;
    let mut conn = state.db.read_for(user).await?;
    let prefs = get_preferences(&mut *conn, user).await?;
    let history: Vec<HistoryItem> = bp_store::history::export_history(&mut *conn, user)
        .map_ok(|h| HistoryItem::from(&h))
        .try_collect()
        .await?;
    let mut saved = Vec::new();
    for page in 1.. {
        let chunk = library::list_saved_prompts(&mut conn, user, None, PageRequest::new(page, 100)?).await?;
        let done = chunk.items.len() < 100;
        saved.extend(chunk.items);
        if done {
            break;
        }
    }
    let collections = library::list_collections(&mut *conn, user).await?;
    let keys = bp_store::api_keys::list_api_keys(&mut *conn, user).await?;
    conn.finish().await?;
    let body = AccountExport {
        exported_at: Utc::now(),
        account: UserView::from(&account),
        preferences: PreferencesView::from(&prefs),
        history,
        saved_prompts: crate::controllers::library::saved_views(&state, &saved).await?,
        collections: collections
            .iter()
            .map(|c| CollectionView::new(&c.collection, Some(c.prompt_count)))
            .collect(),
        api_keys: keys.iter().map(ApiKeyInfo::from).collect(),
    };
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"betterprompts-account.json\"",
        )],
        JsonOut(body),
    )
        .into_response())
}

/// `DELETE /account` body.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteAccountBody {
    /// The account's password, again.
    password: String,
}

/// What `DELETE /account` erased.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AccountDeleted {
    /// `account deleted`.
    pub message: String,
    /// History items erased.
    pub history: u64,
    /// Saved prompts erased.
    pub saved_prompts: u64,
    /// Collections erased.
    pub collections: u64,
    /// API keys erased.
    pub api_keys: u64,
}

/// `DELETE /account`: erases the account and its data in one transaction,
/// ends its sessions and clears its cookies. The password must be given
/// again; a wrong one is a 403 and erases nothing.
pub async fn delete(
    State(state): State<AppState>,
    User(p): User,
    client: Client,
    Json(body): Json<DeleteAccountBody>,
) -> Result<Response, ApiError> {
    let user = users::get_user_by_id(state.db.pool(), p.user_id).await?;
    if !password::verify(&body.password, &user.password_hash).await? {
        return Err(ApiError::Denied(
            "the password is not correct; nothing was deleted".into(),
        ));
    }
    let mut tx = state.db.begin().await?;
    let erased = users::erase_user(&mut tx, p.user_id).await?;
    tx.commit().await.map_err(bp_store::StoreError::from)?;
    // Its cached sessions go at once, so no access token outlives the account.
    let _ = state.cache.delete_user_sessions(&p.user_id.to_string()).await;
    let _ = state
        .cache
        .invalidate(Invalidation::UserUpdate {
            user_id: &p.user_id.to_string(),
        })
        .await;
    // The audit row names the erased id only (no email, no name). The
    // account is gone whatever happens next, so a failure to write it is
    // logged, not answered as an error.
    if let Err(e) = crate::audit::record(
        &state,
        &client,
        crate::audit::Actor::default(),
        crate::audit::Event {
            action: "account.delete",
            target: Some(("auth.users", p.user_id.to_string())),
            outcome: "success",
            details: json!({
                "history": erased.history,
                "saved_prompts": erased.saved_prompts,
                "collections": erased.collections,
                "api_keys": erased.api_keys,
                "sessions": erased.sessions,
            }),
        },
    )
    .await
    {
        tracing::error!(error = %e, user_id = %p.user_id, "account deleted, but its audit row could not be written");
    }
    let mut response = JsonOut(AccountDeleted {
        message: "account deleted".into(),
        history: erased.history,
        saved_prompts: erased.saved_prompts,
        collections: erased.collections,
        api_keys: erased.api_keys,
    })
    .into_response();
    crate::cookies::clear(response.headers_mut(), state.auth.cookie_secure);
    Ok(response)
}

/// This module's endpoints.
pub(crate) fn routes(t: &mut Table) {
    t.add(
        Endpoint::new(
            Verb::Get,
            "/account/preferences",
            "account",
            Access::Session,
            "The enhancement preferences",
        )
        .returns::<PreferencesView>(),
        preferences,
    );
    t.add(
        Endpoint::new(
            Verb::Put,
            "/account/preferences",
            "account",
            Access::Session,
            "Replace the enhancement preferences",
        )
        .body::<PreferencesView>()
        .returns::<PreferencesView>(),
        set_preferences,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/account/export",
            "account",
            Access::Session,
            "Download everything the account holds, as JSON",
        )
        .limited()
        .returns::<AccountExport>(),
        export,
    );
    t.add(
        Endpoint::new(
            Verb::Delete,
            "/account",
            "account",
            Access::Session,
            "Erase the account and its data (password required)",
        )
        .body::<DeleteAccountBody>()
        .limited()
        .returns::<AccountDeleted>(),
        delete,
    );
}
