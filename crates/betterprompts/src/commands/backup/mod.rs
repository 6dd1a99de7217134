//! `betterprompts backup [--out DIR]` and `betterprompts restore DIR`.
//!
//! A backup directory holds:
//! - `postgres.dump`: `pg_dump` custom format, taken in a snapshot exported
//!   by a repeatable-read transaction that also counts and hashes every
//!   table, so the manifest describes exactly what the dump holds;
//! - `redis-keys.jsonl`: every key under the service's prefix as a `DUMP`
//!   payload with its remaining TTL (what `restore` puts back);
//! - `redis.rdb`: the Redis server's own snapshot (`BGSAVE`, or `--rdb`), for
//!   recovering the whole server;
//! - `manifest.json`: versions, migration version, per-table row counts and
//!   checksums, and each file's size and SHA-256. It is written last, into a
//!   `.partial` directory renamed into place, so an interrupted backup never
//!   looks complete.
//!
//! Everything is created owner-only (0700/0600): a backup holds password
//! hashes, sessions and prompts.

mod manifest;
mod pgtools;
mod restore;

use std::fs;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bp_cache::snapshot::{KeyDump, unix_ms};
use bp_cache::{Cache, CacheSettings};
use bp_config::{Secret, Settings};
use bp_store::backup::{self as fingerprint, Depth};
use bp_store::{PoolSettings, health, migrate};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use self::manifest::{
    FORMAT, FORMAT_VERSION, FileEntry, MANIFEST, Manifest, PG_DUMP, PostgresPart, REDIS_KEYS, REDIS_RDB,
    RedisPart, TableEntry, private,
};
use self::pgtools::{PgTools, Target, database_of};
use super::human_bytes;
use crate::cli::BackupArgs;
use crate::progress::Progress;
use crate::resolve;

pub use restore::run as restore;

/// How long a Redis `BGSAVE` may take before the backup goes on without it.
const BGSAVE_WITHIN: Duration = Duration::from_secs(120);

/// Runs `backup`.
pub async fn run(settings: &Settings, instance: Option<&str>, args: BackupArgs) -> anyhow::Result<u8> {
    if let Some(0) = args.keep {
        anyhow::bail!("--keep must be at least 1 (the backup just made)");
    }
    let started = Instant::now();
    let progress = Progress::start("backup: connecting");
    let redis_url = if args.no_redis {
        None
    } else {
        Some(resolve::endpoints(settings, instance).await?.0.redis_url)
    };
    let database_url = resolve::direct_database_url(settings, instance, "backup").await?;
    let out = match args.out {
        Some(dir) => dir,
        None => settings
            .home
            .home
            .join("backups")
            .join(format!("betterprompts-{}", Utc::now().format("%Y%m%dT%H%M%SZ"))),
    };
    let partial = claim_out_dir(&out)?;
    let result = async {
        let postgres = dump_postgres(settings, instance, &database_url, &partial, &progress).await?;
        let redis = match &redis_url {
            Some(url) => Some(dump_redis(settings, url, args.rdb.as_deref(), &partial, &progress).await?),
            None => None,
        };
        anyhow::Ok((postgres, redis))
    }
    .await;
    let (postgres, redis) = match result {
        Ok(parts) => parts,
        Err(e) => {
            let _ = fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    progress.step("hashing the files");
    let mut files = Vec::new();
    for name in [PG_DUMP, REDIS_KEYS, REDIS_RDB] {
        let path = partial.join(name);
        if path.is_file() {
            private(&path)?;
            files.push(FileEntry::of(&path).with_context(|| format!("hashing {}", path.display()))?);
        }
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        created_at: Utc::now(),
        betterprompts_version: env!("CARGO_PKG_VERSION").into(),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        postgres,
        redis,
        files,
    };
    manifest.write(&partial)?;
    if out.exists() {
        // claim_out_dir allowed only an empty directory here.
        fs::remove_dir(&out).with_context(|| format!("replacing the empty {}", out.display()))?;
    }
    fs::rename(&partial, &out).with_context(|| format!("moving the backup into {}", out.display()))?;
    let removed = match args.keep {
        Some(keep) => prune(&out, keep)?,
        None => Vec::new(),
    };

    // The backup age every `serve` exposes as a metric; a backup that
    // cannot record it is still a backup.
    if let Some(url) = &redis_url {
        let recorded = async {
            let cache = connect_redis(settings, url).await?;
            cache
                .set(
                    bp_cache::keys::BACKUP_LAST_SUCCESS,
                    &manifest.created_at.timestamp().to_string(),
                    bp_cache::keys::BACKUP_RECORD_TTL,
                )
                .await?;
            anyhow::Ok(())
        }
        .await;
        if let Err(e) = recorded {
            eprintln!(
                "note: the backup's time was not recorded in Redis ({e:#}); the backup-age metric will not show it"
            );
        }
    }
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    let rows: i64 = manifest.postgres.tables.iter().map(|t| t.rows).sum();
    if let Some(RedisPart {
        rdb: false,
        rdb_note: Some(note),
        ..
    }) = &manifest.redis
    {
        eprintln!(
            "note: no Redis server snapshot in this backup ({note}); the service's keys are in {REDIS_KEYS}"
        );
    }
    for dir in &removed {
        eprintln!("removed the older backup {}", dir.display());
    }
    progress.finish(&format!(
        "backup: {} in {:.1} s to {} ({} tables, {rows} rows, {}, migration {})",
        human_bytes(bytes),
        started.elapsed().as_secs_f64(),
        out.display(),
        manifest.postgres.tables.len(),
        manifest.redis.as_ref().map_or("no Redis".into(), |r| format!(
            "{} Redis keys{}",
            r.keys,
            if r.rdb { " and the server's RDB" } else { "" }
        )),
        manifest
            .postgres
            .migration_version
            .map_or("none".into(), |v| format!("{v:04}")),
    ));
    Ok(0)
}

/// Refuses a non-empty `out` and returns a fresh `<out>.partial` to write into.
fn claim_out_dir(out: &Path) -> anyhow::Result<PathBuf> {
    if out.exists() {
        let mut entries =
            fs::read_dir(out).with_context(|| format!("{} is not a directory", out.display()))?;
        anyhow::ensure!(
            entries.next().is_none(),
            "{} exists and is not empty; choose another --out (a backup never overwrites files)",
            out.display()
        );
    }
    let name = out
        .file_name()
        .with_context(|| format!("--out {} has no directory name", out.display()))?;
    let mut partial_name = name.to_os_string();
    partial_name.push(".partial");
    let partial = out.with_file_name(partial_name);
    if partial.exists() {
        // Left by an interrupted backup: it has no manifest, so it is no backup.
        fs::remove_dir_all(&partial).with_context(|| format!("removing {}", partial.display()))?;
    }
    fs::create_dir_all(&partial).with_context(|| format!("creating {}", partial.display()))?;
    private(&partial)?;
    Ok(partial)
}

/// Dumps the database in one exported snapshot and describes it.
async fn dump_postgres(
    settings: &Settings,
    instance: Option<&str>,
    database_url: &Secret,
    dir: &Path,
    progress: &Progress,
) -> anyhow::Result<PostgresPart> {
    let tools = PgTools::find(settings, instance)?;
    let database = database_of(database_url)?;
    let pool = bp_store::connect(database_url.expose(), &PoolSettings::small()).await?;
    let versions = health::versions(&pool).await?;
    tools.check_server(&versions.postgres)?;
    let mut conn = pool.acquire().await?;
    let snapshot = fingerprint::export_snapshot(&mut conn).await?;
    progress
        .step("dumping PostgreSQL (pg_dump, custom format) and counting every table in the same snapshot");
    let target = Target::new(database_url, &database)?;
    let mut child = tools
        .command("pg_dump", &target)
        .arg("--format=custom")
        .arg(format!("--snapshot={snapshot}"))
        .arg("--file")
        .arg(dir.join(PG_DUMP))
        .arg("--dbname")
        .arg(&target.url)
        .spawn()
        .context("starting pg_dump")?;
    let counted = async {
        let migration = migrate::applied(&mut conn).await?.last().map(|(v, _)| *v);
        let tables = fingerprint::fingerprints(&mut conn, Depth::Checksums).await?;
        anyhow::Ok((migration, tables))
    }
    .await;
    if counted.is_err() {
        let _ = child.kill();
    }
    // The snapshot must outlive pg_dump's import of it: commit only after it exits.
    let dumped = tokio::task::spawn_blocking(move || child.wait_with_output()).await;
    let _ = sqlx::query("COMMIT").execute(&mut *conn).await;
    drop(conn);
    pool.close().await;
    let (migration_version, tables) = counted?;
    pgtools::check(
        "pg_dump",
        &dumped
            .context("waiting for pg_dump")?
            .context("running pg_dump")?,
    )?;
    Ok(PostgresPart {
        database,
        server_version: versions.postgres,
        pgvector_version: versions.pgvector,
        pg_dump_version: tools.version,
        migration_version,
        tables: tables
            .into_iter()
            .map(|t| TableEntry {
                name: t.name,
                rows: t.rows,
                checksum: t.checksum,
            })
            .collect(),
    })
}

/// Connects to Redis for bulk work: a call may move many payloads.
async fn connect_redis(settings: &Settings, url: &Secret) -> anyhow::Result<Cache> {
    let mut cache_settings = CacheSettings::from_config(&settings.redis);
    cache_settings.op_timeout = cache_settings.op_timeout.max(Duration::from_secs(10));
    Ok(Cache::connect_with(url.expose(), cache_settings).await?)
}

/// Dumps the service's keys and, where it can, the server's RDB snapshot.
async fn dump_redis(
    settings: &Settings,
    url: &Secret,
    rdb: Option<&Path>,
    dir: &Path,
    progress: &Progress,
) -> anyhow::Result<RedisPart> {
    let cache = connect_redis(settings, url)
        .await
        .context("backing up Redis (pass --no-redis to back up PostgreSQL alone)")?;
    progress.step("dumping the service's Redis keys");
    let taken_at_ms = unix_ms();
    let dumps = cache.dump_keys().await?;
    write_keys(&dir.join(REDIS_KEYS), cache.prefix(), taken_at_ms, &dumps)?;
    let target = dir.join(REDIS_RDB);
    let rdb_note = match rdb {
        Some(file) => {
            fs::copy(file, &target).with_context(|| format!("copying --rdb {}", file.display()))?;
            None
        }
        None => {
            progress.step("Redis server snapshot (BGSAVE)");
            server_snapshot(&cache, url, &target)
                .await
                .err()
                .map(|e| format!("{e:#}"))
        }
    };
    let server = cache.server_stats().await?;
    Ok(RedisPart {
        server_version: server.version,
        prefix: cache.prefix().to_owned(),
        keys: dumps.len() as u64,
        taken_at_ms,
        rdb: rdb_note.is_none(),
        rdb_note,
    })
}

/// BGSAVE and a copy of the file, when the server runs on this machine.
async fn server_snapshot(cache: &Cache, url: &Secret, target: &Path) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url.expose()).map_err(|e| anyhow::anyhow!("REDIS_URL is invalid: {e}"))?;
    let local = matches!(
        parsed.host_str(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    );
    anyhow::ensure!(
        local,
        "Redis runs on another machine, so its RDB file is out of reach; copy it there and pass --rdb FILE"
    );
    let path = cache.save_snapshot(BGSAVE_WITHIN).await?;
    fs::copy(&path, target).with_context(|| format!("copying {}", path.display()))?;
    Ok(())
}

/// First line of `redis-keys.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
struct KeysHeader {
    format: String,
    prefix: String,
    taken_at_ms: i64,
}

/// One key line of `redis-keys.jsonl`.
#[derive(Serialize, Deserialize)]
struct KeyLine {
    key: String,
    ttl_ms: Option<i64>,
    /// Base64 of the DUMP payload.
    payload: String,
}

const KEYS_FORMAT: &str = "betterprompts-redis-keys/1";

fn write_keys(path: &Path, prefix: &str, taken_at_ms: i64, dumps: &[KeyDump]) -> anyhow::Result<()> {
    let file = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BufWriter::new(file);
    let header = KeysHeader {
        format: KEYS_FORMAT.into(),
        prefix: prefix.to_owned(),
        taken_at_ms,
    };
    serde_json::to_writer(&mut w, &header)?;
    w.write_all(b"\n")?;
    for dump in dumps {
        let line = KeyLine {
            key: dump.key.clone(),
            ttl_ms: dump.ttl_ms,
            payload: BASE64.encode(&dump.payload),
        };
        serde_json::to_writer(&mut w, &line)?;
        w.write_all(b"\n")?;
    }
    w.flush().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Reads `redis-keys.jsonl` back: the time the keys were taken and the dumps.
fn read_keys(path: &Path) -> anyhow::Result<(i64, Vec<KeyDump>)> {
    let file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let header: KeysHeader = serde_json::from_str(&lines.next().context("the key file is empty")??)
        .context("the key file's first line is not its header")?;
    anyhow::ensure!(
        header.format == KEYS_FORMAT,
        "unknown key file format `{}`",
        header.format
    );
    let mut dumps = Vec::new();
    for (n, line) in lines.enumerate() {
        let line: KeyLine =
            serde_json::from_str(&line?).with_context(|| format!("line {} of the key file", n + 2))?;
        dumps.push(KeyDump {
            key: line.key,
            ttl_ms: line.ttl_ms,
            payload: BASE64
                .decode(line.payload)
                .with_context(|| format!("line {} of the key file", n + 2))?,
        });
    }
    Ok((header.taken_at_ms, dumps))
}

/// Deletes all but the newest `keep` backups in `out`'s parent directory
/// (directories whose manifest reads as a BetterPrompts backup); returns them.
fn prune(out: &Path, keep: usize) -> anyhow::Result<Vec<PathBuf>> {
    let Some(parent) = out.parent() else {
        return Ok(Vec::new());
    };
    let mut backups: Vec<(chrono::DateTime<Utc>, PathBuf)> = fs::read_dir(parent)
        .with_context(|| format!("listing {}", parent.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join(MANIFEST).is_file())
        .filter_map(|p| Manifest::read(&p).ok().map(|m| (m.created_at, p)))
        .collect();
    backups.sort_by_key(|b| std::cmp::Reverse(b.0));
    let mut removed = Vec::new();
    for (_, dir) in backups.into_iter().skip(keep) {
        if dir == out {
            continue;
        }
        fs::remove_dir_all(&dir).with_context(|| format!("removing the older backup {}", dir.display()))?;
        removed.push(dir);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_the_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(REDIS_KEYS);
        let dumps = vec![
            KeyDump {
                key: "session:a".into(),
                ttl_ms: Some(1_000),
                payload: vec![0, 255, 10, 13],
            },
            KeyDump {
                key: "flags:x".into(),
                ttl_ms: None,
                payload: b"payload".to_vec(),
            },
        ];
        write_keys(&path, "api-gateway", 42, &dumps).unwrap();
        assert_eq!(read_keys(&path).unwrap(), (42, dumps));
    }

    #[test]
    fn an_occupied_out_dir_is_refused_and_an_empty_one_claimed() {
        let dir = tempfile::tempdir().unwrap();
        let full = dir.path().join("full");
        fs::create_dir(&full).unwrap();
        fs::write(full.join("x"), "x").unwrap();
        let err = claim_out_dir(&full).unwrap_err().to_string();
        assert!(err.contains("not empty"), "{err}");
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        let partial = claim_out_dir(&empty).unwrap();
        assert_eq!(partial, dir.path().join("empty.partial"));
        assert!(partial.is_dir());
    }
}
