//! One module per top-level command.

pub mod infra;
pub mod migrate;
pub mod serve;
