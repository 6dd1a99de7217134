//! Closed sets of ids with `as_str`/`FromStr`, shared by every layer.

use std::fmt;
use std::str::FromStr;

/// A string that is not one of a closed set of ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownId {
    /// What kind of id was expected (`intent`, `complexity`, `technique`).
    pub kind: &'static str,
    /// The rejected value.
    pub value: String,
}

impl fmt::Display for UnknownId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} `{}`", self.kind, self.value)
    }
}

impl std::error::Error for UnknownId {}

macro_rules! id_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal, { $($(#[$vmeta:meta])* $variant:ident => $id:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable id stored in the database and sent over the API.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $id),+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($id => Ok($name::$variant),)+
                    other => Err(UnknownId { kind: $kind, value: other.to_owned() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

id_enum!(
    /// What the user wants done.
    Intent, "intent", {
        /// Asking for facts or explanations.
        QuestionAnswering => "question_answering",
        /// Stories, poems, marketing copy.
        CreativeWriting => "creative_writing",
        /// Writing or changing code.
        CodeGeneration => "code_generation",
        /// Working with data sets, statistics, charts.
        DataAnalysis => "data_analysis",
        /// Logic, maths, argument.
        Reasoning => "reasoning",
        /// Condensing a text.
        Summarization => "summarization",
        /// Between languages.
        Translation => "translation",
        /// Chat, small talk, advice in dialogue.
        Conversation => "conversation",
        /// Plans, schedules, roadmaps.
        TaskPlanning => "task_planning",
        /// Debugging a situation, finding a fix.
        ProblemSolving => "problem_solving",
    }
);

id_enum!(
    /// How demanding a prompt is.
    Complexity, "complexity", {
        /// One short ask.
        Simple => "simple",
        /// Several parts or some constraints.
        Moderate => "moderate",
        /// Multi-step, constrained, domain-heavy.
        Complex => "complex",
    }
);

id_enum!(
    /// A prompt-engineering technique the engine can apply.
    Technique, "technique", {
        /// Explicit intermediate reasoning.
        ChainOfThought => "chain_of_thought",
        /// Several reasoning branches, evaluated.
        TreeOfThoughts => "tree_of_thoughts",
        /// Worked examples first.
        FewShot => "few_shot",
        /// A direct instruction.
        ZeroShot => "zero_shot",
        /// Independent solutions, majority answer.
        SelfConsistency => "self_consistency",
        /// An expert persona.
        RolePlay => "role_play",
        /// Numbered steps.
        StepByStep => "step_by_step",
        /// A fixed response shape.
        StructuredOutput => "structured_output",
        /// Mapping onto a familiar problem.
        Analogical => "analogical",
        /// Thought / action / observation cycles.
        React => "react",
        /// Why the result matters.
        EmotionalAppeal => "emotional_appeal",
        /// Explicit limits.
        Constraints => "constraints",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sets_have_the_specified_sizes() {
        assert_eq!(Intent::ALL.len(), 10);
        assert_eq!(Complexity::ALL.len(), 3);
        assert_eq!(Technique::ALL.len(), 12);
        for t in Technique::ALL {
            assert_eq!(t.as_str().parse::<Technique>(), Ok(*t));
        }
        for i in Intent::ALL {
            assert_eq!(i.to_string().parse::<Intent>(), Ok(*i));
        }
    }

    #[test]
    fn unknown_ids_are_rejected_with_their_kind() {
        let err = "telepathy".parse::<Technique>().unwrap_err();
        assert_eq!(err.to_string(), "unknown technique `telepathy`");
        assert!("Simple".parse::<Complexity>().is_err());
    }
}
