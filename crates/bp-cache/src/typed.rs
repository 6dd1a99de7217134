//! The typed namespace caches: API responses, intent predictions, technique
//! selections, templates, user preferences, analytics and temporary data.
//!
//! Keys are `<prefix>:<namespace prefix>[g<generation>:]<sha256>`: the
//! caller's key material (endpoint and parameters, model version and prompt
//! text, ...) is hashed, never stored in the key. These calls never fail:
//! with Redis down a read is a miss and a write is dropped (with a
//! rate-limited warning); a value that does not decode is a miss and is
//! deleted.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::Cache;
use crate::codec;
use crate::error::{CacheError, invalid};
use crate::keys::{canonical_params, hash_parts, normalise_text};
use crate::namespace::Namespace;
use crate::ops::ttl_secs;

/// An API response's cache key: the endpoint and canonical parameters,
/// hashed once, for the lookup and for the write after a miss (canonical
/// JSON and SHA-256 are a visible share of an uncached request's cost).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponseKey(String);

impl ApiResponseKey {
    /// The key of `params` (canonicalised: JSON key order and whitespace do
    /// not matter) at `endpoint`.
    pub fn new(endpoint: &str, params: &str) -> Self {
        ApiResponseKey(hash_parts(&[endpoint, &canonical_params(params)]))
    }

    /// The hash of endpoint and parameters (the key's last part).
    pub(crate) fn hash(&self) -> &str {
        &self.0
    }
}

/// An intent prediction's cache key: the model version and the normalised
/// text, hashed once for the lookup and the write after a miss (each
/// hash is a visible share of an uncached `/enhance`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictionKey(String);

impl PredictionKey {
    /// The key of `text` (normalised: case and runs of whitespace do not
    /// matter) under `model_version`.
    pub fn new(model_version: &str, text: &str) -> Self {
        PredictionKey(hash_parts(&[model_version, &normalise_text(text)]))
    }
}

impl Cache {
    /// The full key of `parts` in `ns`, with the generation when `ns` is versioned.
    pub(crate) async fn typed_key(&self, ns: Namespace, parts: &[&str]) -> Result<String, CacheError> {
        self.hashed_key(ns, &hash_parts(parts)).await
    }

    /// [`Cache::typed_key`] for parts already hashed.
    pub(crate) async fn hashed_key(&self, ns: Namespace, hash: &str) -> Result<String, CacheError> {
        if ns.is_versioned() {
            let generation = self.generation(ns).await?;
            Ok(self.ns_key(ns, &format!("g{generation}:{hash}")))
        } else {
            Ok(self.ns_key(ns, hash))
        }
    }

    /// Stores `value` under `parts` in `ns` with the namespace's TTL; false
    /// when it was not stored (degraded mode, or a value over the size limit).
    pub async fn put<T: Serialize + ?Sized>(&self, ns: Namespace, parts: &[&str], value: &T) -> bool {
        self.put_hashed(ns, &hash_parts(parts), value).await
    }

    async fn put_hashed<T: Serialize + ?Sized>(&self, ns: Namespace, hash: &str, value: &T) -> bool {
        self.put_settled(ns, self.try_put(ns, hash, value).await)
    }

    /// True when stored; a refused or dropped write is logged, not raised.
    fn put_settled(&self, ns: Namespace, stored: Result<(), CacheError>) -> bool {
        match stored {
            Ok(()) => true,
            Err(e) if e.is_unavailable() => {
                self.degraded("write", &e);
                false
            }
            Err(e) => {
                tracing::debug!(error = %e, namespace = ns.name(), "cache write refused");
                false
            }
        }
    }

    async fn try_put<T: Serialize + ?Sized>(
        &self,
        ns: Namespace,
        hash: &str,
        value: &T,
    ) -> Result<(), CacheError> {
        self.try_put_bytes(ns, hash, codec::encode(value)?).await
    }

    /// Stores encoded `bytes` under `hash` in `ns` with the namespace's TTL.
    async fn try_put_bytes(&self, ns: Namespace, hash: &str, bytes: Vec<u8>) -> Result<(), CacheError> {
        let ttl = ns
            .ttl(&self.inner.settings.ttls)
            .ok_or_else(|| invalid("namespace", format!("{} has no value TTL", ns.name())))?;
        let key = self.hashed_key(ns, hash).await?;
        let cmd = redis::cmd("SET")
            .arg(key)
            .arg(bytes)
            .arg("EX")
            .arg(ttl_secs(ttl)?)
            .to_owned();
        self.query::<()>(&cmd).await
    }

    /// The value under `parts` in `ns`; `None` on a miss, in degraded mode,
    /// or when the stored value does not decode as `T` (it is then deleted).
    pub async fn fetch<T: DeserializeOwned>(&self, ns: Namespace, parts: &[&str]) -> Option<T> {
        self.fetch_hashed(ns, &hash_parts(parts)).await
    }

    async fn fetch_hashed<T: DeserializeOwned>(&self, ns: Namespace, hash: &str) -> Option<T> {
        let key = match self.hashed_key(ns, hash).await {
            Ok(key) => key,
            Err(e) => return self.fetch_failed(ns, &e),
        };
        let bytes: Option<Vec<u8>> = match self.query(redis::cmd("GET").arg(&key)).await {
            Ok(bytes) => bytes,
            Err(e) => return self.fetch_failed(ns, &e),
        };
        let Some(bytes) = bytes else {
            self.inner.counters.miss(ns);
            return None;
        };
        match codec::decode(&bytes) {
            Some(value) => {
                self.inner.counters.hit(ns);
                Some(value)
            }
            None => {
                self.inner.counters.miss(ns);
                self.drop_undecodable(ns, &key).await;
                None
            }
        }
    }

    /// Deletes a stored value that is not ours or does not decode, so the
    /// next write replaces it.
    pub(crate) async fn drop_undecodable(&self, ns: Namespace, key: &str) {
        tracing::debug!(namespace = ns.name(), "undecodable cache value deleted");
        let _ = self.query::<u64>(redis::cmd("UNLINK").arg(key)).await;
    }

    fn fetch_failed<T>(&self, ns: Namespace, e: &CacheError) -> Option<T> {
        self.inner.counters.miss(ns);
        self.degraded("read", e);
        None
    }

    /// Lets the value under `parts` in `ns` live at most `within` longer
    /// (`PEXPIRE ... LT`: a sooner expiry already set stays); false when
    /// there was none or Redis is down. For a value that many writes make
    /// stale at once: the first write bounds its age, and the next ones
    /// cost no recomputation each, as [`Cache::forget`] would.
    pub async fn expire_soon(&self, ns: Namespace, parts: &[&str], within: std::time::Duration) -> bool {
        let Ok(key) = self.typed_key(ns, parts).await else {
            return false;
        };
        let ms = u64::try_from(within.as_millis()).unwrap_or(u64::MAX).max(1);
        matches!(
            self.query::<u64>(redis::cmd("PEXPIRE").arg(key).arg(ms).arg("LT"))
                .await,
            Ok(1..)
        )
    }

    /// Removes the value under `parts` in `ns`; false when there was none
    /// or Redis is down.
    pub async fn forget(&self, ns: Namespace, parts: &[&str]) -> bool {
        let Ok(key) = self.typed_key(ns, parts).await else {
            return false;
        };
        matches!(self.query::<u64>(redis::cmd("UNLINK").arg(key)).await, Ok(1..))
    }

    /// The guide's `CacheAPIResponse`: `params` is canonicalised (JSON key
    /// order and whitespace do not matter) and hashed with the endpoint.
    pub async fn cache_api_response<T: Serialize + ?Sized>(
        &self,
        endpoint: &str,
        params: &str,
        response: &T,
    ) -> bool {
        self.cache_api_response_at(&ApiResponseKey::new(endpoint, params), response)
            .await
    }

    /// The guide's `GetCachedAPIResponse`.
    pub async fn get_cached_api_response<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        params: &str,
    ) -> Option<T> {
        self.get_cached_api_response_at(&ApiResponseKey::new(endpoint, params))
            .await
    }

    /// [`Cache::get_cached_api_response`] under a key computed once.
    pub async fn get_cached_api_response_at<T: DeserializeOwned>(&self, key: &ApiResponseKey) -> Option<T> {
        self.fetch_hashed(Namespace::ApiResponses, &key.0).await
    }

    /// [`Cache::cache_api_response`] under a key computed once.
    pub async fn cache_api_response_at<T: Serialize + ?Sized>(
        &self,
        key: &ApiResponseKey,
        response: &T,
    ) -> bool {
        self.put_hashed(Namespace::ApiResponses, &key.0, response).await
    }

    /// Stores an answer's JSON as it is to be sent again (see
    /// [`Cache::check_rate_limit_and_fetch`]); false when not stored.
    pub async fn cache_api_response_json(&self, key: &ApiResponseKey, json: &[u8]) -> bool {
        let ns = Namespace::ApiResponses;
        let stored = match codec::encode_json(json) {
            Ok(bytes) => self.try_put_bytes(ns, key.hash(), bytes).await,
            Err(e) => Err(e),
        };
        self.put_settled(ns, stored)
    }

    /// Caches an intent prediction by (model version, normalised text).
    pub async fn cache_prediction<T: Serialize + ?Sized>(
        &self,
        model_version: &str,
        text: &str,
        prediction: &T,
    ) -> bool {
        self.cache_prediction_at(&PredictionKey::new(model_version, text), prediction)
            .await
    }

    /// The cached prediction for (model version, normalised text).
    pub async fn get_cached_prediction<T: DeserializeOwned>(
        &self,
        model_version: &str,
        text: &str,
    ) -> Option<T> {
        self.get_cached_prediction_at(&PredictionKey::new(model_version, text))
            .await
    }

    /// [`Cache::cache_prediction`] under a key computed once.
    pub async fn cache_prediction_at<T: Serialize + ?Sized>(
        &self,
        key: &PredictionKey,
        prediction: &T,
    ) -> bool {
        self.put_hashed(Namespace::Predictions, &key.0, prediction).await
    }

    /// [`Cache::get_cached_prediction`] under a key computed once.
    pub async fn get_cached_prediction_at<T: DeserializeOwned>(&self, key: &PredictionKey) -> Option<T> {
        self.fetch_hashed(Namespace::Predictions, &key.0).await
    }

    /// Caches a technique selection by (model version, the selection's inputs).
    pub async fn cache_techniques<T: Serialize + ?Sized>(
        &self,
        model_version: &str,
        inputs: &str,
        selection: &T,
    ) -> bool {
        self.put(Namespace::Techniques, &[model_version, inputs], selection)
            .await
    }

    /// The cached technique selection.
    pub async fn get_cached_techniques<T: DeserializeOwned>(
        &self,
        model_version: &str,
        inputs: &str,
    ) -> Option<T> {
        self.fetch(Namespace::Techniques, &[model_version, inputs]).await
    }

    /// Caches a template by slug.
    pub async fn cache_template<T: Serialize + ?Sized>(&self, slug: &str, template: &T) -> bool {
        self.put(Namespace::Templates, &[slug], template).await
    }

    /// The cached template with `slug`.
    pub async fn get_cached_template<T: DeserializeOwned>(&self, slug: &str) -> Option<T> {
        self.fetch(Namespace::Templates, &[slug]).await
    }

    /// Caches a user's preferences.
    pub async fn cache_user_prefs<T: Serialize + ?Sized>(&self, user_id: &str, prefs: &T) -> bool {
        self.put(Namespace::UserPrefs, &[user_id], prefs).await
    }

    /// The cached preferences of `user_id`.
    pub async fn get_cached_user_prefs<T: DeserializeOwned>(&self, user_id: &str) -> Option<T> {
        self.fetch(Namespace::UserPrefs, &[user_id]).await
    }
}
