//! Sessions (`session:`, 24 h by default). The session id is a bearer
//! secret, so the key holds its hash. Each user has an index set of their
//! session keys, so "log out everywhere" deletes exactly that user's
//! sessions (O(their sessions)) without scanning.
//!
//! Unlike the typed caches these calls return errors: a login needs to know
//! that its session was not stored.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::client::Cache;
use crate::codec;
use crate::error::CacheError;
use crate::keys::hash_parts;
use crate::namespace::Namespace;
use crate::ops::ttl_secs;

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    /// The owner, so a session can leave its user's index.
    user: String,
    data: T,
}

impl Cache {
    fn session_key(&self, session_id: &str) -> (String, String) {
        let hash = hash_parts(&[session_id]);
        (self.ns_key(Namespace::Sessions, &hash), hash)
    }

    fn user_sessions_key(&self, user_id: &str) -> String {
        self.ns_key(Namespace::Sessions, &format!("user:{}", hash_parts(&[user_id])))
    }

    fn session_ttl(&self, ttl: Option<Duration>) -> Result<u64, CacheError> {
        ttl_secs(ttl.unwrap_or(self.inner.settings.ttls.sessions))
    }

    /// Stores a session for `user_id` (TTL: `ttl` or the configured 24 h),
    /// and adds it to the user's index, in one atomic round trip (on a
    /// cluster: index first, then the session).
    pub async fn set_session<T: Serialize>(
        &self,
        session_id: &str,
        user_id: &str,
        data: &T,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let secs = self.session_ttl(ttl)?;
        let bytes = codec::encode(&Envelope {
            user: user_id.to_owned(),
            data,
        })?;
        let (key, hash) = self.session_key(session_id);
        let index = self.user_sessions_key(user_id);
        // Index first: on a cluster, where these run one by one, a session
        // is indexed (and a logout everywhere finds it) before it exists.
        let cmds = vec![
            redis::cmd("SADD").arg(&index).arg(&hash).to_owned(),
            // The index lives as long as its longest session.
            redis::cmd("EXPIRE").arg(&index).arg(secs).arg("GT").to_owned(),
            redis::cmd("EXPIRE").arg(&index).arg(secs).arg("NX").to_owned(),
            redis::cmd("SET")
                .arg(&key)
                .arg(bytes)
                .arg("EX")
                .arg(secs)
                .to_owned(),
        ];
        self.exec_in_order(cmds).await
    }

    /// The session's data; `None` when it does not exist, has expired, or
    /// does not decode as `T` (it is then deleted).
    pub async fn get_session<T: DeserializeOwned>(&self, session_id: &str) -> Result<Option<T>, CacheError> {
        let (key, _) = self.session_key(session_id);
        let bytes: Option<Vec<u8>> = self.query(redis::cmd("GET").arg(&key)).await?;
        let Some(bytes) = bytes else {
            self.inner.counters.miss(Namespace::Sessions);
            return Ok(None);
        };
        match codec::decode::<Envelope<T>>(&bytes) {
            Some(envelope) => {
                self.inner.counters.hit(Namespace::Sessions);
                Ok(Some(envelope.data))
            }
            None => {
                self.inner.counters.miss(Namespace::Sessions);
                // Best effort: the answer is a miss either way; a failed
                // cleanup leaves the value to its TTL.
                let _ = self.query::<u64>(redis::cmd("UNLINK").arg(&key)).await;
                Ok(None)
            }
        }
    }

    /// Deletes one session; true when it existed. (Its index entry goes
    /// when the user's sessions are next deleted, or with the index.)
    /// Through Sentinel, and on a cluster whose master for the session has
    /// a replica, it also waits for a replica ([`Cache::await_replica`]).
    pub async fn delete_session(&self, session_id: &str) -> Result<bool, CacheError> {
        let (key, _) = self.session_key(session_id);
        if self.inner.link.cluster() {
            return Ok(self.unlink_confirmed(&[key]).await? > 0);
        }
        let mut unlink = redis::cmd("UNLINK");
        unlink.arg(key);
        if !self.inner.link.replicated() {
            let n: u64 = self.query(&unlink).await?;
            return Ok(n > 0);
        }
        let mut own = self.own_connection().await?;
        let n: u64 = self
            .query_on(&mut own, &unlink, self.inner.settings.op_timeout)
            .await?;
        self.await_replica(&mut own, "a session's deletion").await;
        Ok(n > 0)
    }

    /// On a cluster: deletes `keys` and returns how many existed. The keys
    /// of a master with a replica are deleted on a connection of its own to
    /// that master (one per master, from one `CLUSTER SLOTS`), which then
    /// waits for the replica ([`Cache::await_replica`]); the others, and
    /// any whose master cannot be reached that way (a slot map just
    /// changed by a failover, a refused connection), on the shared
    /// connection, which follows redirections. The confirmation is best
    /// effort; the deletion is not.
    async fn unlink_confirmed(&self, keys: &[String]) -> Result<u64, CacheError> {
        let mut shared: Vec<&str> = Vec::new();
        let mut by_master: Vec<((String, u16), Vec<&str>)> = Vec::new();
        let mut conn = self.conn();
        match self.bounded(crate::link::slot_ranges(&mut conn)).await {
            Err(e) => {
                tracing::debug!(error = %e, "CLUSTER SLOTS failed; sessions deleted unconfirmed");
                shared.extend(keys.iter().map(String::as_str));
            }
            Ok(ranges) => {
                for key in keys {
                    let slot = crate::link::key_slot(key);
                    match ranges.iter().find(|r| (r.0..=r.1).contains(&slot)) {
                        Some((_, _, host, port, true)) => {
                            let master = (host.clone(), *port);
                            match by_master.iter_mut().find(|(m, _)| *m == master) {
                                Some((_, group)) => group.push(key),
                                None => by_master.push((master, vec![key])),
                            }
                        }
                        _ => shared.push(key),
                    }
                }
            }
        }
        let mut deleted = 0;
        for ((host, port), group) in by_master {
            let confirmed = async {
                let mut own = self.own_connection_to(&host, port).await?;
                // One UNLINK per key: a node refuses a multi-key command
                // across slots, even its own.
                let mut pipe = redis::pipe();
                for key in &group {
                    pipe.cmd("UNLINK").arg(*key);
                }
                let counts: Vec<u64> = self
                    .query_on_pipe(&mut own, &pipe, self.inner.settings.op_timeout)
                    .await?;
                let n: u64 = counts.iter().sum();
                // Nothing deleted, nothing to confirm.
                if n > 0 {
                    self.await_replica(&mut own, "a session's deletion").await;
                }
                Ok::<_, CacheError>(n)
            };
            match confirmed.await {
                Ok(n) => deleted += n,
                Err(e) => {
                    tracing::debug!(error = %e, "a session master's own connection failed; deleted unconfirmed");
                    shared.extend(group);
                }
            }
        }
        if !shared.is_empty() {
            let n: u64 = self.query(redis::cmd("UNLINK").arg(&shared)).await?;
            deleted += n;
        }
        Ok(deleted)
    }

    /// With Sentinel, waits (within half the call bound) until a replica
    /// has the writes made on `own` (`WAIT 1` covers its own connection's
    /// writes only, and blocks that connection, so both happen on one of
    /// their own), so that a failover is unlikely to bring back a session
    /// that was ended. `WAIT 1` is any one replica, not necessarily the one
    /// Sentinel would promote. A replica that does not confirm in time is
    /// logged (at most every 10 s), not an error: the deletion is on the
    /// master.
    async fn await_replica(&self, own: &mut redis::aio::MultiplexedConnection, what: &str) {
        let half = self.inner.settings.op_timeout / 2;
        let bound = half.as_millis().max(1) as u64;
        let mut wait = redis::cmd("WAIT");
        wait.arg(1).arg(bound);
        match self
            .query_on::<u64>(own, &wait, self.inner.settings.op_timeout + half)
            .await
        {
            Ok(0) => {
                if self.inner.health.should_warn() {
                    tracing::warn!(
                        "{what} is not confirmed by a Redis replica yet (WAIT 1 timed out); a failover now could undo it"
                    );
                }
            }
            Ok(_) => {}
            Err(e) => self.degraded("replica confirmation", &e),
        }
    }

    /// Gives the session a fresh TTL (`ttl` or the configured 24 h); false
    /// when it no longer exists.
    pub async fn refresh_session(&self, session_id: &str, ttl: Option<Duration>) -> Result<bool, CacheError> {
        let (key, _) = self.session_key(session_id);
        let n: u64 = self
            .query(redis::cmd("EXPIRE").arg(key).arg(self.session_ttl(ttl)?))
            .await?;
        Ok(n > 0)
    }

    /// Deletes every session of `user_id`; returns how many existed.
    /// Through Sentinel the deletions are made on a connection of their own
    /// and then wait for a replica ([`Cache::await_replica`]); on a cluster
    /// each is made, and confirmed, on the master that holds it.
    pub async fn delete_user_sessions(&self, user_id: &str) -> Result<u64, CacheError> {
        let index = self.user_sessions_key(user_id);
        let mut own = match self.inner.link.replicated() {
            true => Some(self.own_connection().await?),
            false => None,
        };
        let bound = self.inner.settings.op_timeout;
        let mut deleted = 0;
        loop {
            // SPOP takes members out as it reads them, so a session added
            // meanwhile stays indexed and is not lost.
            let mut spop = redis::cmd("SPOP");
            spop.arg(&index).arg(500);
            let hashes: Vec<String> = match own.as_mut() {
                Some(conn) => self.query_on(conn, &spop, bound).await?,
                None => self.query(&spop).await?,
            };
            if hashes.is_empty() {
                if let Some(conn) = own.as_mut() {
                    self.await_replica(conn, "a user's sessions' deletion").await;
                }
                return Ok(deleted);
            }
            let keys: Vec<String> = hashes
                .iter()
                .map(|h| self.ns_key(Namespace::Sessions, h))
                .collect();
            // On a cluster each session may live on another master: each is
            // deleted, and confirmed, where it lives.
            if self.inner.link.cluster() {
                deleted += self.unlink_confirmed(&keys).await?;
                continue;
            }
            let mut unlink = redis::cmd("UNLINK");
            unlink.arg(keys);
            let n: u64 = match own.as_mut() {
                Some(conn) => self.query_on(conn, &unlink, bound).await?,
                None => self.query(&unlink).await?,
            };
            deleted += n;
        }
    }
}
