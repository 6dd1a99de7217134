//! Capacity planning: daily samples of what grows (each relation's table
//! and index bytes, the whole database, Redis used memory) in
//! `analytics.capacity_samples`, and the growth per day they show. The
//! projection to "days until full" needs the free space, which only the
//! caller can measure (the data directory's filesystem, Redis maxmemory).

use chrono::NaiveDate;
use sqlx::PgExecutor;

use crate::StoreError;

/// The `name` of the whole-database sample.
pub const DATABASE: &str = "database";
/// The `name` of Redis' used memory.
pub const REDIS_MEMORY: &str = "used_memory";

/// Records today's size of every relation in the service's schemas and of
/// the whole database (one row each; a second call on the same day
/// replaces the first). Returns the rows written.
pub async fn record_postgres(db: impl PgExecutor<'_>, day: NaiveDate) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "INSERT INTO analytics.capacity_samples AS c (day, source, name, table_bytes, index_bytes)
         SELECT $1, 'postgres', left(schemaname || '.' || relname, 128),
                pg_table_size(relid), pg_indexes_size(relid)
         FROM pg_stat_user_tables WHERE schemaname IN ('auth', 'prompts', 'analytics')
         UNION ALL
         SELECT $1, 'postgres', $2, pg_database_size(current_database()), 0
         ON CONFLICT (source, name, day) DO UPDATE
         SET table_bytes = EXCLUDED.table_bytes, index_bytes = EXCLUDED.index_bytes, sampled_at = now()",
    )
    .bind(day)
    .bind(DATABASE)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Records today's Redis used memory.
pub async fn record_redis(
    db: impl PgExecutor<'_>,
    day: NaiveDate,
    used_bytes: u64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO analytics.capacity_samples AS c (day, source, name, table_bytes)
         VALUES ($1, 'redis', $2, $3)
         ON CONFLICT (source, name, day) DO UPDATE SET table_bytes = EXCLUDED.table_bytes, sampled_at = now()",
    )
    .bind(day)
    .bind(REDIS_MEMORY)
    .bind(i64::try_from(used_bytes).unwrap_or(i64::MAX))
    .execute(db)
    .await?;
    Ok(())
}

/// What one measured thing did over the window.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Growth {
    /// A relation (`prompts.history`), `database` or `used_memory`.
    pub name: String,
    /// Table plus index bytes at the latest sample.
    pub bytes: i64,
    /// Days between the earliest and the latest sample in the window.
    pub days: i32,
    /// Bytes per day over those days (least squares over every sample);
    /// `None` with samples of a single day.
    pub per_day: Option<f64>,
}

/// Growth of every name of `source` (`postgres` or `redis`) over the last
/// `window_days` days up to `today`, largest first.
pub async fn growth(
    db: impl PgExecutor<'_>,
    source: &str,
    today: NaiveDate,
    window_days: i32,
) -> Result<Vec<Growth>, StoreError> {
    Ok(sqlx::query_as(
        "WITH s AS (
             SELECT name, day, (table_bytes + index_bytes)::float8 AS bytes
             FROM analytics.capacity_samples
             WHERE source = $1 AND day > $2::date - $3 AND day <= $2::date
         ), latest AS (
             SELECT DISTINCT ON (name) name, bytes FROM s ORDER BY name, day DESC
         )
         SELECT s.name, max(l.bytes)::int8 AS bytes, (max(s.day) - min(s.day))::int4 AS days,
                CASE WHEN max(s.day) > min(s.day)
                     THEN regr_slope(s.bytes, (s.day - $2::date)::float8) END AS per_day
         FROM s JOIN latest l USING (name)
         GROUP BY s.name
         ORDER BY 2 DESC, 1",
    )
    .bind(source)
    .bind(today)
    .bind(window_days)
    .fetch_all(db)
    .await?)
}

/// Days until `free_bytes` are used up at `per_day`; `None` when nothing
/// grows.
pub fn days_until_full(free_bytes: u64, per_day: Option<f64>) -> Option<f64> {
    per_day.filter(|g| *g > 0.0).map(|g| free_bytes as f64 / g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_growing_never_fills() {
        assert_eq!(days_until_full(1_000, None), None);
        assert_eq!(days_until_full(1_000, Some(0.0)), None);
        assert_eq!(days_until_full(1_000, Some(-5.0)), None);
        assert_eq!(days_until_full(1_000, Some(100.0)), Some(10.0));
    }
}
