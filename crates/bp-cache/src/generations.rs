//! Namespace generations: versioned namespaces put their generation in
//! every key, so invalidating a whole namespace is one INCR (O(1)); the old
//! keys become unreachable and expire by their TTL.
//!
//! Each process keeps the generations it has seen. A bump is published on
//! the events channel and applied at once by every listening process; a
//! copy older than one second is read again, so even a process whose
//! subscription is down serves an old generation for at most a second.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::client::Cache;
use crate::error::CacheError;
use crate::namespace::Namespace;

/// How long a process trusts its copy of a generation without an event.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

pub(crate) struct Generations {
    started: Instant,
    slots: [Slot; Namespace::ALL.len()],
}

#[derive(Default)]
struct Slot {
    value: AtomicU64,
    /// Milliseconds since `started` plus one; 0 means never read.
    seen_at: AtomicU64,
}

impl Default for Generations {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            slots: Default::default(),
        }
    }
}

impl Generations {
    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64 + 1
    }

    fn fresh(&self, ns: Namespace) -> Option<u64> {
        let slot = &self.slots[ns.index()];
        let seen = slot.seen_at.load(Ordering::Acquire);
        (seen != 0 && self.now() - seen < FRESH_FOR.as_millis() as u64)
            .then(|| slot.value.load(Ordering::Acquire))
    }

    /// Records `value` (generations only grow).
    pub(crate) fn apply(&self, ns: Namespace, value: u64) {
        let slot = &self.slots[ns.index()];
        slot.value.fetch_max(value, Ordering::AcqRel);
        slot.seen_at.store(self.now(), Ordering::Release);
    }

    /// Forgets the copy of `ns` (another process bumped it).
    pub(crate) fn forget_one(&self, ns: Namespace) {
        self.slots[ns.index()].seen_at.store(0, Ordering::Release);
    }

    /// Forgets every copy (after a missed stretch of events).
    pub(crate) fn forget(&self) {
        for slot in &self.slots {
            slot.seen_at.store(0, Ordering::Release);
        }
    }
}

impl Cache {
    fn generation_key(&self, ns: Namespace) -> String {
        self.key(&format!("gen:{}", ns.name()))
    }

    /// The current generation of `ns`.
    pub(crate) async fn generation(&self, ns: Namespace) -> Result<u64, CacheError> {
        let generations = &self.inner.generations;
        if let Some(value) = generations.fresh(ns) {
            return Ok(value);
        }
        let value: Option<u64> = self.query(redis::cmd("GET").arg(self.generation_key(ns))).await?;
        let value = value.unwrap_or(0);
        generations.apply(ns, value);
        Ok(value)
    }

    /// Invalidates every key of `ns` at once and tells the other processes.
    pub(crate) async fn bump_generation(&self, ns: Namespace) -> Result<u64, CacheError> {
        let incr = redis::cmd("INCR").arg(self.generation_key(ns)).to_owned();
        let value: u64 = self
            .write_and_announce(incr, &format!("gen:{}", ns.name()))
            .await?;
        self.inner.generations.apply(ns, value);
        Ok(value)
    }
}
