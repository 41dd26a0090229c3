//! A loaded model: the network on a device with its file's metadata, the
//! type the CLI, the session and the WASM layer hold. Reading and writing
//! the file is `file`'s business; this is what comes out of it.

use std::sync::{Arc, OnceLock};

use burn::tensor::Device;

use super::file::{ModelFileError, ModelMetadata, Precision, load, load_any_version, save};
use super::prepared::PreparedLayers;
use super::rnn::runs_host_loop;
use super::{PredictError, Prediction, Tagger};

/// A loaded model: weights on a device plus their metadata. The type the CLI
/// and the WASM layer hold.
#[derive(Debug)]
pub struct Model {
    /// The network: not reachable mutably, so that `prepared` stays current.
    tagger: Tagger,
    /// The file's metadata.
    pub metadata: ModelMetadata,
    /// The device the weights live on.
    pub device: Device,
    /// The GRU layers' hidden weights laid out for the CPU backend's time
    /// loop, made on the first such forward pass (see `prepared`).
    prepared: OnceLock<Arc<PreparedLayers>>,
}

impl Model {
    fn new(tagger: Tagger, metadata: ModelMetadata, device: &Device) -> Self {
        Model {
            tagger,
            metadata,
            device: device.clone(),
            prepared: OnceLock::new(),
        }
    }

    /// The network.
    pub fn tagger(&self) -> &Tagger {
        &self.tagger
    }

    /// Load from the bytes of a model file.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self, ModelFileError> {
        let (tagger, metadata) = load(bytes, device)?;
        Ok(Model::new(tagger, metadata, device))
    }

    /// [`Model::from_bytes`], also reading version 1 files (see
    /// [`load_any_version`]).
    pub fn from_bytes_any_version(bytes: &[u8], device: &Device) -> Result<Self, ModelFileError> {
        let (tagger, metadata) = load_any_version(bytes, device)?;
        Ok(Model::new(tagger, metadata, device))
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
        self.with_prepared(|| self.tagger.predict(data, batch, frames, &self.device))
    }

    /// Clip scores and per-frame logits; see [`Tagger::predict_frames`].
    pub fn predict_frames(
        &self,
        data: &[f32],
        batch: usize,
        frames: usize,
    ) -> Result<Prediction, PredictError> {
        self.with_prepared(|| {
            self.tagger
                .predict_frames(data, batch, frames, &self.device)
        })
    }

    /// Run a forward pass with the laid-out hidden weights where it uses
    /// them: on the CPU backend (laid out on the first such call).
    fn with_prepared<R>(&self, f: impl FnOnce() -> R) -> R {
        if !runs_host_loop(&self.device) {
            return f();
        }
        self.prepared
            .get_or_init(|| Arc::new(PreparedLayers::new(&self.tagger)))
            .scope(f)
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
