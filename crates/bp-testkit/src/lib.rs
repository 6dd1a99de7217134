//! The test harness every integration test uses.
//!
//! - [`TestDb`]: a database of its own for each test, cloned with
//!   `CREATE DATABASE ... TEMPLATE` from a template migrated once per run
//!   (shared by all test processes through an advisory lock), dropped when
//!   the test passes, kept when it fails or with `BP_KEEP_TEST_DB=1`.
//! - [`TestRedis`]: a key prefix of its own for each test, cleaned up the same way.
//! - [`TestApp`]: the whole API router over both, called in-process.
//! - [`OwnRedis`]: a Redis server of one test's own, to stop and restart.
//! - [`tls`]: a throw-away certificate authority and a TLS front for PostgreSQL.
//! - [`replica::TestReplica`]: a real hot standby of the test PostgreSQL.
//! - [`sentinel::SentinelSet`], [`cluster::TestCluster`]: Redis Sentinel and
//!   Redis Cluster setups of a test's own.
//!
//! Servers come from `DATABASE_URL`/`REDIS_URL` (what `make test` exports),
//! else from a running embedded instance (`test`, then `default`) under
//! `BP_HOME` or the workspace's `.bp`.

mod app;
pub mod cluster;
mod db;
mod env;
mod own_redis;
pub mod pgbouncer;
mod redis;
pub mod replica;
pub mod sentinel;
pub mod tls;

pub use app::{TestApp, TestResponse, test_config};
pub use db::TestDb;
pub use env::{
    TEST_BLIND_INDEX_KEY, TEST_ENCRYPTION_KEYS, TestEnv, install_test_keys, test_env, test_keyring,
};
pub use own_redis::{OwnRedis, eventually};
pub use redis::TestRedis;

/// True when failed and passed tests alike should keep their databases.
pub fn keep_databases() -> bool {
    std::env::var("BP_KEEP_TEST_DB").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// Runs `cleanup` to completion on a fresh runtime in its own thread, so that
/// `Drop` can do async work whatever runtime (if any) the test was on.
pub(crate) fn run_detached<F, Fut>(cleanup: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let handle = std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
            rt.block_on(cleanup());
        }
    });
    let _ = handle.join();
}
