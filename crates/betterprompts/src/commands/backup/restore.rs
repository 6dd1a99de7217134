//! `betterprompts restore DIR [--target-db NAME] [--no-redis] [--keep-previous]`.
//!
//! Nothing live is touched until the backup has proven itself:
//! 1. the manifest is read and every file's size and SHA-256 checked;
//! 2. a dump from a newer migration than this binary knows is refused;
//! 3. the dump is restored into a scratch database (`<name>__restoring`),
//!    and every table's row count and checksum compared with the manifest;
//! 4. only then is the live database renamed aside and the scratch one
//!    renamed into its place (the previous one is dropped unless
//!    `--keep-previous`), and the service's Redis keys replaced.
//!
//! A failure in steps 1-3 drops the scratch database and leaves the live
//! database and Redis exactly as they were. With `--target-db NAME` the
//! dump goes into a new database `NAME` beside the live one and Redis is
//! left alone (its keys belong to the live database). With
//! `--verify-only` (a restore drill) steps 1-3 run against a scratch
//! database `<name>__verify`, which is then dropped: the live database and
//! Redis are never touched, so it can run beside a serving instance.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use bp_config::{Secret, Settings};
use bp_store::backup::{self as fingerprint, Depth, TableFingerprint};
use bp_store::migrate::MIGRATOR;
use sqlx::{ConnectOptions, Connection, PgConnection};

use super::manifest::{Manifest, PG_DUMP, REDIS_KEYS, TableEntry};
use super::pgtools::{self, PgTools, Target, database_of};
use super::{connect_redis, read_keys};
use crate::cli::RestoreArgs;
use crate::progress::Progress;
use crate::resolve;

/// PostgreSQL's identifier limit in bytes.
const NAME_MAX: usize = 63;

/// Runs `restore`.
pub async fn run(settings: &Settings, instance: Option<&str>, args: RestoreArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let progress = Progress::start(&format!("restore: checking {}", args.dir.display()));
    let manifest = Manifest::read(&args.dir)?;
    manifest.verify_files(&args.dir)?;
    let known = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    if let Some(version) = manifest.postgres.migration_version {
        anyhow::ensure!(
            version <= known,
            "the backup is at migration {version:04} but this betterprompts knows migrations up to {known:04}; \
             restore it with the betterprompts version that made it ({}); nothing was restored",
            manifest.betterprompts_version
        );
    }
    if args.verify_only {
        return verify_only(settings, instance, &args, &manifest, progress, started).await;
    }
    let restore_redis = !args.no_redis && args.target_db.is_none() && manifest.redis.is_some();
    // Read before anything is touched, so a key file that does not parse
    // stops the restore while the database is still as it was.
    let keys = if restore_redis {
        Some(read_keys(&args.dir.join(REDIS_KEYS)).context("nothing was restored")?)
    } else {
        None
    };
    let redis_url = if restore_redis {
        Some(resolve::endpoints(settings, instance).await?.0.redis_url)
    } else {
        None
    };
    let database_url = resolve::direct_database_url(settings, instance, "restore").await?;
    let live = database_of(&database_url)?;
    let (target, scratch) = match &args.target_db {
        Some(name) => {
            check_name(name)?;
            anyhow::ensure!(
                *name != live,
                "--target-db is the configured database `{live}`; leave it out to replace that one"
            );
            (name.clone(), name.clone())
        }
        None => (live.clone(), with_suffix(&live, "__restoring")),
    };
    let (tools, options, mut admin) = tools_and_admin(settings, instance, &database_url).await?;

    let target_exists = fingerprint::database_exists(&mut admin, &target).await?;
    if args.target_db.is_some() {
        anyhow::ensure!(
            !target_exists,
            "database `{target}` exists; --target-db makes a new database, so choose another name or drop it"
        );
    }
    let before = if target_exists {
        refuse_if_in_use(&mut admin, &target).await?;
        let mut conn = options.clone().database(&target).connect().await?;
        let counts = fingerprint::fingerprints(&mut conn, Depth::Counts).await?;
        conn.close().await?;
        Some(counts)
    } else {
        None
    };

    progress.step(&format!("restoring into the scratch database `{scratch}`"));
    let restored = restore_into(
        &tools,
        &mut admin,
        &options,
        &database_url,
        &scratch,
        &args,
        &manifest,
    )
    .await;
    let after = match restored {
        Ok(after) => after,
        Err(e) => {
            let _ = fingerprint::drop_database(&mut admin, &scratch).await;
            return Err(e.context(format!(
                "nothing was restored; `{target}` is as it was{}",
                if args.target_db.is_some() { " (absent)" } else { "" }
            )));
        }
    };

    let mut previous_kept = None;
    if args.target_db.is_none() {
        progress.step(&format!("putting the restored database in place of `{live}`"));
        previous_kept = swap(&mut admin, &live, &scratch, target_exists, args.keep_previous).await?;
    }
    admin.close().await?;

    let redis_note = match (&redis_url, keys) {
        (Some(url), Some((taken_at_ms, dumps))) => {
            progress.step("restoring the service's Redis keys");
            let summary = async {
                let cache = connect_redis(settings, url).await?;
                anyhow::Ok(cache.restore_keys(&dumps, taken_at_ms).await?)
            }
            .await
            .with_context(|| {
                format!(
                    "the database `{target}` was restored, but its Redis keys were not; once Redis answers, \
                     run the restore again (or leave Redis with --no-redis)"
                )
            })?;
            format!(
                "Redis: {} keys restored under `{}` ({} replaced, {} expired since the backup)",
                summary.restored, settings.redis.key_prefix, summary.removed, summary.expired
            )
        }
        _ if args.target_db.is_some() => "Redis left as it is (--target-db)".into(),
        _ if manifest.redis.is_none() => "Redis: not in this backup".into(),
        _ => "Redis left as it is (--no-redis)".into(),
    };

    print_counts(before.as_deref(), &after, &manifest.postgres.tables);
    if let Some(name) = previous_kept {
        println!("the replaced database is kept as `{name}`; drop it once you are satisfied");
    }
    if let Some(version) = manifest.postgres.migration_version.filter(|v| *v < known) {
        println!(
            "the backup is at migration {version:04}; run `betterprompts migrate up` to bring it to {known:04}"
        );
    }
    let rows: i64 = after.iter().map(|t| t.rows).sum();
    progress.finish(&format!(
        "restore: {} tables, {rows} rows into `{target}` in {:.1} s, checksums match the backup of {}; {redis_note}",
        after.len(),
        started.elapsed().as_secs_f64(),
        manifest.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
    ));
    Ok(0)
}

/// The PostgreSQL tools for the server at `database_url` (their version
/// checked against it), its connect options, and a connection to its
/// maintenance database.
async fn tools_and_admin(
    settings: &Settings,
    instance: Option<&str>,
    database_url: &Secret,
) -> anyhow::Result<(PgTools, sqlx::postgres::PgConnectOptions, PgConnection)> {
    let tools = PgTools::find(settings, instance)?;
    let options = bp_store::connect_options(database_url.expose())?;
    let mut admin = maintenance(&options).await?;
    let server_version: String = sqlx::query_scalar("SELECT current_setting('server_version')")
        .fetch_one(&mut admin)
        .await?;
    tools.check_server(&server_version)?;
    Ok((tools, options, admin))
}

/// `restore --verify-only`: the dump restored into `<live>__verify`,
/// checked against the manifest, and dropped whatever the outcome.
async fn verify_only(
    settings: &Settings,
    instance: Option<&str>,
    args: &RestoreArgs,
    manifest: &Manifest,
    progress: Progress,
    started: Instant,
) -> anyhow::Result<u8> {
    let database_url = resolve::direct_database_url(settings, instance, "restore --verify-only").await?;
    let live = database_of(&database_url)?;
    let scratch = with_suffix(&live, "__verify");
    let (tools, options, mut admin) = tools_and_admin(settings, instance, &database_url).await?;
    progress.step(&format!("restoring into the scratch database `{scratch}`"));
    let restored = restore_into(
        &tools,
        &mut admin,
        &options,
        &database_url,
        &scratch,
        args,
        manifest,
    )
    .await;
    let dropped = fingerprint::drop_database(&mut admin, &scratch).await;
    admin.close().await?;
    let after = restored.context(format!(
        "the backup did not verify; `{live}` and Redis were not touched"
    ))?;
    dropped.with_context(|| {
        format!("the backup verified, but the scratch database `{scratch}` could not be dropped")
    })?;
    let rows: i64 = after.iter().map(|t| t.rows).sum();
    progress.finish(&format!(
        "restore --verify-only: {} tables, {rows} rows restored and matched the backup of {} (checksums); \
         scratch database dropped, `{live}` untouched, in {:.1} s",
        after.len(),
        manifest.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        started.elapsed().as_secs_f64(),
    ));
    Ok(0)
}

/// Creates `scratch`, restores the dump into it and checks it against the
/// manifest; returns its fingerprints.
async fn restore_into(
    tools: &PgTools,
    admin: &mut PgConnection,
    options: &sqlx::postgres::PgConnectOptions,
    database_url: &Secret,
    scratch: &str,
    args: &RestoreArgs,
    manifest: &Manifest,
) -> anyhow::Result<Vec<TableFingerprint>> {
    // A scratch database left by an interrupted restore is ours to replace.
    if args.target_db.is_none() {
        fingerprint::drop_database(admin, scratch).await?;
    }
    fingerprint::create_database(admin, scratch).await?;
    let mut conn = options.clone().database(scratch).connect().await?;
    sqlx::query("CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public")
        .execute(&mut conn)
        .await
        .context("pgvector is not available in the new database (CREATE EXTENSION vector)")?;

    let target = Target::new(database_url, scratch)?;
    let dump = args.dir.join(PG_DUMP);
    // The dump's table of contents without the extension entries: the
    // database already has `vector`, and only its owner may replace it.
    let toc = tools
        .command("pg_restore", &target)
        .arg("--list")
        .arg(&dump)
        .output()
        .context("running pg_restore --list")?;
    pgtools::check("pg_restore --list", &toc)?;
    let list: String = String::from_utf8_lossy(&toc.stdout)
        .lines()
        .filter(|l| !l.contains(" EXTENSION "))
        .map(|l| format!("{l}\n"))
        .collect();
    let list_file = tempfile::NamedTempFile::new().context("creating the restore list")?;
    std::fs::write(list_file.path(), list).context("writing the restore list")?;
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let mut restore = tools.command("pg_restore", &target);
    restore
        .arg("--exit-on-error")
        .arg("--no-owner")
        .arg(format!("--jobs={jobs}"))
        .arg("--use-list")
        .arg(list_file.path())
        .arg("--dbname")
        .arg(&target.url)
        .arg(&dump);
    let out = tokio::task::spawn_blocking(move || restore.output())
        .await
        .context("waiting for pg_restore")?
        .context("running pg_restore")?;
    pgtools::check("pg_restore", &out)?;

    let after = fingerprint::fingerprints(&mut conn, Depth::Checksums).await?;
    conn.close().await?;
    compare(&manifest.postgres.tables, &after)?;
    Ok(after)
}

/// Fails unless the restored tables are exactly the manifest's.
fn compare(expected: &[TableEntry], actual: &[TableFingerprint]) -> anyhow::Result<()> {
    let actual: BTreeMap<&str, &TableFingerprint> = actual.iter().map(|t| (t.name.as_str(), t)).collect();
    for table in expected {
        let Some(found) = actual.get(table.name.as_str()) else {
            anyhow::bail!("the restored database has no table {}", table.name);
        };
        anyhow::ensure!(
            found.rows == table.rows && found.checksum == table.checksum,
            "the restored {} has {} rows (checksum {}) but the backup recorded {} rows (checksum {})",
            table.name,
            found.rows,
            found.checksum,
            table.rows,
            table.checksum
        );
    }
    Ok(())
}

/// Renames `live` aside and `scratch` into its place; drops the old one
/// unless asked to keep it (then returns its name).
async fn swap(
    admin: &mut PgConnection,
    live: &str,
    scratch: &str,
    live_exists: bool,
    keep_previous: bool,
) -> anyhow::Result<Option<String>> {
    if !live_exists {
        fingerprint::rename_database(admin, scratch, live).await?;
        return Ok(None);
    }
    let aside = with_suffix(
        live,
        &format!("__pre_restore_{}", chrono::Utc::now().format("%Y%m%d%H%M%S")),
    );
    refuse_if_in_use(admin, live).await?;
    fingerprint::rename_database(admin, live, &aside)
        .await
        .with_context(|| format!("renaming `{live}` aside (is a server still connected to it?)"))?;
    if let Err(e) = fingerprint::rename_database(admin, scratch, live).await {
        let _ = fingerprint::rename_database(admin, &aside, live).await;
        return Err(
            anyhow::Error::from(e).context(format!("putting the restored database in place of `{live}`"))
        );
    }
    if keep_previous {
        return Ok(Some(aside));
    }
    fingerprint::drop_database(admin, &aside).await?;
    Ok(None)
}

/// Refuses while other sessions use `database`: renaming it would fail,
/// and a running service would keep writing to the old one.
async fn refuse_if_in_use(admin: &mut PgConnection, database: &str) -> anyhow::Result<()> {
    let others = fingerprint::other_sessions(&mut *admin, database).await?;
    anyhow::ensure!(
        others == 0,
        "{others} other session(s) are connected to `{database}`; stop `betterprompts serve` (and other clients) \
         first, or restore beside it with --target-db NAME; nothing was restored"
    );
    Ok(())
}

/// A session on the server's maintenance database (`postgres`, else `template1`).
async fn maintenance(options: &sqlx::postgres::PgConnectOptions) -> anyhow::Result<PgConnection> {
    match options.clone().database("postgres").connect().await {
        Ok(conn) => Ok(conn),
        Err(_) => Ok(options
            .clone()
            .database("template1")
            .connect()
            .await
            .context("connecting to the server's maintenance database (postgres or template1)")?),
    }
}

/// `name` with `suffix`, the name cut so the whole fits PostgreSQL's limit.
fn with_suffix(name: &str, suffix: &str) -> String {
    let mut cut = NAME_MAX.saturating_sub(suffix.len()).min(name.len());
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", &name[..cut])
}

/// A new database's name: a letter or `_`, then letters, digits or `_`, at most 63.
fn check_name(name: &str) -> anyhow::Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= NAME_MAX;
    anyhow::ensure!(
        ok,
        "--target-db `{name}` is not a plain database name (letters, digits and _, starting with a letter, at most 63)"
    );
    Ok(())
}

/// The before/after table of row counts.
fn print_counts(before: Option<&[TableFingerprint]>, after: &[TableFingerprint], backup: &[TableEntry]) {
    let before: BTreeMap<&str, i64> = before
        .unwrap_or_default()
        .iter()
        .map(|t| (t.name.as_str(), t.rows))
        .collect();
    let recorded: BTreeMap<&str, i64> = backup.iter().map(|t| (t.name.as_str(), t.rows)).collect();
    println!(
        "{:<40} {:>12} {:>12} {:>12}",
        "table", "before", "after", "in backup"
    );
    for t in after {
        let was = before.get(t.name.as_str()).map_or("-".to_owned(), i64::to_string);
        let rec = recorded
            .get(t.name.as_str())
            .map_or("-".to_owned(), i64::to_string);
        println!("{:<40} {was:>12} {:>12} {rec:>12}", t.name, t.rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_names_fit_the_identifier_limit() {
        assert_eq!(
            with_suffix("betterprompts", "__restoring"),
            "betterprompts__restoring"
        );
        let long = "d".repeat(63);
        let derived = with_suffix(&long, "__restoring");
        assert_eq!(derived.len(), 63);
        assert!(derived.ends_with("__restoring"));
    }

    #[test]
    fn target_names_are_plain_identifiers() {
        assert!(check_name("bp_restored_2").is_ok());
        for bad in ["", "1db", "a-b", "a b", "x\"; DROP", &"a".repeat(64)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_table_that_differs_from_the_manifest_is_reported() {
        let entry = |rows, sum: &str| TableEntry {
            name: "auth.users".into(),
            rows,
            checksum: sum.into(),
        };
        let found = vec![TableFingerprint {
            name: "auth.users".into(),
            rows: 4,
            checksum: "9".into(),
        }];
        assert!(compare(&[entry(4, "9")], &found).is_ok());
        let err = compare(&[entry(5, "9")], &found).unwrap_err().to_string();
        assert!(err.contains("auth.users has 4 rows"), "{err}");
        assert!(compare(&[entry(4, "8")], &found).is_err());
        let missing = TableEntry {
            name: "auth.sessions".into(),
            ..entry(0, "0")
        };
        assert!(
            compare(&[missing], &found)
                .unwrap_err()
                .to_string()
                .contains("no table")
        );
    }
}
