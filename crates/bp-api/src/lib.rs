//! The BetterPrompts HTTP API (see `shared/api.md` for the contract):
//! [`startup::router`] builds the axum router over an [`state::AppState`];
//! [`startup::serve`] runs it with graceful shutdown and drains the
//! analytics buffer. Controllers parse, call [`bp_service`] or the store,
//! and render typed bodies. All paths are
//! under `/api/v1` (Prometheus metrics at `/metrics`); unknown routes and
//! wrong methods answer JSON 404/405. [`routes`] declares every endpoint
//! once; the router and the OpenAPI document ([`openapi`]) both come from it.
//!
//! Middleware, outermost first: security headers ([`headers`]), request id and access log, CORS, metrics and
//! `analytics.api_metrics` capture, request timeout, body size limit,
//! authentication; rate limiting on the enhance, analyze and auth routes.

pub mod audit;
pub mod auth;
pub mod controllers;
pub mod cookies;
pub mod error;
pub mod extract;
pub mod headers;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod observe;
pub mod openapi;
pub mod recorder;
pub mod request_id;
pub mod routes;
pub mod startup;
pub mod state;
pub mod tls;
pub mod web;

pub use error::ApiError;
pub use startup::{BATCH_BODY_LIMIT_BYTES, BODY_LIMIT_BYTES, REQUEST_TIMEOUT, router, serve, serve_tls};
pub use state::{ApiConfig, App, AppState, AuthSettings};
