//! The whole API over a test database and Redis prefix, called in-process.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use bp_api::{ApiConfig, App, AppState};
use bp_cache::Cache;
use bp_service::EnhanceService;
use bp_store::PgPool;
use tower::ServiceExt;

use crate::{TestDb, TestRedis};

/// A router plus the resources it runs on.
pub struct TestApp {
    router: Router,
    state: AppState,
    db: Option<TestDb>,
    /// The per-test prefix, cleaned up on drop (absent with a given cache).
    _redis: Option<TestRedis>,
    /// The pooler the app's connections go through, if any.
    _bouncer: Option<crate::pgbouncer::TestPgBouncer>,
}

/// A response with its body parsed as JSON (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct TestResponse {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Parsed body.
    pub json: serde_json::Value,
    /// The body as text (lossy).
    pub text: String,
}

impl TestApp {
    /// A fresh database and Redis prefix behind the full router, which
    /// acts as `bp_app` (the test's own [`TestDb::pool`] stays the owner's).
    pub async fn init() -> Self {
        let db = TestDb::new().await;
        let pool = db.app_pool().await;
        let redis = TestRedis::new().await;
        let cache = redis.cache().clone();
        Self::build(pool, Some(db), cache, Some(redis)).await
    }

    /// A fresh database behind the full router, on the given cache (e.g.
    /// one connected to an [`crate::OwnRedis`] the test stops and restarts).
    pub async fn with_cache(cache: Cache) -> Self {
        let db = TestDb::new().await;
        let pool = db.app_pool().await;
        Self::build(pool, Some(db), cache, None).await
    }

    /// The full router over `pool` (e.g. one pointing at a server that is down).
    pub async fn with_pool(pool: PgPool) -> Self {
        let redis = TestRedis::new().await;
        let cache = redis.cache().clone();
        Self::build(pool, None, cache, Some(redis)).await
    }

    /// A fresh database and Redis prefix behind the full router, with
    /// reads that may lag routed to `replica` (a real hot standby) as
    /// `serve` routes them with `DATABASE_READ_URL` set, its replay checked
    /// every 20 ms and no lag limit to speak of (tests pause its replay).
    pub async fn with_replica(replica: &crate::replica::TestReplica) -> Self {
        let db = TestDb::new().await;
        let pool = db.app_pool().await;
        let settings = bp_store::PoolSettings {
            role: Some("bp_app".into()),
            ..bp_store::PoolSettings::small()
        };
        let read = bp_store::pool::lazy(replica.options(db.name()), &settings);
        let redis = TestRedis::new().await;
        let cache = redis.cache().clone();
        let store = bp_store::Db::new(pool, None).with_replicas(
            vec![read],
            std::time::Duration::from_secs(600),
            std::time::Duration::from_millis(20),
        );
        Self::build_on(store, Some(db), cache, Some(redis)).await
    }

    /// A fresh database and Redis prefix behind the full router, whose
    /// connections go through a real PgBouncer in transaction mode with
    /// three server connections for eight clients, as `serve` runs with
    /// `BP_DB_POOLER=transaction`: each transaction takes the `bp_app`
    /// role and the statement timeout itself (PgBouncer drops the startup
    /// options that carry them on a direct connection).
    pub async fn through_pgbouncer() -> Self {
        use crate::pgbouncer::{PoolMode, TestPgBouncer};
        let db = TestDb::new().await;
        // Fewer server connections than clients, the point of the pooler;
        // on a loaded two-core machine the clients may queue at PgBouncer
        // for a while, so they wait long for a connection (nothing here is
        // timed).
        let bouncer = TestPgBouncer::start(db.name(), PoolMode::Transaction, 3);
        let settings = bp_store::PoolSettings {
            max_connections: 8,
            acquire_timeout: std::time::Duration::from_secs(60),
            transaction_pooler: true,
            ..bp_store::PoolSettings::small()
        };
        let pool = bp_store::connect(&bouncer.url(), &settings)
            .await
            .unwrap_or_else(|e| panic!("connecting through pgbouncer: {e}"));
        let redis = TestRedis::new().await;
        let cache = redis.cache().clone();
        let store = bp_store::Db::new(pool, None).with_transaction_pooler(Some(bp_store::PoolerSession {
            statement_timeout: settings.statement_timeout,
            role: Some("bp_app".into()),
        }));
        let mut app = Self::build_on(store, Some(db), cache, Some(redis)).await;
        app._bouncer = Some(bouncer);
        app
    }

    async fn build(pool: PgPool, db: Option<TestDb>, cache: Cache, redis: Option<TestRedis>) -> Self {
        Self::build_on(bp_store::Db::new(pool, None), db, cache, redis).await
    }

    async fn build_on(
        store: bp_store::Db,
        db: Option<TestDb>,
        cache: Cache,
        redis: Option<TestRedis>,
    ) -> Self {
        // As `serve` with BP_DB_ROW_SECURITY on: every route runs under
        // bp_app's privileges and its users' requests under row security.
        let store = store.with_row_security(true);
        // Without a database of its own (a server that is down) there is no engine.
        let service = match &db {
            Some(_) => Some(
                EnhanceService::start(
                    store.clone(),
                    cache.clone(),
                    Arc::new(bp_engine::embed::LocalEmbedder),
                )
                .await
                .unwrap_or_else(|e| panic!("starting the enhancement service: {e}")),
            ),
            None => None,
        };
        let app = App::new(store, cache.clone(), service, test_config())
            .await
            .unwrap_or_else(|e| panic!("building the app: {e}"));
        let state = AppState(Arc::new(app));
        Self {
            router: bp_api::router(state.clone()),
            state,
            db,
            _redis: redis,
            _bouncer: None,
        }
    }

    /// The app's state (outbox, recorder, service...).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A request with a JSON body and extra headers.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(Body::from(body.to_string()))
            .unwrap_or_else(|e| panic!("building a request: {e}"));
        self.send(request).await
    }

    /// A request with a raw body and a content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(Body::from(body))
            .unwrap_or_else(|e| panic!("building a request: {e}"));
        self.send(request).await
    }

    /// The test database, when the app has one of its own.
    pub fn db(&self) -> Option<&TestDb> {
        self.db.as_ref()
    }

    /// The app's cache.
    pub fn cache(&self) -> &Cache {
        &self.state.cache
    }

    /// Sends `request` through the router.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|e| match e {});
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_else(|e| panic!("reading the response body: {e}"));
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        TestResponse {
            status,
            headers,
            json,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Sends `request` and returns the response with its body unread: a
    /// test of a streamed answer reads it when it chooses, or never.
    pub async fn send_unread(&self, request: Request<Body>) -> axum::response::Response {
        self.router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|e| match e {})
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path, &[]).await
    }

    /// A bodiless request with extra headers.
    pub async fn request(&self, method: Method, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("building a request: {e}"));
        self.send(request).await
    }
}

/// The API configuration of tests: a random signing key, the cheapest
/// bcrypt cost (hashing speed is not what the tests are about), mail kept in
/// memory, the default tier limits.
pub fn test_config() -> ApiConfig {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).unwrap_or_else(|e| panic!("randomness: {e}"));
    ApiConfig {
        keys: bp_api::auth::JwtKeys::new(&secret, None),
        bcrypt_cost: 4,
        cookie_secure: false,
        cors_origins: vec!["http://localhost:3000".into()],
        trust_proxy: false,
        tiers: bp_config::TierLimits {
            anonymous: 100,
            free: 100,
            pro: 1000,
            enterprise: 10_000,
        },
        outbox: bp_api::mail::Outbox::memory(),
        web: None,
    }
}
