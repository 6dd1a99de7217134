//! The intent classifier: multinomial logistic regression over TF-IDF
//! features (word unigrams and bigrams, character 2..=4-grams inside word
//! boundaries), trained in-process by stochastic gradient descent with L2
//! regularisation, then calibrated by temperature scaling on out-of-fold
//! predictions so that `confidence` reads as a probability.
//!
//! Why this model (measured on the held-out set, see docs/benchmarks.md):
//! character n-grams carry typos, inflections and code tokens that whole
//! words miss; logistic regression gives probabilities directly, unlike a
//! linear SVM, and is better calibrated than naive Bayes; training 650
//! patterns takes tens of milliseconds, so a server retrains on start and
//! whenever the patterns change instead of shipping a model file.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::minilm::{DIMS, StaticModel};
use crate::text::{FeatureKind, FeatureSpec, for_each_feature, words};
use crate::vocabulary::Intent;

const CLASSES: usize = 10;

/// One labelled training or evaluation text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The prompt.
    pub text: String,
    /// Its intent.
    pub intent: Intent,
}

/// Training settings; part of the model version.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainParams {
    /// Passes over the data.
    pub epochs: u32,
    /// L2 regularisation strength.
    pub alpha: f64,
    /// Initial learning rate.
    pub eta0: f64,
    /// Shuffling seed (training is deterministic for a seed).
    pub seed: u64,
    /// Folds for the temperature fit (0 or 1 = no calibration).
    pub calibration_folds: u32,
    /// Which features to use.
    pub features: FeatureSpec,
    /// Weight of the word block against the character block.
    pub word_weight: f32,
    /// Weight of the sentence-embedding block (used when the model is given
    /// a sentence encoder).
    pub dense_weight: f32,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            epochs: 20,
            alpha: 1e-4,
            eta0: 0.5,
            seed: 0x5eed,
            calibration_folds: 3,
            features: FeatureSpec {
                words: true,
                bigrams: true,
                char_min: 2,
                char_max: 4,
            },
            word_weight: 1.0,
            dense_weight: 0.5,
        }
    }
}

/// A classification.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentPrediction {
    /// The most probable intent.
    pub intent: Intent,
    /// Its calibrated probability.
    pub confidence: f64,
    /// Every intent's probability, most probable first.
    pub scores: Vec<(Intent, f64)>,
}

/// Keys are already FNV hashes; one multiply spreads them over the table.
#[derive(Default)]
struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type Vocab = HashMap<u64, u32, BuildHasherDefault<PrehashedHasher>>;

/// A sparse, normalised feature vector: (feature index, value).
type Sparse = Vec<(u32, f32)>;

/// Feature extraction fitted on a training set: vocabulary and IDF weights.
#[derive(Debug, Clone)]
struct Vectorizer {
    vocab: Vocab,
    idf: Vec<f32>,
    spec: FeatureSpec,
    word_weight: f32,
    /// The sentence encoder whose vector is appended after the lexical
    /// features, with its weight.
    dense: Option<(Arc<StaticModel>, f32)>,
}

fn is_word_block(kind: FeatureKind) -> bool {
    !matches!(kind, FeatureKind::Chars)
}

impl Vectorizer {
    fn fit<'a>(
        texts: impl Iterator<Item = &'a str>,
        spec: FeatureSpec,
        word_weight: f32,
        dense: Option<(Arc<StaticModel>, f32)>,
    ) -> Self {
        let mut vocab = Vocab::default();
        let mut df: Vec<u32> = Vec::new();
        let mut docs = 0u32;
        let mut seen: Vec<u32> = Vec::new();
        for text in texts {
            docs += 1;
            seen.clear();
            for_each_feature(&words(text), spec, |_, h| {
                let next = vocab.len() as u32;
                let idx = *vocab.entry(h).or_insert(next);
                if idx as usize == df.len() {
                    df.push(0);
                }
                seen.push(idx);
            });
            seen.sort_unstable();
            seen.dedup();
            for idx in &seen {
                df[*idx as usize] += 1;
            }
        }
        let n = f64::from(docs);
        // Smoothed IDF, as scikit-learn's TfidfVectorizer computes it.
        let idf = df
            .iter()
            .map(|d| (((1.0 + n) / (1.0 + f64::from(*d))).ln() + 1.0) as f32)
            .collect();
        Vectorizer {
            vocab,
            idf,
            spec,
            word_weight,
            dense,
        }
    }

    fn features(&self) -> usize {
        self.idf.len() + if self.dense.is_some() { DIMS } else { 0 }
    }

    /// Sublinear TF-IDF, each block L2-normalised; unknown features dropped.
    fn transform(&self, text: &str) -> Sparse {
        let mut hits: Vec<(u32, bool)> = Vec::new();
        for_each_feature(&words(text), self.spec, |kind, h| {
            if let Some(idx) = self.vocab.get(&h) {
                hits.push((*idx, is_word_block(kind)));
            }
        });
        hits.sort_unstable();
        let mut out: Sparse = Vec::with_capacity(hits.len());
        let mut blocks: Vec<bool> = Vec::with_capacity(hits.len());
        let mut i = 0;
        while i < hits.len() {
            let (idx, block) = hits[i];
            let mut count = 0u32;
            while i < hits.len() && hits[i].0 == idx {
                count += 1;
                i += 1;
            }
            let tf = 1.0 + (count as f32).ln();
            out.push((idx, tf * self.idf[idx as usize]));
            blocks.push(block);
        }
        for (block, weight) in [(true, self.word_weight), (false, 1.0)] {
            let norm = out
                .iter()
                .zip(&blocks)
                .filter(|(_, b)| **b == block)
                .map(|((_, v), _)| v * v)
                .sum::<f32>()
                .sqrt();
            if norm > 0.0 {
                for ((_, v), _) in out.iter_mut().zip(&blocks).filter(|(_, b)| **b == block) {
                    *v *= weight / norm;
                }
            }
        }
        if let Some((model, weight)) = &self.dense {
            let base = self.idf.len() as u32;
            let vector = model.embed(text);
            out.extend(
                vector
                    .iter()
                    .enumerate()
                    .map(|(j, v)| (base + j as u32, v * weight)),
            );
        }
        out
    }
}

/// Softmax regression weights, feature-major (`weights[f * CLASSES + k]`).
#[derive(Debug, Clone)]
struct Linear {
    weights: Vec<f32>,
    bias: [f32; CLASSES],
}

impl Linear {
    fn logits(&self, x: &Sparse) -> [f32; CLASSES] {
        let mut z = self.bias;
        for (idx, v) in x {
            let row = &self.weights[*idx as usize * CLASSES..][..CLASSES];
            for (zk, wk) in z.iter_mut().zip(row) {
                *zk += wk * v;
            }
        }
        z
    }

    /// SGD on the cross-entropy with L2, using the scaled-weights trick so
    /// that the decay costs O(1) per step instead of O(features).
    fn train(xs: &[Sparse], ys: &[usize], features: usize, p: &TrainParams) -> Linear {
        let mut w = vec![0f32; features * CLASSES];
        let mut bias = [0f32; CLASSES];
        let mut scale = 1f64;
        let mut order: Vec<usize> = (0..xs.len()).collect();
        let mut rng = SplitMix(p.seed);
        let mut t = 0f64;
        for _ in 0..p.epochs {
            shuffle(&mut order, &mut rng);
            for &i in &order {
                let eta = p.eta0 / (1.0 + p.eta0 * p.alpha * t);
                t += 1.0;
                let mut z = bias;
                for (idx, v) in &xs[i] {
                    let row = &w[*idx as usize * CLASSES..][..CLASSES];
                    for (zk, wk) in z.iter_mut().zip(row) {
                        *zk += (f64::from(*wk) * scale) as f32 * v;
                    }
                }
                let probs = softmax(&z, 1.0);
                scale *= 1.0 - eta * p.alpha;
                let step = eta / scale;
                for (idx, v) in &xs[i] {
                    let row = &mut w[*idx as usize * CLASSES..][..CLASSES];
                    for (k, wk) in row.iter_mut().enumerate() {
                        let g = probs[k] - f64::from(u8::from(k == ys[i]));
                        *wk -= (step * g * f64::from(*v)) as f32;
                    }
                }
                for (k, b) in bias.iter_mut().enumerate() {
                    let g = probs[k] - f64::from(u8::from(k == ys[i]));
                    *b -= (eta * 0.1 * g) as f32;
                }
                if scale < 1e-6 {
                    w.iter_mut().for_each(|x| *x = (f64::from(*x) * scale) as f32);
                    scale = 1.0;
                }
            }
        }
        w.iter_mut().for_each(|x| *x = (f64::from(*x) * scale) as f32);
        Linear { weights: w, bias }
    }
}

fn softmax(z: &[f32; CLASSES], temperature: f64) -> [f64; CLASSES] {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut out = [0f64; CLASSES];
    let mut sum = 0.0;
    for (o, zk) in out.iter_mut().zip(z) {
        *o = ((f64::from(*zk) - f64::from(max)) / temperature).exp();
        sum += *o;
    }
    out.iter_mut().for_each(|o| *o /= sum);
    out
}

/// A small deterministic generator for shuffling (SplitMix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn shuffle(v: &mut [usize], rng: &mut SplitMix) {
    for i in (1..v.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// A trained intent classifier. Cheap to share behind an `Arc`; immutable.
#[derive(Debug, Clone)]
pub struct IntentModel {
    vectorizer: Vectorizer,
    linear: Linear,
    temperature: f64,
    version: String,
    examples: usize,
}

/// Why a model could not be trained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrainError {
    /// Fewer examples than needed to learn anything.
    #[error("need at least {needed} training examples, got {got}")]
    TooFew {
        /// The minimum.
        needed: usize,
        /// What was given.
        got: usize,
    },
    /// An intent without a single example would never be predicted.
    #[error("no training examples for intent `{0}`")]
    MissingIntent(Intent),
}

/// Fewest examples a model is trained from.
pub const MIN_EXAMPLES: usize = 20;

impl IntentModel {
    /// Trains on `examples` (every intent must have at least one), on
    /// lexical features only.
    pub fn train(examples: &[Example], params: &TrainParams) -> Result<IntentModel, TrainError> {
        Self::train_with(examples, params, None)
    }

    /// Trains on `examples` with lexical features and, when `encoder` is
    /// given, its sentence embedding of each text (weighted by
    /// `params.dense_weight`).
    pub fn train_with(
        examples: &[Example],
        params: &TrainParams,
        encoder: Option<Arc<StaticModel>>,
    ) -> Result<IntentModel, TrainError> {
        if examples.len() < MIN_EXAMPLES {
            return Err(TrainError::TooFew {
                needed: MIN_EXAMPLES,
                got: examples.len(),
            });
        }
        if let Some(missing) = Intent::ALL
            .iter()
            .find(|i| !examples.iter().any(|e| e.intent == **i))
        {
            return Err(TrainError::MissingIntent(*missing));
        }
        let dense = encoder.map(|e| (e, params.dense_weight));
        // The final fit and the calibration folds are independent: on two
        // threads, a server is ready in about half the time.
        let (temperature, (vectorizer, linear)) = std::thread::scope(|scope| {
            let final_fit = scope.spawn(|| fit(examples, params, dense.clone()));
            let temperature = fit_temperature(examples, params, &dense);
            let fitted = final_fit
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (temperature, fitted)
        });
        Ok(IntentModel {
            version: model_version(examples, params, dense.is_some()),
            vectorizer,
            linear,
            temperature,
            examples: examples.len(),
        })
    }

    /// `lr-` and 16 hex digits of SHA-256 over the sorted training set and the
    /// parameters: the same data and settings always give the same version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// How many examples it was trained on.
    pub fn examples(&self) -> usize {
        self.examples
    }

    /// Vocabulary size.
    pub fn features(&self) -> usize {
        self.vectorizer.features()
    }

    /// The fitted softmax temperature (1 = uncalibrated).
    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    /// Classifies one text.
    pub fn classify(&self, text: &str) -> IntentPrediction {
        let probs = softmax(
            &self.linear.logits(&self.vectorizer.transform(text)),
            self.temperature,
        );
        let mut scores: Vec<(Intent, f64)> = Intent::ALL.iter().copied().zip(probs).collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let (intent, confidence) = scores[0];
        IntentPrediction {
            intent,
            confidence,
            scores,
        }
    }
}

fn class_index(intent: Intent) -> usize {
    Intent::ALL.iter().position(|i| *i == intent).unwrap_or(0)
}

fn fit(
    examples: &[Example],
    params: &TrainParams,
    dense: Option<(Arc<StaticModel>, f32)>,
) -> (Vectorizer, Linear) {
    let vectorizer = Vectorizer::fit(
        examples.iter().map(|e| e.text.as_str()),
        params.features,
        params.word_weight,
        dense,
    );
    let xs: Vec<Sparse> = examples.iter().map(|e| vectorizer.transform(&e.text)).collect();
    let ys: Vec<usize> = examples.iter().map(|e| class_index(e.intent)).collect();
    let linear = Linear::train(&xs, &ys, vectorizer.features(), params);
    (vectorizer, linear)
}

/// Most examples the temperature fit trains on: beyond this the fit costs
/// more than it can change the temperature.
const CALIBRATION_SAMPLE: usize = 1_500;

/// The temperature that minimises the log-loss of out-of-fold predictions.
fn fit_temperature(
    examples: &[Example],
    params: &TrainParams,
    dense: &Option<(Arc<StaticModel>, f32)>,
) -> f64 {
    let folds = params.calibration_folds as usize;
    if folds < 2 || examples.len() < folds * 10 {
        return 1.0;
    }
    let mut order: Vec<usize> = (0..examples.len()).collect();
    shuffle(&mut order, &mut SplitMix(params.seed ^ 0xca1b));
    order.truncate(CALIBRATION_SAMPLE);
    let mut held: Vec<([f32; CLASSES], usize)> = Vec::with_capacity(order.len());
    for f in 0..folds {
        let in_fold = |pos: usize| pos % folds == f;
        let train: Vec<Example> = order
            .iter()
            .enumerate()
            .filter(|(pos, _)| !in_fold(*pos))
            .map(|(_, i)| examples[*i].clone())
            .collect();
        let (vectorizer, linear) = fit(&train, params, dense.clone());
        for (_, i) in order.iter().enumerate().filter(|(pos, _)| in_fold(*pos)) {
            let e = &examples[*i];
            held.push((
                linear.logits(&vectorizer.transform(&e.text)),
                class_index(e.intent),
            ));
        }
    }
    let nll = |t: f64| -> f64 { held.iter().map(|(z, y)| -softmax(z, t)[*y].max(1e-12).ln()).sum() };
    // Golden-section search on [0.05, 10]; the log-loss is unimodal in T.
    let (mut lo, mut hi) = (0.05f64, 10.0f64);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..60 {
        let a = hi - g * (hi - lo);
        let b = lo + g * (hi - lo);
        if nll(a) < nll(b) {
            hi = b;
        } else {
            lo = a;
        }
    }
    (lo + hi) / 2.0
}

fn model_version(examples: &[Example], params: &TrainParams, dense: bool) -> String {
    let mut rows: Vec<(Intent, String)> = examples
        .iter()
        .map(|e| (e.intent, e.text.trim().to_lowercase()))
        .collect();
    rows.sort();
    let mut h = Sha256::new();
    h.update(format!("{params:?}\n"));
    if dense {
        h.update(crate::minilm::STATIC_MODEL);
    }
    for (intent, text) in rows {
        h.update(intent.as_str());
        h.update([0]);
        h.update(text);
        h.update([b'\n']);
    }
    format!("lr-{}", &hex::encode(h.finalize())[..16])
}
