//! Embeddings written after an enhancement without delaying its response:
//! [`EmbeddingQueue`] is a bounded channel to one background task that
//! takes whatever has queued up (up to [`BATCH`] texts), embeds them in one
//! provider call and stores them in one `upsert_embeddings` transaction.
//! When the queue is full a job is dropped and counted, never awaited: the
//! request is never slowed by it. Nothing is lost that way, because the same
//! task sweeps the history for signed-in rows that have no embedding
//! (dropped, failed, or queued by a process that crashed) whenever the
//! queue is idle after a drop or a failure, and every [`SWEEP_EVERY`]
//! otherwise; the first sweep after start covers the whole history.
//! [`OpenAiEmbedder`] is the OpenAI-compatible HTTP provider.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bp_config::Secret;
use bp_engine::embed::{BoxFuture, DIMENSIONS, EmbedError, Embedder};
use bp_store::Db;
use bp_store::embeddings::{Embedding, NewEmbedding, SourceType, upsert_embeddings};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Jobs waiting before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 4_096;

/// Most texts embedded and stored together.
pub const BATCH: usize = 64;

/// Longest text sent to the embedder, in characters.
pub const MAX_EMBED_CHARS: usize = 8_000;

/// How often the writer sweeps for history rows without an embedding when
/// nothing was dropped or failed.
pub const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// How far before the last clean sweep's start the next one looks again:
/// a row's `created_at` is its transaction's start, which can precede its
/// commit (and the sweep that should have seen it).
const SWEEP_OVERLAP: chrono::Duration = chrono::Duration::minutes(2);

enum Job {
    Embed {
        source_type: SourceType,
        source_id: Uuid,
        text: String,
    },
    Flush(oneshot::Sender<()>),
}

/// Counters of the embedding writer.
#[derive(Debug, Default)]
pub struct EmbeddingStats {
    /// Embeddings stored.
    pub stored: AtomicU64,
    /// Jobs dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Jobs lost to provider or database errors.
    pub failed: AtomicU64,
    /// Rows the sweep found without an embedding and embedded.
    pub swept: AtomicU64,
    /// Sweeps completed.
    pub sweeps: AtomicU64,
}

/// The sending side of the background embedding writer.
#[derive(Debug, Clone)]
pub struct EmbeddingQueue {
    tx: mpsc::Sender<Job>,
    stats: Arc<EmbeddingStats>,
}

/// How the writer is sized and how often it sweeps.
#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    /// Jobs waiting before new ones are dropped (at least 1).
    pub capacity: usize,
    /// Sweep interval when nothing was lost.
    pub sweep_every: Duration,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            capacity: QUEUE_CAPACITY,
            sweep_every: SWEEP_EVERY,
        }
    }
}

impl EmbeddingQueue {
    /// Starts the writer task with the default options; it ends when every
    /// queue handle is dropped, after writing what was queued.
    pub fn spawn(db: Db, embedder: Arc<dyn Embedder>) -> Self {
        Self::spawn_with(db, embedder, WriterOptions::default())
    }

    /// [`EmbeddingQueue::spawn`] with other options (tests use a tiny queue).
    pub fn spawn_with(db: Db, embedder: Arc<dyn Embedder>, options: WriterOptions) -> Self {
        let (tx, rx) = mpsc::channel(options.capacity.max(1));
        let stats = Arc::new(EmbeddingStats::default());
        tokio::spawn(run(rx, db, embedder, stats.clone(), options.sweep_every));
        EmbeddingQueue { tx, stats }
    }

    /// Queues one text; returns at once (false when the queue was full).
    pub fn push(&self, source_type: SourceType, source_id: Uuid, text: &str) -> bool {
        let job = Job::Embed {
            source_type,
            source_id,
            text: text.to_owned(),
        };
        if self.tx.try_send(job).is_ok() {
            true
        } else {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("embedding queue full; an embedding was dropped");
            false
        }
    }

    /// Waits until everything queued before this call is written (or failed).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Job::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// The writer's counters.
    pub fn stats(&self) -> &EmbeddingStats {
        &self.stats
    }
}

async fn run(
    mut rx: mpsc::Receiver<Job>,
    db: Db,
    embedder: Arc<dyn Embedder>,
    stats: Arc<EmbeddingStats>,
    sweep_every: Duration,
) {
    let mut sweep = Sweep::default();
    // The first tick is immediate: a sweep of the whole history at start.
    let mut tick = tokio::time::interval(sweep_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            job = rx.recv() => match job {
                Some(job) => job,
                None => break,
            },
            _ = tick.tick() => {
                sweep.run(&db, embedder.as_ref(), &stats, &rx).await;
                continue;
            }
        };
        let mut jobs = vec![first];
        while jobs.len() < BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let mut sources = Vec::new();
        let mut texts = Vec::new();
        let mut flushes = Vec::new();
        for job in jobs {
            match job {
                Job::Embed {
                    source_type,
                    source_id,
                    text,
                } => {
                    sources.push((source_type, source_id));
                    texts.push(text);
                }
                Job::Flush(done) => flushes.push(done),
            }
        }
        if !texts.is_empty() {
            match write(&db, embedder.as_ref(), &sources, &texts).await {
                Ok(n) => {
                    stats.stored.fetch_add(n, Ordering::Relaxed);
                }
                Err(e) => {
                    stats.failed.fetch_add(texts.len() as u64, Ordering::Relaxed);
                    tracing::warn!(error = %e, count = texts.len(), "embeddings not stored; the sweep retries them");
                }
            }
        }
        // Idle after a loss: catch up at once rather than at the next tick.
        if rx.is_empty() && sweep.behind(&stats) {
            sweep.run(&db, embedder.as_ref(), &stats, &rx).await;
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Where the sweep for rows without an embedding stands.
#[derive(Debug, Default)]
struct Sweep {
    /// Start of the last sweep that embedded everything it found; `None`
    /// until one did (the next sweep covers the whole history).
    clean_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Drops and failures already answered by a sweep.
    losses_seen: u64,
}

impl Sweep {
    fn losses(stats: &EmbeddingStats) -> u64 {
        stats.dropped.load(Ordering::Relaxed) + stats.failed.load(Ordering::Relaxed)
    }

    /// Whether jobs were lost since the last sweep started.
    fn behind(&self, stats: &EmbeddingStats) -> bool {
        Self::losses(stats) > self.losses_seen
    }

    /// Embeds every signed-in history row without an embedding made since
    /// the last clean sweep (less an overlap), a page at a time; stops early
    /// when jobs are waiting, leaving the rest for the next sweep.
    async fn run(
        &mut self,
        db: &Db,
        embedder: &dyn Embedder,
        stats: &EmbeddingStats,
        rx: &mpsc::Receiver<Job>,
    ) {
        let started = chrono::Utc::now();
        let losses_at_start = Self::losses(stats);
        let mut skipped = 0;
        let mut cursor = (
            self.clean_since
                .map_or(chrono::DateTime::UNIX_EPOCH, |t| t - SWEEP_OVERLAP),
            Uuid::nil(),
        );
        let mut clean = true;
        loop {
            if !rx.is_empty() {
                clean = false;
                break;
            }
            let page = match bp_store::embeddings::missing_embeddings(
                db.pool(),
                SourceType::PromptHistory,
                cursor,
                BATCH as i64,
            )
            .await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "embedding sweep could not read the history");
                    clean = false;
                    break;
                }
            };
            let Some(last) = page.last() else { break };
            cursor = (last.created_at, last.id);
            let full = page.len() == BATCH;
            let sources: Vec<_> = page.iter().map(|r| (SourceType::PromptHistory, r.id)).collect();
            let texts: Vec<String> = page.into_iter().map(|r| r.text).collect();
            match write(db, embedder, &sources, &texts).await {
                Ok(n) => {
                    stats.swept.fetch_add(n, Ordering::Relaxed);
                    stats.stored.fetch_add(n, Ordering::Relaxed);
                }
                Err(e) => {
                    // One row the provider or the database refuses must not
                    // hold back the rows after it: retry one at a time, skip
                    // (and count) the ones that fail, and move on.
                    tracing::warn!(error = %e, count = texts.len(), "embedding sweep page failed; retrying row by row");
                    clean = false;
                    for (source, text) in sources.iter().zip(&texts) {
                        match write(
                            db,
                            embedder,
                            std::slice::from_ref(source),
                            std::slice::from_ref(text),
                        )
                        .await
                        {
                            Ok(n) => {
                                stats.swept.fetch_add(n, Ordering::Relaxed);
                                stats.stored.fetch_add(n, Ordering::Relaxed);
                            }
                            Err(e) => {
                                stats.failed.fetch_add(1, Ordering::Relaxed);
                                skipped += 1;
                                tracing::warn!(error = %e, id = %source.1, "a history row could not be embedded; skipped");
                            }
                        }
                    }
                }
            }
            if !full {
                break;
            }
        }
        if clean {
            self.clean_since = Some(started);
        }
        // Jobs dropped while this sweep ran are news for the next one; the
        // rows it skipped itself are not.
        self.losses_seen = losses_at_start + skipped;
        stats.sweeps.fetch_add(1, Ordering::Relaxed);
    }
}

async fn write(
    db: &Db,
    embedder: &dyn Embedder,
    sources: &[(SourceType, Uuid)],
    texts: &[String],
) -> Result<u64, String> {
    // A provider has a token limit per text; the start of a long prompt is
    // what search needs (about 2,000 tokens).
    let texts: Vec<String> = texts
        .iter()
        .map(|t| t.chars().take(MAX_EMBED_CHARS).collect())
        .collect();
    let vectors = embedder.embed(&texts).await.map_err(|e| e.to_string())?;
    let model: String = embedder.model().chars().take(50).collect();
    let mut rows = Vec::with_capacity(vectors.len());
    for ((source_type, source_id), v) in sources.iter().zip(vectors) {
        if v.iter().all(|x| *x == 0.0) {
            continue; // a text without words has no direction to search by
        }
        rows.push(NewEmbedding {
            source_type: *source_type,
            source_id: *source_id,
            embedding: Embedding::new(v).map_err(|e| e.to_string())?,
            model_version: Some(model.clone()),
        });
    }
    upsert_embeddings(db.pool(), &rows)
        .await
        .map_err(|e| e.to_string())
}

/// An OpenAI-compatible `/v1/embeddings` provider (OpenAI, Ollama,
/// vLLM, ...), asking for [`DIMENSIONS`] dimensions.
pub struct OpenAiEmbedder {
    client: reqwest::Client,
    endpoint: Secret,
    model: String,
    api_key: Option<Secret>,
}

impl std::fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct EmbeddingsResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    embedding: Vec<f32>,
    #[serde(default)]
    index: usize,
}

impl OpenAiEmbedder {
    /// A provider at `base_url` (`/v1/embeddings` is appended).
    pub fn new(base_url: &Secret, model: &str, api_key: Option<Secret>) -> Result<Self, EmbedError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| EmbedError::Provider(e.without_url().to_string()))?;
        let endpoint = Secret::new(format!(
            "{}/v1/embeddings",
            base_url.expose().trim_end_matches('/')
        ));
        Ok(OpenAiEmbedder {
            client,
            endpoint,
            model: model.to_owned(),
            api_key,
        })
    }

    async fn call(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let body = serde_json::json!({ "model": self.model, "input": texts, "dimensions": DIMENSIONS });
        let mut request = self.client.post(self.endpoint.expose()).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose());
        }
        let response = request
            .send()
            .await
            .map_err(|e| EmbedError::Provider(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(EmbedError::Provider(format!("HTTP {status}")));
        }
        let mut parsed: EmbeddingsResponse = response
            .json()
            .await
            .map_err(|e| EmbedError::BadResponse(e.without_url().to_string()))?;
        if parsed.data.len() != texts.len() {
            return Err(EmbedError::BadResponse(format!(
                "{} vectors for {} texts",
                parsed.data.len(),
                texts.len()
            )));
        }
        parsed.data.sort_by_key(|item| item.index);
        if let Some(bad) = parsed.data.iter().find(|item| item.embedding.len() != DIMENSIONS) {
            return Err(EmbedError::BadResponse(format!(
                "a vector of {} dimensions, not {DIMENSIONS}",
                bad.embedding.len()
            )));
        }
        Ok(parsed.data.into_iter().map(|item| item.embedding).collect())
    }
}

impl Embedder for OpenAiEmbedder {
    fn model(&self) -> &str {
        &self.model
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        Box::pin(self.call(texts))
    }
}

/// What [`reembed`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reembedded {
    /// Embeddings made again with the current model.
    pub updated: u64,
    /// Embeddings deleted: their source row is gone, or its text has no
    /// words to embed.
    pub removed: u64,
}

/// Why [`reembed`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReembedError {
    /// PostgreSQL failed; what was committed before stays converted.
    #[error(transparent)]
    Store(#[from] bp_store::StoreError),
    /// The embedder failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
}

/// Embeds again, with `embedder`, every stored embedding another model
/// made, `batch` rows per transaction, calling `progress(done)` after each.
/// Resumable: rows already converted are not selected again, so a run that
/// stops (a crash, Ctrl-C) is finished by starting it again.
pub async fn reembed(
    db: &Db,
    embedder: &dyn Embedder,
    batch: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Reembedded, ReembedError> {
    let model: String = embedder.model().chars().take(50).collect();
    let mut done = Reembedded::default();
    let mut cursor = Uuid::nil();
    loop {
        let page =
            bp_store::embeddings::stale_embeddings(db.pool(), &model, cursor, batch.max(1) as i64).await?;
        let Some(last) = page.last() else { break };
        cursor = last.id;
        let mut sources = Vec::with_capacity(page.len());
        let mut texts = Vec::with_capacity(page.len());
        for row in &page {
            sources.push((row.source_type.parse::<SourceType>()?, row.source_id));
            texts.push(row.text().chars().take(MAX_EMBED_CHARS).collect::<String>());
        }
        let vectors = embedder.embed(&texts).await?;
        let mut rows = Vec::with_capacity(page.len());
        let mut gone = Vec::new();
        for ((source_type, source_id), v) in sources.into_iter().zip(vectors) {
            // A source row that is gone, or a text with no words: nothing
            // to search by, and the other model's vector must not stay.
            if v.iter().all(|x| *x == 0.0) {
                gone.push((source_type, source_id));
                continue;
            }
            rows.push(NewEmbedding {
                source_type,
                source_id,
                embedding: Embedding::new(v)?,
                model_version: Some(model.clone()),
            });
        }
        done.updated += upsert_embeddings(db.pool(), &rows).await?;
        for (source_type, source_id) in gone {
            if bp_store::embeddings::delete_embedding(db.pool(), source_type, source_id).await? {
                done.removed += 1;
            }
        }
        progress(done.updated + done.removed);
    }
    Ok(done)
}
