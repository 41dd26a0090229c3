//! The paper's 4-layer CNN baseline (Table 1), on any front end.
//!
//! The input `[B, T, I]` is read as a one-channel image of `I` coefficients ×
//! `T` frames (Table 1: 433 × 114 × 1). Four blocks of
//! conv 3×3 ("same" padding, stride 1) → batch norm → ReLU → max-pool → dropout,
//! with 128, 384, 768 and 2048 channels and pools of 2×3, 3×6, 4×6 and 4×4
//! (coefficients × frames), then a dense sigmoid layer over 50 tags.
//!
//! Two details the table leaves open, chosen so the parameter count matches
//! the paper's 17 365K: pooling rounds up (a partial window at the edge still
//! counts, as TensorFlow's "same" pooling does; a window larger than what is
//! left shrinks to it), and whatever extent remains after the fourth pool is
//! max-pooled globally, so the dense layer has 2048 × 50 weights. Batch norm
//! (as in Choi et al.'s CNN that Table 1 follows) accounts for the rest.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor};

/// Output channels of the four convolutions.
pub const CHANNELS: [usize; 4] = [128, 384, 768, 2048];
/// Max-pool sizes (coefficients × frames) after each convolution.
pub const POOLS: [[usize; 2]; 4] = [[2, 3], [3, 6], [4, 6], [4, 4]];

/// One conv → batch norm → ReLU → pool → dropout block.
#[derive(Module, Debug)]
pub struct ConvBlock {
    /// 3×3 convolution, same padding.
    pub conv: Conv2d,
    /// Batch normalisation over channels.
    pub norm: BatchNorm,
    /// Dropout after pooling.
    pub dropout: Dropout,
    /// Pool size (coefficients × frames).
    pub pool: [usize; 2],
}

impl ConvBlock {
    fn new(c_in: usize, c_out: usize, pool: [usize; 2], dropout: f64, device: &Device) -> Self {
        ConvBlock {
            conv: Conv2dConfig::new([c_in, c_out], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            norm: BatchNormConfig::new(c_out).init(device),
            dropout: DropoutConfig::new(dropout).init(),
            pool,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = relu(self.norm.forward(self.conv.forward(x)));
        let [_, _, height, width] = x.dims();
        // A window never larger than what is left; a partial last window counts.
        let kernel = [self.pool[0].min(height), self.pool[1].min(width)];
        let x = max_pool2d(x, MaxPoolOptions::new(kernel).with_ceil_mode(true));
        self.dropout.forward(x)
    }
}

/// The Table 1 network.
#[derive(Module, Debug)]
pub struct CnnNet {
    /// The four convolution blocks.
    pub blocks: Vec<ConvBlock>,
    /// Dense layer 2048 → tags (sigmoid applied by the caller).
    pub head: Linear,
}

impl CnnNet {
    /// A randomly initialised network.
    pub fn new(tags: usize, dropout: f64, device: &Device) -> Self {
        let mut blocks = Vec::with_capacity(CHANNELS.len());
        let mut c_in = 1;
        for (c_out, pool) in CHANNELS.into_iter().zip(POOLS) {
            blocks.push(ConvBlock::new(c_in, c_out, pool, dropout, device));
            c_in = c_out;
        }
        CnnNet {
            blocks,
            head: LinearConfig::new(c_in, tags).init(device),
        }
    }

    /// Logits `[B, tags]` for input `[B, T, I]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let [batch, steps, input] = x.dims();
        // [B, T, I] → [B, 1, I, T]: coefficients × frames, as in Table 1.
        let mut x = x.swap_dims(1, 2).reshape([batch, 1, input, steps]);
        for block in &self.blocks {
            x = block.forward(x);
        }
        let [b, c, hh, ww] = x.dims();
        let pooled = x.reshape([b, c, hh * ww]).max_dim(2).reshape([b, c]);
        self.head.forward(pooled)
    }
}
