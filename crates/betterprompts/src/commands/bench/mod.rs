//! `betterprompts bench`: each figure is measured next to its raw baseline
//! in the same run, on a throw-away embedded instance (`bench`, ephemeral:
//! fsync off, so both sides are CPU-bound rather than disk-bound), which is
//! purged at the end.

mod api;
mod cache;
mod crypto;
mod engine;
mod pgbench;
mod pooler;
mod redis_benchmark;
mod rls;
mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bp_config::Settings;
use bp_infra::{Endpoints, Infra, Installed};
use serde_json::json;

use crate::cli::{BenchArgs, BenchCommand, EngineBenchArgs};
use crate::progress::Progress;

/// One measured figure and its baseline.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Stable name (design.md lists them).
    pub name: String,
    /// `rows/s`, `ms`, `qps`, `ratio`.
    pub unit: &'static str,
    /// Our value.
    pub value: f64,
    /// The raw baseline's value, when there is one.
    pub baseline: Option<f64>,
    /// What the baseline is.
    pub baseline_label: String,
}

impl Figure {
    fn ratio(&self) -> Option<f64> {
        self.baseline.filter(|b| *b != 0.0).map(|b| self.value / b)
    }
}

/// One caller's view of a throughput run ([`per_second`]).
#[derive(Clone)]
pub struct Lap {
    deadline: Instant,
    done: Arc<AtomicU64>,
}

impl Lap {
    /// True while the run's time is not up.
    pub fn going(&self) -> bool {
        Instant::now() < self.deadline
    }

    /// Counts one completed call.
    pub fn count(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Completed calls per second when `callers` tasks run for `run`: task `i`
/// is `caller(i, lap)`, which sets itself up (a held connection, say),
/// calls while `lap.going()` and `lap.count()`s each call. The first error
/// of any task is the run's.
pub async fn per_second<F, Fut>(callers: u32, run: Duration, caller: F) -> anyhow::Result<f64>
where
    F: Fn(u32, Lap) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let start = Instant::now();
    let lap = Lap {
        deadline: start + run,
        done: Arc::new(AtomicU64::new(0)),
    };
    let tasks: Vec<_> = (0..callers)
        .map(|i| tokio::spawn(caller(i, lap.clone())))
        .collect();
    for t in tasks {
        t.await.context("a benchmark caller panicked")??;
    }
    Ok(lap.done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

/// Runs the chosen benchmark and prints the report.
pub async fn run(settings: &Settings, cmd: BenchCommand) -> anyhow::Result<u8> {
    let (args, target) = match &cmd {
        BenchCommand::Store(args) => (args.clone(), "store"),
        BenchCommand::Cache(args) => (args.clone(), "cache"),
        BenchCommand::Api(args) => (args.clone(), "api"),
        BenchCommand::All(args) => (args.clone(), "all"),
        BenchCommand::Engine(args) => (args.common.clone(), "engine"),
    };
    let mut figures = Vec::new();
    let mut extra = None;
    if let BenchCommand::Engine(_) | BenchCommand::All(_) = &cmd {
        // In-process: no servers needed.
        let engine_args = match &cmd {
            BenchCommand::Engine(engine_args) => engine_args.clone(),
            _ => EngineBenchArgs {
                common: args.clone(),
                eval: None,
            },
        };
        let (engine_figures, eval, version) = engine::run(&engine_args, &settings.engine.model_dir)?;
        extra = Some(json!({ "model_version": version, "confusion": engine::confusion_json(&eval) }));
        if !args.json {
            println!("model {version}\n{}", engine::confusion_table(&eval));
        }
        figures.extend(engine_figures);
    }
    if !matches!(cmd, BenchCommand::Engine(_)) {
        figures.extend(with_servers(settings, &cmd, &args).await?);
    }
    print_report(&figures, &args, target, extra);
    Ok(0)
}

/// Finds the tools, starts a throw-away instance (or takes the configured
/// servers with `--use-configured`), measures, and purges the instance.
async fn with_servers(
    settings: &Settings,
    cmd: &BenchCommand,
    args: &BenchArgs,
) -> anyhow::Result<Vec<Figure>> {
    let infra = Infra::new(&settings.home.home, "bench").ephemeral(true);
    // The bench writes history rows through the store, which seals PII;
    // the API server it starts reads the same keys from BP_HOME or the environment.
    super::keys::install(settings, true)?;
    if args.use_configured {
        let (Some(database_url), Some(redis_url)) = (&settings.database.url, &settings.redis.url) else {
            anyhow::bail!("--use-configured needs both DATABASE_URL and REDIS_URL");
        };
        let progress = Progress::start("bench: finding pgbench and redis-benchmark");
        let installed = infra.install(&|s| progress.step(s))?;
        progress.finish_on_stderr("bench: measuring the configured servers");
        let endpoints = Endpoints {
            database_url: database_url.clone(),
            redis_url: redis_url.clone(),
        };
        return measure(&endpoints, &installed, cmd, &settings.home.home, None).await;
    }
    let progress = Progress::start("bench: starting a throw-away PostgreSQL and Redis (instance `bench`)");
    // A previous run that was interrupted may have left it behind.
    infra.down(true).context("clearing an old bench instance")?;
    let installed = infra.install(&|s| progress.step(s))?;
    infra
        .up(&|s| progress.step(s))
        .await
        .context("starting the bench instance")?;
    progress.finish_on_stderr("bench instance is up");
    let endpoints = infra
        .endpoints()?
        .context("the bench instance started but does not answer")?;
    // Whatever happens while measuring, the instance is purged afterwards.
    let result = measure(&endpoints, &installed, cmd, &settings.home.home, Some(&infra)).await;
    let stopped = infra.down(true);
    let figures = result?;
    stopped.context("stopping the bench instance")?;
    Ok(figures)
}

async fn measure(
    endpoints: &Endpoints,
    installed: &Installed,
    cmd: &BenchCommand,
    home: &std::path::Path,
    infra: Option<&Infra>,
) -> anyhow::Result<Vec<Figure>> {
    let store_figures = |args: &BenchArgs| {
        let url = endpoints.database_url.expose().to_owned();
        let bin = installed.postgres.bin_dir.clone();
        let args = args.clone();
        async move {
            let pgbench = pgbench::Pgbench::new(&bin, &url)?;
            store::run(&url, &pgbench, &args).await
        }
    };
    let cache_figures = |args: &BenchArgs| {
        let url = endpoints.redis_url.expose().to_owned();
        let binary = installed.redis.binary.clone();
        let args = args.clone();
        async move {
            let baseline = redis_benchmark::RedisBenchmark::new(&binary, &url)?;
            cache::run(&url, &baseline, &args).await
        }
    };
    match cmd {
        BenchCommand::Store(args) => store_figures(args).await,
        BenchCommand::Cache(args) => cache_figures(args).await,
        BenchCommand::Api(args) => api::run(endpoints, home, args, infra).await,
        BenchCommand::All(args) => {
            let mut figures = store_figures(args).await?;
            figures.extend(cache_figures(args).await?);
            figures.extend(api::run(endpoints, home, args, infra).await?);
            Ok(figures)
        }
        BenchCommand::Engine(_) => anyhow::bail!("bench engine runs without servers"),
    }
}

fn print_report(figures: &[Figure], args: &BenchArgs, target: &str, extra: Option<serde_json::Value>) {
    if args.json {
        let figures: Vec<_> = figures
            .iter()
            .map(|f| {
                json!({
                    "name": f.name, "unit": f.unit, "value": f.value,
                    "baseline": f.baseline, "ratio": f.ratio(), "baseline_label": f.baseline_label,
                })
            })
            .collect();
        let mut report =
            json!({ "machine": machine(), "commit": commit(), "quick": args.quick, "figures": figures });
        if let (Some(serde_json::Value::Object(extra)), Some(obj)) = (extra, report.as_object_mut()) {
            obj.extend(extra);
        }
        println!("{report}");
        return;
    }
    println!(
        "{:<36} {:>14} {:>14} {:>8}  baseline",
        "figure", "value", "baseline", "ratio"
    );
    for f in figures {
        let value = format!("{:.2} {}", f.value, f.unit);
        let baseline = f.baseline.map_or("-".into(), |b| format!("{b:.2}"));
        let ratio = f.ratio().map_or("-".into(), |r| format!("{r:.2}"));
        println!(
            "{:<36} {:>14} {:>14} {:>8}  {}",
            f.name, value, baseline, ratio, f.baseline_label
        );
    }
    println!("bench {target}: {} figures measured", figures.len());
}

/// CPU count, memory and OS of this machine.
fn machine() -> serde_json::Value {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gb = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| (kb / 1024.0 / 1024.0 * 10.0).round() / 10.0)
    });
    let os = std::fs::read_to_string("/etc/os-release").ok().and_then(|r| {
        r.lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_owned())
    });
    json!({ "cpus": cpus, "memory_gb": mem_gb, "os": os.unwrap_or_else(|| std::env::consts::OS.into()) })
}

/// The checked-out commit, when run from a git checkout.
fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "unknown".into(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        )
}

/// p-th percentile (0..=100) of `samples` in ms, nearest rank.
pub fn percentile_ms(samples: &mut [Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_unstable();
    let rank = ((p / 100.0) * samples.len() as f64).ceil().max(1.0) as usize;
    samples[rank.min(samples.len()) - 1].as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut s: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&mut s, 99.0), 99.0);
        assert_eq!(percentile_ms(&mut s, 50.0), 50.0);
        assert_eq!(percentile_ms(&mut s[..1], 99.0), 1.0);
    }
}
