//! The `betterprompts` binary end to end: infrastructure lifecycle and the
//! one-line errors for bad configuration.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap is a failed test, with its message"
)]

use std::path::PathBuf;
use std::process::{Command, Output};

use bp_testkit::test_env;

#[path = "cli/faults.rs"]
mod faults;
#[path = "cli/owasp.rs"]
mod owasp;
#[path = "cli/scale.rs"]
mod scale;

/// The binary with the tests' encryption keys (so it reads what the tests
/// wrote) and no configured servers.
fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_betterprompts"));
    cmd.env_remove("DATABASE_URL")
        .env_remove("DATABASE_DIRECT_URL")
        .env_remove("REDIS_URL")
        .env_remove("BP_INFRA_INSTANCE")
        .env("BP_ENCRYPTION_KEYS", bp_testkit::TEST_ENCRYPTION_KEYS)
        .env("BP_BLIND_INDEX_KEY", bp_testkit::TEST_BLIND_INDEX_KEY);
    cmd
}

/// The binary pointed at the database `url` and a test Redis prefix, with
/// the cheapest bcrypt cost the service accepts.
fn on_platform(url: &str, redis: &bp_testkit::TestRedis) -> Command {
    let mut cmd = bin();
    cmd.env("DATABASE_URL", url)
        .env("REDIS_URL", &test_env().redis_url)
        .env("BP_REDIS_KEY_PREFIX", redis.cache().prefix())
        .env("BP_BCRYPT_COST", "10");
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `migrate status` against `url` and returns its stderr, asserting a
/// failing exit and a single line (no backtrace).
fn migrate_status_error(url: &str) -> String {
    let out = bin()
        .args(["migrate", "status"])
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    assert!(!out.status.success(), "expected failure for {url}");
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

fn url_with(db_url: &str, edit: impl FnOnce(&mut url::Url)) -> String {
    let mut parsed = url::Url::parse(db_url).unwrap();
    edit(&mut parsed);
    parsed.to_string()
}

#[test]
fn bad_database_settings_fail_with_one_line_that_names_problem_and_fix() {
    let err = migrate_status_error("postgres//nobody:secret-pw@localhost/db");
    assert!(err.contains("DATABASE_URL is invalid"), "{err}");
    assert!(!err.contains("secret-pw"), "{err}");

    let err = migrate_status_error("postgres://u:p@127.0.0.1:1/betterprompts");
    assert!(
        err.contains("connection refused") && err.contains("infra up"),
        "{err}"
    );

    let real = &test_env().database_url;
    let err = migrate_status_error(&url_with(real, |u| {
        u.set_password(Some("wrong-password")).unwrap()
    }));
    assert!(err.contains("authentication failed"), "{err}");
    assert!(!err.contains("wrong-password"), "{err}");

    let err = migrate_status_error(&url_with(real, |u| u.set_path("/no_such_database")));
    assert!(
        err.contains("database `no_such_database` does not exist"),
        "{err}"
    );
}

#[tokio::test]
async fn migrate_status_lists_every_migration_as_applied_on_a_migrated_database() {
    let db = bp_testkit::TestDb::new().await;
    let url = url_with(&test_env().database_url, |u| {
        u.set_path(&format!("/{}", db.name()))
    });
    let out = bin()
        .args(["migrate", "status"])
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0001  foundation"), "{text}");
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".up.sql")
        })
        .count();
    assert!(
        text.contains(&format!("{migrations} applied, 0 pending")),
        "{text}"
    );
}

/// Through a transaction pooler (a real PgBouncer) migrations and backups
/// refuse to run, naming the fix; with `DATABASE_DIRECT_URL` they use
/// PostgreSQL itself.
#[tokio::test]
async fn migrate_and_backup_refuse_a_pooler_and_use_database_direct_url() {
    use bp_testkit::pgbouncer::{PoolMode, TestPgBouncer};
    let db = bp_testkit::TestDb::new().await;
    let bouncer = TestPgBouncer::start(db.name(), PoolMode::Transaction, 2);
    let direct = url_with(&test_env().database_url, |u| {
        u.set_path(&format!("/{}", db.name()))
    });
    let out = bin()
        .args(["migrate", "status"])
        .env("DATABASE_URL", bouncer.url())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("pooler") && err.contains("DATABASE_DIRECT_URL"),
        "{err}"
    );
    let dir = tempfile_dir().join("backup");
    let out = bin()
        .args(["backup", "--no-redis", "--out", dir.to_str().unwrap()])
        .env("DATABASE_URL", bouncer.url())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("DATABASE_DIRECT_URL"), "{}", stderr(&out));
    assert!(!dir.exists(), "a refused backup writes nothing");
    let out = bin()
        .args(["migrate", "status"])
        .env("DATABASE_URL", bouncer.url())
        .env("DATABASE_DIRECT_URL", &direct)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("applied, 0 pending"));
}

#[test]
fn migrate_new_creates_a_numbered_pair_and_rejects_bad_names() {
    let dir = tempfile_dir();
    std::fs::write(dir.join("0007_existing.up.sql"), "").unwrap();
    let out = bin()
        .args(["migrate", "new", "add_tags", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.join("0008_add_tags.up.sql").is_file() && dir.join("0008_add_tags.down.sql").is_file());
    let out = bin()
        .args(["migrate", "new", "Bad Name", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("must be 1 to 60 characters"));
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bp-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every process whose pid is alive and whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push(format!("{}: {cmdline}", entry.file_name().to_string_lossy()));
        }
    }
    found
}

/// Runs the binary on embedded `instance` under `home`, asserting success;
/// its stdout.
fn run_on_instance(home: &std::ffi::OsStr, instance: &str, args: &[&str]) -> String {
    let out = bin()
        .env("BP_HOME", home)
        .arg("--instance")
        .arg(instance)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn infra_up_twice_with_a_replica_then_down_leaves_no_server_of_ours_running() {
    // A separate instance under the same BP_HOME (so the bundle is shared).
    let Some(home) = std::env::var_os("BP_HOME") else {
        panic!("BP_HOME is not set: run `make test`, which sets it");
    };
    let instance = format!("it-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let run = |args: &[&str]| run_on_instance(&home, &instance, args);
    run(&["infra", "up", "--ephemeral", "--no-migrate"]);
    let status: serde_json::Value = serde_json::from_str(&run(&["infra", "status", "--json"])).unwrap();
    // The second `up` adds a hot standby beside the running primary.
    let again = run(&["infra", "up", "--ephemeral", "--no-migrate", "--replicas", "1"]);
    let status2: serde_json::Value = serde_json::from_str(&run(&["infra", "status", "--json"])).unwrap();
    assert!(again.contains("is up"), "{again}");
    assert!(again.contains("1 replica(s)"), "{again}");
    let replica = &status2["replicas"][0];
    assert_eq!(replica["slot"], "bp_replica_1", "{status2}");
    assert_eq!(replica["answering"], true, "{status2}");
    // Its walreceiver connects a moment after the server accepts clients.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let now: serde_json::Value = serde_json::from_str(&run(&["infra", "status", "--json"])).unwrap();
        if now["replicas"][0]["state"] == "streaming" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the replica is not streaming: {now}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let env = run(&["infra", "status", "--env"]);
    let read_url = format!("@127.0.0.1:{}/", replica["port"]);
    assert!(
        env.lines()
            .any(|l| l.starts_with("DATABASE_READ_URL=") && l.contains(&read_url)),
        "status --env names the replica"
    );
    assert_eq!(
        status["postgres"]["pid"], status2["postgres"]["pid"],
        "second up restarted PostgreSQL"
    );
    assert_eq!(
        status["redis"]["pid"], status2["redis"]["pid"],
        "second up restarted Redis"
    );
    assert!(
        status["database_url"]
            .as_str()
            .unwrap()
            .starts_with("postgres://betterprompts:")
    );
    assert_eq!(status["running"], true);

    let instance_dir = PathBuf::from(&home).join("instances").join(&instance);
    let needle = instance_dir.to_string_lossy().into_owned();
    assert!(
        !processes_mentioning(&needle).is_empty(),
        "no server mentions {needle}: the check below would prove nothing"
    );
    run(&["infra", "down"]);
    let left = processes_mentioning(&needle);
    assert!(left.is_empty(), "still running after down: {left:?}");
    assert!(
        !instance_dir.join("redis/redis.pid").exists(),
        "stale redis pid file"
    );
    let data_dir = PathBuf::from(status["postgres"]["data_dir"].as_str().unwrap());
    assert!(!data_dir.join("postmaster.pid").exists(), "stale postmaster.pid");
    let out = bin()
        .env("BP_HOME", &home)
        .arg("--instance")
        .arg(&instance)
        .args(["infra", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "status of a stopped instance exits 3");
    run(&["infra", "down", "--purge"]);
    assert!(!instance_dir.exists());
}

/// Purges an embedded instance when dropped, also when the test fails.
struct Purge(std::ffi::OsString, String);

impl Drop for Purge {
    fn drop(&mut self) {
        let _ = bin()
            .env("BP_HOME", &self.0)
            .args(["--instance", &self.1, "infra", "down", "--purge"])
            .output();
    }
}

/// `infra status --env`'s `DATABASE_URL`.
fn database_url(env: &str) -> String {
    env.lines()
        .find_map(|l| l.strip_prefix("DATABASE_URL='"))
        .and_then(|l| l.strip_suffix('\''))
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infra_failover_promotes_a_replica_with_the_data_and_the_other_follows_it() {
    use sqlx::Connection;
    let Some(home) = std::env::var_os("BP_HOME") else {
        panic!("BP_HOME is not set: run `make test`, which sets it");
    };
    let instance = format!("fo-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let _purge = Purge(home.clone(), instance.clone());
    let run = |args: &[&str]| run_on_instance(&home, &instance, args);
    let status =
        || -> serde_json::Value { serde_json::from_str(&run(&["infra", "status", "--json"])).unwrap() };
    let wait = |what: &str, done: &dyn Fn(&serde_json::Value) -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let now = status();
            if done(&now) {
                return now;
            }
            assert!(std::time::Instant::now() < deadline, "{what}: {now}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    run(&["infra", "up", "--ephemeral", "--no-migrate", "--replicas", "2"]);
    let before = status();
    let old_url = database_url(&run(&["infra", "status", "--env"]));
    let mut primary = sqlx::PgConnection::connect(&old_url).await.unwrap();
    // A synchronous commit: the ephemeral instance commits asynchronously,
    // and a row still in the primary's WAL buffers when the replicas
    // report no lag would be lost in the failover, as it would be anywhere.
    sqlx::raw_sql(
        "SET synchronous_commit = on; CREATE TABLE failover_check (x int); INSERT INTO failover_check VALUES (1)",
    )
        .execute(&mut primary)
        .await
        .unwrap();
    primary.close().await.unwrap();
    wait("both replicas stream and report no lag", &|s| {
        s["replicas"].as_array().is_some_and(|r| {
            r.len() == 2 && r.iter().all(|r| r["state"] == "streaming" && r["lag_bytes"] == 0)
        })
    });

    let out = run(&["infra", "failover"]);
    assert!(out.contains("is the primary now"), "{out}");
    let new_url = database_url(&run(&["infra", "status", "--env"]));
    assert_ne!(new_url, old_url, "the instance points at the promoted replica");
    let mut promoted = sqlx::PgConnection::connect(&new_url).await.unwrap();
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&mut promoted)
        .await
        .unwrap();
    assert!(!in_recovery, "the promoted server takes writes");
    sqlx::query("INSERT INTO failover_check VALUES (2)")
        .execute(&mut promoted)
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM failover_check")
        .fetch_one(&mut promoted)
        .await
        .unwrap();
    assert_eq!(rows, 2, "the row written before the failover is there");
    promoted.close().await.unwrap();
    // The other replica streams from the new primary, and has its write.
    let after = wait("the other replica follows the new primary", &|s| {
        s["replicas"]
            .as_array()
            .is_some_and(|r| r.len() == 1 && r[0]["state"] == "streaming" && r[0]["lag_bytes"] == 0)
    });
    // Under the ephemeral instance's asynchronous commit the write reaches
    // the follower a moment after the primary reports it caught up.
    let follower = after["replicas"][0]["url"].as_str().unwrap().to_owned();
    let mut follower = sqlx::PgConnection::connect(&follower).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM failover_check")
            .fetch_one(&mut follower)
            .await
            .unwrap();
        if rows == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the follower has {rows} rows, not 2"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    follower.close().await.unwrap();
    // The old primary is stopped and stays so: `up` starts the promoted one.
    let old_data = before["postgres"]["data_dir"].as_str().unwrap().to_owned();
    assert!(
        processes_mentioning(&old_data).is_empty(),
        "the old primary still runs"
    );
    run(&["infra", "up", "--ephemeral", "--no-migrate"]);
    assert!(
        processes_mentioning(&old_data).is_empty(),
        "`up` brought the old primary back"
    );
    assert_eq!(database_url(&run(&["infra", "status", "--env"])), new_url);
}

/// `bench all` runs every stage end to end on servers it starts itself,
/// the store stage leaving data the API stage's server accepts (a stage
/// that cannot start fails here). How fast is never checked: `--smoke`
/// runs for a second per figure.
#[test]
fn bench_all_runs_every_stage_end_to_end() {
    let Some(home) = std::env::var_os("BP_HOME") else {
        panic!("BP_HOME is not set: run `make test`, which sets it");
    };
    let out = bin()
        .env("BP_HOME", &home)
        .args(["bench", "all", "--smoke", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "bench all failed: {}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = report["figures"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    for stage in [
        "engine_ops",
        "history_batch_insert",
        // PgBouncer is installed by `make test`: the pooler stage runs.
        "pooler_key_read_c8",
        "cache_get",
        "api_enhance_uncached",
        // And the API through it, with a replica, and over two processes.
        "api_mixed_pgbouncer",
        "api_mixed_replica",
        "api_mixed_two_processes",
    ] {
        assert!(names.contains(&stage), "no {stage} figure in {names:?}");
    }
}

#[tokio::test]
async fn cache_stats_reports_the_server_and_flush_empties_one_namespace() {
    let redis = bp_testkit::TestRedis::new().await;
    let cache = redis.cache();
    cache.put(bp_cache::Namespace::Analytics, &["a"], &1).await;
    cache.put(bp_cache::Namespace::Temp, &["t"], &1).await;
    cache.fetch::<i32>(bp_cache::Namespace::Analytics, &["a"]).await;
    cache.flush_stats().await.unwrap();
    let run = |args: &[&str]| {
        bin()
            .args(args)
            .env("REDIS_URL", &test_env().redis_url)
            .env("BP_REDIS_KEY_PREFIX", cache.prefix())
            .output()
            .unwrap()
    };

    let out = run(&["cache", "stats", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["server"]["used_memory"].as_u64().unwrap() > 0, "{report}");
    let analytics = report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["namespace"] == "analytics")
        .unwrap();
    assert_eq!(analytics["hits"], 1, "{report}");
    assert_eq!(analytics["keys"], 1, "keys per namespace: {report}");
    let temp = report["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["namespace"] == "temp")
        .unwrap();
    assert_eq!(temp["keys"], 1, "{report}");
    assert_eq!(report["keys"]["complete"], true);
    assert!(
        report["server"]["used_memory_peak"].as_u64().unwrap()
            >= report["server"]["used_memory"].as_u64().unwrap() / 2
    );
    assert!(report["server"]["connected_clients"].as_u64().unwrap() >= 1);
    let text = String::from_utf8_lossy(&run(&["cache", "stats"]).stdout).into_owned();
    for needle in ["memory", "peak", "clients", "evicted", "hit rate", "keys"] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }

    // Without --yes and without a terminal to ask on, nothing is deleted.
    let out = run(&["cache", "flush", "analytics"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
    assert_eq!(
        cache.fetch::<i32>(bp_cache::Namespace::Analytics, &["a"]).await,
        Some(1)
    );

    let out = run(&["cache", "flush", "analytics", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 keys deleted"));
    assert_eq!(
        cache.fetch::<i32>(bp_cache::Namespace::Analytics, &["a"]).await,
        None
    );
    assert_eq!(
        cache.fetch::<i32>(bp_cache::Namespace::Temp, &["t"]).await,
        Some(1)
    );

    let out = run(&["cache", "flush", "nonsense", "--yes"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown namespace `nonsense`; one of: sessions"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn seed_then_enhance_prints_the_decision_as_json_and_saves_it() {
    let db = bp_testkit::TestDb::new().await;
    let redis = bp_testkit::TestRedis::new().await;
    let url = url_with(&test_env().database_url, |u| {
        u.set_path(&format!("/{}", db.name()))
    });
    let run = |args: &[&str]| on_platform(&url, &redis).args(args).output().unwrap();
    let seeded = run(&["seed", "--history", "20"]);
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    let patterns: i64 =
        sqlx::query_scalar("SELECT count(*) FROM prompts.intent_patterns WHERE source = 'seed'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(patterns as usize, bp_engine::data::bundled_examples().len());
    assert!(run(&["seed", "--history", "20"]).status.success());
    let again: i64 = sqlx::query_scalar("SELECT count(*) FROM prompts.intent_patterns")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(again, patterns, "seeding twice adds nothing");

    let out = run(&[
        "enhance",
        "Write a Python function that merges two sorted lists",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["intent"], "code_generation");
    assert!(json["confidence"].as_f64().unwrap() > 0.5);
    assert!(["simple", "moderate", "complex"].contains(&json["complexity"].as_str().unwrap()));
    // The same answer as the API's /enhance, details included.
    let techniques = json["metadata"]["technique_details"].as_array().unwrap();
    assert!(!techniques.is_empty() && techniques.len() <= 3);
    assert_eq!(json["techniques"].as_array().unwrap().len(), techniques.len());
    assert!(
        techniques
            .iter()
            .all(|t| t["reasoning"].as_str().is_some_and(|r| r.ends_with('.')))
    );
    let prompt = json["enhanced_prompt"].as_str().unwrap();
    assert!(
        prompt.contains("Write a Python function that merges two sorted lists") && !prompt.contains("{{")
    );
    let saved: i64 = sqlx::query_scalar("SELECT count(*) FROM prompts.history WHERE id = $1::uuid")
        .bind(json["id"].as_str().unwrap())
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(saved, 1);

    let bad = run(&["enhance", "hi", "--exclude", "telepathy"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("unknown technique `telepathy`"),
        "{}",
        stderr(&bad)
    );
}

/// `betterprompts serve` on a loopback port, driven by a real HTTP client.
struct Server {
    child: std::process::Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

impl Server {
    /// `betterprompts serve` on a free loopback port over `db`, `redis`'s
    /// prefix and `home`, with `extra` variables; waits for its address line.
    async fn start(
        db: &bp_testkit::TestDb,
        redis: &bp_testkit::TestRedis,
        home: &std::path::Path,
        extra: &[(&str, &std::ffi::OsStr)],
    ) -> Self {
        let url = url_with(&test_env().database_url, |u| {
            u.set_path(&format!("/{}", db.name()))
        });
        let mut cmd = bin();
        cmd.args(["serve", "--addr", "127.0.0.1:0"])
            .env("DATABASE_URL", &url)
            .env("REDIS_URL", &test_env().redis_url)
            .env("BP_REDIS_KEY_PREFIX", redis.cache().prefix())
            .env("BP_HOME", home)
            .env("BP_BCRYPT_COST", "10");
        for (name, value) in extra {
            cmd.env(name, value);
        }
        Self::spawn(cmd).await
    }

    /// Spawns `cmd` (a `serve` command) and waits for its address line.
    async fn spawn(mut cmd: Command) -> Self {
        use std::io::BufRead;
        cmd.stdout(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the address line, then drains stdout until the server exits.
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let first = tokio::task::spawn_blocking(move || rx.recv_timeout(std::time::Duration::from_secs(120)))
            .await
            .unwrap()
            .unwrap();
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_owned();
        Self { child, base }
    }
}

#[tokio::test]
async fn serve_walks_register_login_enhance_history_feedback_refresh_logout_over_http() {
    let db = bp_testkit::TestDb::new().await;
    let redis = bp_testkit::TestRedis::new().await;
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(&db, &redis, home.path(), &[]).await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value, token: Option<&str>| {
        let mut req = http.post(format!("{}{path}", server.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let pw = "Str0ng&Secret!";
    let res = post("/auth/register", serde_json::json!({ "email": "e2e@example.com", "username": "e2e", "password": pw, "confirm_password": pw }), None).await.unwrap();
    assert_eq!(res.status(), 201);
    let res = post(
        "/auth/login",
        serde_json::json!({ "email_or_username": "e2e", "password": pw }),
        None,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let login: serde_json::Value = res.json().await.unwrap();
    let access = login["access_token"].as_str().unwrap().to_owned();
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    let res = post(
        "/enhance",
        serde_json::json!({ "text": "Summarize this quarterly report for the board in five bullet points" }),
        Some(&access),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-ratelimit-limit"));
    let enhanced: serde_json::Value = res.json().await.unwrap();
    let id = enhanced["id"].as_str().unwrap().to_owned();
    let history: serde_json::Value = http
        .get(format!("{}/history", server.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["data"][0]["id"], id.as_str());
    let res = post(
        "/feedback",
        serde_json::json!({ "prompt_history_id": id, "rating": 5 }),
        Some(&access),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    let technique = enhanced["techniques"][0].as_str().unwrap();
    let res = post(
        "/feedback/effectiveness",
        serde_json::json!({ "technique": technique }),
        Some(&access),
    )
    .await
    .unwrap();
    let eff: serde_json::Value = res.json().await.unwrap();
    assert_eq!(eff["sample_size"], 1, "{eff}");
    let res = post(
        "/auth/refresh",
        serde_json::json!({ "refresh_token": refresh }),
        None,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let rotated: serde_json::Value = res.json().await.unwrap();
    let access = rotated["access_token"].as_str().unwrap().to_owned();
    let res = post("/auth/logout", serde_json::json!({}), Some(&access))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = http
        .get(format!("{}/auth/me", server.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // Graceful shutdown drains the analytics buffer: every request above is in api_metrics.
    drop(server);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM analytics.api_metrics")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert!(rows >= 9, "api_metrics rows after shutdown: {rows}");
    assert!(home.path().join("secrets/jwt.key").exists());
}

/// Runs `hash-password` with `args`, feeding `stdin`.
fn hash_password(args: &[&str], stdin: &str) -> Output {
    use std::io::Write as _;
    let mut child = bin()
        .arg("hash-password")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn hash_password_output_verifies_with_bcrypt_and_with_its_own_verify() {
    // From stdin (the password stays out of shell history), cost 4 for speed.
    let out = hash_password(&["--cost", "4"], "Correct Horse 9!\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(hash.starts_with("$2b$04$"), "{hash}");
    assert!(bcrypt::verify("Correct Horse 9!", &hash).unwrap());
    assert!(
        !bcrypt::verify("Correct Horse 9!\n", &hash).unwrap(),
        "the newline was hashed"
    );

    let out = hash_password(&["Correct Horse 9!", "--verify", &hash], "");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "match");
    let out = hash_password(&["--verify", &hash], "wrong\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no match");

    let default = hash_password(&["x"], "");
    assert!(
        String::from_utf8_lossy(&default.stdout).starts_with("$2b$12$"),
        "default cost is 12"
    );
    for bad in [&["--cost", "3", "x"][..], &["--cost", "32", "x"][..]] {
        let out = hash_password(bad, "");
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("--cost must be 4 to 31"),
            "{}",
            stderr(&out)
        );
    }
    let out = hash_password(&[], "\n");
    assert!(stderr(&out).contains("the password is empty"));
}

#[tokio::test]
async fn db_and_cache_growth_project_from_daily_samples() {
    let db = bp_testkit::TestDb::new().await;
    let redis = bp_testkit::TestRedis::new().await;
    let url = url_with(&test_env().database_url, |u| {
        u.set_path(&format!("/{}", db.name()))
    });
    let run = |args: &[&str]| on_platform(&url, &redis).args(args).output().unwrap();
    // Ten days ago the database was 1 MB smaller: 100 kB a day.
    let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(db.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO analytics.capacity_samples (day, source, name, table_bytes) \
         VALUES (current_date - 10, 'postgres', 'database', $1), (current_date - 10, 'redis', 'used_memory', 1000)",
    )
    .bind(size - 1_000_000)
    .execute(db.pool())
    .await
    .unwrap();

    let out = run(&["db", "stats", "--growth", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let relations = report["relations"].as_array().unwrap();
    assert!(
        relations.iter().any(|r| r["name"] == "prompts.history"),
        "today's sample covers the service's tables: {report}"
    );
    let database = relations.iter().find(|r| r["name"] == "database").unwrap();
    assert_eq!(database["days"], 10, "{report}");
    let per_day = database["bytes_per_day"].as_f64().unwrap();
    assert!((per_day - 100_000.0).abs() < 50_000.0, "{report}");
    let free = report["free_bytes"]
        .as_f64()
        .expect("the test instance's data directory is on this machine");
    let days = report["days_until_full"].as_f64().unwrap();
    assert!((days - free / per_day).abs() < 1.0, "{report}");
    let out = run(&["db", "stats", "--growth"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("full in about"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = run(&["cache", "stats", "--growth", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["used_memory"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["days"], 10, "{report}");
    assert!(report["bytes_per_day"].as_f64().is_some(), "{report}");
    let samples: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM analytics.capacity_samples WHERE day = current_date AND source = 'redis'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(samples, 1, "today's Redis sample recorded once");
}

#[tokio::test]
async fn db_health_and_stats_report_the_figures_of_the_test_database() {
    let db = bp_testkit::TestDb::new().await;
    let url = url_with(&test_env().database_url, |u| {
        u.set_path(&format!("/{}", db.name()))
    });
    // Some dead rows and an index scan to report.
    sqlx::query("INSERT INTO prompts.intent_patterns (pattern, normalized_pattern, intent) VALUES ('a b', 'a b', 'reasoning')")
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM prompts.intent_patterns")
        .execute(db.pool())
        .await
        .unwrap();
    let run = |args: &[&str]| bin().args(args).env("DATABASE_URL", &url).output().unwrap();

    let out = run(&["db", "health", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let health: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(health["healthy"], true, "{health}");
    assert!(
        health["postgres"].as_str().unwrap().starts_with("16."),
        "{health}"
    );
    assert!(health["pgvector"].is_string(), "{health}");
    assert_eq!(health["pending_migrations"], serde_json::json!([]));
    let out = run(&["db", "health"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("db health: healthy"));

    let out = run(&["db", "stats", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(stats["database_bytes"].as_i64().unwrap() > 1_000_000, "{stats}");
    let relations = stats["relations"].as_array().unwrap();
    assert!(
        relations
            .iter()
            .any(|r| r["name"] == "prompts.history" && r["kind"] == "table")
    );
    assert!(
        relations
            .iter()
            .any(|r| r["name"] == "prompts.idx_embeddings_hnsw" && r["kind"] == "index")
    );
    assert!(
        stats["connections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["state"] == "active"),
        "{stats}"
    );
    let ratio = stats["cache_hit_ratio"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&ratio));
    assert!(
        stats["unused_indexes"].as_array().unwrap().len() > 1,
        "a fresh database has unused indexes"
    );
    assert!(
        stats["indexes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["unique"] == true)
    );
    // Without Redis only the server can say: pg_stat_statements or nothing.
    let source = stats["slow_statements"]["source"].as_str().unwrap();
    assert!(["pg_stat_statements", "unavailable"].contains(&source), "{stats}");
    if source == "unavailable" {
        // The services' own timings, as two processes flushed them.
        let redis = bp_testkit::TestRedis::new().await;
        let timing = |calls, total_us, max_us| bp_cache::StatementStats {
            sql: "SELECT pg_sleep($1) /* timed */".into(),
            calls,
            total_us,
            max_us,
        };
        redis
            .cache()
            .add_statement_stats(&[timing(1, 9_000, 9_000)])
            .await
            .unwrap();
        redis
            .cache()
            .add_statement_stats(&[timing(2, 6_000, 4_000)])
            .await
            .unwrap();
        let out = bin()
            .args(["db", "stats", "--json"])
            .env("DATABASE_URL", &url)
            .env("REDIS_URL", &test_env().redis_url)
            .env("BP_REDIS_KEY_PREFIX", redis.cache().prefix())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(stats["slow_statements"]["source"], "service", "{stats}");
        let timed = &stats["slow_statements"]["statements"][0];
        assert_eq!(timed["query"], "SELECT pg_sleep($1) /* timed */", "{stats}");
        assert_eq!(timed["calls"], 3);
        assert_eq!(timed["max_ms"], 9.0, "the larger maximum of the two flushes");
        assert_eq!(timed["total_ms"], 15.0);
        assert_eq!(timed["mean_ms"], 5.0);
    }
    let out = run(&["db", "stats"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "database size",
        "buffer cache hit ratio",
        "largest tables",
        "index use",
        "dead rows",
        "db stats:",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
}

#[tokio::test]
async fn seed_gives_accounts_that_log_in_and_analytics_that_agree_twice_and_clean_keeps_the_admin() {
    let db = bp_testkit::TestDb::new().await;
    let redis = bp_testkit::TestRedis::new().await;
    let url = url_with(&test_env().database_url, |u| {
        u.set_path(&format!("/{}", db.name()))
    });
    let run = |args: &[&str]| on_platform(&url, &redis).args(args).output().unwrap();
    let counts = || async {
        let mut all = Vec::new();
        for table in [
            "auth.users",
            "prompts.history",
            "prompts.saved_prompts",
            "prompts.collections",
            "prompts.collection_prompts",
            "prompts.intent_patterns",
            "analytics.technique_effectiveness",
            "analytics.daily_stats",
        ] {
            // `table` is a constant of this test, never input.
            let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(db.pool())
                .await
                .unwrap();
            all.push((table, n));
        }
        all
    };

    let out = run(&["seed", "--history", "200", "--users", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let first = counts().await;
    let get = |c: &[(&str, i64)], t: &str| c.iter().find(|(n, _)| *n == t).unwrap().1;
    assert_eq!(get(&first, "auth.users"), 7, "{first:?}");
    assert_eq!(get(&first, "prompts.history"), 200);
    assert_eq!(get(&first, "prompts.collections"), 2);
    assert!(get(&first, "prompts.saved_prompts") >= 4, "{first:?}");
    assert_eq!(get(&first, "analytics.daily_stats"), 31);

    // The analytics agree with the history they were built from.
    let (uses, counted): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT coalesce(sum(cardinality(techniques_used)), 0) FROM prompts.history WHERE feedback_score IS NOT NULL),
                (SELECT coalesce(sum(total_count), 0) FROM analytics.technique_effectiveness)",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(uses > 0);
    assert_eq!(uses, counted, "effectiveness counts every rated use once");
    let (history, enhancements): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM prompts.history), (SELECT coalesce(sum(total_enhancements), 0) FROM analytics.daily_stats)",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(history, enhancements, "the daily rollups cover every seeded day");
    let spread: i64 = sqlx::query_scalar("SELECT count(DISTINCT created_at::date) FROM prompts.history")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert!(spread > 20, "history spread over {spread} days");

    let app = bp_testkit::TestApp::with_pool(db.pool().clone()).await;
    for (email, _, password, role, _) in betterprompts_accounts() {
        let res = app
            .json(
                axum::http::Method::POST,
                "/api/v1/auth/login",
                &serde_json::json!({ "email_or_username": email, "password": password }),
                &[],
            )
            .await;
        assert_eq!(res.status, axum::http::StatusCode::OK, "{email}: {}", res.json);
        assert_eq!(res.json["user"]["role"], role);
    }

    let out = run(&["seed", "--history", "200", "--users", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(counts().await, first, "seeding twice duplicated something");

    let out = run(&["seed", "--clean"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = counts().await;
    assert_eq!(get(&after, "auth.users"), 1);
    assert_eq!(get(&after, "prompts.history"), 0);
    assert_eq!(get(&after, "analytics.technique_effectiveness"), 0);
    let admin: String = sqlx::query_scalar("SELECT email FROM auth.users")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert!(admin.starts_with("enc:v1:"), "stored encrypted: {admin}");
    let admin = bp_testkit::test_keyring("").open(&admin).unwrap();
    assert_eq!(admin, "admin@betterprompts.com");
}

/// The documented seed accounts (README): email, username, password, role, tier.
fn betterprompts_accounts() -> [(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
); 4] {
    [
        (
            "admin@betterprompts.com",
            "admin",
            "Admin!Prompts2026",
            "admin",
            "enterprise",
        ),
        (
            "developer@betterprompts.com",
            "developer",
            "Developer!Prompts2026",
            "developer",
            "pro",
        ),
        ("alice@example.com", "alice", "Alice!Prompts2026", "user", "free"),
        ("bob@example.com", "bob", "Bob!Prompts2026", "user", "pro"),
    ]
}

/// Row count and an md5 of every row's text in order, per application
/// table: computed here independently of the checksum `backup` records.
async fn table_contents(url: &str) -> Vec<(String, i64, String)> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    // The per-table statements are written by the server from catalog names.
    let statements: Vec<String> = sqlx::query_scalar(
        "SELECT format('SELECT %L::text, count(*), md5(coalesce(string_agg(t::text, %L ORDER BY t::text), %L)) FROM %I.%I t',
                       n.nspname || '.' || c.relname, E'\\n', '', n.nspname, c.relname)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r' AND (n.nspname IN ('auth', 'prompts', 'analytics') OR c.relname = '_sqlx_migrations')
          ORDER BY n.nspname, c.relname",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut out = Vec::new();
    for statement in &statements {
        out.push(sqlx::query_as(statement).fetch_one(&mut conn).await.unwrap());
    }
    conn.close().await.unwrap();
    out
}

#[tokio::test]
async fn backup_then_drop_then_restore_brings_back_every_row_and_the_redis_keys() {
    use sqlx::Connection;
    let db = bp_testkit::TestDb::new().await;
    let redis = bp_testkit::TestRedis::new().await;
    let url = url_with(&test_env().database_url, |u| {
        u.set_path(&format!("/{}", db.name()))
    });
    let run = |args: &[&str]| on_platform(&url, &redis).args(args).output().unwrap();
    let out = run(&["seed", "--history", "80"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cache = redis.cache();
    cache
        .set("session:kept", "with-ttl", std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        cache.incr("counter:forever").await.unwrap(),
        1,
        "a key without expiry"
    );
    db.pool().close().await;
    let before = table_contents(&url).await;
    assert!(
        before.iter().any(|(t, n, _)| t == "prompts.history" && *n == 80),
        "{before:?}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let backup = tmp.path().join("b1");

    let out = run(&["backup", "--out", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        summary.contains("backup: ") && summary.contains("Redis keys"),
        "{summary}"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    // Its time is recorded for the backup-age metric.
    let recorded = cache
        .get(bp_cache::keys::BACKUP_LAST_SUCCESS)
        .await
        .unwrap()
        .unwrap();
    let made = chrono::DateTime::parse_from_rfc3339(manifest["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(recorded, made.timestamp().to_string());
    let files: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        ["postgres.dump", "redis-keys.jsonl", "redis.rdb"],
        "{manifest}"
    );
    let newest = bp_store::migrate::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap();
    assert_eq!(manifest["postgres"]["migration_version"], newest, "{manifest}");
    let keys = manifest["redis"]["keys"].as_u64().unwrap();
    assert!(keys >= 2, "the seed's keys and the two set here: {manifest}");

    // Lose everything: the database and the service's keys.
    let mut admin = sqlx::PgConnection::connect(&test_env().database_url)
        .await
        .unwrap();
    let drop_db: String = sqlx::query_scalar("SELECT format('DROP DATABASE %I WITH (FORCE)', $1::text)")
        .bind(db.name())
        .fetch_one(&mut admin)
        .await
        .unwrap();
    sqlx::raw_sql(&drop_db).execute(&mut admin).await.unwrap();
    cache.delete_all().await.unwrap();

    let out = run(&["restore", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(report.contains("checksums match the backup"), "{report}");
    assert!(report.contains(&format!("{keys} keys restored")), "{report}");
    assert_eq!(table_contents(&url).await, before, "restored contents differ");
    assert_eq!(
        cache.get("session:kept").await.unwrap().as_deref(),
        Some("with-ttl")
    );
    assert_eq!(cache.get("counter:forever").await.unwrap().as_deref(), Some("1"));
    let ttls: std::collections::BTreeMap<String, Option<i64>> = cache
        .dump_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.key, d.ttl_ms))
        .collect();
    assert!(
        ttls["session:kept"].is_some_and(|ms| ms > 0 && ms <= 3_600_000),
        "{ttls:?}"
    );
    assert_eq!(ttls["counter:forever"], None, "{ttls:?}");

    // A restore beside the live database: same contents under another name.
    let side = format!("{}_side", db.name());
    let out = run(&["restore", backup.to_str().unwrap(), "--target-db", &side]);
    assert!(out.status.success(), "{}", stderr(&out));
    let side_url = url_with(&url, |u| u.set_path(&format!("/{side}")));
    assert_eq!(table_contents(&side_url).await, before);
    let drop_side: String = sqlx::query_scalar("SELECT format('DROP DATABASE %I WITH (FORCE)', $1::text)")
        .bind(&side)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    sqlx::raw_sql(&drop_side).execute(&mut admin).await.unwrap();

    // A live change the refused restores below must not undo.
    let mut live = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("DELETE FROM prompts.saved_prompts")
        .execute(&mut live)
        .await
        .unwrap();
    live.close().await.unwrap();
    cache
        .set("session:new", "after-backup", std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let changed = table_contents(&url).await;
    assert_ne!(changed, before);

    // A restore drill proves the backup, with a client connected to the
    // live database, and touches neither it nor Redis.
    let connected = sqlx::PgConnection::connect(&url).await.unwrap();
    let out = run(&["restore", backup.to_str().unwrap(), "--verify-only"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(report.contains("restored and matched the backup"), "{report}");
    connected.close().await.unwrap();
    assert_eq!(table_contents(&url).await, changed, "the drill changed live data");
    assert_eq!(
        cache.get("session:new").await.unwrap().as_deref(),
        Some("after-backup")
    );
    let scratch_left: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(format!("{}__verify", db.name()))
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert!(!scratch_left, "the drill's scratch database was left behind");
    let out = run(&["restore", backup.to_str().unwrap(), "--verify-only", "--no-redis"]);
    assert!(
        !out.status.success(),
        "--verify-only touches no Redis; --no-redis makes no sense with it"
    );

    let copy_of = |name: &str| {
        let copy = tmp.path().join(name);
        std::fs::create_dir(&copy).unwrap();
        for entry in std::fs::read_dir(&backup).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
        copy
    };
    let corrupt = copy_of("corrupt");
    let dump = corrupt.join("postgres.dump");
    let mut bytes = std::fs::read(&dump).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&dump, bytes).unwrap();
    let out = run(&["restore", corrupt.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("is corrupted: postgres.dump has SHA-256") && err.contains("nothing was restored"),
        "{err}"
    );
    assert_eq!(
        err.trim_end().lines().last().unwrap().matches("error:").count(),
        1,
        "{err}"
    );

    // A dump from a newer schema than this binary knows is refused too.
    let newer = copy_of("newer");
    let mut edited = manifest.clone();
    edited["postgres"]["migration_version"] = serde_json::json!(9999);
    std::fs::write(newer.join("manifest.json"), edited.to_string()).unwrap();
    let out = run(&["restore", newer.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!(
            "the backup is at migration 9999 but this betterprompts knows migrations up to {newest:04}"
        )),
        "{}",
        stderr(&out)
    );

    // While a client is connected, replacing the database is refused.
    let holder = sqlx::PgConnection::connect(&url).await.unwrap();
    let out = run(&["restore", backup.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("other session(s) are connected"),
        "{}",
        stderr(&out)
    );
    holder.close().await.unwrap();

    assert_eq!(
        table_contents(&url).await,
        changed,
        "a refused restore changed the database"
    );
    assert_eq!(
        cache.get("session:new").await.unwrap().as_deref(),
        Some("after-backup")
    );
}

/// The database password procedure of docs/operations.md, on an instance of
/// the test's own (changing the shared role's password would break every
/// other test): after `ALTER ROLE ... PASSWORD`, open sessions keep working,
/// the old password opens nothing new, and a pool given the new URL
/// reconnects once its old connections are gone.
#[tokio::test]
async fn database_password_change_keeps_open_sessions_and_the_pool_reconnects_with_the_new_one() {
    let Some(home) = std::env::var_os("BP_HOME") else {
        panic!("BP_HOME is not set: run `make test`, which sets it");
    };
    let instance = format!("pw-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let run = |args: &[&str]| run_on_instance(&home, &instance, args);
    run(&["infra", "up", "--ephemeral", "--no-migrate"]);
    let status: serde_json::Value = serde_json::from_str(&run(&["infra", "status", "--json"])).unwrap();
    let old_url = status["database_url"].as_str().unwrap().to_owned();
    let new_password = format!("rotated-{}", uuid::Uuid::new_v4().simple());
    let new_url = url_with(&old_url, |u| u.set_password(Some(&new_password)).unwrap());
    let settings = bp_store::PoolSettings {
        min_connections: 2,
        ..bp_store::PoolSettings::small()
    };
    let pool = bp_store::connect(&old_url, &settings).await.unwrap();
    let mut held = pool.acquire().await.unwrap();
    let before: Vec<i32> =
        sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE usename = current_user")
            .fetch_all(&mut *held)
            .await
            .unwrap();

    // The server quotes the password itself (format %L from a bound value).
    let alter: String =
        sqlx::query_scalar("SELECT format('ALTER ROLE %I PASSWORD %L', current_user, $1::text)")
            .bind(&new_password)
            .fetch_one(&mut *held)
            .await
            .unwrap();
    sqlx::raw_sql(&alter).execute(&mut *held).await.unwrap();

    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut *held)
        .await
        .unwrap();
    assert_eq!(one, 1, "an open session survives the change");
    let refused = bp_store::connect(&old_url, &bp_store::PoolSettings::small())
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("password"), "{refused}");
    assert!(
        !refused.contains(&new_password),
        "the error shows a password: {refused}"
    );

    // A running pool switched to the new URL: once its old sessions are
    // gone (ended here, as a restart or idle timeout would), it reconnects.
    pool.set_connect_options(bp_store::connect_options(&new_url).unwrap());
    drop(held);
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE usename = current_user AND pid <> pg_backend_pid()",
    )
    .execute(&mut sqlx_connect(&new_url).await)
    .await
    .unwrap();
    for _ in 0..3 {
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await.unwrap();
        assert_eq!(one, 1);
    }
    let now: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        !before.contains(&now),
        "the pool still runs on a session from before the change"
    );
    pool.close().await;
    run(&["infra", "down", "--purge"]);
}

async fn sqlx_connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection as _;
    sqlx::PgConnection::connect_with(&bp_store::connect_options(url).unwrap())
        .await
        .unwrap()
}
