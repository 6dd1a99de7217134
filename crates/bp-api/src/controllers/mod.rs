//! Handlers, one module per area.

pub mod auth;
pub mod dev;
pub mod enhance;
pub mod feedback;
pub mod health;
pub mod history;
