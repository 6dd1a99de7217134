//! `betterprompts loadgen`: a closed-loop HTTP/1.1 load generator, run by
//! `bench api` as a process of its own so that the client's work is not
//! counted inside the server (like `wrk -t1`): N keep-alive connections on
//! one thread, each sending its next request as soon as the previous answer
//! is read. Prints one JSON object with the count, rate and latency
//! percentiles.

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

/// What one connection measured.
#[derive(Debug, Default)]
struct Tally {
    ok: u64,
    failed: u64,
    latencies_us: Vec<u32>,
}

async fn load(args: &LoadgenArgs) -> anyhow::Result<serde_json::Value> {
    anyhow::ensure!(args.connections > 0, "--connections must be at least 1");
    let warmup = Duration::from_secs_f64(args.warmup_secs);
    let measure = Duration::from_secs_f64(args.duration_secs);
    let mut tasks = tokio::task::JoinSet::new();
    for conn in 0..args.connections {
        let args = args.clone();
        tasks.spawn(async move { connection(&args, conn, warmup, measure).await });
    }
    let mut total = Tally::default();
    while let Some(done) = tasks.join_next().await {
        let t = done??;
        total.ok += t.ok;
        total.failed += t.failed;
        total.latencies_us.extend(t.latencies_us);
    }
    total.latencies_us.sort_unstable();
    let pct = |p: f64| -> f64 {
        let n = total.latencies_us.len();
        if n == 0 {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * n as f64).ceil().max(1.0) as usize;
        f64::from(total.latencies_us[rank.min(n) - 1]) / 1000.0
    };
    Ok(json!({
        "requests": total.ok,
        "failed": total.failed,
        "seconds": measure.as_secs_f64(),
        "rps": total.ok as f64 / measure.as_secs_f64(),
        "p50_ms": pct(50.0),
        "p99_ms": pct(99.0),
        "max_ms": pct(100.0),
        "connections": args.connections,
    }))
}

/// One keep-alive connection's loop; `{n}` in the body becomes a number no
/// other request of this run uses.
async fn connection(
    args: &LoadgenArgs,
    conn: u32,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<Tally> {
    let mut stream = TcpStream::connect(&args.addr)
        .await
        .with_context(|| format!("connecting to {}", args.addr))?;
    stream.set_nodelay(true)?;
    let mut tally = Tally::default();
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
        n += 1;
        let body = args
            .body
            .as_deref()
            .map(|b| b.replace("{n}", &format!("{conn}-{n}")));
        let request = build_request(&args.method, &args.path, &args.header, body.as_deref());
        let sent = Instant::now();
        stream.write_all(request.as_bytes()).await?;
        let status = read_response(&mut stream, &mut buf).await?;
        if sent < measure_from {
            continue;
        }
        if (200..300).contains(&status) {
            tally.ok += 1;
            let us = sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
            tally.latencies_us.push(us);
        } else {
            tally.failed += 1;
        }
    }
    Ok(tally)
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
