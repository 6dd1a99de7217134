//! `betterprompts loadgen`: a closed-loop HTTP/1.1 load generator, run by
//! `bench api` as a process of its own so that the client's work is not
//! counted inside the server (like `wrk -t1`): N keep-alive connections on
//! one thread, each sending its next request as soon as the previous answer
//! is read. Prints one JSON object with the count, rate and latency
//! percentiles; with `--mix`, each connection cycles through a weighted set
//! of requests and the report has the same figures per route.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cli::LoadgenArgs;

/// Runs the load and prints the result.
pub fn run(args: &LoadgenArgs) -> anyhow::Result<u8> {
    // One thread, as wrk -t1: the other core stays with the server.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(load(args))?;
    println!("{report}");
    Ok(0)
}

/// What one connection measured (for one route, or in total).
#[derive(Debug, Default)]
struct Tally {
    ok: u64,
    failed: u64,
    latencies_us: Vec<u32>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.latencies_us.extend(other.latencies_us);
    }

    /// The figures of this tally over `seconds`; sorts the latencies.
    fn report(&mut self, seconds: f64) -> serde_json::Value {
        self.latencies_us.sort_unstable();
        let pct = |p: f64| -> f64 {
            let n = self.latencies_us.len();
            if n == 0 {
                return f64::NAN;
            }
            let rank = ((p / 100.0) * n as f64).ceil().max(1.0) as usize;
            f64::from(self.latencies_us[rank.min(n) - 1]) / 1000.0
        };
        json!({
            "requests": self.ok,
            "failed": self.failed,
            "seconds": seconds,
            "rps": self.ok as f64 / seconds,
            "p50_ms": pct(50.0),
            "p99_ms": pct(99.0),
            "max_ms": pct(100.0),
        })
    }
}

/// One kind of request in a mix.
#[derive(Debug, Clone, serde::Deserialize)]
struct Route {
    name: String,
    weight: u32,
    method: String,
    path: String,
    #[serde(default)]
    body: Option<String>,
}

/// The routes of a run: the `--mix`, or the one request of the other options.
fn routes(args: &LoadgenArgs) -> anyhow::Result<Vec<Route>> {
    let Some(mix) = &args.mix else {
        return Ok(vec![Route {
            name: "all".into(),
            weight: 1,
            method: args.method.clone(),
            path: args.path.clone(),
            body: args.body.clone(),
        }]);
    };
    let routes: Vec<Route> = serde_json::from_str(mix).context("--mix is not a JSON array of routes")?;
    anyhow::ensure!(
        !routes.is_empty() && routes.iter().all(|r| (1..=MAX_WEIGHT).contains(&r.weight)),
        "--mix needs at least one route, each with a weight of 1 to {MAX_WEIGHT}"
    );
    Ok(routes)
}

/// The order a connection sends the routes in: each route as often as its
/// weight, interleaved (weights 2 and 1 give A, B, A), so that every
/// stretch of the run carries the mix.
/// Largest weight of one route in a `--mix`: the schedule has one slot per
/// unit of weight, so this bounds its length (and keeps the sum far from
/// overflowing).
const MAX_WEIGHT: u32 = 1000;

fn schedule(routes: &[Route]) -> Vec<usize> {
    let total: u32 = routes.iter().map(|r| r.weight).sum();
    let mut credit: Vec<i64> = vec![0; routes.len()];
    (0..total)
        .map(|_| {
            for (c, r) in credit.iter_mut().zip(routes) {
                *c += i64::from(r.weight);
            }
            // Smooth weighted round robin (as nginx balances upstreams).
            let (pick, _) = credit
                .iter()
                .enumerate()
                .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
                .unwrap_or((0, &0));
            credit[pick] -= i64::from(total);
            pick
        })
        .collect()
}

async fn load(args: &LoadgenArgs) -> anyhow::Result<serde_json::Value> {
    anyhow::ensure!(args.connections > 0, "--connections must be at least 1");
    let routes = routes(args)?;
    let warmup = Duration::from_secs_f64(args.warmup_secs);
    let measure = Duration::from_secs_f64(args.duration_secs);
    let mut tasks = tokio::task::JoinSet::new();
    for conn in 0..args.connections {
        let (args, routes) = (args.clone(), routes.clone());
        tasks.spawn(async move { connection(&args, &routes, conn, warmup, measure).await });
    }
    let mut per_route: Vec<Tally> = routes.iter().map(|_| Tally::default()).collect();
    while let Some(done) = tasks.join_next().await {
        for (sum, t) in per_route.iter_mut().zip(done??) {
            sum.add(t);
        }
    }
    let seconds = measure.as_secs_f64();
    let mut by_route = serde_json::Map::new();
    let mut total = Tally::default();
    for (route, mut t) in routes.iter().zip(per_route) {
        by_route.insert(route.name.clone(), t.report(seconds));
        total.add(t);
    }
    let mut report = total.report(seconds);
    report["connections"] = json!(args.connections);
    if args.mix.is_some() {
        report["routes"] = serde_json::Value::Object(by_route);
    }
    Ok(report)
}

/// One keep-alive connection's loop, over the routes in schedule order;
/// `{n}` in a path or body becomes a number no other request of this run
/// uses, `{item}` this connection's `--conn-item`.
async fn connection(
    args: &LoadgenArgs,
    routes: &[Route],
    conn: u32,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<Vec<Tally>> {
    let mut stream = TcpStream::connect(&args.addr)
        .await
        .with_context(|| format!("connecting to {}", args.addr))?;
    stream.set_nodelay(true)?;
    let pick = |values: &[String]| values.get(conn as usize % values.len().max(1)).cloned();
    let mut headers = args.header.clone();
    headers.extend(pick(&args.conn_header));
    let item = pick(&args.conn_item).unwrap_or_default();
    let order = schedule(routes);
    let mut tallies: Vec<Tally> = routes.iter().map(|_| Tally::default()).collect();
    let mut buf = Vec::with_capacity(16 * 1024);
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + measure;
    let mut n: u64 = 0;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        // Connections start at different places in the schedule, so the
        // routes are mixed at every moment, not in waves.
        let index = order[(n as usize + conn as usize) % order.len()];
        let route = &routes[index];
        n += 1;
        let fill = |s: &str| s.replace("{n}", &format!("{conn}-{n}")).replace("{item}", &item);
        let body = route.body.as_deref().map(fill);
        let request = build_request(&route.method, &fill(&route.path), &headers, body.as_deref());
        let sent = Instant::now();
        stream.write_all(request.as_bytes()).await?;
        let status = read_response(&mut stream, &mut buf).await?;
        if sent < measure_from {
            continue;
        }
        let tally = &mut tallies[index];
        if (200..300).contains(&status) {
            tally.ok += 1;
            let us = sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
            tally.latencies_us.push(us);
        } else {
            tally.failed += 1;
        }
    }
    Ok(tallies)
}

fn build_request(method: &str, path: &str, headers: &[String], body: Option<&str>) -> String {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for h in headers {
        r.push_str(h);
        r.push_str("\r\n");
    }
    if let Some(body) = body {
        r.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        r.push_str("\r\n");
    }
    r
}

/// Reads one response (headers and a Content-Length body); returns its status.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<u16> {
    buf.clear();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let read = stream.read(&mut chunk).await?;
        anyhow::ensure!(read > 0, "the server closed the connection");
        buf.extend_from_slice(&chunk[..read]);
    };
    let head = std::str::from_utf8(&buf[..header_end]).context("response headers are not UTF-8")?;
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status line")?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .context("a response without Content-Length (loadgen reads only those)")?;
    while buf.len() < header_end + length {
        let read = stream.read(&mut chunk).await?;
        anyhow::ensure!(read > 0, "the server closed the connection mid-body");
        buf.extend_from_slice(&chunk[..read]);
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_is_sent_in_proportion_and_interleaved() {
        let route = |name: &str, weight| Route {
            name: name.into(),
            weight,
            method: "GET".into(),
            path: "/".into(),
            body: None,
        };
        let order = schedule(&[route("a", 4), route("b", 3), route("c", 2), route("d", 1)]);
        assert_eq!(order.len(), 10);
        for (i, w) in [4, 3, 2, 1].into_iter().enumerate() {
            assert_eq!(order.iter().filter(|r| **r == i).count(), w);
        }
        assert!(
            order.windows(2).all(|w| w[0] != w[1] || w[0] == 0),
            "only the heaviest route repeats back to back: {order:?}"
        );
    }

    #[test]
    fn requests_carry_their_body_length_and_headers() {
        let r = build_request("POST", "/x", &["X-A: 1".into()], Some("{\"a\":1}"));
        assert_eq!(
            r,
            "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: 1\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
        );
        assert_eq!(
            build_request("GET", "/h", &[], None),
            "GET /h HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        );
    }
}
