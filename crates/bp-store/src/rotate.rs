//! Re-encrypting stored PII ([`crate::crypto`]) in bounded batches: after
//! a new key became active, after migration 0009 (plaintext rows from
//! before encryption), or back to plaintext before migrating below 0009.
//!
//! Each table is walked in primary-key order, `batch` rows at a time, each
//! batch in its own short transaction, so the service keeps running. A row
//! is rewritten only when it still holds what the batch read: a value the
//! service changed meanwhile was written under the active key and is left
//! alone. A run that stops (Ctrl-C, a crash) is resumed by running it
//! again: rows already under the target key are read but not rewritten.

use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::crypto::{Keyring, key_id_of};
use crate::error::StoreError;

/// A table with encrypted columns.
#[derive(Debug, Clone, Copy)]
pub struct Sealed {
    /// Schema-qualified table.
    pub table: &'static str,
    /// Its encrypted text columns.
    pub columns: &'static [&'static str],
    /// Prompt text, sealed only with `BP_ENCRYPT_PROMPTS` (or when the text
    /// itself looks like an envelope): plaintext values stay plaintext
    /// unless the keyring seals prompts, sealed ones follow the active key.
    pub prompt_columns: &'static [&'static str],
    /// `auth.users` also keeps the email's blind index in step.
    pub email_index: bool,
}

/// Every encrypted column. Names are constants, formatted into SQL as
/// identifiers; no value is.
pub const SEALED: &[Sealed] = &[
    Sealed {
        table: "auth.users",
        columns: &["email", "first_name", "last_name"],
        prompt_columns: &[],
        email_index: true,
    },
    Sealed {
        table: "auth.sessions",
        columns: &["ip_address", "user_agent"],
        prompt_columns: &[],
        email_index: false,
    },
    Sealed {
        table: "auth.audit_log",
        columns: &["ip_address", "user_agent"],
        prompt_columns: &[],
        email_index: false,
    },
    Sealed {
        table: "analytics.user_activity",
        columns: &["ip_address", "user_agent"],
        prompt_columns: &[],
        email_index: false,
    },
    Sealed {
        table: "prompts.history",
        columns: &["feedback_text"],
        prompt_columns: &["original_input", "enhanced_output"],
        email_index: false,
    },
];

/// What a run leaves every value as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Sealed under the keyring's active key (plaintext included).
    ActiveKey,
    /// Plaintext (before `migrate down` below 0009).
    Plaintext,
}

/// One table's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableReport {
    /// The table.
    pub table: &'static str,
    /// Rows read.
    pub scanned: u64,
    /// Rows rewritten.
    pub rewritten: u64,
    /// Rows the service changed between read and write (left as they are).
    pub skipped: u64,
}

/// Rows in each encrypted table (the planner's estimate, for progress bars).
pub async fn estimated_rows(pool: &PgPool) -> Result<u64, StoreError> {
    let tables: Vec<&str> = SEALED.iter().map(|s| s.table).collect();
    let total: Option<f64> = sqlx::query_scalar(
        "SELECT sum(greatest(c.reltuples, 0))::float8 FROM pg_class c
         WHERE c.oid = ANY (SELECT to_regclass(t) FROM unnest($1::text[]) AS t)",
    )
    .bind(&tables)
    .fetch_one(pool)
    .await?;
    Ok(total.unwrap_or(0.0) as u64)
}

/// Brings every encrypted column of every table to `goal`, `batch` rows per
/// transaction; `on_batch` sees each batch's report as it commits.
pub async fn run(
    pool: &PgPool,
    keys: &Keyring,
    goal: Goal,
    batch: u32,
    mut on_batch: impl FnMut(&TableReport),
) -> Result<Vec<TableReport>, StoreError> {
    let batch = i64::from(batch.max(1));
    let mut reports = Vec::new();
    for sealed in SEALED {
        let mut total = TableReport {
            table: sealed.table,
            ..TableReport::default()
        };
        let mut after = Uuid::nil();
        loop {
            let (step, last) = run_batch(pool, keys, goal, sealed, after, batch).await?;
            total.scanned += step.scanned;
            total.rewritten += step.rewritten;
            total.skipped += step.skipped;
            on_batch(&step);
            match last {
                Some(id) => after = id,
                None => break,
            }
        }
        reports.push(total);
    }
    Ok(reports)
}

/// The value `stored` should become, or `None` when it already is that.
/// `prompt`: a prompt column (see [`Sealed::prompt_columns`]).
fn target(keys: &Keyring, goal: Goal, stored: &str, prompt: bool) -> Result<Option<String>, StoreError> {
    let current = key_id_of(stored);
    let under_active = current == Some(keys.active_id());
    match goal {
        Goal::ActiveKey => {
            let stays_plain = current.is_none() && prompt && !keys.seals_prompts();
            if under_active || stays_plain {
                return Ok(None);
            }
            Ok(Some(keys.seal(&keys.open(stored)?)?))
        }
        Goal::Plaintext => {
            if current.is_none() {
                return Ok(None);
            }
            let plain = keys.open(stored)?;
            // A prompt that itself looks like an envelope must stay sealed
            // to read back unchanged.
            if prompt && plain.starts_with(crate::crypto::PREFIX) {
                return Ok(if under_active {
                    None
                } else {
                    Some(keys.seal(&plain)?)
                });
            }
            Ok(Some(plain))
        }
    }
}

/// One batch after `after`: its report and the last id read (`None` at the
/// end of the table).
async fn run_batch(
    pool: &PgPool,
    keys: &Keyring,
    goal: Goal,
    sealed: &Sealed,
    after: Uuid,
    batch: i64,
) -> Result<(TableReport, Option<Uuid>), StoreError> {
    // Every column, each with whether it holds prompt text.
    let cols: Vec<&str> = sealed
        .columns
        .iter()
        .chain(sealed.prompt_columns)
        .copied()
        .collect();
    let is_prompt = |i: usize| i >= sealed.columns.len();
    let mut select = format!("SELECT id, {}", cols.join(", "));
    if sealed.email_index {
        select.push_str(", email_bidx");
    }
    select.push_str(&format!(
        " FROM {} WHERE id > $1 ORDER BY id LIMIT $2",
        sealed.table
    ));
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(&select)
        .bind(after)
        .bind(batch)
        .fetch_all(&mut *tx)
        .await?;
    let mut report = TableReport {
        table: sealed.table,
        scanned: rows.len() as u64,
        ..TableReport::default()
    };
    let last = if (rows.len() as i64) < batch {
        None
    } else {
        rows.last().map(|r| r.try_get::<Uuid, _>("id")).transpose()?
    };
    // Column-major arrays for one UPDATE ... FROM unnest(...): ids, then
    // (old, new) per column, then the new blind index.
    let mut ids: Vec<Uuid> = Vec::new();
    let mut old: Vec<Vec<Option<String>>> = vec![Vec::new(); cols.len()];
    let mut new: Vec<Vec<Option<String>>> = vec![Vec::new(); cols.len()];
    let mut index: Vec<Option<String>> = Vec::new();
    for row in &rows {
        let mut changed = false;
        let mut olds = Vec::with_capacity(cols.len());
        let mut news = Vec::with_capacity(cols.len());
        for (i, col) in cols.iter().enumerate() {
            let stored: Option<String> = row.try_get(*col)?;
            let next = match &stored {
                Some(v) => target(keys, goal, v, is_prompt(i))?,
                None => None,
            };
            changed |= next.is_some();
            news.push(next.or_else(|| stored.clone()));
            olds.push(stored);
        }
        let mut bidx = None;
        if sealed.email_index {
            let stored_index: Option<String> = row.try_get("email_bidx")?;
            let email: Option<String> = row.try_get("email")?;
            let wanted = email
                .map(|e| keys.open(&e))
                .transpose()?
                .map(|e| keys.email_index(&e));
            changed |= wanted != stored_index;
            bidx = wanted;
        }
        if changed {
            ids.push(row.try_get("id")?);
            for (i, (o, n)) in olds.into_iter().zip(news).enumerate() {
                old[i].push(o);
                new[i].push(n);
            }
            index.push(bidx);
        }
    }
    if !ids.is_empty() {
        let mut sets = Vec::new();
        let mut guards = Vec::new();
        let mut casts = vec!["$1::uuid[]".to_owned()];
        let mut names = vec!["id".to_owned()];
        for (i, col) in cols.iter().enumerate() {
            sets.push(format!("{col} = v.n{i}"));
            guards.push(format!("t.{col} IS NOT DISTINCT FROM v.o{i}"));
            casts.push(format!("${}::text[]", 2 + 2 * i));
            casts.push(format!("${}::text[]", 3 + 2 * i));
            names.push(format!("o{i}"));
            names.push(format!("n{i}"));
        }
        if sealed.email_index {
            sets.push("email_bidx = v.bidx".into());
            casts.push(format!("${}::text[]", 2 + 2 * cols.len()));
            names.push("bidx".into());
        }
        let sql = format!(
            "UPDATE {} AS t SET {} FROM unnest({}) AS v({}) WHERE t.id = v.id AND {}",
            sealed.table,
            sets.join(", "),
            casts.join(", "),
            names.join(", "),
            guards.join(" AND ")
        );
        let mut query = sqlx::query(&sql).bind(&ids);
        for i in 0..cols.len() {
            query = query.bind(&old[i]).bind(&new[i]);
        }
        if sealed.email_index {
            query = query.bind(&index);
        }
        let done = query.execute(&mut *tx).await?.rows_affected();
        report.rewritten = done;
        report.skipped = ids.len() as u64 - done;
    }
    tx.commit().await?;
    Ok((report, last))
}

/// How many values of one column are under one key (`None`: plaintext).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    /// The table.
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
    /// The key id, or `None` for plaintext.
    pub key_id: Option<String>,
    /// Non-null values.
    pub values: i64,
}

/// Counts every encrypted column's values by key id, plaintext included
/// (`None`), and the sealed values of the prompt columns, whose plaintext is
/// their normal state (a full scan of each table: an operator's command,
/// not a service path).
pub async fn key_use(pool: &PgPool) -> Result<Vec<KeyUse>, StoreError> {
    let mut out = Vec::new();
    for sealed in SEALED {
        let columns = sealed.columns.iter().map(|c| (*c, "IS NOT NULL"));
        let prompts = sealed.prompt_columns.iter().map(|c| (*c, "LIKE 'enc:v1:%'"));
        for (col, condition) in columns.chain(prompts) {
            let sql = format!(
                "SELECT CASE WHEN {col} LIKE 'enc:v1:%' THEN split_part({col}, ':', 3) END AS key_id,
                        count(*) AS values
                 FROM {} WHERE {col} {condition} GROUP BY 1 ORDER BY 1",
                sealed.table
            );
            for row in sqlx::query(&sql).fetch_all(pool).await? {
                out.push(KeyUse {
                    table: sealed.table,
                    column: col,
                    key_id: row.try_get("key_id")?,
                    values: row.try_get("values")?,
                });
            }
        }
    }
    Ok(out)
}

/// True while some account has no email blind index: rows from before
/// migration 0009 that [`run`] has not converted yet. Such accounts cannot
/// log in by email, so the service refuses to start until they are.
pub async fn unconverted_accounts<'e>(pool: impl sqlx::PgExecutor<'e>) -> Result<bool, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM auth.users WHERE email_bidx IS NULL)")
            .fetch_one(pool)
            .await?,
    )
}
