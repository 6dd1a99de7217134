//! Analytics capture off the hot path: requests push API metrics, user
//! activities and API-key uses into a bounded channel (never waiting; a full
//! buffer drops and counts), and one background task writes them in batches
//! every 250 ms (`UNNEST` inserts). [`Recorder::shutdown`] drains and writes
//! what is left, so a graceful shutdown loses nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bp_store::Db;
use bp_store::analytics::{NewActivity, NewApiMetric};
use bp_store::api_keys::ApiKeyUse;
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Events the buffer holds at most.
pub const CAPACITY: usize = 20_000;
/// How often the buffer is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// Rows per insert.
const CHUNK: usize = 2_000;

enum Event {
    Metric(NewApiMetric),
    Activity(NewActivity),
    KeyUse(Uuid, DateTime<Utc>),
}

/// The buffer's handle.
#[derive(Debug)]
pub struct Recorder {
    tx: mpsc::Sender<Event>,
    dropped: AtomicU64,
    written: std::sync::Arc<AtomicU64>,
    flush: mpsc::Sender<oneshot::Sender<()>>,
    stop: Mutex<Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>>,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Event")
    }
}

impl Recorder {
    /// Starts the writer over `db`.
    pub fn spawn(db: Db) -> Self {
        let (tx, rx) = mpsc::channel(CAPACITY);
        let (stop_tx, stop_rx) = oneshot::channel();
        let written = std::sync::Arc::new(AtomicU64::new(0));
        let (flush, flushes) = mpsc::channel(16);
        let task = tokio::spawn(run(db, rx, flushes, stop_rx, written.clone()));
        Self {
            tx,
            flush,
            dropped: AtomicU64::new(0),
            written,
            stop: Mutex::new(Some((stop_tx, task))),
        }
    }

    fn push(&self, event: Event) {
        if self.tx.try_send(event).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Buffers one request's metrics.
    pub fn metric(&self, metric: NewApiMetric) {
        self.push(Event::Metric(metric));
    }

    /// Buffers one user action.
    pub fn activity(&self, activity: NewActivity) {
        self.push(Event::Activity(activity));
    }

    /// Counts one use of an API key.
    pub fn key_used(&self, key_id: Uuid) {
        self.push(Event::KeyUse(key_id, Utc::now()));
    }

    /// Events waiting to be written.
    pub fn depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Events dropped because the buffer was full or a write failed.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Rows written so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Writes everything buffered now (tests, shutdown) and stops the writer.
    pub async fn shutdown(&self) {
        let taken = self
            .stop
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some((stop, task)) = taken {
            let _ = stop.send(());
            let _ = task.await;
        }
    }

    /// Writes everything pushed before this call, then returns.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.flush.send(ack).await.is_ok() {
            let _ = done.await;
        }
    }
}

async fn run(
    db: Db,
    mut rx: mpsc::Receiver<Event>,
    mut flushes: mpsc::Receiver<oneshot::Sender<()>>,
    mut stop: oneshot::Receiver<()>,
    written: std::sync::Arc<AtomicU64>,
) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut buf = Vec::with_capacity(CHUNK);
    loop {
        let (stopping, ack) = tokio::select! {
            _ = &mut stop => (true, None),
            Some(ack) = flushes.recv() => (false, Some(ack)),
            _ = tick.tick() => (false, None),
        };
        if stopping {
            rx.close();
        }
        loop {
            while buf.len() < CHUNK {
                match rx.try_recv() {
                    Ok(event) => buf.push(event),
                    Err(_) => break,
                }
            }
            if buf.is_empty() {
                break;
            }
            written.fetch_add(write(&db, std::mem::take(&mut buf)).await, Ordering::Relaxed);
        }
        if let Some(ack) = ack {
            let _ = ack.send(());
        }
        if stopping {
            break;
        }
    }
}

async fn write(db: &Db, events: Vec<Event>) -> u64 {
    if events.is_empty() {
        return 0;
    }
    let mut metrics = Vec::new();
    let mut activities = Vec::new();
    let mut uses: HashMap<Uuid, ApiKeyUse> = HashMap::new();
    for event in events {
        match event {
            Event::Metric(m) => metrics.push(m),
            Event::Activity(a) => activities.push(a),
            Event::KeyUse(id, at) => {
                let entry = uses.entry(id).or_insert(ApiKeyUse {
                    id,
                    count: 0,
                    last_used_at: at,
                });
                entry.count += 1;
                entry.last_used_at = entry.last_used_at.max(at);
            }
        }
    }
    let uses: Vec<ApiKeyUse> = uses.into_values().collect();
    let mut n = 0;
    match bp_store::analytics::record_api_metrics(db.pool(), &metrics).await {
        Ok(rows) => n += rows,
        Err(e) => tracing::warn!(error = %e, rows = metrics.len(), "could not write API metrics"),
    }
    match bp_store::analytics::record_activities(db.pool(), &activities).await {
        Ok(rows) => n += rows,
        Err(e) => tracing::warn!(error = %e, rows = activities.len(), "could not write user activity"),
    }
    match bp_store::api_keys::record_api_key_uses(db.pool(), &uses).await {
        Ok(rows) => n += rows,
        Err(e) => tracing::warn!(error = %e, keys = uses.len(), "could not write API key usage"),
    }
    n
}

/// Rolls `analytics.daily_stats` up for yesterday and today every `every`,
/// once per period across every `serve` process sharing the Redis (see
/// [`rollup_once`]).
pub fn spawn_rollup(db: Db, cache: bp_cache::Cache, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // A little under the period, so that the process that ran it
            // last finds the lease gone at its next tick.
            rollup_once(&db, &cache, every.mul_f64(0.9)).await;
        }
    })
}

/// Runs the daily rollup unless another process has in the last `lease`
/// (a Redis lease, `SET NX PX`, left to expire); true when this call ran
/// it. With Redis down it runs anyway: the rollup is an idempotent upsert,
/// so a second run costs time, never correctness.
pub async fn rollup_once(db: &Db, cache: &bp_cache::Cache, lease: Duration) -> bool {
    match cache.acquire_lock(ROLLUP_LEASE, lease).await {
        Ok(Some(_held_until_it_expires)) => {}
        Ok(None) => return false,
        Err(e) => tracing::warn!(error = %e, "no rollup lease (Redis unavailable); rolling up anyway"),
    }
    let today = Utc::now().date_naive();
    for date in [today.pred_opt().unwrap_or(today), today] {
        if let Err(e) = bp_store::analytics::rollup_daily_stats(db.pool(), date).await {
            tracing::warn!(error = %e, %date, "daily stats rollup failed");
        }
    }
    // Today's capacity samples (`db stats --growth`, `cache stats --growth`
    // project from them); a second run on the same day replaces them.
    if let Err(e) = bp_store::capacity::record_postgres(db.pool(), today).await {
        tracing::warn!(error = %e, "capacity sample of the database failed");
    }
    if let Ok(server) = cache.server_stats().await
        && let Err(e) = bp_store::capacity::record_redis(db.pool(), today, server.used_memory).await
    {
        tracing::warn!(error = %e, "capacity sample of Redis failed");
    }
    true
}

/// The Redis lease that makes [`spawn_rollup`] run once per period.
pub const ROLLUP_LEASE: &str = "job:daily-rollup";
