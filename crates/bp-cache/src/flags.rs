//! Feature flags (`feature:`): one Redis hash of flags, read through a
//! short local cache (1 min by default) that change events clear at once in
//! every process, so a change is seen in milliseconds while the local TTL
//! only bounds staleness when events are lost.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::client::Cache;
use crate::error::{CacheError, invalid};
use crate::keys::rollout_bucket;
use crate::namespace::Namespace;

/// One feature flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureFlag {
    /// `[a-z0-9_.-]`, 1 to 64 characters.
    pub name: String,
    /// Off for everyone when false.
    pub enabled: bool,
    /// Share of users (0-100) who get it when enabled; stable per user.
    pub rollout_percent: u8,
    /// What it switches.
    #[serde(default)]
    pub description: String,
}

impl FeatureFlag {
    /// Whether the flag is on for `user_id` (anonymous callers get it only
    /// at 100 %).
    pub fn is_on_for(&self, user_id: Option<&str>) -> bool {
        if !self.enabled {
            return false;
        }
        match (self.rollout_percent, user_id) {
            (100.., _) => true,
            (0, _) | (_, None) => false,
            (percent, Some(user)) => rollout_bucket(&self.name, user) < percent,
        }
    }

    fn validate(&self) -> Result<(), CacheError> {
        check_flag_name(&self.name)?;
        if self.rollout_percent > 100 {
            return Err(invalid("rollout_percent", "must be 0 to 100"));
        }
        if self.description.len() > 500 {
            return Err(invalid("description", "must be at most 500 bytes"));
        }
        Ok(())
    }
}

fn check_flag_name(name: &str) -> Result<(), CacheError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(invalid("name", "must be 1 to 64 of a-z, 0-9, '_', '.', '-'"))
    }
}

type Snapshot = Arc<HashMap<String, FeatureFlag>>;

/// The process-local copy of all flags.
pub(crate) struct FlagCache {
    ttl: Duration,
    snapshot: RwLock<Option<(Instant, Snapshot)>>,
}

impl FlagCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            snapshot: RwLock::new(None),
        }
    }

    fn fresh(&self) -> Option<Snapshot> {
        let guard = self.snapshot.read().ok()?;
        let (at, flags) = guard.as_ref()?;
        (at.elapsed() < self.ttl).then(|| flags.clone())
    }

    fn stale(&self) -> Option<Snapshot> {
        let guard = self.snapshot.read().ok()?;
        guard.as_ref().map(|(_, flags)| flags.clone())
    }

    fn store(&self, flags: Snapshot) {
        if let Ok(mut guard) = self.snapshot.write() {
            *guard = Some((Instant::now(), flags));
        }
    }

    /// Makes the copy stale; it is kept only as a fallback while Redis is down.
    pub(crate) fn forget(&self) {
        if let Ok(mut guard) = self.snapshot.write()
            && let Some((at, _)) = guard.as_mut()
        {
            *at = Instant::now().checked_sub(self.ttl).unwrap_or(*at);
        }
    }
}

impl Cache {
    fn flags_key(&self) -> String {
        self.ns_key(Namespace::FeatureFlags, "flags")
    }

    async fn load_flags(&self) -> Result<Snapshot, CacheError> {
        if let Some(flags) = self.inner.flags.fresh() {
            self.inner.counters.hit(Namespace::FeatureFlags);
            return Ok(flags);
        }
        self.inner.counters.miss(Namespace::FeatureFlags);
        let raw: HashMap<String, String> = self.query(redis::cmd("HGETALL").arg(self.flags_key())).await?;
        let mut flags = HashMap::with_capacity(raw.len());
        for (name, json) in raw {
            match serde_json::from_str::<FeatureFlag>(&json) {
                Ok(flag) if flag.name == name => {
                    flags.insert(name, flag);
                }
                // Not a flag we wrote: drop it rather than fail every reader.
                _ => {
                    let _ = self
                        .query::<u64>(redis::cmd("HDEL").arg(self.flags_key()).arg(&name))
                        .await;
                }
            }
        }
        let flags = Arc::new(flags);
        self.inner.flags.store(flags.clone());
        Ok(flags)
    }

    async fn flag_changed(&self, cmd: redis::Cmd) -> Result<u64, CacheError> {
        let n: u64 = self.write_and_announce(cmd, "flags").await?;
        self.inner.flags.forget();
        Ok(n)
    }

    /// Creates or replaces a flag; every process sees it at once.
    pub async fn set_flag(&self, flag: &FeatureFlag) -> Result<(), CacheError> {
        flag.validate()?;
        let json = serde_json::to_string(flag).map_err(|e| invalid("flag", e.to_string()))?;
        let cmd = redis::cmd("HSET")
            .arg(self.flags_key())
            .arg(&flag.name)
            .arg(json)
            .to_owned();
        self.flag_changed(cmd).await.map(drop)
    }

    /// The flag `name`, if it exists.
    pub async fn get_flag(&self, name: &str) -> Result<Option<FeatureFlag>, CacheError> {
        check_flag_name(name)?;
        Ok(self.load_flags().await?.get(name).cloned())
    }

    /// Every flag, by name.
    pub async fn list_flags(&self) -> Result<Vec<FeatureFlag>, CacheError> {
        let mut flags: Vec<_> = self.load_flags().await?.values().cloned().collect();
        flags.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(flags)
    }

    /// Deletes a flag; true when it existed.
    pub async fn delete_flag(&self, name: &str) -> Result<bool, CacheError> {
        check_flag_name(name)?;
        let cmd = redis::cmd("HDEL").arg(self.flags_key()).arg(name).to_owned();
        Ok(self.flag_changed(cmd).await? > 0)
    }

    /// Whether `name` is on for `user_id`. Never fails: an unknown flag is
    /// off, and with Redis down the last known flags are used (off when
    /// none were ever read).
    pub async fn is_enabled(&self, name: &str, user_id: Option<&str>) -> bool {
        let flags = match self.load_flags().await {
            Ok(flags) => Some(flags),
            Err(e) => {
                self.degraded("feature flag read", &e);
                self.inner.flags.stale()
            }
        };
        flags
            .and_then(|flags| flags.get(name).map(|flag| flag.is_on_for(user_id)))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(enabled: bool, rollout_percent: u8) -> FeatureFlag {
        FeatureFlag {
            name: "new-ui".into(),
            enabled,
            rollout_percent,
            description: String::new(),
        }
    }

    #[test]
    fn rollout_follows_enabled_and_percentage() {
        assert!(!flag(false, 100).is_on_for(Some("u")));
        assert!(flag(true, 100).is_on_for(None));
        assert!(!flag(true, 0).is_on_for(Some("u")));
        assert!(
            !flag(true, 50).is_on_for(None),
            "anonymous callers are outside partial rollouts"
        );
        let on = (0..1000)
            .filter(|i| flag(true, 30).is_on_for(Some(&format!("user-{i}"))))
            .count();
        assert!((250..350).contains(&on), "{on} of 1000 at 30%");
        // Growing the rollout keeps everyone who already had it.
        for i in 0..1000 {
            let user = format!("user-{i}");
            if flag(true, 30).is_on_for(Some(&user)) {
                assert!(flag(true, 60).is_on_for(Some(&user)));
            }
        }
    }

    #[test]
    fn flag_names_and_percentages_are_checked() {
        assert!(flag(true, 101).validate().is_err());
        let mut bad = flag(true, 10);
        bad.name = "New UI".into();
        assert!(bad.validate().is_err());
        assert!(flag(true, 10).validate().is_ok());
    }
}
