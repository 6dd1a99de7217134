//! The one error type of this crate: each variant says what failed and what to do.

use std::path::PathBuf;

/// Why an infrastructure step failed. Every message is one line that names the
/// problem and the fix.
#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    /// A program the step needs is missing and could not be installed.
    #[error("{what} is not installed and could not be installed automatically: {how}")]
    Missing {
        /// What is missing.
        what: &'static str,
        /// What the user should install or set.
        how: String,
    },
    /// A program ran and failed.
    #[error("`{command}` failed: {detail}")]
    Command {
        /// The command line (never contains secrets).
        command: String,
        /// The last lines of its output or its exit status.
        detail: String,
    },
    /// The downloaded bundle does not match the pinned checksum.
    #[error(
        "checksum mismatch for {file}: expected {expected}, got {actual}; delete it and run `betterprompts infra install` again"
    )]
    Checksum {
        /// The file that was checked.
        file: PathBuf,
        /// The pinned SHA-256.
        expected: &'static str,
        /// What the file hashed to.
        actual: String,
    },
    /// A filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A server did not come up or go down within its deadline.
    #[error("{what} did not {action} within {secs} s; see its log at {log}")]
    Timeout {
        /// `PostgreSQL` or `Redis`.
        what: &'static str,
        /// `start` or `stop`.
        action: &'static str,
        /// The deadline.
        secs: u64,
        /// Its log file.
        log: PathBuf,
    },
    /// The bootstrap SQL (role, database, extension) failed.
    #[error("bootstrapping the embedded PostgreSQL failed: {0}")]
    Bootstrap(#[from] sqlx::Error),
    /// Anything else, already phrased for the user.
    #[error("{0}")]
    Other(String),
}

impl InfraError {
    /// Shorthand for [`InfraError::Io`].
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { action, path, source }
    }
}

/// Result alias of this crate.
pub type Result<T, E = InfraError> = std::result::Result<T, E>;
