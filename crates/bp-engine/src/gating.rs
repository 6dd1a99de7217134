//! Which techniques a prompt justifies: a hard filter applied before
//! selection, so that learning only reorders what passes it. A technique
//! is forbidden when it would contradict what the user specified (a role
//! over their persona, a structure over their format), when the task does
//! not need it (a reasoning scaffold on a fact lookup, a rewrite or a
//! short creative piece), or when the engine is not sure enough of the
//! intent to commit to intent-specific guidance.

use crate::input::Level;
use crate::slots::{Slots, TaskKind};
use crate::vocabulary::{Complexity, Intent, Technique};

/// Below this intent probability the enhancement stays intent-neutral: no
/// intent-specific technique, role, constraints or examples. Calibrated on
/// the natural held-out set: at 0.45 the classifier is right about 88% of
/// the time above the line and about half the time below it.
pub const CONFIDENT: f64 = 0.45;

/// What gating decides from.
#[derive(Debug, Clone, Copy)]
pub struct GateInput<'a> {
    /// The slots of the prompt.
    pub slots: &'a Slots,
    /// The most probable intent.
    pub intent: Intent,
    /// Its probability.
    pub confidence: f64,
    /// The complexity aimed at.
    pub complexity: Complexity,
    /// How much may be added.
    pub level: Level,
    /// Whether the prompt's subject calls for a role (see [`crate::domain`]).
    pub has_role: bool,
    /// Whether the prompt asks how to do something ("how do I", "steps to").
    pub how_to: bool,
    /// Whether it is about installing or setting something up (see
    /// [`setup`]): a procedure also when the task is code.
    pub setup: bool,
    /// Whether the prompt holds something to work out: figures, a puzzle,
    /// a proof, an argument to check (see [`reasoning_evidence`]).
    pub reasoning_evidence: bool,
    /// Whether the prompt reports something broken or failing (see [`fault`]).
    pub fault: bool,
    /// How many questions the prompt asks (runs of `?`).
    pub questions: usize,
    /// How many words the prompt has ("python one liner to reverse a
    /// string" is too short to need an expert's voice).
    pub words: usize,
}

/// Words that show a prompt asks for something to be worked out.
const WORK_OUT: &[&str] = &[
    "calculate",
    "solve",
    "prove",
    "proof",
    "probability",
    "odds",
    "how many",
    "how much",
    "puzzle",
    "riddle",
    "logic",
    "logical",
    "valid",
    "fallacy",
    "argument",
    "deduce",
    "deduction",
    "percent",
    "equation",
    "optimal",
    "expected value",
    "estimate",
    "which is bigger",
    "which is larger",
    "if all",
    "syllogism",
    "sequence",
    "next number",
    "paradox",
    "trade off",
    "tradeoff",
    "worth it",
    "break even",
    "compare the cost",
];

/// Whether `text` reports something broken or failing ("a noise", "an
/// error", "getting slow"): it asks for a diagnosis.
pub fn fault(text: &str) -> bool {
    let mut lower = text.to_lowercase().replace('’', "'");
    // "how long before deciding it's not working": a condition on a plan,
    // not a report of something broken.
    for conditional in [
        "deciding it's not working",
        "deciding its not working",
        "if it's not working",
        "if its not working",
        "if it isn't working",
        "if it doesn't work",
        "if it doesnt work",
        "if that doesn't work",
        "if that doesnt work",
        "if nothing works",
    ] {
        lower = lower.replace(conditional, " ");
    }
    [
        "noise",
        "broken",
        "not working",
        "error",
        "leak",
        "won't start",
        "wont start",
        "crash",
        "problem with",
        "issue with",
        "sound",
        "slow",
        "fails",
        "failing",
        "doesnt work",
        "doesn't work",
        "isn't working",
        "stopped working",
        "bug",
        "won't",
        "wont ",
        "drops",
        "dropping",
        "disconnect",
        "goes out",
        "going out",
        "echo",
        "blue screen",
        "segfault",
        "exception",
        "restarts",
        "overheat",
        "freezes",
        "keeps freezing",
        "flicker",
        "runs every",
        "figure out why",
        "understand why",
        "why does this",
        "why is this",
        "returns none",
        "returning none",
        "wrong result",
        "wrong output",
        "unexpected",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// How many questions `text` asks: its runs of question marks ("really??"
/// is one).
pub fn questions(text: &str) -> usize {
    text.split(|c: char| c != '?')
        .filter(|run| !run.is_empty())
        .count()
}

/// Whether `text` is about installing, configuring or deploying something:
/// a procedure of steps even when the task is code.
pub fn setup(text: &str) -> bool {
    crate::slots::Lower::new(text).has_any(&[
        "install",
        "installing",
        "set up",
        "setup",
        "configure",
        "configuring",
        "deploy",
        "deploying",
        "upgrade",
        "migrate",
    ])
}

/// Whether `text` asks how to do something, step by step.
pub fn how_to(text: &str) -> bool {
    let lower = text.to_lowercase();
    // "How do I fix this noise?" asks for a diagnosis before any procedure.
    let fault = fault(text);
    // "What are my options?", "a couple of ways to open the conversation":
    // the answer is a set of alternatives to weigh, not one procedure; and
    // "how do I bring this up with her?" asks for advice on people.
    let choices = [
        "options",
        "ways to",
        "ways of",
        "a couple of ways",
        "alternatives",
        "approaches",
        "ideas",
        "whether",
        "should i",
        "better fit",
        "bring this up",
        "bring it up",
        "talk to",
        "tell her",
        "tell him",
        "tell them",
        "tell my",
        "confront",
        "awkward",
        "without it turning",
        "defensive",
        // "I don't know how to think about this": a decision, not a procedure.
        "how to think",
        "how to decide",
        "how to approach",
    ]
    .iter()
    .any(|w| lower.contains(w));
    // "How do I say X in Swahili" asks for words, not a procedure.
    let wording = [
        "how do i say",
        "how do you say",
        "how to say",
        "how would i say",
        "how do i pronounce",
        "how to pronounce",
        "how do you pronounce",
        "how do you spell",
        "how do i spell",
    ]
    .iter()
    .any(|w| lower.contains(w));
    if wording {
        return false;
    }
    // "What does that actually mean and how do I fix it?" asks for an
    // explanation first: the whole answer is not one procedure.
    let meaning = ["what does", "what do "].iter().any(|w| lower.contains(w)) && lower.contains(" mean");
    // An explicit "step by step" is a procedure whatever else is asked.
    let explicit = ["step by step", "step-by-step", "walk me through"]
        .iter()
        .any(|w| lower.contains(w));
    explicit && !fault
        || !fault
            && !choices
            && !meaning
            && [
                "how do i ",
                "how do you ",
                "how to ",
                "how can i ",
                "steps to ",
                "step by step",
                "step-by-step",
                "walk me through",
                "guide me",
                "set up ",
                "install ",
            ]
            .iter()
            .any(|w| lower.contains(w))
}

/// Whether `text` holds something to work out (see [`GateInput`]).
pub fn reasoning_evidence(text: &str) -> bool {
    let lower = text.to_lowercase();
    // One price ("equipment under $200") is a budget, not a sum; two
    // ("from $90 to $210") are something to work out.
    let amounts = lower.matches(['$', '€', '£']).count();
    let figures = lower.chars().filter(char::is_ascii_digit).count() >= 2
        // A hyphen or slash is too common in prose ("9-year-old", "and/or").
        && (lower.contains(['+', '*', '%', '=']) || amounts >= 2)
        || lower
            .lines()
            .flat_map(|line| line.split_whitespace().enumerate())
            // "1." and "2)" opening a line number the user's questions;
            // they are no figures ("from 42 to 51." is).
            .filter(|(i, w)| {
                *i > 0
                    || !(w.len() <= 3
                        && w.ends_with(['.', ')'])
                        && w[..w.len() - 1].chars().all(|c| c.is_ascii_digit()))
            })
            .filter(|(_, w)| w.chars().any(|c| c.is_ascii_digit()))
            .count()
            >= 3;
    figures || WORK_OUT.iter().any(|w| lower.contains(w))
}

/// A forbidden technique and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forbidden {
    /// The technique.
    pub technique: Technique,
    /// Why, completing "not applied: ...".
    pub reason: &'static str,
}

const SCAFFOLDS: &[Technique] = &[
    Technique::ChainOfThought,
    Technique::TreeOfThoughts,
    Technique::SelfConsistency,
    Technique::Analogical,
    Technique::React,
];

/// Intents where a reasoning scaffold helps the answer.
fn reasons(intent: Intent) -> bool {
    matches!(
        intent,
        Intent::Reasoning | Intent::ProblemSolving | Intent::DataAnalysis | Intent::CodeGeneration
    )
}

/// Why `technique` may not be applied to this prompt, if it may not.
fn why_not(t: Technique, g: &GateInput<'_>) -> Option<&'static str> {
    let s = g.slots;
    let confident = g.confidence >= CONFIDENT;
    let strict_format = s.terse || s.format.as_ref().is_some_and(|f| f.is_strict());
    let light_task = matches!(
        s.kind,
        TaskKind::FactLookup | TaskKind::Rewrite | TaskKind::ShortCreative
    );
    match t {
        // Zero-shot means "no examples": it adds nothing and fits anything.
        Technique::ZeroShot => None,
        _ if s.foreign => Some("the prompt is not in English; English lines would mix languages"),
        Technique::RolePlay => {
            if s.plays_a_part() {
                Some("the prompt sets its own persona")
            } else if !g.has_role {
                Some("nothing in the prompt calls for a particular expert")
            } else if g.intent == Intent::Conversation {
                Some("a conversation follows the user's lead, not an expert's")
            } else if matches!(s.kind, TaskKind::FactLookup | TaskKind::Rewrite) || s.terse {
                Some("a simple lookup, a rewrite or a bare answer gains nothing from a role")
            } else if g.complexity == Complexity::Simple && g.words < 10 {
                Some("a one-line request gains nothing from a role")
            } else if g.level == Level::Light {
                Some("the light level adds no role")
            } else {
                None
            }
        }
        // "Walk me through it", "show your work": asked for already; the
        // line would only repeat it.
        Technique::ChainOfThought if s.wants_reasoning => Some("the user already asks for the reasoning"),
        _ if SCAFFOLDS.contains(&t) || t == Technique::StepByStep => {
            if light_task {
                Some("a fact lookup, rewrite or short piece needs no reasoning scaffold")
            } else if s.plays_a_part() {
                Some("worked reasoning would break the persona the user set")
            } else if strict_format {
                Some("the requested format leaves no room for worked reasoning")
            } else if !confident {
                Some("the intent is uncertain")
            } else if s.lay && t != Technique::StepByStep {
                // A board of non-statisticians asked for the meaning, the
                // maths in an appendix: worked reasoning puts it up front.
                Some("the reader wants the meaning, not the working")
            } else if t != Technique::StepByStep && (s.brief || s.length.is_some() || s.format.is_some()) {
                // In blind rounds "think step by step" lost every pair where
                // the user set a length ("two sentences max each", "explain
                // in one sentence") or a shape (a table, a script).
                Some("the user set the answer's length or shape; worked reasoning would spend or break it")
            } else if t == Technique::StepByStep {
                if s.wants_reasoning {
                    Some("the user already asks for the working, step by step")
                } else if s.kind == TaskKind::MultiPart {
                    Some("a request of several parts is answered part by part, not as one procedure")
                } else if g.intent == Intent::CodeGeneration && !g.setup {
                    // "How do I remove duplicates but keep the order?" is
                    // answered with a few lines of code, not a procedure.
                    Some("a coding question is answered with code, not numbered steps")
                } else if g.how_to && s.format.is_none() && !s.own_list {
                    None
                } else {
                    Some("only a how-to is laid out as steps, and never over the user's own format")
                }
            } else if !reasons(g.intent) {
                Some("the task is not one of reasoning")
            } else if matches!(g.intent, Intent::Reasoning | Intent::DataAnalysis) && !g.reasoning_evidence {
                Some("nothing in the prompt needs working out (no figures, logic or puzzle)")
            } else if g.intent == Intent::ProblemSolving && !g.reasoning_evidence && !g.fault {
                Some("advice on a situation needs judgement, not a worked derivation")
            } else if g.intent == Intent::CodeGeneration && !g.fault {
                // Figures in a spec ("older than 90 days", "Q1 2024") are
                // requirements, not something to work out.
                Some("code to a clear spec needs no worked reasoning; only a fault does")
            } else if t == Technique::ChainOfThought {
                (g.complexity == Complexity::Simple && g.intent != Intent::Reasoning)
                    .then_some("a simple task needs no worked reasoning")
            } else if g.level != Level::Thorough || g.complexity != Complexity::Complex {
                Some("kept for complex tasks at the thorough level")
            } else {
                None
            }
        }
        Technique::StructuredOutput => {
            if matches!(g.intent, Intent::Translation | Intent::Summarization) {
                Some("a translation or summary keeps the shape of its source")
            } else if s.format.is_some() {
                Some("the prompt names its own format")
            } else if s.length.is_some() || s.terse {
                Some("the prompt limits the length; added sections would break it")
            } else if s.kind != TaskKind::MultiPart {
                Some("only a multi-part request needs a fixed structure")
            } else if g.questions < 2 {
                Some("one question, however long, is answered whole, not in parts")
            } else if s.own_list {
                Some("the user listed their asks; that list is the structure")
            } else if s.content_is_code() {
                Some("changes to pasted code come back as the changed code, not in parts")
            } else {
                None
            }
        }
        Technique::FewShot => (!s.has_examples)
            .then_some("no examples of the user's own to follow; canned ones would be off-topic"),
        Technique::EmotionalAppeal => {
            if s.plays_a_part() {
                Some("the prompt is a role-play")
            } else if g.level != Level::Thorough {
                Some("kept for the thorough level")
            } else {
                s.stakes
                    .is_none()
                    .then_some("nothing in the prompt says what is at stake")
            }
        }
        Technique::Constraints if s.plays_a_part() => {
            Some("a role-play's own rules are already in the user's words")
        }
        Technique::Constraints => {
            let own = !s.constraints.is_empty() || s.length.is_some();
            if own || (confident && g.level != Level::Light && !light_task) {
                None
            } else {
                Some("no constraints of the user's, and none the task calls for")
            }
        }
        _ => None,
    }
}

/// The techniques this prompt forbids, each with its reason.
pub fn forbidden(g: &GateInput<'_>) -> Vec<Forbidden> {
    Technique::ALL
        .iter()
        .filter_map(|t| {
            why_not(*t, g).map(|reason| Forbidden {
                technique: *t,
                reason,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::read;

    fn gate(text: &str, intent: Intent, confidence: f64) -> Vec<Technique> {
        gate_at(text, intent, confidence, Complexity::Moderate)
    }

    fn gate_at(text: &str, intent: Intent, confidence: f64, complexity: Complexity) -> Vec<Technique> {
        let slots = read(text);
        forbidden(&GateInput {
            slots: &slots,
            intent,
            confidence,
            complexity,
            level: Level::Standard,
            has_role: crate::domain::role_for(text, false, None).is_some(),
            reasoning_evidence: reasoning_evidence(text),
            how_to: how_to(text),
            setup: setup(text),
            fault: fault(text),
            questions: questions(text),
            words: text.split_whitespace().count(),
        })
        .into_iter()
        .map(|f| f.technique)
        .collect()
    }

    #[test]
    fn numbered_questions_are_no_figures_to_work_out() {
        let shelf = "Few questions about my first pine bookshelf:\n1. what finish stays light\n2. do I sand between coats\n3. how long before books go on it\n4. how to avoid blotches";
        assert!(!reasoning_evidence(shelf));
        assert!(reasoning_evidence(
            "my electric bill went from $90 to $210 this month"
        ));
        let podcast = "We want to start a podcast. Can you help with:\n1. basic equipment for two people under $200\n2. 10 name ideas\n3. how often we should post";
        assert!(!reasoning_evidence(podcast));
        assert!(gate(shelf, Intent::ProblemSolving, 0.9).contains(&Technique::ChainOfThought));
        assert!(reasoning_evidence(
            "We drive 340 km at 8.5 l per 100 km and fuel is 1.9 a litre"
        ));
        assert!(reasoning_evidence(
            "40 kids took a test. Average score went from 42 to 51."
        ));
    }

    #[test]
    fn a_length_a_shape_or_a_wish_for_brevity_forbids_worked_reasoning() {
        // Each of these lost its blind pair with "think step by step" added.
        for (text, intent) in [
            (
                "Three quick questions, answer in French, two sentences max each: 1. Why do we always see the same side of the Moon? 2. Who designed the Sydney Opera House?",
                Intent::Reasoning,
            ),
            (
                "TypeError: fetch(...).json is not a function. fix it + explain in one sentence",
                Intent::CodeGeneration,
            ),
            (
                "Calculate true shooting % for each of the 3 guards. Output as a markdown table.",
                Intent::DataAnalysis,
            ),
        ] {
            let f = gate(text, intent, 0.95);
            assert!(f.contains(&Technique::ChainOfThought), "CoT allowed on {text:?}");
        }
        // Without them, the same prompt may have it.
        let argument = "My coworker says cities that built more bike lanes saw more cycling accidents, so bike lanes make cycling more dangerous. What's wrong with this argument, and is anything in it valid?";
        assert!(!gate(argument, Intent::Reasoning, 0.95).contains(&Technique::ChainOfThought));
        let brief = format!("{argument} Give me the single strongest counterargument.");
        assert!(gate(&brief, Intent::Reasoning, 0.95).contains(&Technique::ChainOfThought));
    }

    #[test]
    fn figures_in_a_code_spec_are_requirements_not_reasoning() {
        let spec = "Write a bash script that converts .heic files older than 90 days to JPG at quality 90 and logs to ~/convert.log";
        assert!(gate(spec, Intent::CodeGeneration, 0.95).contains(&Technique::ChainOfThought));
        let fault =
            "my script crashes with an IndexError on line 12 when the list has 3 items, why does this happen";
        assert!(!gate(fault, Intent::CodeGeneration, 0.95).contains(&Technique::ChainOfThought));
    }

    #[test]
    fn reasoning_the_user_already_asks_for_is_not_asked_again() {
        let f = gate(
            "Four friends each brought a dish: soup, salad, pie or bread. Ana brought the bread; Ben brought nothing sweet. Who brought what? Show your reasoning step by step.",
            Intent::Reasoning,
            0.95,
        );
        assert!(f.contains(&Technique::ChainOfThought));
        assert!(f.contains(&Technique::StepByStep));
    }

    #[test]
    fn a_role_play_the_user_sets_up_gets_no_role_and_no_reasoning_line() {
        let f = gate(
            "Let's role-play. You're Mr. Dunlop, my old landlord: gruff, tight with money. He's holding £650 of my deposit. Stay in character and push back.",
            Intent::ProblemSolving,
            0.9,
        );
        assert!(f.contains(&Technique::RolePlay));
        assert!(f.contains(&Technique::ChainOfThought));
        // Without a persona's name, only the role-play says so.
        let text = "Let's role-play a tenant meeting: stay in character as the building manager, and push back hard when I ask for my £650 deposit, because I have a deadline.";
        assert!(read(text).persona.is_none() && read(text).role_play);
        let f = gate_at(text, Intent::ProblemSolving, 0.9, Complexity::Complex);
        for t in [
            Technique::RolePlay,
            Technique::ChainOfThought,
            Technique::Constraints,
        ] {
            assert!(f.contains(&t), "{t} on a role-play without a named persona");
        }
    }

    #[test]
    fn a_request_in_another_language_gets_no_english_lines() {
        let f = gate(
            "Quiero saber cuál lote rinde peor por hectárea y si parece que es por la variedad o por la lluvia. Muéstrame los cálculos paso a paso, no solo el resultado.",
            Intent::DataAnalysis,
            0.95,
        );
        for t in [
            Technique::Constraints,
            Technique::ChainOfThought,
            Technique::RolePlay,
        ] {
            assert!(f.contains(&t), "{t} allowed on a Spanish request");
        }
        assert!(!f.contains(&Technique::ZeroShot));
    }

    #[test]
    fn a_lay_reader_gets_no_worked_reasoning() {
        let board = "We surveyed 212 patients: 71% were satisfied, but among patients over 65 (n=48) only 52% were. Is the gap real or noise, and which test would I use? The audience is non-statisticians, so no formulas in the main text. Put any maths in a short appendix at the end.";
        assert!(
            gate_at(board, Intent::DataAnalysis, 0.95, Complexity::Complex)
                .contains(&Technique::ChainOfThought)
        );
        let analyst = "We surveyed 212 patients: 71% were satisfied, but among patients over 65 (n=48) only 52% were. Is the gap real or noise, and which test would I use?";
        assert!(
            !gate_at(analyst, Intent::DataAnalysis, 0.95, Complexity::Complex)
                .contains(&Technique::ChainOfThought)
        );
    }

    #[test]
    fn a_coding_question_gets_no_numbered_steps_but_a_setup_does_and_a_decision_is_no_procedure() {
        let dedupe = "python: how do I remove duplicates from a list but keep the original order? list(set(x)) scrambles it";
        let f = gate_at(dedupe, Intent::CodeGeneration, 0.95, Complexity::Simple);
        assert!(f.contains(&Technique::StepByStep), "{f:?}");
        let venv = "I'm new to Python on Windows. How do I set up a virtual environment for my project and install the requests library in it?";
        let f = gate_at(venv, Intent::CodeGeneration, 0.95, Complexity::Simple);
        assert!(!f.contains(&Technique::StepByStep), "{f:?}");
        assert!(!how_to(
            "how do i tell my bf i dont wanna go to his familys thanksgiving w/o it becoming a whole thing"
        ));
        assert!(!how_to(
            "Do I pay cash for something cheaper, put most of it down, or finance the whole thing? I don't really know how to think about this."
        ));
    }

    #[test]
    fn asking_for_words_is_not_a_how_to() {
        assert!(!how_to(
            "how do I say 'the queen is in a bad mood today' in Swahili"
        ));
        assert!(!how_to("how do you pronounce Worcestershire"));
        assert!(how_to("how do I replace the washer in a dripping tap"));
    }

    #[test]
    fn a_meaning_to_explain_is_not_a_procedure() {
        assert!(!how_to(
            "my advisor wrote 'lacks a throughline' on my chapter. what does that actually mean and how do i fix it"
        ));
        assert!(how_to(
            "what does a hard reset mean? walk me through doing one on my router, step by step"
        ));
    }

    #[test]
    fn a_condition_on_a_plan_is_not_a_fault() {
        assert!(!fault(
            "what can we try, in what order, and how long before deciding it's not working?"
        ));
        assert!(fault("the dishwasher is not working since yesterday"));
    }

    #[test]
    fn a_persona_of_the_users_is_never_replaced() {
        let f = gate(
            "Pretend to be Elon Musk. Why do we need to go to Mars?",
            Intent::Reasoning,
            0.9,
        );
        assert!(f.contains(&Technique::RolePlay));
    }

    #[test]
    fn fact_lookups_rewrites_and_short_pieces_get_no_reasoning_scaffold() {
        for text in [
            "who painted the mona lisa?",
            "Rewrite this to sound friendlier: send the report by 5",
            "write a tweet about our bakery's new croissant",
        ] {
            let f = gate(text, Intent::Reasoning, 0.95);
            for t in [
                Technique::ChainOfThought,
                Technique::SelfConsistency,
                Technique::Analogical,
                Technique::StepByStep,
            ] {
                assert!(f.contains(&t), "{t} allowed on {text:?}");
            }
        }
    }

    #[test]
    fn a_users_format_forbids_structure_and_uncertainty_forbids_intent_guidance() {
        let f = gate(
            "list 5 dog breeds as JSON with fields name and size",
            Intent::QuestionAnswering,
            0.9,
        );
        assert!(f.contains(&Technique::StructuredOutput));
        let f = gate(
            "I need to work out whether my plan holds up and what to change in it",
            Intent::Reasoning,
            0.3,
        );
        assert!(f.contains(&Technique::ChainOfThought));
        assert!(!f.contains(&Technique::ZeroShot));
    }

    #[test]
    fn canned_examples_and_filler_are_never_added() {
        let f = gate(
            "Explain how vaccines train the immune system",
            Intent::QuestionAnswering,
            0.9,
        );
        assert!(f.contains(&Technique::FewShot));
        assert!(f.contains(&Technique::EmotionalAppeal));
        let f = gate(
            "I have a job interview tomorrow, what should I ask them at the end?",
            Intent::ProblemSolving,
            0.9,
        );
        assert!(
            f.contains(&Technique::EmotionalAppeal),
            "the user's own stakes count at the thorough level only"
        );
    }

    #[test]
    fn advice_on_people_and_a_choice_between_options_are_not_laid_out_as_steps() {
        for text in [
            "My roommate keeps eating my food. We otherwise get along really well. How do I bring this up \
             without it turning into a fight? Could you give me a couple of ways to open the conversation \
             and what to do if she gets defensive?",
            "My Flask dashboard is getting slow, about 4 seconds, because of one aggregate query. \
             What are my options for caching this? Could you write example code, including how to \
             invalidate the cache when the batch job finishes?",
        ] {
            let f = gate(text, Intent::ProblemSolving, 0.9);
            assert!(f.contains(&Technique::StepByStep), "steps allowed on {text:?}");
        }
        let f = gate(
            "My roommate keeps eating my food. How do I bring this up without a fight?",
            Intent::ProblemSolving,
            0.9,
        );
        assert!(
            f.contains(&Technique::ChainOfThought),
            "worked reasoning on advice about people"
        );
        let f = gate(
            "How do I replace the chain on my road bike at home?",
            Intent::TaskPlanning,
            0.9,
        );
        assert!(
            !f.contains(&Technique::StepByStep),
            "a plain how-to keeps its steps"
        );
    }

    #[test]
    fn a_one_line_request_gets_no_role() {
        // The subject calls for an expert in both; only the length differs.
        let role_allowed = |text: &str| {
            let slots = read(text);
            why_not(
                Technique::RolePlay,
                &GateInput {
                    slots: &slots,
                    intent: Intent::CodeGeneration,
                    confidence: 0.9,
                    complexity: Complexity::Simple,
                    level: Level::Standard,
                    has_role: true,
                    reasoning_evidence: false,
                    how_to: false,
                    setup: false,
                    fault: false,
                    questions: 1,
                    words: text.split_whitespace().count(),
                },
            )
            .is_none()
        };
        assert!(!role_allowed("python one liner to reverse a string"));
        assert!(role_allowed(
            "write a python script that watches a folder and uploads every new file to s3, retrying on failure"
        ));
    }

    #[test]
    fn one_long_question_is_not_split_into_parts() {
        let text = "Trying to decide between two offers. Job A: $68k, hybrid, 45 min each way. Job B: $61k, \
                    fully remote at a 40-person startup. I'm 29, rent is $1,400. Walk me through how to weigh \
                    this, including what the commute actually costs me, and then tell me which one you'd pick.";
        assert_eq!(questions(text), 0);
        assert!(gate(text, Intent::ProblemSolving, 0.9).contains(&Technique::StructuredOutput));
        assert_eq!(questions("significant?? really?"), 2);
    }

    #[test]
    fn a_conversation_gets_no_expert_role() {
        let text = "cant sleep, job interview at 9am tomorrow. talk to me";
        let slots = read(text);
        let g = GateInput {
            slots: &slots,
            intent: Intent::Conversation,
            confidence: 0.9,
            complexity: Complexity::Moderate,
            level: Level::Standard,
            has_role: true,
            reasoning_evidence: false,
            how_to: false,
            setup: false,
            fault: false,
            questions: 0,
            words: 20,
        };
        assert!(why_not(Technique::RolePlay, &g).is_some());
    }
}
