//! Runs Redis's own `redis-benchmark` as the raw baseline: the same server,
//! the same concurrency, CSV output.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The redis-benchmark binary and the server to run it against.
pub struct RedisBenchmark {
    bin: PathBuf,
    host: String,
    port: u16,
}

impl RedisBenchmark {
    /// `redis-benchmark` beside `redis_server`, against `redis_url`
    /// (`redis://host:port`, the embedded instance has no password).
    pub fn new(redis_server: &Path, redis_url: &str) -> anyhow::Result<Self> {
        let bin = redis_server.with_file_name("redis-benchmark");
        if !bin.exists() {
            bail!(
                "redis-benchmark is missing beside {}; the baseline needs it",
                redis_server.display()
            );
        }
        let url = url::Url::parse(redis_url).context("the bench Redis URL does not parse")?;
        Ok(Self {
            bin,
            host: url.host_str().unwrap_or("127.0.0.1").to_owned(),
            port: url.port().unwrap_or(6379),
        })
    }

    /// Requests per second of `command` (e.g. `["GET", "k:__rand_int__"]`)
    /// with `clients` connections, `requests` in all, keys drawn from
    /// `keyspace` (`__rand_int__`), values of `data_size` bytes for `-t set`.
    pub fn rps(&self, command: &[&str], clients: u32, requests: u64, keyspace: u64) -> anyhow::Result<f64> {
        let out = Command::new(&self.bin)
            .args(["-h", &self.host, "-p", &self.port.to_string()])
            .args(["-c", &clients.to_string(), "-n", &requests.to_string()])
            .args(["-r", &keyspace.to_string(), "--csv"])
            .args(command)
            .output()
            .context("running redis-benchmark")?;
        if !out.status.success() {
            bail!(
                "redis-benchmark failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        parse_rps(&String::from_utf8_lossy(&out.stdout))
            .context("redis-benchmark printed no requests per second")
    }
}

/// The `rps` column of the first data row of `--csv` output.
fn parse_rps(csv: &str) -> Option<f64> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next()?.split(',').map(|c| c.trim_matches('"')).collect();
    let column = header.iter().position(|c| *c == "rps")?;
    let row = lines.next()?;
    row.split("\",\"").nth(column)?.trim_matches('"').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_rps;

    #[test]
    fn csv_output_yields_the_rps_column() {
        let csv = "\"test\",\"rps\",\"avg_latency_ms\"\n\"GET\",\"98039.22\",\"0.3\"\n";
        assert_eq!(parse_rps(csv), Some(98039.22));
        let custom = "\"test\",\"rps\"\n\"EVALSHA abc 1 k,1 2\",\"5000.00\"\n";
        assert_eq!(parse_rps(custom), Some(5000.0));
        assert_eq!(parse_rps(""), None);
    }
}
