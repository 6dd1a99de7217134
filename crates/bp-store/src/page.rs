//! Page/limit pagination shared by list queries.

use crate::error::{StoreError, invalid};

/// The largest page a caller may ask for.
pub const MAX_LIMIT: u32 = 100;

/// A 1-based page of `limit` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number.
    pub page: u32,
    /// Rows per page, 1..=[`MAX_LIMIT`].
    pub limit: u32,
}

impl PageRequest {
    /// Validates the numbers.
    pub fn new(page: u32, limit: u32) -> Result<Self, StoreError> {
        if page == 0 {
            return Err(invalid("page", "pages start at 1"));
        }
        if limit == 0 || limit > MAX_LIMIT {
            return Err(invalid("limit", format!("must be 1 to {MAX_LIMIT}")));
        }
        Ok(Self { page, limit })
    }

    /// SQL `OFFSET`.
    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.limit)
    }
}

/// One page of results and the total number of matching rows.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// All matching rows, across pages.
    pub total: i64,
    /// What was asked for.
    pub request: PageRequest,
}

impl<T> Page<T> {
    /// Number of pages for `total` rows.
    pub fn total_pages(&self) -> i64 {
        (self.total + i64::from(self.request.limit) - 1) / i64::from(self.request.limit)
    }
}

/// Escapes `%`, `_` and `\` so user text matches literally in `LIKE`/`ILIKE`.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_requests_are_bounded_and_offsets_computed() {
        assert!(PageRequest::new(0, 10).is_err());
        assert!(PageRequest::new(1, 0).is_err());
        assert!(PageRequest::new(1, 101).is_err());
        assert_eq!(PageRequest::new(3, 20).unwrap().offset(), 40);
        let page = Page::<()> {
            items: vec![],
            total: 41,
            request: PageRequest::new(1, 20).unwrap(),
        };
        assert_eq!(page.total_pages(), 3);
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
