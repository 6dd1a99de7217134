//! One module per top-level command.

pub mod backup;
pub mod bench;
pub mod cache;
pub mod connect;
pub mod db;
pub mod enhance;
pub mod hash_password;
pub mod infra;
pub mod keys;
pub mod loadgen;
pub mod migrate;
pub mod model;
pub mod seed;
pub mod serve;
pub mod train;

/// `748.3 KiB`, `12.6 MiB`, `2.01 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} GiB", b / 1024.0 / 1024.0 / 1024.0)
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / 1024.0 / 1024.0)
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}
