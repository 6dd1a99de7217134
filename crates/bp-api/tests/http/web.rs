//! The web application's files at `/`: the page for client-side routes,
//! cache policy by content hash, gzip, ETags, the page's CSP, and the API's
//! JSON 404 kept for unknown `/api` paths.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bp_testkit::TestApp;
use tower::ServiceExt as _;

async fn send(router: &axum::Router, request: Request<Body>) -> axum::response::Response {
    router.clone().oneshot(request).await.unwrap()
}

fn get(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::get(path);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(Body::empty()).unwrap()
}

fn header<'a>(res: &'a axum::response::Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn the_built_page_is_served_at_the_root_with_its_routes_and_cache_policy() {
    let app = TestApp::init().await;
    let dir = std::env::temp_dir().join(format!("bp-web-http-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    let index =
        "<!doctype html><html><head><script type=module src=/assets/app-1a2b.js></script></head></html>";
    std::fs::write(dir.join("index.html"), index).unwrap();
    let script = "export const x = 1;\n".repeat(200);
    std::fs::write(dir.join("assets/app-1a2b.js"), &script).unwrap();
    let web = bp_api::web::WebApp::load(&dir).unwrap().expect("a build");
    std::fs::remove_dir_all(&dir).unwrap();

    let mut config = bp_testkit::test_config();
    config.web = Some(Arc::new(web));
    let state = bp_api::App::new(
        bp_store::Db::new(app.db().unwrap().pool().clone(), None),
        app.cache().clone(),
        None,
        config,
    )
    .await
    .unwrap();
    let router = bp_api::router(bp_api::AppState(Arc::new(state)));

    // The root and any client-side route answer the page, revalidated each
    // time, under a same-origin policy.
    for path in ["/", "/history/42", "/settings"] {
        let res = send(&router, get(path, &[])).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(header(&res, "content-type").starts_with("text/html"), "{path}");
        assert_eq!(header(&res, "cache-control"), "no-cache");
        let csp = header(&res, "content-security-policy");
        assert!(
            csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline") && !csp.contains("http"), "{csp}");
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        assert_eq!(body, index.as_bytes());
    }

    // A hashed asset is cached for a year, gzipped for those who accept it.
    let plain = send(&router, get("/assets/app-1a2b.js", &[])).await;
    assert_eq!(plain.status(), StatusCode::OK);
    assert!(header(&plain, "cache-control").contains("immutable"));
    assert!(header(&plain, "content-type").starts_with("text/javascript"));
    let etag = header(&plain, "etag").to_owned();
    assert!(etag.starts_with('"'));
    let zipped = send(
        &router,
        get("/assets/app-1a2b.js", &[("accept-encoding", "gzip, br")]),
    )
    .await;
    assert_eq!(header(&zipped, "content-encoding"), "gzip");
    let gz = axum::body::to_bytes(zipped.into_body(), 1 << 20).await.unwrap();
    let mut unzipped = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unzipped).unwrap();
    assert_eq!(unzipped, script);
    assert!(gz.len() < script.len() / 4);
    // Revalidation with the ETag is a 304 with no body.
    let again = send(&router, get("/assets/app-1a2b.js", &[("if-none-match", &etag)])).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // A missing file is a 404, not the page; the API's unknown routes stay
    // JSON; a POST to a page path is no page.
    for path in [
        "/assets/gone.js",
        "/favicon.ico",
        "/api/v1/no-such-route",
        "/api/nothing",
    ] {
        let res = send(&router, get(path, &[])).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(
            header(&res, "content-type").starts_with("application/json"),
            "{path}"
        );
    }
    let post = send(&router, Request::post("/").body(Body::empty()).unwrap()).await;
    assert_eq!(post.status(), StatusCode::NOT_FOUND);
    // The API keeps its own policy.
    let api = send(&router, get("/api/v1/health", &[])).await;
    assert_eq!(
        header(&api, "content-security-policy"),
        "default-src 'none'; frame-ancestors 'none'"
    );
}
