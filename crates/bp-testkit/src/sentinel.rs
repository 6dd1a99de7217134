//! A Redis Sentinel set of a test's own: a master, one replica and three
//! Sentinels watching it, all `redis-server` processes on free loopback
//! ports, killed on drop. Tests kill the master to make the Sentinels fail
//! over, as a crash would.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The name the Sentinels know the master by.
pub const MASTER_NAME: &str = "bpmaster";

/// One `redis-server` process.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) port: u16,
    child: Option<Child>,
}

impl Node {
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Master, replica and three Sentinels (quorum 2).
#[derive(Debug)]
pub struct SentinelSet {
    dir: PathBuf,
    servers: Vec<Node>,
    sentinels: Vec<Node>,
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Starts `redis-server` with `args(port)` on a free port and waits until it
/// accepts connections. A port taken by another test between the probe
/// and the server's bind makes the server exit: a new port is tried. Its
/// output goes to `log`.
pub(crate) fn start_node(log: &std::path::Path, args: impl Fn(u16) -> Vec<String>) -> Node {
    let bin = std::env::var("BP_REDIS_BIN").unwrap_or_else(|_| "redis-server".into());
    for _ in 0..5 {
        let port = free_port();
        let out = std::fs::File::create(log).unwrap_or_else(|e| panic!("creating {}: {e}", log.display()));
        let err = out.try_clone().unwrap_or_else(|e| panic!("{e}"));
        let mut child = Command::new(&bin)
            .args(args(port))
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("redis-server (BP_REDIS_BIN or PATH; make test installs it): {e}"));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Node {
                    port,
                    child: Some(child),
                };
            }
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not start; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    panic!("redis-server exited five times; see {}", log.display())
}

pub(crate) async fn ask<T: redis::FromRedisValue>(port: u16, cmd: &redis::Cmd) -> redis::RedisResult<T> {
    let client = redis::Client::open(redis::ConnectionAddr::Tcp("127.0.0.1".into(), port))?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    cmd.query_async(&mut conn).await
}

/// Waits (30 s at most) until the text reply of `cmd` on the server at
/// `port` holds `needle`.
pub(crate) async fn until_reply_has(port: u16, cmd: &[&str], needle: &str, what: &str) {
    let mut command = redis::cmd(cmd[0]);
    for arg in &cmd[1..] {
        command.arg(*arg);
    }
    let command = &command;
    crate::eventually(Duration::from_secs(30), what, || async move {
        let reply: redis::RedisResult<String> = ask(port, command).await;
        reply.is_ok_and(|r| r.contains(needle))
    })
    .await;
}

/// Waits until every write the server at `port` has taken is on its
/// replica (`WAIT 1`, within 5 s).
pub(crate) async fn wait_replicated(port: u16) {
    let replicas: redis::RedisResult<u64> = ask(port, redis::cmd("WAIT").arg(1).arg(5000)).await;
    assert!(
        matches!(replicas, Ok(1)),
        "the replica did not acknowledge within 5 s: {replicas:?}"
    );
}

impl SentinelSet {
    /// A set for tests that do not fail over: the Sentinels wait 5 s
    /// before they call the master down, so that a slow moment of a loaded
    /// machine is not taken for a crash.
    pub async fn start() -> Self {
        Self::start_with(Duration::from_secs(5)).await
    }

    /// Starts the set, the Sentinels calling the master down after
    /// `down_after` without an answer, and waits until every Sentinel knows
    /// the replica and the two other Sentinels, so that a failover can be
    /// agreed at once.
    pub async fn start_with(down_after: Duration) -> Self {
        let dir = std::env::temp_dir().join(format!("bp-sentinel-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let mut set = Self {
            dir,
            servers: Vec::new(),
            sentinels: Vec::new(),
        };
        let mut master: Option<u16> = None;
        for i in 0..2 {
            let data = set.dir.join(format!("server{i}"));
            std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("{e}"));
            let replica_of = master;
            let node = start_node(&set.dir.join(format!("server{i}.log")), |port| {
                let mut args: Vec<String> = [
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    &data.to_string_lossy(),
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                if let Some(of) = replica_of {
                    args.extend(["--replicaof".into(), "127.0.0.1".into(), of.to_string()]);
                }
                args
            });
            master.get_or_insert(node.port);
            set.servers.push(node);
        }
        let master = set.servers[0].port;
        let replica = set.servers[1].port;
        until_reply_has(
            replica,
            &["INFO", "replication"],
            "master_link_status:up",
            "the replica syncs with the master",
        )
        .await;
        for i in 0..3 {
            let conf = set.dir.join(format!("sentinel{i}.conf"));
            let dir = set.dir.clone();
            let node = start_node(&set.dir.join(format!("sentinel{i}.log")), |port| {
                let text = format!(
                    "port {port}\nbind 127.0.0.1\ndir {dir}\nsentinel monitor {MASTER_NAME} 127.0.0.1 {master} 2\n\
                     sentinel down-after-milliseconds {MASTER_NAME} {down}\nsentinel failover-timeout {MASTER_NAME} 3000\n\
                     sentinel parallel-syncs {MASTER_NAME} 1\n",
                    dir = dir.display(),
                    down = down_after.as_millis()
                );
                std::fs::write(&conf, text).unwrap_or_else(|e| panic!("writing {}: {e}", conf.display()));
                vec![conf.to_string_lossy().into_owned(), "--sentinel".into()]
            });
            set.sentinels.push(node);
        }
        for port in set.sentinel_ports() {
            crate::eventually(
                Duration::from_secs(30),
                "each Sentinel knows the replica and the other two Sentinels",
                || async move {
                    let others: redis::RedisResult<Vec<redis::Value>> =
                        ask(port, redis::cmd("SENTINEL").arg("sentinels").arg(MASTER_NAME)).await;
                    let replicas: redis::RedisResult<Vec<redis::Value>> =
                        ask(port, redis::cmd("SENTINEL").arg("replicas").arg(MASTER_NAME)).await;
                    others.is_ok_and(|v| v.len() == 2) && replicas.is_ok_and(|v| v.len() == 1)
                },
            )
            .await;
        }
        set
    }

    fn sentinel_ports(&self) -> Vec<u16> {
        self.sentinels.iter().map(|n| n.port).collect()
    }

    /// `redis+sentinel://` naming the three Sentinels and the master.
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self
            .sentinel_ports()
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        format!("redis+sentinel://{}/{MASTER_NAME}", nodes.join(","))
    }

    /// The master's port at the start.
    pub fn first_master_port(&self) -> u16 {
        self.servers[0].port
    }

    /// The replica's port at the start (the master after a failover).
    pub fn replica_port(&self) -> u16 {
        self.servers[1].port
    }

    /// The master's port as the first answering Sentinel names it.
    pub async fn master_port(&self) -> Option<u16> {
        for port in self.sentinel_ports() {
            let named: redis::RedisResult<(String, u16)> = ask(
                port,
                redis::cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(MASTER_NAME),
            )
            .await;
            if let Ok((_, master)) = named {
                return Some(master);
            }
        }
        None
    }

    /// Waits until every write the master has taken is on the replica
    /// (`WAIT 1`): the replication point a failover keeps.
    pub async fn wait_replicated(&self) {
        wait_replicated(self.servers[0].port).await;
    }

    /// Kills the first master, as a crash would.
    pub fn kill_master(&mut self) {
        self.servers[0].kill();
    }
}

impl Drop for SentinelSet {
    fn drop(&mut self) {
        for node in self.servers.iter_mut().chain(self.sentinels.iter_mut()) {
            node.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
