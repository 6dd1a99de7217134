//! [`Engine`]: a trained intent model plus templates, and the one call that
//! turns a request into an enhancement (classify, measure complexity,
//! select, generate).

use crate::classifier::{IntentModel, IntentPrediction};
use crate::complexity::{self, ComplexityAnalysis};
use crate::generation::{Generated, Templates, generate};
use crate::input::{PromptText, TechniqueLimit, TechniqueList};
use crate::selection::{Effectiveness, Pick, Preferences, SelectionRequest, select};
use crate::vocabulary::{Complexity, Technique};

/// What a caller asks for, parsed at the edge (see [`crate::input`]).
#[derive(Debug, Clone)]
pub struct EnhanceRequest {
    /// The prompt.
    pub text: PromptText,
    /// Techniques to apply first.
    pub prefer: TechniqueList,
    /// Techniques never to apply.
    pub exclude: TechniqueList,
    /// Complexity to aim for instead of the measured one.
    pub target_complexity: Option<Complexity>,
    /// Most techniques.
    pub max_techniques: TechniqueLimit,
}

impl EnhanceRequest {
    /// A request for `text` with no other choices.
    pub fn new(text: PromptText) -> Self {
        Self {
            text,
            prefer: TechniqueList::default(),
            exclude: TechniqueList::default(),
            target_complexity: None,
            max_techniques: TechniqueLimit::DEFAULT,
        }
    }
}

/// Loaded data an enhancement depends on besides the text.
#[derive(Debug, Clone, Copy)]
pub struct EnhanceContext<'a> {
    /// The user's preferences (defaults for anonymous requests).
    pub preferences: &'a Preferences,
    /// Measured outcomes per (technique, intent).
    pub effectiveness: &'a Effectiveness,
}

/// Intent and complexity of a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// The classification.
    pub prediction: IntentPrediction,
    /// The measured complexity.
    pub complexity: ComplexityAnalysis,
}

/// The result of one enhancement.
#[derive(Debug, Clone, PartialEq)]
pub struct Enhancement {
    /// Intent and measured complexity.
    pub analysis: Analysis,
    /// The complexity techniques were chosen for (the request's target,
    /// else the user's preference, else the measured one).
    pub complexity: Complexity,
    /// The techniques applied, in pick order.
    pub picks: Vec<Pick>,
    /// The enhanced prompt.
    pub generated: Generated,
    /// The model version that classified it.
    pub model_version: String,
}

/// A trained model and the templates to fill. Immutable; share it in an
/// `Arc` and replace it whole when the model or templates change.
#[derive(Debug, Clone)]
pub struct Engine {
    model: IntentModel,
    templates: Templates,
}

impl Engine {
    /// An engine over `model` and `templates`.
    pub fn new(model: IntentModel, templates: Templates) -> Self {
        Engine { model, templates }
    }

    /// The intent model.
    pub fn model(&self) -> &IntentModel {
        &self.model
    }

    /// The templates.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The same model with other templates.
    pub fn with_templates(&self, templates: Templates) -> Engine {
        Engine {
            model: self.model.clone(),
            templates,
        }
    }

    /// Classifies `text` and measures its complexity.
    pub fn analyze(&self, text: &str) -> Analysis {
        Analysis {
            prediction: self.model.classify(text),
            complexity: complexity::analyze(text),
        }
    }

    /// Selects techniques and writes the enhanced prompt for an analysed
    /// request (lets a caller reuse a cached analysis).
    pub fn enhance_analyzed(
        &self,
        req: &EnhanceRequest,
        analysis: Analysis,
        ctx: EnhanceContext<'_>,
    ) -> Enhancement {
        let complexity = req
            .target_complexity
            .or(ctx.preferences.complexity)
            .unwrap_or(analysis.complexity.level);
        let picks = select(&SelectionRequest {
            text: &req.text,
            intent_scores: &analysis.prediction.scores,
            complexity,
            max_techniques: req.max_techniques.get(),
            prefer: &req.prefer,
            exclude: &req.exclude,
            preferences: ctx.preferences,
            effectiveness: ctx.effectiveness,
        });
        let techniques: Vec<Technique> = picks.iter().map(|p| p.technique).collect();
        let generated = generate(
            &req.text,
            analysis.prediction.intent,
            complexity,
            &techniques,
            &self.templates,
        );
        Enhancement {
            analysis,
            complexity,
            picks,
            generated,
            model_version: self.model.version().to_string(),
        }
    }

    /// Classify, measure, select and generate.
    pub fn enhance(&self, req: &EnhanceRequest, ctx: EnhanceContext<'_>) -> Enhancement {
        let analysis = self.analyze(&req.text);
        self.enhance_analyzed(req, analysis, ctx)
    }
}
