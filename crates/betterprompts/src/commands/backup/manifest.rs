//! `manifest.json`: what a backup holds and how to check it. Written last,
//! so a directory with a manifest is a complete backup.

use std::fs;
use std::io::Read;
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `format` marker of a BetterPrompts backup.
pub const FORMAT: &str = "betterprompts-backup";
/// The manifest layout this binary writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The PostgreSQL dump (pg_dump custom format).
pub const PG_DUMP: &str = "postgres.dump";
/// This service's Redis keys (JSON lines of DUMP payloads).
pub const REDIS_KEYS: &str = "redis-keys.jsonl";
/// The Redis server's RDB snapshot.
pub const REDIS_RDB: &str = "redis.rdb";
/// The manifest itself.
pub const MANIFEST: &str = "manifest.json";

/// A backup's description.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// When the snapshot was taken.
    pub created_at: DateTime<Utc>,
    /// The betterprompts version that wrote it.
    pub betterprompts_version: String,
    /// How long the backup took.
    pub duration_ms: u64,
    /// The database part.
    pub postgres: PostgresPart,
    /// The Redis part, absent with `--no-redis`.
    pub redis: Option<RedisPart>,
    /// Every file with its size and SHA-256.
    pub files: Vec<FileEntry>,
}

/// What the dump holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostgresPart {
    /// The database that was dumped.
    pub database: String,
    /// `server_version`.
    pub server_version: String,
    /// pgvector's version in that database.
    pub pgvector_version: Option<String>,
    /// `pg_dump --version`.
    pub pg_dump_version: String,
    /// Newest applied migration.
    pub migration_version: Option<i64>,
    /// Every application table, counted and hashed in the dump's snapshot.
    pub tables: Vec<TableEntry>,
}

/// One table as the dump saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableEntry {
    /// `schema.table`.
    pub name: String,
    /// Rows.
    pub rows: i64,
    /// Content checksum (see `bp_store::backup::fingerprints`).
    pub checksum: String,
}

/// What the Redis part holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedisPart {
    /// `redis_version`.
    pub server_version: String,
    /// The key prefix whose keys are in [`REDIS_KEYS`].
    pub prefix: String,
    /// Keys dumped.
    pub keys: u64,
    /// When the keys were dumped (their TTLs count from here).
    pub taken_at_ms: i64,
    /// Whether [`REDIS_RDB`] is in the backup.
    pub rdb: bool,
    /// Why there is no RDB file, when there is none.
    pub rdb_note: Option<String>,
}

/// One file of the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// File name inside the backup directory.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Hex SHA-256 of the contents.
    pub sha256: String,
}

impl Manifest {
    /// Reads `dir/manifest.json`, refusing anything that is not a backup
    /// this binary can read.
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(MANIFEST);
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "{} has no readable {MANIFEST}: not a BetterPrompts backup",
                dir.display()
            )
        })?;
        let manifest: Self = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a BetterPrompts backup manifest", path.display()))?;
        anyhow::ensure!(
            manifest.format == FORMAT,
            "{} is not a BetterPrompts backup manifest (format `{}`)",
            path.display(),
            manifest.format
        );
        anyhow::ensure!(
            manifest.format_version <= FORMAT_VERSION,
            "{} is backup format {}, newer than this betterprompts reads ({FORMAT_VERSION}); use a newer betterprompts",
            path.display(),
            manifest.format_version
        );
        Ok(manifest)
    }

    /// Writes `dir/manifest.json` (owner-only, like every backup file).
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(MANIFEST);
        let text = serde_json::to_string_pretty(self)?;
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        private(&path)
    }

    /// The entry of file `name`, if the backup lists it.
    pub fn file(&self, name: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.name == name)
    }

    /// Checks every listed file's size and SHA-256 before anything is
    /// touched; the dump must be listed. Names are only ever ours, so a
    /// manifest cannot point outside the directory.
    pub fn verify_files(&self, dir: &Path) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.file(PG_DUMP).is_some(),
            "the manifest in {} lists no {PG_DUMP}; nothing was restored",
            dir.display()
        );
        for entry in &self.files {
            anyhow::ensure!(
                [PG_DUMP, REDIS_KEYS, REDIS_RDB].contains(&entry.name.as_str()),
                "the manifest in {} lists an unexpected file `{}`; nothing was restored",
                dir.display(),
                entry.name
            );
            let actual = FileEntry::of(&dir.join(&entry.name)).with_context(|| {
                format!(
                    "backup {} is incomplete: cannot read {}; nothing was restored",
                    dir.display(),
                    entry.name
                )
            })?;
            anyhow::ensure!(
                actual.sha256 == entry.sha256 && actual.bytes == entry.bytes,
                "backup {} is corrupted: {} has SHA-256 {} ({} bytes) but the manifest says {} ({} bytes); \
                 nothing was restored",
                dir.display(),
                entry.name,
                actual.sha256,
                actual.bytes,
                entry.sha256,
                entry.bytes
            );
        }
        Ok(())
    }
}

impl FileEntry {
    /// Size and SHA-256 of the file at `path`, read in 1 MiB blocks.
    pub fn of(path: &Path) -> anyhow::Result<Self> {
        let mut file = fs::File::open(path)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            bytes += n as u64;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Self {
            name,
            bytes,
            sha256: hex::encode(hasher.finalize()),
        })
    }
}

/// Makes `path` readable by its owner only: backups hold password hashes,
/// sessions and prompts.
pub fn private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o700 } else { 0o600 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("restricting {}", path.display()))
}
