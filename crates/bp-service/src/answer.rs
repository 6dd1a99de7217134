//! The enhancement answer as clients see it: one type for `POST /enhance`,
//! each `/enhance/batch` item, `/prompts/{id}/rerun` and the CLI's
//! `enhance --json`, so the shape is written once and documented by its
//! schema.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::EnhanceOutcome;

/// One chosen technique and why.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TechniqueDetail {
    /// Technique id.
    pub id: String,
    /// Selection score, 0..=1.
    pub score: f64,
    /// Confidence in the choice, 0..=1.
    pub confidence: f64,
    /// One sentence on why it was chosen.
    pub reasoning: String,
}

/// Details of an enhancement.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct EnhanceMetadata {
    /// Estimated tokens of the enhanced prompt.
    pub tokens_used: usize,
    /// The intent model's version.
    pub model_version: String,
    /// The measured complexity (the answer's `complexity` may be a target).
    pub detected_complexity: String,
    /// Each chosen technique with its reason.
    pub technique_details: Vec<TechniqueDetail>,
    /// Whether this answer was served from the response cache.
    pub cached: bool,
    /// Whether the intent came from the prediction cache.
    pub cached_prediction: bool,
    /// The history item this one re-ran, for `/prompts/{id}/rerun`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_from: Option<Uuid>,
}

/// An enhancement (see the module docs).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct EnhanceAnswer {
    /// The history item id.
    pub id: Uuid,
    /// The prompt as received (trimmed).
    pub original_text: String,
    /// The enhanced prompt.
    pub enhanced_text: String,
    /// The same text, under the original API's other name.
    pub enhanced_prompt: String,
    /// The detected intent.
    pub intent: String,
    /// The complexity the enhancement aimed at.
    pub complexity: String,
    /// The chosen technique ids, in order.
    pub techniques: Vec<String>,
    /// The same list, under the original API's other name.
    pub techniques_used: Vec<String>,
    /// Probability of the detected intent, 0..=1.
    pub confidence: f64,
    /// Every intent's probability.
    pub intent_scores: BTreeMap<String, f64>,
    /// Time spent in the service.
    pub processing_time_ms: f64,
    /// Always true.
    pub enhanced: bool,
    /// When it was saved.
    pub created_at: Option<DateTime<Utc>>,
    /// Details.
    pub metadata: EnhanceMetadata,
}

impl EnhanceAnswer {
    /// The answer for `outcome` of the prompt `original`.
    pub fn new(original: &str, o: &EnhanceOutcome) -> Self {
        let e = &o.enhancement;
        let names: Vec<String> = e.picks.iter().map(|p| p.technique.as_str().to_owned()).collect();
        Self {
            id: o.id,
            original_text: original.to_owned(),
            enhanced_text: e.generated.text.clone(),
            enhanced_prompt: e.generated.text.clone(),
            intent: e.analysis.prediction.intent.as_str().to_owned(),
            complexity: e.complexity.as_str().to_owned(),
            techniques: names.clone(),
            techniques_used: names,
            confidence: e.analysis.prediction.confidence,
            intent_scores: intent_scores(&e.analysis.prediction.scores),
            processing_time_ms: o.processing_time_ms,
            enhanced: true,
            created_at: o.created_at,
            metadata: EnhanceMetadata {
                tokens_used: e.generated.tokens,
                model_version: e.model_version.clone(),
                detected_complexity: e.analysis.complexity.level.as_str().to_owned(),
                technique_details: e
                    .picks
                    .iter()
                    .map(|p| TechniqueDetail {
                        id: p.technique.as_str().to_owned(),
                        score: p.score,
                        confidence: p.confidence,
                        reasoning: p.reason.clone(),
                    })
                    .collect(),
                cached: false,
                cached_prediction: o.cached_prediction,
                rerun_from: None,
            },
        }
    }
}

/// Intent id to probability.
pub fn intent_scores(scores: &[(bp_engine::Intent, f64)]) -> BTreeMap<String, f64> {
    scores.iter().map(|(i, p)| (i.as_str().to_owned(), *p)).collect()
}
