//! PostgreSQL refuses to run as root. When this process is root, the server
//! runs as an unprivileged system user: `postgres` where it exists, else
//! `betterprompts`, created on first use. A normal user runs it as themselves.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::unistd::{Gid, Uid, User, chown};

use crate::error::{InfraError, Result};
use crate::process::run;

/// The user a server process runs as; `None` fields mean "this process's user".
#[derive(Debug, Clone)]
pub struct RunAs {
    /// Login name, for messages and the state file.
    pub name: String,
    uid: Option<Uid>,
    gid: Option<Gid>,
}

impl RunAs {
    /// The user PostgreSQL should run as, creating a system user when the
    /// process is root and neither `postgres` nor `betterprompts` exists.
    pub fn for_postgres() -> Result<Self> {
        if !Uid::effective().is_root() {
            let name = User::from_uid(Uid::effective())
                .ok()
                .flatten()
                .map(|u| u.name)
                .unwrap_or_default();
            return Ok(Self {
                name,
                uid: None,
                gid: None,
            });
        }
        for name in ["postgres", "betterprompts"] {
            if let Some(user) = lookup(name)? {
                return Ok(Self {
                    name: user.name,
                    uid: Some(user.uid),
                    gid: Some(user.gid),
                });
            }
        }
        run(Command::new("useradd").args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "betterprompts"]))
            .map_err(|e| InfraError::Other(format!(
                "running as root needs an unprivileged user for PostgreSQL and creating `betterprompts` failed ({e}); create one with `useradd --system betterprompts`"
            )))?;
        let user = lookup("betterprompts")?.ok_or_else(|| {
            InfraError::Other("useradd succeeded but user `betterprompts` is not visible".into())
        })?;
        Ok(Self {
            name: user.name,
            uid: Some(user.uid),
            gid: Some(user.gid),
        })
    }

    /// True when this user is not the current process's user.
    pub fn is_other_user(&self) -> bool {
        self.uid.is_some()
    }

    /// A command for `program` that runs as this user with a clean environment
    /// (only PATH, HOME and a C locale), as PostgreSQL's tools expect.
    pub fn command(&self, program: impl AsRef<OsStr>, home: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", home)
            .env("LC_ALL", "C")
            .env("LANG", "C");
        if let (Some(uid), Some(gid)) = (self.uid, self.gid) {
            // std drops supplementary groups when a root parent sets a uid.
            cmd.uid(uid.as_raw()).gid(gid.as_raw());
        }
        cmd
    }

    /// Gives `path` (one directory or file, not recursive) to this user.
    pub fn own(&self, path: &Path) -> Result<()> {
        if let (Some(uid), Some(gid)) = (self.uid, self.gid) {
            chown(path, Some(uid), Some(gid))
                .map_err(|e| InfraError::io("changing the owner of", path)(std::io::Error::from(e)))?;
        }
        Ok(())
    }

    /// True when this user can enter directory `path` (every ancestor
    /// traversable). Always true for the current user.
    pub fn can_enter(&self, path: &Path) -> bool {
        if !self.is_other_user() {
            return true;
        }
        let mut cmd = self.command("test", Path::new("/"));
        cmd.arg("-x").arg(path);
        cmd.status().map(|s| s.success()).unwrap_or(false)
    }
}

fn lookup(name: &str) -> Result<Option<User>> {
    User::from_name(name).map_err(|e| InfraError::Other(format!("cannot look up user `{name}`: {e}")))
}

/// Where the PostgreSQL bundle and data live: under `home` when `run_as` can
/// reach it, else (root with `home` inside a private directory such as
/// /root) under `/var/lib/betterprompts/<hash of home>`.
pub fn postgres_base(home: &Path, run_as: &RunAs) -> PathBuf {
    if run_as.can_enter(home) {
        return home.to_path_buf();
    }
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(home.as_os_str().as_encoded_bytes());
    PathBuf::from("/var/lib/betterprompts").join(&hex::encode(digest)[..16])
}
