//! Handlers, one module per area.

pub mod admin;
pub mod auth;
pub mod dev;
pub mod enhance;
pub mod feedback;
pub mod health;
pub mod history;
pub mod library;
pub mod search;
