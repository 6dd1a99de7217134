//! Writing the enhanced prompt. Each chosen technique's template is split at
//! `{{prompt}}` into the text that goes before the user's prompt and the
//! text that goes after it; the variables are filled from the intent's
//! content; the pieces are ordered by the catalogue's stages (role and
//! examples before the prompt; constraints, reasoning, motivation and
//! format after it) and joined around the user's text, which is inserted
//! unchanged (line breaks and code blocks intact) and is never scanned for
//! placeholders. A template whose variables cannot all be filled (an edited
//! template naming an unknown variable) is replaced by the built-in one, so
//! the result never contains `{{...}}` from a template.

use std::collections::HashMap;

use crate::catalogue::info;
use crate::complexity::CONSTRAINT_MARKERS;
use crate::content::{content, detect_format, detect_language};
use crate::text::{Scan, estimate_tokens};
use crate::vocabulary::{Complexity, Intent, Technique};

/// Templates by technique (from `prompts.templates`); techniques without
/// one use the catalogue's built-in template.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Templates {
    by_technique: HashMap<Technique, String>,
}

impl Templates {
    /// Only the built-in templates.
    pub fn builtin() -> Self {
        Templates::default()
    }

    /// Uses `text` for `technique` (the last one set wins).
    pub fn set(&mut self, technique: Technique, text: impl Into<String>) {
        self.by_technique.insert(technique, text.into());
    }

    /// The template text used for `technique`.
    pub fn text(&self, technique: Technique) -> &str {
        self.by_technique
            .get(&technique)
            .map_or(info(technique).template, String::as_str)
    }

    /// How many techniques have their own template.
    pub fn len(&self) -> usize {
        self.by_technique.len()
    }

    /// Whether every technique uses its built-in template.
    pub fn is_empty(&self) -> bool {
        self.by_technique.is_empty()
    }
}

/// An enhanced prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The prompt.
    pub text: String,
    /// Its estimated token count.
    pub tokens: usize,
    /// Techniques whose stored template could not be filled and were
    /// rendered from the built-in one instead.
    pub fallbacks: Vec<Technique>,
}

/// The variables a template may use, for one request.
struct Variables {
    values: Vec<(&'static str, String)>,
}

impl Variables {
    fn new(text: &str, intent: Intent, complexity: Complexity) -> Self {
        let c = content(intent);
        let language = detect_language(text);
        let domain = match language {
            Some(lang)
                if matches!(
                    intent,
                    Intent::CodeGeneration | Intent::ProblemSolving | Intent::DataAnalysis
                ) =>
            {
                format!("{lang} and {}", c.domain)
            }
            _ => c.domain.to_string(),
        };
        let format = detect_format(text).unwrap_or(c.format).to_string();
        let examples = c
            .examples
            .iter()
            .enumerate()
            .map(|(i, (input, output))| format!("Example {}\nInput: {input}\nOutput: {output}", i + 1))
            .collect::<Vec<_>>()
            .join("\n\n");
        let mut constraints: Vec<String> = stated_constraints(text);
        constraints.extend(c.constraints.iter().map(|s| s.to_string()));
        let constraints = constraints
            .iter()
            .map(|s| format!("- {s}"))
            .collect::<Vec<_>>()
            .join("\n");
        Variables {
            values: vec![
                ("role", c.role.to_string()),
                ("domain", domain),
                ("format", format),
                ("sections", c.sections.to_string()),
                ("examples", examples),
                ("constraints", constraints),
                ("intent", intent.as_str().replace('_', " ")),
                ("complexity", complexity.as_str().to_string()),
            ],
        }
    }

    /// Fills every `{{name}}` in `template`; `None` if one is unknown.
    fn fill(&self, template: &str) -> Option<String> {
        let mut out = String::with_capacity(template.len() + 256);
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find("}}")?;
            let name = after[..end].trim();
            let value = self.values.iter().find(|(k, _)| *k == name)?;
            out.push_str(&value.1);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Some(out)
    }
}

/// Sentences of the user's text that state a limit, at most three.
fn stated_constraints(text: &str) -> Vec<String> {
    text.split(['.', '!', '?', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.chars().count() <= 200)
        .filter(|s| Scan::new(s).has_any(CONSTRAINT_MARKERS))
        .take(3)
        .map(|s| format!("{s}."))
        .collect()
}

/// A template split around `{{prompt}}`, filled.
fn render(template: &str, vars: &Variables) -> Option<(String, String)> {
    let (before, after) = template.split_once("{{prompt}}").unwrap_or(("", template));
    Some((
        vars.fill(before)?.trim().to_string(),
        vars.fill(after)?.trim().to_string(),
    ))
}

/// Writes the enhanced prompt for `text` with `techniques` (any order; they
/// are applied in stage order). Deterministic for the same inputs.
pub fn generate(
    text: &str,
    intent: Intent,
    complexity: Complexity,
    techniques: &[Technique],
    templates: &Templates,
) -> Generated {
    let vars = Variables::new(text, intent, complexity);
    let mut ordered: Vec<Technique> = techniques.to_vec();
    ordered.sort_by_key(|t| (info(*t).stage, *t));
    ordered.dedup();
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut fallbacks = Vec::new();
    for t in ordered {
        let rendered = render(templates.text(t), &vars).or_else(|| {
            fallbacks.push(t);
            render(info(t).template, &vars)
        });
        // Built-in templates only use known variables (unit-tested), so
        // the fallback always renders; an empty pair would just add nothing.
        let (b, a) = rendered.unwrap_or_default();
        if !b.is_empty() {
            before.push(b);
        }
        if !a.is_empty() {
            after.push(a);
        }
    }
    let task = text.trim_matches(|c: char| c == '\n' || c == '\r').trim_end();
    let mut out = String::with_capacity(task.len() + 1024);
    for part in before {
        out.push_str(&part);
        out.push_str("\n\n");
    }
    out.push_str(task);
    for part in after {
        out.push_str("\n\n");
        out.push_str(&part);
    }
    let tokens = estimate_tokens(&out);
    Generated {
        text: out,
        tokens,
        fallbacks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "Fix this function so it handles empty lists:\n\n```python\ndef first(xs):\n    return xs[0]\n```\nIt must not raise.";

    #[test]
    fn every_technique_renders_for_every_intent_without_placeholders() {
        for intent in Intent::ALL {
            for t in Technique::ALL {
                let g = generate(
                    "Explain {{this}} please",
                    *intent,
                    Complexity::Moderate,
                    &[*t],
                    &Templates::builtin(),
                );
                assert!(g.fallbacks.is_empty(), "{t}");
                let without_user_text = g.text.replace("Explain {{this}} please", "");
                assert!(
                    !without_user_text.contains("{{") && !without_user_text.contains("}}"),
                    "{t}/{intent}: {}",
                    g.text
                );
                assert!(
                    g.text.contains("Explain {{this}} please"),
                    "the user's text is kept verbatim"
                );
                assert!(g.tokens > 0);
            }
        }
    }

    #[test]
    fn the_users_line_breaks_and_code_blocks_are_kept() {
        let all: Vec<Technique> = Technique::ALL.to_vec();
        let g = generate(
            CODE,
            Intent::CodeGeneration,
            Complexity::Moderate,
            &all,
            &Templates::builtin(),
        );
        assert!(g.text.contains(CODE), "{}", g.text);
    }

    #[test]
    fn techniques_are_applied_in_stage_order_around_the_prompt() {
        let picks = [
            Technique::StructuredOutput,
            Technique::ChainOfThought,
            Technique::RolePlay,
            Technique::Constraints,
        ];
        let g = generate(
            CODE,
            Intent::CodeGeneration,
            Complexity::Moderate,
            &picks,
            &Templates::builtin(),
        );
        let at = |needle: &str| {
            g.text
                .find(needle)
                .unwrap_or_else(|| panic!("{needle} missing in {}", g.text))
        };
        assert!(at("You are a senior software engineer") < at("Fix this function"));
        assert!(at("Fix this function") < at("Constraints:"));
        assert!(at("Constraints:") < at("Let's think step by step"));
        assert!(at("Let's think step by step") < at("Format the response as"));
        assert!(
            g.text.contains("Python and software engineering"),
            "the language is detected"
        );
        assert!(
            g.text.contains("- It must not raise."),
            "the user's own constraint is restated"
        );
    }

    #[test]
    fn fill_ins_fit_the_intent_and_the_named_format() {
        let g = generate(
            "Summarise this report as a table",
            Intent::Summarization,
            Complexity::Simple,
            &[Technique::StructuredOutput, Technique::FewShot],
            &Templates::builtin(),
        );
        assert!(
            g.text.contains("Format the response as a Markdown table"),
            "{}",
            g.text
        );
        assert!(
            g.text.contains("Example 1\nInput: Summarise"),
            "summarisation examples: {}",
            g.text
        );
        let g = generate(
            "Translate hello into German",
            Intent::Translation,
            Complexity::Simple,
            &[Technique::FewShot],
            &Templates::builtin(),
        );
        assert!(g.text.contains("Buenos días"), "translation examples: {}", g.text);
    }

    #[test]
    fn a_stored_template_with_an_unknown_variable_falls_back_to_the_builtin() {
        let mut templates = Templates::builtin();
        templates.set(
            Technique::ChainOfThought,
            "{{prompt}}\n\nThink about {{mystery}}.",
        );
        templates.set(Technique::ZeroShot, "{{prompt}}\n\nBe brief, this is {{intent}}.");
        let g = generate(
            "Why?",
            Intent::Reasoning,
            Complexity::Simple,
            &[Technique::ChainOfThought, Technique::ZeroShot],
            &templates,
        );
        assert_eq!(g.fallbacks, [Technique::ChainOfThought]);
        assert!(
            g.text.contains("Let's think step by step") && g.text.contains("Be brief, this is reasoning."),
            "{}",
            g.text
        );
        assert!(!g.text.contains("{{"));
    }

    #[test]
    fn generation_is_deterministic_and_without_techniques_returns_the_text() {
        let picks = [Technique::FewShot, Technique::Constraints];
        let a = generate(
            CODE,
            Intent::CodeGeneration,
            Complexity::Complex,
            &picks,
            &Templates::builtin(),
        );
        let b = generate(
            CODE,
            Intent::CodeGeneration,
            Complexity::Complex,
            &picks,
            &Templates::builtin(),
        );
        assert_eq!(a, b);
        assert_eq!(
            generate(
                "hi\n",
                Intent::Conversation,
                Complexity::Simple,
                &[],
                &Templates::builtin()
            )
            .text,
            "hi"
        );
    }
}
