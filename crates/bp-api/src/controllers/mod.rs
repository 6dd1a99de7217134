//! Handlers, one module per area.

pub mod health;
