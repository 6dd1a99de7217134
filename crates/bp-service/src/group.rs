//! Group commit for history rows that need no per-user scope (anonymous
//! enhancements, and every row when row-level security is off): the rows
//! of concurrent requests go into one multi-row `INSERT`, and each request
//! is answered only after the statement holding its row has committed.
//!
//! Why: an uncached `/enhance` is otherwise one commit per request, and
//! under load the commits, not the engine, set the pace (issue 23). A
//! batch costs one round trip and one WAL flush for all its rows.
//!
//! How a batch forms: a writer task takes whatever rows are waiting (up to
//! [`MAX_GROUP`]) and inserts them; while up to [`WRITERS`] inserts are in
//! flight, new rows queue and form the next batch. At low load a batch is
//! one row and costs what a single insert costs; there is no timer.
//!
//! Nothing is acknowledged that is not durable: a row's caller gets its
//! saved row only from a statement that returned. When the server refuses a
//! batch for one row's reused `request_id`, its rows are retried one by one,
//! so only that row fails. Any other failure goes to every caller of the
//! batch unretried: it may have come after the commit, and a retry could
//! write the rows twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bp_store::history::{NewPromptHistory, PromptHistory, save_history, save_history_rows};
use bp_store::{Db, StoreError};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// The most rows one statement takes.
pub const MAX_GROUP: usize = 64;

/// Inserts in flight at once: enough to keep the pool busy while the next
/// batch forms, few enough that batches do form under load.
pub const WRITERS: usize = 4;

type Reply = oneshot::Sender<Result<PromptHistory, StoreError>>;

/// A handle to the writer task; cloned freely. The task ends when the last
/// handle is dropped, after the rows already queued are written.
#[derive(Debug, Clone)]
pub struct GroupCommit {
    tx: mpsc::UnboundedSender<(NewPromptHistory, Reply)>,
    counts: Arc<Counts>,
}

/// Rows written and the statements that wrote them: rows per statement is
/// how much the grouping saves.
#[derive(Debug, Default)]
struct Counts {
    rows: AtomicU64,
    statements: AtomicU64,
}

impl Counts {
    fn add(&self, rows: u64, statements: u64) {
        self.rows.fetch_add(rows, Ordering::Relaxed);
        self.statements.fetch_add(statements, Ordering::Relaxed);
    }
}

impl GroupCommit {
    /// Starts the writer on `db`'s primary (a tokio runtime must be running).
    pub fn spawn(db: Db) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        tokio::spawn(run(rx, db, counts.clone()));
        GroupCommit { tx, counts }
    }

    /// (rows saved, statements that saved them) since the start.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.counts.rows.load(Ordering::Relaxed),
            self.counts.statements.load(Ordering::Relaxed),
        )
    }

    /// Saves `row` in the next batch and returns it as saved, once its
    /// batch has committed. An invalid row is refused here, before it can
    /// reach a batch.
    pub async fn save(&self, row: NewPromptHistory) -> Result<PromptHistory, StoreError> {
        row.validate()?;
        let (reply, answer) = oneshot::channel();
        let gone = || StoreError::Unavailable("the history writer has stopped".into());
        self.tx.send((row, reply)).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<(NewPromptHistory, Reply)>, db: Db, counts: Arc<Counts>) {
    let writers = Arc::new(Semaphore::new(WRITERS));
    let mut waiting = Vec::with_capacity(MAX_GROUP);
    loop {
        // A permit first: while every writer is busy, rows keep queueing
        // and the next batch grows.
        let Ok(permit) = writers.clone().acquire_owned().await else {
            return;
        };
        if rx.recv_many(&mut waiting, MAX_GROUP).await == 0 {
            return;
        }
        let batch = std::mem::replace(&mut waiting, Vec::with_capacity(MAX_GROUP));
        let (db, counts) = (db.clone(), counts.clone());
        tokio::spawn(async move {
            write(&db, batch, &counts).await;
            drop(permit);
        });
    }
}

async fn write(db: &Db, batch: Vec<(NewPromptHistory, Reply)>, counts: &Counts) {
    let (rows, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
    if rows.len() == 1 {
        let result = save_history(db.pool(), &rows[0]).await;
        if result.is_ok() {
            counts.add(1, 1);
        }
        if let Some(reply) = replies.into_iter().next() {
            let _ = reply.send(result);
        }
        return;
    }
    match save_history_rows(db.pool(), &rows).await {
        Ok(saved) => {
            counts.add(saved.len() as u64, 1);
            for (reply, row) in replies.into_iter().zip(saved) {
                // The caller may have gone (a cancelled request); its row
                // is saved all the same.
                let _ = reply.send(Ok(row));
            }
        }
        // The server refused the statement (one row's reused request id),
        // so none of it was written: each row on its own, one after the
        // other, so that only the clashing row fails.
        Err(StoreError::Conflict { .. }) => {
            for (reply, row) in replies.into_iter().zip(&rows) {
                let result = save_history(db.pool(), row).await;
                if result.is_ok() {
                    counts.add(1, 1);
                }
                let _ = reply.send(result);
            }
        }
        // Any other failure may have come after the statement committed (a
        // connection lost mid-reply): a retry could write the rows twice, so
        // every caller gets the error and nothing is acknowledged.
        Err(e) => {
            let message = e.to_string();
            for reply in replies {
                let _ = reply.send(Err(StoreError::Unavailable(message.clone())));
            }
        }
    }
}
