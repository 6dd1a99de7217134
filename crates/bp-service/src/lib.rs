//! The enhancement service: the layer between the pure engine
//! (`bp-engine`) and the data platform, with no HTTP in it; the API's
//! controllers and the CLI both call it. It trains the intent model from
//! `prompts.intent_patterns` (the shipped patterns when the table is
//! empty), keeps templates from `prompts.templates` in memory, reads
//! preferences and measured effectiveness through the Redis caches, saves
//! every enhancement to `prompts.history` and queues its embedding.
//!
//! The engine is replaced whole (an `Arc` swap) when patterns or templates
//! change; [`EnhanceService::refresh_if_changed`] polls cheap fingerprints
//! of both tables, and a new model version invalidates the cached
//! predictions (the cache's `ModelUpdate` trigger), whose keys also carry
//! the version.

pub mod answer;
pub mod catalogue;
pub mod embedding;
pub mod feedback;
pub mod group;
pub mod keys;
mod loading;
pub mod model;

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bp_cache::{Cache, Invalidation};
use bp_engine::{
    Analysis, Engine, EnhanceContext, EnhanceRequest, Enhancement, Intent, PromptText, TechniqueLimit,
    TrainError,
};
use bp_store::embeddings::{Embedding, SourceType};
use bp_store::history::{NewPromptHistory, save_history};
use bp_store::{Db, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

pub use answer::{EnhanceAnswer, intent_scores};
pub use embedding::{EmbeddingQueue, OpenAiEmbedder};
pub use loading::PatternSource;

/// The embedder `config` names: the sentence model (falling back to the
/// lexical embedder when it is not installed, with a warning naming the
/// install step), the lexical one, or an OpenAI-compatible provider.
pub fn embedder_from_config(
    config: &bp_config::EngineConfig,
) -> Result<Arc<dyn bp_engine::embed::Embedder>, bp_engine::embed::EmbedError> {
    Ok(match &config.embeddings {
        bp_config::EmbeddingProvider::Local => {
            let (embedder, state) = model::local_embedder(&config.model_dir);
            match state {
                model::ModelState::Loaded(_) => tracing::info!("sentence model: {}", state.describe()),
                _ => tracing::warn!("sentence model: {}", state.describe()),
            }
            embedder
        }
        bp_config::EmbeddingProvider::Lexical => Arc::new(bp_engine::embed::LocalEmbedder),
        bp_config::EmbeddingProvider::OpenAi { url, model, api_key } => {
            Arc::new(OpenAiEmbedder::new(url, model, api_key.clone())?)
        }
    })
}

/// Why an enhancement or a retraining failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is unusable; nothing was stored.
    #[error(transparent)]
    Invalid(#[from] bp_engine::InputError),
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The model could not be trained.
    #[error("training failed: {0}")]
    Train(#[from] TrainError),
    /// The training task died (a server fault, not the request's).
    #[error("training task failed: {0}")]
    TrainingTask(String),
    /// The embedding provider failed.
    #[error("embedding failed: {0}")]
    Embedding(String),
}

/// Who is asking (for preferences and history ownership).
#[derive(Debug, Clone, Default)]
pub struct Requester {
    /// The signed-in user, if any.
    pub user_id: Option<Uuid>,
    /// The request id stored with the history row.
    pub request_id: Option<String>,
    /// The client's session id.
    pub session_id: Option<String>,
}

impl Requester {
    /// Who the history row is saved for: this requester, or, when the user
    /// turned the history off, nobody (the row is kept as a visitor's is,
    /// without the user or the session).
    fn keeping_history(&self, keep: bool) -> Requester {
        if keep {
            self.clone()
        } else {
            Requester {
                user_id: None,
                request_id: self.request_id.clone(),
                session_id: None,
            }
        }
    }
}

/// A saved enhancement.
#[derive(Debug, Clone)]
pub struct EnhanceOutcome {
    /// The `prompts.history` row id.
    pub id: Uuid,
    /// When it was saved.
    pub created_at: Option<DateTime<Utc>>,
    /// What the engine decided and wrote.
    pub enhancement: Enhancement,
    /// Time spent in the service, in milliseconds.
    pub processing_time_ms: f64,
    /// Whether the intent came from the prediction cache.
    pub cached_prediction: bool,
}

/// The outcome of a retraining.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrained {
    /// The new model version.
    pub version: String,
    /// The version it replaced.
    pub previous: String,
    /// Examples trained on.
    pub examples: usize,
    /// Where they came from.
    pub source: PatternSource,
    /// Training time in milliseconds.
    pub train_ms: f64,
}

/// See the module docs.
#[derive(Debug)]
pub struct EnhanceService {
    db: Db,
    cache: Cache,
    engine: RwLock<Arc<Engine>>,
    source: Mutex<PatternSource>,
    fingerprints: tokio::sync::Mutex<(String, String)>,
    embeddings: EmbeddingQueue,
    embedder: Arc<dyn bp_engine::embed::Embedder>,
    history: group::GroupCommit,
}

impl EnhanceService {
    /// Trains the model, loads the templates and starts the embedding writer.
    pub async fn start(
        db: Db,
        cache: Cache,
        embedder: Arc<dyn bp_engine::embed::Embedder>,
    ) -> Result<Arc<Self>, ServiceError> {
        Self::start_with(db, cache, embedder, embedding::WriterOptions::default()).await
    }

    /// [`EnhanceService::start`] with the embedding writer's options.
    pub async fn start_with(
        db: Db,
        cache: Cache,
        embedder: Arc<dyn bp_engine::embed::Embedder>,
        writer: embedding::WriterOptions,
    ) -> Result<Arc<Self>, ServiceError> {
        let fingerprints = loading::fingerprints(&db).await?;
        let (model, source, _) = loading::train_model(&db, embedder.sentence_model()).await?;
        let templates = loading::load_templates(&db).await?;
        let embeddings = EmbeddingQueue::spawn_with(db.clone(), embedder.clone(), writer);
        // Templates are searchable too; re-embedding them at each start is
        // an idempotent upsert of a few rows.
        for t in bp_store::reading!(db, pool => bp_store::templates::list_active_templates(pool, None, None))?
        {
            let text = [
                t.name.as_str(),
                t.description.as_deref().unwrap_or(""),
                t.template_text.as_str(),
            ];
            embeddings.push(SourceType::Template, t.id, &text.join("\n"));
        }
        Ok(Arc::new(EnhanceService {
            cache,
            engine: RwLock::new(Arc::new(Engine::new(model, templates))),
            source: Mutex::new(source),
            fingerprints: tokio::sync::Mutex::new(fingerprints),
            embeddings,
            embedder,
            history: group::GroupCommit::spawn(db.clone()),
            db,
        }))
    }

    /// The current engine (model and templates).
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn swap(&self, engine: Engine) {
        *self.engine.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(engine);
    }

    /// Where the current model's training data came from.
    pub fn pattern_source(&self) -> PatternSource {
        *self.source.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The group commit that writes anonymous history rows.
    pub fn history_writer(&self) -> &group::GroupCommit {
        &self.history
    }

    /// The embedding writer.
    pub fn embeddings(&self) -> &EmbeddingQueue {
        &self.embeddings
    }

    /// The model name of the embedder behind search (`local-lexical-768`, or
    /// the provider's model).
    pub fn embedder_model(&self) -> &str {
        self.embedder.model()
    }

    /// The vector of a search query, from the same embedder as the stored ones.
    pub async fn embed_query(&self, text: &str) -> Result<Embedding, ServiceError> {
        let texts = [text.to_owned()];
        let mut vectors = self
            .embedder
            .embed(&texts)
            .await
            .map_err(|e| ServiceError::Embedding(e.to_string()))?;
        let vector = vectors
            .pop()
            .ok_or_else(|| ServiceError::Embedding("the embedder returned no vector".into()))?;
        Ok(Embedding::new(vector)?)
    }

    /// Retrains from the current patterns; a new version replaces the
    /// model and invalidates cached predictions.
    pub async fn retrain(&self) -> Result<Retrained, ServiceError> {
        let previous = self.engine().model().version().to_string();
        let (model, source, train_ms) =
            loading::train_model(&self.db, self.embedder.sentence_model()).await?;
        let version = model.version().to_string();
        let examples = model.examples();
        *self.source.lock().unwrap_or_else(PoisonError::into_inner) = source;
        if version != previous {
            let templates = self.engine().templates().clone();
            self.swap(Engine::new(model, templates));
            if let Err(e) = self.cache.invalidate(Invalidation::ModelUpdate).await {
                // Old predictions are keyed by the old version, so none can be
                // served for the new model; this only frees memory early.
                tracing::warn!(error = %e, "could not invalidate cached predictions");
            }
            tracing::info!(%version, %previous, examples, "intent model retrained");
        }
        Ok(Retrained {
            version,
            previous,
            examples,
            source,
            train_ms,
        })
    }

    /// Reloads templates from the database.
    pub async fn reload_templates(&self) -> Result<usize, ServiceError> {
        let templates = loading::load_templates(&self.db).await?;
        let n = templates.len();
        let engine = self.engine().with_templates(templates);
        self.swap(engine);
        Ok(n)
    }

    /// Retrains and/or reloads when the pattern or template tables changed
    /// since the last check; returns whether anything was reloaded.
    pub async fn refresh_if_changed(&self) -> Result<bool, ServiceError> {
        let mut last = self.fingerprints.lock().await;
        let now = loading::fingerprints(&self.db).await?;
        let mut changed = false;
        if now.0 != last.0 {
            self.retrain().await?;
            changed = true;
        }
        if now.1 != last.1 {
            self.reload_templates().await?;
            changed = true;
        }
        *last = now;
        Ok(changed)
    }

    /// Checks for changed patterns and templates every `every` until the
    /// service is dropped.
    pub fn spawn_refresh(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(service) = weak.upgrade() else { break };
                if let Err(e) = service.refresh_if_changed().await {
                    tracing::warn!(error = %e, "engine refresh failed; keeping the current model");
                }
            }
        })
    }

    /// Classifies `text` (through the prediction cache) and measures its
    /// complexity. Returns whether the prediction was cached.
    pub async fn analyze(&self, text: &PromptText) -> Result<(Analysis, bool), ServiceError> {
        let engine = self.engine();
        Ok(loading::analyze_cached(&self.cache, &engine, text).await)
    }

    /// Saves one history row, scoped to its user when there is one and row
    /// security is on; other rows go through the group commit (see
    /// [`group`]).
    async fn save(&self, row: &NewPromptHistory) -> Result<bp_store::history::PromptHistory, StoreError> {
        match row.user_id {
            Some(user) if self.db.row_security() => {
                let mut conn = self.db.for_user(user).await?;
                let saved = save_history(&mut *conn, row).await?;
                conn.finish().await?;
                Ok(saved)
            }
            _ => self.history.save(row.clone()).await,
        }
    }

    /// Enhances `req` and saves it to the history (anonymous requests too).
    pub async fn enhance(
        &self,
        req: &EnhanceRequest,
        who: &Requester,
    ) -> Result<EnhanceOutcome, ServiceError> {
        let started = Instant::now();
        let (enhancement, cached_prediction, keep) = self.compute(req, who).await?;
        let processing_time_ms = started.elapsed().as_secs_f64() * 1000.0;
        let who = &who.keeping_history(keep);
        let row = history_row(req, who, &enhancement, processing_time_ms);
        let saved = match self.save(&row).await {
            // A client reused its X-Request-ID: keep the row under a fresh one.
            Err(StoreError::Conflict { constraint }) if constraint.contains("request_id") => {
                let mut row = row;
                row.request_id = Some(Uuid::new_v4().to_string());
                self.save(&row).await?
            }
            other => other?,
        };
        // Only a user's own history is searchable (see controllers::search):
        // an anonymous row's embedding could never be found.
        if who.user_id.is_some() {
            self.embeddings
                .push(SourceType::PromptHistory, saved.id, &req.text);
        }
        Ok(EnhanceOutcome {
            id: saved.id,
            created_at: saved.created_at,
            enhancement,
            processing_time_ms,
            cached_prediction,
        })
    }

    /// Enhances `req` as an anonymous caller and returns the history row it
    /// would save, without saving it (seed data written in the caller's
    /// transaction).
    pub async fn prepare(&self, req: &EnhanceRequest) -> Result<NewPromptHistory, ServiceError> {
        let who = Requester::default();
        let started = Instant::now();
        let (enhancement, _, _) = self.compute(req, &who).await?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok(history_row(req, &who, &enhancement, ms))
    }

    /// Enhances up to [`bp_store::history::MAX_BATCH`] prompts and writes
    /// their history rows in one statement (all or none). Every request is
    /// validated before any work is done.
    pub async fn enhance_batch(
        &self,
        reqs: &[EnhanceRequest],
        who: &Requester,
    ) -> Result<Vec<EnhanceOutcome>, ServiceError> {
        let mut done = Vec::with_capacity(reqs.len());
        let mut rows = Vec::with_capacity(reqs.len());
        let batch_id = Uuid::new_v4();
        for (i, req) in reqs.iter().enumerate() {
            let started = Instant::now();
            let (enhancement, cached, keep) = self.compute(req, who).await?;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let mut row = history_row(req, &who.keeping_history(keep), &enhancement, ms);
            row.request_id = Some(format!("{batch_id}-{i}"));
            rows.push(row);
            done.push((enhancement, ms, cached));
        }
        // The rows are all the user's, or (history off) all without the user.
        let ids = match rows.first().and_then(|r| r.user_id) {
            Some(user) => {
                let mut conn = self.db.for_user(user).await?;
                let ids = bp_store::history::save_history_batch(&mut *conn, &rows).await?;
                conn.finish().await?;
                ids
            }
            None => bp_store::history::save_history_batch(self.db.pool(), &rows).await?,
        };
        let now = Some(Utc::now());
        Ok(done
            .into_iter()
            .zip(ids)
            .zip(reqs)
            .zip(&rows)
            .map(|((((enhancement, ms, cached), id), req), row)| {
                if row.user_id.is_some() {
                    self.embeddings.push(SourceType::PromptHistory, id, &req.text);
                }
                EnhanceOutcome {
                    id,
                    created_at: now,
                    enhancement,
                    processing_time_ms: ms,
                    cached_prediction: cached,
                }
            })
            .collect())
    }

    /// Ranks techniques for `text` without generating or saving anything;
    /// `intent` and `complexity` override the measured ones.
    pub async fn select(
        &self,
        text: &PromptText,
        intent: Option<Intent>,
        complexity: Option<bp_engine::Complexity>,
        max_techniques: TechniqueLimit,
        user: Option<Uuid>,
    ) -> Result<(Analysis, Vec<bp_engine::selection::Pick>), ServiceError> {
        let engine = self.engine();
        let (analysis, _) = loading::analyze_cached(&self.cache, &engine, text).await;
        let preferences = match user {
            Some(user) => loading::preferences(&self.db, &self.cache, user).await?,
            None => Default::default(),
        };
        let top = intent.unwrap_or(analysis.prediction.intent);
        let scores = match intent {
            Some(intent) => vec![(intent, 1.0)],
            None => analysis.prediction.scores.clone(),
        };
        let effectiveness = loading::effectiveness(&self.db, &self.cache, top).await?;
        let complexity = complexity.unwrap_or(analysis.complexity.level);
        let confidence = if intent.is_some() {
            1.0
        } else {
            analysis.prediction.confidence
        };
        let forbidden: Vec<bp_engine::Technique> = engine
            .gate(
                text,
                top,
                confidence,
                complexity,
                preferences.level.unwrap_or_default(),
            )
            .iter()
            .map(|f| f.technique)
            .collect();
        let picks = bp_engine::selection::select(&bp_engine::selection::SelectionRequest {
            text,
            intent_scores: &scores,
            complexity,
            max_techniques: max_techniques.get(),
            prefer: &[],
            exclude: &[],
            forbidden: &forbidden,
            preferences: &preferences,
            effectiveness: &effectiveness,
        });
        Ok((analysis, picks))
    }

    /// Classifies, loads the user's context and enhances, without saving;
    /// also whether the user keeps a history (true for anonymous callers,
    /// whose rows are saved without a user anyway).
    async fn compute(
        &self,
        req: &EnhanceRequest,
        who: &Requester,
    ) -> Result<(Enhancement, bool, bool), ServiceError> {
        let engine = self.engine();
        let (analysis, cached_prediction) = loading::analyze_cached(&self.cache, &engine, &req.text).await;
        let (preferences, keep_history) = match who.user_id {
            Some(user) => loading::preferences_and_history(&self.db, &self.cache, user).await?,
            None => (Default::default(), true),
        };
        let effectiveness = loading::effectiveness(&self.db, &self.cache, analysis.prediction.intent).await?;
        let enhancement = engine.enhance_analyzed(
            req,
            analysis,
            EnhanceContext {
                preferences: &preferences,
                effectiveness: &effectiveness,
            },
        );
        Ok((enhancement, cached_prediction, keep_history))
    }
}

fn history_row(req: &EnhanceRequest, who: &Requester, e: &Enhancement, ms: f64) -> NewPromptHistory {
    let scores: serde_json::Map<String, serde_json::Value> = e
        .picks
        .iter()
        .map(|p| (p.technique.as_str().to_string(), json!(p.score)))
        .collect();
    NewPromptHistory {
        user_id: who.user_id,
        session_id: who.session_id.clone(),
        request_id: who.request_id.clone(),
        original_input: req.text.as_str().to_owned(),
        enhanced_output: e.generated.text.clone(),
        intent: Some(e.analysis.prediction.intent.as_str().to_string()),
        intent_confidence: Some(e.analysis.prediction.confidence),
        complexity: Some(e.complexity.as_str().to_string()),
        techniques_used: e.picks.iter().map(|p| p.technique.as_str().to_string()).collect(),
        technique_scores: Some(serde_json::Value::Object(scores)),
        processing_time_ms: Some(ms.round() as i32),
        token_count: i32::try_from(e.generated.tokens).ok(),
        model_used: Some(e.model_version.clone()),
        metadata: Some(json!({
            "model_version": e.model_version,
            "detected_complexity": e.analysis.complexity.level.as_str(),
            "complexity_score": e.analysis.complexity.score,
            "reasons": e.picks.iter().map(|p| json!({"technique": p.technique.as_str(), "reason": p.reason})).collect::<Vec<_>>(),
        })),
    }
}
