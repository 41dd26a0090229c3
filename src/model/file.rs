//! The model file: one self-describing artefact, loadable from bytes.
//!
//! A model file is a [burnpack](burn::store::BurnpackStore) container (burn's
//! native weight format: a header, CBOR metadata, then 256-byte aligned
//! little-endian tensor data) whose metadata holds one JSON document under the
//! key [`METADATA_KEY`]: a [`ModelMetadata`] with the format name and
//! version, the tag list, the model configuration, the weight precision, the
//! front-end configuration (opaque JSON), the normalisation statistics,
//! provenance, evaluation metrics, and a CRC-32 of every tensor's bytes.
//! Beside it, [`CHECKSUM_KEY`] holds a CRC-32 of that JSON text and
//! [`LENGTH_KEY`] the container's length in bytes (format version 2): an
//! edited digit in the metadata, or bytes appended to the file, are errors.
//!
//! Weights are stored in fp32, in fp16 (half the size), or in int8 with
//! per-output-channel scales (a quarter, for the web; `quant`); converted back
//! to fp32 on load, so inference runs in fp32 either way.
//!
//! Loading checks, in order, and fails with a [`ModelFileError`] naming what
//! is wrong: the container (magic, header, truncation), the presence of our
//! metadata, the file's length (trailing bytes), the metadata checksum
//! (before the JSON is parsed), format name and version, the metadata's fields, the tag list
//! (count and order), the configuration, the normalisation statistics' size,
//! every tensor's checksum (bit flips, truncated data), and every tensor's
//! shape against the configuration. Nothing on this path panics on bad input.
//!
//! **Version 1** files (written before the metadata checksum) are refused by
//! [`load`] and [`read_metadata`], with a message saying how to upgrade them:
//! [`load_any_version`] (used by `scatterbrain model convert` and `model
//! info`) reads them without that check, and [`save`] writes version 2.

use std::collections::BTreeMap;

use burn::store::burn_pack::{Error as PackError, Reader, Tensor, Writer};
use burn::store::{ApplyError, HalfPrecisionAdapter, ModuleAdapter, ModuleSnapshot};
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::config::{ModelConfig, ModelConfigError};
use super::quant;
use super::{PredictError, Tagger};
use crate::tags::{TAG_COUNT, TAGS};

/// Value of [`ModelMetadata::format`].
pub const FORMAT: &str = "scatterbrain-model";
/// The format version this code reads and writes.
pub const FORMAT_VERSION: u32 = 2;
/// The version before the metadata checksum, read only by [`load_any_version`].
pub const LEGACY_VERSION: u32 = 1;
/// The burnpack metadata key holding our JSON.
pub const METADATA_KEY: &str = "scatterbrain";
/// The burnpack metadata key holding the CRC-32 (hex) of the JSON's bytes.
pub const CHECKSUM_KEY: &str = "scatterbrain.crc32";
/// The burnpack metadata key holding the container's length in bytes
/// (zero-padded to a fixed width, so writing it does not change it).
pub const LENGTH_KEY: &str = "scatterbrain.length";

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

/// Why a model file could not be read (or written).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelFileError {
    /// Not a model file at all (bad magic, or a burnpack without our metadata).
    #[error("not a Scatterbrain model file: {0}")]
    NotAModelFile(String),
    /// The file ends early.
    #[error("model file is truncated: {0}")]
    Truncated(String),
    /// Structurally damaged (bad header, unreadable metadata, checksum mismatch…).
    #[error("model file is corrupt: {0}")]
    Corrupt(String),
    /// The metadata's checksum does not match its bytes.
    #[error(
        "model file metadata checksum mismatch (stored {stored}, computed {computed}): the metadata was edited or damaged"
    )]
    MetadataChecksum {
        /// CRC-32 recorded in the file.
        stored: String,
        /// CRC-32 of the metadata as read.
        computed: String,
    },
    /// Bytes after the end of the container.
    #[error("model file has {extra} bytes after its end (appended or damaged)")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// A version 1 file, refused where the metadata must be checked.
    #[error(
        "model file format version 1 has no metadata checksum; upgrade it (weights unchanged) with \
         `scatterbrain model convert FILE --out NEW.bpk --precision f16` (or f32, as `model info` shows)"
    )]
    LegacyVersion,
    /// A format version this build cannot read.
    #[error(
        "model file format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedVersion {
        /// Version in the file.
        found: u64,
        /// Version this build reads.
        supported: u32,
    },
    /// The metadata JSON is valid but does not match the schema.
    #[error("model file metadata is invalid: {0}")]
    BadMetadata(String),
    /// The tag list does not name every output of the model.
    #[error("model file names {found} tags for a model with {expected} outputs")]
    WrongTagCount {
        /// Tags named in the file.
        found: usize,
        /// Outputs of the model.
        expected: usize,
    },
    /// A tag name is empty or repeated.
    #[error("model file tag {index} ({found:?}) is empty or named twice")]
    BadTag {
        /// Position in the list.
        index: usize,
        /// The name in the file.
        found: String,
    },
    /// The configuration is invalid.
    #[error("model file configuration is invalid: {0}")]
    Config(#[from] ModelConfigError),
    /// The model reads a different number of coefficients than the caller's front end gives.
    #[error("model expects {expected} coefficients per frame, but the front end gives {found}")]
    WrongInputSize {
        /// The model's `input_size`.
        expected: usize,
        /// What the caller's front end produces.
        found: usize,
    },
    /// Normalisation statistics do not fit the input size.
    #[error(
        "normalisation statistics have {found} entries (mean/std), model input size is {expected}"
    )]
    WrongNormalisationSize {
        /// `input_size`.
        expected: usize,
        /// Lengths found (mean, std).
        found: String,
    },
    /// A tensor the configuration needs is missing from the file.
    #[error("model file lacks tensor {0}")]
    MissingTensor(String),
    /// A tensor the configuration does not know is in the file.
    #[error("model file has unexpected tensor {0}")]
    UnexpectedTensor(String),
    /// A tensor's shape or type does not fit the configuration.
    #[error("model file tensor does not fit the configuration: {0}")]
    TensorMismatch(String),
    /// Writing failed.
    #[error("could not write model file: {0}")]
    Write(String),
}

fn pack_error(e: PackError) -> ModelFileError {
    match e {
        PackError::InvalidMagicNumber => {
            ModelFileError::NotAModelFile("bad magic number (not a burnpack container)".into())
        }
        PackError::InvalidHeader => ModelFileError::Truncated("header incomplete".into()),
        PackError::InvalidVersion => {
            ModelFileError::Corrupt("unsupported burnpack container version".into())
        }
        PackError::ValidationError(m) if m.contains("truncated") => ModelFileError::Truncated(m),
        other => ModelFileError::Corrupt(other.to_string()),
    }
}

fn crc(bytes: &[u8]) -> String {
    format!("{:08x}", crc32fast::hash(bytes))
}

/// Serialise `tagger` with `metadata` into a model file.
///
/// The fields describing the weights (`format`, `format_version`, `tags`,
/// `model`, `precision`, `checksums`, `provenance.software`) are set here from
/// the tagger itself; the rest is taken from `metadata` as given. With
/// [`Precision::F16`] the weights of dense layers and convolutions are stored
/// as fp16 (batch-norm statistics stay fp32).
pub fn save(
    tagger: &Tagger,
    metadata: &ModelMetadata,
    precision: Precision,
) -> Result<Vec<u8>, ModelFileError> {
    let mut meta = metadata.clone();
    meta.format = FORMAT.to_string();
    meta.format_version = FORMAT_VERSION;
    meta.model = tagger.config.clone();
    check_tags(&meta)?;
    meta.precision = precision;
    meta.provenance.software = format!("scatterbrain {}", env!("CARGO_PKG_VERSION"));
    validate_normalisation(&meta)?;

    let mut tensors = tagger.collect(None, adapter(precision), false);
    if precision == Precision::Int8 {
        tensors = quant::quantise(tensors)?;
    }
    meta.checksums.clear();
    for t in &tensors {
        let bytes = t
            .to_bytes()
            .map_err(|e| ModelFileError::Write(format!("tensor {}: {e}", t.name)))?;
        meta.checksums.insert(t.name.clone(), crc(&bytes));
    }
    let json = serde_json::to_string(&meta).map_err(|e| ModelFileError::Write(e.to_string()))?;
    seal(tensors, &json)
}

/// burn's conversion between the stored and the in-memory (fp32) weights:
/// fp16 both ways; none for fp32, and none for int8, which `quant` converts.
fn adapter(precision: Precision) -> Option<Box<dyn ModuleAdapter>> {
    match precision {
        Precision::F32 | Precision::Int8 => None,
        Precision::F16 => Some(Box::new(HalfPrecisionAdapter::new())),
    }
}

/// Assemble a model file from its tensors and metadata JSON, adding the
/// metadata checksum and the length. [`save`] uses it; it is public for
/// tools (and tests) that edit a file's metadata.
pub fn seal(tensors: Vec<Tensor>, json: &str) -> Result<Vec<u8>, ModelFileError> {
    let write = |tensors: Vec<Tensor>, len: usize| {
        Writer::new(tensors)
            .with_metadata(METADATA_KEY, json)
            .with_metadata(CHECKSUM_KEY, &crc(json.as_bytes()))
            .with_metadata(LENGTH_KEY, &format!("{len:020}"))
            .into_bytes()
            .map_err(|e| ModelFileError::Write(e.to_string()))
    };
    // The length field has a fixed width: a first pass measures the file.
    let len = write(tensors.clone(), 0)?.len();
    let bytes = write(tensors, len)?;
    if bytes.len() != len {
        return Err(ModelFileError::Write(format!(
            "container length changed from {len} to {} between passes",
            bytes.len()
        )));
    }
    Ok(bytes.to_vec())
}

/// Read only the metadata of a model file (cheap: no weights are decoded).
pub fn read_metadata(bytes: &[u8]) -> Result<ModelMetadata, ModelFileError> {
    let reader = open(bytes)?;
    parse_metadata(&reader, bytes.len(), false)
}

/// [`read_metadata`], also reading version 1 files (whose metadata cannot
/// be checked; their `format_version` says so).
pub fn read_metadata_any_version(bytes: &[u8]) -> Result<ModelMetadata, ModelFileError> {
    let reader = open(bytes)?;
    parse_metadata(&reader, bytes.len(), true)
}

/// Load a model file onto `device`.
pub fn load(bytes: &[u8], device: &Device) -> Result<(Tagger, ModelMetadata), ModelFileError> {
    load_checked(bytes, device, false)
}

/// [`load`], also reading version 1 files (whose metadata cannot be checked;
/// their tensors' checksums still are). For upgrading them: [`save`] writes
/// the current version.
pub fn load_any_version(
    bytes: &[u8],
    device: &Device,
) -> Result<(Tagger, ModelMetadata), ModelFileError> {
    load_checked(bytes, device, true)
}

fn load_checked(
    bytes: &[u8],
    device: &Device,
    legacy: bool,
) -> Result<(Tagger, ModelMetadata), ModelFileError> {
    let reader = open(bytes)?;
    let meta = parse_metadata(&reader, bytes.len(), legacy)?;
    let tensors = reader.into_tensors().map_err(pack_error)?;

    // Checksums first: a damaged tensor must not reach the model.
    let mut seen = std::collections::BTreeSet::new();
    for t in &tensors {
        let expected = meta
            .checksums
            .get(&t.name)
            .ok_or_else(|| ModelFileError::UnexpectedTensor(t.name.clone()))?;
        let data = t.to_bytes().map_err(pack_error)?;
        if crc(&data) != *expected {
            return Err(ModelFileError::Corrupt(format!(
                "checksum mismatch in tensor {}",
                t.name
            )));
        }
        seen.insert(t.name.clone());
    }
    if let Some(missing) = meta.checksums.keys().find(|k| !seen.contains(*k)) {
        return Err(ModelFileError::MissingTensor(missing.clone()));
    }

    // Int8 storage is all or nothing: weights of rank >= 2 are int8 exactly
    // when the file says so (a mismatch is a file written wrongly).
    let int8 = meta.precision == Precision::Int8;
    if let Some(t) = tensors.iter().find(|t| {
        let stored_int8 = t.dtype == burn::tensor::DType::I8;
        let is_scale = t.name.ends_with(quant::SCALE_SUFFIX);
        if int8 {
            t.shape.len() >= 2 && !stored_int8
        } else {
            stored_int8 || is_scale
        }
    }) {
        return Err(ModelFileError::TensorMismatch(format!(
            "{}: weights stored as {:?}, not at the precision the file records ({:?})",
            t.name, t.dtype, meta.precision
        )));
    }
    let tensors = if int8 {
        quant::dequantise(tensors)?
    } else {
        tensors
    };

    let mut tagger = Tagger::new(&meta.model, device)?;
    let result = tagger.apply(tensors, None, adapter(meta.precision), false);
    if let Some(error) = result.errors.first() {
        return Err(ModelFileError::TensorMismatch(describe_apply_error(error)));
    }
    if let Some((path, _)) = result.missing.first() {
        return Err(ModelFileError::MissingTensor(path.clone()));
    }
    if let Some(path) = result.unused.first() {
        return Err(ModelFileError::UnexpectedTensor(path.clone()));
    }
    // The half-precision adapter flips F32 and F16 by what it finds, so
    // weights stored at another precision than the metadata records would
    // load as F16 and fail at the first forward pass: refuse them here.
    if let Some(t) = tagger
        .collect(None, None, false)
        .into_iter()
        .find(|t| t.dtype != burn::tensor::DType::F32)
    {
        return Err(ModelFileError::TensorMismatch(format!(
            "{}: weights stored as {:?}, not at the precision the file records ({:?})",
            t.name, t.dtype, meta.precision
        )));
    }
    Ok((tagger, meta))
}

/// [`load`], also checking that the model reads `input_size` coefficients per
/// frame (the caller's front end).
pub fn load_for_input(
    bytes: &[u8],
    input_size: usize,
    device: &Device,
) -> Result<(Tagger, ModelMetadata), ModelFileError> {
    let meta = read_metadata(bytes)?;
    if meta.model.input_size != input_size {
        return Err(ModelFileError::WrongInputSize {
            expected: meta.model.input_size,
            found: input_size,
        });
    }
    load(bytes, device)
}

fn describe_apply_error(error: &ApplyError) -> String {
    match error {
        ApplyError::ShapeMismatch {
            path,
            expected,
            found,
        } => format!("{path}: shape {found:?} in file, model needs {expected:?}"),
        ApplyError::DTypeMismatch {
            path,
            expected,
            found,
        } => format!("{path}: type {found:?} in file, model needs {expected:?}"),
        other => format!("{other:?}"),
    }
}

fn open(bytes: &[u8]) -> Result<Reader, ModelFileError> {
    if bytes.is_empty() {
        return Err(ModelFileError::Truncated("empty file".into()));
    }
    Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).map_err(pack_error)
}

/// The metadata JSON, once the file's length and the JSON's checksum are
/// right; version 1 files (neither recorded) only with `legacy`.
fn checked_json(reader: &Reader, len: usize, legacy: bool) -> Result<&str, ModelFileError> {
    let keys = reader.metadata();
    let json = keys.get(METADATA_KEY).ok_or_else(|| {
        ModelFileError::NotAModelFile(format!(
            "burnpack container without {METADATA_KEY:?} metadata"
        ))
    })?;
    let (Some(stored_crc), Some(stored_len)) = (keys.get(CHECKSUM_KEY), keys.get(LENGTH_KEY))
    else {
        // Only a version 1 file may lack them; its version is all we read
        // before deciding.
        let version = serde_json::from_str::<Value>(json)
            .ok()
            .and_then(|v| v.get("format_version").and_then(Value::as_u64));
        return match version {
            Some(v) if v == u64::from(LEGACY_VERSION) && legacy => Ok(json),
            Some(v) if v == u64::from(LEGACY_VERSION) => Err(ModelFileError::LegacyVersion),
            _ => Err(ModelFileError::Corrupt(format!(
                "the metadata checksum or length ({CHECKSUM_KEY:?}, {LENGTH_KEY:?}) is missing"
            ))),
        };
    };
    let expected: usize = stored_len
        .parse()
        .map_err(|_| ModelFileError::Corrupt(format!("unreadable length {stored_len:?}")))?;
    if len > expected {
        return Err(ModelFileError::TrailingBytes {
            extra: len - expected,
        });
    }
    if len < expected {
        return Err(ModelFileError::Truncated(format!(
            "{len} of {expected} bytes"
        )));
    }
    let computed = crc(json.as_bytes());
    if computed != *stored_crc {
        return Err(ModelFileError::MetadataChecksum {
            stored: stored_crc.clone(),
            computed,
        });
    }
    Ok(json)
}

fn parse_metadata(
    reader: &Reader,
    len: usize,
    legacy: bool,
) -> Result<ModelMetadata, ModelFileError> {
    let json = checked_json(reader, len, legacy)?;
    let value: Value = serde_json::from_str(json)
        .map_err(|e| ModelFileError::Corrupt(format!("metadata is not JSON: {e}")))?;
    match value.get("format").and_then(Value::as_str) {
        Some(FORMAT) => {}
        Some(other) => {
            return Err(ModelFileError::NotAModelFile(format!(
                "format is {other:?}, expected {FORMAT:?}"
            )));
        }
        None => return Err(ModelFileError::BadMetadata("no \"format\" field".into())),
    }
    let version = value
        .get("format_version")
        .and_then(Value::as_u64)
        .ok_or_else(|| ModelFileError::BadMetadata("no numeric \"format_version\"".into()))?;
    // A version 1 file got here only through `legacy`.
    let readable =
        version == u64::from(FORMAT_VERSION) || (legacy && version == u64::from(LEGACY_VERSION));
    if !readable {
        return Err(ModelFileError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let meta: ModelMetadata =
        serde_json::from_value(value).map_err(|e| ModelFileError::BadMetadata(e.to_string()))?;
    check_tags(&meta)?;
    meta.model.validate()?;
    validate_normalisation(&meta)?;
    Ok(meta)
}

/// One tag name per model output, each named once.
fn check_tags(meta: &ModelMetadata) -> Result<(), ModelFileError> {
    if meta.tags.len() != meta.model.tags {
        return Err(ModelFileError::WrongTagCount {
            found: meta.tags.len(),
            expected: meta.model.tags,
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, tag) in meta.tags.iter().enumerate() {
        if tag.trim().is_empty() || !seen.insert(tag.as_str()) {
            return Err(ModelFileError::BadTag {
                index,
                found: tag.clone(),
            });
        }
    }
    Ok(())
}

fn validate_normalisation(meta: &ModelMetadata) -> Result<(), ModelFileError> {
    if let Some(stats) = &meta.normalisation {
        let n = meta.model.input_size;
        if stats.mean.len() != n || stats.std.len() != n {
            return Err(ModelFileError::WrongNormalisationSize {
                expected: n,
                found: format!("{}/{}", stats.mean.len(), stats.std.len()),
            });
        }
        if stats.mean.iter().chain(&stats.std).any(|v| !v.is_finite())
            || stats.std.iter().any(|&s| s <= 0.0)
        {
            return Err(ModelFileError::BadMetadata(
                "normalisation statistics must be finite with positive std".into(),
            ));
        }
    }
    Ok(())
}

/// A loaded model: weights on a device plus their metadata. The type the CLI
/// and the WASM layer hold.
#[derive(Debug)]
pub struct Model {
    /// The network.
    pub tagger: Tagger,
    /// The file's metadata.
    pub metadata: ModelMetadata,
    /// The device the weights live on.
    pub device: Device,
}

impl Model {
    /// Load from the bytes of a model file.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self, ModelFileError> {
        let (tagger, metadata) = load(bytes, device)?;
        Ok(Model {
            tagger,
            metadata,
            device: device.clone(),
        })
    }

    /// [`Model::from_bytes`], also reading version 1 files (see
    /// [`load_any_version`]).
    pub fn from_bytes_any_version(bytes: &[u8], device: &Device) -> Result<Self, ModelFileError> {
        let (tagger, metadata) = load_any_version(bytes, device)?;
        Ok(Model {
            tagger,
            metadata,
            device: device.clone(),
        })
    }

    /// Serialise (metadata as held, weights at `precision`).
    pub fn to_bytes(&self, precision: Precision) -> Result<Vec<u8>, ModelFileError> {
        save(&self.tagger, &self.metadata, precision)
    }

    /// Coefficients per frame the model reads.
    pub fn input_size(&self) -> usize {
        self.tagger.config.input_size
    }

    /// Error unless the front end's `input_size` matches the model's.
    pub fn check_input_size(&self, input_size: usize) -> Result<(), ModelFileError> {
        if input_size != self.input_size() {
            return Err(ModelFileError::WrongInputSize {
                expected: self.input_size(),
                found: input_size,
            });
        }
        Ok(())
    }

    /// Clip scores (`batch × tags`, row-major, in the file's tag order) for
    /// coefficient-major clips; see [`Tagger::predict`].
    pub fn predict(
        &self,
        data: &[f32],
        batch: usize,
        frames: usize,
    ) -> Result<Vec<f32>, PredictError> {
        self.tagger.predict(data, batch, frames, &self.device)
    }

    /// As [`Model::predict`], reading back asynchronously (WebGPU).
    pub async fn predict_async(
        &self,
        data: &[f32],
        batch: usize,
        frames: usize,
    ) -> Result<Vec<f32>, PredictError> {
        self.tagger
            .predict_async(data, batch, frames, &self.device)
            .await
    }
}
