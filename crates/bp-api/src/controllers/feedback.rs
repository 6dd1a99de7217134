//! `/feedback`: a rating of an enhancement, parsed here and recorded by
//! [`bp_service::feedback::record`] (the history row and the technique
//! effectiveness in one transaction).

use std::collections::BTreeMap;

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use bp_engine::{Intent, Technique};
use bp_service::catalogue::EffectivenessReport;
use bp_service::feedback::{FeedbackKind, FeedbackText, NewFeedback, Rating};
use bp_store::analytics;
use bp_store::history;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::auth::User;
use crate::error::ApiError;
use crate::extract::{Id, Json};
use crate::routes::{Access, Endpoint, Table, Verb};
use crate::state::AppState;

/// `POST /feedback` body.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FeedbackBody {
    prompt_history_id: Uuid,
    rating: i32,
    #[serde(default)]
    feedback_type: Option<String>,
    #[serde(default)]
    feedback_text: Option<String>,
    #[serde(default)]
    technique_ratings: Option<BTreeMap<String, i32>>,
}

impl FeedbackBody {
    /// The feedback, every field checked.
    fn parse(&self) -> Result<NewFeedback, ApiError> {
        let mut technique_ratings = BTreeMap::new();
        for (name, stars) in self.technique_ratings.iter().flatten() {
            let technique = name.parse::<Technique>().map_err(|_| {
                ApiError::BadRequest("invalid technique_ratings: known techniques rated 1 to 5".into())
            })?;
            let rating = Rating::new("technique_ratings", *stars).map_err(|_| {
                ApiError::BadRequest("invalid technique_ratings: known techniques rated 1 to 5".into())
            })?;
            technique_ratings.insert(technique, rating);
        }
        Ok(NewFeedback {
            history_id: self.prompt_history_id,
            rating: Rating::new("rating", self.rating)?,
            kind: FeedbackKind::parse(self.feedback_type.as_deref().unwrap_or("rating"))?,
            text: self
                .feedback_text
                .as_deref()
                .map(FeedbackText::parse)
                .transpose()?,
            technique_ratings,
        })
    }
}

/// `POST /feedback` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FeedbackAnswer {
    /// The rated history item (feedback lives on it).
    pub id: Uuid,
    /// The same id.
    pub prompt_history_id: Uuid,
    /// The overall rating.
    pub rating: i32,
    /// `rating`, `thumbs`, `detailed` or `comment`.
    pub feedback_type: String,
    /// The comment, if any.
    pub feedback_text: Option<String>,
    /// When recorded.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// `feedback recorded` or `feedback updated`.
    pub message: String,
}

/// `POST /feedback`: 201.
pub async fn submit(
    State(state): State<AppState>,
    User(p): User,
    Json(body): Json<FeedbackBody>,
) -> Result<(StatusCode, JsonOut<FeedbackAnswer>), ApiError> {
    let feedback = body.parse()?;
    let recorded = bp_service::feedback::record(&state.db, &state.cache, p.user_id, &feedback).await?;
    state.recorder.activity(analytics::NewActivity {
        user_id: p.user_id,
        activity_type: "feedback".into(),
        activity_data: Some(json!({ "history_id": recorded.item.id, "rating": feedback.rating.get() })),
        session_id: p.session_id().map(|s| s.to_string()),
        ip_address: None,
        user_agent: None,
    });
    Ok((
        StatusCode::CREATED,
        JsonOut(FeedbackAnswer {
            id: recorded.item.id,
            prompt_history_id: recorded.item.id,
            rating: feedback.rating.get(),
            feedback_type: feedback.kind.as_str().to_owned(),
            feedback_text: recorded.item.feedback_text,
            created_at: chrono::Utc::now(),
            message: if recorded.replaced {
                "feedback updated"
            } else {
                "feedback recorded"
            }
            .to_owned(),
        }),
    ))
}

/// `GET /feedback/{prompt_history_id}` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StoredFeedback {
    /// The history item.
    pub id: Uuid,
    /// The same id.
    pub prompt_history_id: Uuid,
    /// The rating.
    pub rating: i32,
    /// The comment, if any.
    pub feedback_text: Option<String>,
    /// The techniques the rated enhancement used.
    pub techniques_used: Vec<String>,
}

/// `GET /feedback/{prompt_history_id}`.
pub async fn get(
    State(state): State<AppState>,
    User(p): User,
    Id(id): Id,
) -> Result<JsonOut<StoredFeedback>, ApiError> {
    let mut conn = state.db.for_user(p.user_id).await?;
    let item = history::get_history(&mut conn, id, p.user_id).await?;
    conn.finish().await?;
    let Some(rating) = item.feedback_score else {
        return Err(ApiError::NotFound);
    };
    Ok(JsonOut(StoredFeedback {
        id: item.id,
        prompt_history_id: item.id,
        rating,
        feedback_text: item.feedback_text,
        techniques_used: item.techniques_used.unwrap_or_default(),
    }))
}

/// `POST /feedback/effectiveness` body.
#[derive(Debug, Deserialize, JsonSchema)]
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
) -> Result<JsonOut<EffectivenessReport>, ApiError> {
    let technique = body
        .technique
        .parse::<Technique>()
        .map_err(|_| ApiError::BadRequest("invalid technique: unknown technique".into()))?;
    let intent = body
        .intent
        .as_deref()
        .map(|i| i.parse::<Intent>())
        .transpose()
        .map_err(|_| ApiError::BadRequest("invalid intent: unknown intent".into()))?;
    let days = body.period_days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(ApiError::BadRequest(
            "invalid period_days: must be 1 to 365".into(),
        ));
    }
    Ok(JsonOut(
        bp_service::catalogue::effectiveness(&state.db, technique, intent, days).await?,
    ))
}

/// This module's endpoints.
pub(crate) fn routes(t: &mut Table) {
    t.add(
        Endpoint::new(
            Verb::Post,
            "/feedback",
            "feedback",
            Access::Session,
            "Rate an enhancement",
        )
        .body::<FeedbackBody>()
        .returns::<FeedbackAnswer>(),
        submit,
    );
    t.add(
        Endpoint::new(
            Verb::Post,
            "/feedback/effectiveness",
            "feedback",
            Access::Session,
            "Technique effectiveness",
        )
        .body::<EffectivenessBody>()
        .returns::<EffectivenessReport>(),
        effectiveness,
    );
    t.add(
        Endpoint::new(
            Verb::Get,
            "/feedback/{id}",
            "feedback",
            Access::Session,
            "The feedback on an enhancement",
        )
        .returns::<StoredFeedback>(),
        get,
    );
}
