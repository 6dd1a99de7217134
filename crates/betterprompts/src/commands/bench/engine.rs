//! `bench engine`: the engine in-process, no servers. Trains on the shipped
//! patterns (what `seed` loads, so the same model version `/analyze` uses
//! after seeding), then measures a full classify + complexity + select +
//! generate call on one thread over a corpus of natural prompts
//! (engine_ops, engine_p99_us), training time for the shipped set and for
//! 10,000 patterns, and classification quality on a labelled file
//! (eval_accuracy, eval_macro_f1; the shipped held-out set by default).
//!
//! With the sentence model installed (`BP_MODEL_DIR`), the intent model
//! trains with its features as a server does, and the run also measures
//! both forms of the model per prompt (the distilled table on the request
//! path, the full transformer beside it) and the natural held-out accuracy
//! without the sentence features, so that what the model adds is a figure.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bp_engine::data::{HELD_OUT_PATTERNS, bundled_examples, parse_examples};
use bp_engine::eval::{Evaluation, evaluate};
use bp_engine::{
    Effectiveness, Engine, EnhanceContext, EnhanceRequest, Example, Intent, IntentModel, Preferences,
    PromptText, Templates, TrainParams,
};

use super::{Figure, percentile_ms};
use crate::cli::EngineBenchArgs;
use crate::progress::Progress;

/// The figures, plus the evaluation for the confusion matrix.
pub fn run(args: &EngineBenchArgs, model_dir: &Path) -> anyhow::Result<(Vec<Figure>, Evaluation, String)> {
    let progress = Progress::start("bench engine: loading the sentence model");
    let started = Instant::now();
    let (sentence, state) = bp_service::model::load(model_dir);
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;
    progress.step(&format!("bench engine: sentence model {}", state.describe()));
    progress.step("bench engine: training on the shipped patterns");
    let examples = bundled_examples();
    let started = Instant::now();
    let model = IntentModel::train_with(&examples, &TrainParams::default(), sentence.clone())?;
    let train_ms = started.elapsed().as_secs_f64() * 1000.0;
    let version = model.version().to_string();

    progress.step("bench engine: training on 10,000 patterns");
    let big: Vec<Example> = examples.iter().cycle().take(10_000).cloned().collect();
    let started = Instant::now();
    IntentModel::train_with(&big, &TrainParams::default(), sentence.clone())?;
    let train_10k_ms = started.elapsed().as_secs_f64() * 1000.0;

    let (eval_source, labelled) = match &args.eval {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            (
                path.display().to_string(),
                parse_examples(&text).with_context(|| format!("in {}", path.display()))?,
            )
        }
        None => (
            "the shipped held-out set".to_string(),
            parse_examples(HELD_OUT_PATTERNS)?,
        ),
    };
    anyhow::ensure!(!labelled.is_empty(), "the evaluation file has no examples");
    progress.step(&format!(
        "bench engine: classifying {} labelled prompts",
        labelled.len()
    ));
    let eval = evaluate(&model, &labelled);

    let engine = Engine::new(model, Templates::builtin());
    let corpus: Vec<EnhanceRequest> = labelled
        .iter()
        .chain(examples.iter())
        .filter_map(|e| PromptText::parse(&e.text).ok().map(EnhanceRequest::new))
        .collect();
    let (preferences, effectiveness) = (Preferences::default(), Effectiveness::new());
    let ctx = EnhanceContext {
        preferences: &preferences,
        effectiveness: &effectiveness,
    };
    let duration = if args.common.smoke {
        Duration::from_secs(1)
    } else if args.common.quick {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(10)
    };
    progress.step(&format!(
        "bench engine: enhancing for {} s on one thread",
        duration.as_secs()
    ));
    let mut samples = Vec::with_capacity(200_000);
    let started = Instant::now();
    let mut sink = 0usize;
    for req in corpus.iter().cycle() {
        let t = Instant::now();
        sink += engine.enhance(req, ctx).generated.tokens;
        samples.push(t.elapsed());
        if started.elapsed() >= duration {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ops = samples.len() as f64 / elapsed;
    let p99_us = percentile_ms(&mut samples, 99.0) * 1000.0;
    let p50_us = percentile_ms(&mut samples, 50.0) * 1000.0;
    progress.step("bench engine: the natural held-out set and the quality lint");
    let natural = parse_examples(bp_engine::data::NATURAL_HELD_OUT).context("the natural held-out set")?;
    let natural_eval = evaluate(engine.model(), &natural);
    let sentence_figures = match &sentence {
        Some(table) => {
            progress.step("bench engine: the sentence model, distilled and full");
            sentence_figures(table, model_dir, &examples, &natural, load_ms)?
        }
        None => Vec::new(),
    };
    let cases = bp_engine::lint::parse(bp_engine::lint::QUALITY_LINT).context("the quality lint set")?;
    let lint = bp_engine::lint::run(&cases, |text| match PromptText::parse(text) {
        Ok(t) => {
            let out = engine.enhance(&EnhanceRequest::new(t), ctx);
            let asks = !out.questions.is_empty();
            (out.generated.text, asks)
        }
        Err(_) => (text.to_owned(), false),
    });
    progress.finish_on_stderr(&format!(
        "bench engine: {} enhancements ({sink} tokens written), model {version}",
        samples.len()
    ));
    let none = |name: &str, unit: &'static str, value: f64, label: &str| Figure {
        name: name.into(),
        unit,
        value,
        baseline: None,
        baseline_label: label.into(),
    };
    let lint_label = format!("{} labelled prompts; target 0", lint.cases);
    let mut figures = vec![
        none("engine_ops", "ops/s", ops, "one thread; target > 5,000"),
        none(
            "engine_p99_us",
            "us",
            p99_us,
            "classify+select+generate; target < 1,000",
        ),
        none("engine_p50_us", "us", p50_us, "median"),
        none(
            "engine_train_ms",
            "ms",
            train_ms,
            &format!("{} shipped patterns", examples.len()),
        ),
        none("engine_train_10k_ms", "ms", train_10k_ms, "10,000 patterns"),
        none(
            "eval_accuracy",
            "ratio",
            eval.accuracy,
            &format!("{} prompts of {eval_source}", eval.total),
        ),
        none(
            "eval_macro_f1",
            "ratio",
            eval.macro_f1,
            &format!("{} prompts of {eval_source}", eval.total),
        ),
        none(
            "eval_natural_accuracy",
            "ratio",
            natural_eval.accuracy,
            &format!(
                "{} prompts written unlike the training patterns; target 0.90",
                natural_eval.total
            ),
        ),
        none(
            "eval_natural_macro_f1",
            "ratio",
            natural_eval.macro_f1,
            "the same set",
        ),
        none(
            "lint_contradictions",
            "prompts",
            lint.contradicted as f64,
            &lint_label,
        ),
        none(
            "lint_persona_overrides",
            "prompts",
            lint.persona_overrides as f64,
            &lint_label,
        ),
        none("lint_off_domain", "prompts", lint.off_domain as f64, &lint_label),
        none("lint_filler", "prompts", lint.filler as f64, &lint_label),
        none(
            "lint_verbatim_rate",
            "ratio",
            lint.verbatim_rate(),
            "the user's text kept verbatim; target 1",
        ),
        none(
            "lint_median_length_ratio",
            "ratio",
            lint.median_length_ratio,
            "enhanced / original characters; target < 3",
        ),
    ];
    figures.extend(sentence_figures);
    Ok((figures, eval, version))
}

/// Per-prompt cost of the distilled table and of the full transformer over
/// the same prompts, the table's load time, and the natural held-out
/// accuracy of a model trained without the sentence features.
fn sentence_figures(
    table: &Arc<bp_engine::minilm::StaticModel>,
    model_dir: &Path,
    examples: &[Example],
    natural: &[Example],
    load_ms: f64,
) -> anyhow::Result<Vec<Figure>> {
    let texts: Vec<&str> = natural.iter().map(|e| e.text.as_str()).collect();
    let started = Instant::now();
    let rounds = 20;
    for _ in 0..rounds {
        for t in &texts {
            std::hint::black_box(table.embed(t));
        }
    }
    let static_us = started.elapsed().as_secs_f64() * 1e6 / (rounds * texts.len()) as f64;
    let (tokenizer, bert) = bp_service::model::load_full(model_dir).map_err(anyhow::Error::msg)?;
    let sample = &texts[..texts.len().min(50)];
    let started = Instant::now();
    for t in sample {
        std::hint::black_box(bert.embed(&tokenizer, t));
    }
    let full_ms = started.elapsed().as_secs_f64() * 1000.0 / sample.len() as f64;
    let lexical = IntentModel::train(examples, &TrainParams::default())?;
    let lexical_eval = evaluate(&lexical, natural);
    let figure = |name: &str, unit: &'static str, value: f64, label: String| Figure {
        name: name.into(),
        unit,
        value,
        baseline: None,
        baseline_label: label,
    };
    Ok(vec![
        figure(
            "sentence_static_us",
            "us",
            static_us,
            format!(
                "distilled all-MiniLM-L6-v2 per prompt, {} natural held-out prompts",
                texts.len()
            ),
        ),
        figure(
            "sentence_full_ms",
            "ms",
            full_ms,
            format!(
                "the full 6-layer transformer per prompt, {} of the same prompts",
                sample.len()
            ),
        ),
        figure(
            "sentence_load_ms",
            "ms",
            load_ms,
            "loading the distilled table".into(),
        ),
        figure(
            "eval_natural_accuracy_lexical",
            "ratio",
            lexical_eval.accuracy,
            "the natural held-out set, lexical features only".into(),
        ),
    ])
}

/// The confusion matrix as a text table (rows: actual, columns: predicted).
pub fn confusion_table(eval: &Evaluation) -> String {
    let short = |i: &Intent| i.as_str().chars().take(6).collect::<String>();
    let mut out = format!("{:<20}", "actual \\ predicted");
    for i in Intent::ALL {
        out.push_str(&format!("{:>7}", short(i)));
    }
    out.push_str("   recall\n");
    for (row, (intent, _, recall, _, _)) in eval.confusion.iter().zip(&eval.per_intent) {
        out.push_str(&format!("{:<20}", intent.as_str()));
        for n in row {
            out.push_str(&format!("{n:>7}"));
        }
        out.push_str(&format!("   {recall:.2}\n"));
    }
    out
}

/// The confusion matrix as JSON: `{actual: {predicted: n}}`.
pub fn confusion_json(eval: &Evaluation) -> serde_json::Value {
    let rows = Intent::ALL.iter().zip(&eval.confusion).map(|(actual, row)| {
        let cells = Intent::ALL
            .iter()
            .zip(row)
            .filter(|(_, n)| **n > 0)
            .map(|(p, n)| (p.as_str().to_string(), (*n).into()));
        (
            actual.as_str().to_string(),
            serde_json::Value::Object(cells.collect()),
        )
    });
    serde_json::Value::Object(rows.collect())
}
