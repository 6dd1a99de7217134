//! The technique catalogue with what the system has learned about each
//! technique: overall and per-intent success from rated enhancements
//! (`GET /techniques`, cached), and one technique's figures over a period
//! (`POST /feedback/effectiveness`).

use std::collections::BTreeMap;

use bp_cache::{Cache, Namespace};
use bp_engine::{Intent, Technique};
use bp_store::Db;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ServiceError;

/// Days of outcomes the catalogue summarises.
pub const CATALOGUE_DAYS: u32 = 90;

/// Measured success of a technique for one intent.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct IntentEffectiveness {
    /// Share of ratings at or above the success rating.
    pub success_rate: f64,
    /// Rated enhancements.
    pub sample_size: i64,
    /// Mean rating, 1 to 5.
    pub average_rating: Option<f64>,
}

/// Measured success of a technique.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TechniqueEffectiveness {
    /// Share of successful ratings over every intent; null before any rating.
    pub overall: Option<f64>,
    /// Rated enhancements.
    pub sample_size: i64,
    /// Per intent id.
    pub by_intent: BTreeMap<String, IntentEffectiveness>,
}

/// One technique of the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct CatalogueEntry {
    /// Technique id (`chain_of_thought`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Family (`reasoning`, `examples`, ...).
    pub category: String,
    /// What it does.
    pub description: String,
    /// Complexities it suits.
    pub complexity: Vec<String>,
    /// Example prompts it helps.
    pub examples: Vec<String>,
    /// What ratings say of it.
    pub effectiveness: TechniqueEffectiveness,
}

/// `GET /techniques`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Catalogue {
    /// Number of techniques.
    pub total: usize,
    /// The techniques.
    pub techniques: Vec<CatalogueEntry>,
}

/// The catalogue with effectiveness over [`CATALOGUE_DAYS`], from the cache
/// when it holds it.
pub async fn catalogue(db: &Db, cache: &Cache) -> Result<Catalogue, ServiceError> {
    if let Some(hit) = cache
        .fetch::<Catalogue>(Namespace::Techniques, crate::keys::CATALOGUE)
        .await
    {
        return Ok(hit);
    }
    let measured = bp_store::reading!(db, pool => bp_store::analytics::technique_effectiveness(pool, CATALOGUE_DAYS, 1, None))?;
    let techniques: Vec<CatalogueEntry> = bp_engine::catalogue::CATALOGUE
        .iter()
        .map(|t| {
            let id = t.technique.as_str();
            let rows: Vec<_> = measured.iter().filter(|m| m.technique == id).collect();
            let total: i64 = rows.iter().map(|r| r.total_count).sum();
            let success: i64 = rows.iter().map(|r| r.success_count).sum();
            CatalogueEntry {
                id: id.to_owned(),
                name: t.name.to_owned(),
                category: t.category.to_owned(),
                description: t.description.to_owned(),
                complexity: t.complexities.iter().map(|c| c.as_str().to_owned()).collect(),
                examples: t.examples.iter().map(|e| (*e).to_owned()).collect(),
                effectiveness: TechniqueEffectiveness {
                    overall: (total > 0).then(|| success as f64 / total as f64),
                    sample_size: total,
                    by_intent: rows
                        .iter()
                        .map(|r| {
                            (
                                r.intent.clone(),
                                IntentEffectiveness {
                                    success_rate: r.success_rate,
                                    sample_size: r.total_count,
                                    average_rating: r.average_feedback,
                                },
                            )
                        })
                        .collect(),
                },
            }
        })
        .collect();
    let answer = Catalogue {
        total: techniques.len(),
        techniques,
    };
    let _ = cache
        .put(Namespace::Techniques, crate::keys::CATALOGUE, &answer)
        .await;
    Ok(answer)
}

/// `POST /feedback/effectiveness`: one technique's figures.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct EffectivenessReport {
    /// Technique id.
    pub technique: String,
    /// The intent asked about, if any.
    pub intent: Option<String>,
    /// 0..=1: half the normalised mean rating, half the success share.
    pub effectiveness_score: f64,
    /// Mean rating, 1 to 5.
    pub average_rating: Option<f64>,
    /// Share of successful ratings.
    pub positive_ratio: f64,
    /// Share of the others.
    pub negative_ratio: f64,
    /// How much the figures can be trusted (n / (n + 20)).
    pub confidence: f64,
    /// Rated enhancements.
    pub sample_size: i64,
    /// Days covered.
    pub period_days: u32,
    /// When computed.
    pub last_updated: DateTime<Utc>,
}

/// The figures of `technique` (for `intent`, or every intent) over `days`.
pub async fn effectiveness(
    db: &Db,
    technique: Technique,
    intent: Option<Intent>,
    days: u32,
) -> Result<EffectivenessReport, ServiceError> {
    let rows = bp_store::reading!(db, pool => bp_store::analytics::technique_effectiveness(pool, days, 1, intent.map(Intent::as_str)))?;
    let rows: Vec<_> = rows
        .iter()
        .filter(|r| r.technique == technique.as_str())
        .collect();
    let total: i64 = rows.iter().map(|r| r.total_count).sum();
    let success: i64 = rows.iter().map(|r| r.success_count).sum();
    let rated: Vec<(f64, i64)> = rows
        .iter()
        .filter_map(|r| r.average_feedback.map(|a| (a, r.total_count)))
        .collect();
    let weight: i64 = rated.iter().map(|(_, n)| n).sum();
    let average = (weight > 0).then(|| rated.iter().map(|(a, n)| a * *n as f64).sum::<f64>() / weight as f64);
    let positive = if total > 0 {
        success as f64 / total as f64
    } else {
        0.0
    };
    Ok(EffectivenessReport {
        technique: technique.as_str().to_owned(),
        intent: intent.map(|i| i.as_str().to_owned()),
        effectiveness_score: average.map_or(positive, |a| (a - 1.0) / 4.0 * 0.5 + positive * 0.5),
        average_rating: average,
        positive_ratio: positive,
        negative_ratio: if total > 0 { 1.0 - positive } else { 0.0 },
        confidence: total as f64 / (total as f64 + 20.0),
        sample_size: total,
        period_days: days,
        last_updated: Utc::now(),
    })
}
