//! The enhancement engine's vocabulary: the 10 intents, 3 complexity levels
//! and 12 prompt-engineering techniques, with their stable string ids (the
//! values stored in `prompts.history`, `prompts.templates` and analytics).
//! This crate does no I/O. Classification, selection and generation build on
//! these types.

mod vocabulary;

pub use vocabulary::{Complexity, Intent, Technique, UnknownId};
