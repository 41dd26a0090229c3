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
//! its pace. The weight is therefore laid out in column panels, each
//! `[H, PANEL]` contiguous (once per loaded model, see [`super::prepared`];
//! else per forward call): a step streams the weight front to back (what
//! hardware prefetchers do best) and keeps a panel's outputs in registers
//! over all `H` rows, where the row-major loop reloaded and stored them every
//! four rows. EPYC host, `[512, 1536]`: 48 → 35 µs per step (onnxruntime's
//! whole step, gates included, is ~39); in V8's WASM, 16-column panels beat
//! the row-major loop by 10 % and wider ones spill registers.

use gemm::Parallelism;

/// Columns per panel of the packed hidden weight: 64 (four AVX-512 or eight
/// AVX2 registers per accumulator set, two sets) on x86-64, where 16 and 32
/// measured 5–10 % slower; 16 elsewhere (WASM's 128-bit vectors: V8 keeps 16
/// of them in registers).
#[cfg(target_arch = "x86_64")]
const PANEL: usize = 64;
#[cfg(not(target_arch = "x86_64"))]
const PANEL: usize = 16;

/// From this batch size on, the hidden projection is a `gemm` matrix product:
/// below it, the panel loop per sequence reads the weight at the memory's
/// pace, which `gemm` (packing its operands for each call) does not.
const GEMM_FROM_BATCH: usize = 2;

/// A GRU layer's hidden projection, laid out for the time loop.
pub struct HiddenWeights {
    /// Row-major `[H, 3H]` for `gemm` (batch ≥ [`GEMM_FROM_BATCH`]), else
    /// panels: `ceil(3H / PANEL)` blocks of `[H, PANEL]`, row-major, the last
    /// one's missing columns zero.
    weight: Vec<f32>,
    /// `b_h`, `[3H]`.
    bias: Vec<f32>,
    /// `H`.
    hidden: usize,
    /// Whether `weight` is in panels.
    panels: bool,
}

impl HiddenWeights {
    /// Lay out `W_h` (row-major `[H, 3H]`, gate blocks `r | z | n`) and `b_h`
    /// (`[3H]`) for `batch` sequences.
    pub fn new(weight: Vec<f32>, bias: Vec<f32>, hidden: usize, batch: usize) -> Self {
        let g = 3 * hidden;
        assert!(hidden > 0, "empty layer");
        assert_eq!(weight.len(), hidden * g, "hidden weight is [H, 3H]");
        assert_eq!(bias.len(), g, "hidden bias is [3H]");
        let panels = batch < GEMM_FROM_BATCH;
        let weight = if panels {
            let mut packed = vec![0.0f32; g.div_ceil(PANEL) * PANEL * hidden];
            for (p, panel) in packed.chunks_exact_mut(PANEL * hidden).enumerate() {
                let (start, end) = (p * PANEL, ((p + 1) * PANEL).min(g));
                for (dst, src) in panel.chunks_exact_mut(PANEL).zip(weight.chunks_exact(g)) {
                    dst[..end - start].copy_from_slice(&src[start..end]);
                }
            }
            packed
        } else {
            weight
        };
        HiddenWeights {
            weight,
            bias,
            hidden,
            panels,
        }
    }
}

/// Run `steps` GRU steps for `batch` sequences.
///
/// `projected` is the input projection `W_i x_t + b_i` of every step,
/// `[steps, batch, 3H]`; `state` the hidden state `[batch, H]`, updated in
/// place. Returns the hidden states of every step, `[steps, batch, H]`.
pub fn run(projected: &[f32], state: &mut [f32], w: &HiddenWeights, batch: usize) -> Vec<f32> {
    let h = w.hidden;
    let g = 3 * h;
    assert!(batch > 0, "empty batch");
    assert_eq!(
        w.panels,
        batch < GEMM_FROM_BATCH,
        "weights laid out for another batch size"
    );
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
fn hidden_projection(hp: &mut [f32], state: &[f32], w: &HiddenWeights, batch: usize) {
    let (h, g) = (w.hidden, 3 * w.hidden);
    for row in hp.chunks_exact_mut(g) {
        row.copy_from_slice(&w.bias);
    }
    if !w.panels {
        // SAFETY: `hp` is [batch, g], `state` [batch, h], `w.weight` [h, g]
        // (lengths checked in `new` and `run`), all row-major and contiguous;
        // `hp` does not alias the inputs.
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
    gemv(hp, state, &w.weight);
}

/// `y += s W` with `W` in panels of [`PANEL`] columns (see [`HiddenWeights`]).
/// Compiled for the widest vectors the CPU has.
fn gemv(y: &mut [f32], s: &[f32], panels: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            return unsafe { gemv_avx512(y, s, panels) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            return unsafe { gemv_avx2(y, s, panels) };
        }
    }
    gemv_body::<false>(y, s, panels)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gemv_avx512(y: &mut [f32], s: &[f32], panels: &[f32]) {
    gemv_body::<true>(y, s, panels)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gemv_avx2(y: &mut [f32], s: &[f32], panels: &[f32]) {
    gemv_body::<true>(y, s, panels)
}

/// One panel at a time: its `PANEL` outputs accumulate in two register sets
/// (even and odd rows, so consecutive rows do not wait on each other's adds)
/// over all rows, then are added to `y` once. `FMA`: fused multiply-adds
/// where the CPU has them (a WASM or plain build would call a slow software
/// `fma`).
#[inline(always)]
fn gemv_body<const FMA: bool>(y: &mut [f32], s: &[f32], panels: &[f32]) {
    let h = s.len();
    let pairs = h / 2;
    for (ys, panel) in y.chunks_mut(PANEL).zip(panels.chunks_exact(PANEL * h)) {
        let (mut even, mut odd) = ([0.0f32; PANEL], [0.0f32; PANEL]);
        for (i, rows) in panel[..pairs * 2 * PANEL]
            .chunks_exact(2 * PANEL)
            .enumerate()
        {
            let (r0, r1) = rows.split_at(PANEL);
            let (s0, s1) = (s[2 * i], s[2 * i + 1]);
            for j in 0..PANEL {
                if FMA {
                    even[j] = s0.mul_add(r0[j], even[j]);
                    odd[j] = s1.mul_add(r1[j], odd[j]);
                } else {
                    even[j] += s0 * r0[j];
                    odd[j] += s1 * r1[j];
                }
            }
        }
        if h % 2 == 1 {
            let (r, si) = (&panel[(h - 1) * PANEL..], s[h - 1]);
            for j in 0..PANEL {
                even[j] += si * r[j];
            }
        }
        for (j, yj) in ys.iter_mut().enumerate() {
            *yj += even[j] + odd[j];
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
    fn panels_equal_the_plain_product_for_any_shape() {
        // H odd and even; 3H below, at and above one panel, not a multiple of it.
        for h in [1usize, 2, 5, 16, 22, 43] {
            let g = 3 * h;
            let w: Vec<f32> = (0..h * g).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..g).map(|i| (i as f32 * 0.11).cos()).collect();
            let s: Vec<f32> = (0..h).map(|i| (i as f32 * 1.3).cos()).collect();
            let packed = HiddenWeights::new(w.clone(), b.clone(), h, 1);
            let mut y = vec![0.0f32; g];
            hidden_projection(&mut y, &s, &packed, 1);
            for (j, &v) in y.iter().enumerate() {
                let want = b[j] as f64
                    + (0..h)
                        .map(|i| s[i] as f64 * w[i * g + j] as f64)
                        .sum::<f64>();
                assert!(
                    (v as f64 - want).abs() < 1e-5,
                    "H {h} col {j}: {v} vs {want}"
                );
            }
        }
    }
}
