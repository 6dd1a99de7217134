//! Per-test Redis key prefixes.

use bp_cache::{Cache, CacheSettings};

use crate::{keep_databases, run_detached, test_env};

/// A [`Cache`] whose prefix no other test uses.
pub struct TestRedis {
    cache: Cache,
}

impl std::fmt::Debug for TestRedis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestRedis")
            .field("prefix", &self.cache.prefix())
            .finish()
    }
}

impl TestRedis {
    /// Connects with prefix `test:<uuid>`.
    pub async fn new() -> Self {
        Self::with_settings(|_| {}).await
    }

    /// Connects with prefix `test:<uuid>` and default settings changed by `adjust`.
    pub async fn with_settings(adjust: impl FnOnce(&mut CacheSettings)) -> Self {
        let mut settings = CacheSettings::new(&format!("test:{}", uuid::Uuid::new_v4().simple()));
        adjust(&mut settings);
        let cache = Cache::connect_with(&test_env().redis_url, settings)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Self { cache }
    }

    /// The prefixed cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// A second client on the same prefix, as another process would be.
    pub async fn another_client(&self) -> Cache {
        Cache::connect_with(&test_env().redis_url, self.cache.settings().clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if std::thread::panicking() || keep_databases() {
            return;
        }
        let prefix = self.cache.prefix().to_owned();
        run_detached(move || async move {
            if let Ok(cache) = Cache::connect(&test_env().redis_url, &prefix).await {
                let _ = cache.delete_all().await;
            }
        });
    }
}
