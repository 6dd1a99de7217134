//! `betterprompts seed [--clean]`: development data. For now the shipped
//! intent patterns (the classifier's training data), marked verified with
//! source `seed`; seeding twice adds nothing, `--clean` removes the seeded
//! patterns first. (The default templates come with migration 0005.)

use bp_config::Settings;
use bp_engine::data::bundled_examples;
use bp_store::intent_patterns::{NewIntentPattern, delete_intent_patterns_by_source, save_intent_patterns};

use crate::cli::SeedArgs;
use crate::progress::Progress;

/// The `source` of seeded rows.
pub const SEED_SOURCE: &str = "seed";

/// Seeds and prints a one-line summary.
pub async fn run(settings: &Settings, instance: Option<&str>, args: SeedArgs) -> anyhow::Result<u8> {
    let progress = Progress::start("seed: connecting");
    let (db, _cache) = super::connect::platform(settings, instance).await?;
    let rows: Vec<NewIntentPattern> = bundled_examples()
        .into_iter()
        .map(|e| NewIntentPattern {
            pattern: e.text,
            intent: e.intent.as_str().to_string(),
            is_verified: true,
            source: Some(SEED_SOURCE.into()),
            ..Default::default()
        })
        .collect();
    let mut tx = db.pool().begin().await?;
    let removed = if args.clean {
        progress.step("seed: removing seeded intent patterns");
        delete_intent_patterns_by_source(&mut *tx, SEED_SOURCE).await?
    } else {
        0
    };
    progress.step("seed: intent patterns");
    let added = save_intent_patterns(&mut *tx, &rows).await?;
    tx.commit().await?;
    progress.finish(&format!(
        "seed: {added} intent patterns added ({} shipped, {removed} removed first)",
        rows.len()
    ));
    Ok(0)
}
