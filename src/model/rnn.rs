//! Stacked GRU / LSTM layers with the input projection hoisted out of the loop.
//!
//! A recurrent layer's work splits into the input projection `W_i x_t + b_i`,
//! which does not depend on the previous step, and the hidden projection
//! `W_h h_{t-1} + b_h`, which does. We compute the input projection for every
//! time step of a chunk of steps, for every sequence in the batch, as one
//! matrix product (`[C·B, I] × [I, G·H]`), and only the hidden projection (`[B, H] × [H, G·H]`)
//! and the element-wise gate arithmetic run inside the time loop. The gates'
//! weights are stacked side by side in one [`Linear`] per projection, so each
//! step is one matmul, not one per gate.
//!
//! (Per chunk rather than for the whole sequence for the backward pass's
//! sake: see [`CHUNK_STEPS`].)
//!
//! The equations are PyTorch's (`nn.GRU`, `nn.LSTM`) with its gate order, so
//! weights convert by transposing `weight_ih_l{k}` / `weight_hh_l{k}`:
//!
//! GRU (gate blocks `r | z | n`):
//! ```text
//! r = σ(W_ir x + b_ir + W_hr h + b_hr)
//! z = σ(W_iz x + b_iz + W_hz h + b_hz)
//! n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//! h' = (1 − z) ⊙ n + z ⊙ h          (computed as n + z ⊙ (h − n), as PyTorch does)
//! ```
//! LSTM (gate blocks `i | f | g | o`):
//! ```text
//! i, f, o = σ(·), g = tanh(·) of W_i x + b_i + W_h h + b_h
//! c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')
//! ```
//!
//! Everything is burn tensors and modules, so the same code runs on the flex
//! CPU backend, on wgpu (Vulkan natively, WebGPU in the browser) and under
//! autodiff for training: training and inference are the same function.
//! One exception, for speed: a GRU layer in inference on flex (its input
//! projection and its time loop) runs on host slices ([`super::host_gru`],
//! the same equations; a test holds the two to the same outputs).

use std::sync::Arc;

use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};

use super::config::Cell;
use super::host_gru;
use super::prepared;

/// Time steps per input-projection matmul.
///
/// The input projection is hoisted out of the time loop in chunks of this many
/// steps rather than for the whole sequence at once because of the backward
/// pass: under autodiff, each step's slice of a tensor back-propagates as a
/// zero tensor the size of the *whole* tensor with the slice's gradient
/// written in (burn's slice backward). One projection of all T steps thus
/// costs O(T²) memory traffic per layer — a few percent at the 114 frames of
/// the scattering, most of the training time at the 1813 frames of mel/CQT.
/// Chunks make it O(C·T) while the matmuls keep C·B rows.
pub const CHUNK_STEPS: usize = 16;

/// Split a time-major sequence `[T, B, I]` into chunks of [`CHUNK_STEPS`] steps
/// (the last may be shorter).
pub fn split_steps(x: Tensor<3>) -> Vec<Tensor<3>> {
    let steps = x.dims()[0];
    (0..steps)
        .step_by(CHUNK_STEPS)
        .map(|t| x.clone().narrow(0, t, CHUNK_STEPS.min(steps - t)))
        .collect()
}

/// Whether a GRU's time loop in inference runs on host slices on `device`:
/// the CPU backend, not under autodiff (`==` alone would also match an
/// autodiff device wrapping flex).
#[cfg(feature = "model")]
pub(super) fn runs_host_loop(device: &Device) -> bool {
    !device.is_autodiff() && *device == Device::flex()
}

/// Never in a build without the CPU backend (the page's WebGPU build).
#[cfg(not(feature = "model"))]
pub(super) fn runs_host_loop(_: &Device) -> bool {
    false
}

/// A tensor's values as `f32`s on the host.
fn host(t: TensorData) -> Vec<f32> {
    t.convert::<f32>()
        .try_into_vec::<f32>()
        .expect("data converted to f32 reads as f32")
}

/// One recurrent layer's weights in PyTorch's layout (row-major slices).
#[derive(Debug, Clone, Copy)]
pub struct PytorchWeights<'a> {
    /// `weight_ih_l{k}`, `[G·H, I]`.
    pub weight_ih: &'a [f32],
    /// `weight_hh_l{k}`, `[G·H, H]`.
    pub weight_hh: &'a [f32],
    /// `bias_ih_l{k}`, `[G·H]`.
    pub bias_ih: &'a [f32],
    /// `bias_hh_l{k}`, `[G·H]`.
    pub bias_hh: &'a [f32],
}

/// One recurrent layer (GRU or LSTM), batch-first `[B, T, I] → [B, T, H]`.
#[derive(Module, Debug)]
pub struct RecurrentLayer {
    /// Input projection for all gates: weight `[I, G·H]`, bias `[G·H]` (PyTorch `b_ih`).
    pub input: Linear,
    /// Hidden projection for all gates: weight `[H, G·H]`, bias `[G·H]` (PyTorch `b_hh`).
    pub hidden: Linear,
    /// Hidden size `H`.
    pub hidden_size: usize,
    /// `true` for LSTM, `false` for GRU.
    pub lstm: bool,
}

impl RecurrentLayer {
    /// A layer with PyTorch's initialisation: every weight and bias uniform in
    /// `±1/√H`.
    pub fn new(cell: Cell, input_size: usize, hidden_size: usize, device: &Device) -> Self {
        let k = 1.0 / (hidden_size as f64).sqrt();
        let init = Initializer::Uniform { min: -k, max: k };
        let out = cell.gates() * hidden_size;
        RecurrentLayer {
            input: LinearConfig::new(input_size, out)
                .with_initializer(init.clone())
                .init(device),
            hidden: LinearConfig::new(hidden_size, out)
                .with_initializer(init)
                .init(device),
            hidden_size,
            lstm: cell == Cell::Lstm,
        }
    }

    /// A layer from weights in PyTorch's layout (`weight_ih_l{k}` `[G·H, I]`,
    /// `weight_hh_l{k}` `[G·H, H]`, `bias_ih_l{k}`, `bias_hh_l{k}` `[G·H]`,
    /// row-major), e.g. exported from `torch.nn.GRU` or an ONNX GRU/LSTM
    /// (whose gate order must first be permuted to PyTorch's).
    pub fn from_pytorch(
        cell: Cell,
        input_size: usize,
        hidden_size: usize,
        weights: PytorchWeights<'_>,
        device: &Device,
    ) -> Result<Self, String> {
        let out = cell.gates() * hidden_size;
        let check = |name: &str, got: usize, want: usize| {
            if got == want {
                Ok(())
            } else {
                Err(format!("{name}: {got} values, expected {want}"))
            }
        };
        check("weight_ih", weights.weight_ih.len(), out * input_size)?;
        check("weight_hh", weights.weight_hh.len(), out * hidden_size)?;
        check("bias_ih", weights.bias_ih.len(), out)?;
        check("bias_hh", weights.bias_hh.len(), out)?;
        let dense = |w: &[f32], b: &[f32], rows: usize| -> Linear {
            // Transpose on the host: a transposed view would keep PyTorch's
            // memory order, and the CPU backend's matmul is several times
            // slower at small batch with the weight column-major. Files and
            // training hold the weight row-major `[rows, out]`; so does this.
            let mut t = vec![0.0f32; w.len()];
            for (o, row) in w.chunks_exact(rows).enumerate() {
                for (i, &v) in row.iter().enumerate() {
                    t[i * out + o] = v;
                }
            }
            let weight = Tensor::<2>::from_data(TensorData::new(t, [rows, out]), device);
            let bias = Tensor::<1>::from_data(TensorData::new(b.to_vec(), [out]), device);
            Linear {
                weight: Param::from_tensor(weight),
                bias: Some(Param::from_tensor(bias)),
            }
        };
        Ok(RecurrentLayer {
            input: dense(weights.weight_ih, weights.bias_ih, input_size),
            hidden: dense(weights.weight_hh, weights.bias_hh, hidden_size),
            hidden_size,
            lstm: cell == Cell::Lstm,
        })
    }

    /// The unit of this layer.
    pub fn cell(&self) -> Cell {
        if self.lstm { Cell::Lstm } else { Cell::Gru }
    }

    /// Run the layer over a time-major sequence `[T, B, I]`, giving `[T, B, H]`.
    pub fn forward_time_major(&self, x: Tensor<3>) -> Tensor<3> {
        Tensor::cat(self.forward_chunks(split_steps(x)), 0)
    }

    /// Run the layer over a time-major sequence given as consecutive chunks
    /// `[C_k, B, I]` (see [`CHUNK_STEPS`]), giving chunks `[C_k, B, H]` (a GRU in
    /// inference on the CPU backend gives the whole sequence as one chunk).
    ///
    /// The initial state is zero; the state carries across chunks.
    pub fn forward_chunks(&self, chunks: Vec<Tensor<3>>) -> Vec<Tensor<3>> {
        let Some(first) = chunks.first() else {
            return Vec::new();
        };
        let [_, batch, _] = first.dims();
        let h = self.hidden_size;
        let device = first.device();
        if !self.lstm && runs_host_loop(&device) {
            return self.forward_chunks_host(chunks, batch, &device);
        }
        let mut state = Tensor::<2>::zeros([batch, h], &device);
        let mut cell_state = self.lstm.then(|| Tensor::<2>::zeros([batch, h], &device));
        let mut out = Vec::with_capacity(chunks.len());
        for x in chunks {
            let [steps, batch, input] = x.dims();
            // One matmul for the chunk's input projections: [C·B, I] → [C·B, G·H];
            // step t is then the contiguous rows t·B .. (t+1)·B.
            let projected = self.input.forward(x.reshape([steps * batch, input]));
            let mut outputs = Vec::with_capacity(steps);
            for t in 0..steps {
                let xt = projected.clone().narrow(0, t * batch, batch);
                let ht = self.hidden.forward(state.clone());
                state = match cell_state.take() {
                    None => gru_step(xt, ht, state, h),
                    Some(c) => {
                        let (next_h, next_c) = lstm_step(xt, ht, c, h);
                        cell_state = Some(next_c);
                        next_h
                    }
                };
                outputs.push(state.clone());
            }
            out.push(Tensor::stack(outputs, 0));
        }
        out
    }

    /// [`Self::forward_chunks`] for a GRU on the CPU backend: the whole
    /// layer on host slices ([`host_gru`]).
    fn forward_chunks_host(
        &self,
        chunks: Vec<Tensor<3>>,
        batch: usize,
        device: &Device,
    ) -> Vec<Tensor<3>> {
        let h = self.hidden_size;
        // Laid out once by the loaded model running this forward pass (see
        // `prepared`), else now.
        let weights = prepared::lookup(self.hidden.weight.id)
            .unwrap_or_else(|| Arc::new(self.host_weights()));
        // The chunks are for the backward pass (see `CHUNK_STEPS`); one input
        // projection for the whole sequence gives one chunk, which the next
        // layer and `Tensor::cat` take like any other chunking.
        let x = Tensor::cat(chunks, 0);
        let steps = x.dims()[0];
        let out = host_gru::run(&host(x.into_data()), &weights, batch);
        vec![Tensor::from_data(
            TensorData::new(out, [steps, batch, h]),
            device,
        )]
    }

    /// This GRU layer's projections copied out of its tensors and laid out
    /// for [`host_gru::run`] (what a loaded model keeps, `prepared`).
    pub fn host_weights(&self) -> host_gru::LayerWeights {
        let projection = |l: &Linear| {
            let weight = host(l.weight.val().into_data());
            let bias = match &l.bias {
                Some(b) => host(b.val().into_data()),
                None => vec![0.0; l.weight.dims()[1]],
            };
            (weight, bias)
        };
        let (wi, bi) = projection(&self.input);
        let (wh, bh) = projection(&self.hidden);
        host_gru::LayerWeights::new(
            host_gru::Projection {
                weight: &wi,
                bias: bi,
            },
            host_gru::Projection {
                weight: &wh,
                bias: bh,
            },
            self.hidden_size,
        )
    }

    /// Batch-first forward `[B, T, I] → [B, T, H]` (PyTorch `batch_first=True`).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.forward_time_major(x.swap_dims(0, 1)).swap_dims(0, 1)
    }
}

/// One GRU step given both projections (`[B, 3H]` each) and the state `[B, H]`
/// (public so the benchmark can time the gate arithmetic on its own).
pub fn gru_step(xt: Tensor<2>, ht: Tensor<2>, state: Tensor<2>, h: usize) -> Tensor<2> {
    // r and z share one sigmoid over their two blocks.
    let rz = sigmoid(xt.clone().narrow(1, 0, 2 * h) + ht.clone().narrow(1, 0, 2 * h));
    let r = rz.clone().narrow(1, 0, h);
    let z = rz.narrow(1, h, h);
    // tanh(a) = 2σ(2a) − 1, exactly; the CPU backend's element-wise tanh
    // costs about five of its sigmoids (scalar libm calls either way), which
    // outweighs the three extra cheap ops (benches/RESULTS-model.md).
    let a = xt.narrow(1, 2 * h, h) + r * ht.narrow(1, 2 * h, h);
    let n = sigmoid(a * 2.0) * 2.0 - 1.0;
    // (1 − z) ⊙ n + z ⊙ h  ==  n + z ⊙ (h − n)
    n.clone() + z * (state - n)
}

/// One LSTM step given both projections (`[B, 4H]` each) and the cell state.
pub fn lstm_step(xt: Tensor<2>, ht: Tensor<2>, c: Tensor<2>, h: usize) -> (Tensor<2>, Tensor<2>) {
    let gates = xt + ht;
    let inf = sigmoid(gates.clone().narrow(1, 0, 2 * h));
    let i = inf.clone().narrow(1, 0, h);
    let f = inf.narrow(1, h, h);
    let g = gates.clone().narrow(1, 2 * h, h).tanh();
    let o = sigmoid(gates.narrow(1, 3 * h, h));
    let c = f * c + i * g;
    let next_h = o * c.clone().tanh();
    (next_h, c)
}
