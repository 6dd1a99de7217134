//! The change events channel (`<prefix>:events`): generation bumps and
//! feature flag changes reach every process in milliseconds. Each
//! [`Cache`] runs one listener task on its own connection; it reconnects by
//! itself, and after every (re)subscription drops the local copies, since
//! events may have been missed while it was away.

use std::sync::Weak;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;

use crate::client::{Cache, Inner};
use crate::namespace::Namespace;

impl Cache {
    pub(crate) fn events_channel(&self) -> String {
        self.key("events")
    }
}

pub(crate) fn spawn_listener(weak: Weak<Inner>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            // The server in use now: after a Sentinel failover, the new master.
            // Watching for moves before reading the client, so that a move
            // in between is not missed.
            let Some((channel, mut moves, client)) = weak.upgrade().map(|inner| {
                let moves = inner.link.moves();
                (
                    format!("{}:events", inner.settings.prefix),
                    moves,
                    inner.link.client(),
                )
            }) else {
                return;
            };
            let subscribe = async {
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe(&channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            if let Ok(Ok(pubsub)) = tokio::time::timeout(Duration::from_secs(5), subscribe).await {
                match weak.upgrade() {
                    Some(inner) => forget_local(&inner),
                    None => return,
                }
                let mut messages = pubsub.into_on_message();
                loop {
                    tokio::select! {
                        message = messages.next() => {
                            let Some(message) = message else { break };
                            let Some(inner) = weak.upgrade() else { return };
                            if let Ok(payload) = message.get_payload::<String>() {
                                apply(&inner, &payload);
                            }
                        }
                        _ = stop.changed() => return,
                        // The cache moved to another server: subscribe there.
                        _ = moves.changed() => break,
                    }
                }
            }
            // Redis is away, or the connection ended: on a cluster the
            // next seed node is tried. Again shortly, unless the cache is
            // gone.
            match weak.upgrade() {
                Some(inner) => inner.link.next_seed(),
                None => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = stop.changed() => return,
            }
        }
    });
}

fn forget_local(inner: &Inner) {
    inner.generations.forget();
    inner.flags.forget();
}

fn apply(inner: &Inner, payload: &str) {
    if let Some(rest) = payload.strip_prefix("gen:") {
        // The value is read again on next use: a bump only needs to make
        // the local copy stale.
        if let Some(ns) = Namespace::from_name(rest) {
            inner.generations.forget_one(ns);
        }
    } else if payload.starts_with("flag") {
        inner.flags.forget();
    }
}
