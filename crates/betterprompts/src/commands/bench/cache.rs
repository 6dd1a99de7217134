//! `bench cache`: typed cache reads and writes and rate-limit checks at 50
//! concurrent callers on one multiplexed connection, each next to
//! redis-benchmark running the same command at the same concurrency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bp_cache::{Cache, CacheSettings, Namespace, RateLimit};
use serde_json::json;

use super::Figure;
use super::redis_benchmark::RedisBenchmark;
use crate::cli::BenchArgs;
use crate::progress::Progress;

const CALLERS: u32 = 50;
const KEYSPACE: u64 = 10_000;
/// Rate-limit identifiers; at the rates reached none hits its limit, so
/// both sides run the allowing path of the script.
const IDENTIFIERS: u64 = 1_000;
const LIMIT: RateLimit = RateLimit::new(1_000, Duration::from_secs(1));

/// Runs every cache figure.
pub async fn run(url: &str, baseline: &RedisBenchmark, args: &BenchArgs) -> anyhow::Result<Vec<Figure>> {
    let (run, requests) = if args.smoke {
        (Duration::from_secs(1), 10_000)
    } else if args.quick {
        (Duration::from_secs(3), 100_000)
    } else {
        (Duration::from_secs(10), 400_000)
    };
    let settings = CacheSettings {
        op_timeout: Duration::from_secs(5),
        ..CacheSettings::new("bench")
    };
    let cache = Cache::connect_with(url, settings).await?;
    let progress = Progress::start("bench cache");
    // A cached enhance response of typical size.
    let value = json!({
        "intent": "code_generation", "complexity": "moderate",
        "techniques": ["chain_of_thought", "structured_output"],
        "enhanced": "You are a senior engineer. Think step by step. ".repeat(6),
    });
    let size = bp_cache::codec::encode(&value)?.len();
    progress.step(&format!("loading {KEYSPACE} keys"));
    let value = Arc::new(value);
    let mut loaders = tokio::task::JoinSet::new();
    for first in 0..u64::from(CALLERS) {
        let (cache, value) = (cache.clone(), value.clone());
        loaders.spawn(async move {
            for i in (first..KEYSPACE).step_by(CALLERS as usize) {
                anyhow::ensure!(
                    cache
                        .put(Namespace::ApiResponses, &[&i.to_string()], &*value)
                        .await,
                    "loading key {i} failed"
                );
            }
            Ok(())
        });
    }
    while let Some(loaded) = loaders.join_next().await {
        loaded??;
    }
    let mut figures = Vec::new();

    progress.step("cache_get: fetch");
    let ours = rate(&cache, run, |cache, i| async move {
        cache
            .fetch::<serde_json::Value>(Namespace::ApiResponses, &[&(i % KEYSPACE).to_string()])
            .await
            .is_some()
    })
    .await?;
    progress.step("cache_get: redis-benchmark GET");
    let set_size = size.to_string();
    baseline.rps(&["-t", "set", "-d", &set_size], CALLERS, KEYSPACE * 2, KEYSPACE)?;
    let base = baseline.rps(&["-t", "get"], CALLERS, requests, KEYSPACE)?;
    figures.push(figure(
        "cache_get",
        ours,
        base,
        &format!("redis-benchmark -t get -c {CALLERS}"),
    ));

    progress.step("cache_set: put");
    let shared = value.clone();
    let ours = rate(&cache, run, move |cache, i| {
        let value = shared.clone();
        async move {
            cache
                .put(Namespace::ApiResponses, &[&(i % KEYSPACE).to_string()], &*value)
                .await
        }
    })
    .await?;
    progress.step("cache_set: redis-benchmark SET");
    let base = baseline.rps(&["-t", "set", "-d", &set_size], CALLERS, requests, KEYSPACE)?;
    figures.push(figure(
        "cache_set",
        ours,
        base,
        &format!("redis-benchmark -t set -d {size} -c {CALLERS} (our encoded value size)"),
    ));

    progress.step("ratelimit_check: check_rate_limit");
    let ours = rate(&cache, run, |cache, i| async move {
        cache
            .check_rate_limit(&format!("client-{}", i % IDENTIFIERS), LIMIT)
            .await
            .is_ok_and(|d| d.allowed)
    })
    .await?;
    progress.step("ratelimit_check: redis-benchmark EVALSHA");
    let sha = cache.load_rate_limit_script().await?;
    let limit = LIMIT.max.to_string();
    let window = LIMIT.window.as_millis().to_string();
    let base = baseline.rps(
        &["EVALSHA", &sha, "1", "bench:rl:__rand_int__", &limit, &window],
        CALLERS,
        requests,
        IDENTIFIERS,
    )?;
    figures.push(figure(
        "ratelimit_check",
        ours,
        base,
        &format!("redis-benchmark EVALSHA of the same script -c {CALLERS}"),
    ));
    progress.finish_on_stderr(&format!("bench cache: measured {} figures", figures.len()));
    Ok(figures)
}

fn figure(name: &str, value: f64, baseline: f64, label: &str) -> Figure {
    Figure {
        name: name.into(),
        unit: "ops/s",
        value,
        baseline: Some(baseline),
        baseline_label: label.into(),
    }
}

/// Calls per second of `op` (given a handle on `cache`) from [`CALLERS`] tasks for `run`; every call
/// must succeed (`op` returns false on a miss, a drop or a refusal).
async fn rate<F, Fut>(cache: &Cache, run: Duration, op: F) -> anyhow::Result<f64>
where
    F: Fn(Cache, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let failed = Arc::new(AtomicU64::new(0));
    let rate = super::per_second(CALLERS, run, |t, lap| {
        let (op, failed, cache) = (op.clone(), failed.clone(), cache.clone());
        async move {
            let mut i = u64::from(t) * 7919;
            while lap.going() {
                if !op(cache.clone(), i).await {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                lap.count();
                i += 1;
            }
            Ok(())
        }
    })
    .await?;
    let failed = failed.load(Ordering::Relaxed);
    anyhow::ensure!(failed == 0, "{failed} cache calls failed during the run");
    Ok(rate)
}
