//! PostgreSQL killed with SIGKILL under signed-in `/enhance` load, then
//! restarted: every answer is 200 or a 503 with `Retry-After` (never a
//! 500), every acknowledged enhancement is stored, and the same server
//! process serves again once the database is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::{Server, bin, run_on_instance};

const PASSWORD: &str = "Str0ng&Secret!";
const CLIENTS: usize = 8;

/// What the load saw.
#[derive(Default)]
struct Seen {
    /// Status of every answer, in order.
    statuses: Vec<StatusCode>,
    /// 503s that lacked `Retry-After`.
    unavailable_without_retry: usize,
    /// Ids of acknowledged enhancements.
    acknowledged: Vec<String>,
}

impl Seen {
    fn count(&self, status: StatusCode) -> usize {
        self.statuses.iter().filter(|s| **s == status).count()
    }
}

/// Polls `done` every 20 ms until it holds, or panics after `secs` with `what`.
async fn until(secs: u64, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(Instant::now() < deadline, "after {secs} s: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Stops the instance's servers and deletes its data, whatever the outcome.
struct Instance {
    home: std::ffi::OsString,
    name: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = bin()
            .env("BP_HOME", &self.home)
            .arg("--instance")
            .arg(&self.name)
            .args(["infra", "down", "--purge"])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_under_load_answers_503_loses_nothing_and_recovers() {
    let Some(home) = std::env::var_os("BP_HOME") else {
        panic!("BP_HOME is not set: run `make test`, which sets it");
    };
    let instance = Instance {
        home: home.clone(),
        name: format!("k9-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
    };
    let run = |args: &[&str]| run_on_instance(&home, &instance.name, args);
    // Durable, as in production: an ephemeral instance commits
    // asynchronously, and a crash may lose what it acknowledged.
    run(&["infra", "up"]);
    let status: Value = serde_json::from_str(&run(&["infra", "status", "--json"])).unwrap();
    let database_url = status["database_url"].as_str().unwrap().to_owned();
    let postmaster = i32::try_from(status["postgres"]["pid"].as_i64().unwrap()).unwrap();

    let mut cmd = bin();
    cmd.env("BP_HOME", &home).env("BP_BCRYPT_COST", "10").args([
        "--instance",
        &instance.name,
        "serve",
        "--addr",
        "127.0.0.1:0",
    ]);
    let server = Server::spawn(cmd).await;
    let base = server.base.clone();
    let http = Client::new();

    let mut tokens = Vec::new();
    for i in 0..CLIENTS {
        let name = format!("load{i}");
        let body = json!({ "email": format!("{name}@example.com"), "username": name, "password": PASSWORD, "confirm_password": PASSWORD });
        let res = http
            .post(format!("{base}/auth/register"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let answer: Value = res.json().await.unwrap();
        tokens.push(answer["access_token"].as_str().unwrap().to_owned());
    }

    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for (client, token) in tokens.into_iter().enumerate() {
        let (http, base, seen, stop) = (http.clone(), base.clone(), seen.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = json!({ "text": format!("Explain how a heat pump works, question {client}-{n}") });
                let res = http
                    .post(format!("{base}/enhance"))
                    .bearer_auth(&token)
                    .json(&body)
                    .timeout(Duration::from_secs(40))
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                let retry = res.headers().contains_key("retry-after");
                let answer: Value = res.json().await.unwrap_or(Value::Null);
                let mut seen = seen.lock().await;
                seen.statuses.push(status);
                if status == StatusCode::SERVICE_UNAVAILABLE && !retry {
                    seen.unavailable_without_retry += 1;
                }
                if status == StatusCode::OK {
                    seen.acknowledged.push(answer["id"].as_str().unwrap().to_owned());
                }
            }
        }));
    }

    until(60, "40 enhancements before the kill", async || {
        seen.lock().await.count(StatusCode::OK) >= 40
    })
    .await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(postmaster),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    until(60, "a 503 while PostgreSQL is down", async || {
        seen.lock().await.count(StatusCode::SERVICE_UNAVAILABLE) > 0
    })
    .await;
    // Restart; the killed server's backends may hold its shared memory for
    // a moment, so `infra up` is retried until it succeeds.
    until(60, "PostgreSQL restarted", async || {
        bin()
            .env("BP_HOME", &home)
            .arg("--instance")
            .arg(&instance.name)
            .args(["infra", "up"])
            .output()
            .unwrap()
            .status
            .success()
    })
    .await;
    let restarted = seen.lock().await.statuses.len();
    until(60, "an enhancement after the restart", async || {
        seen.lock().await.statuses[restarted..].contains(&StatusCode::OK)
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }

    let seen = seen.lock().await;
    let errors: Vec<_> = seen
        .statuses
        .iter()
        .filter(|s| s.is_server_error() && **s != StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(errors.is_empty(), "server errors other than 503: {errors:?}");
    let unexpected: Vec<_> = seen
        .statuses
        .iter()
        .filter(|s| **s != StatusCode::OK && **s != StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(
        unexpected.is_empty(),
        "answers other than 200 and 503: {unexpected:?}"
    );
    assert_eq!(seen.unavailable_without_retry, 0, "503s without Retry-After");

    let pool = sqlx::PgPool::connect(&database_url).await.unwrap();
    let ids: Vec<uuid::Uuid> = seen.acknowledged.iter().map(|id| id.parse().unwrap()).collect();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM prompts.history WHERE id = ANY($1)")
        .bind(&ids)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        usize::try_from(stored).unwrap(),
        ids.len(),
        "acknowledged enhancements missing after the restart"
    );
    eprintln!(
        "faults: {} answers, {} acknowledged, {} answered 503",
        seen.statuses.len(),
        ids.len(),
        seen.count(StatusCode::SERVICE_UNAVAILABLE)
    );
}
