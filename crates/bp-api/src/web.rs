//! The web application at `/`: the files Vite built into `web/dist`, read
//! once at start into memory and answered from there.
//!
//! - Files under `assets/` carry a content hash in their name, so they are
//!   cached for a year (`immutable`); everything else, `index.html` first,
//!   is revalidated by ETag on every load, so a new build shows at once.
//! - A path that is not a file and has no extension is a client-side route:
//!   it answers `index.html`, and the page's router takes over.
//! - `/api/...` and `/metrics` never reach here except as unknown routes,
//!   which stay JSON 404s.
//! - Pages carry a Content-Security-Policy that allows only this origin: no
//!   inline script, no other host.
//! - Text files are compressed once at load and sent gzipped to clients
//!   that accept it.
//!
//! Nothing on disk is opened per request, so no request path can reach a
//! file outside the build.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// The policy of every file of the page: this origin only. `data:` images
/// are for inline SVG icons in CSS.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Cache policy of content-hashed assets.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy of everything else: keep, but ask every time.
const REVALIDATE: &str = "no-cache";
/// Files larger than this many bytes are kept gzipped too.
const GZIP_FROM: usize = 512;
/// Files of a larger build are refused at load: the page is small.
const MAX_TOTAL_BYTES: u64 = 64 * 1024 * 1024;

/// One file of the build.
#[derive(Clone)]
struct Asset {
    body: Bytes,
    gzip: Option<Bytes>,
    content_type: &'static str,
    etag: HeaderValue,
    immutable: bool,
}

/// The loaded build.
#[derive(Clone)]
pub struct WebApp {
    dir: PathBuf,
    files: HashMap<String, Asset>,
}

impl std::fmt::Debug for WebApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebApp")
            .field("dir", &self.dir)
            .field("files", &self.files.len())
            .finish()
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/") || content_type.contains("json") || content_type.contains("svg")
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(body)?;
    encoder.finish()
}

/// Every file under `dir`, as paths relative to it with `/` separators.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Dotfiles are the build's own bookkeeping (the input hash), not the page.
        if name.starts_with('.') {
            continue;
        }
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), &rel, out)?;
        } else if kind.is_file() {
            out.push((rel, entry.path()));
        }
    }
    Ok(())
}

impl WebApp {
    /// Loads the build in `dir`. `Ok(None)` when it holds no `index.html`
    /// (the page was not built); an error when it cannot be read.
    pub fn load(dir: &Path) -> std::io::Result<Option<Self>> {
        if !dir.join("index.html").is_file() {
            return Ok(None);
        }
        let mut paths = Vec::new();
        walk(dir, "", &mut paths)?;
        let mut total = 0u64;
        let mut files = HashMap::with_capacity(paths.len());
        for (rel, path) in paths {
            total += std::fs::metadata(&path)?.len();
            if total > MAX_TOTAL_BYTES {
                return Err(std::io::Error::other(format!(
                    "{} holds more than {} MB: is it the web build?",
                    dir.display(),
                    MAX_TOTAL_BYTES / 1024 / 1024
                )));
            }
            let body = std::fs::read(&path)?;
            let content_type = content_type(&rel);
            let gzip = if body.len() >= GZIP_FROM && compressible(content_type) {
                Some(Bytes::from(gzip(&body)?))
            } else {
                None
            };
            let hash = Sha256::digest(&body);
            let etag = format!(
                "\"{}\"",
                hash.iter()
                    .take(12)
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            );
            files.insert(
                rel.clone(),
                Asset {
                    body: Bytes::from(body),
                    gzip,
                    content_type,
                    // A hex string in quotes is always a valid header value;
                    // the fallback is never taken.
                    etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\"")),
                    immutable: rel.starts_with("assets/"),
                },
            );
        }
        Ok(Some(WebApp {
            dir: dir.to_owned(),
            files,
        }))
    }

    /// The directory it was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the build holds no file (never, once loaded: it has `index.html`).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The file a request path names, or `index.html` for a client-side
    /// route; `None` for a missing file.
    fn lookup(&self, path: &str) -> Option<&Asset> {
        let rel = path.trim_start_matches('/');
        if let Some(asset) = self.files.get(rel) {
            return Some(asset);
        }
        let last = rel.rsplit('/').next().unwrap_or("");
        if last.contains('.') {
            return None;
        }
        self.files.get("index.html")
    }
}

/// Whether an `Accept-Encoding` value accepts gzip (`gzip` or `*`, with no
/// `q=0`).
fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or("");
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

fn answer(asset: &Asset, request: &Request) -> Response {
    let headers = request.headers();
    let not_modified = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == asset.etag.to_str().unwrap_or(""))
        });
    let accepts_gzip = headers
        .get(ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match (&asset.gzip, accepts_gzip) {
            (Some(gz), true) => {
                let mut r = Response::new(Body::from(gz.clone()));
                r.headers_mut()
                    .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r
            }
            _ => Response::new(Body::from(asset.body.clone())),
        }
    };
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(ETAG, asset.etag.clone());
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static(if asset.immutable { IMMUTABLE } else { REVALIDATE }),
    );
    h.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    if request.method() == Method::HEAD {
        *response.body_mut() = Body::empty();
    }
    response
}

/// The router's fallback: the page's files and routes for `GET`/`HEAD`
/// outside `/api/` and `/metrics`; the JSON 404 otherwise.
pub async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    let page_route = matches!(*request.method(), Method::GET | Method::HEAD)
        && !path.starts_with("/api/")
        && path != "/api"
        && path != "/metrics";
    match (&state.web, page_route) {
        (Some(web), true) => match web.lookup(path) {
            Some(asset) => answer(asset, &request),
            None => ApiError::NotFound.into_response(),
        },
        _ => ApiError::NotFound.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> WebApp {
        let dir = std::env::temp_dir().join(format!("bp-web-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("assets")).expect("a temp dir can be made");
        std::fs::write(dir.join("index.html"), "<!doctype html><title>x</title>").expect("writable");
        std::fs::write(dir.join("assets/app-abc123.js"), "console.log(1);".repeat(100)).expect("writable");
        std::fs::write(dir.join(".bp-inputs.sha256"), "abc").expect("writable");
        let app = WebApp::load(&dir).expect("readable").expect("has index.html");
        std::fs::remove_dir_all(&dir).expect("removable");
        app
    }

    #[test]
    fn files_routes_and_missing_files_resolve_as_the_page_expects() {
        let app = app();
        assert_eq!(app.len(), 2);
        let js = app.lookup("/assets/app-abc123.js").expect("the asset");
        assert!(js.immutable && js.gzip.is_some() && js.content_type.starts_with("text/javascript"));
        // A client-side route falls back to the page; a missing file does not.
        let page = app.lookup("/history/42").expect("the page");
        assert!(!page.immutable && page.content_type.starts_with("text/html"));
        assert!(app.lookup("/assets/missing.js").is_none());
        assert!(app.lookup("/favicon.ico").is_none());
        // `..` is only ever a key that is not in the map.
        assert!(app.lookup("/../Cargo.toml").is_none());
        // The build's bookkeeping is not served.
        assert!(app.lookup("/.bp-inputs.sha256").is_none());
    }

    #[test]
    fn gzip_is_sent_only_where_accepted() {
        assert!(accepts_gzip("gzip, deflate, br"));
        assert!(accepts_gzip("br;q=1.0, gzip;q=0.8"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("br, deflate"));
        assert!(!accepts_gzip("x-gzip-ish"));
    }

    #[test]
    fn a_directory_without_index_html_is_no_build() {
        let dir = std::env::temp_dir().join(format!("bp-web-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir can be made");
        assert!(WebApp::load(&dir).expect("readable").is_none());
        std::fs::remove_dir_all(&dir).expect("removable");
    }
}
