//! A GRU layer for inference on the CPU backend, on plain slices.
//!
//! On flex, each step of the tensor loop in [`super::rnn`] is about a dozen
//! tensor ops (the hidden matmul, slices, two sigmoids, the blend, the stack
//! of outputs), each allocating its result; at batch 1 those ops and their
//! bookkeeping cost about half as much again as the step's matmul
//! (benches/RESULTS-model.md). Inference on flex (never autodiff: training
//! needs the tensor loop's backward pass) runs the loop here instead: per
//! step `h W_h + b_h` (one pass over the laid-out weight for the whole
//! batch), then one pass over the gates with an `exp` that vectorises.
//! The equations, the gate order and the tanh form (2σ(2a) − 1) are those of
//! [`super::rnn::gru_step`]; a test holds the two loops to the same outputs.
//!
//! Both projections run here too, on weights laid out once per loaded model
//! (see [`super::prepared`]; else per forward call) in column panels
//! ([`super::panels`]): the input projection of every step as one product
//! `[T·B, I] × [I, 3H]` (fp32; faster than the backend's `gemm` that it
//! replaced, benches/RESULTS-model.md), the hidden one per step,
//! in int8 at batch 1 when the model file stored it so. At batch 1 a step is
//! paced by reading the hidden weight, above by the multiply-adds.

use super::panels::Panels;
use crate::isa::Isa;

/// A GRU layer's projections, laid out for [`run`].
pub struct LayerWeights {
    /// `W_i`, `[I, 3H]`.
    input: Panels,
    /// `b_i`, `[3H]`.
    input_bias: Vec<f32>,
    /// `W_h`, `[H, 3H]`.
    hidden: Panels,
    /// `b_h`, `[3H]`.
    hidden_bias: Vec<f32>,
    /// `I`.
    input_size: usize,
    /// `H`.
    hidden_size: usize,
}

/// A projection's row-major weight `[in, 3H]` and its bias `[3H]`.
pub struct Projection<'a> {
    pub weight: &'a [f32],
    pub bias: Vec<f32>,
}

impl LayerWeights {
    /// Lay out `W_i` (`[I, 3H]`), `W_h` (`[H, 3H]`), gate blocks `r | z | n`,
    /// and their biases.
    pub fn new(input: Projection, hidden: Projection, hidden_size: usize) -> Self {
        let (h, g) = (hidden_size, 3 * hidden_size);
        assert!(h > 0, "empty layer");
        assert_eq!(input.weight.len() % g, 0, "input weight is [I, 3H]");
        assert_eq!(hidden.weight.len(), h * g, "hidden weight is [H, 3H]");
        assert_eq!(input.bias.len(), g, "input bias is [3H]");
        assert_eq!(hidden.bias.len(), g, "hidden bias is [3H]");
        let input_size = input.weight.len() / g;
        LayerWeights {
            input: Panels::fp32(input.weight, input_size, g),
            input_bias: input.bias,
            hidden: Panels::new(hidden.weight, h, g),
            hidden_bias: hidden.bias,
            input_size,
            hidden_size,
        }
    }

    /// Whether steps of one sequence read the hidden weight in int8 (see
    /// [`super::panels`]).
    pub fn is_int8(&self) -> bool {
        self.hidden.is_int8()
    }
}

/// Run a GRU layer over `x`, `[T, B, I]`, from a zero state. Returns the
/// hidden states of every step, `[T, B, H]`.
pub fn run(x: &[f32], w: &LayerWeights, batch: usize) -> Vec<f32> {
    let projected = project(x, w);
    let mut state = vec![0.0f32; batch * w.hidden_size];
    recur(&projected, &mut state, w, batch)
}

/// The input projection of every step, `W_i x_t + b_i`: `[T, B, I]` →
/// `[T, B, 3H]`.
pub fn project(x: &[f32], w: &LayerWeights) -> Vec<f32> {
    assert_eq!(x.len() % w.input_size, 0, "x is [T, B, I]");
    let rows = x.len() / w.input_size;
    let mut projected = w.input_bias.repeat(rows);
    w.input.mul_add(&mut projected, x, rows);
    projected
}

/// Run `steps` GRU steps for `batch` sequences.
///
/// `projected` is the input projection of every step ([`project`]),
/// `[steps, batch, 3H]`; `state` the hidden state `[batch, H]`, updated in
/// place. Returns the hidden states of every step, `[steps, batch, H]`.
pub fn recur(projected: &[f32], state: &mut [f32], w: &LayerWeights, batch: usize) -> Vec<f32> {
    let h = w.hidden_size;
    let g = 3 * h;
    assert!(batch > 0, "empty batch");
    assert_eq!(state.len(), batch * h, "state is [B, H]");
    assert_eq!(projected.len() % (batch * g), 0, "projection is [T, B, 3H]");
    let steps = projected.len() / (batch * g);
    let mut out = vec![0.0f32; steps * batch * h];
    let mut hp = vec![0.0f32; batch * g];
    for t in 0..steps {
        hidden_projection(&mut hp, state, w, batch);
        let x = &projected[t * batch * g..(t + 1) * batch * g];
        for ((s, x), hp) in state
            .chunks_exact_mut(h)
            .zip(x.chunks_exact(g))
            .zip(hp.chunks_exact(g))
        {
            gates(s, x, hp, h);
        }
        out[t * batch * h..(t + 1) * batch * h].copy_from_slice(state);
    }
    out
}

/// `hp = state W_h + b_h` (`[B, 3H]`).
fn hidden_projection(hp: &mut [f32], state: &[f32], w: &LayerWeights, batch: usize) {
    for row in hp.chunks_exact_mut(3 * w.hidden_size) {
        row.copy_from_slice(&w.hidden_bias);
    }
    w.hidden.mul_add(hp, state, batch);
}

/// One sequence's gate arithmetic: `s` is its state `[H]`, `x` and `hp` its
/// two projections `[3H]`. Compiled for the widest vectors the CPU has (as
/// baseline x86-64 code, 4 lanes wide, it was a third of the time loop at
/// batch 16).
fn gates(s: &mut [f32], x: &[f32], hp: &[f32], h: usize) {
    match Isa::best() {
        // SAFETY: `Isa::best` found AVX-512F on this CPU.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { gates_avx512(s, x, hp, h) },
        // SAFETY: `Isa::best` found AVX2 and FMA on this CPU.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { gates_avx2(s, x, hp, h) },
        _ => gates_body(s, x, hp, h),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gates_avx512(s: &mut [f32], x: &[f32], hp: &[f32], h: usize) {
    gates_body(s, x, hp, h)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gates_avx2(s: &mut [f32], x: &[f32], hp: &[f32], h: usize) {
    gates_body(s, x, hp, h)
}

/// Branch-free and call-free, over zipped slices (no bounds checks), so it
/// vectorises.
#[inline(always)]
fn gates_body(s: &mut [f32], x: &[f32], hp: &[f32], h: usize) {
    let (xr, xz, xn) = (&x[..h], &x[h..2 * h], &x[2 * h..3 * h]);
    let (hr, hz, hn) = (&hp[..h], &hp[h..2 * h], &hp[2 * h..3 * h]);
    let input = xr.iter().zip(xz).zip(xn);
    let hidden = hr.iter().zip(hz).zip(hn);
    for (s, (((xr, xz), xn), ((hr, hz), hn))) in s[..h].iter_mut().zip(input.zip(hidden)) {
        let r = sigmoid(xr + hr);
        let z = sigmoid(xz + hz);
        let n = sigmoid((xn + r * hn) * 2.0) * 2.0 - 1.0;
        *s = n + z * (*s - n);
    }
}

/// The logistic function in the CPU backend's overflow-free form,
/// `1 / (1 + e^−x)` for x ≥ 0 and `e^x / (1 + e^x)` below.
#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    let e = exp_nonpositive(-x.abs());
    let d = 1.0 + e;
    if x >= 0.0 { 1.0 / d } else { e / d }
}

/// `e^x` for `x ≤ 0` (NaN stays NaN) as Cephes' `expf` computes it —
/// `x = n ln 2 + r`, a degree-7 polynomial in `r`, times `2^n` — within
/// 2e-7 relative (a test checks), in plain arithmetic the compiler
/// vectorises, where libm's `expf` is one call per value.
#[inline(always)]
fn exp_nonpositive(x: f32) -> f32 {
    // e^−87 is near the smallest normal float: below, 0 (after the
    // arithmetic, on a clamped x, so that it stays branch-free)
    let tiny = x < -87.0;
    let x = if tiny { -87.0 } else { x };
    // round(x / ln 2) by the 1.5·2^23 trick (no rounding instruction needed)
    const MAGIC: f32 = 12_582_912.0;
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    // ln 2 in two parts, so r = x − n ln 2 is exact enough
    let r = (x - n * 0.693_359_4) + n * 2.121_944_4e-4;
    let p = ((((1.987_569_2e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let e = (p * r * r + r) + 1.0;
    // 2^n through the exponent bits; n ∈ [−126, 0]. t = MAGIC + n exactly,
    // in a binade where one unit is 1, so its bits are MAGIC's plus n: integer
    // arithmetic that vectorises, where `n as i32` (a saturating conversion)
    // compiled to one lane at a time and cost half of the gates' time.
    let n_bits = t.to_bits().wrapping_sub(MAGIC.to_bits());
    let v = e * f32::from_bits(n_bits.wrapping_add(127) << 23);
    if tiny { 0.0 } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_libm_over_the_range_the_gates_use() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -87.0 * i as f32 / 200_000.0;
            let want = (x as f64).exp();
            let got = exp_nonpositive(x) as f64;
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 2e-7, "worst relative error {worst:e}");
        assert!(exp_nonpositive(f32::NAN).is_nan());
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-1000.0), 0.0);
    }

    #[test]
    fn sigmoid_matches_the_direct_form_and_saturates() {
        for i in -2000..=2000 {
            let x = i as f32 / 40.0;
            let want = 1.0 / (1.0 + (-(x as f64)).exp());
            assert!(((sigmoid(x) as f64) - want).abs() < 2e-7, "σ({x})");
        }
        assert_eq!(sigmoid(f32::INFINITY), 1.0);
        assert_eq!(sigmoid(f32::NEG_INFINITY), 0.0);
        assert!(sigmoid(f32::NAN).is_nan());
    }
}
