//! The whole API over a test database and Redis prefix, called in-process.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use bp_api::{App, AppState};
use bp_cache::Cache;
use bp_store::PgPool;
use tower::ServiceExt;

use crate::{TestDb, TestRedis};

/// A router plus the resources it runs on.
pub struct TestApp {
    router: Router,
    db: Option<TestDb>,
    redis: TestRedis,
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
}

impl TestApp {
    /// A fresh database and Redis prefix behind the full router.
    pub async fn init() -> Self {
        let db = TestDb::new().await;
        let pool = db.pool().clone();
        Self::build(pool, Some(db)).await
    }

    /// The full router over `pool` (e.g. one pointing at a server that is down).
    pub async fn with_pool(pool: PgPool) -> Self {
        Self::build(pool, None).await
    }

    async fn build(pool: PgPool, db: Option<TestDb>) -> Self {
        let redis = TestRedis::new().await;
        let state = AppState(Arc::new(App {
            db: bp_store::Db::new(pool, None),
            cache: redis.cache().clone(),
        }));
        Self {
            router: bp_api::router(state),
            db,
            redis,
        }
    }

    /// The test database, when the app has one of its own.
    pub fn db(&self) -> Option<&TestDb> {
        self.db.as_ref()
    }

    /// The app's cache.
    pub fn cache(&self) -> &Cache {
        self.redis.cache()
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
        }
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
