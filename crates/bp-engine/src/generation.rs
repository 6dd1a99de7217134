//! Writing the enhanced prompt, with restraint. Each chosen technique's
//! template is split at `{{prompt}}` into the text that goes before the
//! user's prompt and the text that goes after it; the variables are filled
//! from the prompt's own slots first (its format, its constraints, the
//! subject's expert) and from the intent's defaults only when the intent is
//! certain; the pieces are ordered by the catalogue's stages and joined
//! around the user's text, which is inserted unchanged (line breaks and
//! code blocks intact) and never scanned for placeholders. Supplied content
//! is set apart in `<text>` tags, verbatim.
//!
//! Around the techniques the composer adds only what the prompt justifies:
//! the questions for missing essentials, a note on reading an uncertain
//! request, and a restatement of the user's own limits on a long prompt
//! where they could be lost. What it adds is held to a budget in proportion
//! to the prompt and the level; lower-priority parts are dropped first.
//!
//! A template whose variables cannot all be filled (an edited template
//! naming an unknown variable) is replaced by the built-in one, so the
//! result never contains `{{...}}` from a template.

use std::collections::HashMap;

use crate::catalogue::{Stage, info};
use crate::content::{content, detect_language};
use crate::input::Level;
use crate::slots::{Format, Slots, TaskKind};
use crate::text::estimate_tokens;
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

/// What the composer writes from, besides the techniques.
#[derive(Debug, Clone, Copy)]
pub struct Compose<'a> {
    /// The user's prompt, as typed.
    pub text: &'a str,
    /// The most probable intent.
    pub intent: Intent,
    /// Whether that intent is certain enough to add intent-specific guidance.
    pub confident: bool,
    /// The complexity aimed at.
    pub complexity: Complexity,
    /// What the prompt already specifies.
    pub slots: &'a Slots,
    /// The expert the subject calls for, if any.
    pub role: Option<&'static str>,
    /// How much may be added.
    pub level: Level,
}

/// The variables a template may use, for one request.
struct Variables {
    values: Vec<(&'static str, String)>,
}

/// Standing constraints of an intent that hold for any prompt of it (code
/// constraints only for code).
fn intent_constraints(intent: Intent) -> &'static [&'static str] {
    content(intent).constraints
}

impl Variables {
    /// The values for `c`; `uses(name)` says whether a template of the
    /// request names the variable (the worked examples, built only for the
    /// stored templates that still use them, are skipped otherwise).
    fn new(c: &Compose<'_>, genre: bool, uses: impl Fn(&str) -> bool) -> Self {
        let defaults = content(c.intent);
        let language = detect_language(c.text);
        let domain = match language {
            Some(lang)
                if matches!(
                    c.intent,
                    Intent::CodeGeneration | Intent::ProblemSolving | Intent::DataAnalysis
                ) =>
            {
                format!("{lang} and {}", defaults.domain)
            }
            _ => defaults.domain.to_string(),
        };
        let format = c
            .slots
            .format
            .as_ref()
            .map_or_else(|| defaults.format.to_string(), Format::describe);
        let sections = if c.slots.kind == TaskKind::MultiPart {
            "a short part for each of my questions, so that none is missed".to_string()
        } else {
            defaults.sections.to_string()
        };
        let examples = if uses("examples") {
            defaults
                .examples
                .iter()
                .enumerate()
                .map(|(i, (input, output))| format!("Example {}\nInput: {input}\nOutput: {output}", i + 1))
                .collect::<Vec<_>>()
                .join("\n\n")
        } else {
            String::new()
        };
        // The user's own requirements and length are not restated: in ten
        // blind rounds a restatement never won a pair, and a length read
        // wrongly ("a 3-sentence verdict", "no more than 7" as "exactly 7",
        // "120-150 words" as "about 150") became a contradiction. Their
        // own words stay, verbatim.
        let mut constraints: Vec<String> = Vec::new();
        // The intent's standing constraints only when the intent is certain
        // and, for code, the prompt shows code.
        // Not for example code in a question of design with several asks
        // ("what are my options? write example code"): production rules on
        // an illustration are noise.
        let code_shown = c.intent != Intent::CodeGeneration
            || (shows_code(c.text) && writes_code(c.text) && !illustrative_code(c));
        let source_given =
            !matches!(c.intent, Intent::Summarization | Intent::Translation) || c.slots.content.is_some();
        let reasoning_shown = !matches!(c.intent, Intent::Reasoning | Intent::DataAnalysis)
            || crate::gating::reasoning_evidence(c.text);
        let fits = standing_constraints_fit(c);
        let transform = matches!(
            c.slots.kind,
            TaskKind::Rewrite | TaskKind::ShortCreative | TaskKind::FactLookup
        );
        // A genre's own line (crate::guidance) is more specific than the
        // intent's standing constraints, and replaces them.
        if c.confident
            && !genre
            && c.level != Level::Light
            && code_shown
            && source_given
            && reasoning_shown
            && fits
            && !transform
            && !c.slots.terse
            // A set length is the user's budget: "flag uncertainty" on a
            // warm five-sentence handout spends it.
            && c.slots.length.is_none()
            && !c.slots.brief
            // Nor over a shape the user set (numbered steps, a table).
            && !matches!(
                c.slots.format,
                Some(Format::Numbered | Format::Bullets | Format::Table | Format::Json(_) | Format::Csv(_))
            )
        {
            constraints.extend(intent_constraints(c.intent).iter().map(|s| s.to_string()));
        }
        let constraints = constraints
            .iter()
            .map(|s| format!("- {s}"))
            .collect::<Vec<_>>()
            .join("\n");
        let role = c.role.unwrap_or(defaults.role).to_string();
        let stakes = c.slots.stakes.as_ref().map_or_else(String::new, |s| {
            format!("This is for {} as you describe it", article(s))
        });
        Variables {
            values: vec![
                ("role", role),
                ("domain", domain),
                ("format", format),
                ("sections", sections),
                ("examples", examples),
                ("constraints", constraints),
                ("stakes", stakes),
                ("intent", c.intent.as_str().replace('_', " ")),
                ("complexity", c.complexity.as_str().to_string()),
            ],
        }
    }

    /// Whether `template` names a variable that is empty for this request
    /// (a requirements list with nothing to list): such a part says nothing
    /// and is left out.
    fn names_an_empty(&self, template: &str) -> bool {
        self.values
            .iter()
            .any(|(k, v)| v.is_empty() && template.contains(&format!("{{{{{k}}}}}")))
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

/// Whether `text` writes a sum: an operator between two numbers ("3 + 4",
/// "2*5", "x = 12") or a percentage ("15%"); not "(in-laws + nephews)".
fn arithmetic(text: &str) -> bool {
    let chars: Vec<char> = text.chars().filter(|c| *c != ' ').collect();
    chars.iter().enumerate().any(|(i, c)| {
        let before = i.checked_sub(1).and_then(|j| chars.get(j));
        let after = chars.get(i + 1);
        match c {
            '%' => before.is_some_and(char::is_ascii_digit),
            '+' | '-' | '*' | '/' | '=' | '^' | '×' | '÷' => {
                before.is_some_and(|b| b.is_ascii_digit() || b.is_ascii_alphabetic() && *c == '=')
                    && after.is_some_and(char::is_ascii_digit)
            }
            _ => false,
        }
    })
}

/// Whether the intent's standing constraints fit this prompt: fiction
/// advice only for fiction, troubleshooting advice only for something
/// broken, and none for a conversation (it follows the user's lead).
fn standing_constraints_fit(c: &Compose<'_>) -> bool {
    let lower = format!(" {} ", c.text.to_lowercase());
    let any = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    match c.intent {
        Intent::Conversation => false,
        // Translation rules for a request to translate, not for a question
        // about a document that mentions a "certified translation".
        // The user's own words, not the pasted text's ("photocopies of
        // translated documents" in a consulate's letter).
        Intent::Translation => crate::slots::Lower::new(&match c.slots.content.as_deref() {
            Some(content) => c.text.replacen(content, " ", 1),
            None => c.text.to_owned(),
        })
        .has_any(&[
            "translate",
            "translated",
            "translating",
            "translation of",
            "translation into",
            "in english",
            "into english",
            "to english",
            "traduce",
            "traducir",
            "traduire",
            "traduis",
            "tradurre",
            "traduci",
            "übersetze",
            "übersetzen",
            "vertaal",
            "çevir",
            "översätt",
        ]),
        // Craft advice for narrative; a poem or a card has its own voice,
        // and a short rhyming bedtime story is not literary fiction.
        Intent::CreativeWriting => {
            any(&[" story", " scene", " fable", " novel", " chapter", " fiction"])
                && !c.slots.brief
                // A story for a class or a child is pitched by its reader.
                && c.slots.audience.is_none()
                && !any(&[
                    " rhyme",
                    " rhyming",
                    " bedtime",
                    " my kid",
                    " my son",
                    " my daughter",
                    "yo ",
                    "year old",
                    " ages ",
                    " my class",
                    " the class",
                    " pupils",
                ])
        }
        // "Add no new facts" stops the judgement a question about the
        // source asks for ("is it bad? what must I do?").
        Intent::Summarization => {
            let lower = c.text.to_lowercase();
            !c.text.contains('?')
                && ![
                    "explain",
                    "what does",
                    "mean",
                    "worried",
                    "scared",
                    // A judgement asked over the source ("tell me if it
                    // sounds right for my situation") needs more than it.
                    "tell me if",
                    "whether",
                    "deciding",
                    "right for",
                    "good for",
                    "worth it",
                    "should i",
                    "recommend",
                    // "What this letter wants me to do and by when" (with
                    // its date given) is worked out from the source, not
                    // copied out of it.
                    "wants me to",
                    "want me to",
                    "by when",
                    "do i need to",
                    "do i have to",
                    "deadline",
                    "plain english",
                    "plain language",
                ]
                .iter()
                .any(|w| lower.contains(w))
        }
        // "Lead with the answer in one or two sentences" is for a question,
        // not for a plan or a list the classifier heard as one ("could you
        // put together a 7-day meal plan with a shopping list").
        Intent::QuestionAnswering => !any(&[
            " put together a",
            " make me a",
            " meal plan",
            " shopping list",
            " grocery list",
            " itinerary",
            " checklist",
        ]),
        Intent::TaskPlanning => any(&[
            " project",
            " launch",
            " roadmap",
            " migration",
            " release",
            " rollout",
            " milestones",
        ]),
        // Something broken, not a people problem ("they keep swapping
        // shifts" wants options, not a diagnosis).
        // Whole words: "explain step by step, slowly" is no slow machine.
        Intent::ProblemSolving => crate::slots::Lower::new(c.text).has_any(&[
            "error",
            "errors",
            "crash",
            "crashes",
            "crashed",
            "crashing",
            "broken",
            "not working",
            "doesnt work",
            "wont start",
            "leak",
            "leaks",
            "leaking",
            "slow",
            "slower",
            "fails",
            "failed",
            "failing",
            "stopped working",
            "stuck",
        ]),
        // "State every assumption" is for a puzzle or a calculation, not
        // for pointing out where someone else's argument fails.
        // Nor for someone who cannot make sense of an idea ("0.999...
        // equals 1 still feels wrong"): they want it explained, not a
        // derivation's checks.
        // Nor for an evening to plan that the classifier heard as a
        // puzzle ("what should game night look like so nobody sits out?"):
        // the rules are for something to work out, a figure, a proof, a
        // puzzle or a deduction.
        Intent::Reasoning => {
            // The user's own words: "therefore" in a pasted essay to
            // tighten is no derivation to check.
            let lower = crate::slots::Lower::new(&match c.slots.content.as_deref() {
                Some(content) => c.text.replacen(content, " ", 1),
                None => c.text.to_owned(),
            });
            let worked_out = arithmetic(c.text)
                || lower.has_any(&[
                    "prove",
                    "proof",
                    "puzzle",
                    "riddle",
                    "logic",
                    "logically",
                    "probability",
                    "odds",
                    "how many",
                    "how much",
                    "calculate",
                    "solve",
                    "deduce",
                    "paradox",
                    "if",
                    "then",
                    "therefore",
                    "equation",
                    "math",
                    "maths",
                    "percent",
                    "average",
                    "true or false",
                    "which is true",
                    "who is",
                    "must be",
                    // Constraints to satisfy: a rota, an order, a schedule.
                    "must",
                    "cant",
                    "cannot",
                    "only if",
                    "at least",
                    "at most",
                    "exactly",
                    "either",
                    "neither",
                    "which orders",
                    "possible",
                    "impossible",
                    // Whether it can be done in the time.
                    "can i make",
                    "will i make",
                    "make it in time",
                    "enough time",
                    "is this realistic",
                    "worst case",
                    // A word problem.
                    "show your work",
                    "show your working",
                    "how far",
                    "how fast",
                    "when do they",
                    "km h",
                    "mph",
                ]);
            worked_out
                && !crate::domain::critiques_an_argument(&lower)
                && !lower.has_any(&[
                    "feels wrong",
                    "doesnt make sense",
                    "dont get it",
                    "dont understand",
                    "cant wrap my head",
                    "intuitively",
                    "intuition",
                ])
        }
        // Method and confidence for an analysis, not for a casual question
        // about a few numbers or an answer in a format of the user's own.
        // Nor "method and assumptions first" for a reader who says they
        // are not a statistician: they asked for the meaning.
        // Nor for wording a result already in hand ("can I say it causes
        // ...? how should I phrase this?"), nor for choosing a method before
        // there are results ("what statistical approach would you
        // recommend?").
        // The user's own words, not the pasted text's ("Junior Data
        // Analyst" in a job ad asks for no analysis).
        Intent::DataAnalysis => {
            let own = format!(
                " {} ",
                match c.slots.content.as_deref() {
                    Some(content) => c.text.replacen(content, " ", 1),
                    None => c.text.to_owned(),
                }
                .to_lowercase()
            );
            let any = |words: &[&str]| words.iter().any(|w| own.contains(w));
            c.slots.format.is_none()
                && c.slots.audience.is_none()
                && !c.slots.lay
                && !any(&[
                    " approach would you",
                    " approach should i",
                    " what statistical",
                    " which statistical",
                    " which test",
                    " what test should",
                    " which method",
                    " what method should",
                    " which model should",
                    " what analysis should",
                    " phrase",
                    " wording",
                    " word this",
                    " can i say",
                    " can i claim",
                    " write this up",
                    " present this",
                    " present it",
                    " present the",
                ])
                && any(&[
                    " analy",
                    " significan",
                    " regression",
                    " correlat",
                    " statistic",
                    " hypothesis",
                    " confidence interval",
                    " a/b",
                    " p-value",
                    " survey",
                    " forecast",
                ])
        }
        _ => true,
    }
}

/// Whether `text` is about code: a fence, a language, or code words.
fn shows_code(text: &str) -> bool {
    let lower = format!(" {} ", text.to_lowercase());
    text.contains("```")
        || [
            " function",
            " class ",
            " script",
            " code",
            " regex",
            " sql",
            " query",
            " api",
            " endpoint",
            " python",
            " javascript",
            " typescript",
            " java ",
            " rust ",
            " golang",
            " c++",
            " c#",
            " bash",
            " html",
            " css",
            " react",
            " docker",
            " compile",
            " bug",
            " stack trace",
            " exception",
        ]
        .iter()
        .any(|w| lower.contains(w))
}

/// Whether the code asked for is an illustration within a larger question
/// ("example code", several asks at once) or asked to be small ("a tiny
/// hook", "keep it simple"): production rules on it are noise.
fn illustrative_code(c: &Compose<'_>) -> bool {
    let lower = c.text.to_lowercase();
    c.slots.kind == TaskKind::MultiPart
        || [
            "example code",
            "sample code",
            "code example",
            "an example of",
            "a snippet",
            "tiny",
            "minimal",
            "keep it simple",
            "keep it short",
            "quick and dirty",
            "simple script",
            "small script",
            "quick script",
            "simple example",
            "short example",
        ]
        .iter()
        .any(|w| lower.contains(w))
}

/// Whether the prompt asks for code to be written or changed (not only
/// explained or reviewed).
fn writes_code(text: &str) -> bool {
    let lower = format!(" {} ", text.to_lowercase());
    let explain_only = [
        " explain what",
        " what does this",
        " what this code does",
        " explain this code",
        " review this",
    ]
    .iter()
    .any(|w| lower.contains(w));
    let writes = [
        " write",
        " fix",
        " implement",
        " create",
        " refactor",
        " convert",
        " generate",
        " build",
        " debug",
        " make ",
        " add ",
        " change",
        " update",
        " rewrite",
        " port ",
        " optimi",
        " function that",
        " script that",
        " script to",
        " code to",
        " code for",
        " query to",
        " query that",
        " regex for",
        " regex to",
    ]
    .iter()
    .any(|w| lower.contains(w));
    writes && !explain_only
}

/// "my boss" stays, "interview" becomes "an interview".
fn article(phrase: &str) -> String {
    if phrase.starts_with("my ") {
        return phrase.to_string();
    }
    let first = phrase.chars().next().unwrap_or('x');
    let a = if "aeiou".contains(first) { "an" } else { "a" };
    format!("{a} {phrase}")
}

/// A template split around `{{prompt}}`, filled.
fn render(template: &str, vars: &Variables) -> Option<(String, String)> {
    let (before, after) = template.split_once("{{prompt}}").unwrap_or(("", template));
    Some((
        vars.fill(before)?.trim().to_string(),
        vars.fill(after)?.trim().to_string(),
    ))
}

/// The user's text with supplied content set apart in `<text>` tags; every
/// piece of the user's text stays verbatim. A fenced code block is already
/// set apart and stays as it is.
fn request(c: &Compose<'_>) -> (String, bool) {
    let task = users_text(c);
    let Some(content) = c.slots.content.as_deref().filter(|b| !b.starts_with("```")) else {
        return (task.to_string(), false);
    };
    // In a conversation or a role-play the "material" is the user's own
    // turn: tagging it as text to work on pulls the model out of the
    // exchange.
    if c.slots.role_play || in_conversation(c.text) {
        return (task.to_string(), false);
    }
    let Some(at) = task.find(content) else {
        return (task.to_string(), false);
    };
    // Content on the same line as the instruction stays in its line (the
    // user's line, verbatim); a block of its own is set apart.
    let block = task[..at].trim_end_matches([' ', '\t']).ends_with('\n') || content.contains('\n');
    if !block {
        return (task.to_string(), false);
    }
    let before = task[..at].trim_end();
    // "Write me a Python script that:" and a numbered list: the list is
    // the spec, not material to work on.
    let lead = before.trim_end_matches(':').to_lowercase();
    if before.ends_with(':')
        && [
            "that",
            "which",
            "should",
            "must",
            "will",
            "to",
            "it needs",
            "it should",
        ]
        .iter()
        .any(|w| lead.ends_with(&format!(" {w}")))
    {
        return (task.to_string(), false);
    }
    let after = task[at + content.len()..].trim();
    // Set apart a block that ends the prompt, or one followed, after a
    // blank line, by a short note of the user's ("it returns an array, I
    // checked"), which then follows the block. A block with a long request
    // after it, or a line straight after it that may be one of its own
    // lines ("how much is this?" in a list to translate), is left as the
    // user wrote it.
    let rest = &task[at + content.len()..];
    let gap = &rest[..rest.len() - rest.trim_start().len()];
    let own_paragraph = gap.matches('\n').count() >= 2;
    // After a short block, a "note" longer than the block is the request
    // itself ("Tables: - orders(...) I want the top 5 countries by
    // revenue ..."): the block is part of the spec, not material.
    let (after_len, content_len) = (after.chars().count(), content.chars().count());
    let spec = content_len < 200
        && content.lines().count() <= 3
        && after_len > content_len
        // Figures are data to analyse, however few.
        && content.chars().filter(char::is_ascii_digit).count() < 3
        && !c.slots.content_is_code();
    if !after.is_empty() && (after_len > 600 || spec || !own_paragraph) {
        return (task.to_string(), false);
    }
    // "LUMA 800:" just before the block, and "Nordbeam Pro:" inside it:
    // the first label is the material's own, not the request's.
    let label_line = |l: &str| {
        let l = l.trim();
        l.ends_with(':') && !l.is_empty() && l.split_whitespace().count() <= 4
    };
    let (before, label) = match before.rsplit_once('\n') {
        Some((rest, last)) if label_line(last) && content.lines().any(label_line) => {
            (rest.trim_end(), last.trim())
        }
        _ => (before, ""),
    };
    let mut out = String::with_capacity(task.len() + 32);
    out.push_str(before);
    if !before.is_empty() {
        out.push_str("\n\n");
    }
    out.push_str("<text>\n");
    if !label.is_empty() {
        out.push_str(label);
        out.push('\n');
    }
    out.push_str(content);
    out.push_str("\n</text>");
    if !after.is_empty() {
        out.push_str("\n\n");
        out.push_str(after);
    }
    (out, true)
}

/// The user's prompt without the blank lines around it.
fn users_text<'a>(c: &Compose<'a>) -> &'a str {
    c.text
        .trim_matches(|ch: char| ch == '\n' || ch == '\r')
        .trim_end()
}

/// Whether `text` opens a conversation the user leads ("I'll start:",
/// "facciamo una conversazione"); a role-play is [`Slots::role_play`].
fn in_conversation(text: &str) -> bool {
    crate::slots::Lower::new(text).has_any(&[
        "ill start",
        "ill go first",
        "i will start",
        "have a conversation",
        "a conversation in",
        "practise conversation",
        "practice conversation",
        "conversación",
        "conversazione",
        "lets chat",
        "lets talk",
    ])
}

/// Something the composer may add, with its priority (lower is kept first).
struct Part {
    text: String,
    before: bool,
    priority: u8,
}

/// The most characters the additions may take.
fn budget(c: &Compose<'_>) -> usize {
    let n = c.text.chars().count();
    match c.level {
        Level::Light => (n * 4 / 5).max(120),
        Level::Standard => (n * 3 / 2).max(320),
        Level::Thorough => (n * 3).max(420),
    }
}

/// The composer's own lines (see the module docs).
fn composer_parts(c: &Compose<'_>, tagged: bool) -> Vec<Part> {
    let s = c.slots;
    let mut parts = Vec::new();
    if !s.missing.is_empty() {
        // A question can be answered in general; a piece of writing cannot
        // be finished without the details.
        let question = s.kind == TaskKind::FactLookup || c.intent == Intent::QuestionAnswering;
        // A story's subject can be chosen sensibly (the person can ask for
        // changes); a letter's job or a speech's stories cannot.
        let choosable = s.missing.iter().all(|q| q.as_str() == "What should it be about?");
        let text = if choosable && !question {
            format!(
                "Some details are missing: {} If I have not said, make a sensible choice and tell me what you chose.",
                s.missing.join(" ")
            )
        } else if question {
            format!(
                "The answer may depend on details I have not given: {} Where it does, say how.",
                s.missing.join(" ")
            )
        } else {
            format!(
                "Some details are missing: {} Ask me for them before you start, or write it with clearly marked [placeholders] I can fill in.",
                s.missing.join(" ")
            )
        };
        parts.push(Part {
            text,
            before: false,
            priority: 0,
        });
    }
    if tagged && c.level != Level::Light {
        parts.push(Part {
            text: "The text between the <text> tags is the material to work on.".into(),
            before: false,
            priority: 3,
        });
    }
    parts
}

/// Writes the enhanced prompt for `c` with `techniques` (any order; they
/// are applied in stage order). Deterministic for the same inputs.
pub fn generate(c: &Compose<'_>, techniques: &[Technique], templates: &Templates) -> Generated {
    // Every line the composer writes is English: a request in another
    // language is left as the user wrote it.
    if c.slots.foreign {
        let text = users_text(c).to_owned();
        return Generated {
            tokens: estimate_tokens(&text),
            text,
            fallbacks: Vec::new(),
        };
    }
    let genre = crate::guidance::guidance(c.text, c.slots, c.intent, c.level);
    let vars = Variables::new(c, genre.is_some(), |name| {
        let needle = format!("{{{{{name}}}}}");
        techniques.iter().any(|t| templates.text(*t).contains(&needle))
    });
    let mut ordered: Vec<Technique> = techniques.to_vec();
    ordered.sort_by_key(|t| (info(*t).stage, *t));
    ordered.dedup();
    let mut parts: Vec<Part> = Vec::new();
    // The genre's line comes first after the request: it says what the
    // answer should contain, the rest how.
    if let Some(line) = genre {
        parts.push(Part {
            text: line.to_string(),
            before: false,
            priority: 3,
        });
    }
    let mut fallbacks = Vec::new();
    for t in ordered {
        if vars.names_an_empty(templates.text(t)) {
            continue;
        }
        let rendered = render(templates.text(t), &vars).or_else(|| {
            fallbacks.push(t);
            render(info(t).template, &vars)
        });
        // Built-in templates only use known variables (unit-tested), so
        // the fallback always renders; an empty pair would just add nothing.
        let (b, a) = rendered.unwrap_or_default();
        let priority = match info(t).stage {
            Stage::Role => 2,
            Stage::Limits | Stage::Format => 3,
            Stage::Reasoning | Stage::Direct => 4,
            _ => 6,
        };
        if !b.is_empty() {
            parts.push(Part {
                text: b,
                before: true,
                priority,
            });
        }
        if !a.is_empty() {
            parts.push(Part {
                text: a,
                before: false,
                priority,
            });
        }
    }
    let (task, tagged) = request(c);
    parts.extend(composer_parts(c, tagged));
    // Keep within the budget, dropping the lowest priority first (the
    // questions for missing essentials are never dropped).
    let budget = budget(c);
    let mut kept: Vec<&Part> = parts.iter().collect();
    kept.sort_by_key(|p| p.priority);
    let mut used = 0;
    kept.retain(|p| {
        let n = p.text.chars().count() + 2;
        if p.priority == 0 || used + n <= budget {
            used += n;
            true
        } else {
            false
        }
    });
    let keep = |p: &Part| kept.iter().any(|k| std::ptr::eq(*k, p));
    let mut out = String::with_capacity(task.len() + used + 8);
    for p in parts.iter().filter(|p| p.before && keep(p)) {
        out.push_str(&p.text);
        out.push_str("\n\n");
    }
    out.push_str(&task);
    let after: Vec<&str> = parts
        .iter()
        .filter(|p| !p.before && keep(p))
        .map(|p| p.text.as_str())
        .collect();
    if !after.is_empty() {
        out.push_str("\n\n");
        out.push_str(&after.join("\n"));
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
    use crate::slots::read;

    const CODE: &str = "Fix this function so it handles empty lists:\n\n```python\ndef first(xs):\n    return xs[0]\n```\nIt must not raise.";

    fn compose<'a>(
        text: &'a str,
        slots: &'a Slots,
        intent: Intent,
        role: Option<&'static str>,
    ) -> Compose<'a> {
        Compose {
            text,
            intent,
            confident: true,
            complexity: Complexity::Moderate,
            slots,
            role,
            level: Level::Thorough,
        }
    }

    #[test]
    fn every_technique_renders_for_every_intent_without_placeholders() {
        let text = "Explain {{this}} please, I have an interview";
        let slots = read(text);
        for intent in Intent::ALL {
            for t in Technique::ALL {
                let g = generate(
                    &compose(text, &slots, *intent, Some("a tutor")),
                    &[*t],
                    &Templates::builtin(),
                );
                assert!(g.fallbacks.is_empty(), "{t}");
                let without_user_text = g.text.replace(text, "");
                assert!(
                    !without_user_text.contains("{{") && !without_user_text.contains("}}"),
                    "{t}/{intent}: {}",
                    g.text
                );
                assert!(g.text.contains(text), "the user's text is kept verbatim");
                assert!(g.tokens > 0);
            }
        }
    }

    #[test]
    fn a_numbered_spec_after_script_that_is_not_tagged_as_material() {
        let text = "Write me a Python script that:\n\n1. reads the EXIF date of each photo\n2. renames it to YYYY-MM-DD_HHMMSS.jpg\n3. moves files with no date into no_date\n\nPlease use Pillow and comment it.";
        let slots = read(text);
        let g = generate(
            &compose(text, &slots, Intent::CodeGeneration, None),
            &[],
            &Templates::builtin(),
        );
        assert!(!g.text.contains("<text>"), "{}", g.text);
    }

    #[test]
    fn the_first_label_of_labelled_material_goes_inside_the_tags() {
        let text = "Here are reviews I copied for three bike lights I'm deciding between.\n\nLUMA 800:\n- \"Insanely bright\"\n- \"Mount snapped after 3 weeks\"\n\nNordbeam Pro:\n- \"Cutoff beam, kind to others\"\n- \"Zero issues in the rain\"\n\nSummarize the pros and cons of each in a table.";
        let slots = read(text);
        let g = generate(
            &compose(text, &slots, Intent::Summarization, None),
            &[],
            &Templates::builtin(),
        );
        assert!(g.text.contains("<text>\nLUMA 800:"), "{}", g.text);
    }

    #[test]
    fn the_users_line_breaks_and_code_blocks_are_kept() {
        let slots = read(CODE);
        let g = generate(
            &compose(
                CODE,
                &slots,
                Intent::CodeGeneration,
                Some("a senior Python developer"),
            ),
            Technique::ALL,
            &Templates::builtin(),
        );
        assert!(g.text.contains(CODE), "{}", g.text);
    }

    #[test]
    fn a_role_plays_opening_line_and_a_short_spec_stay_as_written() {
        for (text, intent) in [
            (
                "Act as my landlord, Mr. Okafor. Be a little resistant. Stay in character. I'll start:\n\n\"Hi Mr. Okafor, thanks for meeting me.\"",
                Intent::Conversation,
            ),
            (
                "facciamo una conversazione in italiano? correggi i miei errori.\n\nCiao! Ieri sono andato al mercato",
                Intent::Translation,
            ),
            (
                "Write a PostgreSQL query. Tables:\n- orders(id, customer_id, created_at timestamptz, total_cents int)\n- customers(id, email, country)\n\nI want the top five countries by revenue for the first quarter, showing country, total revenue in dollars, number of distinct customers, and average order value in dollars. Please add a short comment above each CTE.",
                Intent::CodeGeneration,
            ),
        ] {
            let slots = read(text);
            let g = generate(&compose(text, &slots, intent, None), &[], &Templates::builtin());
            assert!(!g.text.contains("<text>"), "{}", g.text);
            assert!(g.text.contains(text.trim()));
        }
    }

    #[test]
    fn standing_rules_stay_off_a_critique_of_an_argument_and_a_story_for_children() {
        let fits = |text: &str, intent: Intent| {
            let slots = read(text);
            standing_constraints_fit(&compose(text, &slots, intent, None))
        };
        assert!(fits(
            "Four people share weekend on-call: Ana cannot do the first weekend and Ben must follow Chloe. Which orders work?",
            Intent::Reasoning
        ));
        assert!(!fits(
            "My uncle keeps forwarding this. I think the logic is broken: which steps don't follow?",
            Intent::Reasoning
        ));
        assert!(fits(
            "Write a story about a lighthouse keeper in a storm",
            Intent::CreativeWriting
        ));
        // "Therefore" in a pasted essay to tighten is no derivation.
        assert!(!fits(
            "My essay is due at midnight. Can you improve the flow of my conclusion without changing my argument?\n\n\"In conclusion, social media has had a big impact. Therefore, it has both positive and negative effects, and if we consider both we see the whole picture.\"",
            Intent::Reasoning
        ));
        // A letter to work out ("what it wants me to do and by when"), not
        // to copy out.
        assert!(!fits(
            "can u tell me in plain english what this letter from our HOA wants me to do and by when\n\n\"Owners are afforded a period of fourteen (14) days from the date of this notice to cure the violation or submit a written request for a hearing before the Board.\"\n\nthe letter is dated march 11",
            Intent::Summarization
        ));
        assert!(fits(
            "Summarize this article in 3 bullets:\n\nThe city council voted on Tuesday to extend the bike lane network by 12 km over the next two years, funded by a state grant.",
            Intent::Summarization
        ));
        assert!(!fits(
            "I teach Year 4 (ages 8-9). Write a short story about a lighthouse keeper for my class",
            Intent::CreativeWriting
        ));
        assert!(!fits(
            "my math teacher said 0.999 repeating is exactly equal to 1 and showed a proof with fractions but it still feels wrong. how can it be equal?",
            Intent::Reasoning
        ));
        // Troubleshooting rules for something broken, found by whole words.
        assert!(!fits(
            "I want to send a photo on WhatsApp but I only see a camera symbol and a paper clip. Please explain step by step, slowly. I am 78.",
            Intent::ProblemSolving
        ));
        assert!(fits(
            "my laptop got really slow after the update, what can I check?",
            Intent::ProblemSolving
        ));
        // Wording a result in hand is not an analysis to lay out method-first.
        assert!(!fits(
            "My survey (n=54) found r = 0.31 between sleep and GPA, p = 0.02. Can I say more sleep causes better grades? How should I phrase this in my results section?",
            Intent::DataAnalysis
        ));
        assert!(!fits(
            "Our PTA survey got 214 responses, 45% for Friday and 38% for Saturday. How should I present this at the meeting without cherry-picking?",
            Intent::DataAnalysis
        ));
        assert!(fits(
            "Here are my survey results (n=54). Run a correlation analysis between sleep and GPA.",
            Intent::DataAnalysis
        ));
        assert!(arithmetic("what is 3 + 4") && arithmetic("x=12") && arithmetic("up 15%"));
        assert!(!arithmetic(
            "10 people (my in-laws + teenage nephews), ages 14 to 70ish"
        ));
        // An evening to plan is no puzzle.
        assert!(!fits(
            "hosting game night saturday, 10 people, ages 14 to 70ish (my in-laws + teenage nephews + some friends). I own codenames, catan and a deck of cards. what should the evening look like so nobody sits out bored? about 4 hours total incl food",
            Intent::Reasoning
        ));
        assert!(fits(
            "A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. How much does the ball cost?",
            Intent::Reasoning
        ));
        // "Analyst" in a pasted job ad asks for no analysis.
        let ad = "Here's a job ad. Am I realistically a fit?\n\nJunior Data Analyst\nYou will build dashboards and present findings; survey design a plus.";
        assert!(!fits(ad, Intent::DataAnalysis));
        // Choosing a method has no results yet to lay out method-first.
        assert!(!fits(
            "My thesis has 24 temperature sensors and land cover data; some sensors have gaps. What statistical approach would you recommend for which land cover variables explain nighttime temperature, and how should I handle the missing data?",
            Intent::DataAnalysis
        ));
    }

    #[test]
    fn supplied_content_is_set_apart_verbatim() {
        let text = "Summarize this email for me:\nHi all,\nthe offsite moves to Friday. Bring laptops.\nAna";
        let slots = read(text);
        let g = generate(
            &compose(text, &slots, Intent::Summarization, None),
            &[],
            &Templates::builtin(),
        );
        assert!(
            g.text
                .contains("<text>\nHi all,\nthe offsite moves to Friday. Bring laptops.\nAna\n</text>"),
            "{}",
            g.text
        );
        assert!(g.text.starts_with("Summarize this email for me:"));
        assert!(crate::lint::verbatim(text, &g.text));
    }

    #[test]
    fn a_note_after_pasted_code_follows_the_block_instead_of_joining_it() {
        let text = "why does this give 'TypeError: data.map is not a function'?\n\n\
                    async function loadUsers() {\n  const res = await fetch('/api/users');\n  \
                    const data = res.json();\n  return data.map(u => u.name);\n}\n\n\
                    the api definitely returns an array, i checked in the network tab";
        let slots = read(text);
        let g = generate(
            &compose(text, &slots, Intent::CodeGeneration, None),
            &[],
            &Templates::builtin(),
        );
        assert!(
            g.text
                .contains("return data.map(u => u.name);\n}\n</text>\n\nthe api definitely returns"),
            "{}",
            g.text
        );
        assert!(crate::lint::verbatim(text, &g.text));
    }

    #[test]
    fn a_role_goes_first_and_a_short_prompt_s_own_constraint_is_not_repeated() {
        let slots = read(CODE);
        let g = generate(
            &compose(
                CODE,
                &slots,
                Intent::CodeGeneration,
                Some("a senior Python developer"),
            ),
            &[Technique::Constraints, Technique::RolePlay],
            &Templates::builtin(),
        );
        assert!(
            g.text.starts_with("You are a senior Python developer."),
            "{}",
            g.text
        );
        assert_eq!(g.text.matches("It must not raise").count(), 1, "{}", g.text);
    }

    #[test]
    fn a_long_prompts_own_constraint_is_kept_once_not_restated() {
        let long = format!(
            "{}\n\n{CODE}",
            "Some context first: this helper lives in a billing service that my team took over last month from \
             another team, and nobody here wrote it. It is called from three places, one of them a nightly job \
             that runs unattended, and last week that job stopped halfway because of it. We would like the smallest \
             change that keeps the behaviour for every other input the same."
        );
        let text = long.as_str();
        let slots = read(text);
        let g = generate(
            &compose(
                text,
                &slots,
                Intent::CodeGeneration,
                Some("a senior Python developer"),
            ),
            &[Technique::Constraints, Technique::RolePlay],
            &Templates::builtin(),
        );
        let at = |needle: &str| {
            g.text
                .find(needle)
                .unwrap_or_else(|| panic!("{needle} missing in {}", g.text))
        };
        assert!(at("You are a senior Python developer.") < at("Fix this function"));
        // In the user's words, once: a restatement never won a blind pair.
        assert_eq!(g.text.matches("must not raise").count(), 1, "{}", g.text);
        assert!(!g.text.contains("- It must not raise."), "{}", g.text);
    }

    #[test]
    fn missing_essentials_are_asked_for_and_never_dropped() {
        let text = "write a cover letter for me";
        let slots = read(text);
        let mut c = compose(text, &slots, Intent::CreativeWriting, None);
        c.level = Level::Light;
        let g = generate(&c, &[], &Templates::builtin());
        assert!(g.text.contains("Which job and company"), "{}", g.text);
        assert!(g.text.contains("[placeholders]"));
    }

    #[test]
    fn additions_stay_within_a_budget_in_proportion_to_the_prompt() {
        let text = "why do cats purr";
        let slots = read(text);
        let mut c = compose(text, &slots, Intent::QuestionAnswering, Some("a vet"));
        c.level = Level::Standard;
        let g = generate(&c, Technique::ALL, &Templates::builtin());
        let added = g.text.chars().count() - text.chars().count();
        assert!(added <= budget(&c) + 2, "{added} characters added: {}", g.text);
    }

    #[test]
    fn a_stored_template_with_an_unknown_variable_falls_back_to_the_builtin() {
        let mut templates = Templates::builtin();
        templates.set(
            Technique::ChainOfThought,
            "{{prompt}}\n\nThink about {{mystery}}.",
        );
        templates.set(Technique::ZeroShot, "{{prompt}}\n\nBe brief, this is {{intent}}.");
        let text = "Why is the sum of two odd numbers even?";
        let slots = read(text);
        let g = generate(
            &compose(text, &slots, Intent::Reasoning, None),
            &[Technique::ChainOfThought, Technique::ZeroShot],
            &templates,
        );
        assert_eq!(g.fallbacks, [Technique::ChainOfThought]);
        assert!(
            g.text.contains("step by step") && g.text.contains("Be brief, this is reasoning."),
            "{}",
            g.text
        );
        assert!(!g.text.contains("{{"));
    }

    #[test]
    fn generation_is_deterministic_and_without_techniques_returns_the_text() {
        let slots = read(CODE);
        let picks = [Technique::FewShot, Technique::Constraints];
        let c = compose(CODE, &slots, Intent::CodeGeneration, None);
        assert_eq!(
            generate(&c, &picks, &Templates::builtin()),
            generate(&c, &picks, &Templates::builtin())
        );
        let hi = read("hi\n");
        let mut c = compose("hi\n", &hi, Intent::Conversation, None);
        c.level = Level::Light;
        assert_eq!(generate(&c, &[], &Templates::builtin()).text, "hi");
    }
}
