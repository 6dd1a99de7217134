//! Process helpers: running a command and capturing its failure, free ports,
//! liveness of a pid, and polling with a deadline (never a blind sleep).

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

use crate::error::{InfraError, Result};

/// Runs `cmd` to completion; a non-zero exit becomes [`InfraError::Command`]
/// carrying the tail of its output.
pub(crate) fn run(cmd: &mut Command) -> Result<Output> {
    let shown = describe(cmd);
    let output = cmd.output().map_err(|e| InfraError::Command {
        command: shown.clone(),
        detail: e.to_string(),
    })?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(InfraError::Command {
            command: shown,
            detail: tail(&output),
        })
    }
}

/// The program and its arguments, for messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// The last few non-empty lines of stderr (or stdout), joined on one line.
pub(crate) fn tail(output: &Output) -> String {
    let text = if output.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        String::from_utf8_lossy(&output.stderr)
    } else {
        String::from_utf8_lossy(&output.stdout)
    };
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let start = lines.len().saturating_sub(3);
    match lines[start..].join(" | ") {
        s if s.is_empty() => format!("exit status {}", output.status),
        s => s,
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
pub(crate) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| InfraError::Other(format!("cannot find a free port on 127.0.0.1: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| InfraError::Other(format!("cannot read a bound port: {e}")))
}

/// True when `port` on 127.0.0.1 can be bound (nothing listens there).
pub(crate) fn port_is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// True when something accepts TCP connections on 127.0.0.1:`port`.
pub(crate) fn port_answers(port: u16) -> bool {
    TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_millis(500)).is_ok()
}

/// True when a process with this pid exists (ours or another user's).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else { return false };
    match kill(Pid::from_raw(raw), None) {
        Ok(()) => !is_zombie(pid),
        Err(Errno::EPERM) => true,
        Err(_) => false,
    }
}

/// A zombie has exited; only its parent has not reaped it yet.
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Polls `check` every 50 ms until it is true or `timeout` passes.
pub(crate) fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
