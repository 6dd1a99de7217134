//! The technique catalogue: the one description of the 12 techniques that
//! `/techniques`, selection and generation all read, so every listed id can
//! be applied. Each entry says which intents and complexities it suits, the
//! words in a prompt that call for it, where it goes in a composed prompt,
//! and its built-in template (the text migration 0005 installs; used when
//! the database has none or an edited one cannot be filled).

use crate::vocabulary::{Complexity, Intent, Technique};

/// Where a technique's text goes in a composed prompt, in this order; the
/// user's text sits between [`Stage::Examples`] and [`Stage::Limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Role and context.
    Role,
    /// Worked examples.
    Examples,
    /// Constraints.
    Limits,
    /// Reasoning scaffolds.
    Reasoning,
    /// Checking the answer.
    Verification,
    /// Directness.
    Direct,
    /// Why it matters.
    Motivation,
    /// Output format, always last.
    Format,
}

/// Everything known about one technique.
#[derive(Debug, Clone, Copy)]
pub struct TechniqueInfo {
    /// Its id.
    pub technique: Technique,
    /// Display name.
    pub name: &'static str,
    /// Grouping.
    pub category: &'static str,
    /// What it does, one sentence.
    pub description: &'static str,
    /// Short examples of prompts it helps.
    pub examples: &'static [&'static str],
    /// How well it fits each intent, 0..=1 (unlisted intents: 0.1).
    pub intent_fit: &'static [(Intent, f64)],
    /// The complexities it suits.
    pub complexities: &'static [Complexity],
    /// Words or phrases in a prompt that call for it.
    pub signals: &'static [&'static str],
    /// What those signals show, completing "the prompt ...".
    pub signal_reason: &'static str,
    /// What it adds, completing "<name> ...".
    pub contribution: &'static str,
    /// Its place in a composed prompt.
    pub stage: Stage,
    /// The built-in template; `{{prompt}}` is the user's text.
    pub template: &'static str,
}

impl TechniqueInfo {
    /// Fit for one intent (0.1 when not listed).
    pub fn fit(&self, intent: Intent) -> f64 {
        self.intent_fit
            .iter()
            .find(|(i, _)| *i == intent)
            .map_or(0.1, |(_, f)| *f)
    }

    /// Whether it suits `complexity`.
    pub fn suits(&self, complexity: Complexity) -> bool {
        self.complexities.contains(&complexity)
    }
}

use Complexity::{Complex, Moderate, Simple};
use Intent::*;

/// Pairs never applied together, and why.
pub const INCOMPATIBLE: &[(Technique, Technique, &str)] = &[
    (
        Technique::ZeroShot,
        Technique::FewShot,
        "zero-shot means no examples",
    ),
    (
        Technique::ChainOfThought,
        Technique::TreeOfThoughts,
        "tree of thoughts already reasons step by step, on several branches",
    ),
    (
        Technique::ChainOfThought,
        Technique::StepByStep,
        "both ask for sequential steps; one is enough",
    ),
    (
        Technique::TreeOfThoughts,
        Technique::SelfConsistency,
        "both explore several solutions",
    ),
    (
        Technique::ZeroShot,
        Technique::TreeOfThoughts,
        "zero-shot asks for a direct answer",
    ),
    (
        Technique::ZeroShot,
        Technique::SelfConsistency,
        "zero-shot asks for a direct answer",
    ),
];

/// Whether `a` and `b` may be applied together.
pub fn compatible(a: Technique, b: Technique) -> bool {
    !INCOMPATIBLE
        .iter()
        .any(|(x, y, _)| (*x == a && *y == b) || (*x == b && *y == a))
}

/// The catalogue, in `Technique::ALL` order.
pub const CATALOGUE: [TechniqueInfo; 12] = [
    TechniqueInfo {
        technique: Technique::ChainOfThought,
        name: "Chain of Thought",
        category: "reasoning",
        description: "Asks for explicit intermediate reasoning before the answer.",
        examples: &[
            "A train leaves at 3pm at 60 mph; when does a second one at 80 mph catch it?",
            "Is this argument valid?",
        ],
        intent_fit: &[
            (Reasoning, 1.0),
            (ProblemSolving, 0.75),
            (DataAnalysis, 0.65),
            (QuestionAnswering, 0.45),
            (CodeGeneration, 0.45),
        ],
        complexities: &[Moderate, Complex],
        signals: &[
            "why",
            "prove",
            "calculate",
            "solve",
            "reason",
            "derive",
            "how many",
            "probability",
            "logic",
            "explain why",
        ],
        signal_reason: "asks for reasoning or a calculation",
        contribution: "makes the reasoning explicit so mistakes show",
        stage: Stage::Reasoning,
        template: "{{prompt}}\n\nThink the problem through step by step before you answer.",
    },
    TechniqueInfo {
        technique: Technique::TreeOfThoughts,
        name: "Tree of Thoughts",
        category: "reasoning",
        description: "Explores several lines of reasoning, evaluates them and follows the most promising.",
        examples: &[
            "Which architecture should we choose for our event pipeline?",
            "Find three ways to cut our cloud bill and pick one.",
        ],
        intent_fit: &[
            (ProblemSolving, 0.8),
            (Reasoning, 0.7),
            (TaskPlanning, 0.55),
            (CreativeWriting, 0.25),
            (DataAnalysis, 0.35),
        ],
        complexities: &[Complex],
        signals: &[
            "options",
            "alternatives",
            "approaches",
            "compare",
            "trade-off",
            "tradeoffs",
            "best way",
            "decide",
            "versus",
            "vs",
            "choose",
        ],
        signal_reason: "weighs alternatives",
        contribution: "explores several approaches before committing to one",
        stage: Stage::Reasoning,
        template: "{{prompt}}\n\nConsider two or three different approaches, say briefly why you choose one, then carry it through.",
    },
    TechniqueInfo {
        technique: Technique::FewShot,
        name: "Few-Shot Learning",
        category: "learning",
        description: "Shows worked examples of the task before asking for the new case.",
        examples: &[
            "Translate product names in our house style.",
            "Write release notes like the previous ones.",
        ],
        intent_fit: &[
            (Translation, 0.6),
            (CodeGeneration, 0.55),
            (CreativeWriting, 0.55),
            (Summarization, 0.5),
            (DataAnalysis, 0.45),
            (Conversation, 0.25),
            (TaskPlanning, 0.35),
        ],
        complexities: &[Simple, Moderate],
        signals: &[
            "example",
            "examples",
            "like this",
            "similar to",
            "for instance",
            "in the style of",
            "style",
            "such as",
            "sample",
        ],
        signal_reason: "mentions examples or a style to match",
        contribution: "shows worked examples of the expected result",
        stage: Stage::Examples,
        template: "{{prompt}}\n\nFollow the pattern of the examples I gave.",
    },
    TechniqueInfo {
        technique: Technique::ZeroShot,
        name: "Zero-Shot",
        category: "basic",
        description: "A direct, precise instruction with no examples.",
        examples: &[
            "What is the capital of Canada?",
            "Translate 'thank you' into Japanese.",
        ],
        intent_fit: &[
            (Conversation, 0.8),
            (QuestionAnswering, 0.7),
            (Translation, 0.65),
            (Summarization, 0.45),
        ],
        complexities: &[Simple],
        signals: &[
            "quick",
            "quickly",
            "briefly",
            "short answer",
            "just tell me",
            "simply",
            "one word",
        ],
        signal_reason: "asks for a direct answer",
        contribution: "keeps the answer direct",
        stage: Stage::Direct,
        template: "{{prompt}}",
    },
    TechniqueInfo {
        technique: Technique::SelfConsistency,
        name: "Self-Consistency",
        category: "verification",
        description: "Solves the problem several independent ways and keeps the answer they agree on.",
        examples: &[
            "What is the probability of two aces in a row?",
            "Is this contract clause enforceable?",
        ],
        intent_fit: &[
            (Reasoning, 0.8),
            (DataAnalysis, 0.55),
            (ProblemSolving, 0.45),
            (QuestionAnswering, 0.35),
        ],
        complexities: &[Moderate, Complex],
        signals: &[
            "verify",
            "double check",
            "make sure",
            "accurate",
            "correct answer",
            "certain",
            "exact",
            "precisely",
        ],
        signal_reason: "needs an answer that can be trusted",
        contribution: "checks the answer by solving it independently several times",
        stage: Stage::Verification,
        template: "{{prompt}}\n\nBefore you answer, check the result a second, independent way.",
    },
    TechniqueInfo {
        technique: Technique::RolePlay,
        name: "Role-Playing",
        category: "creative",
        description: "Puts the model in the role of a relevant expert.",
        examples: &[
            "Review my CV as a hiring manager would.",
            "Explain this diagnosis as a doctor to a patient.",
        ],
        intent_fit: &[
            (CreativeWriting, 0.65),
            (Conversation, 0.6),
            (CodeGeneration, 0.6),
            (ProblemSolving, 0.6),
            (DataAnalysis, 0.6),
            (TaskPlanning, 0.55),
            (QuestionAnswering, 0.5),
            (Translation, 0.5),
            (Summarization, 0.4),
            (Reasoning, 0.35),
        ],
        complexities: &[Simple, Moderate, Complex],
        signals: &[
            "as a",
            "act as",
            "you are",
            "pretend",
            "expert",
            "persona",
            "role",
            "perspective",
            "professional",
        ],
        signal_reason: "names a role or perspective",
        contribution: "brings the vocabulary and judgement of an expert",
        stage: Stage::Role,
        template: "You are {{role}}.\n\n{{prompt}}",
    },
    TechniqueInfo {
        technique: Technique::StepByStep,
        name: "Step by Step",
        category: "planning",
        description: "Breaks the work into ordered, numbered steps.",
        examples: &[
            "Plan our office move.",
            "How do I set up a Python virtual environment?",
        ],
        intent_fit: &[
            (TaskPlanning, 0.9),
            (CodeGeneration, 0.65),
            (ProblemSolving, 0.7),
            (DataAnalysis, 0.55),
            (Reasoning, 0.5),
            (QuestionAnswering, 0.3),
        ],
        complexities: &[Moderate, Complex],
        signals: &[
            "step by step",
            "steps",
            "how to",
            "how do i",
            "walk me through",
            "guide",
            "process",
            "procedure",
            "plan",
            "schedule",
        ],
        signal_reason: "asks for a procedure",
        contribution: "orders the work into numbered steps",
        stage: Stage::Reasoning,
        template: "{{prompt}}\n\nSet the answer out as numbered steps.",
    },
    TechniqueInfo {
        technique: Technique::StructuredOutput,
        name: "Structured Output",
        category: "formatting",
        description: "Fixes the shape of the response so it can be read or parsed reliably.",
        examples: &[
            "List the risks in this plan as a table.",
            "Return the extracted fields as JSON.",
        ],
        intent_fit: &[
            (DataAnalysis, 0.75),
            (Summarization, 0.75),
            (TaskPlanning, 0.7),
            (CodeGeneration, 0.5),
            (QuestionAnswering, 0.35),
            (ProblemSolving, 0.4),
        ],
        complexities: &[Simple, Moderate, Complex],
        signals: &[
            "json", "table", "csv", "yaml", "markdown", "bullet", "bullets", "list", "format", "report",
            "columns", "outline", "template",
        ],
        signal_reason: "asks for a specific output format",
        contribution: "fixes a response format that fits the task",
        stage: Stage::Format,
        template: "{{prompt}}\n\nOrganise the answer with {{sections}}.",
    },
    TechniqueInfo {
        technique: Technique::Analogical,
        name: "Analogical Reasoning",
        category: "reasoning",
        description: "Solves a new problem by mapping it onto a familiar one.",
        examples: &[
            "Explain how DNS works in simple terms.",
            "How is a neural network like a brain?",
        ],
        intent_fit: &[
            (QuestionAnswering, 0.55),
            (Reasoning, 0.45),
            (ProblemSolving, 0.45),
            (CreativeWriting, 0.3),
        ],
        complexities: &[Simple, Moderate],
        signals: &[
            "analogy",
            "in simple terms",
            "simple terms",
            "eli5",
            "like i'm",
            "metaphor",
            "layman",
            "beginner",
            "intuition",
            "intuitive",
        ],
        signal_reason: "asks for an accessible explanation",
        contribution: "maps the problem onto a familiar one",
        stage: Stage::Reasoning,
        template: "{{prompt}}\n\nWhere it helps, explain with an analogy to something familiar.",
    },
    TechniqueInfo {
        technique: Technique::React,
        name: "ReAct",
        category: "agentic",
        description: "Interleaves reasoning with actions and observations.",
        examples: &[
            "Find out why our nightly job fails.",
            "Research the current rules for exporting batteries.",
        ],
        intent_fit: &[
            (ProblemSolving, 0.65),
            (DataAnalysis, 0.45),
            (TaskPlanning, 0.35),
            (CodeGeneration, 0.35),
            (QuestionAnswering, 0.3),
        ],
        complexities: &[Complex],
        signals: &[
            "search",
            "look up",
            "find out",
            "latest",
            "current",
            "investigate",
            "debug",
            "troubleshoot",
            "diagnose",
            "research",
        ],
        signal_reason: "needs investigation",
        contribution: "alternates reasoning with checks and observations",
        stage: Stage::Reasoning,
        template: "{{prompt}}\n\nWork in short cycles: what you check next, what it shows, and what follows from it, until you can answer.",
    },
    TechniqueInfo {
        technique: Technique::EmotionalAppeal,
        name: "Emotional Appeal",
        category: "motivation",
        description: "States why the result matters, which tends to raise care and thoroughness.",
        examples: &[
            "This report goes to the board tomorrow.",
            "My thesis defence depends on this proof.",
        ],
        intent_fit: &[
            (Conversation, 0.4),
            (CreativeWriting, 0.35),
            (ProblemSolving, 0.3),
        ],
        complexities: &[Simple, Moderate, Complex],
        signals: &[
            "important",
            "urgent",
            "critical",
            "really need",
            "matters",
            "depends on",
            "asap",
            "crucial",
        ],
        signal_reason: "says the result matters",
        contribution: "asks for extra care where the result matters",
        stage: Stage::Motivation,
        template: "{{prompt}}\n\n{{stakes}}, so be accurate and say where you are unsure.",
    },
    TechniqueInfo {
        technique: Technique::Constraints,
        name: "Constraints",
        category: "control",
        description: "Spells out the limits the answer must respect.",
        examples: &[
            "Summarise this in under 100 words.",
            "Write the function without external libraries.",
        ],
        intent_fit: &[
            (Summarization, 0.7),
            (CodeGeneration, 0.6),
            (CreativeWriting, 0.55),
            (Translation, 0.55),
            (TaskPlanning, 0.5),
            (DataAnalysis, 0.45),
        ],
        complexities: &[Simple, Moderate, Complex],
        signals: &[
            "must",
            "only",
            "without",
            "no more than",
            "at most",
            "at least",
            "under",
            "limit",
            "words",
            "exactly",
            "avoid",
            "budget",
            "deadline",
        ],
        signal_reason: "states limits the answer must respect",
        contribution: "spells out the limits the answer must respect",
        stage: Stage::Limits,
        template: "{{prompt}}\n\nRequirements:\n{{constraints}}",
    },
];

/// The catalogue entry of `technique`.
pub fn info(technique: Technique) -> &'static TechniqueInfo {
    // CATALOGUE is in Technique::ALL order (checked by a unit test), and
    // position() over ALL always finds the technique.
    let i = Technique::ALL.iter().position(|t| *t == technique).unwrap_or(0);
    &CATALOGUE[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_lists_every_technique_once_in_id_order() {
        let ids: Vec<Technique> = CATALOGUE.iter().map(|t| t.technique).collect();
        assert_eq!(ids, Technique::ALL);
        for t in Technique::ALL {
            assert_eq!(info(*t).technique, *t);
            assert!(info(*t).template.contains("{{prompt}}"), "{t}");
        }
    }

    #[test]
    fn incompatibility_is_symmetric() {
        assert!(!compatible(Technique::ZeroShot, Technique::FewShot));
        assert!(!compatible(Technique::FewShot, Technique::ZeroShot));
        assert!(compatible(Technique::RolePlay, Technique::Constraints));
    }
}
