//! Classification quality on a labelled set: accuracy, macro-averaged F1
//! and the confusion matrix.

use crate::classifier::{Example, IntentModel};
use crate::vocabulary::Intent;

/// The result of classifying every example of a labelled set.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Examples classified.
    pub total: usize,
    /// Correct / total.
    pub accuracy: f64,
    /// Unweighted mean of the per-intent F1 scores (intents absent from
    /// both the labels and the predictions are left out).
    pub macro_f1: f64,
    /// Per intent, in `Intent::ALL` order: (precision, recall, F1, support).
    pub per_intent: Vec<(Intent, f64, f64, f64, usize)>,
    /// `confusion[actual][predicted]` in `Intent::ALL` order.
    pub confusion: Vec<Vec<usize>>,
    /// Examples that were misclassified: (text, actual, predicted).
    pub errors: Vec<(String, Intent, Intent)>,
}

fn index(intent: Intent) -> usize {
    Intent::ALL.iter().position(|i| *i == intent).unwrap_or(0)
}

/// Classifies `examples` with `model` and scores the result.
pub fn evaluate(model: &IntentModel, examples: &[Example]) -> Evaluation {
    let n = Intent::ALL.len();
    let mut confusion = vec![vec![0usize; n]; n];
    let mut errors = Vec::new();
    for e in examples {
        let predicted = model.classify(&e.text).intent;
        confusion[index(e.intent)][index(predicted)] += 1;
        if predicted != e.intent {
            errors.push((e.text.clone(), e.intent, predicted));
        }
    }
    let correct: usize = (0..n).map(|i| confusion[i][i]).sum();
    let mut per_intent = Vec::with_capacity(n);
    let mut f1s = Vec::new();
    for (k, intent) in Intent::ALL.iter().enumerate() {
        let tp = confusion[k][k] as f64;
        let support: usize = confusion[k].iter().sum();
        let predicted: usize = confusion.iter().map(|row| row[k]).sum();
        let precision = if predicted > 0 { tp / predicted as f64 } else { 0.0 };
        let recall = if support > 0 { tp / support as f64 } else { 0.0 };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        if support > 0 || predicted > 0 {
            f1s.push(f1);
        }
        per_intent.push((*intent, precision, recall, f1, support));
    }
    Evaluation {
        total: examples.len(),
        accuracy: if examples.is_empty() {
            0.0
        } else {
            correct as f64 / examples.len() as f64
        },
        macro_f1: if f1s.is_empty() {
            0.0
        } else {
            f1s.iter().sum::<f64>() / f1s.len() as f64
        },
        per_intent,
        confusion,
        errors,
    }
}
