//! The quality lint: enhanced prompts checked against a labelled set of
//! real-world prompts (`data/quality_lint.jsonl`), each line listing what
//! the prompt already specifies and what an enhancement must not add. It
//! counts contradictions (a role over the user's persona, another format
//! over theirs, thoroughness over their length limit, a reasoning scaffold
//! on a lookup, coding rules on a non-code prompt, a source-only rule with
//! no source, canned examples, filler), how often the user's text survives
//! verbatim, and the length ratio. `bench engine` reports the figures.
//!
//! Only what the enhancement added is inspected: the user's own lines are
//! removed first, and so is the composer's restatement of the user's own
//! limits ("Keep to what I asked: ..."), which cannot contradict them.

use serde::Deserialize;

use crate::data::DataError;

/// The labelled set shipped with the crate.
pub const QUALITY_LINT: &str = include_str!("../data/quality_lint.jsonl");

/// One labelled prompt.
#[derive(Debug, Clone, Deserialize)]
pub struct LintCase {
    /// The prompt.
    pub text: String,
    /// Its intent id.
    pub intent: String,
    /// `fact_lookup`, `rewrite`, `short_creative`, `multi_part` or `open`.
    pub kind: String,
    /// What the prompt specifies.
    pub slots: LintSlots,
    /// What an enhancement must not add (see [`Rule`]).
    pub must_not_add: Vec<String>,
    /// Essentials the prompt lacks.
    #[serde(default)]
    pub missing: Vec<String>,
}

/// The specified slots of a [`LintCase`] (the ones the lint reads).
#[derive(Debug, Clone, Deserialize)]
pub struct LintSlots {
    /// The user's persona.
    pub persona: Option<String>,
    /// The user's format id.
    pub format: Option<String>,
    /// The supplied content, verbatim.
    pub content: Option<String>,
}

/// Parses the JSON lines of a lint set.
pub fn parse(jsonl: &str) -> Result<Vec<LintCase>, DataError> {
    jsonl
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|e| DataError {
                line: n + 1,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// Kinds of additions the lint looks for, with the phrases that show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// An expert role.
    Role,
    /// Worked reasoning, several solutions, analogies.
    ReasoningScaffold,
    /// A format or structure other than the user's.
    OtherFormat,
    /// "Be thorough", added sections.
    LengthExpansion,
    /// Coding rules.
    CodeConstraints,
    /// "Use only the given text".
    SourceOnly,
    /// Worked examples.
    Examples,
    /// Emotional filler.
    Filler,
}

impl Rule {
    const ALL: [Rule; 8] = [
        Rule::Role,
        Rule::ReasoningScaffold,
        Rule::OtherFormat,
        Rule::LengthExpansion,
        Rule::CodeConstraints,
        Rule::SourceOnly,
        Rule::Examples,
        Rule::Filler,
    ];

    /// The id used in the data file.
    pub fn id(self) -> &'static str {
        match self {
            Rule::Role => "role",
            Rule::ReasoningScaffold => "reasoning_scaffold",
            Rule::OtherFormat => "other_format",
            Rule::LengthExpansion => "length_expansion",
            Rule::CodeConstraints => "code_constraints",
            Rule::SourceOnly => "source_only",
            Rule::Examples => "examples",
            Rule::Filler => "filler",
        }
    }

    fn phrases(self) -> &'static [&'static str] {
        match self {
            Rule::Role => &[
                "you are a ",
                "you are an ",
                "you are the ",
                "act as ",
                "as an expert",
                "as a senior",
            ],
            Rule::ReasoningScaffold => &[
                "step by step",
                "step-by-step",
                "final answer",
                "independent way",
                "approaches",
                "analogy",
                "short cycles",
                "reasoning",
                "think through",
            ],
            Rule::OtherFormat => &[
                "day by day",
                "numbered steps",
                "bullet",
                "table",
                "json",
                "csv",
                "headings",
                "heading for each",
                "organise the answer",
                "format the response",
            ],
            Rule::LengthExpansion => &[
                "thorough",
                "comprehensive",
                "in detail",
                "detailed",
                "as much detail",
                "heading for each",
                "organise the answer",
                "elaborate",
            ],
            Rule::CodeConstraints => &[
                "idiomatic",
                "edge case",
                "compiles",
                "unit test",
                "write code",
                "the code",
                "handle errors",
            ],
            Rule::SourceOnly => &[
                "only the given",
                "only the text",
                "add no new",
                "no new facts",
                "do not add information",
            ],
            Rule::Examples => &[
                "example 1",
                "here are examples",
                "examples of this task",
                "pattern of the examples",
            ],
            Rule::Filler => &[
                "matters a great deal",
                "very important to me",
                "please be careful",
                "take a deep breath",
                "i will tip",
                "people who will rely",
            ],
        }
    }
}

/// What the enhancement added to `original`: its lines minus the user's
/// own, minus the restatement of the user's limits.
pub fn added(original: &str, enhanced: &str) -> String {
    let own: Vec<&str> = original
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    enhanced
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !own.contains(l) && !l.starts_with("Keep to what I asked:"))
        .filter(|l| !matches!(*l, "<text>" | "</text>"))
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase()
}

/// Whether every line of the user's text survives in the enhanced prompt.
pub fn verbatim(original: &str, enhanced: &str) -> bool {
    original
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .all(|l| enhanced.contains(l))
}

/// The rules `enhanced` breaks for `case`.
pub fn violations(case: &LintCase, enhanced: &str) -> Vec<Rule> {
    let extra = added(&case.text, enhanced);
    Rule::ALL
        .iter()
        .copied()
        .filter(|r| case.must_not_add.iter().any(|m| m == r.id()))
        .filter(|r| {
            r.phrases().iter().any(|p| {
                // A format or scaffold phrase of the user's own (their
                // format, their words) is not an addition; a role, filler
                // or examples added are, whatever the user wrote.
                let theirs = !matches!(r, Rule::Role | Rule::Filler | Rule::Examples)
                    && case.text.to_lowercase().contains(p);
                extra.contains(p) && !theirs
            })
        })
        .collect()
}

/// The lint's figures over a set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LintReport {
    /// Prompts checked.
    pub cases: usize,
    /// Prompts with at least one violation.
    pub contradicted: usize,
    /// Violations per rule id.
    pub by_rule: Vec<(&'static str, usize)>,
    /// Prompts with a persona that got a role added.
    pub persona_overrides: usize,
    /// Non-code prompts that got coding rules.
    pub off_domain: usize,
    /// Prompts that got filler.
    pub filler: usize,
    /// Prompts whose text survived verbatim.
    pub verbatim: usize,
    /// Median of enhanced length over original length (characters).
    pub median_length_ratio: f64,
    /// Prompts with missing essentials that got them asked for.
    pub missing_asked: usize,
    /// Prompts with missing essentials.
    pub missing_cases: usize,
    /// Up to 20 examples of violations: (text start, rule ids).
    pub examples: Vec<(String, Vec<&'static str>)>,
}

impl LintReport {
    /// Share of prompts with a violation.
    pub fn contradiction_rate(&self) -> f64 {
        self.contradicted as f64 / self.cases.max(1) as f64
    }

    /// Share of prompts whose text survived verbatim.
    pub fn verbatim_rate(&self) -> f64 {
        self.verbatim as f64 / self.cases.max(1) as f64
    }
}

/// Lints `enhance(text)` over `cases`. `asks_missing` says whether an
/// enhanced prompt asks for the missing essentials.
pub fn run(cases: &[LintCase], mut enhance: impl FnMut(&str) -> (String, bool)) -> LintReport {
    let mut report = LintReport {
        cases: cases.len(),
        ..LintReport::default()
    };
    let mut counts = [0usize; 8];
    let mut ratios = Vec::with_capacity(cases.len());
    for case in cases {
        let (enhanced, asks_missing) = enhance(&case.text);
        let broken = violations(case, &enhanced);
        for r in &broken {
            if let Some(i) = Rule::ALL.iter().position(|x| x == r) {
                counts[i] += 1;
            }
        }
        if !broken.is_empty() {
            report.contradicted += 1;
            if report.examples.len() < 20 {
                report.examples.push((
                    case.text.chars().take(70).collect(),
                    broken.iter().map(|r| r.id()).collect(),
                ));
            }
        }
        if case.slots.persona.is_some() && broken.contains(&Rule::Role) {
            report.persona_overrides += 1;
        }
        if broken.contains(&Rule::CodeConstraints) {
            report.off_domain += 1;
        }
        if broken.contains(&Rule::Filler) {
            report.filler += 1;
        }
        if verbatim(&case.text, &enhanced) {
            report.verbatim += 1;
        }
        if !case.missing.is_empty() {
            report.missing_cases += 1;
            if asks_missing {
                report.missing_asked += 1;
            }
        }
        ratios.push(enhanced.chars().count() as f64 / case.text.chars().count().max(1) as f64);
    }
    ratios.sort_by(f64::total_cmp);
    report.median_length_ratio = ratios.get(ratios.len() / 2).copied().unwrap_or(0.0);
    report.by_rule = Rule::ALL.iter().zip(counts).map(|(r, n)| (r.id(), n)).collect();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_set_parses_and_its_content_is_verbatim() {
        let cases = parse(QUALITY_LINT).expect("the lint set parses");
        assert!(cases.len() >= 200, "{} cases", cases.len());
        for c in &cases {
            if let Some(content) = &c.slots.content {
                assert!(
                    c.text.contains(content.as_str()),
                    "content not in text: {}",
                    c.text
                );
            }
        }
    }

    #[test]
    fn additions_are_told_apart_from_the_users_own_words() {
        let case = LintCase {
            text: "You are Shakespeare. Write a sonnet about my phone dying.".into(),
            intent: "creative_writing".into(),
            kind: "short_creative".into(),
            slots: LintSlots {
                persona: Some("Shakespeare".into()),
                format: Some("sonnet".into()),
                content: None,
            },
            must_not_add: vec!["role".into(), "reasoning_scaffold".into(), "filler".into()],
            missing: vec![],
        };
        assert!(
            violations(&case, &case.text).is_empty(),
            "the user's own 'You are'"
        );
        let bad = format!("You are a poet.\n\n{}\n\nLet's think step by step.", case.text);
        assert_eq!(violations(&case, &bad), vec![Rule::Role, Rule::ReasoningScaffold]);
        assert!(verbatim(&case.text, &bad));
    }
}
