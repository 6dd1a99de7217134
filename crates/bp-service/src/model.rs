//! The sentence model at run time: loading the distilled all-MiniLM-L6-v2
//! table from the model directory (`BP_MODEL_DIR`), the embedder built on
//! it, and the distillation `betterprompts model install` runs once after
//! fetching the files (see `bp_engine::minilm`).
//!
//! A missing model is not fatal: the service falls back to the lexical
//! embedder and lexical intent features, says so once at start (naming the
//! install step), and `/ready`, `db health` and search answers name the
//! embedder in use.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bp_engine::embed::{BoxFuture, DIMENSIONS, EmbedError, Embedder, LocalEmbedder};
use bp_engine::minilm::{Bert, STATIC_FILE, STATIC_MODEL, StaticModel, Tokenizer};

/// How the sentence model loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelState {
    /// Loaded from this directory.
    Loaded(PathBuf),
    /// Not installed in this directory.
    Missing(PathBuf),
    /// Installed but unreadable or damaged.
    Broken(PathBuf, String),
}

impl ModelState {
    /// One line for logs and `db health`.
    pub fn describe(&self) -> String {
        match self {
            ModelState::Loaded(dir) => format!("{STATIC_MODEL} loaded from {}", dir.display()),
            ModelState::Missing(dir) => format!(
                "not installed in {}; run `betterprompts model install` (search and intent use lexical features until then)",
                dir.display()
            ),
            ModelState::Broken(dir, why) => format!(
                "unusable in {} ({why}); run `betterprompts model install --force` (lexical features meanwhile)",
                dir.display()
            ),
        }
    }
}

/// True when `dir` holds the distilled table and the vocabulary.
pub fn is_distilled(dir: &Path) -> bool {
    dir.join(STATIC_FILE).is_file() && dir.join("vocab.txt").is_file()
}

/// Loads the distilled table from `dir`.
pub fn load(dir: &Path) -> (Option<Arc<StaticModel>>, ModelState) {
    if !is_distilled(dir) {
        return (None, ModelState::Missing(dir.to_path_buf()));
    }
    let loaded = (|| -> Result<StaticModel, String> {
        let tokenizer = read_tokenizer(dir)?;
        let table = std::fs::read(dir.join(STATIC_FILE)).map_err(|e| format!("{STATIC_FILE}: {e}"))?;
        StaticModel::from_bytes(tokenizer, &table).map_err(|e| e.to_string())
    })();
    match loaded {
        Ok(model) => (Some(Arc::new(model)), ModelState::Loaded(dir.to_path_buf())),
        Err(why) => (None, ModelState::Broken(dir.to_path_buf(), why)),
    }
}

fn read_tokenizer(dir: &Path) -> Result<Tokenizer, String> {
    let vocab = std::fs::read_to_string(dir.join("vocab.txt")).map_err(|e| format!("vocab.txt: {e}"))?;
    Tokenizer::from_vocab(&vocab)
}

/// Loads the full transformer from `dir` (for distillation and `bench`).
pub fn load_full(dir: &Path) -> Result<(Tokenizer, Bert), String> {
    let tokenizer = read_tokenizer(dir)?;
    let weights =
        std::fs::read(dir.join("model.safetensors")).map_err(|e| format!("model.safetensors: {e}"))?;
    let bert = Bert::from_safetensors(&weights, tokenizer.len()).map_err(|e| e.to_string())?;
    Ok((tokenizer, bert))
}

/// Distils the transformer in `dir` into its table, written under a
/// temporary name and renamed, so that a crash leaves no partial table.
pub fn distill(dir: &Path, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<(), String> {
    let (tokenizer, bert) = load_full(dir)?;
    let model = StaticModel::distill(&tokenizer, &bert, progress);
    let partial = dir.join(format!(".{STATIC_FILE}.partial"));
    std::fs::write(&partial, model.to_bytes()).map_err(|e| format!("writing {}: {e}", partial.display()))?;
    std::fs::rename(&partial, dir.join(STATIC_FILE))
        .map_err(|e| format!("renaming {}: {e}", partial.display()))
}

/// The embedder over the distilled model. Its 128 dimensions fill the start
/// half of the 768-wide column; the rest is zero, which leaves cosine
/// distances unchanged and the schema that of the original services.
#[derive(Debug, Clone)]
pub struct StaticEmbedder(pub Arc<StaticModel>);

impl StaticEmbedder {
    /// The padded vector of one text.
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = self.0.embed(text).to_vec();
        v.resize(DIMENSIONS, 0.0);
        v
    }
}

impl Embedder for StaticEmbedder {
    fn model(&self) -> &str {
        STATIC_MODEL
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        Box::pin(async move { Ok(texts.iter().map(|t| self.vector(t)).collect()) })
    }

    fn sentence_model(&self) -> Option<Arc<StaticModel>> {
        Some(self.0.clone())
    }
}

/// The local embedder for `dir`: the sentence model when it loads, else the
/// lexical one; with the state to report.
pub fn local_embedder(dir: &Path) -> (Arc<dyn Embedder>, ModelState) {
    match load(dir) {
        (Some(model), state) => (Arc::new(StaticEmbedder(model)), state),
        (None, state) => (Arc::new(LocalEmbedder), state),
    }
}
