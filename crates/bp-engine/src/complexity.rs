//! Complexity from measurable features of the text. Each feature adds
//! points; the total decides the level:
//!
//! | feature | points |
//! |---|---|
//! | words: > 25 / > 60 / > 150 | 1 / 2 / 3 |
//! | asks beyond the first (question marks, imperative verbs opening a sentence or bullet) | 1 each, up to 3 |
//! | constraints ("must", "without", "at least", "no more than", "under N", ...) | 1 each, up to 3 |
//! | multi-step markers ("then", "after that", "step by step", numbered lists) | 1 each, up to 2 |
//! | domain terms (distributed, regression, compliance, ...) | 1 per 2 terms, up to 2 |
//! | code present (fenced block, or lines with code punctuation) | 2 |
//! | data present (a table, CSV-like lines, or 5+ numbers) | 1 |
//!
//! 0–1 points is simple, 2–4 moderate, 5 or more complex.

use crate::text::{Scan, words};
use crate::vocabulary::Complexity;

/// The measured features behind a complexity level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ComplexityFeatures {
    /// Words in the text.
    pub words: usize,
    /// Distinct requests (at least 1 for non-empty text).
    pub asks: usize,
    /// Explicit constraints.
    pub constraints: usize,
    /// Multi-step markers.
    pub steps: usize,
    /// Technical or domain terms.
    pub domain_terms: usize,
    /// Code in the text.
    pub has_code: bool,
    /// Tabular or numeric data in the text.
    pub has_data: bool,
}

/// A complexity decision with its evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComplexityAnalysis {
    /// The level.
    pub level: Complexity,
    /// The points it was decided from.
    pub score: u32,
    /// The features measured.
    pub features: ComplexityFeatures,
}

pub(crate) const CONSTRAINT_MARKERS: &[&str] = &[
    "must",
    "should",
    "without",
    "at least",
    "at most",
    "no more than",
    "less than",
    "fewer than",
    "under",
    "within",
    "only",
    "don't",
    "do not",
    "never",
    "avoid",
    "limit",
    "maximum",
    "minimum",
    "exactly",
    "budget",
    "deadline",
    "no longer than",
    "keep it",
];

const STEP_MARKERS: &[&str] = &[
    "then",
    "after that",
    "afterwards",
    "next",
    "finally",
    "step by step",
    "first",
    "second",
    "followed by",
    "and also",
    "as well as",
];

const ASK_VERBS: &[&str] = &[
    "write",
    "create",
    "make",
    "explain",
    "analyze",
    "analyse",
    "compare",
    "list",
    "give",
    "build",
    "design",
    "implement",
    "add",
    "include",
    "summarize",
    "summarise",
    "translate",
    "plan",
    "find",
    "calculate",
    "describe",
    "show",
    "tell",
    "suggest",
    "provide",
    "generate",
    "draft",
    "evaluate",
    "identify",
    "fix",
    "optimize",
];

/// Words that may precede the verb of an ask ("First, compare ...").
const OPENER_FILLERS: &[&str] = &[
    "first",
    "firstly",
    "second",
    "secondly",
    "third",
    "then",
    "next",
    "finally",
    "lastly",
    "also",
    "and",
    "please",
    "now",
    "after",
    "that",
    "afterwards",
    "can",
    "could",
    "would",
    "you",
];

const DOMAIN_TERMS: &[&str] = &[
    "algorithm",
    "algorithms",
    "architecture",
    "distributed",
    "concurrency",
    "concurrent",
    "latency",
    "throughput",
    "scalable",
    "scalability",
    "database",
    "schema",
    "kubernetes",
    "microservices",
    "api",
    "authentication",
    "encryption",
    "regression",
    "statistical",
    "significance",
    "variance",
    "correlation",
    "hypothesis",
    "forecast",
    "cohort",
    "compliance",
    "regulatory",
    "gdpr",
    "liability",
    "contract",
    "jurisdiction",
    "diagnosis",
    "clinical",
    "pharmacology",
    "thermodynamics",
    "quantum",
    "theorem",
    "proof",
    "derivative",
    "integral",
    "eigenvalue",
    "optimization",
    "asynchronous",
    "recursion",
    "complexity",
    "protocol",
    "infrastructure",
    "portfolio",
    "valuation",
    "amortization",
    "macroeconomic",
    "epistemology",
    "ontology",
    "methodology",
    "stakeholders",
];

fn count_phrases(scan: &Scan, phrases: &[&str]) -> usize {
    phrases.iter().map(|p| scan.count(p)).sum()
}

fn has_code(text: &str) -> bool {
    if text.contains("```") {
        return true;
    }
    let code_lines = text
        .lines()
        .filter(|l| {
            let t = l.trim();
            t.ends_with(';')
                || t.ends_with('{')
                || t == "}"
                || t.starts_with("def ")
                || t.starts_with("fn ")
                || t.contains("=>")
                || t.contains("();")
                || t.starts_with("import ")
                || t.starts_with("SELECT ")
        })
        .count();
    code_lines >= 2
}

fn has_data(text: &str, word_list: &[String]) -> bool {
    let table = text
        .lines()
        .filter(|l| l.matches('|').count() >= 2 || l.matches(',').count() >= 3)
        .count()
        >= 3;
    let numbers = word_list
        .iter()
        .filter(|w| w.chars().all(|c| c.is_ascii_digit()))
        .count();
    table || numbers >= 5
}

/// Measures `text`.
pub fn measure(text: &str) -> ComplexityFeatures {
    let scan = Scan::new(text);
    let word_list = scan.words();
    let lower = text.to_lowercase();
    let sentence_openers = lower
        .split(['.', '?', '!', '\n', ';'])
        .filter_map(|s| {
            words(s)
                .into_iter()
                .find(|w| !OPENER_FILLERS.contains(&w.as_str()))
        })
        .filter(|w| ASK_VERBS.contains(&w.as_str()))
        .count();
    let questions = text.matches('?').count();
    let numbered = text
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            t.starts_with("- ")
                || t.starts_with("* ")
                || t.split_once('.').is_some_and(|(n, _)| {
                    !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit())
                })
        })
        .count();
    let asks = if word_list.is_empty() {
        0
    } else {
        (sentence_openers + questions + numbered).max(1)
    };
    ComplexityFeatures {
        words: word_list.len(),
        asks,
        constraints: count_phrases(&scan, CONSTRAINT_MARKERS),
        steps: count_phrases(&scan, STEP_MARKERS) + usize::from(numbered >= 2),
        domain_terms: word_list
            .iter()
            .filter(|w| DOMAIN_TERMS.contains(&w.as_str()))
            .count(),
        has_code: has_code(text),
        has_data: has_data(text, word_list),
    }
}

/// Points for a set of features (see the module table).
pub fn score(f: &ComplexityFeatures) -> u32 {
    let length = match f.words {
        0..=25 => 0,
        26..=60 => 1,
        61..=150 => 2,
        _ => 3,
    };
    let capped = |n: usize, cap: usize| n.min(cap) as u32;
    length
        + capped(f.asks.saturating_sub(1), 3)
        + capped(f.constraints, 3)
        + capped(f.steps, 2)
        + capped(f.domain_terms / 2, 2)
        + if f.has_code { 2 } else { 0 }
        + u32::from(f.has_data)
}

/// The complexity of `text`.
pub fn analyze(text: &str) -> ComplexityAnalysis {
    let features = measure(text);
    let score = score(&features);
    let level = match score {
        0..=1 => Complexity::Simple,
        2..=4 => Complexity::Moderate,
        _ => Complexity::Complex,
    };
    ComplexityAnalysis {
        level,
        score,
        features,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_single_ask_is_simple() {
        assert_eq!(
            analyze("What is the capital of France?").level,
            Complexity::Simple
        );
        assert_eq!(analyze("hi").level, Complexity::Simple);
        assert_eq!(analyze("").features.asks, 0);
    }

    #[test]
    fn several_asks_with_a_constraint_are_moderate() {
        let a = analyze(
            "Write a Python function that merges two sorted lists. It must run in linear time. Add unit tests.",
        );
        assert_eq!(a.level, Complexity::Moderate, "{a:?}");
        assert_eq!(a.features.asks, 2);
        assert!(a.features.constraints >= 1);
    }

    #[test]
    fn multi_step_constrained_domain_heavy_work_is_complex() {
        let text = "Design a distributed rate limiter for our API gateway. First, compare token bucket and \
            sliding window algorithms for latency and throughput. Then write the Redis Lua script. It must \
            handle 50k requests per second, must not use more than 1 round trip, and should degrade safely \
            when Redis is down. Finally, list the metrics we should alert on.";
        let a = analyze(text);
        assert_eq!(a.level, Complexity::Complex, "{a:?}");
        assert!(
            a.features.steps >= 2 && a.features.domain_terms >= 3 && a.features.asks >= 3,
            "{a:?}"
        );
    }

    #[test]
    fn code_and_data_are_detected() {
        let code = "Why does this fail?\n```rust\nfn main() {\n    let x = vec![1];\n}\n```";
        assert!(measure(code).has_code);
        assert!(!measure("Write a poem about the sea; make it sad.").has_code);
        let data = "region,q1,q2,q3\nnorth,10,12,15\nsouth,8,9,7\neast,11,11,13";
        assert!(measure(data).has_data);
        assert!(!measure("I have 2 cats").has_data);
    }

    #[test]
    fn longer_texts_score_more_than_shorter_ones_with_the_same_content() {
        let short = score(&ComplexityFeatures {
            words: 20,
            asks: 1,
            ..Default::default()
        });
        let long = score(&ComplexityFeatures {
            words: 200,
            asks: 1,
            ..Default::default()
        });
        assert_eq!((short, long), (0, 3));
    }
}
