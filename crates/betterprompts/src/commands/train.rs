//! `betterprompts train`: trains the intent model from
//! `prompts.intent_patterns` (the shipped patterns when it is empty) and
//! reports its version, size, training time and accuracy on the shipped
//! held-out set. Running servers notice changed patterns by themselves
//! within `BP_ENGINE_REFRESH_SECS` and retrain to the same version.

use bp_config::Settings;
use bp_engine::data::{HELD_OUT_PATTERNS, parse_examples};
use bp_engine::eval::evaluate;
use serde_json::json;

use crate::cli::TrainArgs;

/// Trains and prints the report.
pub async fn run(settings: &Settings, instance: Option<&str>, args: TrainArgs) -> anyhow::Result<u8> {
    let (db, cache) = super::connect::platform(settings, instance, super::connect::Role::Owner).await?;
    let service = super::connect::service(settings, db, cache).await?;
    let trained = service.retrain().await?;
    let engine = service.engine();
    let model = engine.model();
    let held = parse_examples(HELD_OUT_PATTERNS)?;
    let eval = evaluate(model, &held);
    if args.json {
        let report = json!({
            "model_version": trained.version,
            "examples": trained.examples,
            "source": trained.source,
            "features": model.features(),
            "temperature": model.temperature(),
            "train_ms": trained.train_ms,
            "held_out_accuracy": eval.accuracy,
            "held_out_macro_f1": eval.macro_f1,
        });
        println!("{report}");
    } else {
        println!(
            "model {} trained on {} patterns ({:?}) in {:.0} ms: {} features, temperature {:.2}",
            trained.version,
            trained.examples,
            trained.source,
            trained.train_ms,
            model.features(),
            model.temperature()
        );
        println!(
            "held-out set ({} prompts): accuracy {:.3}, macro-F1 {:.3}",
            eval.total, eval.accuracy, eval.macro_f1
        );
        println!(
            "running servers pick up pattern changes within {} s",
            settings.engine.refresh_interval.as_secs()
        );
    }
    Ok(0)
}
