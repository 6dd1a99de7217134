//! Loading what the engine needs from PostgreSQL and Redis: training
//! examples, templates, preferences, effectiveness and cached predictions.

use std::time::Instant;

use bp_cache::{Cache, Namespace};
use bp_engine::classifier::MIN_EXAMPLES;
use bp_engine::data::bundled_examples;
use bp_engine::{
    Analysis, Complexity, Effectiveness, Engine, Example, Intent, IntentModel, IntentPrediction, Observed,
    Preferences, Technique, Templates, TrainParams,
};
use bp_store::Db;
use bp_store::analytics::technique_effectiveness;
use bp_store::intent_patterns::{list_intent_patterns, patterns_fingerprint};
use bp_store::preferences::get_preferences;
use bp_store::templates::{list_active_templates, templates_fingerprint};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ServiceError;

/// Where the model's training examples came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternSource {
    /// `prompts.intent_patterns`.
    Database,
    /// The table plus the shipped patterns (the table alone lacked an intent
    /// or had fewer than the minimum).
    DatabaseAndBundled,
    /// The shipped patterns (the table is empty).
    Bundled,
}

/// Days of effectiveness history the selector learns from.
const EFFECTIVENESS_DAYS: u32 = 90;

/// Read on the primary, as the templates are: two replicas at different
/// positions could pair a new fingerprint with old templates, and the
/// engine would keep the old ones until the next change.
pub(super) async fn fingerprints(db: &Db) -> Result<(String, String), ServiceError> {
    Ok((
        patterns_fingerprint(db.pool()).await?,
        templates_fingerprint(db.pool()).await?,
    ))
}

/// Trains from the table, falling back as [`PatternSource`] says.
pub(super) async fn train_model(
    db: &Db,
    sentence: Option<std::sync::Arc<bp_engine::minilm::StaticModel>>,
) -> Result<(IntentModel, PatternSource, f64), ServiceError> {
    let rows = list_intent_patterns(db.pool(), None, 0.0).await?;
    let stored: Vec<Example> = rows
        .into_iter()
        .filter_map(|r| {
            Some(Example {
                intent: r.intent.parse().ok()?,
                text: r.pattern,
            })
        })
        .collect();
    let complete =
        stored.len() >= MIN_EXAMPLES && Intent::ALL.iter().all(|i| stored.iter().any(|e| e.intent == *i));
    let (examples, source) = if stored.is_empty() {
        (bundled_examples(), PatternSource::Bundled)
    } else if complete {
        (stored, PatternSource::Database)
    } else {
        let mut all = bundled_examples();
        all.extend(stored);
        (all, PatternSource::DatabaseAndBundled)
    };
    let started = Instant::now();
    let model = tokio::task::spawn_blocking(move || {
        IntentModel::train_with(&examples, &TrainParams::default(), sentence)
    })
    .await
    .map_err(|e| ServiceError::TrainingTask(e.to_string()))??;
    Ok((model, source, started.elapsed().as_secs_f64() * 1000.0))
}

/// Active templates; the most effective one per technique wins (the list
/// is ordered that way). Rows naming unknown techniques are ignored.
pub(super) async fn load_templates(db: &Db) -> Result<Templates, ServiceError> {
    let rows = list_active_templates(db.pool(), None, None).await?;
    let mut templates = Templates::builtin();
    for row in rows.iter().rev() {
        if let Ok(t) = row.technique.parse::<Technique>() {
            templates.set(t, row.template_text.clone());
        }
    }
    Ok(templates)
}

/// What the prediction cache holds.
#[derive(Serialize, Deserialize)]
struct CachedPrediction {
    scores: Vec<(String, f64)>,
}

pub(super) async fn analyze_cached(cache: &Cache, engine: &Engine, text: &str) -> (Analysis, bool) {
    let version = engine.model().version();
    let complexity = bp_engine::complexity::analyze(text);
    let key = bp_cache::typed::PredictionKey::new(version, text);
    if let Some(hit) = cache.get_cached_prediction_at::<CachedPrediction>(&key).await {
        let scores: Vec<(Intent, f64)> = hit
            .scores
            .iter()
            .filter_map(|(i, p)| Some((i.parse().ok()?, *p)))
            .collect();
        if let Some((intent, confidence)) = scores.first().copied()
            && scores.len() == Intent::ALL.len()
        {
            return (
                Analysis {
                    prediction: IntentPrediction {
                        intent,
                        confidence,
                        scores,
                    },
                    complexity,
                },
                true,
            );
        }
    }
    let prediction = engine.model().classify(text);
    let record = CachedPrediction {
        scores: prediction
            .scores
            .iter()
            .map(|(i, p)| (i.as_str().to_string(), *p))
            .collect(),
    };
    // Not waited for: the answer does not depend on it, and a write that
    // is lost costs one more classification later. The request saves a
    // Redis round trip.
    let cache = cache.clone();
    tokio::spawn(async move {
        cache.cache_prediction_at(&key, &record).await;
    });
    (
        Analysis {
            prediction,
            complexity,
        },
        false,
    )
}

/// What the preferences cache holds.
#[derive(Serialize, Deserialize)]
struct CachedPreferences {
    preferred: Vec<String>,
    excluded: Vec<String>,
    complexity: Option<String>,
    /// `custom_settings.enhancement_level`.
    #[serde(default)]
    level: Option<String>,
    /// `custom_settings.keep_history` (absent: kept).
    #[serde(default)]
    keep_history: Option<bool>,
}

/// The user's enhancement preferences.
pub(super) async fn preferences(db: &Db, cache: &Cache, user: Uuid) -> Result<Preferences, ServiceError> {
    Ok(preferences_and_history(db, cache, user).await?.0)
}

/// The user's enhancement preferences, and whether new enhancements go into
/// their history; one cache read.
pub(super) async fn preferences_and_history(
    db: &Db,
    cache: &Cache,
    user: Uuid,
) -> Result<(Preferences, bool), ServiceError> {
    let key = user.to_string();
    let cached = match cache.get_cached_user_prefs::<CachedPreferences>(&key).await {
        Some(hit) => hit,
        None => {
            let mut conn = db.read_for(user).await?;
            let row = get_preferences(&mut *conn, user).await?;
            conn.finish().await?;
            let fresh = CachedPreferences {
                preferred: row.preferred_techniques,
                excluded: row.excluded_techniques,
                complexity: row.complexity_preference,
                level: row.custom_settings["enhancement_level"]
                    .as_str()
                    .map(str::to_owned),
                keep_history: row.custom_settings["keep_history"].as_bool(),
            };
            cache.cache_user_prefs(&key, &fresh).await;
            fresh
        }
    };
    let techniques = |ids: &[String]| ids.iter().filter_map(|t| t.parse::<Technique>().ok()).collect();
    Ok((
        Preferences {
            preferred: techniques(&cached.preferred),
            excluded: techniques(&cached.excluded),
            complexity: cached.complexity.and_then(|c| c.parse::<Complexity>().ok()),
            level: cached.level.and_then(|l| bp_engine::Level::parse(&l).ok()),
        },
        cached.keep_history.unwrap_or(true),
    ))
}

/// Measured outcomes for one intent, cached in the techniques namespace.
pub(super) async fn effectiveness(
    db: &Db,
    cache: &Cache,
    intent: Intent,
) -> Result<Effectiveness, ServiceError> {
    let parts = crate::keys::effectiveness(intent.as_str());
    let rows: Vec<(String, u64, u64)> = match cache.fetch(Namespace::Techniques, &parts).await {
        Some(hit) => hit,
        None => {
            let summaries = bp_store::reading!(db, pool => technique_effectiveness(pool, EFFECTIVENESS_DAYS, 1, Some(intent.as_str())))?;
            let rows: Vec<(String, u64, u64)> = summaries
                .into_iter()
                .map(|s| {
                    (
                        s.technique,
                        s.total_count.max(0) as u64,
                        s.success_count.max(0) as u64,
                    )
                })
                .collect();
            cache.put(Namespace::Techniques, &parts, &rows).await;
            rows
        }
    };
    Ok(rows
        .into_iter()
        .filter_map(|(t, uses, successes)| Some(((t.parse().ok()?, intent), Observed { uses, successes })))
        .collect())
}
