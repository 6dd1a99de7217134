//! Backup and restore of Redis for `betterprompts backup|restore`.
//!
//! Two forms, for two needs:
//! - this service's keys ([`Cache::dump_keys`] / [`Cache::restore_keys`]):
//!   every key under the prefix as a `DUMP` payload with its remaining TTL,
//!   restored with `RESTORE ... ABSTTL` on a running server, touching no
//!   other prefix and needing no restart;
//! - the server's whole dataset ([`Cache::save_snapshot`]): `BGSAVE`, waited
//!   for, and the path of the RDB file it wrote, for disaster recovery of the
//!   server itself.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::client::Cache;
use crate::error::{CacheError, invalid};
use crate::ops::escape_glob;

/// Keys fetched or restored per round trip.
const BATCH: usize = 500;

/// One key under the prefix as `DUMP` returned it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyDump {
    /// The key without the prefix and its `:` (so a dump can be restored
    /// under another prefix).
    pub key: String,
    /// Milliseconds it had left when dumped; `None` for a key without expiry.
    pub ttl_ms: Option<i64>,
    /// The `DUMP` payload (Redis's serialisation, with its own CRC).
    pub payload: Vec<u8>,
}

impl std::fmt::Debug for KeyDump {
    // Payloads hold session data: only the key and size are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyDump")
            .field("key", &self.key)
            .field("ttl_ms", &self.ttl_ms)
            .field("payload_bytes", &self.payload.len())
            .finish()
    }
}

/// What [`Cache::restore_keys`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RestoreSummary {
    /// Keys under the prefix deleted first.
    pub removed: u64,
    /// Keys written back.
    pub restored: u64,
    /// Keys left out because their TTL ran out since the dump.
    pub expired: u64,
}

impl Cache {
    /// Every key under this prefix with its payload and remaining TTL
    /// (SCAN, then DUMP and PTTL pipelined per batch). A key that expires
    /// between SCAN and DUMP is left out.
    pub async fn dump_keys(&self) -> Result<Vec<KeyDump>, CacheError> {
        let prefix = format!("{}:", self.prefix());
        let pattern = format!("{}*", escape_glob(&prefix));
        let mut out = Vec::new();
        let mut at = crate::ops::ScanCursor::default();
        loop {
            let keys = self.scan_page(&mut at, &pattern, BATCH).await?;
            if !keys.is_empty() {
                let mut pipe = redis::pipe();
                for key in &keys {
                    pipe.cmd("DUMP").arg(key).cmd("PTTL").arg(key);
                }
                let replies: Vec<redis::Value> = self.query_pipe(&pipe).await?;
                let mut replies = replies.into_iter();
                for key in &keys {
                    // DUMP is nil and PTTL -2 for a key gone since SCAN;
                    // PTTL -1 means no expiry.
                    let (Some(redis::Value::BulkString(payload)), Some(redis::Value::Int(ttl))) =
                        (replies.next(), replies.next())
                    else {
                        continue;
                    };
                    if ttl == -2 {
                        continue;
                    }
                    out.push(KeyDump {
                        key: key.strip_prefix(&prefix).unwrap_or(key).to_owned(),
                        ttl_ms: (ttl >= 0).then_some(ttl),
                        payload,
                    });
                }
            }
            if at.done {
                return Ok(out);
            }
        }
    }

    /// Makes this prefix hold exactly `dumps`: deletes every key under it,
    /// then `RESTORE`s each dump with the expiry it had at `taken_at_ms`
    /// (Unix milliseconds), skipping keys whose expiry has passed since.
    pub async fn restore_keys(
        &self,
        dumps: &[KeyDump],
        taken_at_ms: i64,
    ) -> Result<RestoreSummary, CacheError> {
        for dump in dumps {
            crate::ops::check_key(&dump.key)?;
        }
        let mut summary = RestoreSummary {
            removed: self.delete_all().await?,
            ..RestoreSummary::default()
        };
        let now_ms = unix_ms();
        for chunk in dumps.chunks(BATCH) {
            let mut pipe = redis::pipe();
            for dump in chunk {
                let expires_at = dump.ttl_ms.map(|ttl| taken_at_ms.saturating_add(ttl));
                if expires_at.is_some_and(|at| at <= now_ms) {
                    summary.expired += 1;
                    continue;
                }
                let cmd = pipe
                    .cmd("RESTORE")
                    .arg(self.key(&dump.key))
                    .arg(expires_at.unwrap_or(0))
                    .arg(&dump.payload[..])
                    .arg("REPLACE");
                if expires_at.is_some() {
                    cmd.arg("ABSTTL");
                }
                cmd.ignore();
                summary.restored += 1;
            }
            self.query_pipe::<()>(&pipe).await?;
        }
        Ok(summary)
    }

    /// Asks the server for a snapshot (`BGSAVE`), waits up to `within` for
    /// it to finish successfully and returns the RDB file's path as the
    /// server sees it (`CONFIG GET dir` / `dbfilename`). Fails when the
    /// server refuses CONFIG (managed services) or the save fails.
    /// A Redis Cluster has one RDB file per master, on each master's
    /// host: this is refused there with a message that says so.
    pub async fn save_snapshot(&self, within: Duration) -> Result<PathBuf, CacheError> {
        if self.inner.link.cluster() {
            return Err(invalid(
                "BGSAVE",
                "is per node on a Redis Cluster: snapshot each master on its host (the keys under this prefix are in the backup's key dump)",
            ));
        }
        let dir: Vec<String> = self.query(redis::cmd("CONFIG").arg("GET").arg("dir")).await?;
        let file: Vec<String> = self
            .query(redis::cmd("CONFIG").arg("GET").arg("dbfilename"))
            .await?;
        let (Some(dir), Some(file)) = (dir.get(1), file.get(1)) else {
            return Err(invalid("CONFIG GET dir", "returned no value"));
        };
        let path = PathBuf::from(dir).join(file);
        let deadline = Instant::now() + within;
        // A save already running (another BGSAVE, a scheduled save) would not
        // hold the writes made since it started: wait for it, then ask again.
        loop {
            let before = self.persistence().await?.saves;
            match self.query::<String>(&redis::cmd("BGSAVE")).await {
                Ok(_) => {
                    self.wait_for_save(deadline, before.saturating_add(1)).await?;
                    return Ok(path);
                }
                Err(CacheError::Redis(e)) if e.to_string().contains("already in progress") => {
                    self.wait_for_save(deadline, 0).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Polls INFO until no save runs and at least `saves` have completed.
    async fn wait_for_save(&self, deadline: Instant, saves: u64) -> Result<(), CacheError> {
        loop {
            let p = self.persistence().await?;
            if !p.in_progress && p.saves >= saves {
                return if p.last_ok {
                    Ok(())
                } else {
                    Err(invalid(
                        "BGSAVE",
                        "failed (rdb_last_bgsave_status is err); see the Redis log",
                    ))
                };
            }
            if Instant::now() >= deadline {
                return Err(CacheError::Unavailable("BGSAVE did not finish in time".into()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn persistence(&self) -> Result<Persistence, CacheError> {
        let info: String = self.query(redis::cmd("INFO").arg("persistence")).await?;
        Ok(Persistence::parse(&info))
    }
}

/// Milliseconds since the Unix epoch (0 on a clock before 1970).
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The INFO persistence fields a snapshot waits on.
#[derive(Debug, PartialEq, Eq)]
struct Persistence {
    in_progress: bool,
    saves: u64,
    last_ok: bool,
}

impl Persistence {
    fn parse(info: &str) -> Self {
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.trim_end().strip_prefix(name)?.strip_prefix(':'))
        };
        Self {
            in_progress: field("rdb_bgsave_in_progress") == Some("1"),
            saves: field("rdb_saves").and_then(|v| v.parse().ok()).unwrap_or(0),
            last_ok: field("rdb_last_bgsave_status") != Some("err"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persistence_fields_parse_from_info() {
        let info =
            "# Persistence\r\nrdb_bgsave_in_progress:1\r\nrdb_saves:7\r\nrdb_last_bgsave_status:ok\r\n";
        assert_eq!(
            Persistence::parse(info),
            Persistence {
                in_progress: true,
                saves: 7,
                last_ok: true
            }
        );
        let failed = "rdb_bgsave_in_progress:0\r\nrdb_saves:8\r\nrdb_last_bgsave_status:err\r\n";
        assert!(!Persistence::parse(failed).last_ok);
        assert!(!Persistence::parse(failed).in_progress);
    }

    #[test]
    fn a_dump_debug_shows_no_payload() {
        let dump = KeyDump {
            key: "session:abc".into(),
            ttl_ms: Some(5),
            payload: b"secret-session".to_vec(),
        };
        let shown = format!("{dump:?}");
        assert!(shown.contains("payload_bytes: 14"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
