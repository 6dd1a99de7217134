//! One module per top-level command.

pub mod bench;
pub mod cache;
pub mod infra;
pub mod migrate;
pub mod serve;
