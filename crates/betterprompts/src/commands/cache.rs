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
        CacheCommand::Stats { json } => stats(&cache, json).await,
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
