//! `betterprompts enhance "TEXT" [--json]`: one enhancement through the same
//! service the API uses (cached prediction, templates, effectiveness),
//! saved to the history as an anonymous request.

use anyhow::Context;
use bp_api::service::{Requester, intent_scores_json};
use bp_config::Settings;
use bp_engine::{Complexity, EnhanceRequest, Technique};
use serde_json::json;

use crate::cli::EnhanceArgs;

fn techniques(flag: &str, ids: &[String]) -> anyhow::Result<Vec<Technique>> {
    ids.iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse::<Technique>().with_context(|| format!("--{flag}")))
        .collect()
}

/// Enhances `args.text` and prints the result.
pub async fn run(settings: &Settings, instance: Option<&str>, args: EnhanceArgs) -> anyhow::Result<u8> {
    let req = EnhanceRequest {
        text: args.text.clone(),
        prefer: techniques("prefer", &args.prefer)?,
        exclude: techniques("exclude", &args.exclude)?,
        target_complexity: args
            .target_complexity
            .as_deref()
            .map(|c| c.parse::<Complexity>().context("--target-complexity"))
            .transpose()?,
        max_techniques: args.max_techniques,
    };
    let (db, cache) = super::connect::platform(settings, instance, super::connect::Role::Owner).await?;
    let service = super::connect::service(settings, db, cache).await?;
    let out = service.enhance(&req, &Requester::default()).await?;
    // The embedding is written in the background; wait for it before exiting.
    service.embeddings().flush().await;
    let e = &out.enhancement;
    let p = &e.analysis.prediction;
    if args.json {
        let techniques: Vec<_> = e
            .picks
            .iter()
            .map(|t| json!({"id": t.technique.as_str(), "score": t.score, "confidence": t.confidence, "reasoning": t.reason}))
            .collect();
        let report = json!({
            "id": out.id,
            "original_text": req.text,
            "enhanced_prompt": e.generated.text,
            "intent": p.intent.as_str(),
            "confidence": p.confidence,
            "intent_scores": intent_scores_json(&p.scores),
            "complexity": e.complexity.as_str(),
            "techniques": techniques,
            "techniques_used": e.picks.iter().map(|t| t.technique.as_str()).collect::<Vec<_>>(),
            "processing_time_ms": out.processing_time_ms,
            "metadata": {
                "tokens_used": e.generated.tokens,
                "model_version": e.model_version,
                "detected_complexity": e.analysis.complexity.level.as_str(),
                "cached_prediction": out.cached_prediction,
            },
        });
        println!("{report}");
    } else {
        println!(
            "intent:     {} ({:.0}% confident)",
            p.intent,
            p.confidence * 100.0
        );
        println!("complexity: {}", e.complexity);
        for t in &e.picks {
            println!(
                "technique:  {} (score {:.2}) - {}",
                t.technique, t.score, t.reason
            );
        }
        println!("\n{}\n", e.generated.text);
        println!(
            "enhanced in {:.1} ms with model {}; saved as history {}",
            out.processing_time_ms, e.model_version, out.id
        );
    }
    Ok(0)
}
