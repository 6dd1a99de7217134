//! The Redis cache keys this service owns, in the `techniques:` namespace:
//! the catalogue answer and each intent's measured effectiveness. Writers
//! of feedback forget them; nothing else builds them.

/// The technique catalogue with effectiveness (`GET /techniques`).
pub const CATALOGUE: &[&str] = &["catalogue"];

/// The effectiveness rows of one intent, read by selection.
pub fn effectiveness(intent: &str) -> [&str; 2] {
    ["effectiveness", intent]
}
