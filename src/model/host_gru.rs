//! The GRU's time loop for inference on the CPU backend, on plain slices.
//!
//! On flex, each step of the tensor loop in [`super::rnn`] is about a dozen
//! tensor ops (the hidden matmul, slices, two sigmoids, the blend, the stack
//! of outputs), each allocating its result; at batch 1 those ops and their
//! bookkeeping cost about half as much again as the step's matmul
//! (benches/RESULTS-model.md). Inference on flex (never autodiff: training
//! needs the tensor loop's backward pass) runs the loop here instead: per
//! step `h W_h + b_h` (a matrix–vector loop at batch 1, one `gemm` call
//! above), then one pass over the gates with an `exp` that vectorises.
//! The equations, the gate order and the tanh form (2σ(2a) − 1) are those of
//! [`super::rnn::gru_step`]; a test holds the two loops to the same outputs.
//!
//! At batch 1 a step reads the whole `[H, 3H]` weight (3 MB at H = 512, more
//! than a core's L2 cache on the machines we measure on), so the memory sets
//! its pace. Every other step walks the weight's column blocks in reverse
//! order, so each step starts on the block the previous one ended with, still
//! in cache (105 → 81 µs per step with the four-row loop below, Xeon host;
//! on the EPYC host two or eight blocks were slower than four; fused
//! multiply-adds gave −9 % in one bench run, nothing in the next).

use gemm::Parallelism;

/// Column blocks of the hidden weight walked back and forth (see the module doc).
const BLOCKS: usize = 4;

/// From this batch size on, the hidden projection is a `gemm` matrix product:
/// below it, a plain matrix–vector loop per sequence reads the weight at the
/// memory's pace, which `gemm` (packing its operands for each call) does not.
const GEMM_FROM_BATCH: usize = 2;

/// A GRU layer's hidden projection as host slices.
pub struct HiddenWeights<'a> {
    /// `W_h`, row-major `[H, 3H]` (gate blocks `r | z | n`).
    pub weight: &'a [f32],
    /// `b_h`, `[3H]`.
    pub bias: &'a [f32],
    /// `H`.
    pub hidden: usize,
}

/// Run `steps` GRU steps for `batch` sequences.
///
/// `projected` is the input projection `W_i x_t + b_i` of every step,
/// `[steps, batch, 3H]`; `state` the hidden state `[batch, H]`, updated in
/// place. Returns the hidden states of every step, `[steps, batch, H]`.
pub fn run(projected: &[f32], state: &mut [f32], w: &HiddenWeights<'_>, batch: usize) -> Vec<f32> {
    let h = w.hidden;
    let g = 3 * h;
    assert!(batch > 0 && h > 0, "empty batch or layer");
    assert_eq!(w.weight.len(), h * g, "hidden weight is [H, 3H]");
    assert_eq!(w.bias.len(), g, "hidden bias is [3H]");
    assert_eq!(state.len(), batch * h, "state is [B, H]");
    assert_eq!(projected.len() % (batch * g), 0, "projection is [T, B, 3H]");
    let steps = projected.len() / (batch * g);
    let mut out = vec![0.0f32; steps * batch * h];
    let mut hp = vec![0.0f32; batch * g];
    for t in 0..steps {
        hidden_projection(&mut hp, state, w, batch, t % 2 == 1);
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
fn hidden_projection(
    hp: &mut [f32],
    state: &[f32],
    w: &HiddenWeights<'_>,
    batch: usize,
    reverse: bool,
) {
    let (h, g) = (w.hidden, 3 * w.hidden);
    for row in hp.chunks_exact_mut(g) {
        row.copy_from_slice(w.bias);
    }
    if batch >= GEMM_FROM_BATCH {
        // SAFETY: `hp` is [batch, g], `state` [batch, h], `w.weight` [h, g]
        // (lengths checked in `run`), all row-major and contiguous; `hp` does
        // not alias the inputs.
        unsafe {
            gemm::gemm(
                batch,
                g,
                h,
                hp.as_mut_ptr(),
                1,
                g as isize,
                true,
                state.as_ptr(),
                1,
                h as isize,
                w.weight.as_ptr(),
                1,
                g as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                Parallelism::None,
            );
        }
        return;
    }
    // Walk back and forth only where the weight outgrows a core's L2 cache
    // (1–2 MB on the machines we measure on); below that one block is best.
    let blocks = if w.weight.len() * 4 > 1 << 20 {
        BLOCKS
    } else {
        1
    };
    let width = g.div_ceil(blocks);
    for i in 0..blocks {
        let block = if reverse { blocks - 1 - i } else { i };
        let start = (block * width).min(g);
        let end = (start + width).min(g);
        for (y, s) in hp.chunks_exact_mut(g).zip(state.chunks_exact(h)) {
            gemv(&mut y[start..end], s, &w.weight[start..], g);
        }
    }
}

/// `y += s W[.., ..y.len()]` for the rows of `w` spaced `stride` apart, four
/// rows at a time (one load and store of `y` per four rows), so each output
/// sums in the same order whatever the column block. Compiled for the widest
/// vectors the CPU has.
fn gemv(y: &mut [f32], s: &[f32], w: &[f32], stride: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            return unsafe { gemv_avx512(y, s, w, stride) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            return unsafe { gemv_avx2(y, s, w, stride) };
        }
    }
    gemv_body::<false>(y, s, w, stride)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gemv_avx512(y: &mut [f32], s: &[f32], w: &[f32], stride: usize) {
    gemv_body::<true>(y, s, w, stride)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gemv_avx2(y: &mut [f32], s: &[f32], w: &[f32], stride: usize) {
    gemv_body::<true>(y, s, w, stride)
}

/// `FMA`: fused multiply-adds, one per weight (where the CPU has them; a
/// WASM or plain build would call a slow software `fma`), else products
/// summed in pairs.
#[inline(always)]
fn gemv_body<const FMA: bool>(y: &mut [f32], s: &[f32], w: &[f32], stride: usize) {
    let n = y.len();
    let row = |i: usize| &w[i * stride..i * stride + n];
    let quads = s.len() / 4 * 4;
    for i in (0..quads).step_by(4) {
        let (s0, s1, s2, s3) = (s[i], s[i + 1], s[i + 2], s[i + 3]);
        let (r0, r1, r2, r3) = (row(i), row(i + 1), row(i + 2), row(i + 3));
        for j in 0..n {
            y[j] = if FMA {
                s3.mul_add(
                    r3[j],
                    s2.mul_add(r2[j], s1.mul_add(r1[j], s0.mul_add(r0[j], y[j]))),
                )
            } else {
                y[j] + ((s0 * r0[j] + s1 * r1[j]) + (s2 * r2[j] + s3 * r3[j]))
            };
        }
    }
    for (i, &si) in s.iter().enumerate().skip(quads) {
        for (yj, &wj) in y.iter_mut().zip(row(i)) {
            *yj += si * wj;
        }
    }
}

/// One sequence's gate arithmetic: `s` is its state `[H]`, `x` and `hp` its
/// two projections `[3H]`. Branch-free and call-free, so it vectorises.
fn gates(s: &mut [f32], x: &[f32], hp: &[f32], h: usize) {
    let (xr, xz, xn) = (&x[..h], &x[h..2 * h], &x[2 * h..3 * h]);
    let (hr, hz, hn) = (&hp[..h], &hp[h..2 * h], &hp[2 * h..3 * h]);
    for j in 0..h {
        let r = sigmoid(xr[j] + hr[j]);
        let z = sigmoid(xz[j] + hz[j]);
        let n = sigmoid((xn[j] + r * hn[j]) * 2.0) * 2.0 - 1.0;
        s[j] = n + z * (s[j] - n);
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
    let n = (x * std::f32::consts::LOG2_E + MAGIC) - MAGIC;
    // ln 2 in two parts, so r = x − n ln 2 is exact enough
    let r = (x - n * 0.693_359_4) + n * 2.121_944_4e-4;
    let p = ((((1.987_569_2e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let e = (p * r * r + r) + 1.0;
    // 2^n through the exponent bits; n ∈ [−126, 0]
    let v = e * f32::from_bits(((n as i32 + 127) as u32) << 23);
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

    #[test]
    fn gemv_equals_the_plain_product_for_any_row_count_and_block() {
        for rows in [1usize, 3, 4, 5, 9] {
            let stride = 11;
            let w: Vec<f32> = (0..rows * stride)
                .map(|i| (i as f32 * 0.37).sin())
                .collect();
            let s: Vec<f32> = (0..rows).map(|i| (i as f32 * 1.3).cos()).collect();
            for (start, n) in [(0, 11), (2, 5), (10, 1)] {
                let mut y = vec![0.5f32; n];
                gemv(&mut y, &s, &w[start..], stride);
                for (j, &v) in y.iter().enumerate() {
                    let want: f64 = 0.5
                        + (0..rows)
                            .map(|i| s[i] as f64 * w[i * stride + start + j] as f64)
                            .sum::<f64>();
                    assert!(
                        (v as f64 - want).abs() < 1e-5,
                        "rows {rows} col {j}: {v} vs {want}"
                    );
                }
            }
        }
    }
}
