//! OWASP-style abuse cases against a running `betterprompts serve` over
//! HTTPS (its own TLS listener, a throw-away authority): brute force,
//! refresh-token reuse, forged and `alg: none` tokens, another user's ids on
//! every id route, SQL metacharacters in every field, oversized bodies and
//! header injection through `X-Request-ID`. Each case asserts the refusal
//! and that nothing changed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use bp_testkit::tls::TestCa;
use hmac::{Hmac, Mac};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use super::Server;

const PASSWORD: &str = "Str0ng&Secret!";

/// One HTTP call: method, path under `/api/v1`, optional JSON body and token.
async fn call(
    http: &Client,
    base: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = http.request(method, format!("{base}{path}"));
    if let Some(body) = body {
        req = req.json(&body);
    }
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// POSTs `body` to `path` as `token`, asserts 201 and returns the new id.
async fn create(http: &Client, base: &str, path: &str, body: Value, token: &str) -> String {
    let (status, answer) = call(http, base, Method::POST, path, Some(body), Some(token)).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {answer}");
    answer["id"].as_str().unwrap().to_owned()
}

async fn register_and_login(http: &Client, base: &str, name: &str) -> Value {
    let email = format!("{name}@example.com");
    let body =
        json!({ "email": email, "username": name, "password": PASSWORD, "confirm_password": PASSWORD });
    let (status, answer) = call(http, base, Method::POST, "/auth/register", Some(body), None).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let body = json!({ "email_or_username": name, "password": PASSWORD });
    let (status, login) = call(http, base, Method::POST, "/auth/login", Some(body), None).await;
    assert_eq!(status, StatusCode::OK, "{login}");
    login
}

fn token(login: &Value) -> String {
    login["access_token"].as_str().unwrap().to_owned()
}

/// A JWT with the given header and claims, signed HS256 with `secret`
/// (an empty signature when `secret` is `None`).
fn forge(header: &Value, claims: &Value, secret: Option<&[u8]>) -> String {
    let signing_input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let signature = match secret {
        Some(secret) => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
            mac.update(signing_input.as_bytes());
            B64.encode(mac.finalize().into_bytes())
        }
        None => String::new(),
    };
    format!("{signing_input}.{signature}")
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn abuse_cases_against_a_running_https_server_all_fail() {
    let db = bp_testkit::TestDb::new().await;
    let redis = bp_testkit::TestRedis::new().await;
    let home = tempfile::tempdir().unwrap();
    let ca = TestCa::new(&["localhost", "127.0.0.1"]);
    let server = Server::start(
        &db,
        &redis,
        home.path(),
        &[
            ("BP_TLS_CERT_FILE", ca.cert_file().as_os_str()),
            ("BP_TLS_KEY_FILE", ca.key_file().as_os_str()),
        ],
    )
    .await;
    let base = server.base.clone();
    assert!(base.starts_with("https://"), "{base}");
    let root = reqwest::Certificate::from_pem(&std::fs::read(ca.ca_file()).unwrap()).unwrap();
    let http = Client::builder().add_root_certificate(root).build().unwrap();

    // TLS: the listener speaks HTTPS only, and says so with HSTS.
    let res = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let hsts = res
        .headers()
        .get("strict-transport-security")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(hsts.is_some_and(|v| v.contains("max-age=")), "no HSTS over HTTPS");
    let plain = base.replacen("https://", "http://", 1);
    assert!(
        Client::new().get(format!("{plain}/health")).send().await.is_err(),
        "plain HTTP was answered on the TLS port"
    );
    let stranger = TestCa::new(&["localhost", "127.0.0.1"]);
    let untrusting = Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(stranger.ca_file()).unwrap()).unwrap(),
        )
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    assert!(untrusting.get(format!("{base}/health")).send().await.is_err());

    register_and_login(&http, &base, "alice").await;
    // A developer, so that she has API keys for bob to go after.
    sqlx::query("UPDATE auth.users SET role = 'developer' WHERE username = 'alice'")
        .execute(db.pool())
        .await
        .unwrap();
    let body = json!({ "email_or_username": "alice", "password": PASSWORD });
    let (_, alice_login) = call(&http, &base, Method::POST, "/auth/login", Some(body), None).await;
    let alice = token(&alice_login);
    let bob_login = register_and_login(&http, &base, "bob").await;
    let bob = token(&bob_login);

    // Brute force: the fifth wrong password locks the account; the right
    // one is then refused too, with when the lock ends.
    register_and_login(&http, &base, "victim").await;
    for attempt in 1..=5 {
        let body = json!({ "email_or_username": "victim", "password": format!("guess{attempt}") });
        let (status, _) = call(&http, &base, Method::POST, "/auth/login", Some(body), None).await;
        // The fifth failure is the one that locks.
        let expected = if attempt < 5 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(status, expected, "attempt {attempt}");
    }
    let body = json!({ "email_or_username": "victim", "password": PASSWORD });
    let (status, locked) = call(&http, &base, Method::POST, "/auth/login", Some(body), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{locked}");
    assert!(locked.to_string().contains("locked_until"), "{locked}");

    // Refresh-token reuse: a replayed token is refused and revokes the whole family.
    let first = bob_login["refresh_token"].as_str().unwrap().to_owned();
    let body = json!({ "refresh_token": first });
    let (status, rotated) = call(
        &http,
        &base,
        Method::POST,
        "/auth/refresh",
        Some(body.clone()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let (status, _) = call(&http, &base, Method::POST, "/auth/refresh", Some(body), None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a used refresh token worked again"
    );
    let second = json!({ "refresh_token": rotated["refresh_token"] });
    let (status, _) = call(&http, &base, Method::POST, "/auth/refresh", Some(second), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the family survived a reuse");
    let bob = {
        let body = json!({ "email_or_username": "bob", "password": PASSWORD });
        let (status, login) = call(&http, &base, Method::POST, "/auth/login", Some(body), None).await;
        assert_eq!(status, StatusCode::OK);
        let _ = bob;
        token(&login)
    };

    // Forged tokens: bob's claims made alice's with another secret, with
    // `alg: none`, and bob's own token with its subject edited.
    let mut as_alice = claims_of(&bob);
    as_alice["sub"] = claims_of(&alice)["sub"].clone();
    let header = json!({ "alg": "HS256", "typ": "JWT" });
    let parts: Vec<&str> = bob.split('.').collect();
    let edited = format!("{}.{}.{}", parts[0], B64.encode(as_alice.to_string()), parts[2]);
    for (what, jwt) in [
        (
            "another secret",
            forge(&header, &as_alice, Some(b"not the server's secret")),
        ),
        (
            "alg none",
            forge(&json!({ "alg": "none", "typ": "JWT" }), &as_alice, None),
        ),
        ("edited subject", edited),
        ("garbage", "a.b.c".to_owned()),
    ] {
        let (status, _) = call(&http, &base, Method::GET, "/auth/me", None, Some(&jwt)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
    }

    // Alice's things, then bob on every id route with her ids.
    let (_, me) = call(&http, &base, Method::GET, "/auth/me", None, Some(&alice)).await;
    let alice_id = me["id"].as_str().unwrap().to_owned();
    let body = json!({ "text": "Write a short poem about the sea at night" });
    let (status, enhanced) = call(&http, &base, Method::POST, "/enhance", Some(body), Some(&alice)).await;
    assert_eq!(status, StatusCode::OK, "{enhanced}");
    let history = enhanced["id"].as_str().unwrap().to_owned();
    let body = json!({ "prompt_history_id": history, "rating": 4 });
    let (status, _) = call(&http, &base, Method::POST, "/feedback", Some(body), Some(&alice)).await;
    assert_eq!(status, StatusCode::CREATED);
    let saved = create(
        &http,
        &base,
        "/prompts/saved",
        json!({ "title": "sea poem", "history_id": history }),
        &alice,
    )
    .await;
    let collection = create(&http, &base, "/collections", json!({ "name": "poems" }), &alice).await;
    let member = format!("/collections/{collection}/prompts/{saved}");
    let (status, _) = call(&http, &base, Method::POST, &member, None, Some(&alice)).await;
    assert_eq!(status, StatusCode::CREATED);
    let key = create(&http, &base, "/dev/api-keys", json!({ "name": "ci" }), &alice).await;

    let change = json!({ "title": "mine now", "name": "mine now", "is_favorite": true, "role": "admin" });
    let routes: Vec<(Method, String)> = vec![
        (Method::GET, format!("/history/{history}")),
        (Method::GET, format!("/prompts/{history}")),
        (Method::PUT, format!("/history/{history}/favorite")),
        (Method::DELETE, format!("/history/{history}")),
        (Method::POST, format!("/prompts/{history}/rerun")),
        (Method::GET, format!("/feedback/{history}")),
        (Method::GET, format!("/prompts/saved/{saved}")),
        (Method::PUT, format!("/prompts/saved/{saved}")),
        (Method::DELETE, format!("/prompts/saved/{saved}")),
        (Method::GET, format!("/collections/{collection}")),
        (Method::PUT, format!("/collections/{collection}")),
        (Method::DELETE, format!("/collections/{collection}")),
        (Method::POST, member.clone()),
        (Method::DELETE, member.clone()),
        (Method::DELETE, format!("/dev/api-keys/{key}")),
        (Method::POST, format!("/dev/api-keys/{key}/rotate")),
        (Method::GET, format!("/admin/users/{alice_id}")),
        (Method::PUT, format!("/admin/users/{alice_id}")),
        (Method::DELETE, format!("/admin/users/{alice_id}")),
    ];
    for (method, path) in &routes {
        let (status, answer) = call(
            &http,
            &base,
            method.clone(),
            path,
            Some(change.clone()),
            Some(&bob),
        )
        .await;
        assert!(
            matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "bob on {method} {path}: {status} {answer}"
        );
    }
    let feedback = json!({ "prompt_history_id": history, "rating": 1 });
    let (status, _) = call(
        &http,
        &base,
        Method::POST,
        "/feedback",
        Some(feedback),
        Some(&bob),
    )
    .await;
    assert!(
        matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{status}"
    );
    // Nothing of alice's changed.
    let (status, item) = call(
        &http,
        &base,
        Method::GET,
        &format!("/history/{history}"),
        None,
        Some(&alice),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(item["is_favorite"], false);
    assert_eq!(item["feedback_score"], 4);
    let (status, item) = call(
        &http,
        &base,
        Method::GET,
        &format!("/prompts/saved/{saved}"),
        None,
        Some(&alice),
    )
    .await;
    assert_eq!(
        (status, item["title"].as_str()),
        (StatusCode::OK, Some("sea poem"))
    );
    let (status, item) = call(
        &http,
        &base,
        Method::GET,
        &format!("/collections/{collection}"),
        None,
        Some(&alice),
    )
    .await;
    assert_eq!((status, item["name"].as_str()), (StatusCode::OK, Some("poems")));
    assert_eq!(item["prompts"].as_array().map(Vec::len), Some(1));
    let (_, keys) = call(&http, &base, Method::GET, "/dev/api-keys", None, Some(&alice)).await;
    assert!(keys.to_string().contains(&key), "{keys}");
    let (_, me) = call(&http, &base, Method::GET, "/auth/me", None, Some(&alice)).await;
    assert_eq!(me["role"], "developer");

    // SQL metacharacters in every field: stored and returned as data, or a 400.
    let nasty = "x'); DROP TABLE prompts.history; --";
    let body = json!({ "email_or_username": "' OR '1'='1' --", "password": "' OR '1'='1" });
    let (status, _) = call(&http, &base, Method::POST, "/auth/login", Some(body), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let body = json!({ "title": nasty, "description": nasty, "tags": [nasty] });
    let (status, stored) = call(
        &http,
        &base,
        Method::POST,
        "/prompts/saved",
        Some(body),
        Some(&alice),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    assert_eq!(
        (stored["title"].as_str(), stored["description"].as_str()),
        (Some(nasty), Some(nasty))
    );
    let body = json!({ "name": nasty, "description": nasty });
    let (status, stored) = call(
        &http,
        &base,
        Method::POST,
        "/collections",
        Some(body),
        Some(&alice),
    )
    .await;
    assert_eq!(
        (status, stored["name"].as_str()),
        (StatusCode::CREATED, Some(nasty))
    );
    let body = json!({ "text": nasty });
    let (status, _) = call(&http, &base, Method::POST, "/enhance", Some(body), Some(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    let body = json!({ "first_name": nasty, "last_name": nasty });
    let (status, _) = call(
        &http,
        &base,
        Method::PUT,
        "/auth/profile",
        Some(body),
        Some(&alice),
    )
    .await;
    assert!(
        status.is_success() || status == StatusCode::BAD_REQUEST,
        "{status}"
    );
    let encoded: String = url::form_urlencoded::byte_serialize(nasty.as_bytes()).collect();
    for query in [
        format!("search={encoded}"),
        format!("intent={encoded}"),
        format!("tags={encoded}"),
        format!("sort_by={encoded}"),
        format!("sort_direction={encoded}"),
        format!("cursor={encoded}"),
    ] {
        let (status, answer) = call(
            &http,
            &base,
            Method::GET,
            &format!("/history?{query}"),
            None,
            Some(&alice),
        )
        .await;
        assert!(
            matches!(status, StatusCode::OK | StatusCode::BAD_REQUEST),
            "{query}: {status} {answer}"
        );
    }
    let (status, answer) = call(
        &http,
        &base,
        Method::GET,
        &format!("/history/{encoded}"),
        None,
        Some(&alice),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE schemaname IN ('auth', 'prompts', 'analytics')",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(tables >= 14, "tables are missing: {tables}");
    let (status, page) = call(&http, &base, Method::GET, "/history", None, Some(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2), "{page}");

    // Oversized bodies: refused before they are read in full, nothing
    // written. The server answers 413 and closes without reading the rest,
    // so the client sees the 413 or, if it was still writing, a closed
    // connection; each on a connection of its own.
    let root = reqwest::Certificate::from_pem(&std::fs::read(ca.ca_file()).unwrap()).unwrap();
    let once = Client::builder()
        .add_root_certificate(root)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let huge = json!({ "text": "a".repeat(3 * 1024 * 1024), "title": "a".repeat(3 * 1024 * 1024) });
    for path in ["/enhance", "/prompts/saved", "/auth/register"] {
        let sent = once
            .post(format!("{base}{path}"))
            .bearer_auth(&alice)
            .json(&huge)
            .send()
            .await;
        match sent {
            Ok(res) => assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}"),
            Err(e) => assert!(e.is_request() && !e.is_timeout(), "{path}: {e}"),
        }
    }
    let (_, page) = call(&http, &base, Method::GET, "/history", None, Some(&alice)).await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2));
    let (_, saved_list) = call(&http, &base, Method::GET, "/prompts/saved", None, Some(&alice)).await;
    assert_eq!(
        saved_list["data"].as_array().map(Vec::len),
        Some(2),
        "{saved_list}"
    );

    // Header injection through X-Request-ID: anything but a plain token is
    // replaced by the server's own id, never echoed.
    for hostile in [
        "abc\tSet-Cookie: stolen=1".to_owned(),
        "<script>alert(1)</script>".to_owned(),
        "a".repeat(4096),
        "id with spaces; other=1".to_owned(),
    ] {
        let res = http
            .get(format!("{base}/health"))
            .header("x-request-id", hostile.as_str())
            .send()
            .await
            .unwrap();
        let echoed = res
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned());
        let echoed = echoed.unwrap_or_default();
        assert!(!echoed.is_empty(), "no request id");
        assert_ne!(echoed, hostile, "the hostile id was echoed");
        assert!(
            echoed.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            "{echoed:?}"
        );
        assert!(res.headers().get("set-cookie").is_none());
    }
    let res = http
        .get(format!("{base}/health"))
        .header("x-request-id", "client-trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers().get("x-request-id").and_then(|v| v.to_str().ok()),
        Some("client-trace-42"),
        "a well-formed id is kept"
    );
    drop(server);
}
