//! Handlers, one module per area.

pub mod account;
pub mod admin;
pub mod auth;
pub mod dev;
pub mod enhance;
pub mod feedback;
pub mod health;
pub mod history;
pub mod library;
pub mod search;

use schemars::JsonSchema;
use serde::Serialize;

/// A confirmation with nothing else to return.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Message {
    /// What was done.
    pub message: String,
}

impl Message {
    /// A confirmation saying `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self { message: text.into() }
    }
}

/// Where a page stands in its list. Offset pages fill every field; cursor
/// pages fill `limit`, `has_next` and `next_cursor`.
#[derive(Debug, Serialize, JsonSchema, Default)]
pub struct Pagination {
    /// The page, from 1 (offset pages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Items per page.
    pub limit: u32,
    /// Matching items across pages (offset pages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_records: Option<i64>,
    /// Pages (offset pages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_pages: Option<i64>,
    /// Whether a page comes before (offset pages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_previous: Option<bool>,
    /// Whether a page comes after.
    pub has_next: bool,
    /// The keyset cursor of the next page, where the list supports one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<Option<String>>,
}

/// The pagination of an offset-paged list.
pub fn pagination<T>(page: &bp_store::Page<T>) -> Pagination {
    let total_pages = page.total_pages();
    let current = i64::from(page.request.page);
    Pagination {
        page: Some(page.request.page),
        limit: page.request.limit,
        total_records: Some(page.total),
        total_pages: Some(total_pages),
        has_previous: Some(current > 1),
        has_next: current < total_pages,
        next_cursor: None,
    }
}
