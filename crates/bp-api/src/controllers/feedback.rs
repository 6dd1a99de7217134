//! `/feedback`: a rating of an enhancement. The history row's feedback and
//! `analytics.technique_effectiveness` for each technique it used change in
//! one transaction (a second rating of the same item replaces the first, in
//! both places), and the technique caches are forgotten so selection and
//! `/techniques` see it at once.

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use bp_cache::Namespace;
use bp_store::analytics::{self, TechniqueOutcome};
use bp_store::history;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::User;
use crate::extract::{Id, Json};
use crate::{ApiError, AppState};

/// A rating at or above this counts as a success.
pub const SUCCESS_RATING: i32 = 4;

/// `POST /feedback` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct FeedbackBody {
    prompt_history_id: Uuid,
    rating: i32,
    #[serde(default)]
    feedback_type: Option<String>,
    #[serde(default)]
    feedback_text: Option<String>,
    #[serde(default)]
    technique_ratings: Option<std::collections::BTreeMap<String, i32>>,
}

/// `POST /feedback`: 201.
pub async fn submit(
    State(state): State<AppState>,
    User(p): User,
    Json(body): Json<FeedbackBody>,
) -> Result<(StatusCode, JsonOut<Value>), ApiError> {
    if !(1..=5).contains(&body.rating) {
        return Err(ApiError::BadRequest("invalid rating: must be 1 to 5".into()));
    }
    if body
        .feedback_text
        .as_ref()
        .is_some_and(|t| t.chars().count() > 1000)
    {
        return Err(ApiError::BadRequest(
            "invalid feedback_text: at most 1000 characters".into(),
        ));
    }
    let feedback_type = body.feedback_type.clone().unwrap_or_else(|| "rating".into());
    if !matches!(
        feedback_type.as_str(),
        "rating" | "thumbs" | "detailed" | "comment"
    ) {
        return Err(ApiError::BadRequest(
            "invalid feedback_type: must be rating, thumbs, detailed or comment".into(),
        ));
    }
    if let Some(ratings) = &body.technique_ratings
        && ratings
            .iter()
            .any(|(t, r)| t.parse::<bp_engine::Technique>().is_err() || !(1..=5).contains(r))
    {
        return Err(ApiError::BadRequest(
            "invalid technique_ratings: known techniques rated 1 to 5".into(),
        ));
    }
    let mut tx = state.db.begin_for(p.user_id).await?;
    let before = history::get_history(&mut tx, body.prompt_history_id, p.user_id).await?;
    let after = history::update_feedback(
        &mut *tx,
        before.id,
        p.user_id,
        body.rating,
        body.feedback_text.as_deref(),
    )
    .await?;
    let intent = before.intent.clone().unwrap_or_else(|| "unknown".into());
    let date = before.created_at.map(|t| t.date_naive());
    for technique in before.techniques_used.clone().unwrap_or_default() {
        let rating = body
            .technique_ratings
            .as_ref()
            .and_then(|r| r.get(&technique).copied())
            .unwrap_or(body.rating);
        match before.feedback_score {
            None => {
                analytics::record_technique_outcome(
                    &mut *tx,
                    &TechniqueOutcome {
                        technique,
                        intent: intent.clone(),
                        date,
                        success: rating >= SUCCESS_RATING,
                        feedback_score: Some(rating),
                        processing_time_ms: before.processing_time_ms,
                    },
                )
                .await?;
            }
            Some(old) => {
                analytics::replace_feedback(&mut *tx, &technique, &intent, date, old, rating, SUCCESS_RATING)
                    .await?;
            }
        }
    }
    tx.commit().await?;
    // Selection reads effectiveness per intent; /techniques shows it.
    let _ = state
        .cache
        .forget(Namespace::Techniques, &["effectiveness", &intent])
        .await;
    let _ = state
        .cache
        .forget(Namespace::Techniques, crate::controllers::enhance::CATALOGUE_KEY)
        .await;
    state.recorder.activity(analytics::NewActivity {
        user_id: p.user_id,
        activity_type: "feedback".into(),
        activity_data: Some(json!({ "history_id": after.id, "rating": body.rating })),
        session_id: p.session_id().map(|s| s.to_string()),
        ip_address: None,
        user_agent: None,
    });
    Ok((
        StatusCode::CREATED,
        JsonOut(json!({
            "id": after.id,
            "prompt_history_id": after.id,
            "rating": body.rating,
            "feedback_type": feedback_type,
            "feedback_text": after.feedback_text,
            "created_at": chrono::Utc::now(),
            "message": if before.feedback_score.is_some() { "feedback updated" } else { "feedback recorded" },
        })),
    ))
}

/// `GET /feedback/{prompt_history_id}`.
pub async fn get(
    State(state): State<AppState>,
    User(p): User,
    Id(id): Id,
) -> Result<JsonOut<Value>, ApiError> {
    let mut conn = state.db.for_user(p.user_id).await?;
    let item = history::get_history(&mut conn, id, p.user_id).await?;
    conn.finish().await?;
    let Some(rating) = item.feedback_score else {
        return Err(ApiError::NotFound);
    };
    Ok(JsonOut(json!({
        "id": item.id,
        "prompt_history_id": item.id,
        "rating": rating,
        "feedback_text": item.feedback_text,
        "techniques_used": item.techniques_used.unwrap_or_default(),
    })))
}

/// `POST /feedback/effectiveness` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct EffectivenessBody {
    technique: String,
    #[serde(default)]
    intent: Option<String>,
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "accepted; effectiveness is kept per technique and intent"
    )]
    complexity: Option<String>,
    #[serde(default)]
    period_days: Option<u32>,
}

/// `POST /feedback/effectiveness`: measured figures of one technique.
pub async fn effectiveness(
    State(state): State<AppState>,
    User(_): User,
    Json(body): Json<EffectivenessBody>,
) -> Result<JsonOut<Value>, ApiError> {
    if body.technique.parse::<bp_engine::Technique>().is_err() {
        return Err(ApiError::BadRequest(
            "invalid technique: unknown technique".into(),
        ));
    }
    if let Some(i) = &body.intent
        && i.parse::<bp_engine::Intent>().is_err()
    {
        return Err(ApiError::BadRequest("invalid intent: unknown intent".into()));
    }
    let days = body.period_days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(ApiError::BadRequest(
            "invalid period_days: must be 1 to 365".into(),
        ));
    }
    let rows = analytics::technique_effectiveness(state.db.read(), days, 1, body.intent.as_deref()).await?;
    let rows: Vec<_> = rows.iter().filter(|r| r.technique == body.technique).collect();
    let total: i64 = rows.iter().map(|r| r.total_count).sum();
    let success: i64 = rows.iter().map(|r| r.success_count).sum();
    let rated: Vec<(f64, i64)> = rows
        .iter()
        .filter_map(|r| r.average_feedback.map(|a| (a, r.total_count)))
        .collect();
    let weight: i64 = rated.iter().map(|(_, n)| n).sum();
    let average = (weight > 0).then(|| rated.iter().map(|(a, n)| a * *n as f64).sum::<f64>() / weight as f64);
    let positive = if total > 0 {
        success as f64 / total as f64
    } else {
        0.0
    };
    Ok(JsonOut(json!({
        "technique": body.technique,
        "intent": body.intent,
        "effectiveness_score": average.map_or(positive, |a| (a - 1.0) / 4.0 * 0.5 + positive * 0.5),
        "average_rating": average,
        "positive_ratio": positive,
        "negative_ratio": if total > 0 { 1.0 - positive } else { 0.0 },
        "confidence": (total as f64 / (total as f64 + 20.0)),
        "sample_size": total,
        "period_days": days,
        "last_updated": chrono::Utc::now(),
    })))
}
