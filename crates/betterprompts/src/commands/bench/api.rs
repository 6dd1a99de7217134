//! `bench api`: `betterprompts serve` as a child process on the bench
//! instance, loaded over loopback by `betterprompts loadgen` (a second
//! process, one thread, 32 keep-alive connections). Each figure sits next to
//! GET /api/v1/health on the same server in the same run: the cost of
//! HTTP, middleware and the loopback itself, with no engine or data work.
//!
//! - warm: the same anonymous /enhance body again and again, answered from
//!   the API response cache (rate-limit check + one Redis GET);
//! - uncached: a different text each request: rate-limit check, classify,
//!   select, generate, the history insert, and the cache writes;
//! - uncached, signed in: the same plus the session check and the
//!   background embedding of the row (anonymous rows are not embedded: only
//!   a user's own history is searchable).
//!
//! - mixed: signed-in users using the product at once (see [`MIX`]):
//!   enhancing, paging their history, searching, rating and reading their
//!   stats, with p50/p99 per route, so that the figure is a product's load
//!   and not one route's.
//!
//! Rate limits are raised for the run so that the limiter is checked on
//! every request but never refuses.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use bp_infra::Endpoints;

use super::Figure;
use crate::cli::BenchArgs;
use crate::progress::Progress;

const CONNECTIONS: u32 = 32;
const WARM_BODY: &str = r#"{"text":"Explain how photosynthesis turns sunlight into chemical energy"}"#;
const UNCACHED_BODY: &str = r#"{"text":"Write a Python function that sorts list {n} of customer records by signup date and explain it"}"#;

/// Signed-in users in the mixed load; the connections are shared among them.
const MIX_USERS: usize = 4;

/// The mixed load, by weight out of 20: 40% uncached enhancements, 30%
/// history pages, 15% semantic searches, 10% ratings of one of the user's
/// items (re-rating replaces), 5% stats. `{item}` is the connection's
/// user's item.
const MIX: &str = r#"[
 {"name":"enhance","weight":8,"method":"POST","path":"/api/v1/enhance",
  "body":"{\"text\":\"Write a short plan for task {n} of our spring fundraiser and who does what\"}"},
 {"name":"history","weight":6,"method":"GET","path":"/api/v1/history?limit=20"},
 {"name":"search","weight":3,"method":"POST","path":"/api/v1/search","body":"{\"query\":\"fundraiser plan\",\"limit\":10}"},
 {"name":"rate","weight":2,"method":"POST","path":"/api/v1/feedback","body":"{\"prompt_history_id\":\"{item}\",\"rating\":4}"},
 {"name":"stats","weight":1,"method":"GET","path":"/api/v1/history/stats"}
]"#;

/// The routes of [`MIX`], for the figures.
const MIX_ROUTES: [&str; 5] = ["enhance", "history", "search", "rate", "stats"];

/// The server under test; killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One loadgen run's result.
#[derive(Debug)]
struct Load {
    requests: u64,
    failed: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Per route, for a mix: (name, p50, p99).
    routes: Vec<(String, f64, f64)>,
}

/// Runs every API figure.
pub async fn run(
    endpoints: &Endpoints,
    home: &std::path::Path,
    args: &BenchArgs,
    infra: Option<&bp_infra::Infra>,
) -> anyhow::Result<Vec<Figure>> {
    let (warmup, seconds) = if args.smoke {
        (0.5, 1.0)
    } else if args.quick {
        (1.0, 4.0)
    } else {
        (2.0, 15.0)
    };
    let progress = Progress::start("bench api");
    progress.step("migrating the bench database");
    let pool = bp_store::connect(endpoints.database_url.expose(), &bp_store::PoolSettings::small()).await?;
    bp_store::migrate::run_up(&pool, &bp_store::migrate::MIGRATOR).await?;
    pool.close().await;
    progress.step("starting betterprompts serve");
    let server = start_server(endpoints, home, &[], "bench-api-server.log")?;
    wait_ready(&server.addr, Duration::from_secs(120))?;

    progress.step("GET /api/v1/health (baseline)");
    let health = loadgen(&server.addr, "GET", "/api/v1/health", None, warmup, seconds, None)?;
    progress.step("POST /api/v1/enhance, warm cache");
    let warm = loadgen(
        &server.addr,
        "POST",
        "/api/v1/enhance",
        Some(WARM_BODY),
        warmup,
        seconds,
        None,
    )?;
    progress.step("POST /api/v1/enhance, uncached");
    let uncached = loadgen(
        &server.addr,
        "POST",
        "/api/v1/enhance",
        Some(UNCACHED_BODY),
        warmup,
        seconds,
        None,
    )?;
    progress.step("POST /api/v1/enhance, uncached, signed in (session check, embedding)");
    let token = register(&server.addr)?;
    let bearer = format!("Authorization: Bearer {token}");
    let user = loadgen(
        &server.addr,
        "POST",
        "/api/v1/enhance",
        Some(UNCACHED_BODY),
        warmup,
        seconds,
        Some(&bearer),
    )?;
    progress.step(&format!(
        "mixed load: {MIX_USERS} signed-in users enhancing, paging, searching, rating"
    ));
    let users = mix_users(&server.addr, "mix")?;
    let mixed = loadgen_mix(&server.addr, &users, warmup, seconds)?;
    let rss_mb = peak_rss_mb(server.child.id())?;
    drop(server);
    let pooled = through_pgbouncer(endpoints, home, &progress, warmup, seconds)?;
    let scaled = match infra {
        Some(infra) => Some(scale_out(endpoints, home, infra, &progress, warmup, seconds).await?),
        None => {
            progress.step("replica and two processes: skipped on configured servers");
            None
        }
    };
    progress.finish_on_stderr(&format!(
        "bench api: {:.0} warm and {:.0} uncached enhancements/s vs {:.0} health checks/s",
        warm.rps, uncached.rps, health.rps
    ));

    let label = format!("GET /api/v1/health, same server, {CONNECTIONS} connections");
    let fig = |name: &str, unit: &'static str, value: f64, baseline: Option<f64>| Figure {
        name: name.into(),
        unit,
        value,
        baseline,
        baseline_label: if baseline.is_some() {
            label.clone()
        } else {
            String::new()
        },
    };
    Ok([
        fig("api_health", "req/s", health.rps, None),
        fig("api_enhance_warm", "req/s", warm.rps, Some(health.rps)),
        fig("api_enhance_warm_p99_ms", "ms", warm.p99_ms, Some(health.p99_ms)),
        fig("api_enhance_uncached", "req/s", uncached.rps, Some(health.rps)),
        fig(
            "api_enhance_uncached_p50_ms",
            "ms",
            uncached.p50_ms,
            Some(health.p50_ms),
        ),
        fig(
            "api_enhance_uncached_p99_ms",
            "ms",
            uncached.p99_ms,
            Some(health.p99_ms),
        ),
        fig("api_enhance_uncached_user", "req/s", user.rps, Some(health.rps)),
        fig(
            "api_enhance_uncached_user_p99_ms",
            "ms",
            user.p99_ms,
            Some(health.p99_ms),
        ),
        fig("server_peak_rss_mb", "MiB", rss_mb, None),
    ]
    .into_iter()
    .chain([
        fig("api_mixed", "req/s", mixed.rps, Some(health.rps)),
        fig("api_mixed_p99_ms", "ms", mixed.p99_ms, Some(health.p99_ms)),
    ])
    .chain(pooled.iter().flat_map(|(uncached_pooled, mixed_pooled)| {
        let label = format!("the same load on a direct connection, same run, {CONNECTIONS} connections");
        [
            compared(
                "api_enhance_uncached_pgbouncer",
                "req/s",
                uncached_pooled.rps,
                uncached.rps,
                &label,
            ),
            compared(
                "api_mixed_pgbouncer",
                "req/s",
                mixed_pooled.rps,
                mixed.rps,
                &label,
            ),
            compared(
                "api_mixed_history_p99_ms_pgbouncer",
                "ms",
                mixed_pooled.route_p99("history"),
                mixed.route_p99("history"),
                &label,
            ),
        ]
    }))
    .chain(scaled.iter().flat_map(|(replica, two)| {
        let label =
            format!("the same mixed load on one process, no replica, same run, {CONNECTIONS} connections");
        [
            compared("api_mixed_replica", "req/s", replica.rps, mixed.rps, &label),
            compared(
                "api_mixed_history_p99_ms_replica",
                "ms",
                replica.route_p99("history"),
                mixed.route_p99("history"),
                &label,
            ),
            compared("api_mixed_two_processes", "req/s", two.rps, mixed.rps, &label),
            compared(
                "api_mixed_history_p99_ms_two_processes",
                "ms",
                two.route_p99("history"),
                mixed.route_p99("history"),
                &label,
            ),
        ]
    }))
    .chain(mixed.routes.iter().flat_map(|(route, p50, p99)| {
        [
            fig(
                &format!("api_mixed_{route}_p50_ms"),
                "ms",
                *p50,
                Some(health.p50_ms),
            ),
            fig(
                &format!("api_mixed_{route}_p99_ms"),
                "ms",
                *p99,
                Some(health.p99_ms),
            ),
        ]
    }))
    .collect())
}

/// Starts `serve` on the bench instance; `database` overrides its
/// database settings (through PgBouncer), `log` names its log file under
/// `home`.
fn start_server(
    endpoints: &Endpoints,
    home: &std::path::Path,
    database: &[(&str, String)],
    log: &str,
) -> anyhow::Result<Server> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let addr = format!("127.0.0.1:{port}");
    let exe = std::env::current_exe().context("locating the betterprompts binary")?;
    let log = std::fs::File::create(home.join(log))?;
    let secret: String = {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        hex::encode(bytes)
    };
    let unlimited = "1000000000";
    let child = Command::new(exe)
        .args(["serve", "--addr", &addr])
        .env("DATABASE_URL", endpoints.database_url.expose())
        .env("REDIS_URL", endpoints.redis_url.expose())
        .env("BP_HOME", home)
        .env("BP_JWT_SECRET", secret)
        .env("BP_RATE_LIMIT_ANONYMOUS", unlimited)
        .env("BP_RATE_LIMIT_FREE", unlimited)
        .env("RUST_LOG", "warn")
        // The operator's own topology settings would change what the
        // baselines ("direct", "no replica") measure.
        .env_remove("DATABASE_READ_URL")
        .env_remove("DATABASE_DIRECT_URL")
        .env_remove("BP_DB_POOLER")
        .envs(database.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting betterprompts serve")?;
    Ok(Server { child, addr })
}

/// A figure measured against the same one in another setup of the run.
fn compared(name: &str, unit: &'static str, value: f64, baseline: f64, label: &str) -> Figure {
    Figure {
        name: name.into(),
        unit,
        value,
        baseline: Some(baseline),
        baseline_label: label.to_owned(),
    }
}

impl Load {
    /// The p99 of one route of a mixed load (0 when it has none).
    fn route_p99(&self, route: &str) -> f64 {
        self.routes
            .iter()
            .find(|(r, _, _)| r == route)
            .map_or(0.0, |(_, _, p99)| *p99)
    }
}

/// Registers the mixed load's users on the server at `addr` (`{prefix}0`,
/// ...), each with one enhancement of their own to rate.
fn mix_users(addr: &str, prefix: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut users = Vec::with_capacity(MIX_USERS);
    for i in 0..MIX_USERS {
        let token = register_as(addr, &format!("{prefix}{i}"))?;
        let bearer = format!("Authorization: Bearer {token}");
        let item = first_item(addr, &bearer)?;
        users.push((bearer, item));
    }
    Ok(users)
}

/// The uncached and mixed loads again, on a second `serve` whose database
/// is reached through PgBouncer in transaction mode (`BP_DB_POOLER=transaction`,
/// 8 server connections; migrations and maintenance on the direct URL):
/// what the pooler costs a request. `None`, with a note, where `pgbouncer`
/// is not installed.
fn through_pgbouncer(
    endpoints: &Endpoints,
    home: &std::path::Path,
    progress: &Progress,
    warmup: f64,
    seconds: f64,
) -> anyhow::Result<Option<(Load, Load)>> {
    use bp_infra::pgbouncer::{PgBouncer, PoolMode, Upstream};
    if !bp_infra::pgbouncer::binary().is_file() {
        progress.step("through PgBouncer: skipped, pgbouncer is not installed (Debian's pgbouncer package)");
        return Ok(None);
    }
    progress.step("POST /api/v1/enhance, uncached, and the mixed load, through PgBouncer (transaction mode)");
    let direct = endpoints.database_url.expose();
    let upstream = Upstream::from_url(direct)?;
    let dir = tempfile::tempdir()?;
    let bouncer = PgBouncer::start(&upstream, PoolMode::Transaction, 8, dir.path())?;
    let database = [
        ("DATABASE_URL", bouncer.url(&upstream.user)),
        ("DATABASE_DIRECT_URL", direct.to_owned()),
        ("BP_DB_POOLER", "transaction".to_owned()),
    ];
    let server = start_server(endpoints, home, &database, "bench-api-pgbouncer-server.log")?;
    wait_ready(&server.addr, Duration::from_secs(120))?;
    let uncached = loadgen(
        &server.addr,
        "POST",
        "/api/v1/enhance",
        Some(UNCACHED_BODY),
        warmup,
        seconds,
        None,
    )?;
    let users = mix_users(&server.addr, "pooledmix")?;
    let mixed = loadgen_mix(&server.addr, &users, warmup, seconds)?;
    drop(server);
    drop(bouncer);
    Ok(Some((uncached, mixed)))
}

/// The mixed load twice more: with a hot standby of the bench instance
/// serving the reads that may be stale (`DATABASE_READ_URL`; a user's reads
/// right after their own write still go to the primary), and split over two
/// `serve` processes on the one database and Redis (16 connections each,
/// from two load generators at once). On this machine's two cores both
/// add processes competing for the same CPUs: the figures say what the
/// topology costs here, not what a second machine would add.
async fn scale_out(
    endpoints: &Endpoints,
    home: &std::path::Path,
    infra: &bp_infra::Infra,
    progress: &Progress,
    warmup: f64,
    seconds: f64,
) -> anyhow::Result<(Load, Load)> {
    progress.step("mixed load with the reads on a hot standby");
    let replicas = infra
        .replicas_up(1, &|s| progress.step(s))
        .await
        .context("starting a replica of the bench instance")?;
    let index = replicas.first().context("no replica started")?.index;
    let report = infra.replica_report().await?;
    let url = report
        .iter()
        .find(|r| r.replica.index == index)
        .context("the replica is not recorded")?
        .url
        .expose()
        .to_owned();
    let server = start_server(
        endpoints,
        home,
        &[("DATABASE_READ_URL", url)],
        "bench-api-replica-server.log",
    )?;
    wait_ready(&server.addr, Duration::from_secs(120))?;
    let users = mix_users(&server.addr, "replicamix")?;
    let replica = loadgen_mix(&server.addr, &users, warmup, seconds)?;
    drop(server);
    infra.stop_replica(index).context("stopping the bench replica")?;

    progress.step("mixed load over two serve processes");
    let a = start_server(endpoints, home, &[], "bench-api-server-a.log")?;
    let b = start_server(endpoints, home, &[], "bench-api-server-b.log")?;
    wait_ready(&a.addr, Duration::from_secs(120))?;
    wait_ready(&b.addr, Duration::from_secs(120))?;
    let (users_a, users_b) = (mix_users(&a.addr, "twoa")?, mix_users(&b.addr, "twob")?);
    let half = CONNECTIONS / 2;
    let (la, lb) = std::thread::scope(|scope| {
        let first = scope.spawn(|| loadgen_mix_with(&a.addr, &users_a, warmup, seconds, half));
        let second = loadgen_mix_with(&b.addr, &users_b, warmup, seconds, half);
        let first = first
            .join()
            .map_err(|_| anyhow::anyhow!("the first load generator's thread panicked"))?;
        anyhow::Ok((first?, second?))
    })?;
    drop((a, b));
    // Together: requests add up; each route's tail is the worse of the two.
    let routes = la
        .routes
        .iter()
        .map(|(name, p50, p99)| {
            let other = lb.routes.iter().find(|(n, _, _)| n == name);
            (
                name.clone(),
                other.map_or(*p50, |(_, q50, _)| p50.max(*q50)),
                other.map_or(*p99, |(_, _, q99)| p99.max(*q99)),
            )
        })
        .collect();
    let two = Load {
        requests: la.requests + lb.requests,
        failed: la.failed + lb.failed,
        rps: la.rps + lb.rps,
        p50_ms: la.p50_ms.max(lb.p50_ms),
        p99_ms: la.p99_ms.max(lb.p99_ms),
        routes,
    };
    Ok((replica, two))
}

/// Polls GET /api/v1/ready until 200 or the deadline.
fn wait_ready(addr: &str, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if get_status(addr, "/api/v1/ready").is_ok_and(|s| s == 200) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the server did not become ready within {limit:?} (see bench-api-server.log under BP_HOME)"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Registers the bench user; returns its access token.
fn register(addr: &str) -> anyhow::Result<String> {
    register_as(addr, "bench")
}

/// Registers the user `name` (`name@example.com`); returns its access token.
fn register_as(addr: &str, name: &str) -> anyhow::Result<String> {
    let body = serde_json::json!({
        "email": format!("{name}@example.com"),
        "username": name,
        "password": "Bench-Run-2026!x",
        "confirm_password": "Bench-Run-2026!x",
    })
    .to_string();
    let parsed = post_json(addr, "/api/v1/auth/register", &body, None).context("registering a bench user")?;
    parsed["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("registering the bench user {name}: {}", parsed["error"]))
}

/// Enhances one prompt as the user of `bearer`; returns the new item's id,
/// for the mix's ratings.
fn first_item(addr: &str, bearer: &str) -> anyhow::Result<String> {
    let body = r#"{"text":"Plan the first meeting of our spring fundraiser committee"}"#;
    let parsed = post_json(addr, "/api/v1/enhance", body, Some(bearer))?;
    parsed["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("a bench user's first enhancement: {}", parsed["error"]))
}

/// POSTs `body` and reads the JSON answer (one request per connection).
fn post_json(addr: &str, path: &str, body: &str, header: Option<&str>) -> anyhow::Result<serde_json::Value> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let header = header.map_or_else(String::new, |h| format!("{h}\r\n"));
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{header}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let json = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(json).with_context(|| format!("reading the answer to POST {path}"))
}

fn get_status(addr: &str, path: &str) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    std::str::from_utf8(&head[9..12])?.parse().context("no status")
}

fn loadgen(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    warmup: f64,
    seconds: f64,
    header: Option<&str>,
) -> anyhow::Result<Load> {
    let mut cmd = loadgen_command(addr, warmup, seconds)?;
    cmd.args(["--method", method, "--path", path]);
    if let Some(body) = body {
        cmd.args(["--body", body]);
    }
    if let Some(header) = header {
        cmd.args(["--header", header]);
    }
    run_loadgen(cmd, &format!("{method} {path}"))
}

/// `betterprompts loadgen` at `addr` with [`CONNECTIONS`] connections,
/// the warm-up and the measured duration; the caller adds what to send.
fn loadgen_command(addr: &str, warmup: f64, seconds: f64) -> anyhow::Result<Command> {
    loadgen_command_with(addr, warmup, seconds, CONNECTIONS)
}

/// [`loadgen_command`] over `connections` connections.
fn loadgen_command_with(addr: &str, warmup: f64, seconds: f64, connections: u32) -> anyhow::Result<Command> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["loadgen", "--addr", addr])
        .args(["--connections", &connections.to_string()])
        .args([
            "--warmup-secs",
            &warmup.to_string(),
            "--duration-secs",
            &seconds.to_string(),
        ]);
    Ok(cmd)
}

/// Runs a prepared `loadgen` command and reads its report; refuses a run
/// where more than 1% of the requests failed.
fn run_loadgen(mut cmd: Command, what: &str) -> anyhow::Result<Load> {
    let out = cmd.stderr(Stdio::inherit()).output().context("running loadgen")?;
    anyhow::ensure!(out.status.success(), "loadgen failed on {what}");
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading loadgen's report")?;
    let number = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let routes = report["routes"]
        .as_object()
        .map(|routes| {
            routes
                .iter()
                .map(|(name, r)| (name.clone(), number(r, "p50_ms"), number(r, "p99_ms")))
                .collect()
        })
        .unwrap_or_default();
    let load = Load {
        requests: report["requests"].as_u64().unwrap_or(0),
        failed: report["failed"].as_u64().unwrap_or(0),
        rps: number(&report, "rps"),
        p50_ms: number(&report, "p50_ms"),
        p99_ms: number(&report, "p99_ms"),
        routes,
    };
    anyhow::ensure!(
        load.failed * 100 <= load.requests,
        "{what}: {} of {} requests failed; the figures would be meaningless",
        load.failed,
        load.requests + load.failed
    );
    Ok(load)
}

/// The mixed load ([`MIX`]) from [`CONNECTIONS`] connections shared by
/// `users` (bearer header, item id).
fn loadgen_mix(addr: &str, users: &[(String, String)], warmup: f64, seconds: f64) -> anyhow::Result<Load> {
    loadgen_mix_with(addr, users, warmup, seconds, CONNECTIONS)
}

/// [`loadgen_mix`] over `connections` connections.
fn loadgen_mix_with(
    addr: &str,
    users: &[(String, String)],
    warmup: f64,
    seconds: f64,
    connections: u32,
) -> anyhow::Result<Load> {
    let mut cmd = loadgen_command_with(addr, warmup, seconds, connections)?;
    cmd.args(["--path", "/", "--mix", MIX]);
    for (bearer, item) in users {
        cmd.args(["--conn-header", bearer, "--conn-item", item]);
    }
    let mut load = run_loadgen(cmd, "the mixed load")?;
    anyhow::ensure!(
        load.routes.len() == MIX_ROUTES.len(),
        "the mixed load reported {} routes, not {}",
        load.routes.len(),
        MIX_ROUTES.len()
    );
    // The figures in the order of the mix.
    load.routes
        .sort_by_key(|(name, _, _)| MIX_ROUTES.iter().position(|r| r == name));
    Ok(load)
}

/// The process's peak resident set (`VmHWM`), in MiB.
fn peak_rss_mb(pid: u32) -> anyhow::Result<f64> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading the server's status")?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmHWM in /proc/PID/status")?;
    Ok(kb / 1024.0)
}
