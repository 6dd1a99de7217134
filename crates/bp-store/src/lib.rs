//! PostgreSQL access for BetterPrompts: the connection pool
//! ([`pool`]), the embedded migrations and their runner ([`migrate`]),
//! the service's handle with its optional read replica ([`Db`]), health
//! queries ([`health`]), backup fingerprints ([`backup`]), the service's own
//! slow-statement timing ([`slow`]), PII encryption at rest ([`crypto`], [`rotate`]) and one module per table group: [`users`], [`audit`],
//! [`sessions`], [`preferences`], [`api_keys`], [`history`], [`templates`],
//! [`intent_patterns`], [`library`] (saved prompts and collections),
//! [`embeddings`] and [`analytics`].
//! Functions take any executor (pool, connection or transaction), so callers
//! choose transactions. Every query binds its values; no value is
//! ever formatted into SQL text.

/// Runs a read that may lag a little (history pages, stats, analytics,
/// search, templates) on [`Db::read`]'s pool, and once more on the primary
/// when a replica fails it because the replica is gone (it died since the
/// monitor's last check, also mid-statement; see [`Db::replica_failed`]):
/// reads are idempotent, so a dead replica costs time, never an error. `$read` is written once and expanded for
/// each attempt, so it may borrow freely (its by-value arguments must be
/// `Copy`):
///
/// ```ignore
/// let page = bp_store::reading!(state.db, pool => users::list_users(pool, &filter, request))?;
/// ```
#[macro_export]
macro_rules! reading {
    ($db:expr, $pool:ident => $read:expr) => {{
        let db: &$crate::Db = &$db;
        match db.read_replica() {
            Some((index, $pool)) => match $read.await {
                Err(e) => {
                    if db.replica_failed(index, &e).await {
                        let $pool = db.pool();
                        $read.await
                    } else {
                        Err(e)
                    }
                }
                done => done,
            },
            None => {
                let $pool = db.pool();
                $read.await
            }
        }
    }};
}

pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod backup;
pub mod capacity;
pub mod crypto;
mod db;
pub mod embeddings;
pub mod error;
pub mod health;
pub mod history;
pub mod intent_patterns;
pub mod library;
pub mod migrate;
pub mod page;
pub mod pool;
pub mod preferences;
pub mod replicas;
pub mod reset;
pub mod rotate;
pub mod sessions;
pub mod slow;
mod sql_split;
pub mod templates;
pub mod users;

pub use db::{Db, Exec, PoolStats, PoolerSession, UserConn, scope_to_user};
pub use error::StoreError;
pub use page::{Page, PageRequest};
pub use pool::{PoolSettings, connect, connect_lazy, connect_options};
pub use sqlx::PgPool;
