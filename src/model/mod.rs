//! The tagging model: scattering (or mel/CQT) frames in, 50 tag scores out.
//!
//! One burn definition serves training (on an autodiff device), native tagging
//! (flex CPU backend, or wgpu/Vulkan) and the browser (flex in WASM, or
//! WebGPU). It depends on the front end only through numbers: a clip is
//! `frames` frames of `input_size` coefficients.
//!
//! * [`config`]: names like `scat-5l-512h-gru`, `mel-5l-512h-lstm`,
//!   `scat-4l-cnn` ↔ [`ModelConfig`].
//! * [`rnn`]: stacked GRU/LSTM with one matmul for all input projections.
//! * [`cnn`]: the paper's Table 1 CNN.
//! * [`file`]: the self-describing model file (weights fp32 or fp16 + JSON
//!   metadata), loaded from bytes.
//! * [`support`]: how well the model knows each tag (its file's counts):
//!   which scores are guesses.
//!
//! # From a sequence to clip tags
//!
//! Recurrent models score a clip from the **mean over time of the last
//! layer's hidden states**, through one dense layer and a sigmoid:
//! `p = σ(W · mean_t h_t + b)`. Because the dense layer is linear this equals
//! the mean of the per-step logits, so [`Tagger::step_logits`] gives a per-frame
//! taggram consistent with the clip score. We prefer the mean to the paper's
//! implicit last-step read-out because clip tags describe the whole clip, not
//! its end: with the mean every frame contributes and receives gradient
//! directly (rather than through up to 114 steps × 5 layers of recurrence),
//! which trains faster on a small budget and does not over-weight the last
//! half second of a window. The recurrence still carries context across steps.

pub mod cnn;
pub mod config;
pub mod file;
pub mod host_gru;
mod loaded;
mod panels;
pub mod prepared;
pub mod quant;
pub mod rnn;
pub mod support;

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Tensor, TensorData};

pub use self::cnn::CnnNet;
pub use self::config::{
    Architecture, Cell, FrontEndKind, ModelConfig, ModelConfigError, ModelName,
};
pub use self::file::{
    FORMAT, FORMAT_VERSION, LEGACY_VERSION, Metrics, ModelFileError, ModelMetadata,
    NormalisationStats, Precision, Provenance, TagMetrics, load, load_any_version, load_for_input,
    read_metadata, read_metadata_any_version, save, seal,
};
pub use self::loaded::Model;
pub use self::rnn::{PytorchWeights, RecurrentLayer};
pub use self::support::{TagNote, TagSupport};
/// The burn device type (re-exported so callers need not depend on burn).
pub use burn::tensor::Device;

/// Stacked recurrent layers + dense read-out.
#[derive(Module, Debug)]
pub struct RnnNet {
    /// The recurrent layers, input first.
    pub layers: Vec<RecurrentLayer>,
    /// Dropout applied to every layer's output sequence (training only).
    pub dropout: Dropout,
    /// Dense layer hidden → tags.
    pub head: Linear,
}

impl RnnNet {
    fn new(
        cell: Cell,
        layers: usize,
        hidden: usize,
        config: &ModelConfig,
        device: &Device,
    ) -> Self {
        let mut stack = Vec::with_capacity(layers);
        let mut input = config.input_size;
        for _ in 0..layers {
            stack.push(RecurrentLayer::new(cell, input, hidden, device));
            input = hidden;
        }
        RnnNet {
            layers: stack,
            dropout: DropoutConfig::new(config.dropout).init(),
            head: LinearConfig::new(hidden, config.tags).init(device),
        }
    }

    /// Last layer's hidden states, time-major `[T, B, H]`, for input `[B, T, I]`.
    pub fn hidden_states(&self, x: Tensor<3>) -> Tensor<3> {
        // Layers pass chunks of steps to each other, so no layer slices a
        // whole-sequence tensor per step (see `rnn::CHUNK_STEPS`).
        let mut chunks = rnn::split_steps(x.swap_dims(0, 1));
        for layer in &self.layers {
            chunks = layer
                .forward_chunks(chunks)
                .into_iter()
                .map(|c| self.dropout.forward(c))
                .collect();
        }
        Tensor::cat(chunks, 0)
    }

    /// Clip logits `[B, tags]`: dense layer on the mean hidden state.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let h = self.hidden_states(x);
        let [_, batch, hidden] = h.dims();
        self.head.forward(h.mean_dim(0).reshape([batch, hidden]))
    }

    /// Per-step logits `[B, T, tags]`; their mean over `T` is [`Self::forward`].
    pub fn step_logits(&self, x: Tensor<3>) -> Tensor<3> {
        self.head.forward(self.hidden_states(x)).swap_dims(0, 1)
    }

    /// [`Self::forward`] and [`Self::step_logits`] from one pass through the
    /// recurrent layers (the clip logits are computed exactly as `forward`
    /// does, so clip scores do not change when the taggram is asked for).
    pub fn forward_with_steps(&self, x: Tensor<3>) -> (Tensor<2>, Tensor<3>) {
        let h = self.hidden_states(x);
        let [_, batch, hidden] = h.dims();
        let clip = self
            .head
            .forward(h.clone().mean_dim(0).reshape([batch, hidden]));
        (clip, self.head.forward(h).swap_dims(0, 1))
    }
}

/// The network of a [`Tagger`].
#[derive(Module, Debug)]
pub enum Net {
    /// Stacked GRU/LSTM.
    Rnn(RnnNet),
    /// Table 1 CNN.
    Cnn(CnnNet),
}

/// A tagging model: the network plus the configuration it was built from.
///
/// `forward` takes batch-first input `[B, T, I]` (clips × frames ×
/// coefficients) and returns logits `[B, tags]`; apply a sigmoid (or use
/// [`Tagger::forward_probs`]) for scores in [0, 1]. Dropout is active only
/// when the input lives on an autodiff device and the module is in training
/// mode, so the same module trains and infers.
#[derive(Module, Debug)]
pub struct Tagger {
    /// The network.
    pub net: Net,
    /// The configuration (not a parameter; saved as metadata).
    #[module(skip)]
    pub config: ModelConfig,
}

/// What a forward pass gives for a batch of clips.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Clip scores, `batch × tags`, row-major.
    pub scores: Vec<f32>,
    /// Per-frame logits, `batch × frames × tags`, row-major; `None` for
    /// networks without a per-frame output (the CNN).
    pub step_logits: Option<Vec<f32>>,
}

/// Why a forward pass could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PredictError {
    /// The input does not have the shape the model expects.
    #[error("model input: {0}")]
    Shape(String),
    /// The input contains NaN or infinity.
    #[error("model input contains a non-finite value at index {0}")]
    NonFinite(usize),
    /// The backend failed (device lost, readback failed…).
    #[error("model backend error: {0}")]
    Backend(String),
}

impl Tagger {
    /// A randomly initialised model (PyTorch-style initialisation of the
    /// recurrent layers, burn defaults elsewhere).
    pub fn new(config: &ModelConfig, device: &Device) -> Result<Self, ModelConfigError> {
        config.validate()?;
        let net = match config.architecture {
            Architecture::Rnn {
                cell,
                layers,
                hidden,
            } => Net::Rnn(RnnNet::new(cell, layers, hidden, config, device)),
            Architecture::Cnn => Net::Cnn(CnnNet::new(config.tags, config.dropout, device)),
        };
        Ok(Tagger {
            net,
            config: config.clone(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Clip logits `[B, tags]` for input `[B, T, I]`.
    ///
    /// Panics (inside burn) if `I` is not the configured input size; use
    /// [`Tagger::check_input`] or [`Tagger::predict`] for a typed error.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        match &self.net {
            Net::Rnn(net) => net.forward(x),
            Net::Cnn(net) => net.forward(x),
        }
    }

    /// Clip scores in [0, 1], `[B, tags]`.
    pub fn forward_probs(&self, x: Tensor<3>) -> Tensor<2> {
        sigmoid(self.forward(x))
    }

    /// Per-frame logits `[B, T, tags]` (recurrent models only; `None` for the
    /// CNN, which has no per-frame output). Their mean over frames equals
    /// [`Tagger::forward`].
    pub fn step_logits(&self, x: Tensor<3>) -> Option<Tensor<3>> {
        match &self.net {
            Net::Rnn(net) => Some(net.step_logits(x)),
            Net::Cnn(_) => None,
        }
    }

    /// Clip scores `[B, tags]` and, for recurrent models, per-frame logits
    /// `[B, T, tags]`, from one forward pass.
    fn probs_and_steps(&self, x: Tensor<3>) -> (Tensor<2>, Option<Tensor<3>>) {
        match &self.net {
            Net::Rnn(net) => {
                let (clip, steps) = net.forward_with_steps(x);
                (sigmoid(clip), Some(steps))
            }
            Net::Cnn(net) => (sigmoid(net.forward(x)), None),
        }
    }

    /// As [`Tagger::predict`], with the per-frame logits of recurrent models
    /// (the frame-level taggram) beside the clip scores.
    pub fn predict_frames(
        &self,
        data: &[f32],
        batch: usize,
        frames: usize,
        device: &Device,
    ) -> Result<Prediction, PredictError> {
        let x = self.input_from_coefficients(data, batch, frames, device)?;
        let (probs, steps) = self.probs_and_steps(x);
        let backend = |e| PredictError::Backend(format!("{e:?}"));
        Ok(Prediction {
            scores: read(probs.try_into_data().map_err(backend)?)?,
            step_logits: match steps {
                Some(s) => Some(read(s.try_into_data().map_err(backend)?)?),
                None => None,
            },
        })
    }

    /// As [`Tagger::predict_frames`], reading back asynchronously (WebGPU).
    pub async fn predict_frames_async(
        &self,
        data: &[f32],
        batch: usize,
        frames: usize,
        device: &Device,
    ) -> Result<Prediction, PredictError> {
        let x = self.input_from_coefficients(data, batch, frames, device)?;
        let (probs, steps) = self.probs_and_steps(x);
        let backend = |e| PredictError::Backend(format!("{e:?}"));
        let scores = read(probs.into_data_async().await.map_err(backend)?)?;
        let step_logits = match steps {
            Some(s) => Some(read(s.into_data_async().await.map_err(backend)?)?),
            None => None,
        };
        Ok(Prediction {
            scores,
            step_logits,
        })
    }

    /// Check a `[batch, frames, coefficients]` shape against the model.
    pub fn check_input(
        &self,
        batch: usize,
        frames: usize,
        coefficients: usize,
    ) -> Result<(), PredictError> {
        if coefficients != self.config.input_size {
            return Err(PredictError::Shape(format!(
                "{coefficients} coefficients per frame, but the model ({}) expects {}",
                self.config.name(),
                self.config.input_size
            )));
        }
        if frames == 0 {
            return Err(PredictError::Shape("no frames".into()));
        }
        if batch == 0 {
            return Err(PredictError::Shape("empty batch".into()));
        }
        Ok(())
    }

    /// Build the input tensor `[B, T, I]` from clips laid out coefficient-major
    /// (`data[b][i][t]`, i.e. `batch` front-end matrices of `input_size` rows ×
    /// `frames` columns, concatenated), checking shape and finiteness.
    pub fn input_from_coefficients(
        &self,
        data: &[f32],
        batch: usize,
        frames: usize,
        device: &Device,
    ) -> Result<Tensor<3>, PredictError> {
        let coefficients = self.config.input_size;
        self.check_input(batch, frames, coefficients)?;
        let expected = batch * coefficients * frames;
        if data.len() != expected {
            return Err(PredictError::Shape(format!(
                "{} values, expected {batch} clips × {coefficients} coefficients × {frames} frames = {expected}",
                data.len()
            )));
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(PredictError::NonFinite(i));
        }
        let x = Tensor::<3>::from_data(
            TensorData::new(data.to_vec(), [batch, coefficients, frames]),
            device,
        );
        Ok(x.swap_dims(1, 2))
    }

    /// Clip scores for coefficient-major clips (see
    /// [`Tagger::input_from_coefficients`]): `batch × tags` values, row-major,
    /// in [`crate::tags::TAGS`] order. Synchronous readback: native only, or
    /// the CPU backend in WASM; in the browser with WebGPU use
    /// [`Tagger::predict_async`].
    pub fn predict(
        &self,
        data: &[f32],
        batch: usize,
        frames: usize,
        device: &Device,
    ) -> Result<Vec<f32>, PredictError> {
        let x = self.input_from_coefficients(data, batch, frames, device)?;
        read(
            self.forward_probs(x)
                .try_into_data()
                .map_err(|e| PredictError::Backend(format!("{e:?}")))?,
        )
    }

    /// As [`Tagger::predict`], reading the result back asynchronously (WebGPU).
    pub async fn predict_async(
        &self,
        data: &[f32],
        batch: usize,
        frames: usize,
        device: &Device,
    ) -> Result<Vec<f32>, PredictError> {
        let x = self.input_from_coefficients(data, batch, frames, device)?;
        let out = self
            .forward_probs(x)
            .into_data_async()
            .await
            .map_err(|e| PredictError::Backend(format!("{e:?}")))?;
        read(out)
    }
}

fn read(data: TensorData) -> Result<Vec<f32>, PredictError> {
    data.try_into_vec::<f32>()
        .map_err(|e| PredictError::Backend(format!("{e:?}")))
}

/// Numerically stable binary cross-entropy on logits, averaged over all
/// elements: `mean(max(l, 0) − l·y + log(1 + e^{−|l|}))`. Targets may be soft
/// (teacher probabilities) in [0, 1].
pub fn bce_with_logits(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let softplus = logits.clone().abs().neg().exp().log1p();
    (logits.clone().clamp_min(0.0) - logits * targets + softplus).mean()
}
