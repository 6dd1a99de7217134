//! Encryption keys: where a process's keyring comes from ([`install`]) and
//! `betterprompts keys status|rotate|decrypt|add|generate|rotate-jwt`, and
//! where the access-token signing secrets come from ([`jwt_keys`]).
//!
//! Keys come from `BP_ENCRYPTION_KEYS` and `BP_BLIND_INDEX_KEY`. Without
//! them, the embedded instance keeps generated keys under
//! `BP_HOME/secrets/` (`encryption.keys`, one `id:base64key` line per key,
//! the last one active; `blind-index.key`), created on first use with mode
//! 0600. A configured `DATABASE_URL` without the variables is refused:
//! two servers must never generate different keys for one database.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use bp_config::Settings;
use bp_store::crypto::{self, Keyring};
use bp_store::rotate::{self, Goal};

use crate::cli::KeysCommand;
use crate::resolve;

fn secrets_dir(settings: &Settings) -> PathBuf {
    settings.home.home.join("secrets")
}

fn keys_file(settings: &Settings) -> PathBuf {
    secrets_dir(settings).join("encryption.keys")
}

fn index_file(settings: &Settings) -> PathBuf {
    secrets_dir(settings).join("blind-index.key")
}

/// Writes a new secret file, readable by its owner only; never replaces one.
pub fn create_secret_file(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path.parent().context("secret path has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// A key id from the current time (`k20261125t101500`), with a suffix
/// (`.2`, `.3`...) when one of `taken` already has it (two keys made in the
/// same second).
fn new_key_id(taken: &[&str]) -> String {
    let base = format!("k{}", chrono::Utc::now().format("%Y%m%dt%H%M%S"));
    let mut id = base.clone();
    let mut n = 1;
    while taken.contains(&id.as_str()) {
        n += 1;
        id = format!("{base}.{n}");
    }
    id
}

/// The keyring the settings describe. `may_generate`: the embedded
/// instance, whose keys are created under `BP_HOME` on first use.
pub fn keyring(settings: &Settings, may_generate: bool) -> anyhow::Result<Keyring> {
    let enc = &settings.encryption;
    let keyring = match (&enc.keys, &enc.blind_index_key) {
        (Some(keys), Some(index)) => {
            Keyring::parse(keys.expose(), enc.active_key.as_deref(), index.expose())?
        }
        _ => {
            let (keys_path, index_path) = (keys_file(settings), index_file(settings));
            if !keys_path.exists() || !index_path.exists() {
                anyhow::ensure!(
                    may_generate,
                    "BP_ENCRYPTION_KEYS and BP_BLIND_INDEX_KEY are not set and {} has no keys; \
                     set them for a configured DATABASE_URL (`betterprompts keys generate` prints new ones)",
                    secrets_dir(settings).display()
                );
                if !keys_path.exists() {
                    create_secret_file(
                        &keys_path,
                        &format!("{}:{}\n", new_key_id(&[]), crypto::generate_key()?),
                    )?;
                }
                if !index_path.exists() {
                    create_secret_file(&index_path, &format!("{}\n", crypto::generate_key()?))?;
                }
            }
            let read =
                |p: &Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
            Keyring::parse(&read(&keys_path)?, enc.active_key.as_deref(), &read(&index_path)?)
                .with_context(|| format!("the keys in {}", secrets_dir(settings).display()))?
        }
    };
    Ok(keyring.with_prompt_encryption(enc.encrypt_prompts))
}

/// Loads the keyring and installs it for this process's store calls.
pub fn install(settings: &Settings, may_generate: bool) -> anyhow::Result<()> {
    crypto::install(keyring(settings, may_generate)?)?;
    Ok(())
}

/// True when the database comes from the embedded instance.
fn embedded(settings: &Settings) -> bool {
    settings.database.url.is_none()
}

/// Brings every encrypted value to `goal` with a progress bar; returns the
/// summary line.
pub async fn convert(
    pool: &bp_store::PgPool,
    keys: &Keyring,
    goal: Goal,
    batch: u32,
) -> anyhow::Result<String> {
    let estimate = rotate::estimated_rows(pool).await?;
    let bar = crate::progress::bar(estimate.max(1), "re-encrypting");
    let reports = rotate::run(pool, keys, goal, batch, |step| {
        bar.inc(step.scanned);
        bar.set_message(step.table);
    })
    .await?;
    bar.finish_and_clear();
    let scanned: u64 = reports.iter().map(|r| r.scanned).sum();
    let rewritten: u64 = reports.iter().map(|r| r.rewritten).sum();
    let skipped: u64 = reports.iter().map(|r| r.skipped).sum();
    let target = match goal {
        Goal::ActiveKey => format!("under key `{}`", keys.active_id()),
        Goal::Plaintext => "as plaintext".to_owned(),
    };
    let mut line = format!("{rewritten} of {scanned} rows rewritten {target}");
    if skipped > 0 {
        line.push_str(&format!(
            "; {skipped} changed by the service meanwhile (run again to check them)"
        ));
    }
    Ok(line)
}

/// Runs one `keys` subcommand.
pub async fn run(settings: &Settings, instance: Option<&str>, command: KeysCommand) -> anyhow::Result<u8> {
    match command {
        KeysCommand::Generate => {
            println!(
                "BP_ENCRYPTION_KEYS={}:{}",
                new_key_id(&[]),
                crypto::generate_key()?
            );
            println!("BP_BLIND_INDEX_KEY={}", crypto::generate_key()?);
            eprintln!(
                "to rotate, append the new key to BP_ENCRYPTION_KEYS (comma-separated, keeping the old ones), \
                 restart every server, then run `betterprompts keys rotate`; keep BP_BLIND_INDEX_KEY as it is"
            );
            return Ok(0);
        }
        KeysCommand::RotateJwt { grace_secs } => {
            println!(
                "{}",
                rotate_jwt(settings, std::time::Duration::from_secs(grace_secs))?
            );
            return Ok(0);
        }
        KeysCommand::Add => {
            anyhow::ensure!(
                settings.encryption.keys.is_none(),
                "keys come from BP_ENCRYPTION_KEYS here: append a key there (`betterprompts keys generate` prints one)"
            );
            let path = keys_file(settings);
            // Make sure the file exists (first use) before appending.
            let existing = keyring(settings, true)?;
            let id = new_key_id(&existing.key_ids());
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .with_context(|| format!("opening {}", path.display()))?;
            writeln!(file, "{id}:{}", crypto::generate_key()?)?;
            let active = match &settings.encryption.active_key {
                None => "made it active".to_owned(),
                Some(_) => format!("it becomes active when BP_ENCRYPTION_ACTIVE_KEY names `{id}`"),
            };
            println!(
                "added key `{id}` to {} and {active}; restart running servers, then run `betterprompts keys rotate`",
                path.display()
            );
            return Ok(0);
        }
        KeysCommand::Decrypt { yes: false, .. } => anyhow::bail!(
            "this writes every encrypted value back as plaintext (before `migrate down` below 0009); pass --yes"
        ),
        _ => {}
    }
    let keys = keyring(settings, embedded(settings))?;
    // Maintenance statements on a plain pool: PostgreSQL itself, not a
    // transaction pooler (DATABASE_DIRECT_URL when DATABASE_URL is one).
    let url = resolve::direct_database_url(settings, instance, "`keys`").await?;
    let pool = bp_store::connect(url.expose(), &bp_store::PoolSettings::small()).await?;
    let code = match command {
        KeysCommand::Status => {
            println!(
                "active key: {}  (known: {})",
                keys.active_id(),
                keys.key_ids().join(", ")
            );
            for row in rotate::key_use(&pool).await? {
                let key = row.key_id.as_deref().unwrap_or("(plaintext)");
                println!("{:<24} {:<15} {:<20} {}", row.table, row.column, key, row.values);
            }
            0
        }
        KeysCommand::Rotate { batch } => {
            println!("{}", convert(&pool, &keys, Goal::ActiveKey, batch).await?);
            0
        }
        KeysCommand::Decrypt { batch, .. } => {
            println!("{}", convert(&pool, &keys, Goal::Plaintext, batch).await?);
            0
        }
        KeysCommand::Generate | KeysCommand::Add | KeysCommand::RotateJwt { .. } => 0,
    };
    pool.close().await;
    Ok(code)
}

/// Converts accounts (and every other PII value) from before encryption
/// when there are any; run after migrations. Returns the summary line when
/// something was converted.
pub async fn convert_legacy_rows(
    settings: &Settings,
    pool: &bp_store::PgPool,
) -> anyhow::Result<Option<String>> {
    if !rotate::unconverted_accounts(pool).await? {
        return Ok(None);
    }
    let keys = keyring(settings, embedded(settings))?;
    Ok(Some(convert(pool, &keys, Goal::ActiveKey, 1000).await?))
}

fn jwt_file(settings: &Settings, name: &str) -> PathBuf {
    secrets_dir(settings).join(name)
}

/// A new JWT signing secret: 32 random bytes as hex.
fn new_jwt_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex::encode(bytes))
}

fn read_jwt_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let text = text.trim();
    anyhow::ensure!(
        text.len() >= 64,
        "{} is too short; delete it to regenerate",
        path.display()
    );
    Ok(text.as_bytes().to_vec())
}

/// The access-token keys: `BP_JWT_SECRET` (with `BP_JWT_PREVIOUS_SECRET`
/// and `BP_JWT_PREVIOUS_UNTIL`), else the secrets under `BP_HOME/secrets/`
/// (`jwt.key`, generated once; `jwt.previous.key` and `jwt.previous.until`
/// written by `keys rotate-jwt`).
pub fn jwt_keys(settings: &Settings) -> anyhow::Result<bp_api::auth::JwtKeys> {
    let server = &settings.server;
    if let Some(secret) = &server.jwt_secret {
        anyhow::ensure!(
            secret.expose().len() >= 32,
            "BP_JWT_SECRET must be at least 32 characters"
        );
        let previous = server.jwt_previous_secret.as_ref().map(|s| s.expose().as_bytes());
        return Ok(bp_api::auth::JwtKeys::new(secret.expose().as_bytes(), previous)
            .previous_until(server.jwt_previous_until));
    }
    let current_path = jwt_file(settings, "jwt.key");
    if !current_path.exists() {
        create_secret_file(&current_path, &new_jwt_secret()?)?;
    }
    let current = read_jwt_secret(&current_path)?;
    let previous_path = jwt_file(settings, "jwt.previous.key");
    let previous = if previous_path.exists() {
        Some(read_jwt_secret(&previous_path)?)
    } else {
        None
    };
    let until_path = jwt_file(settings, "jwt.previous.until");
    let until = match std::fs::read_to_string(&until_path) {
        Ok(text) => Some(
            text.trim()
                .parse::<i64>()
                .with_context(|| format!("{} is not unix seconds", until_path.display()))?,
        ),
        Err(_) => None,
    };
    Ok(bp_api::auth::JwtKeys::new(&current, previous.as_deref()).previous_until(until))
}

/// `keys rotate-jwt`: a new signing secret; the old one stays accepted for
/// `grace`. Returns the summary line.
fn rotate_jwt(settings: &Settings, grace: std::time::Duration) -> anyhow::Result<String> {
    let until = chrono::Utc::now().timestamp() + i64::try_from(grace.as_secs()).unwrap_or(i64::MAX / 2);
    let new_secret = new_jwt_secret()?;
    if settings.server.jwt_secret.is_some() {
        println!("BP_JWT_SECRET={new_secret}");
        println!("BP_JWT_PREVIOUS_UNTIL={until}");
        return Ok(
            "set BP_JWT_PREVIOUS_SECRET to the current BP_JWT_SECRET and the two values above, then restart \
             every server; remove BP_JWT_PREVIOUS_SECRET after BP_JWT_PREVIOUS_UNTIL"
                .into(),
        );
    }
    // Make sure there is a current secret to retire (first use).
    jwt_keys(settings)?;
    let current = jwt_file(settings, "jwt.key");
    let previous = jwt_file(settings, "jwt.previous.key");
    let until_path = jwt_file(settings, "jwt.previous.until");
    let staged = jwt_file(settings, "jwt.key.new");
    let _ = std::fs::remove_file(&staged);
    create_secret_file(&staged, &new_secret)?;
    let _ = std::fs::remove_file(&until_path);
    create_secret_file(&until_path, &until.to_string())?;
    std::fs::rename(&current, &previous).with_context(|| format!("moving {}", current.display()))?;
    std::fs::rename(&staged, &current).with_context(|| format!("installing {}", current.display()))?;
    Ok(format!(
        "new signing secret in {}; tokens of the previous one are accepted until {} (unix {until}); restart running servers",
        current.display(),
        chrono::DateTime::from_timestamp(until, 0).map_or_else(|| until.to_string(), |t| t.to_rfc3339())
    ))
}
