//! The full all-MiniLM-L6-v2 transformer (BERT: 6 layers, 384 wide, 12
//! heads, GELU feed-forward of 1,536), read from `model.safetensors` and run
//! on `ndarray`, whose matrix products use `matrixmultiply`'s runtime-chosen
//! SIMD kernels. Mean pooling over the tokens and L2 normalisation follow,
//! as the model's sentence-transformers configuration prescribes.
//!
//! It costs milliseconds per prompt, too slow for every request; its job is
//! to distil the per-token table of [`super::StaticModel`] once at install
//! time, and to be measured beside it (`bench engine`).

use std::collections::HashMap;

use ndarray::{Array1, Array2, ArrayView2, Axis, Slice};

use super::tokenizer::{CLS, SEP, Tokenizer};
use super::{ModelError, WIDTH};

const LAYERS: usize = 6;
const HEADS: usize = 12;
const HEAD_WIDTH: usize = WIDTH / HEADS;
const INNER: usize = 1536;
const EPS: f32 = 1e-12;
/// The longest sequence the model was trained with, `[CLS]` and `[SEP]` included.
pub const MAX_TOKENS: usize = 256;

/// A dense layer: `y = x · Wᵀ + b`, `W` stored as `[out, in]`.
#[derive(Debug, Clone)]
struct Linear {
    weight: Array2<f32>,
    bias: Array1<f32>,
}

impl Linear {
    fn apply(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let mut y = x.dot(&self.weight.t());
        y += &self.bias;
        y
    }
}

#[derive(Debug, Clone)]
struct LayerNorm {
    weight: Array1<f32>,
    bias: Array1<f32>,
}

impl LayerNorm {
    fn apply(&self, x: &mut Array2<f32>) {
        for mut row in x.rows_mut() {
            let n = row.len() as f32;
            let mean = row.sum() / n;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
            let inv = 1.0 / (var + EPS).sqrt();
            for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *v = (*v - mean) * inv * w + b;
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// The loaded transformer.
#[derive(Debug, Clone)]
pub struct Bert {
    word: Array2<f32>,
    position: Array2<f32>,
    token_type: Array1<f32>,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
}

/// The tensors of a `.safetensors` file, by name (f32 tensors only).
struct Tensors {
    by_name: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl Tensors {
    fn parse(bytes: &[u8]) -> Result<Self, ModelError> {
        let bad = |why: &str| ModelError::Corrupt(format!("model.safetensors: {why}"));
        let head_len = bytes
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| bad("shorter than its header"))?;
        let head_end = usize::try_from(head_len)
            .ok()
            .and_then(|n| n.checked_add(8))
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| bad("header length out of range"))?;
        let header: HashMap<String, serde_json::Value> =
            serde_json::from_slice(&bytes[8..head_end]).map_err(|e| bad(&e.to_string()))?;
        let data = &bytes[head_end..];
        let mut by_name = HashMap::new();
        for (name, info) in header {
            if name == "__metadata__" || info["dtype"] != "F32" {
                continue;
            }
            let shape: Vec<usize> =
                serde_json::from_value(info["shape"].clone()).map_err(|e| bad(&e.to_string()))?;
            let offsets: [usize; 2] =
                serde_json::from_value(info["data_offsets"].clone()).map_err(|e| bad(&e.to_string()))?;
            let raw = data
                .get(offsets[0]..offsets[1])
                .filter(|raw| raw.len() == shape.iter().product::<usize>() * 4)
                .ok_or_else(|| bad(&format!("{name}: data out of range")))?;
            let values = raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            by_name.insert(name, (shape, values));
        }
        Ok(Tensors { by_name })
    }

    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, ModelError> {
        match self.by_name.remove(name) {
            Some((found, values)) if found == shape => Ok(values),
            Some((found, _)) => Err(ModelError::Corrupt(format!(
                "model.safetensors: {name} has shape {found:?}, expected {shape:?}"
            ))),
            None => Err(ModelError::Corrupt(format!(
                "model.safetensors: {name} is missing"
            ))),
        }
    }

    fn matrix(&mut self, name: &str, rows: usize, cols: usize) -> Result<Array2<f32>, ModelError> {
        let values = self.take(name, &[rows, cols])?;
        Array2::from_shape_vec((rows, cols), values).map_err(|e| ModelError::Corrupt(e.to_string()))
    }

    fn vector(&mut self, name: &str, len: usize) -> Result<Array1<f32>, ModelError> {
        Ok(Array1::from(self.take(name, &[len])?))
    }

    fn linear(&mut self, prefix: &str, out: usize, inp: usize) -> Result<Linear, ModelError> {
        Ok(Linear {
            weight: self.matrix(&format!("{prefix}.weight"), out, inp)?,
            bias: self.vector(&format!("{prefix}.bias"), out)?,
        })
    }

    fn norm(&mut self, prefix: &str) -> Result<LayerNorm, ModelError> {
        Ok(LayerNorm {
            weight: self.vector(&format!("{prefix}.weight"), WIDTH)?,
            bias: self.vector(&format!("{prefix}.bias"), WIDTH)?,
        })
    }
}

impl Bert {
    /// Loads the weights from the bytes of `model.safetensors`.
    pub fn from_safetensors(bytes: &[u8], vocab_size: usize) -> Result<Self, ModelError> {
        let mut t = Tensors::parse(bytes)?;
        let word = t.matrix("embeddings.word_embeddings.weight", vocab_size, WIDTH)?;
        let position = t.matrix("embeddings.position_embeddings.weight", 512, WIDTH)?;
        let token_type = t
            .matrix("embeddings.token_type_embeddings.weight", 2, WIDTH)?
            .row(0)
            .to_owned();
        let embedding_norm = t.norm("embeddings.LayerNorm")?;
        let mut layers = Vec::with_capacity(LAYERS);
        for i in 0..LAYERS {
            let p = format!("encoder.layer.{i}");
            layers.push(Layer {
                query: t.linear(&format!("{p}.attention.self.query"), WIDTH, WIDTH)?,
                key: t.linear(&format!("{p}.attention.self.key"), WIDTH, WIDTH)?,
                value: t.linear(&format!("{p}.attention.self.value"), WIDTH, WIDTH)?,
                attention_out: t.linear(&format!("{p}.attention.output.dense"), WIDTH, WIDTH)?,
                attention_norm: t.norm(&format!("{p}.attention.output.LayerNorm"))?,
                intermediate: t.linear(&format!("{p}.intermediate.dense"), INNER, WIDTH)?,
                output: t.linear(&format!("{p}.output.dense"), WIDTH, INNER)?,
                output_norm: t.norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(Bert {
            word,
            position,
            token_type,
            embedding_norm,
            layers,
        })
    }

    /// The unit-length sentence embedding of `text` (truncated to
    /// [`MAX_TOKENS`] tokens, as the reference implementation does).
    pub fn embed(&self, tokenizer: &Tokenizer, text: &str) -> Vec<f32> {
        let mut ids = vec![CLS];
        ids.extend(tokenizer.encode(text).into_iter().take(MAX_TOKENS - 2));
        ids.push(SEP);
        let pooled = self.forward(&ids, 1, ids.len());
        pooled.row(0).to_vec()
    }

    /// Runs `batch` sequences of `len` ids each (`ids` row by row, no
    /// padding) and returns their mean-pooled, L2-normalised embeddings.
    pub fn forward(&self, ids: &[u32], batch: usize, len: usize) -> Array2<f32> {
        debug_assert_eq!(ids.len(), batch * len);
        let rows = batch * len;
        let mut x = Array2::<f32>::zeros((rows, WIDTH));
        for (r, id) in ids.iter().enumerate() {
            let mut row = x.row_mut(r);
            row.assign(&self.word.row(*id as usize));
            row += &self.position.row(r % len);
            row += &self.token_type;
        }
        self.embedding_norm.apply(&mut x);
        for layer in &self.layers {
            x = self.layer(layer, x, batch, len);
        }
        let mut pooled = Array2::<f32>::zeros((batch, WIDTH));
        for b in 0..batch {
            let mean = x
                .slice_axis(Axis(0), Slice::from(b * len..(b + 1) * len))
                .mean_axis(Axis(0))
                .unwrap_or_else(|| Array1::zeros(WIDTH));
            let norm = mean.dot(&mean).sqrt().max(1e-12);
            pooled.row_mut(b).assign(&(mean / norm));
        }
        pooled
    }

    fn layer(&self, layer: &Layer, x: Array2<f32>, batch: usize, len: usize) -> Array2<f32> {
        let q = layer.query.apply(x.view());
        let k = layer.key.apply(x.view());
        let v = layer.value.apply(x.view());
        let scale = 1.0 / (HEAD_WIDTH as f32).sqrt();
        let mut context = Array2::<f32>::zeros((batch * len, WIDTH));
        let mut scores = vec![0f32; len];
        for b in 0..batch {
            let base = b * len;
            for h in 0..HEADS {
                let cols = h * HEAD_WIDTH..(h + 1) * HEAD_WIDTH;
                let qh = block(q.view(), base..base + len, cols.clone());
                let kh = block(k.view(), base..base + len, cols.clone());
                let vh = block(v.view(), base..base + len, cols.clone());
                for i in 0..len {
                    let qi = qh.row(i);
                    let mut max = f32::NEG_INFINITY;
                    for (j, score) in scores.iter_mut().enumerate() {
                        *score = qi.dot(&kh.row(j)) * scale;
                        max = max.max(*score);
                    }
                    let mut sum = 0.0;
                    for score in scores.iter_mut() {
                        *score = (*score - max).exp();
                        sum += *score;
                    }
                    let mut row = context.row_mut(base + i);
                    let mut out = row.slice_axis_mut(Axis(0), Slice::from(cols.clone()));
                    for (j, score) in scores.iter().enumerate() {
                        out.scaled_add(score / sum, &vh.row(j));
                    }
                }
            }
        }
        let mut x = x + layer.attention_out.apply(context.view());
        layer.attention_norm.apply(&mut x);
        let mut inner = layer.intermediate.apply(x.view());
        inner.mapv_inplace(gelu);
        let mut x = x + layer.output.apply(inner.view());
        layer.output_norm.apply(&mut x);
        x
    }
}

/// The sub-matrix of `rows` × `cols` (ndarray's `s!` macro would need
/// `unsafe`, which this workspace forbids).
fn block(
    m: ArrayView2<'_, f32>,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
) -> ArrayView2<'_, f32> {
    m.slice_axis_move(Axis(0), Slice::from(rows))
        .slice_axis_move(Axis(1), Slice::from(cols))
}

/// BERT's exact GELU, `x·Φ(x)`.
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x / std::f32::consts::SQRT_2))
}

/// The error function, to about 1.2e-7 (Numerical Recipes' `erfc`
/// Chebyshev fit), computed in f64.
fn erf(x: f32) -> f32 {
    let z = f64::from(x).abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    let r = 1.0 - erfc;
    (if x >= 0.0 { r } else { -r }) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.520_499_9),
            (1.0, 0.842_700_8),
            (-2.0, -0.995_322_3),
        ] {
            assert!((erf(x) - want).abs() < 1e-6, "erf({x}) = {}", erf(x));
        }
    }

    #[test]
    fn a_truncated_file_is_refused_with_a_reason() {
        assert!(matches!(Tensors::parse(&[1, 2, 3]), Err(ModelError::Corrupt(_))));
        let mut bytes = 1000u64.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"{}");
        assert!(matches!(Tensors::parse(&bytes), Err(ModelError::Corrupt(_))));
    }
}
