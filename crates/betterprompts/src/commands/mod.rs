//! One module per top-level command.

pub mod backup;
pub mod bench;
pub mod cache;
pub mod connect;
pub mod db;
pub mod enhance;
pub mod hash_password;
pub mod infra;
pub mod loadgen;
pub mod migrate;
pub mod seed;
pub mod serve;
pub mod train;
