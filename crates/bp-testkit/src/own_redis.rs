//! A Redis server of a test's own, for tests that stop and restart it
//! (degraded mode) without disturbing any other test.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` on a free loopback port with no persistence; killed on
/// drop. `BP_REDIS_BIN` names the binary (`make test` sets it), else
/// `redis-server` from `PATH`.
#[derive(Debug)]
pub struct OwnRedis {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
    /// `--tls-*` arguments when the port speaks TLS only.
    tls: Vec<std::ffi::OsString>,
}

impl OwnRedis {
    /// Starts it and waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_with(Vec::new())
    }

    /// Starts one that speaks TLS only, presenting `ca`'s server
    /// certificate (clients are not asked for one): its URL is `rediss://`.
    pub fn start_tls(ca: &crate::tls::TestCa) -> Self {
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        for (flag, path) in [
            ("--tls-cert-file", ca.cert_file()),
            ("--tls-key-file", ca.key_file()),
            ("--tls-ca-cert-file", ca.ca_file()),
        ] {
            args.push(flag.into());
            args.push(path.into());
        }
        args.extend(["--tls-auth-clients".into(), "no".into()]);
        Self::start_with(args)
    }

    fn start_with(tls: Vec<std::ffi::OsString>) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let dir = std::env::temp_dir().join(format!("bp-own-redis-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let mut redis = Self {
            port,
            dir,
            child: None,
            tls,
        };
        redis.up();
        redis
    }

    /// (Re)starts the server on the same port.
    pub fn up(&mut self) {
        let bin = std::env::var("BP_REDIS_BIN").unwrap_or_else(|_| "redis-server".into());
        let port = self.port.to_string();
        let ports: [&str; 4] = if self.tls.is_empty() {
            ["--port", &port, "--tls-port", "0"]
        } else {
            ["--port", "0", "--tls-port", &port]
        };
        let child = Command::new(bin)
            .args(ports)
            .args(&self.tls)
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("redis-server (BP_REDIS_BIN or PATH; make test installs it): {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Kills the server (as a crash would).
    pub fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `redis://127.0.0.1:PORT`, or `rediss://` for a TLS server.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_empty() { "redis" } else { "rediss" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.down();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `check` until it is true or `limit` passes; the test fails at the deadline.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
