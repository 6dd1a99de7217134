//! Runs PostgreSQL's own `pgbench` as the raw baseline: a custom script,
//! prepared protocol, the same server. The password goes through
//! `PGPASSWORD`, never the command line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

/// The pgbench binary and the connection to run it against.
pub struct Pgbench {
    bin: PathBuf,
    env: Vec<(&'static str, String)>,
}

/// What one pgbench run measured.
#[derive(Debug, Clone)]
pub struct PgbenchResult {
    /// Transactions per second.
    pub tps: f64,
    /// Per-transaction latencies (when logged).
    pub latencies: Vec<Duration>,
}

impl Pgbench {
    /// `bin_dir/pgbench` against `database_url`.
    pub fn new(bin_dir: &Path, database_url: &str) -> anyhow::Result<Self> {
        let bin = bin_dir.join("pgbench");
        if !bin.exists() {
            bail!(
                "pgbench is missing from {}; the baseline needs it",
                bin_dir.display()
            );
        }
        let url = url_parts(database_url).context("the bench database URL does not parse")?;
        Ok(Self { bin, env: url })
    }

    /// Runs `script` with `clients` connections for `duration`; with
    /// `log`, collects every transaction's latency. Each `vars` entry is a
    /// `-D name=value`: under `-M prepared` a `:name` in the script is sent
    /// as a bound parameter, so the server parses values per row just as
    /// it does for the application's statements.
    pub fn run(
        &self,
        script: &str,
        vars: &[(&str, String)],
        clients: u32,
        duration: Duration,
        log: bool,
    ) -> anyhow::Result<PgbenchResult> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        self.run_mix(&[script.to_owned()], &vars, clients, duration, log)
    }

    /// Like [`Pgbench::run`] with several scripts, each transaction picking
    /// one at random with equal weight (to cycle through a set of queries).
    pub fn run_mix(
        &self,
        scripts: &[String],
        vars: &[(String, String)],
        clients: u32,
        duration: Duration,
        log: bool,
    ) -> anyhow::Result<PgbenchResult> {
        let dir = tempfile::tempdir()?;
        let prefix = dir.path().join("lat");
        let mut cmd = Command::new(&self.bin);
        cmd.args(["-n", "-M", "prepared"])
            .arg(format!("-c{clients}"))
            .arg(format!("-j{}", clients.min(2)))
            .arg(format!("-T{}", duration.as_secs().max(1)));
        for (i, script) in scripts.iter().enumerate() {
            let path = dir.path().join(format!("script{i}.sql"));
            std::fs::write(&path, script)?;
            cmd.arg("-f").arg(format!("{}@1", path.display()));
        }
        for (name, value) in vars {
            cmd.arg("-D").arg(format!("{name}={value}"));
        }
        if log {
            cmd.arg("-l").arg(format!("--log-prefix={}", prefix.display()));
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().context("running pgbench")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "pgbench failed: {}",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("no output")
            );
        }
        let tps = stdout
            .lines()
            .find_map(|l| l.strip_prefix("tps = "))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .context("pgbench printed no tps")?;
        let mut latencies = Vec::new();
        if log {
            for entry in std::fs::read_dir(dir.path())? {
                let path = entry?.path();
                let is_log = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("lat."));
                if is_log {
                    for line in std::fs::read_to_string(&path)?.lines() {
                        // client_id transaction_no latency_us script_no epoch epoch_us
                        if let Some(us) = line.split_whitespace().nth(2).and_then(|v| v.parse::<u64>().ok()) {
                            latencies.push(Duration::from_micros(us));
                        }
                    }
                }
            }
        }
        Ok(PgbenchResult { tps, latencies })
    }
}

/// libpq environment variables for a `postgres://user:pass@host:port/db` URL.
fn url_parts(url: &str) -> Option<Vec<(&'static str, String)>> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let (auth, rest) = rest.split_once('@')?;
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let (hostport, db) = rest.split_once('/').unwrap_or((rest, "postgres"));
    let db = db.split('?').next().unwrap_or(db);
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    Some(vec![
        ("PGHOST", host.to_owned()),
        ("PGPORT", port.to_owned()),
        ("PGUSER", user.to_owned()),
        ("PGPASSWORD", password.to_owned()),
        ("PGDATABASE", db.to_owned()),
    ])
}

/// A SQL string literal (for pgbench scripts, which take no bound values):
/// single quotes doubled, so the text cannot end the literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_libpq_variables_and_literals_are_quoted() {
        let env = url_parts("postgres://bp:s3cr%t@127.0.0.1:5433/betterprompts").unwrap_or_default();
        assert!(env.contains(&("PGPORT", "5433".into())));
        assert!(env.contains(&("PGDATABASE", "betterprompts".into())));
        assert_eq!(literal("it's"), "'it''s'");
    }
}
