//! `/analyze`, `/enhance`, `/enhance/batch`, `/prompts/{id}/rerun`,
//! `/techniques`, `/techniques/select`: the engine behind the caches.
//!
//! Identical anonymous `/enhance` requests within 5 minutes are answered
//! from the API response cache (the earlier answer, same id; no new history
//! row). Predictions are cached for an hour and effectiveness for 30
//! minutes inside the service.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bp_engine::{Complexity, EnhanceRequest, Intent, Level, PromptText, TechniqueLimit, TechniqueList};
use bp_service::catalogue::Catalogue;
use bp_service::{EnhanceAnswer, Requester, intent_scores};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::{Caller, MaybeCaller};
use crate::error::ApiError;
use crate::extract::{Client, Id, Json};
use crate::limits::PendingLimit;
use crate::routes::{Access, Endpoint, Table, Verb};
use crate::state::AppState;

/// Most items in one `/enhance/batch`.
pub const MAX_BATCH_ITEMS: usize = 100;

/// `POST /enhance` body (and one batch item).
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
pub struct EnhanceBody {
    text: String,
    #[serde(default)]
    context: Option<Value>,
    #[serde(default)]
    prefer_techniques: Option<Vec<String>>,
    #[serde(default)]
    exclude_techniques: Option<Vec<String>>,
    #[serde(default)]
    target_complexity: Option<String>,
    #[serde(default)]
    max_techniques: Option<usize>,
    /// `light`, `standard` (default) or `thorough`; the user's saved
    /// preference when left out.
    #[serde(default)]
    level: Option<String>,
}

fn complexity(field: &'static str, value: Option<&str>) -> Result<Option<Complexity>, ApiError> {
    value
        .map(|v| {
            Complexity::from_str(v).map_err(|_| {
                ApiError::BadRequest(format!("invalid {field}: must be simple, moderate or complex"))
            })
        })
        .transpose()
}

impl EnhanceBody {
    fn request(&self) -> Result<EnhanceRequest, ApiError> {
        if self
            .context
            .as_ref()
            .is_some_and(|c| !(c.is_object() || c.is_string() || c.is_null()))
        {
            return Err(ApiError::BadRequest(
                "invalid context: must be an object or a string".into(),
            ));
        }
        Ok(EnhanceRequest {
            text: PromptText::parse(&self.text)?,
            prefer: TechniqueList::parse(
                "prefer_techniques",
                self.prefer_techniques.as_deref().unwrap_or_default(),
            )?,
            exclude: TechniqueList::parse(
                "exclude_techniques",
                self.exclude_techniques.as_deref().unwrap_or_default(),
            )?,
            target_complexity: complexity("target_complexity", self.target_complexity.as_deref())?,
            max_techniques: technique_limit(self.max_techniques)?,
            level: self.level.as_deref().map(Level::parse).transpose()?,
        })
    }
}

/// The request's technique limit, or the default.
fn technique_limit(n: Option<usize>) -> Result<TechniqueLimit, ApiError> {
    Ok(n.map(TechniqueLimit::new).transpose()?.unwrap_or_default())
}

fn requester(caller: Option<&crate::auth::Principal>, client: &Client) -> Requester {
    Requester {
        user_id: caller.map(|p| p.user_id),
        request_id: client.request_id.clone(),
        session_id: caller.and_then(|p| p.session_id()).map(|s| s.to_string()),
    }
}

/// What the response-cache key of `/enhance` is made from besides the
/// body: the endpoint, and the stored format's version (the JSON a hit
/// sends as it is). A new version leaves the old entries unread.
const RESPONSE_KEY: &str = "/api/v1/enhance#sent-json-v1";

/// `POST /enhance`.
pub async fn enhance(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    client: Client,
    Extension(pending): Extension<Arc<PendingLimit>>,
    Json(body): Json<EnhanceBody>,
) -> Result<Response, ApiError> {
    if let Some(p) = &caller {
        p.require_scope("enhance")?;
    }
    let service = state.service()?;
    let req = body.request()?;
    // Only anonymous answers are cached; the key is computed once for the
    // lookup and the write after a miss. The lookup shares the rate-limit
    // check's round trip, and a hit is the stored JSON, sent as it is.
    let key = caller.is_none().then(|| {
        let params = serde_json::to_string(&body).unwrap_or_default();
        bp_cache::typed::ApiResponseKey::new(RESPONSE_KEY, &params)
    });
    match &key {
        Some(key) => {
            if let Some(json) = pending.check_and_fetch(&state, key).await? {
                return Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response());
            }
        }
        None => pending.check(&state).await?,
    }
    let started = Instant::now();
    let outcome = service
        .enhance(&req, &requester(caller.as_deref(), &client))
        .await?;
    state.metrics.engine(started.elapsed().as_secs_f64());
    let answer = EnhanceAnswer::new(&req.text, &outcome);
    match &caller {
        None => {
            if let Some(key) = &key {
                // Stored as a later hit answers it: marked cached.
                let mut stored = answer.clone();
                stored.metadata.cached = true;
                if let Ok(json) = serde_json::to_vec(&stored) {
                    let _ = state.cache.cache_api_response_json(key, &json).await;
                }
            }
        }
        Some(p) => state.recorder.activity(bp_store::analytics::NewActivity {
            user_id: p.user_id,
            activity_type: "enhance".into(),
            activity_data: Some(json!({ "history_id": outcome.id, "intent": answer.intent })),
            session_id: p.session_id().map(|s| s.to_string()),
            ip_address: client.ip.clone(),
            user_agent: client.user_agent.clone(),
        }),
    }
    Ok(JsonOut(answer).into_response())
}

/// `POST /enhance/batch` body.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct BatchBody {
    items: Vec<EnhanceBody>,
}

/// `POST /enhance/batch` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BatchAnswer {
    /// One answer per item, in order.
    pub results: Vec<EnhanceAnswer>,
    /// Number of results.
    pub total: usize,
}

/// `POST /enhance/batch`: up to 100 items; history rows written in one statement.
pub async fn enhance_batch(
    State(state): State<AppState>,
    Caller(p): Caller,
    client: Client,
    Json(body): Json<BatchBody>,
) -> Result<JsonOut<BatchAnswer>, ApiError> {
    p.require_scope("enhance")?;
    if body.items.is_empty() || body.items.len() > MAX_BATCH_ITEMS {
        return Err(ApiError::BadRequest(format!(
            "items must hold 1 to {MAX_BATCH_ITEMS} prompts"
        )));
    }
    let service = state.service()?;
    let reqs = body
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.request().map_err(|e| match e {
                ApiError::BadRequest(m) => ApiError::BadRequest(format!("item {i}: {m}")),
                other => other,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    let outcomes = service
        .enhance_batch(&reqs, &requester(Some(&p), &client))
        .await?;
    state.metrics.engine(started.elapsed().as_secs_f64());
    let results: Vec<EnhanceAnswer> = reqs
        .iter()
        .zip(&outcomes)
        .map(|(r, o)| EnhanceAnswer::new(&r.text, o))
        .collect();
    Ok(JsonOut(BatchAnswer {
        total: results.len(),
        results,
    }))
}

/// `POST /prompts/{id}/rerun`: enhances the stored input again.
pub async fn rerun(
    State(state): State<AppState>,
    Caller(p): Caller,
    client: Client,
    Id(id): Id,
) -> Result<JsonOut<EnhanceAnswer>, ApiError> {
    p.require_scope("enhance")?;
    let mut conn = state.db.for_user(p.user_id).await?;
    let item = bp_store::history::get_history(&mut conn, id, p.user_id).await?;
    conn.finish().await?;
    let service = state.service()?;
    let req = EnhanceRequest::new(PromptText::parse(&item.original_input)?);
    let outcome = service.enhance(&req, &requester(Some(&p), &client)).await?;
    let mut answer = EnhanceAnswer::new(&req.text, &outcome);
    answer.metadata.rerun_from = Some(id);
    Ok(JsonOut(answer))
}

/// `POST /analyze` body.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AnalyzeBody {
    text: String,
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "accepted for compatibility; the engine classifies the text alone"
    )]
    context: Option<Value>,
}

/// Details of an analysis.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AnalyzeMetadata {
    /// Complexity points.
    pub complexity_score: u32,
    /// The intent model's version.
    pub model_version: String,
    /// Estimated tokens of the prompt.
    pub tokens: usize,
}

/// `POST /analyze` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AnalyzeAnswer {
    /// The detected intent.
    pub intent: String,
    /// Its probability.
    pub confidence: f64,
    /// `simple`, `moderate` or `complex`.
    pub complexity: String,
    /// Every intent's probability.
    pub intent_scores: std::collections::BTreeMap<String, f64>,
    /// The techniques an enhancement would pick (at most 3).
    pub suggested_techniques: Vec<String>,
    /// Details.
    pub metadata: AnalyzeMetadata,
}

/// `POST /analyze`: intent, complexity and suggested techniques; nothing saved.
pub async fn analyze(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Json(body): Json<AnalyzeBody>,
) -> Result<JsonOut<AnalyzeAnswer>, ApiError> {
    let service = state.service()?;
    let started = Instant::now();
    let text = PromptText::parse(&body.text)?;
    let (analysis, picks) = service
        .select(
            &text,
            None,
            None,
            TechniqueLimit::DEFAULT,
            caller.map(|p| p.user_id),
        )
        .await?;
    state.metrics.engine(started.elapsed().as_secs_f64());
    Ok(JsonOut(AnalyzeAnswer {
        intent: analysis.prediction.intent.as_str().to_owned(),
        confidence: analysis.prediction.confidence,
        complexity: analysis.complexity.level.as_str().to_owned(),
        intent_scores: intent_scores(&analysis.prediction.scores),
        suggested_techniques: picks.iter().map(|p| p.technique.as_str().to_owned()).collect(),
        metadata: AnalyzeMetadata {
            complexity_score: analysis.complexity.score,
            model_version: service.engine().model().version().to_owned(),
            tokens: bp_engine::text::estimate_tokens(&text),
        },
    }))
}

/// `POST /techniques/select` body.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SelectBody {
    text: String,
    #[serde(default)]
    intent: Option<String>,
    #[serde(default)]
    complexity: Option<String>,
    #[serde(default)]
    max_techniques: Option<usize>,
}

/// One technique chosen by `/techniques/select`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SelectedTechnique {
    /// Technique id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Selection score.
    pub score: f64,
    /// Confidence in the choice.
    pub confidence: f64,
    /// Why it was chosen.
    pub reasoning: String,
}

/// `POST /techniques/select` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SelectAnswer {
    /// The chosen techniques, best first.
    pub techniques: Vec<SelectedTechnique>,
    /// The best one, if any scored high enough.
    pub primary_technique: Option<String>,
    /// The best one's confidence (0 without one).
    pub confidence: f64,
    /// Why the best one was chosen.
    pub reasoning: String,
}

/// `POST /techniques/select`.
pub async fn select(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Json(body): Json<SelectBody>,
) -> Result<JsonOut<SelectAnswer>, ApiError> {
    let service = state.service()?;
    let intent = body
        .intent
        .as_deref()
        .map(|i| {
            Intent::from_str(i).map_err(|_| ApiError::BadRequest("invalid intent: unknown intent".into()))
        })
        .transpose()?;
    let complexity = complexity("complexity", body.complexity.as_deref())?;
    let text = PromptText::parse(&body.text)?;
    let (_, picks) = service
        .select(
            &text,
            intent,
            complexity,
            technique_limit(body.max_techniques)?,
            caller.map(|p| p.user_id),
        )
        .await?;
    let techniques: Vec<SelectedTechnique> = picks
        .iter()
        .map(|p| SelectedTechnique {
            id: p.technique.as_str().to_owned(),
            name: bp_engine::catalogue::info(p.technique).name.to_owned(),
            score: p.score,
            confidence: p.confidence,
            reasoning: p.reason.clone(),
        })
        .collect();
    let primary = picks.first();
    Ok(JsonOut(SelectAnswer {
        techniques,
        primary_technique: primary.map(|p| p.technique.as_str().to_owned()),
        confidence: primary.map_or(0.0, |p| p.confidence),
        reasoning: primary.map_or_else(
            || "no technique scored high enough".to_owned(),
            |p| p.reason.clone(),
        ),
    }))
}

/// `GET /techniques`: the catalogue with measured effectiveness (90 days).
pub async fn list_techniques(State(state): State<AppState>) -> Result<JsonOut<Catalogue>, ApiError> {
    Ok(JsonOut(
        bp_service::catalogue::catalogue(&state.db, &state.cache).await?,
    ))
}

/// This module's endpoints.
pub(crate) fn routes(t: &mut Table) {
    t.add(
        Endpoint::new(
            Verb::Post,
            "/enhance",
            "enhance",
            Access::Optional,
            "Enhance a prompt",
        )
        .body::<EnhanceBody>()
        .limited_in_handler()
        .returns::<EnhanceAnswer>(),
        enhance,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/analyze",
            "enhance",
            Access::Optional,
            "Classify a prompt without enhancing it",
        )
        .body::<AnalyzeBody>()
        .limited()
        .returns::<AnalyzeAnswer>(),
        analyze,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/enhance/batch",
            "enhance",
            Access::SessionOrKey,
            "Enhance up to 100 prompts",
        )
        .body::<BatchBody>()
        .limited()
        .large_body()
        .returns::<BatchAnswer>(),
        enhance_batch,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/techniques",
            "techniques",
            Access::Public,
            "Techniques with measured effectiveness",
        )
        .returns::<Catalogue>(),
        list_techniques,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/techniques/select",
            "techniques",
            Access::Optional,
            "Pick techniques for a prompt",
        )
        .body::<SelectBody>()
        .returns::<SelectAnswer>(),
        select,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/prompts/{id}/rerun",
            "enhance",
            Access::SessionOrKey,
            "Enhance a history item again",
        )
        .returns::<EnhanceAnswer>(),
        rerun,
    );
}
