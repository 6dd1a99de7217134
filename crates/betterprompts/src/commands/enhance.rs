//! `betterprompts enhance "TEXT" [--json]`: one enhancement through the same
//! service the API uses (cached prediction, templates, effectiveness),
//! saved to the history as an anonymous request.

use anyhow::Context;
use bp_config::Settings;
use bp_engine::{Complexity, EnhanceRequest, Level, PromptText, TechniqueLimit, TechniqueList};
use bp_service::{EnhanceAnswer, Requester};

use crate::cli::EnhanceArgs;

fn techniques(field: &'static str, ids: &[String]) -> anyhow::Result<TechniqueList> {
    let ids: Vec<String> = ids.iter().filter(|s| !s.trim().is_empty()).cloned().collect();
    Ok(TechniqueList::parse(field, &ids)?)
}

/// Enhances `args.text` and prints the result.
pub async fn run(settings: &Settings, instance: Option<&str>, args: EnhanceArgs) -> anyhow::Result<u8> {
    let req = EnhanceRequest {
        text: PromptText::parse(&args.text)?,
        prefer: techniques("--prefer", &args.prefer)?,
        exclude: techniques("--exclude", &args.exclude)?,
        target_complexity: args
            .target_complexity
            .as_deref()
            .map(|c| c.parse::<Complexity>().context("--target-complexity"))
            .transpose()?,
        max_techniques: match args.max_techniques {
            Some(n) => TechniqueLimit::new(n)?,
            None => TechniqueLimit::DEFAULT,
        },
        level: args.level.as_deref().map(Level::parse).transpose()?,
    };
    let (db, cache) = super::connect::platform(settings, instance, super::connect::Role::Owner).await?;
    let service = super::connect::service(settings, db, cache).await?;
    let out = service.enhance(&req, &Requester::default()).await?;
    // The embedding is written in the background; wait for it before exiting.
    service.embeddings().flush().await;
    let e = &out.enhancement;
    let p = &e.analysis.prediction;
    if args.json {
        println!("{}", serde_json::to_string(&EnhanceAnswer::new(&req.text, &out))?);
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
