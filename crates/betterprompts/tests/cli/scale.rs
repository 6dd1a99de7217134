//! Two `serve` processes on one database and one Redis (issue 24, part 4):
//! what one process does, the other honours; shared limits hold for both
//! together; a job meant to run once per period runs once.

use std::time::Duration;

use bp_testkit::eventually;

use super::Server;

#[tokio::test]
async fn two_processes_share_rate_limits_sessions_flags_and_a_retrained_model() {
    let db = bp_testkit::TestDb::new().await;
    let redis = bp_testkit::TestRedis::new().await;
    let home = tempfile::tempdir().unwrap();
    let limit = std::ffi::OsStr::new("6");
    let refresh = std::ffi::OsStr::new("1");
    let unlimited = std::ffi::OsStr::new("1000000");
    let env = [
        ("BP_RATE_LIMIT_ANONYMOUS", limit),
        ("BP_RATE_LIMIT_FREE", unlimited),
        ("BP_ENGINE_REFRESH_SECS", refresh),
    ];
    let (a, b) = (
        Server::start(&db, &redis, home.path(), &env).await,
        Server::start(&db, &redis, home.path(), &env).await,
    );
    let http = reqwest::Client::new();

    // A session made on one is valid on the other; a logout on one is
    // honoured by the other at once (no polling).
    let pw = "Str0ng&Secret!";
    let res = http
        .post(format!("{}/auth/register", a.base))
        .json(&serde_json::json!({ "email": "two@example.com", "username": "two", "password": pw, "confirm_password": pw }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let token = res.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let profile = |server: &Server| {
        http.get(format!("{}/auth/profile", server.base))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(profile(&b).await.unwrap().status(), 200);
    let res = http
        .post(format!("{}/auth/logout", a.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        profile(&b).await.unwrap().status(),
        401,
        "B still took A's logged-out session"
    );

    // A feature flag set through A is seen by B within a second.
    let res = http
        .post(format!("{}/auth/register", a.base))
        .json(&serde_json::json!({ "email": "root@example.com", "username": "root", "password": pw, "confirm_password": pw }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    sqlx::query("UPDATE auth.users SET role = 'admin'")
        .execute(db.pool())
        .await
        .unwrap();
    let res = http
        .post(format!("{}/auth/login", a.base))
        .json(&serde_json::json!({ "email_or_username": "root", "password": pw }))
        .send()
        .await
        .unwrap();
    let root = res.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let flags_on_b = || async {
        let res = http
            .get(format!("{}/admin/feature-flags", b.base))
            .bearer_auth(&root)
            .send()
            .await
            .unwrap();
        res.json::<serde_json::Value>().await.unwrap()
    };
    assert_eq!(
        flags_on_b().await["total"],
        0,
        "B has read (and holds) the empty set"
    );
    let res = http
        .put(format!("{}/admin/feature-flags", a.base))
        .bearer_auth(&root)
        .json(&serde_json::json!({ "name": "two-process", "enabled": true, "rollout_percent": 100 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    eventually(Duration::from_secs(1), "B sees A's flag", || async {
        flags_on_b().await["total"] == 1
    })
    .await;

    // New intent patterns: each process retrains on its next check (every
    // second here) and both answer with the same new model version.
    let version = |server: &Server| {
        let url = format!("{}/analyze", server.base);
        let (http, root) = (http.clone(), root.clone());
        async move {
            let res = http
                .post(url)
                .bearer_auth(&root)
                .json(&serde_json::json!({ "text": "What year did the Berlin Wall fall?" }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<serde_json::Value>().await.unwrap()["metadata"]["model_version"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let before = version(&a).await;
    assert_eq!(version(&b).await, before);
    sqlx::query(
        "INSERT INTO prompts.intent_patterns (pattern, normalized_pattern, intent) \
         VALUES ('which river runs through Vienna', 'which river runs through vienna', 'question_answering')",
    )
    .execute(db.pool())
    .await
    .unwrap();
    eventually(Duration::from_secs(60), "both processes retrain", || async {
        let (va, vb) = (version(&a).await, version(&b).await);
        va != before && va == vb
    })
    .await;

    // deploy/nginx.conf in front of the two: requests through it reach both.
    let nginx = std::env::var("BP_NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
    assert!(
        std::path::Path::new(&nginx).is_file(),
        "{nginx} is missing: `make test` installs Debian's nginx package (or set BP_NGINX)"
    );
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = |server: &Server| {
        server
            .base
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned()
    };
    let site = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx.conf"),
    )
    .unwrap()
    .replace("127.0.0.1:8081", &host(&a))
    .replace("127.0.0.1:8082", &host(&b))
    .replace("listen 80;", &format!("listen 127.0.0.1:{port};"));
    std::fs::write(dir.path().join("site.conf"), site).unwrap();
    let d = dir.path().display();
    std::fs::write(
        dir.path().join("nginx.conf"),
        format!(
            "daemon off; pid {d}/nginx.pid; error_log {d}/error.log; user root;\n\
             events {{}}\n\
             http {{ access_log off; client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
             include {d}/site.conf; }}\n"
        ),
    )
    .unwrap();
    let _nginx = Child(
        std::process::Command::new(&nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let analyzed = |server: &Server| {
        let url = format!("{}/metrics", server.base.trim_end_matches("/api/v1"));
        let http = http.clone();
        async move {
            let text = http.get(url).send().await.unwrap().text().await.unwrap();
            text.lines()
                .find(|l| {
                    l.starts_with(
                        r#"bp_http_requests_total{route="/api/v1/analyze",method="POST",status="200""#,
                    )
                })
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        }
    };
    let before = (analyzed(&a).await, analyzed(&b).await);
    let front = format!("http://127.0.0.1:{port}/api/v1");
    eventually(Duration::from_secs(10), "nginx answers", || async {
        http.get(format!("{front}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    for _ in 0..10 {
        let res = http
            .post(format!("{front}/analyze"))
            .bearer_auth(&root)
            .json(&serde_json::json!({ "text": "How far is the Moon from the Earth?" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let after = (analyzed(&a).await, analyzed(&b).await);
    assert!(
        after.0 > before.0 && after.1 > before.1 && after.0 + after.1 == before.0 + before.1 + 10,
        "requests through nginx: before {before:?}, after {after:?}"
    );
    let res = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "/metrics is kept off the public side");

    // A limit of 6 a minute for anonymous callers holds for both processes
    // together: 20 requests alternating between them, 6 accepted. From
    // 127.0.0.2, an address nothing above used, so its window is empty.
    let fresh = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let mut accepted = 0;
    for i in 0..20 {
        let server = if i % 2 == 0 { &a } else { &b };
        let res = fresh
            .post(format!("{}/enhance", server.base))
            .json(&serde_json::json!({ "text": format!("Explain how tides work, take {i}") }))
            .send()
            .await
            .unwrap();
        match res.status().as_u16() {
            200 => accepted += 1,
            429 => {}
            other => panic!("request {i}: status {other}"),
        }
    }
    assert_eq!(accepted, 6, "the limit is shared, not per process");
}

#[tokio::test]
async fn the_daily_rollup_runs_once_per_period_across_processes() {
    let db = bp_testkit::TestDb::new().await;
    let redis = bp_testkit::TestRedis::new().await;
    let store = bp_store::Db::new(db.pool().clone(), None);
    // Two processes' clients of the same Redis.
    let (one, two) = (redis.cache().clone(), redis.another_client().await);
    let lease = Duration::from_millis(500);
    let (ran_one, ran_two) = tokio::join!(
        bp_api::recorder::rollup_once(&store, &one, lease),
        bp_api::recorder::rollup_once(&store, &two, lease),
    );
    assert!(ran_one ^ ran_two, "exactly one ran: {ran_one} / {ran_two}");
    assert!(!bp_api::recorder::rollup_once(&store, &one, lease).await);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM analytics.daily_stats")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(rows, 2, "yesterday and today rolled up");
    let sampled: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT source) FROM analytics.capacity_samples WHERE day = current_date",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(sampled, 2, "the rollup records today's database and Redis sizes");
    // When the lease has expired, the next tick of either runs it again.
    eventually(Duration::from_secs(5), "the lease expires", || async {
        bp_api::recorder::rollup_once(&store, &two, lease).await
    })
    .await;
}

/// A child process stopped when the test ends, however it ends: SIGTERM,
/// so that a master process (nginx) stops its workers too, then a wait.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_real_prometheus_scrapes_serve_and_loads_the_alert_rules() {
    let prometheus = std::env::var("BP_PROMETHEUS").unwrap_or_else(|_| "/usr/bin/prometheus".into());
    assert!(
        std::path::Path::new(&prometheus).is_file(),
        "{prometheus} is missing: `make test` installs Debian's prometheus package (or set BP_PROMETHEUS)"
    );
    let db = bp_testkit::TestDb::new().await;
    let redis = bp_testkit::TestRedis::new().await;
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(&db, &redis, home.path(), &[]).await;
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{}/analyze", server.base))
        .json(&serde_json::json!({ "text": "What is the boiling point of water at altitude?" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The deployed rules, with this server as the only target and a scrape
    // every second.
    let target = server
        .base
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prometheus/alerts.yml");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\n\
             rule_files: [{rules:?}]\n\
             scrape_configs:\n  - job_name: betterprompts\n    static_configs: [{{ targets: [{target:?}] }}]\n",
            rules = rules.canonicalize().unwrap(),
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _prometheus = Child(
        std::process::Command::new(&prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let api = format!("http://127.0.0.1:{port}/api/v1");
    let query = |q: &'static str| {
        let (http, api) = (http.clone(), api.clone());
        async move {
            let Ok(res) = http
                .get(format!("{api}/query"))
                .query(&[("query", q)])
                .send()
                .await
            else {
                return serde_json::Value::Null;
            };
            res.json::<serde_json::Value>().await.unwrap_or_default()["data"]["result"].clone()
        }
    };
    // The request above, as the dashboard's labels show it.
    eventually(
        Duration::from_secs(60),
        "Prometheus scrapes the request series",
        || async {
            query(r#"bp_http_requests_total{route="/api/v1/analyze",class="2xx"}"#)
                .await
                .as_array()
                .is_some_and(|series| {
                    series.iter().any(|s| {
                        s["metric"]["instance"] == target.as_str() && s["metric"]["job"] == "betterprompts"
                    })
                })
        },
    )
    .await;
    for family in [
        "bp_db_pool_waiting",
        "bp_cache_available",
        "bp_redis_memory_used_bytes",
    ] {
        let q: &'static str = family;
        assert!(
            query(q).await.as_array().is_some_and(|s| !s.is_empty()),
            "{family} not scraped"
        );
    }
    // Every query of the Grafana dashboard is one Prometheus accepts.
    let dashboard: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../deploy/grafana/dashboards/betterprompts.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().unwrap().to_owned())
        .collect();
    assert!(exprs.len() >= 10, "{exprs:?}");
    for expr in &exprs {
        let res: serde_json::Value = http
            .get(format!("{api}/query"))
            .query(&[("query", expr.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(res["status"], "success", "{expr}: {res}");
    }
    // Every alert rule loaded and evaluated without error.
    let expected = std::fs::read_to_string(&rules)
        .unwrap()
        .matches("- alert:")
        .count();
    eventually(Duration::from_secs(30), "the alert rules evaluate", || async {
        let Ok(res) = http.get(format!("{api}/rules")).send().await else {
            return false;
        };
        let rules: serde_json::Value = res.json().await.unwrap_or_default();
        let all: Vec<&serde_json::Value> = rules["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .collect();
        all.len() == expected
            && all
                .iter()
                .all(|r| r["health"] == "ok" && r["lastEvaluation"] != "0001-01-01T00:00:00Z")
    })
    .await;
}
