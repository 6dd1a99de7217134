//! Liveness and version queries used by `/ready`, `infra status` and `db health`.

use sqlx::PgPool;

use crate::error::StoreError;

/// Server and extension versions.
#[derive(Debug, Clone)]
pub struct ServerVersions {
    /// `server_version`, e.g. `16.14`.
    pub postgres: String,
    /// The installed `vector` extension's version, if installed.
    pub pgvector: Option<String>,
}

/// One round trip: `SELECT 1`, over the simple protocol, so that it also
/// answers through PgBouncer in transaction mode (no statement to prepare).
pub async fn ping(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::raw_sql("SELECT 1").execute(pool).await?;
    Ok(())
}

/// The server's version and pgvector's.
pub async fn versions(pool: &PgPool) -> Result<ServerVersions, StoreError> {
    let (postgres, pgvector): (String, Option<String>) = sqlx::query_as(
        "SELECT current_setting('server_version'), (SELECT extversion FROM pg_extension WHERE extname = 'vector')",
    )
    .fetch_one(pool)
    .await?;
    Ok(ServerVersions { postgres, pgvector })
}

/// Size of one table (with its indexes and TOAST) or one index.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RelationSize {
    /// `schema.name`.
    pub name: String,
    /// `table` or `index`.
    pub kind: String,
    /// Bytes on disk.
    pub bytes: i64,
    /// Estimated rows (tables, once analysed; the planner's figure).
    pub rows: Option<i64>,
}

/// Connections to this database by state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConnectionState {
    /// `active`, `idle`, `idle in transaction`, ...
    pub state: String,
    /// How many.
    pub count: i64,
}

/// A statement running now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunningQuery {
    /// Backend pid.
    pub pid: i32,
    /// `active`, `idle in transaction`, ...
    pub state: String,
    /// How long it has run, in ms.
    pub running_ms: f64,
    /// The statement text (its first 200 characters; parameters are never in it).
    pub query: String,
}

/// An index and how often it was used.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IndexUsage {
    /// `schema.index`.
    pub name: String,
    /// `schema.table`.
    pub table_name: String,
    /// Index scans since the statistics were reset.
    pub scans: i64,
    /// Bytes on disk.
    pub bytes: i64,
    /// Backs a primary key or unique constraint (needed even when unused).
    pub is_unique: bool,
}

/// Dead rows waiting for vacuum in one table.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeadTuples {
    /// `schema.table`.
    pub name: String,
    /// Live rows.
    pub live: i64,
    /// Dead rows.
    pub dead: i64,
    /// Last (auto)vacuum.
    pub last_vacuum: Option<chrono::DateTime<chrono::Utc>>,
}

/// One statement's accumulated timing from `pg_stat_statements`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatementTiming {
    /// The normalised statement (its first 200 characters).
    pub query: String,
    /// Executions.
    pub calls: i64,
    /// Mean time, ms.
    pub mean_ms: f64,
    /// Longest, ms.
    pub max_ms: f64,
    /// Total time, ms.
    pub total_ms: f64,
}

/// Database statistics for `db stats`.
#[derive(Debug, Clone)]
pub struct DatabaseStats {
    /// This database's size in bytes.
    pub database_bytes: i64,
    /// Tables and indexes of the application schemas, largest first.
    pub relations: Vec<RelationSize>,
    /// Connections to this database by state.
    pub connections: Vec<ConnectionState>,
    /// The longest-running statements now (our own session excluded).
    pub running: Vec<RunningQuery>,
    /// Share of block reads served from shared buffers, 0..=1.
    pub cache_hit_ratio: Option<f64>,
    /// Indexes of the application schemas, least used first.
    pub indexes: Vec<IndexUsage>,
    /// Tables with dead rows, most first.
    pub dead_tuples: Vec<DeadTuples>,
    /// Slowest statements by mean time when `pg_stat_statements` is
    /// installed in this database; `None` when it is not.
    pub slow_statements: Option<Vec<StatementTiming>>,
}

/// The application's schemas.
const APP_SCHEMAS: [&str; 3] = ["auth", "prompts", "analytics"];

/// Gathers [`DatabaseStats`] (read-only catalog and statistics views).
pub async fn database_stats(pool: &PgPool) -> Result<DatabaseStats, StoreError> {
    let database_bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(pool)
        .await?;
    let relations = sqlx::query_as(
        "SELECT n.nspname || '.' || c.relname AS name,
                CASE WHEN c.relkind = 'i' THEN 'index' ELSE 'table' END AS kind,
                CASE WHEN c.relkind = 'i' THEN pg_relation_size(c.oid) ELSE pg_total_relation_size(c.oid) END AS bytes,
                CASE WHEN c.relkind = 'r' AND c.reltuples >= 0 THEN c.reltuples::int8 END AS rows
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'i')
         ORDER BY bytes DESC, name",
    )
    .bind(&APP_SCHEMAS[..])
    .fetch_all(pool)
    .await?;
    let connections = sqlx::query_as(
        "SELECT coalesce(state, 'unknown') AS state, count(*) AS count FROM pg_stat_activity
         WHERE datname = current_database() GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    .fetch_all(pool)
    .await?;
    let running = sqlx::query_as(
        "SELECT pid, coalesce(state, 'unknown') AS state,
                extract(epoch FROM now() - query_start)::float8 * 1000 AS running_ms, left(query, 200) AS query
         FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'
           AND query_start IS NOT NULL
         ORDER BY query_start LIMIT 10",
    )
    .fetch_all(pool)
    .await?;
    let cache_hit_ratio: Option<f64> = sqlx::query_scalar(
        "SELECT blks_hit::float8 / nullif(blks_hit + blks_read, 0) FROM pg_stat_database
         WHERE datname = current_database()",
    )
    .fetch_one(pool)
    .await?;
    let indexes = sqlx::query_as(
        "SELECT s.schemaname || '.' || s.indexrelname AS name, s.schemaname || '.' || s.relname AS table_name,
                s.idx_scan AS scans, pg_relation_size(s.indexrelid) AS bytes, i.indisunique AS is_unique
         FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
         WHERE s.schemaname = ANY($1)
         ORDER BY s.idx_scan, bytes DESC, name",
    )
    .bind(&APP_SCHEMAS[..])
    .fetch_all(pool)
    .await?;
    let dead_tuples = sqlx::query_as(
        "SELECT schemaname || '.' || relname AS name, n_live_tup AS live, n_dead_tup AS dead,
                greatest(last_vacuum, last_autovacuum) AS last_vacuum
         FROM pg_stat_user_tables WHERE schemaname = ANY($1) AND n_dead_tup > 0
         ORDER BY n_dead_tup DESC, name",
    )
    .bind(&APP_SCHEMAS[..])
    .fetch_all(pool)
    .await?;
    let has_pgss: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')")
            .fetch_one(pool)
            .await?;
    let slow_statements = if has_pgss {
        Some(
            sqlx::query_as(
                "SELECT left(query, 200) AS query, calls, mean_exec_time AS mean_ms, max_exec_time AS max_ms,
                        total_exec_time AS total_ms
                 FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                 ORDER BY mean_exec_time DESC LIMIT 10",
            )
            .fetch_all(pool)
            .await?,
        )
    } else {
        None
    };
    Ok(DatabaseStats {
        database_bytes,
        relations,
        connections,
        running,
        cache_hit_ratio,
        indexes,
        dead_tuples,
        slow_statements,
    })
}
