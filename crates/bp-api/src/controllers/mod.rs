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

/// The `pagination` object of an offset-paged list.
pub fn pagination<T>(page: &bp_store::Page<T>) -> serde_json::Value {
    let total_pages = page.total_pages();
    let current = i64::from(page.request.page);
    serde_json::json!({
        "page": page.request.page,
        "limit": page.request.limit,
        "total_records": page.total,
        "total_pages": total_pages,
        "has_previous": current > 1,
        "has_next": current < total_pages,
    })
}
