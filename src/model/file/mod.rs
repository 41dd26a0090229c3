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

mod checks;
use checks::{check_tags, open, parse_metadata, validate_normalisation};
mod error;
mod metadata;

pub use error::ModelFileError;
use error::pack_error;
pub use metadata::{Metrics, ModelMetadata, NormalisationStats, Precision, Provenance, TagMetrics};

use burn::store::burn_pack::{Tensor, Writer};
use burn::store::{ApplyError, HalfPrecisionAdapter, ModuleAdapter, ModuleSnapshot};
use burn::tensor::Device;

use super::Tagger;
use super::quant;

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
