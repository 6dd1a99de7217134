//! `betterprompts cache stats|flush NAMESPACE`.

use anyhow::Context;
use bp_cache::{Cache, CacheSettings, Namespace};
use bp_config::Settings;
use serde_json::json;

use crate::cli::CacheCommand;
use crate::resolve;

/// Keys looked at when counting keys per namespace.
const KEY_SCAN_LIMIT: u64 = 1_000_000;

/// Runs one `cache` subcommand.
pub async fn run(settings: &Settings, instance: Option<&str>, command: CacheCommand) -> anyhow::Result<u8> {
    let url = resolve::redis_url(settings, instance).await?;
    let cache = Cache::connect_with(url.expose(), CacheSettings::from_config(&settings.redis)).await?;
    match command {
        CacheCommand::Stats { json, growth: true } => growth(settings, instance, &cache, json).await,
        CacheCommand::Stats { json, growth: false } => stats(&cache, json).await,
        CacheCommand::Flush { namespace, yes } => {
            let names: Vec<&str> = Namespace::ALL.iter().map(|ns| ns.name()).collect();
            let ns = Namespace::from_name(&namespace)
                .with_context(|| format!("unknown namespace `{namespace}`; one of: {}", names.join(", ")))?;
            if !yes
                && !confirm(&format!(
                    "delete every key of `{}` under `{}`?",
                    ns.name(),
                    cache.prefix()
                ))?
            {
                println!("nothing flushed");
                return Ok(1);
            }
            let deleted = cache.flush_namespace(ns).await?;
            let note = if ns.is_versioned() {
                " (and its generation bumped, so every process stops reading the old keys)"
            } else {
                ""
            };
            println!("flushed {}: {deleted} keys deleted{note}", ns.name());
            Ok(0)
        }
    }
}

/// `cache stats --growth`: records today's used memory in the database
/// (`analytics.capacity_samples`, beside the table sizes), then reports its
/// growth per day and the days until `maxmemory`.
async fn growth(
    settings: &Settings,
    instance: Option<&str>,
    cache: &Cache,
    as_json: bool,
) -> anyhow::Result<u8> {
    use bp_store::capacity;
    let server = cache.server_stats().await?;
    // Maintenance statements on a plain pool: PostgreSQL itself, not a
    // transaction pooler (DATABASE_DIRECT_URL when DATABASE_URL is one).
    let url = resolve::direct_database_url(settings, instance, "`cache stats --growth`").await?;
    let pool = bp_store::connect(url.expose(), &bp_store::PoolSettings::small()).await?;
    let today = chrono::Utc::now().date_naive();
    capacity::record_redis(&pool, today, server.used_memory).await?;
    let rows = capacity::growth(&pool, "redis", today, super::db::GROWTH_WINDOW_DAYS).await?;
    pool.close().await;
    let per_day = rows.first().and_then(|g| g.per_day);
    let room = server.max_memory.saturating_sub(server.used_memory);
    let days_left = (server.max_memory > 0)
        .then(|| capacity::days_until_full(room, per_day))
        .flatten();
    if as_json {
        println!(
            "{}",
            json!({
                "used_memory": server.used_memory,
                "max_memory": server.max_memory,
                "days": rows.first().map(|g| g.days),
                "bytes_per_day": per_day,
                "days_until_full": days_left,
            })
        );
        return Ok(0);
    }
    let growth = per_day.map_or_else(
        || "samples of one day only (the server's daily rollup adds one a day)".to_owned(),
        |d| {
            format!(
                "{}/day over {} days",
                super::db::signed_bytes(d),
                rows.first().map_or(0, |g| g.days)
            )
        },
    );
    let projection = match (server.max_memory, days_left) {
        (0, _) => "no maxmemory set: Redis may grow until the machine's memory runs out".to_owned(),
        (max, Some(days)) => format!(
            "{} of {} maxmemory left: full in about {days:.0} days",
            super::human_bytes(room),
            super::human_bytes(max)
        ),
        (max, None) => format!(
            "{} of {} maxmemory left",
            super::human_bytes(room),
            super::human_bytes(max)
        ),
    };
    println!(
        "cache stats --growth: {} used, {growth}; {projection}",
        super::human_bytes(server.used_memory)
    );
    Ok(0)
}

/// Asks on the terminal; refuses without one, where `--yes` must say it.
fn confirm(question: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    anyhow::ensure!(
        std::io::stdin().is_terminal(),
        "cache flush deletes keys; pass --yes to confirm when stdin is not a terminal"
    );
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

async fn stats(cache: &Cache, as_json: bool) -> anyhow::Result<u8> {
    let server = cache.server_stats().await?;
    let namespaces = cache.shared_namespace_stats().await?;
    let keys = cache.key_counts(KEY_SCAN_LIMIT).await?;
    let keys_of = |name: &str| {
        keys.namespaces
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, k)| *k)
    };
    if as_json {
        let per_ns: Vec<_> = namespaces
            .iter()
            .map(|s| json!({"namespace": s.namespace, "keys": keys_of(s.namespace), "hits": s.hits, "misses": s.misses, "hit_rate": s.hit_rate()}))
            .collect();
        println!(
            "{}",
            json!({"prefix": cache.prefix(), "server": server, "server_hit_rate": server.hit_rate(), "namespaces": per_ns,
                   "keys": {"other": keys.other, "scanned": keys.scanned, "complete": keys.complete}})
        );
        return Ok(0);
    }
    let rate = |r: Option<f64>| r.map_or("-".to_owned(), |r| format!("{:.1}%", r * 100.0));
    println!("Redis {} (prefix `{}`)", server.version, cache.prefix());
    println!(
        "  memory      {:.1} MiB used{}",
        server.used_memory as f64 / 1048576.0,
        if server.max_memory > 0 {
            format!(" of {:.1} MiB", server.max_memory as f64 / 1048576.0)
        } else {
            " (no maxmemory)".to_owned()
        }
    );
    println!(
        "  peak        {:.1} MiB",
        server.used_memory_peak as f64 / 1048576.0
    );
    println!("  clients     {}", server.connected_clients);
    println!(
        "  keys        {} ({} expired, {} evicted)",
        server.keys, server.expired_keys, server.evicted_keys
    );
    println!(
        "  hit rate    {} ({} hits, {} misses, server-wide)",
        rate(server.hit_rate()),
        server.keyspace_hits,
        server.keyspace_misses
    );
    println!(
        "  {:<14} {:>10} {:>10} {:>10} {:>8}",
        "namespace", "keys", "hits", "misses", "hit rate"
    );
    for s in &namespaces {
        println!(
            "  {:<14} {:>10} {:>10} {:>10} {:>8}",
            s.namespace,
            keys_of(s.namespace),
            s.hits,
            s.misses,
            rate(s.hit_rate())
        );
    }
    if !keys.complete {
        println!(
            "  key counts are a sample: the scan stopped after {} keys",
            keys.scanned
        );
    }
    println!(
        "cache stats: {} namespaces, hit rates as last flushed by the services (every 10 s)",
        namespaces.len()
    );
    Ok(0)
}
