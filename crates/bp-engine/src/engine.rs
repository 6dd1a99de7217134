//! [`Engine`]: a trained intent model plus templates, and the one call that
//! turns a request into an enhancement (classify, measure complexity,
//! select, generate).

use crate::classifier::{IntentModel, IntentPrediction};
use crate::complexity::{self, ComplexityAnalysis};
use crate::domain::role_for;
use crate::gating::{CONFIDENT, Forbidden, GateInput, forbidden};
use crate::generation::Compose;
use crate::generation::{Generated, Templates, generate};
use crate::input::{Level, PromptText, TechniqueLimit, TechniqueList};
use crate::selection::{Effectiveness, Pick, Preferences, SelectionRequest, select};
use crate::slots::Slots;
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
    /// How much may be added; `None` takes the user's preference, else
    /// `standard`.
    pub level: Option<Level>,
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
            level: None,
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
    /// What the prompt already specified.
    pub slots: Slots,
    /// The level applied.
    pub level: Level,
    /// Techniques the prompt does not justify, with why.
    pub forbidden: Vec<Forbidden>,
    /// Questions for essentials the prompt lacks, for a page to ask.
    pub questions: Vec<String>,
    /// The enhanced prompt.
    pub generated: Generated,
    /// The model version that classified it.
    pub model_version: String,
}

/// The expert the instruction part of `text` calls for; none for
/// translation and summarisation, where a role adds nothing.
fn role(text: &str, slots: &Slots, intent: crate::Intent, code: bool) -> Option<&'static str> {
    if matches!(intent, crate::Intent::Translation | crate::Intent::Summarization) {
        return None;
    }
    let instruction = match &slots.content {
        Some(c) => text.replacen(c.as_str(), " ", 1),
        None => text.to_string(),
    };
    // Code is code even when the intent is not certain: a topic's expert
    // (a chef for a bakery's SQL, a lawyer for a Secret Santa script with
    // "rules") never fits it. A request that names a script or a query is
    // code whatever the classifier said. (The composer's broader test,
    // `shows_code && writes_code`, is too wide for roles: "code P0420" and
    // "data analyst" would take a mechanic or a recruiter away.)
    let asks_for_code = crate::slots::Lower::new(&instruction).has_any(&[
        "python script",
        "bash script",
        "shell script",
        "write a script",
        "sql query",
        "apps script",
    ]);
    let role = role_for(
        &instruction,
        // Pasted code is what the question is about: a garden app's bug
        // wants a developer, not a gardener.
        code || intent == crate::Intent::CodeGeneration || asks_for_code || slots.content_is_code(),
        slots.format.as_ref(),
    )?;
    // A bedtime story beside a meal plan and rainy-day activities: a
    // children's author fits one part and would skew the others. (A long
    // request for the piece alone keeps its writer.)
    let other_asks = crate::slots::Lower::new(&instruction).has_any(&[
        "meal plan",
        "activities",
        "schedule",
        "budget",
        "checklist",
        "packing list",
        "shopping list",
        "itinerary",
        "study plan",
    ]);
    if slots.kind == crate::slots::TaskKind::MultiPart && other_asks && crate::domain::is_writer(role) {
        return None;
    }
    Some(role)
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

    /// The techniques `text` does not justify for `intent` at `confidence`
    /// (see [`crate::gating`]).
    pub fn gate(
        &self,
        text: &str,
        intent: crate::Intent,
        confidence: f64,
        complexity: Complexity,
        level: Level,
    ) -> Vec<Forbidden> {
        let slots = crate::slots::read(text);
        let code = intent == crate::Intent::CodeGeneration && confidence >= CONFIDENT;
        forbidden(&GateInput {
            slots: &slots,
            intent,
            confidence,
            complexity,
            level,
            has_role: role(text, &slots, intent, code).is_some(),
            reasoning_evidence: crate::gating::reasoning_evidence(text),
            how_to: crate::gating::how_to(text),
            setup: crate::gating::setup(text),
            fault: crate::gating::fault(text),
            questions: crate::gating::questions(text),
            words: text.split_whitespace().count(),
        })
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
        let slots = crate::slots::read(&req.text);
        let level = req.level.or(ctx.preferences.level).unwrap_or_default();
        let top = analysis.prediction.intent;
        let confidence = analysis.prediction.confidence;
        let code = top == crate::Intent::CodeGeneration && confidence >= CONFIDENT;
        let role = role(&req.text, &slots, top, code);
        let forbidden = forbidden(&GateInput {
            slots: &slots,
            intent: top,
            confidence,
            complexity,
            level,
            has_role: role.is_some(),
            reasoning_evidence: crate::gating::reasoning_evidence(&req.text),
            how_to: crate::gating::how_to(&req.text),
            setup: crate::gating::setup(&req.text),
            fault: crate::gating::fault(&req.text),
            questions: crate::gating::questions(&req.text),
            words: req.text.split_whitespace().count(),
        });
        let gated: Vec<Technique> = forbidden.iter().map(|f| f.technique).collect();
        let max = match level {
            Level::Light => 1,
            _ => req.max_techniques.get(),
        };
        let picks = select(&SelectionRequest {
            text: &req.text,
            intent_scores: &analysis.prediction.scores,
            complexity,
            max_techniques: max,
            prefer: &req.prefer,
            exclude: &req.exclude,
            forbidden: &gated,
            preferences: ctx.preferences,
            effectiveness: ctx.effectiveness,
        });
        let techniques: Vec<Technique> = picks.iter().map(|p| p.technique).collect();
        let generated = generate(
            &Compose {
                text: &req.text,
                intent: top,
                confident: confidence >= CONFIDENT,
                complexity,
                slots: &slots,
                role,
                level,
            },
            &techniques,
            &self.templates,
        );
        let questions = slots.missing.clone();
        Enhancement {
            analysis,
            complexity,
            picks,
            slots,
            level,
            forbidden,
            questions,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_asked_for_gets_a_developer_whatever_the_intent() {
        let text = "can you write a python script for our family secret santa. 9 people. rules: nobody gets themselves, couples can't get each other, and nobody gets who they had last year. it should just print who gets who.";
        let slots = crate::slots::read(text);
        let got = role(text, &slots, crate::Intent::CreativeWriting, false);
        assert_eq!(got, Some("a senior Python developer"));
    }

    #[test]
    fn pasted_code_about_a_garden_gets_no_gardener() {
        let text = "My little garden watering reminder keeps saying every plant needs water even when I watered it yesterday. What's wrong?\n\n```js\nconst plants = [{ name: 'tomato', everyDays: 2, lastWatered: '2024-06-10' }];\nfunction needsWater(plant) {\n  const daysSince = new Date() - new Date(plant.lastWatered);\n  return daysSince >= plant.everyDays;\n}\n```";
        let slots = crate::slots::read(text);
        assert!(slots.content_is_code());
        let got = role(text, &slots, crate::Intent::ProblemSolving, false);
        assert_ne!(got, Some("an experienced gardener"));
    }

    #[test]
    fn a_story_among_other_asks_gets_no_writers_role() {
        let text = "My grandkids (4 and 9) are staying with me Monday to Wednesday and it will rain the whole time. Could you help with: a simple meal plan for 3 days under $80, a few rainy day activities that work for both ages, and a short bedtime story starring my old beagle Biscuit?";
        let slots = crate::slots::read(text);
        assert_eq!(slots.kind, crate::slots::TaskKind::MultiPart);
        assert_eq!(role(text, &slots, crate::Intent::TaskPlanning, false), None);
        let story = "Write a bedtime story for my daughter about a beagle who snores.";
        let slots = crate::slots::read(story);
        assert_eq!(
            role(story, &slots, crate::Intent::CreativeWriting, false),
            Some("a children's author")
        );
    }
}
