//! Numbered, reversible migrations embedded from `migrations/` at the
//! workspace root, run by sqlx's migrator (one transaction per migration),
//! with status, `down --steps N`, `new NAME`, and failures reported with the
//! file, line and statement that failed.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sqlx::migrate::{MigrateError, Migration, Migrator};
use sqlx::{Connection, PgConnection, PgPool};

use crate::error::StoreError;
use crate::sql_split::split_statements;

/// The migrations shipped in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// One migration and whether it is applied.
#[derive(Debug, Clone)]
pub struct MigrationStatus {
    /// Version number (the `NNNN` prefix).
    pub version: i64,
    /// Name from the file name.
    pub description: String,
    /// When it was applied, if it was.
    pub applied_at: Option<DateTime<Utc>>,
}

/// The file name of a migration as written in `migrations/`.
pub fn file_name(migration: &Migration) -> String {
    let suffix = if migration.migration_type.is_down_migration() {
        "down"
    } else {
        "up"
    };
    format!(
        "{:04}_{}.{suffix}.sql",
        migration.version,
        migration.description.replace(' ', "_")
    )
}

fn up_migrations(migrator: &Migrator) -> impl Iterator<Item = &Migration> {
    migrator.iter().filter(|m| !m.migration_type.is_down_migration())
}

/// The successfully applied migrations with their times, oldest first;
/// empty on a database that never ran one.
pub async fn applied(conn: &mut PgConnection) -> Result<Vec<(i64, DateTime<Utc>)>, StoreError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('public._sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    if !exists {
        return Ok(Vec::new());
    }
    let rows = sqlx::query_as(
        "SELECT version, installed_on FROM public._sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}

/// Every known migration with its applied time, oldest first.
///
/// Read in a transaction, so that it also runs through PgBouncer in
/// transaction mode (`serve`'s check at start).
pub async fn status(pool: &PgPool, migrator: &Migrator) -> Result<Vec<MigrationStatus>, StoreError> {
    let mut tx = pool.begin().await?;
    let applied = applied(&mut tx).await?;
    tx.commit().await?;
    Ok(up_migrations(migrator)
        .map(|m| MigrationStatus {
            version: m.version,
            description: m.description.to_string(),
            applied_at: applied.iter().find(|(v, _)| *v == m.version).map(|(_, at)| *at),
        })
        .collect())
}

/// Applies every pending migration; returns the versions applied.
pub async fn up(pool: &PgPool, migrator: &Migrator) -> Result<Vec<i64>, StoreError> {
    let before: Vec<i64> = applied(&mut *pool.acquire().await?)
        .await?
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    migrator
        .run(pool)
        .await
        .map_err(|e| explain(e, migrator, false))?;
    let after = applied(&mut *pool.acquire().await?).await?;
    Ok(after
        .into_iter()
        .map(|(v, _)| v)
        .filter(|v| !before.contains(v))
        .collect())
}

/// Reverts the newest `steps` applied migrations; returns the versions reverted.
pub async fn down(pool: &PgPool, migrator: &Migrator, steps: usize) -> Result<Vec<i64>, StoreError> {
    let applied: Vec<i64> = applied(&mut *pool.acquire().await?)
        .await?
        .into_iter()
        .map(|(v, _)| v)
        .rev()
        .collect();
    if steps > applied.len() {
        return Err(StoreError::Rejected(format!(
            "cannot revert {steps} migrations: only {} are applied",
            applied.len()
        )));
    }
    let reverted: Vec<i64> = applied[..steps].to_vec();
    let target = applied.get(steps).copied().unwrap_or(0);
    migrator
        .undo(pool, target)
        .await
        .map_err(|e| explain(e, migrator, true))?;
    Ok(reverted)
}

/// Re-runs a failed migration statement by statement inside a transaction
/// that is always rolled back, to find which statement fails. The migrator
/// already rolled the migration back; this only reads the error.
pub async fn locate_failure(pool: &PgPool, migration: &Migration) -> Option<StoreError> {
    let mut conn = pool.acquire().await.ok()?;
    let mut tx = conn.begin().await.ok()?;
    for statement in split_statements(&migration.sql) {
        if let Err(err) = sqlx::raw_sql(statement.text).execute(&mut *tx).await {
            let _ = tx.rollback().await;
            return Some(StoreError::Migration {
                file: file_name(migration),
                line: statement.line,
                statement: abbreviate(statement.text),
                message: database_message(&err),
            });
        }
    }
    let _ = tx.rollback().await;
    None
}

fn abbreviate(sql: &str) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 100 {
        format!("{}...", flat.chars().take(100).collect::<String>())
    } else {
        flat
    }
}

fn database_message(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    }
}

/// First pass at turning a migrator error into a [`StoreError`]; statement
/// detail is added by [`run_up`] / [`run_down`].
fn explain(err: MigrateError, migrator: &Migrator, down: bool) -> StoreError {
    match err {
        MigrateError::ExecuteMigration(source, version) => {
            let file = migrator
                .iter()
                .find(|m| m.version == version && m.migration_type.is_down_migration() == down)
                .map(file_name)
                .unwrap_or_else(|| format!("version {version}"));
            StoreError::Migration {
                file,
                line: 0,
                statement: String::new(),
                message: database_message(&source),
            }
        }
        MigrateError::VersionMismatch(v) => {
            StoreError::MigrationHistory(format!("applied migration {v} was changed"))
        }
        MigrateError::VersionMissing(v) => {
            StoreError::MigrationHistory(format!("migration {v} is applied but its file is missing"))
        }
        MigrateError::Dirty(v) => StoreError::MigrationHistory(format!("migration {v} is partially applied")),
        MigrateError::Execute(e) => e.into(),
        other => StoreError::MigrationHistory(other.to_string()),
    }
}

/// [`up`] with a failed migration's statement and line located.
pub async fn run_up(pool: &PgPool, migrator: &Migrator) -> Result<Vec<i64>, StoreError> {
    let result = up(pool, migrator).await;
    with_location(pool, migrator, result).await
}

/// [`down`] with a failed migration's statement and line located.
pub async fn run_down(pool: &PgPool, migrator: &Migrator, steps: usize) -> Result<Vec<i64>, StoreError> {
    let result = down(pool, migrator, steps).await;
    with_location(pool, migrator, result).await
}

async fn with_location(
    pool: &PgPool,
    migrator: &Migrator,
    result: Result<Vec<i64>, StoreError>,
) -> Result<Vec<i64>, StoreError> {
    let Err(StoreError::Migration { file, .. }) = &result else {
        return result;
    };
    match migrator.iter().find(|m| file_name(m) == *file) {
        Some(migration) => match locate_failure(pool, migration).await {
            Some(located) => Err(located),
            None => result,
        },
        None => result,
    }
}

/// Creates `NNNN_name.up.sql` and `NNNN_name.down.sql` in `dir`, numbered one
/// past the highest existing migration there.
pub fn new_migration(dir: &Path, name: &str) -> Result<(PathBuf, PathBuf), StoreError> {
    let valid = !name.is_empty()
        && name.len() <= 60
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(StoreError::Rejected(format!(
            "migration name `{name}` must be 1 to 60 characters of [a-z0-9_], e.g. add_history_tags"
        )));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| {
        StoreError::Rejected(format!("cannot read migrations directory {}: {e}", dir.display()))
    })?;
    let next = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.split('_').next()?.parse::<i64>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    let up = dir.join(format!("{next:04}_{name}.up.sql"));
    let down = dir.join(format!("{next:04}_{name}.down.sql"));
    let header = format!(
        "-- Migration: {}\n-- Version: {next:04}\n-- Description: \n\n",
        name.replace('_', " ")
    );
    let write = |path: &Path, body: String| {
        std::fs::write(path, body)
            .map_err(|e| StoreError::Rejected(format!("cannot write {}: {e}", path.display())))
    };
    write(&up, header.clone())?;
    write(
        &down,
        format!("{header}-- Revert exactly what the .up.sql file does.\n"),
    )?;
    Ok((up, down))
}
