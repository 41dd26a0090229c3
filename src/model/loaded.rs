//! A loaded model: the network on a device with its file's metadata, the
//! type the CLI, the session and the WASM layer hold. Reading and writing
//! the file is `file`'s business; this is what comes out of it.

use burn::tensor::Device;

use super::file::{ModelFileError, ModelMetadata, Precision, load, load_any_version, save};
use super::{PredictError, Tagger};

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
