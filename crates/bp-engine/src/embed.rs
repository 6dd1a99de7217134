//! Embeddings for semantic search. [`Embedder`] is implemented here by the
//! built-in [`LocalEmbedder`] and, in the API crate, by an OpenAI-compatible
//! HTTP provider. The local embedder needs no model download: it hashes word
//! unigrams, bigrams and character 3-grams into 768 signed buckets,
//! weights them by sublinear term frequency and L2-normalises the vector.
//! It is **lexical, not semantic**: texts that share words and word pieces
//! are close, synonyms are not. Configure an HTTP provider (e.g. Ollama's
//! nomic-embed-text) for real semantic search.

use std::future::Future;
use std::pin::Pin;

use crate::text::{FeatureKind, FeatureSpec, for_each_feature, words};

/// Dimensions of `prompts.embeddings.embedding`.
pub const DIMENSIONS: usize = 768;

/// A boxed future, so that [`Embedder`] can be used as `dyn Embedder`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why embedding failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbedError {
    /// The provider could not be reached or answered with an error.
    #[error("embedding provider failed: {0}")]
    Provider(String),
    /// The provider answered with the wrong number or size of vectors.
    #[error("embedding provider answered badly: {0}")]
    BadResponse(String),
}

/// Turns texts into [`DIMENSIONS`]-dimensional vectors.
pub trait Embedder: Send + Sync + std::fmt::Debug {
    /// The model name stored with each embedding (`model_version`).
    fn model(&self) -> &str;

    /// One vector per text, in order.
    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>>;

    /// The in-process sentence model behind this embedder, if any; the
    /// intent model adds its vectors to its features.
    fn sentence_model(&self) -> Option<std::sync::Arc<crate::minilm::StaticModel>> {
        None
    }
}

/// The built-in lexical embedder (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalEmbedder;

/// The model name the local embedder stores.
pub const LOCAL_MODEL: &str = "local-hash-768-v1";

impl LocalEmbedder {
    /// The vector of one text (all zeros for a text without words).
    pub fn vector(text: &str) -> Vec<f32> {
        let spec = FeatureSpec {
            words: true,
            bigrams: true,
            char_min: 3,
            char_max: 3,
        };
        let mut counts: Vec<(u64, FeatureKind)> = Vec::new();
        for_each_feature(&words(text), spec, |kind, h| counts.push((h, kind)));
        counts.sort_unstable_by_key(|(h, _)| *h);
        let mut v = vec![0f32; DIMENSIONS];
        let mut i = 0;
        while i < counts.len() {
            let (h, kind) = counts[i];
            let mut n = 0;
            while i < counts.len() && counts[i].0 == h {
                n += 1;
                i += 1;
            }
            let weight = match kind {
                FeatureKind::Word => 1.0,
                FeatureKind::Bigram => 0.7,
                FeatureKind::Chars => 0.4,
            } * (1.0 + (n as f32).ln());
            let sign = if (h >> 63) == 0 { 1.0 } else { -1.0 };
            v[(h % DIMENSIONS as u64) as usize] += sign * weight;
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }
}

impl Embedder for LocalEmbedder {
    fn model(&self) -> &str {
        LOCAL_MODEL
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        Box::pin(async move { Ok(texts.iter().map(|t| LocalEmbedder::vector(t)).collect()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn vectors_are_unit_length_and_deterministic() {
        let v = LocalEmbedder::vector("Write a Python function that merges two sorted lists");
        assert_eq!(v.len(), DIMENSIONS);
        assert!((cosine(&v, &v) - 1.0).abs() < 1e-4);
        assert_eq!(
            v,
            LocalEmbedder::vector("Write a Python function that merges two sorted lists")
        );
        assert!(LocalEmbedder::vector("?!").iter().all(|x| *x == 0.0));
    }

    #[test]
    fn texts_sharing_words_are_closer_than_unrelated_ones() {
        let a = LocalEmbedder::vector("merge two sorted lists in python");
        let b = LocalEmbedder::vector("python function to merge sorted arrays");
        let c = LocalEmbedder::vector("plan a wedding in Tuscany next summer");
        assert!(
            cosine(&a, &b) > cosine(&a, &c) + 0.2,
            "{} vs {}",
            cosine(&a, &b),
            cosine(&a, &c)
        );
    }
}
