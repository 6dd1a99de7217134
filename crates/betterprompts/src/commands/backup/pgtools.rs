//! `pg_dump` and `pg_restore`: where they are, whether they suit the
//! server, and how they reach a database without a password on their
//! command line (libpq reads it from `PGPASSWORD` in their environment).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use anyhow::Context;
use bp_config::{Secret, Settings};
use bp_infra::pg_major as major;

use crate::resolve;

/// Query parameters of a `DATABASE_URL` that libpq understands; any other
/// (sqlx's own options) is left out of the URL the tools get.
const LIBPQ_PARAMS: [&str; 8] = [
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "options",
    "connect_timeout",
    "target_session_attrs",
];

/// The PostgreSQL client tools of one installation.
#[derive(Debug, Clone)]
pub struct PgTools {
    bin: PathBuf,
    /// `pg_dump --version`'s number, `16.14`.
    pub version: String,
}

impl PgTools {
    /// The tools of the PostgreSQL the infrastructure uses (see
    /// `Infra::pg_client_dir`), or `pg_dump` on PATH.
    pub fn find(settings: &Settings, instance: Option<&str>) -> anyhow::Result<Self> {
        let bin = resolve::infra(settings, instance)?.pg_client_dir()?.context(
            "no pg_dump found: run `betterprompts infra install` (it installs PostgreSQL 16 with its client tools), \
             or set BP_PG_BIN to a PostgreSQL 16+ bin directory",
        )?;
        let out = Command::new(bin.join("pg_dump"))
            .arg("--version")
            .output()
            .with_context(|| format!("running {}", bin.join("pg_dump").display()))?;
        let version = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_owned();
        Ok(Self { bin, version })
    }

    /// Refuses tools older than the server (pg_dump would abort, and
    /// pg_restore may not read the dump).
    pub fn check_server(&self, server_version: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            major(&self.version) >= major(server_version),
            "{} is PostgreSQL {} but the server is {server_version}; set BP_PG_BIN to the bin directory of \
             PostgreSQL {} or newer",
            self.bin.display(),
            self.version,
            major(server_version)
        );
        Ok(())
    }

    /// `tool` (pg_dump, pg_restore) with the target's password in its
    /// environment and stdio captured.
    pub fn command(&self, tool: &str, target: &Target) -> Command {
        let mut cmd = Command::new(self.bin.join(tool));
        cmd.env_remove("PGPASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(password) = &target.password {
            cmd.env("PGPASSWORD", password.expose());
        }
        cmd
    }
}

/// Fails with the tool's last stderr lines unless it exited 0.
pub fn check(tool: &str, out: &Output) -> anyhow::Result<()> {
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
    let detail: Vec<&str> = tail.into_iter().rev().collect();
    anyhow::bail!("{tool} failed ({}): {}", out.status, detail.join(" | "))
}

/// One database as the tools reach it: a libpq URL without the password,
/// and the password on its own.
pub struct Target {
    /// `postgres://user@host:port/db?sslmode=...` (no password).
    pub url: String,
    password: Option<Secret>,
}

impl Target {
    /// Database `database` on the server of `database_url`.
    pub fn new(database_url: &Secret, database: &str) -> anyhow::Result<Self> {
        let mut url = url::Url::parse(database_url.expose())
            .map_err(|e| anyhow::anyhow!("DATABASE_URL is invalid: {e}"))?;
        let password = url
            .password()
            .map(percent_decode)
            .transpose()
            .context("DATABASE_URL's password is not valid percent-encoded UTF-8")?
            .map(Secret::new);
        let _ = url.set_password(None);
        url.set_path(&format!("/{}", encode_segment(database)));
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| LIBPQ_PARAMS.contains(&k.as_ref()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.set_query(None);
        if !kept.is_empty() {
            url.query_pairs_mut().extend_pairs(kept);
        }
        Ok(Self {
            url: url.to_string(),
            password,
        })
    }
}

/// The database name of a `DATABASE_URL`.
pub fn database_of(database_url: &Secret) -> anyhow::Result<String> {
    let url = url::Url::parse(database_url.expose())
        .map_err(|e| anyhow::anyhow!("DATABASE_URL is invalid: {e}"))?;
    let name = percent_decode(url.path().trim_start_matches('/'))?;
    anyhow::ensure!(!name.is_empty(), "DATABASE_URL names no database");
    Ok(name)
}

fn percent_decode(s: &str) -> anyhow::Result<String> {
    Ok(percent_encoding::percent_decode_str(s)
        .decode_utf8()?
        .into_owned())
}

/// Characters a database name keeps as they are in a URL path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'-')
    .remove(b'.');

/// A database name as one URL path segment.
fn encode_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tools_url_has_no_password_and_only_libpq_parameters() {
        let url = Secret::new(
            "postgres://app:p%40ss@127.0.0.1:5432/live?sslmode=disable&statement-cache-capacity=5",
        );
        let target = Target::new(&url, "other_db").unwrap();
        assert_eq!(
            target.url,
            "postgres://app@127.0.0.1:5432/other_db?sslmode=disable"
        );
        assert_eq!(target.password.as_ref().map(Secret::expose), Some("p@ss"));
        assert_eq!(database_of(&url).unwrap(), "live");
    }

    #[test]
    fn versions_compare_by_major() {
        assert_eq!(major("16.14"), 16);
        assert_eq!(major("17beta1"), 0);
        assert_eq!(major("9.6.2"), 9);
    }
}
