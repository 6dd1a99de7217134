//! Labelled prompts as JSON lines (`{"text": "...", "intent": "..."}`): the
//! training set shipped with the binary (used directly when
//! `prompts.intent_patterns` is empty, and loaded into it by `seed`) and
//! the parser for evaluation files.

use serde::Deserialize;

use crate::classifier::Example;

/// The shipped training set's first part: short, tidy hand-written prompts,
/// at least 60 per intent.
pub const BUNDLED_PATTERNS: &str = include_str!("../data/intent_patterns.jsonl");

/// The shipped training set's second part: prompts written the way people
/// type them (long, messy, pasted material, personas, non-native English),
/// at least 140 per intent, by a writer who never saw the evaluation sets.
pub const NATURAL_PATTERNS: &str = include_str!("../data/intent_patterns_natural.jsonl");

/// Prompts written unlike the training patterns, never trained on: the
/// accuracy that matters (`bench engine` reports it).
pub const NATURAL_HELD_OUT: &str = include_str!("../data/natural_heldout.jsonl");

/// A held-out set of other natural prompts, never trained on: the unit tests'
/// quality check and `bench engine`'s default evaluation set.
pub const HELD_OUT_PATTERNS: &str = include_str!("../data/heldout.jsonl");

/// A line of a JSON-lines file that is not a labelled example.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct DataError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

#[derive(Deserialize)]
struct Line {
    text: String,
    intent: String,
}

/// Parses JSON lines of `{"text","intent"}`; blank lines are skipped; the
/// first bad line fails the whole file (nothing is half-read).
pub fn parse_examples(jsonl: &str) -> Result<Vec<Example>, DataError> {
    let mut out = Vec::new();
    for (n, raw) in jsonl.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| DataError { line: n + 1, reason };
        let line: Line = serde_json::from_str(raw).map_err(|e| bad(e.to_string()))?;
        let intent = line
            .intent
            .parse()
            .map_err(|e: crate::UnknownId| bad(e.to_string()))?;
        if line.text.trim().is_empty() {
            return Err(bad("text is blank".into()));
        }
        out.push(Example {
            text: line.text,
            intent,
        });
    }
    Ok(out)
}

/// The shipped training set, parsed.
pub fn bundled_examples() -> Vec<Example> {
    // The file is part of the crate and checked by a unit test below, so a
    // parse failure here is a build defect, not bad input.
    let mut all = parse_examples(BUNDLED_PATTERNS).unwrap_or_default();
    all.extend(parse_examples(NATURAL_PATTERNS).unwrap_or_default());
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Intent;

    #[test]
    fn the_bundled_set_parses_and_has_sixty_distinct_examples_per_intent() {
        let examples = parse_examples(BUNDLED_PATTERNS).expect("bundled data parses");
        for intent in Intent::ALL {
            let mut texts: Vec<String> = examples
                .iter()
                .filter(|e| e.intent == *intent)
                .map(|e| e.text.to_lowercase())
                .collect();
            texts.sort();
            texts.dedup();
            assert!(texts.len() >= 60, "{intent}: {}", texts.len());
        }
    }

    #[test]
    fn the_natural_set_parses_and_no_evaluation_prompt_is_trained_on() {
        let natural = parse_examples(NATURAL_PATTERNS).expect("natural data parses");
        assert!(natural.len() >= 1400, "{}", natural.len());
        let trained: std::collections::HashSet<String> = bundled_examples()
            .iter()
            .map(|e| e.text.trim().to_lowercase())
            .collect();
        let review = include_str!("../data/review_prompts.jsonl");
        for (name, set) in [
            ("natural held-out", NATURAL_HELD_OUT),
            ("held-out", HELD_OUT_PATTERNS),
            ("review", review),
        ] {
            for e in parse_examples(set).expect("evaluation data parses") {
                assert!(
                    !trained.contains(&e.text.trim().to_lowercase()),
                    "{name} prompt trained on: {}",
                    e.text
                );
            }
        }
    }

    #[test]
    fn a_bad_line_is_reported_with_its_number() {
        let err = parse_examples(
            "{\"text\":\"hi\",\"intent\":\"conversation\"}\n\n{\"text\":\"x\",\"intent\":\"chat\"}",
        )
        .unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.reason.contains("unknown intent `chat`"), "{}", err.reason);
        assert!(parse_examples("{\"text\":\"  \",\"intent\":\"conversation\"}").is_err());
        assert!(parse_examples("not json").is_err());
    }
}
