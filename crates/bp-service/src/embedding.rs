//! Embeddings written after an enhancement without delaying its response:
//! [`EmbeddingQueue`] is a bounded channel to one background task that
//! takes whatever has queued up (up to [`BATCH`] texts), embeds them in one
//! provider call and stores them in one `upsert_embeddings` transaction.
//! When the queue is full a job is dropped and counted, never awaited.
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
}

/// The sending side of the background embedding writer.
#[derive(Debug, Clone)]
pub struct EmbeddingQueue {
    tx: mpsc::Sender<Job>,
    stats: Arc<EmbeddingStats>,
}

impl EmbeddingQueue {
    /// Starts the writer task; it ends when every queue handle is dropped,
    /// after writing what was queued.
    pub fn spawn(db: Db, embedder: Arc<dyn Embedder>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let stats = Arc::new(EmbeddingStats::default());
        tokio::spawn(run(rx, db, embedder, stats.clone()));
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

async fn run(mut rx: mpsc::Receiver<Job>, db: Db, embedder: Arc<dyn Embedder>, stats: Arc<EmbeddingStats>) {
    while let Some(first) = rx.recv().await {
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
                    tracing::warn!(error = %e, count = texts.len(), "embeddings not stored");
                }
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

async fn write(
    db: &Db,
    embedder: &dyn Embedder,
    sources: &[(SourceType, Uuid)],
    texts: &[String],
) -> Result<u64, String> {
    let vectors = embedder.embed(texts).await.map_err(|e| e.to_string())?;
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
