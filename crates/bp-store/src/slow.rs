//! The service's own per-statement timing, the slow-statement source of
//! `db stats` when the server has no `pg_stat_statements`.
//!
//! sqlx times every statement and emits a `sqlx::query` event at WARN for
//! one that took longer than the pool's threshold (`BP_DB_SLOW_STATEMENT_MS`,
//! see [`crate::pool`]). [`SlowStatementLayer`], installed in the process's
//! tracing subscriber, folds those events into a process-wide table by
//! statement text; the server drains it ([`drain`]) into Redis every few
//! seconds so that `db stats` sees every process's figures.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Distinct statements kept between drains; more are counted as one.
const MAX_STATEMENTS: usize = 500;

/// The text recorded for statements past [`MAX_STATEMENTS`].
pub const OVERFLOW: &str = "(other statements)";

/// Timings of one statement text since the last drain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowStatement {
    /// The statement, whitespace collapsed.
    pub sql: String,
    /// Slow executions.
    pub calls: u64,
    /// Their total time in microseconds.
    pub total_us: u64,
    /// The slowest in microseconds.
    pub max_us: u64,
}

static LOG: LazyLock<Mutex<HashMap<String, SlowStatement>>> = LazyLock::new(Mutex::default);

/// Adds one execution of `sql` that took `elapsed`.
pub fn record(sql: &str, elapsed: Duration) {
    let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    // A poisoned lock only means a panic elsewhere mid-update of counters.
    let mut log = LOG.lock().unwrap_or_else(PoisonError::into_inner);
    let key = if log.len() >= MAX_STATEMENTS && !log.contains_key(&sql) {
        OVERFLOW.to_owned()
    } else {
        sql
    };
    let entry = log.entry(key.clone()).or_insert_with(|| SlowStatement {
        sql: key,
        calls: 0,
        total_us: 0,
        max_us: 0,
    });
    entry.calls += 1;
    entry.total_us = entry.total_us.saturating_add(us);
    entry.max_us = entry.max_us.max(us);
}

/// Takes everything recorded since the last drain.
pub fn drain() -> Vec<SlowStatement> {
    let mut log = LOG.lock().unwrap_or_else(PoisonError::into_inner);
    log.drain().map(|(_, t)| t).collect()
}

/// A tracing layer that records sqlx's slow-statement events.
#[derive(Debug, Clone, Copy, Default)]
pub struct SlowStatementLayer;

impl<S: Subscriber> Layer<S> for SlowStatementLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut fields = QueryFields::default();
        event.record(&mut fields);
        // Every statement event carries elapsed_secs; only the slow ones
        // carry slow_threshold.
        if !fields.slow {
            return;
        }
        let Some(secs) = fields.elapsed_secs.filter(|s| s.is_finite() && *s >= 0.0) else {
            return;
        };
        // sqlx puts the whole text in db.statement only when the summary
        // shortened it; otherwise the summary is the statement.
        let sql = if fields.statement.trim().is_empty() {
            fields.summary
        } else {
            fields.statement
        };
        record(&sql, Duration::from_secs_f64(secs));
    }
}

#[derive(Default)]
struct QueryFields {
    summary: String,
    statement: String,
    elapsed_secs: Option<f64>,
    slow: bool,
}

impl Visit for QueryFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed_secs = Some(value);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" => self.statement = value.to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "slow_threshold" => self.slow = true,
            "summary" if self.summary.is_empty() => self.summary = format!("{value:?}"),
            "db.statement" if self.statement.is_empty() => self.statement = format!("{value:?}"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executions_of_one_text_add_up_and_a_drain_empties_the_table() {
        record("SELECT  1\n FROM t /* unit */", Duration::from_millis(3));
        record("SELECT 1 FROM t /* unit */", Duration::from_millis(7));
        let mine: Vec<SlowStatement> = drain()
            .into_iter()
            .filter(|t| t.sql.contains("/* unit */"))
            .collect();
        assert_eq!(
            mine,
            vec![SlowStatement {
                sql: "SELECT 1 FROM t /* unit */".into(),
                calls: 2,
                total_us: 10_000,
                max_us: 7_000,
            }]
        );
        assert!(drain().iter().all(|t| !t.sql.contains("/* unit */")));
    }
}
