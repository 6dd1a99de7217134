//! `betterprompts db health|stats [--json]`: the guide's monitoring queries.
//! `health` answers whether the database is usable (reachable, versions,
//! migrations current) and exits 1 when it is not; `stats` shows sizes,
//! connections, running statements, the buffer cache hit ratio, index use,
//! dead rows and the slowest statements: from `pg_stat_statements` where
//! the database has it, otherwise from the services' own timing of
//! statements over `BP_DB_SLOW_STATEMENT_MS` (flushed to Redis by `serve`,
//! see `bp_store::slow`), and the output says which.

use bp_cache::{Cache, CacheSettings};
use bp_config::Settings;
use bp_store::PoolSettings;
use bp_store::health::{self, DatabaseStats, StatementTiming};
use bp_store::migrate::{self, MIGRATOR};
use serde_json::{Value, json};

use crate::cli::DbCommand;
use crate::resolve;

/// Runs one `db` subcommand.
pub async fn run(settings: &Settings, instance: Option<&str>, command: DbCommand) -> anyhow::Result<u8> {
    // Maintenance statements on a plain pool: PostgreSQL itself, not a
    // transaction pooler (DATABASE_DIRECT_URL when DATABASE_URL is one).
    let url = resolve::direct_database_url(settings, instance, "`db`").await?;
    let pool = bp_store::connect(url.expose(), &PoolSettings::small()).await?;
    let code = match command {
        DbCommand::Health { json } => health_report(settings, &pool, json).await?,
        DbCommand::Stats { json, growth: true } => {
            let free = data_dir_free(settings, instance, &pool, &url).await;
            growth_report(&pool, free, json).await?
        }
        DbCommand::Stats { json, growth: false } => {
            let mut stats = health::database_stats(&pool).await?;
            let source = match &stats.slow_statements {
                Some(_) => SlowSource::PgStatStatements,
                None => match service_timings(settings, instance).await {
                    Some(list) => {
                        stats.slow_statements = Some(list);
                        SlowSource::Service(settings.database.slow_statement.as_millis())
                    }
                    None => SlowSource::Unavailable,
                },
            };
            if json {
                println!("{}", stats_json(&stats, &source));
            } else {
                print_stats(&stats, &source);
            }
            0
        }
        DbCommand::PruneAudit { days } => {
            let days = days.unwrap_or(settings.server.audit_retention_days);
            let deleted = bp_store::audit::prune(&pool, days).await?;
            println!("deleted {deleted} audit entries older than {days} days");
            0
        }
    };
    pool.close().await;
    Ok(code)
}

/// Days of samples the growth is measured over.
pub const GROWTH_WINDOW_DAYS: i32 = 30;

/// The data directory and the bytes free on its filesystem, when this
/// machine can see it: from `data_directory` (a superuser or
/// `pg_read_all_settings` may read it), else from the embedded instance
/// under BP_HOME that serves this URL's port on this machine.
async fn data_dir_free(
    settings: &Settings,
    instance: Option<&str>,
    pool: &sqlx::PgPool,
    url: &bp_config::Secret,
) -> Option<(std::path::PathBuf, u64)> {
    let reported: Option<String> = sqlx::query_scalar("SELECT current_setting('data_directory')")
        .fetch_one(pool)
        .await
        .ok();
    let dir = match reported.map(std::path::PathBuf::from).filter(|d| d.is_dir()) {
        Some(dir) => dir,
        None => embedded_data_dir(settings, instance, url)?,
    };
    let fs = nix::sys::statvfs::statvfs(&dir).ok()?;
    // Blocks available to unprivileged users, as PostgreSQL's own files
    // are written.
    let free = fs.blocks_available().saturating_mul(fs.fragment_size());
    Some((dir, free))
}

/// The data directory of the embedded instance (the named one first, then
/// any under BP_HOME) whose PostgreSQL listens on `url`'s loopback port:
/// never another instance's.
fn embedded_data_dir(
    settings: &Settings,
    instance: Option<&str>,
    url: &bp_config::Secret,
) -> Option<std::path::PathBuf> {
    let options = bp_store::connect_options(url.expose()).ok()?;
    let loopback = matches!(options.get_host(), "127.0.0.1" | "localhost" | "::1");
    if !loopback {
        return None;
    }
    let port = options.get_port();
    let named = resolve::infra(settings, instance).ok().map(|i| i.instance_dir());
    let others = std::fs::read_dir(settings.home.home.join("instances"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()));
    named.into_iter().chain(others).find_map(|dir| {
        let state = bp_infra::InfraState::load(&dir).ok()??;
        (state.postgres.port == port).then_some(state.postgres.data_dir)
    })
}

/// `db stats --growth`: records today's sizes, then prints each relation's
/// growth per day and the database's days until the disk is full.
async fn growth_report(
    pool: &sqlx::PgPool,
    free: Option<(std::path::PathBuf, u64)>,
    as_json: bool,
) -> anyhow::Result<u8> {
    use bp_store::capacity;
    let today = chrono::Utc::now().date_naive();
    capacity::record_postgres(pool, today).await?;
    let rows = capacity::growth(pool, "postgres", today, GROWTH_WINDOW_DAYS).await?;
    let database = rows.iter().find(|g| g.name == capacity::DATABASE);
    let per_day = database.and_then(|g| g.per_day);
    let days_left = free
        .as_ref()
        .and_then(|(_, bytes)| capacity::days_until_full(*bytes, per_day));
    if as_json {
        println!(
            "{}",
            json!({
                "window_days": GROWTH_WINDOW_DAYS,
                "relations": rows.iter().map(|g| json!({"name": g.name, "bytes": g.bytes, "days": g.days, "bytes_per_day": g.per_day})).collect::<Vec<_>>(),
                "data_directory": free.as_ref().map(|(d, _)| d.display().to_string()),
                "free_bytes": free.as_ref().map(|(_, b)| *b),
                "days_until_full": days_left,
            })
        );
        return Ok(0);
    }
    println!(
        "{:<40} {:>12} {:>14} {:>6}",
        "relation", "size", "per day", "days"
    );
    for g in &rows {
        let per_day = g
            .per_day
            .map_or_else(|| "-".to_owned(), |d| format!("{}/day", signed_bytes(d)));
        println!(
            "{:<40} {:>12} {:>14} {:>6}",
            g.name,
            super::human_bytes(u64::try_from(g.bytes).unwrap_or(0)),
            per_day,
            g.days
        );
    }
    let summary = match (&free, per_day, days_left) {
        (None, _, _) => {
            "the data directory is not on this machine: free space unknown, no projection".to_owned()
        }
        (Some((dir, bytes)), _, Some(days)) => format!(
            "{} free on {}'s filesystem: full in about {days:.0} days at the current growth",
            super::human_bytes(*bytes),
            dir.display()
        ),
        (Some((dir, bytes)), None, _) => format!(
            "{} free on {}'s filesystem; samples of one day only: run daily (the server's rollup does) for a projection",
            super::human_bytes(*bytes),
            dir.display()
        ),
        (Some((dir, bytes)), Some(_), None) => format!(
            "{} free on {}'s filesystem; the database is not growing",
            super::human_bytes(*bytes),
            dir.display()
        ),
    };
    println!("db stats --growth: {summary}");
    Ok(0)
}

/// `1.2 MiB` or `-300 KiB`.
pub fn signed_bytes(bytes: f64) -> String {
    let sign = if bytes < 0.0 { "-" } else { "" };
    format!("{sign}{}", super::human_bytes(bytes.abs() as u64))
}

/// Where the slow statements shown come from.
enum SlowSource {
    /// The server's `pg_stat_statements`.
    PgStatStatements,
    /// The services' own timing of statements over this many ms (`bp_store::slow`).
    Service(u128),
    /// Neither is available.
    Unavailable,
}

impl SlowSource {
    fn name(&self) -> &'static str {
        match self {
            Self::PgStatStatements => "pg_stat_statements",
            Self::Service(_) => "service",
            Self::Unavailable => "unavailable",
        }
    }
}

/// The statement timings the running services flushed to Redis (the
/// configured Redis, or the embedded one when the database is embedded too);
/// `None` when no Redis answers.
async fn service_timings(settings: &Settings, instance: Option<&str>) -> Option<Vec<StatementTiming>> {
    let url = match (&settings.redis.url, &settings.database.url) {
        (Some(url), _) => url.clone(),
        (None, None) => {
            resolve::infra(settings, instance)
                .ok()?
                .endpoints()
                .ok()??
                .redis_url
        }
        (None, Some(_)) => return None,
    };
    let cache = Cache::connect_with(url.expose(), CacheSettings::from_config(&settings.redis))
        .await
        .ok()?;
    let list = cache.statement_stats().await.ok()?;
    Some(
        list.into_iter()
            .map(|s| {
                let ms = |us: u64| us as f64 / 1000.0;
                StatementTiming {
                    query: s.sql.chars().take(200).collect(),
                    calls: i64::try_from(s.calls).unwrap_or(i64::MAX),
                    mean_ms: ms(s.total_us) / s.calls.max(1) as f64,
                    max_ms: ms(s.max_us),
                    total_ms: ms(s.total_us),
                }
            })
            .collect(),
    )
}

/// The embedder a server with these settings uses: the sentence model's
/// name, or the lexical fallback with why.
fn embedder_report(settings: &bp_config::Settings) -> (String, String) {
    match &settings.engine.embeddings {
        bp_config::EmbeddingProvider::Local => {
            let (embedder, state) = bp_service::model::local_embedder(&settings.engine.model_dir);
            let detail = match state {
                bp_service::model::ModelState::Loaded(dir) => {
                    format!("the sentence model, from {}", dir.display())
                }
                other => format!("lexical fallback: the sentence model is {}", other.describe()),
            };
            (embedder.model().to_owned(), detail)
        }
        bp_config::EmbeddingProvider::Lexical => (
            bp_engine::embed::LOCAL_MODEL.to_owned(),
            "lexical, as BP_EMBEDDINGS_PROVIDER=lexical asks".to_owned(),
        ),
        bp_config::EmbeddingProvider::OpenAi { model, .. } => {
            (model.clone(), "an OpenAI-compatible provider".to_owned())
        }
    }
}

async fn health_report(
    settings: &bp_config::Settings,
    pool: &bp_store::PgPool,
    as_json: bool,
) -> anyhow::Result<u8> {
    let versions = health::versions(pool).await?;
    let (embedder, embedder_state) = embedder_report(settings);
    let status = migrate::status(pool, &MIGRATOR).await?;
    let pending: Vec<i64> = status
        .iter()
        .filter(|m| m.applied_at.is_none())
        .map(|m| m.version)
        .collect();
    let applied = status
        .iter()
        .filter(|m| m.applied_at.is_some())
        .map(|m| m.version)
        .max();
    let healthy = versions.pgvector.is_some() && pending.is_empty();
    if as_json {
        println!(
            "{}",
            json!({
                "healthy": healthy, "reachable": true, "postgres": versions.postgres, "pgvector": versions.pgvector,
                "migration_version": applied, "pending_migrations": pending,
                "embedder": embedder, "embedder_state": embedder_state,
            })
        );
    } else {
        println!("reachable     yes");
        println!("postgres      {}", versions.postgres);
        println!(
            "pgvector      {}",
            versions.pgvector.as_deref().unwrap_or("NOT INSTALLED")
        );
        println!(
            "migrations    {}",
            match (&applied, pending.is_empty()) {
                (Some(v), true) => format!("current ({v:04})"),
                (_, false) => format!("{} pending; run `betterprompts migrate up`", pending.len()),
                (None, true) => "none".into(),
            }
        );
        println!("embedder      {embedder} ({embedder_state})");
        println!("db health: {}", if healthy { "healthy" } else { "NOT healthy" });
    }
    Ok(u8::from(!healthy))
}

fn stats_json(s: &DatabaseStats, source: &SlowSource) -> Value {
    json!({
        "database_bytes": s.database_bytes,
        "relations": s.relations.iter().map(|r| json!({ "name": r.name, "kind": r.kind, "bytes": r.bytes, "rows": r.rows })).collect::<Vec<_>>(),
        "connections": s.connections.iter().map(|c| json!({ "state": c.state, "count": c.count })).collect::<Vec<_>>(),
        "running": s.running.iter().map(|q| json!({ "pid": q.pid, "state": q.state, "running_ms": q.running_ms, "query": q.query })).collect::<Vec<_>>(),
        "cache_hit_ratio": s.cache_hit_ratio,
        "indexes": s.indexes.iter().map(|i| json!({ "name": i.name, "table": i.table_name, "scans": i.scans, "bytes": i.bytes, "unique": i.is_unique })).collect::<Vec<_>>(),
        "unused_indexes": s.indexes.iter().filter(|i| i.scans == 0 && !i.is_unique).map(|i| i.name.clone()).collect::<Vec<_>>(),
        "dead_tuples": s.dead_tuples.iter().map(|d| json!({ "table": d.name, "live": d.live, "dead": d.dead, "last_vacuum": d.last_vacuum })).collect::<Vec<_>>(),
        "slow_statements": {
            "source": source.name(),
            "statements": s.slow_statements.as_ref().map(|list| list.iter().map(|q| json!({
                "query": q.query, "calls": q.calls, "mean_ms": q.mean_ms, "max_ms": q.max_ms, "total_ms": q.total_ms,
            })).collect::<Vec<_>>()),
        },
    })
}

fn size(bytes: i64) -> String {
    super::human_bytes(u64::try_from(bytes).unwrap_or(0))
}

fn print_stats(s: &DatabaseStats, source: &SlowSource) {
    println!("database size          {}", size(s.database_bytes));
    let hit = s
        .cache_hit_ratio
        .map_or("n/a".into(), |r| format!("{:.2}%", r * 100.0));
    println!("buffer cache hit ratio {hit} (healthy: above 99% once warm)");
    let conns: Vec<String> = s
        .connections
        .iter()
        .map(|c| format!("{} {}", c.count, c.state))
        .collect();
    println!("connections            {}", conns.join(", "));
    println!("\nlargest tables and indexes");
    for r in s.relations.iter().take(15) {
        let rows = r.rows.map_or(String::new(), |n| format!("{n} rows"));
        println!("  {:<52} {:<6} {:>12} {rows}", r.name, r.kind, size(r.bytes));
    }
    println!("\nrunning statements (longest first)");
    if s.running.is_empty() {
        println!("  none");
    }
    for q in &s.running {
        println!(
            "  pid {:<7} {:>10.0} ms {:<20} {}",
            q.pid,
            q.running_ms,
            q.state,
            q.query.replace('\n', " ")
        );
    }
    let unused: Vec<&str> = s
        .indexes
        .iter()
        .filter(|i| i.scans == 0 && !i.is_unique)
        .map(|i| i.name.as_str())
        .collect();
    println!(
        "\nindex use: {} indexes, {} never scanned since the statistics were reset",
        s.indexes.len(),
        unused.len()
    );
    for name in &unused {
        println!("  unused  {name}");
    }
    println!("\ndead rows");
    if s.dead_tuples.is_empty() {
        println!("  none");
    }
    for d in s.dead_tuples.iter().take(10) {
        println!("  {:<40} {:>10} dead / {:>10} live", d.name, d.dead, d.live);
    }
    match (&s.slow_statements, source) {
        (Some(list), _) => {
            let from = match source {
                SlowSource::Service(ms) => format!(
                    "the services' own timing of statements over {ms} ms (BP_DB_SLOW_STATEMENT_MS), kept 7 days"
                ),
                _ => "pg_stat_statements".into(),
            };
            println!("\nslowest statements by mean time (source: {from})");
            if list.is_empty() {
                println!("  none recorded");
            }
            for q in list.iter().take(15) {
                println!(
                    "  {:>9.2} ms mean {:>9.2} ms max {:>9} calls  {}",
                    q.mean_ms,
                    q.max_ms,
                    q.calls,
                    q.query.replace('\n', " ")
                );
            }
        }
        (None, _) => println!(
            "\nslow statements: unavailable; pg_stat_statements is not installed in this database (add it to \
             shared_preload_libraries and CREATE EXTENSION pg_stat_statements) and no Redis with the services' \
             own timings answers; the running statements above are the live view"
        ),
    }
    println!(
        "db stats: {} in {} tables and indexes, {} connections",
        size(s.database_bytes),
        s.relations.len(),
        s.connections.iter().map(|c| c.count).sum::<i64>()
    );
}
