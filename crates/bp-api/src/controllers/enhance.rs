//! `/analyze`, `/enhance`, `/enhance/batch`, `/prompts/{id}/rerun`,
//! `/techniques`, `/techniques/select`: the engine behind the caches.
//!
//! Identical anonymous `/enhance` requests within 5 minutes are answered
//! from the API response cache (the earlier answer, same id; no new history
//! row). Predictions are cached for an hour and effectiveness for 30
//! minutes inside the service.

use std::str::FromStr;
use std::time::Instant;

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bp_cache::Namespace;
use bp_engine::{Complexity, EnhanceRequest, Intent, Technique};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::{Caller, MaybeCaller};
use crate::extract::{Client, Id, Json};
use crate::service::{EnhanceOutcome, Requester, intent_scores_json};
use crate::{ApiError, AppState};

/// Cache key parts of the `/techniques` answer (forgotten on feedback).
pub const CATALOGUE_KEY: &[&str] = &["catalogue"];

/// Longest prompt, in Unicode scalar values after trimming (api.md).
pub const MAX_PROMPT_CHARS: usize = 16_000;

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
}

fn techniques(field: &str, names: Option<&[String]>) -> Result<Vec<Technique>, ApiError> {
    names
        .unwrap_or_default()
        .iter()
        .map(|n| {
            Technique::from_str(n).map_err(|_| {
                ApiError::BadRequest(format!(
                    "invalid {field}: unknown technique `{}`",
                    n.chars().take(64).collect::<String>()
                ))
            })
        })
        .collect()
}

fn complexity(value: Option<&str>) -> Result<Option<Complexity>, ApiError> {
    value
        .map(|v| {
            Complexity::from_str(v).map_err(|_| {
                ApiError::BadRequest("invalid target_complexity: must be simple, moderate or complex".into())
            })
        })
        .transpose()
}

/// The trimmed prompt; 400 when longer than [`MAX_PROMPT_CHARS`] (blank
/// text is refused by the service with its own message).
fn prompt_text(text: &str) -> Result<&str, ApiError> {
    let text = text.trim();
    let n = text.chars().count();
    if n > MAX_PROMPT_CHARS {
        return Err(ApiError::BadRequest(format!(
            "invalid text: is {n} characters; at most {MAX_PROMPT_CHARS}"
        )));
    }
    Ok(text)
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
        let text = prompt_text(&self.text)?;
        Ok(EnhanceRequest {
            text: text.to_owned(),
            prefer: techniques("prefer_techniques", self.prefer_techniques.as_deref())?,
            exclude: techniques("exclude_techniques", self.exclude_techniques.as_deref())?,
            target_complexity: complexity(self.target_complexity.as_deref())?,
            max_techniques: self.max_techniques,
        })
    }
}

/// The `/enhance` answer.
pub fn outcome_json(original: &str, o: &EnhanceOutcome) -> Value {
    let e = &o.enhancement;
    let names: Vec<&str> = e.picks.iter().map(|p| p.technique.as_str()).collect();
    json!({
        "id": o.id,
        "original_text": original,
        "enhanced_text": e.generated.text,
        "enhanced_prompt": e.generated.text,
        "intent": e.analysis.prediction.intent.as_str(),
        "complexity": e.complexity.as_str(),
        "techniques": names,
        "techniques_used": names,
        "confidence": e.analysis.prediction.confidence,
        "processing_time_ms": o.processing_time_ms,
        "enhanced": true,
        "created_at": o.created_at,
        "metadata": {
            "tokens_used": e.generated.tokens,
            "model_version": e.model_version,
            "detected_complexity": e.analysis.complexity.level.as_str(),
            "technique_details": e.picks.iter().map(|p| json!({
                "id": p.technique.as_str(), "score": p.score, "confidence": p.confidence, "reasoning": p.reason,
            })).collect::<Vec<_>>(),
            "cached": false,
        },
    })
}

fn requester(caller: Option<&crate::auth::Principal>, client: &Client) -> Requester {
    Requester {
        user_id: caller.map(|p| p.user_id),
        request_id: client.request_id.clone(),
        session_id: caller.and_then(|p| p.session_id()).map(|s| s.to_string()),
    }
}

/// `POST /enhance`.
pub async fn enhance(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    client: Client,
    Json(body): Json<EnhanceBody>,
) -> Result<Response, ApiError> {
    if let Some(p) = &caller {
        p.require_scope("enhance")?;
    }
    let service = state.service()?;
    let req = body.request()?;
    let params = serde_json::to_string(&body).unwrap_or_default();
    if caller.is_none()
        && let Some(mut hit) = state
            .cache
            .get_cached_api_response::<Value>("/api/v1/enhance", &params)
            .await
    {
        hit["metadata"]["cached"] = json!(true);
        return Ok(JsonOut(hit).into_response());
    }
    let started = Instant::now();
    let outcome = service
        .enhance(&req, &requester(caller.as_deref(), &client))
        .await?;
    state.metrics.engine(started.elapsed().as_secs_f64());
    let answer = outcome_json(&req.text, &outcome);
    match &caller {
        None => {
            let _ = state
                .cache
                .cache_api_response("/api/v1/enhance", &params, &answer)
                .await;
        }
        Some(p) => state.recorder.activity(bp_store::analytics::NewActivity {
            user_id: p.user_id,
            activity_type: "enhance".into(),
            activity_data: Some(json!({ "history_id": outcome.id, "intent": answer["intent"] })),
            session_id: p.session_id().map(|s| s.to_string()),
            ip_address: client.ip.clone(),
            user_agent: client.user_agent.clone(),
        }),
    }
    Ok(JsonOut(answer).into_response())
}

/// `POST /enhance/batch` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct BatchBody {
    items: Vec<EnhanceBody>,
}

/// `POST /enhance/batch`: up to 100 items; history rows written in one statement.
pub async fn enhance_batch(
    State(state): State<AppState>,
    Caller(p): Caller,
    client: Client,
    Json(body): Json<BatchBody>,
) -> Result<JsonOut<Value>, ApiError> {
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
    let results: Vec<Value> = reqs
        .iter()
        .zip(&outcomes)
        .map(|(r, o)| outcome_json(&r.text, o))
        .collect();
    Ok(JsonOut(json!({ "results": results, "total": results.len() })))
}

/// `POST /prompts/{id}/rerun`: enhances the stored input again.
pub async fn rerun(
    State(state): State<AppState>,
    Caller(p): Caller,
    client: Client,
    Id(id): Id,
) -> Result<JsonOut<Value>, ApiError> {
    p.require_scope("enhance")?;
    let mut conn = state.db.for_user(p.user_id).await?;
    let item = bp_store::history::get_history(&mut conn, id, p.user_id).await?;
    conn.finish().await?;
    let service = state.service()?;
    let req = EnhanceRequest {
        text: item.original_input.clone(),
        prefer: Vec::new(),
        exclude: Vec::new(),
        target_complexity: None,
        max_techniques: None,
    };
    let outcome = service.enhance(&req, &requester(Some(&p), &client)).await?;
    let mut answer = outcome_json(&req.text, &outcome);
    answer["metadata"]["rerun_from"] = json!(id);
    Ok(JsonOut(answer))
}

/// `POST /analyze` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AnalyzeBody {
    text: String,
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "accepted for compatibility; the engine classifies the text alone"
    )]
    context: Option<Value>,
}

/// `POST /analyze`: intent, complexity and suggested techniques; nothing saved.
pub async fn analyze(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Json(body): Json<AnalyzeBody>,
) -> Result<JsonOut<Value>, ApiError> {
    let service = state.service()?;
    let started = Instant::now();
    let text = prompt_text(&body.text)?;
    let (analysis, picks) = service
        .select(text, None, None, 3, caller.map(|p| p.user_id))
        .await?;
    state.metrics.engine(started.elapsed().as_secs_f64());
    Ok(JsonOut(json!({
        "intent": analysis.prediction.intent.as_str(),
        "confidence": analysis.prediction.confidence,
        "complexity": analysis.complexity.level.as_str(),
        "intent_scores": intent_scores_json(&analysis.prediction.scores),
        "suggested_techniques": picks.iter().map(|p| p.technique.as_str()).collect::<Vec<_>>(),
        "metadata": {
            "complexity_score": analysis.complexity.score,
            "model_version": service.engine().model().version(),
            "tokens": bp_engine::text::estimate_tokens(text),
        },
    })))
}

/// `POST /techniques/select` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SelectBody {
    text: String,
    #[serde(default)]
    intent: Option<String>,
    #[serde(default)]
    complexity: Option<String>,
    #[serde(default)]
    max_techniques: Option<usize>,
}

/// `POST /techniques/select`.
pub async fn select(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Json(body): Json<SelectBody>,
) -> Result<JsonOut<Value>, ApiError> {
    let service = state.service()?;
    let intent = body
        .intent
        .as_deref()
        .map(|i| {
            Intent::from_str(i).map_err(|_| ApiError::BadRequest("invalid intent: unknown intent".into()))
        })
        .transpose()?;
    let complexity = complexity(body.complexity.as_deref()).map_err(|_| {
        ApiError::BadRequest("invalid complexity: must be simple, moderate or complex".into())
    })?;
    let (_, picks) = service
        .select(
            prompt_text(&body.text)?,
            intent,
            complexity,
            body.max_techniques.unwrap_or(3),
            caller.map(|p| p.user_id),
        )
        .await?;
    let list: Vec<Value> = picks
        .iter()
        .map(|p| {
            json!({
                "id": p.technique.as_str(),
                "name": bp_engine::catalogue::info(p.technique).name,
                "score": p.score,
                "confidence": p.confidence,
                "reasoning": p.reason,
            })
        })
        .collect();
    let primary = picks.first();
    Ok(JsonOut(json!({
        "techniques": list,
        "primary_technique": primary.map(|p| p.technique.as_str()),
        "confidence": primary.map_or(0.0, |p| p.confidence),
        "reasoning": primary.map_or_else(|| "no technique scored high enough".to_owned(), |p| p.reason.clone()),
    })))
}

/// `GET /techniques`: the catalogue with measured effectiveness (90 days).
pub async fn list_techniques(State(state): State<AppState>) -> Result<Response, ApiError> {
    if let Some(hit) = state
        .cache
        .fetch::<Value>(Namespace::Techniques, CATALOGUE_KEY)
        .await
    {
        return Ok(JsonOut(hit).into_response());
    }
    let measured = bp_store::analytics::technique_effectiveness(state.db.read(), 90, 1, None).await?;
    let list: Vec<Value> = bp_engine::catalogue::CATALOGUE
        .iter()
        .map(|t| {
            let id = t.technique.as_str();
            let rows: Vec<_> = measured.iter().filter(|m| m.technique == id).collect();
            let total: i64 = rows.iter().map(|r| r.total_count).sum();
            let success: i64 = rows.iter().map(|r| r.success_count).sum();
            let by_intent: serde_json::Map<String, Value> = rows
                .iter()
                .map(|r| (r.intent.clone(), json!({ "success_rate": r.success_rate, "sample_size": r.total_count, "average_rating": r.average_feedback })))
                .collect();
            json!({
                "id": id,
                "name": t.name,
                "category": t.category,
                "description": t.description,
                "complexity": t.complexities.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                "examples": t.examples,
                "effectiveness": {
                    "overall": if total > 0 { json!(success as f64 / total as f64) } else { Value::Null },
                    "sample_size": total,
                    "by_intent": by_intent,
                },
            })
        })
        .collect();
    let answer = json!({ "total": list.len(), "techniques": list });
    let _ = state
        .cache
        .put(Namespace::Techniques, CATALOGUE_KEY, &answer)
        .await;
    Ok((StatusCode::OK, JsonOut(answer)).into_response())
}
