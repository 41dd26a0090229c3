//! What a model file says about itself: the JSON metadata document
//! ([`ModelMetadata`]) and its parts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{FORMAT, FORMAT_VERSION};
use crate::model::config::ModelConfig;
use crate::tags::{TAG_COUNT, TAGS};

/// Storage precision of the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats (exact).
    F32,
    /// 16-bit floats (half the size; loaded back as fp32).
    F16,
    /// 8-bit integers with a scale per output channel for weights of rank ≥ 2
    /// (a quarter of the size; dequantised to fp32 on load; see `quant`).
    Int8,
}

/// Per-coefficient standardisation measured on the training data: the model's
/// input row `i` is `(x_i − mean[i]) / std[i]`. Same JSON shape as the front
/// end's `normalise::Standardisation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalisationStats {
    /// Mean per coefficient (length `input_size`).
    pub mean: Vec<f32>,
    /// Standard deviation per coefficient (length `input_size`).
    pub std: Vec<f32>,
}

/// Where the weights came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Provenance {
    /// Software that wrote the file (`scatterbrain X.Y.Z`), filled in on save.
    pub software: String,
    /// Source commit of the trainer.
    pub commit: Option<String>,
    /// Training corpus name/version.
    pub corpus: Option<String>,
    /// Epochs trained.
    pub epochs: Option<u32>,
    /// Random seed.
    pub seed: Option<u64>,
    /// Free-form notes (e.g. "random weights, test fixture").
    pub notes: Option<String>,
}

/// Evaluation metrics of one tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagMetrics {
    /// Tag name.
    pub tag: String,
    /// ROC-AUC on the test split (None when the split has no positive/negative).
    pub roc_auc: Option<f64>,
    /// PR-AUC (average precision) on the test split.
    pub pr_auc: Option<f64>,
    /// Positives in the test split.
    pub positives: Option<u64>,
}

/// Evaluation metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metrics {
    /// Which split / labels these were measured on.
    pub split: Option<String>,
    /// Macro ROC-AUC over tags.
    pub roc_auc: Option<f64>,
    /// Macro PR-AUC over tags.
    pub pr_auc: Option<f64>,
    /// Per-tag figures.
    pub per_tag: Vec<TagMetrics>,
    /// Anything else the trainer records.
    pub extra: Value,
}

/// Everything in a model file besides the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written by this code.
    pub format_version: u32,
    /// Tag names in output order: the file's list is authoritative (one name
    /// per output of the model; MagnaTagATune's 50, [`crate::tags::TAGS`], by default).
    pub tags: Vec<String>,
    /// The model configuration (name, sizes, dropout).
    pub model: ModelConfig,
    /// Weight storage precision.
    pub precision: Precision,
    /// The front-end configuration the model was trained with (opaque here;
    /// the front end owns its schema).
    pub front_end: Value,
    /// Input standardisation measured on the training data, if any.
    pub normalisation: Option<NormalisationStats>,
    /// Where the weights came from.
    pub provenance: Provenance,
    /// Evaluation metrics.
    pub metrics: Metrics,
    /// CRC-32 (hex) of each stored tensor's bytes, by tensor name; filled in on save.
    pub checksums: BTreeMap<String, String>,
}

impl ModelMetadata {
    /// Metadata for a model of `config`, to be completed by the caller
    /// (front end, normalisation, provenance, metrics) before saving.
    pub fn new(config: &ModelConfig) -> Self {
        ModelMetadata {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            // MagnaTagATune's 50 for a 50-output model; otherwise names the
            // caller is expected to replace.
            tags: if config.tags == TAG_COUNT {
                TAGS.iter().map(|t| t.to_string()).collect()
            } else {
                (1..=config.tags).map(|i| format!("tag {i}")).collect()
            },
            model: config.clone(),
            precision: Precision::F32,
            front_end: Value::Null,
            normalisation: None,
            provenance: Provenance::default(),
            metrics: Metrics::default(),
            checksums: BTreeMap::new(),
        }
    }
}
