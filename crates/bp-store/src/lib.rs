//! PostgreSQL access for BetterPrompts: the connection pool
//! ([`pool`]), the embedded migrations and their runner ([`migrate`]), and
//! health queries ([`health`]). Every query binds its values; no value is
//! ever formatted into SQL text.

pub mod error;
pub mod health;
pub mod migrate;
pub mod pool;
mod sql_split;

pub use error::StoreError;
pub use pool::{PoolSettings, connect, connect_lazy, connect_options};
pub use sqlx::PgPool;
