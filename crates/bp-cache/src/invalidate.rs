//! The cache configuration's invalidation triggers.
//!
//! - `user_update`: that user's preferences and sessions, by key and by the
//!   user's session index (O(affected keys)).
//! - `template_update`: templates and cached API responses, by bumping both
//!   namespaces' generations (O(1)). Every enhance response is built from
//!   templates, so all cached responses are affected.
//! - `model_update`: predictions and technique selections, by generation
//!   (O(1)).

use crate::client::Cache;
use crate::error::CacheError;
use crate::namespace::Namespace;

/// What changed.
#[derive(Debug, Clone, Copy)]
pub enum Invalidation<'a> {
    /// A user's profile or preferences changed.
    UserUpdate {
        /// The user.
        user_id: &'a str,
    },
    /// A template was created, edited or deactivated.
    TemplateUpdate,
    /// The classifier or technique selector changed.
    ModelUpdate,
}

impl Cache {
    /// Applies `trigger`; returns how many keys were deleted (generation
    /// bumps delete none: the old keys expire unreachable).
    pub async fn invalidate(&self, trigger: Invalidation<'_>) -> Result<u64, CacheError> {
        match trigger {
            Invalidation::UserUpdate { user_id } => {
                let prefs = self.typed_key(Namespace::UserPrefs, &[user_id]).await?;
                let n: u64 = self.query(redis::cmd("UNLINK").arg(prefs)).await?;
                Ok(n + self.delete_user_sessions(user_id).await?)
            }
            Invalidation::TemplateUpdate => {
                self.bump_generation(Namespace::Templates).await?;
                self.bump_generation(Namespace::ApiResponses).await?;
                Ok(0)
            }
            Invalidation::ModelUpdate => {
                self.bump_generation(Namespace::Predictions).await?;
                self.bump_generation(Namespace::Techniques).await?;
                Ok(0)
            }
        }
    }

    /// Empties one namespace: versioned ones by a generation bump, the
    /// others with SCAN and UNLINK (`cache flush NAMESPACE`). Returns the
    /// keys deleted.
    pub async fn flush_namespace(&self, ns: Namespace) -> Result<u64, CacheError> {
        if ns.is_versioned() {
            self.bump_generation(ns).await?;
        }
        let pattern = format!(
            "{}:{}*",
            crate::ops::escape_glob(self.prefix()),
            crate::ops::escape_glob(ns.key_prefix())
        );
        self.scan_delete(&pattern).await
    }
}
