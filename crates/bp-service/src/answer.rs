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
    /// Questions for essentials the prompt lacks (a page can ask them and
    /// enhance again with the answers); empty when nothing is missing.
    pub questions: Vec<String>,
    /// The level applied: `light`, `standard` or `thorough`.
    pub level: String,
    /// What the prompt already specified, which the enhancement kept.
    pub slots: SlotsView,
    /// Details.
    pub metadata: EnhanceMetadata,
}

/// What the prompt already specified.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Default)]
pub struct SlotsView {
    /// The persona the user gave the model.
    pub persona: Option<String>,
    /// The output format asked for.
    pub format: Option<String>,
    /// A length limit.
    pub length: Option<String>,
    /// Who the answer is for.
    pub audience: Option<String>,
    /// The tone asked for.
    pub tone: Option<String>,
    /// The language of the answer, when not English.
    pub language: Option<String>,
    /// Whether text to work on was supplied (kept verbatim, set apart).
    pub has_content: bool,
    /// Explicit constraints, as written.
    pub constraints: Vec<String>,
    /// `fact_lookup`, `rewrite`, `short_creative`, `multi_part` or `open`.
    pub kind: String,
}

impl From<&bp_engine::slots::Slots> for SlotsView {
    fn from(s: &bp_engine::slots::Slots) -> Self {
        Self {
            persona: s.persona.clone(),
            format: s.format.as_ref().map(bp_engine::slots::Format::describe),
            length: s.length.as_ref().map(bp_engine::slots::Length::describe),
            audience: s.audience.clone(),
            tone: s.tone.clone(),
            language: s.language.map(str::to_owned),
            has_content: s.content.is_some(),
            constraints: s.constraints.clone(),
            kind: s.kind.as_str().to_owned(),
        }
    }
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
            questions: e.questions.clone(),
            level: e.level.as_str().to_owned(),
            slots: SlotsView::from(&e.slots),
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
