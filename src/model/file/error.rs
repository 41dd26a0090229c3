//! Why a model file could not be read or written.

use burn::store::burn_pack::Error as PackError;

use crate::model::config::ModelConfigError;

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

pub(super) fn pack_error(e: PackError) -> ModelFileError {
    match e {
        PackError::InvalidMagicNumber => {
            ModelFileError::NotAModelFile("bad magic number (not a burnpack container)".into())
        }
        PackError::InvalidHeader => ModelFileError::Truncated("header incomplete".into()),
        PackError::InvalidVersion => {
            ModelFileError::Corrupt("unsupported burnpack container version".into())
        }
        PackError::ValidationError(m) if m.contains("truncated") => {
            // burnpack's words start "File truncated: …": said once, by ours.
            const SAID: &str = "truncated: ";
            let detail = m.find(SAID).map_or(&m[..], |i| &m[i + SAID.len()..]);
            ModelFileError::Truncated(detail.to_string())
        }
        other => ModelFileError::Corrupt(other.to_string()),
    }
}
