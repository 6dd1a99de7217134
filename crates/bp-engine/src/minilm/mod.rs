//! The sentence-embedding model: all-MiniLM-L6-v2 (Apache-2.0), run
//! in-process with no network.
//!
//! Two forms, measured side by side in `bench engine`:
//! - [`Bert`]: the full 6-layer transformer. Faithful, but milliseconds per
//!   prompt.
//! - [`StaticModel`]: a static distillation in the manner of Model2Vec.
//!   Every vocabulary token is run once through the transformer (as
//!   `[CLS] token [SEP]`, mean-pooled); the table is centred so that the
//!   direction every token shares drops out, reduced by PCA to its
//!   [`DIMS`] principal directions, and each row is weighted by the log of
//!   its frequency rank (Zipf), so that frequent pieces count less. A
//!   prompt's vector is then the mean of its tokens' rows: microseconds
//!   per prompt. This is the form the request path uses, for
//!   intent features and for semantic search.
//!
//! This crate does no I/O: callers pass the bytes of `vocab.txt`,
//! `model.safetensors` and the distilled table (see `bp_service::model`).

mod bert;
mod tokenizer;

use ndarray::Array2;
use sha2::{Digest, Sha256};

pub use bert::{Bert, MAX_TOKENS};
pub use tokenizer::Tokenizer;

/// Width of the transformer's vectors.
pub const WIDTH: usize = 384;

/// Width of the distilled table's vectors (the transformer's, reduced by
/// PCA): a third of the memory and of the per-token work, at a small cost
/// in fidelity (see docs/engine.md).
pub const DIMS: usize = 128;

/// The model name stored with each embedding the static model makes
/// (`prompts.embeddings.model_version`).
pub const STATIC_MODEL: &str = "all-MiniLM-L6-v2-static-v2";

/// The file name of the distilled table inside the model directory.
pub const STATIC_FILE: &str = "static-v2.bin";

/// The model name of the full transformer's embeddings.
pub const FULL_MODEL: &str = "all-MiniLM-L6-v2";

/// Why a model could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A model file is not what it should be.
    #[error("the sentence model is damaged: {0}")]
    Corrupt(String),
}

const MAGIC: &[u8; 8] = b"BPSTAT02";

/// The distilled per-token table (see the module docs), stored as 8-bit
/// integers with one scale per row: 4 MB instead of 16, so that the rows a
/// request touches stay in the processor's cache beside the intent model's
/// own weights (measured: the f32 table cost twice the time per prompt once
/// interleaved with the rest of an enhancement).
#[derive(Debug, Clone)]
pub struct StaticModel {
    tokenizer: Tokenizer,
    /// Per row: the value one unit of `table` stands for.
    scales: Vec<f32>,
    /// `vocab × DIMS`, row-major: centred, reduced, weighted, quantised.
    table: Vec<i8>,
}

impl StaticModel {
    /// Distils `bert` into a table, one `[CLS] token [SEP]` pass per
    /// vocabulary token, on all cores. `progress(done, total)` is called as
    /// batches finish.
    pub fn distill(
        tokenizer: &Tokenizer,
        bert: &Bert,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> StaticModel {
        const BATCH: usize = 256;
        let vocab = tokenizer.len();
        let mut table = vec![0f32; vocab * WIDTH];
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let done = std::sync::atomic::AtomicUsize::new(0);
        let chunks: Vec<(usize, &mut [f32])> = table
            .chunks_mut(BATCH * WIDTH)
            .enumerate()
            .map(|(i, chunk)| (i * BATCH, chunk))
            .collect();
        let queue = std::sync::Mutex::new(chunks);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    // A poisoned lock means another worker panicked; the
                    // scope re-raises that panic, so stopping here is safe.
                    while let Some((first, rows)) = queue.lock().ok().and_then(|mut q| q.pop()) {
                        let n = rows.len() / WIDTH;
                        let ids: Vec<u32> = (first..first + n)
                            .flat_map(|id| [tokenizer::CLS, id as u32, tokenizer::SEP])
                            .collect();
                        let pooled = bert.forward(&ids, n, 3);
                        for (r, row) in pooled.rows().into_iter().enumerate() {
                            rows[r * WIDTH..(r + 1) * WIDTH]
                                .copy_from_slice(row.as_slice().unwrap_or(&[0.0; WIDTH]));
                        }
                        let total = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
                        progress(total, vocab);
                    }
                });
            }
        });
        // Rows that never occur in text (padding, [unusedN]) stay out of the mean.
        let used: Vec<bool> = (0..vocab)
            .map(|id| {
                let t = tokenizer.token(id as u32).unwrap_or("");
                !(t.starts_with("[unused") || matches!(t, "[PAD]" | "[CLS]" | "[SEP]" | "[MASK]"))
            })
            .collect();
        let mut mean = [0f64; WIDTH];
        let count = used.iter().filter(|u| **u).count().max(1) as f64;
        for (id, row) in table.chunks(WIDTH).enumerate() {
            if used[id] {
                mean.iter_mut()
                    .zip(row)
                    .for_each(|(m, v)| *m += f64::from(*v) / count);
            }
        }
        for (id, row) in table.chunks_mut(WIDTH).enumerate() {
            let keep = if used[id] { 1.0 } else { 0.0 };
            row.iter_mut()
                .zip(&mean)
                .for_each(|(v, m)| *v = (*v - *m as f32) * keep);
        }
        // The table was built as `vocab × WIDTH`: the shape holds.
        let centred =
            Array2::from_shape_vec((vocab, WIDTH), table).unwrap_or_else(|_| Array2::zeros((vocab, WIDTH)));
        let basis = principal_directions(&centred, DIMS);
        let mut reduced = centred.dot(&basis);
        for (id, mut row) in reduced.rows_mut().into_iter().enumerate() {
            row *= zipf_weight(id);
        }
        let mut scales = Vec::with_capacity(vocab);
        let mut table = Vec::with_capacity(vocab * DIMS);
        for row in reduced.rows() {
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
            scales.push(scale);
            // |v / scale| <= 127 by construction: the cast cannot saturate.
            table.extend(row.iter().map(|v| (v / scale).round() as i8));
        }
        StaticModel {
            tokenizer: tokenizer.clone(),
            scales,
            table,
        }
    }

    /// The table as bytes: a magic, the vocabulary size, the row scales
    /// (f32, little-endian), the rows (i8) and a SHA-256 of all that.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.scales.len() * 4 + self.table.len() + 32);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.tokenizer.len() as u64).to_le_bytes());
        for v in &self.scales {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend(self.table.iter().map(|v| v.to_le_bytes()[0]));
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Reads a table written by [`StaticModel::to_bytes`] for this vocabulary.
    pub fn from_bytes(tokenizer: Tokenizer, bytes: &[u8]) -> Result<StaticModel, ModelError> {
        let bad = |why: &str| ModelError::Corrupt(format!("the distilled table: {why}"));
        if bytes.len() < 48 || &bytes[..8] != MAGIC {
            return Err(bad("not a table this version wrote"));
        }
        let (body, digest) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != digest {
            return Err(bad("checksum mismatch (a partial or altered file)"));
        }
        let mut vocab = [0u8; 8];
        vocab.copy_from_slice(&body[8..16]);
        let vocab = u64::from_le_bytes(vocab) as usize;
        if vocab != tokenizer.len() || body.len() != 16 + vocab * 4 + vocab * DIMS {
            return Err(bad("made for another vocabulary"));
        }
        let (scales, table) = body[16..].split_at(vocab * 4);
        let scales = scales
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let table = table.iter().map(|b| i8::from_le_bytes([*b])).collect();
        Ok(StaticModel {
            tokenizer,
            scales,
            table,
        })
    }

    /// The tokenizer the table is indexed by.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The unit-length vector of `text` (all zeros for a text with no
    /// tokens). Only the first [`MAX_TOKENS`] tokens count, as in the
    /// transformer: the start of a prompt says what it asks, and a pasted
    /// document after it would otherwise drown that out.
    pub fn embed(&self, text: &str) -> [f32; DIMS] {
        let mut v = [0f32; DIMS];
        for id in self
            .tokenizer
            .encode_at_most(text, MAX_TOKENS)
            .into_iter()
            .take(MAX_TOKENS)
        {
            let start = id as usize * DIMS;
            if let (Some(row), Some(scale)) =
                (self.table.get(start..start + DIMS), self.scales.get(id as usize))
            {
                v.iter_mut()
                    .zip(row)
                    .for_each(|(a, b)| *a += scale * f32::from(*b));
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }
}

/// The `k` leading principal directions of the rows of `x` (already
/// centred), as the columns of a `WIDTH × k` matrix: orthogonal iteration
/// on the covariance from a fixed start, which converges to the top
/// eigenvectors' span (the order inside it does not matter to cosines or
/// to a linear classifier).
fn principal_directions(x: &Array2<f32>, k: usize) -> Array2<f32> {
    let n = x.nrows().max(1) as f32;
    let cov = x.t().dot(x) / n;
    // A deterministic, full-rank start: the identity's first k columns plus
    // a small spread, so no direction starts orthogonal to the answer.
    let mut q = Array2::<f32>::from_shape_fn((x.ncols(), k), |(i, j)| {
        if i == j {
            1.0
        } else {
            (((i * 31 + j * 17) % 97) as f32 / 97.0 - 0.5) * 0.01
        }
    });
    for _ in 0..60 {
        q = cov.dot(&q);
        orthonormalise(&mut q);
    }
    q
}

/// Modified Gram-Schmidt on the columns of `q`.
fn orthonormalise(q: &mut Array2<f32>) {
    for j in 0..q.ncols() {
        for i in 0..j {
            let dot = q.column(i).dot(&q.column(j));
            let prev = q.column(i).to_owned();
            q.column_mut(j).scaled_add(-dot, &prev);
        }
        let norm = q.column(j).dot(&q.column(j)).sqrt().max(1e-12);
        q.column_mut(j).mapv_inplace(|v| v / norm);
    }
}

/// Zipf weight of a token: BERT's uncased vocabulary lists whole words from
/// id 1996 on, most frequent first ("the" is 1996); the ids below it are
/// single characters and punctuation, weighted as the most frequent words.
fn zipf_weight(id: usize) -> f32 {
    let rank = id.saturating_sub(1996) as f32;
    (2.0 + rank).ln()
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Checks against the real model files, which `betterprompts model install`
/// puts in `BP_MODEL_DIR`; `scripts/test.sh` installs them and sets
/// `BP_REQUIRE_MODEL=1`, so that in `make test` these checks cannot skip.
#[cfg(test)]
mod real_model {
    use super::*;

    fn files() -> Option<(Tokenizer, Vec<u8>, Option<Vec<u8>>)> {
        let dir = match std::env::var("BP_MODEL_DIR") {
            Ok(dir) => std::path::PathBuf::from(dir),
            Err(_) => {
                assert!(
                    std::env::var("BP_REQUIRE_MODEL").is_err(),
                    "BP_REQUIRE_MODEL is set but BP_MODEL_DIR is not"
                );
                eprintln!("BP_MODEL_DIR unset: the real-model checks are skipped");
                return None;
            }
        };
        let vocab = std::fs::read_to_string(dir.join("vocab.txt")).expect("vocab.txt is installed");
        let weights = std::fs::read(dir.join("model.safetensors")).expect("model.safetensors is installed");
        let table = std::fs::read(dir.join(STATIC_FILE)).ok();
        Some((
            Tokenizer::from_vocab(&vocab).expect("the installed vocabulary loads"),
            weights,
            table,
        ))
    }

    /// sentence-transformers' own quick-start prints these similarities for
    /// all-MiniLM-L6-v2: 0.6660, 0.1046 and 0.1411.
    #[test]
    fn the_transformer_reproduces_the_reference_similarities() {
        let Some((tokenizer, weights, _)) = files() else {
            return;
        };
        let bert = Bert::from_safetensors(&weights, tokenizer.len()).expect("the weights load");
        let v: Vec<Vec<f32>> = [
            "The weather is lovely today.",
            "It's so sunny outside!",
            "He drove to the stadium.",
        ]
        .iter()
        .map(|s| bert.embed(&tokenizer, s))
        .collect();
        let sims = [cosine(&v[0], &v[1]), cosine(&v[0], &v[2]), cosine(&v[1], &v[2])];
        for (got, want) in sims.iter().zip([0.6660, 0.1046, 0.1411]) {
            assert!((got - want).abs() < 0.0005, "similarities {sims:?}");
        }
    }

    #[test]
    fn the_distilled_table_ranks_paraphrases_above_unrelated_prompts() {
        let Some((tokenizer, _, Some(table))) = files() else {
            return;
        };
        let model = StaticModel::from_bytes(tokenizer, &table).expect("the installed table loads");
        let a = model.embed("How do I bake sourdough bread at home?");
        let b = model.embed("Give me a recipe for a homemade sourdough loaf");
        let c = model.embed("Explain the tax rules for selling shares");
        assert!(
            cosine(&a, &b) > cosine(&a, &c) + 0.2,
            "{} vs {}",
            cosine(&a, &b),
            cosine(&a, &c)
        );
        let round_trip =
            StaticModel::from_bytes(model.tokenizer().clone(), &model.to_bytes()).expect("round trip");
        assert_eq!(round_trip.embed("same text"), model.embed("same text"));
    }
}
