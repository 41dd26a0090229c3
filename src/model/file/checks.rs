//! The checks a model file passes before its weights are read: the container,
//! the length, the metadata checksum, the format version, the metadata's
//! fields, the tag list and the normalisation statistics' size.

use burn::store::burn_pack::Reader;
use burn::tensor::Bytes;

use super::error::pack_error;
use serde_json::Value;

use super::{
    CHECKSUM_KEY, FORMAT, FORMAT_VERSION, LEGACY_VERSION, LENGTH_KEY, METADATA_KEY, ModelFileError,
    ModelMetadata, crc,
};

pub(super) fn open(bytes: &[u8]) -> Result<Reader, ModelFileError> {
    if bytes.is_empty() {
        return Err(ModelFileError::Truncated("empty file".into()));
    }
    Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).map_err(pack_error)
}

/// The metadata JSON, once the file's length and the JSON's checksum are
/// right; version 1 files (neither recorded) only with `legacy`.
pub(super) fn checked_json(
    reader: &Reader,
    len: usize,
    legacy: bool,
) -> Result<&str, ModelFileError> {
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

pub(super) fn parse_metadata(
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
pub(super) fn check_tags(meta: &ModelMetadata) -> Result<(), ModelFileError> {
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

pub(super) fn validate_normalisation(meta: &ModelMetadata) -> Result<(), ModelFileError> {
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
