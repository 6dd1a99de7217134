//! Finding or installing `redis-server` (7 or newer), starting it on
//! 127.0.0.1 with append-only persistence, and stopping it.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, Uid};
use serde::{Deserialize, Serialize};

use crate::error::{InfraError, Result};
use crate::postgres::which;
use crate::process::{pid_alive, run, wait_until};

/// The lowest Redis major version the cache layer is written for.
pub const MIN_MAJOR: u32 = 7;

/// A usable `redis-server`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedisInstall {
    /// Path of `redis-server`.
    pub binary: PathBuf,
    /// `7.0.15` and the like.
    pub version: String,
}

/// Finds `redis-server`: `BP_REDIS_BIN`, then PATH (and /usr/sbin, /usr/bin).
pub fn find() -> Result<Option<RedisInstall>> {
    let candidate = match std::env::var_os("BP_REDIS_BIN").filter(|v| !v.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => which("redis-server").or_else(|| {
            ["/usr/bin/redis-server", "/usr/sbin/redis-server"]
                .map(PathBuf::from)
                .into_iter()
                .find(|p| p.is_file())
        }),
    };
    let Some(binary) = candidate else { return Ok(None) };
    let out = run(Command::new(&binary).arg("--version"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("v="))
        .unwrap_or_default()
        .to_owned();
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < MIN_MAJOR {
        return Err(InfraError::Missing {
            what: "Redis 7 or newer",
            how: format!(
                "{} is Redis {version}; install Redis 7 or set BP_REDIS_BIN",
                binary.display()
            ),
        });
    }
    Ok(Some(RedisInstall { binary, version }))
}

/// Installs `redis-server` with the platform's package manager: apt-get on
/// Debian/Ubuntu (as root, or through passwordless sudo), brew on macOS.
pub fn install(progress: &dyn Fn(&str)) -> Result<()> {
    let manual = "install Redis 7 yourself (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`) or set BP_REDIS_BIN";
    if cfg!(target_os = "macos") && which("brew").is_some() {
        progress("installing redis with brew");
        return run(Command::new("brew").args(["install", "redis"])).map(drop);
    }
    if which("apt-get").is_none() {
        return Err(InfraError::Missing {
            what: "redis-server",
            how: manual.into(),
        });
    }
    let sudo: &[&str] = if Uid::effective().is_root() {
        &[]
    } else if which("sudo").is_some()
        && Command::new("sudo")
            .args(["-n", "true"])
            .status()
            .is_ok_and(|s| s.success())
    {
        &["sudo", "-n"]
    } else {
        return Err(InfraError::Missing {
            what: "redis-server",
            how: manual.into(),
        });
    };
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        let mut cmd = Command::new(all[0]);
        cmd.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd).map(drop)
    };
    progress("apt-get update");
    apt(&["update", "-qq"])?;
    progress("apt-get install redis-server");
    apt(&["install", "-y", "-qq", "--no-install-recommends", "redis-server"]).map_err(|e| {
        InfraError::Missing {
            what: "redis-server",
            how: format!("{e}; {manual}"),
        }
    })
}

/// One Redis server and its directory (data, AOF, log, pid file).
pub struct RedisServer<'a> {
    /// The binary.
    pub install: &'a RedisInstall,
    /// Working directory.
    pub dir: PathBuf,
}

impl RedisServer<'_> {
    /// The server log.
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("redis.log")
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("redis.pid")
    }

    /// Starts the server on 127.0.0.1:`port`, daemonised, and waits until it
    /// answers PING. `ephemeral` turns persistence off (tests); otherwise
    /// AOF with `appendfsync everysec` keeps sessions and flags over restarts.
    pub fn start(&self, port: u16, ephemeral: bool) -> Result<u32> {
        fs::create_dir_all(&self.dir).map_err(InfraError::io("creating", &self.dir))?;
        let mut cmd = Command::new(&self.install.binary);
        cmd.arg("--port")
            .arg(port.to_string())
            .args([
                "--bind",
                "127.0.0.1",
                "--protected-mode",
                "yes",
                "--daemonize",
                "yes",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--pidfile")
            .arg(self.pid_file())
            .arg("--logfile")
            .arg(self.log_file());
        if ephemeral {
            cmd.args(["--appendonly", "no", "--save", ""]);
        } else {
            cmd.args(["--appendonly", "yes", "--appendfsync", "everysec"]);
        }
        run(&mut cmd)?;
        let timeout = Duration::from_secs(20);
        if !wait_until(timeout, || ping(port) && self.pid().is_some()) {
            return Err(InfraError::Timeout {
                what: "Redis",
                action: "start",
                secs: 20,
                log: self.log_file(),
            });
        }
        self.pid()
            .ok_or_else(|| InfraError::Other("Redis started but wrote no pid file".into()))
    }

    /// The server's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        let pid = fs::read_to_string(self.pid_file()).ok()?.trim().parse().ok()?;
        pid_alive(pid).then_some(pid)
    }

    /// Stops the server with SIGTERM (it flushes the AOF) and waits until it is gone.
    pub fn stop(&self) -> Result<()> {
        let Some(pid) = self.pid() else {
            let _ = fs::remove_file(self.pid_file());
            return Ok(());
        };
        let raw = i32::try_from(pid).map_err(|_| InfraError::Other(format!("pid {pid} out of range")))?;
        let _ = kill(Pid::from_raw(raw), Signal::SIGTERM);
        if !wait_until(Duration::from_secs(30), || !pid_alive(pid)) {
            return Err(InfraError::Timeout {
                what: "Redis",
                action: "stop",
                secs: 30,
                log: self.log_file(),
            });
        }
        let _ = fs::remove_file(self.pid_file());
        Ok(())
    }
}

/// True when a Redis server on 127.0.0.1:`port` answers PING with PONG.
pub fn ping(port: u16) -> bool {
    let Ok(mut stream) =
        TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_millis(500))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    stream.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}
