//! Redis down is a degraded mode: bounded calls, misses, dropped writes,
//! the fail policy for rate limits, and recovery without a restart.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bp_cache::{Cache, CacheError, CacheSettings, Namespace, RateLimit};

use crate::eventually;

/// A Redis of this test's own, so stopping it disturbs no other test.
struct OwnRedis {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl OwnRedis {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Self {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        redis.up();
        redis
    }

    fn up(&mut self) {
        let bin = std::env::var("BP_REDIS_BIN").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(bin)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (make test installs it)");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "redis-server did not start");
            std::thread::yield_now();
        }
    }

    fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.down();
    }
}

/// Fails the test if `fut` hangs instead of answering within the call bound.
async fn prompt<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), fut)
        .await
        .expect("a cache call hung while Redis was down")
}

#[tokio::test]
async fn with_redis_down_calls_degrade_promptly_and_recover_when_it_returns() {
    let mut redis = OwnRedis::start();
    let open = Cache::connect_with(&redis.url(), CacheSettings::new("outage"))
        .await
        .unwrap();
    let closed = Cache::connect_with(
        &redis.url(),
        CacheSettings {
            rate_limit_fail_closed: true,
            ..CacheSettings::new("outage")
        },
    )
    .await
    .unwrap();
    let limit = RateLimit::new(5, Duration::from_secs(60));
    assert!(open.put(Namespace::Templates, &["t"], &1).await);
    assert_eq!(open.fetch::<i32>(Namespace::Templates, &["t"]).await, Some(1));
    assert!(open.is_available());

    redis.down();
    assert!(matches!(
        prompt(open.get("k")).await,
        Err(CacheError::Unavailable(_))
    ));
    assert!(!open.is_available(), "the degraded state is visible");
    assert_eq!(
        prompt(open.fetch::<i32>(Namespace::Templates, &["t"])).await,
        None,
        "a read is a miss"
    );
    assert!(
        !prompt(open.put(Namespace::Templates, &["t"], &2)).await,
        "a write is dropped"
    );
    assert!(!prompt(open.is_enabled("any", Some("u"))).await);
    let d = prompt(open.check_rate_limit("c", limit)).await.unwrap();
    assert!(d.allowed && d.degraded, "fail-open by default");
    let d = prompt(closed.check_rate_limit("c", limit)).await.unwrap();
    assert!(!d.allowed && d.degraded, "fail-closed when configured");

    redis.up();
    eventually(
        Duration::from_secs(20),
        "the client reconnects by itself",
        || async { open.ping().await.is_ok() },
    )
    .await;
    assert!(open.is_available());
    assert!(open.put(Namespace::Templates, &["t"], &3).await);
    assert_eq!(open.fetch::<i32>(Namespace::Templates, &["t"]).await, Some(3));
    eventually(
        Duration::from_secs(20),
        "the second client reconnects too",
        || async { matches!(closed.check_rate_limit("c2", limit).await, Ok(d) if d.allowed && !d.degraded) },
    )
    .await;
}
