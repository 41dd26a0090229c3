//! The GRU's weights laid out for its layer on host slices
//! ([`super::host_gru`]).
//!
//! A time step multiplies the batch's states `[B, H]` by the hidden weight
//! `[H, 3H]`; the input projection multiplies every step's inputs
//! `[T·B, I]` by the input weight `[I, 3H]` at once. Both weights are kept
//! in column panels, each `[rows, PANEL]` contiguous: a product streams the
//! weight front to back (what hardware prefetchers do best) and a panel's
//! outputs for a block of rows of the left-hand side stay in registers over
//! all the panel's rows, so each weight row is loaded once per block
//! (`gemm`, which this replaced, packed the hidden weight again on every
//! step). The kernels are compiled for AVX-512, AVX2 (blocks shaped for
//! each's registers) and the target's default (WASM's simd128), chosen at
//! run time ([`Isa`](crate::isa::Isa)).
//!
//! **Int8**: a model file stores its weights as int8 values times one scale
//! per output column ([`super::quant`]) and loading multiplies them out. When
//! every column of the weight is exactly such a product, the panels also
//! keep the int8 values, and a step of one sequence reads those, applying
//! the scale once per output: the same sums up to the order of float
//! rounding, in a quarter of the bytes. At batch 1 a step is paced by
//! reading the weight (3 MB in fp32 at H = 512, more than a core's L2 cache;
//! 0.8 MB in int8, which stays there from step to step): 28 instead of 33 µs
//! per step of the 5 × 512 model on an EPYC host. From two sequences on, the
//! multiply-adds pace a step and converting int8 to float is extra work in
//! every block: fp32 is 6–8 % faster there, so both are kept (the fp32 copy
//! costs `H × 3H × 4` bytes per layer).

use crate::isa::Isa;

/// Columns per panel: 64 on x86-64 (four AVX-512 or eight AVX2 registers per
/// sequence), where 16 and 32 measured 5–10 % slower at batch 1; 16
/// elsewhere (WASM's 128-bit vectors: V8 keeps 16 of them in registers).
#[cfg(target_arch = "x86_64")]
const PANEL: usize = 64;
#[cfg(not(target_arch = "x86_64"))]
const PANEL: usize = 16;

/// Whether int8 weights stay int8: on x86-64, where converting them costs
/// less than reading four times the bytes; not in WASM, where V8's int8 to
/// float conversion made the loop 1.2–1.6× slower than fp32 panels.
const INT8: bool = cfg!(target_arch = "x86_64");

/// A weight `[rows, cols]` in column panels (see the module docs).
pub struct Panels {
    f32: Vec<f32>,
    int8: Option<Int8>,
    rows: usize,
    cols: usize,
}

/// Int8 values and one scale per column (padded to whole panels with 0).
struct Int8 {
    q: Vec<i8>,
    scale: Vec<f32>,
}

impl Panels {
    /// Lay out a row-major `[rows, cols]` weight, also in int8 when it is
    /// exactly int8 values times a per-column scale (for steps of one
    /// sequence).
    pub fn new(weight: &[f32], rows: usize, cols: usize) -> Self {
        let mut panels = Self::fp32(weight, rows, cols);
        let scales = if INT8 {
            int8_scales(weight, rows, cols)
        } else {
            None
        };
        panels.int8 = scales.map(|mut scale| {
            let q = pack(weight, rows, cols, |w, j| {
                let s = scale[j];
                if s == 0.0 { 0 } else { (w / s).round() as i8 }
            });
            scale.resize(cols.div_ceil(PANEL) * PANEL, 0.0);
            Int8 { q, scale }
        });
        panels
    }

    /// Lay out a row-major `[rows, cols]` weight in fp32 only: for products
    /// of many rows at once (the input projection), where int8 is slower.
    pub fn fp32(weight: &[f32], rows: usize, cols: usize) -> Self {
        assert_eq!(weight.len(), rows * cols, "weight is [rows, cols]");
        Panels {
            f32: pack(weight, rows, cols, |w, _| w),
            int8: None,
            rows,
            cols,
        }
    }

    /// Whether steps of one sequence read the weight in int8.
    pub fn is_int8(&self) -> bool {
        self.int8.is_some()
    }

    /// `y[b] += s[b] · W` for the `batch` rows of `s` (`[batch, rows]`) and
    /// `y` (`[batch, cols]`). Compiled for the widest vectors the CPU has.
    pub fn mul_add(&self, y: &mut [f32], s: &[f32], batch: usize) {
        assert_eq!(s.len(), batch * self.rows, "s is [batch, rows]");
        assert_eq!(y.len(), batch * self.cols, "y is [batch, cols]");
        let shape = Shape {
            rows: self.rows,
            cols: self.cols,
            batch,
        };
        self.mul_add_on(Isa::best(), y, s, shape);
    }

    fn mul_add_on(&self, isa: Isa, y: &mut [f32], s: &[f32], shape: Shape) {
        match &self.int8 {
            Some(Int8 { q, scale }) if shape.batch == 1 => {
                dispatch(isa, y, s, q, Some(scale), shape)
            }
            _ => dispatch(isa, y, s, &self.f32, None, shape),
        }
    }
}

/// Each column's scale if every value of it is `q · scale` for an integer
/// `q` in −127..=127, as [`super::quant`] dequantises (`q as f32 * scale`).
/// The scale was `peak / 127`, where `peak = 127 · scale` after rounding:
/// dividing back may land one float off, so neighbours are tried too.
fn int8_scales(weight: &[f32], rows: usize, cols: usize) -> Option<Vec<f32>> {
    if rows == 0 {
        return None;
    }
    let mut peak = vec![0f32; cols];
    for row in weight.chunks_exact(cols) {
        for (p, w) in peak.iter_mut().zip(row) {
            // NaN and infinity fail the check below.
            *p = p.max(w.abs());
        }
    }
    let candidates: Vec<[f32; 3]> = peak
        .iter()
        .map(|p| {
            let c = p / 127.0;
            [c, c.next_up(), c.next_down()]
        })
        .collect();
    // Bit k of a column's mask: candidate k still fits every value seen.
    let mut fits = vec![0b111u8; cols];
    for row in weight.chunks_exact(cols) {
        for ((mask, c), &w) in fits.iter_mut().zip(&candidates).zip(row) {
            for (k, &c) in c.iter().enumerate() {
                let q = if c == 0.0 { 0.0 } else { (w / c).round() };
                if !(q.abs() <= 127.0 && q * c == w) {
                    *mask &= !(1 << k);
                }
            }
        }
        if fits.contains(&0) {
            return None;
        }
    }
    Some(
        fits.iter()
            .zip(&candidates)
            .map(|(mask, c)| c[mask.trailing_zeros() as usize])
            .collect(),
    )
}

/// `ceil(cols / PANEL)` blocks of `[rows, PANEL]`, row-major, the last one's
/// missing columns zero; `f(value, column)` converts each value.
fn pack<E: Copy + Default>(
    weight: &[f32],
    rows: usize,
    cols: usize,
    f: impl Fn(f32, usize) -> E,
) -> Vec<E> {
    let mut packed = vec![E::default(); cols.div_ceil(PANEL) * PANEL * rows];
    for (p, panel) in packed.chunks_exact_mut(PANEL * rows).enumerate() {
        let (start, end) = (p * PANEL, ((p + 1) * PANEL).min(cols));
        for (dst, src) in panel.chunks_exact_mut(PANEL).zip(weight.chunks_exact(cols)) {
            for (j, (d, &w)) in dst.iter_mut().zip(&src[start..end]).enumerate() {
                *d = f(w, start + j);
            }
        }
    }
    packed
}

/// A stored weight value.
trait Weight: Copy {
    fn value(self) -> f32;
}

impl Weight for f32 {
    #[inline(always)]
    fn value(self) -> f32 {
        self
    }
}

impl Weight for i8 {
    #[inline(always)]
    fn value(self) -> f32 {
        self as f32
    }
}

#[derive(Clone, Copy)]
struct Shape {
    rows: usize,
    cols: usize,
    batch: usize,
}

fn dispatch<E: Weight>(
    isa: Isa,
    y: &mut [f32],
    s: &[f32],
    w: &[E],
    scale: Option<&[f32]>,
    n: Shape,
) {
    match isa {
        // SAFETY: `Isa::best` found AVX-512F on this CPU.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { avx512(y, s, w, scale, n) },
        // SAFETY: `Isa::best` found AVX2 and FMA on this CPU.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2(y, s, w, scale, n) },
        // WASM: 4 sequences × 4 registers of accumulators; V8 spills some,
        // and is still 1.1–1.3× faster than with 2 or 1 at a time.
        _ => body::<E, false, 4, PANEL>(y, s, w, scale, n),
    }
}

/// 4 sequences × 4 registers of accumulators: 16 of the 32.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512<E: Weight>(y: &mut [f32], s: &[f32], w: &[E], scale: Option<&[f32]>, n: Shape) {
    body::<E, true, 4, PANEL>(y, s, w, scale, n)
}

/// 6 sequences × 16 columns (2 registers each) of accumulators, 12 of the
/// 16, the shape of the usual AVX2 `gemm` kernel. `/tmp` harness on an
/// AVX-512 host with this kernel forced, G multiply-adds per second:
/// `[1824, 644] × [644, 1536]` 54 (AVX-512 kernel 56; one sequence at a
/// time over the whole panel, before, 28), `[16, 512] × [512, 1536]` 47
/// (58; 26); 2 sequences over 32-column halves 48 and 31.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<E: Weight>(y: &mut [f32], s: &[f32], w: &[E], scale: Option<&[f32]>, n: Shape) {
    body::<E, true, 6, 16>(y, s, w, scale, n)
}

/// Panel by panel, in parts of `W` columns: blocks of `RB` sequences, then
/// a block of what is left (at most four, three or two at a time: fewer
/// weight reads than one at a time), the last one alone over the whole
/// panel ([`single`]).
/// `FMA`: fused multiply-adds where the CPU has them (a WASM or plain build
/// would call a slow software `fma`).
#[inline(always)]
fn body<E: Weight, const FMA: bool, const RB: usize, const W: usize>(
    y: &mut [f32],
    s: &[f32],
    w: &[E],
    scale: Option<&[f32]>,
    n: Shape,
) {
    for (p, panel) in w.chunks_exact(PANEL * n.rows).enumerate() {
        let c0 = p * PANEL;
        let width = PANEL.min(n.cols - c0);
        let scale = scale.map(|s| &s[c0..c0 + PANEL]);
        // Add sequence `b`'s accumulators for columns `off..`.
        let mut add = |b: usize, off: usize, acc: &[f32]| {
            let out = &mut y[b * n.cols + c0 + off..][..acc.len().min(width - off)];
            match scale {
                Some(sc) => {
                    for ((o, a), sc) in out.iter_mut().zip(acc).zip(&sc[off..]) {
                        *o += a * sc;
                    }
                }
                None => {
                    for (o, a) in out.iter_mut().zip(acc) {
                        *o += a;
                    }
                }
            }
        };
        let mut b = 0;
        while b < n.batch {
            let left = n.batch - b;
            let take = if left >= RB {
                RB
            } else if left >= 4 && RB > 4 {
                4
            } else if left >= 3 && RB > 3 {
                3
            } else if left >= 2 && RB > 2 {
                2
            } else {
                1
            };
            if take == 1 {
                let state = &s[b * n.rows..(b + 1) * n.rows];
                add(b, 0, &single::<E, FMA>(panel, state));
            } else {
                for off in (0..width).step_by(W) {
                    let mut add = |r: usize, acc: &[f32]| add(b + r, off, acc);
                    match take {
                        t if t == RB => {
                            each(block::<E, FMA, RB, W>(panel, s, n.rows, b, off), &mut add)
                        }
                        4 => each(block::<E, FMA, 4, W>(panel, s, n.rows, b, off), &mut add),
                        3 => each(block::<E, FMA, 3, W>(panel, s, n.rows, b, off), &mut add),
                        _ => each(block::<E, FMA, 2, W>(panel, s, n.rows, b, off), &mut add),
                    }
                }
            }
            b += take;
        }
    }
}

/// `f(r, accumulators of sequence r)` for each sequence of a block.
#[inline(always)]
fn each<const RB: usize, const W: usize>(acc: [[f32; W]; RB], f: &mut impl FnMut(usize, &[f32])) {
    for (r, acc) in acc.iter().enumerate() {
        f(r, acc);
    }
}

#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { c + a * b }
}

/// Sequences `b..b + RB` over columns `off..off + W` of one panel: each
/// weight row part is loaded (and converted) once for the `RB` of them.
#[inline(always)]
fn block<E: Weight, const FMA: bool, const RB: usize, const W: usize>(
    panel: &[E],
    s: &[f32],
    rows: usize,
    b: usize,
    off: usize,
) -> [[f32; W]; RB] {
    let states: [&[f32]; RB] = std::array::from_fn(|r| &s[(b + r) * rows..(b + r + 1) * rows]);
    let mut acc = [[0.0f32; W]; RB];
    for (i, row) in panel.chunks_exact(PANEL).enumerate() {
        let row: &[E; W] = row[off..off + W].try_into().expect("a panel row part");
        let w: [f32; W] = std::array::from_fn(|j| row[j].value());
        for (acc, state) in acc.iter_mut().zip(&states) {
            let si = state[i];
            for (a, &w) in acc.iter_mut().zip(&w) {
                *a = madd::<FMA>(si, w, *a);
            }
        }
    }
    acc
}

/// One sequence over one panel, in two register sets (even and odd rows, so
/// consecutive rows do not wait on each other's adds).
#[inline(always)]
fn single<E: Weight, const FMA: bool>(panel: &[E], s: &[f32]) -> [f32; PANEL] {
    let h = s.len();
    let pairs = h / 2;
    let (mut even, mut odd) = ([0.0f32; PANEL], [0.0f32; PANEL]);
    for (i, rows) in panel[..pairs * 2 * PANEL]
        .chunks_exact(2 * PANEL)
        .enumerate()
    {
        let (r0, r1) = rows.split_at(PANEL);
        let (s0, s1) = (s[2 * i], s[2 * i + 1]);
        for j in 0..PANEL {
            even[j] = madd::<FMA>(s0, r0[j].value(), even[j]);
            odd[j] = madd::<FMA>(s1, r1[j].value(), odd[j]);
        }
    }
    if h % 2 == 1 {
        let (r, si) = (&panel[(h - 1) * PANEL..h * PANEL], s[h - 1]);
        for j in 0..PANEL {
            even[j] = madd::<FMA>(si, r[j].value(), even[j]);
        }
    }
    std::array::from_fn(|j| even[j] + odd[j])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `y = s W` in f64, row-major `W [rows, cols]`.
    fn reference(s: &[f32], w: &[f32], rows: usize, cols: usize) -> Vec<f64> {
        s.chunks_exact(rows)
            .flat_map(|s| {
                (0..cols).map(move |j| {
                    (0..rows)
                        .map(|i| s[i] as f64 * w[i * cols + j] as f64)
                        .sum::<f64>()
                })
            })
            .collect()
    }

    /// A `[rows, cols]` weight as a model file stores and loads it: through
    /// `quant`'s own int8 round trip.
    fn int8_valued(w: &[f32], cols: usize) -> Vec<f32> {
        use crate::model::quant;
        use burn::store::burn_pack::Tensor;
        use burn::tensor::{Bytes, DType};
        let shape = vec![w.len() / cols, cols];
        let t = Tensor::new(
            "w".into(),
            DType::F32,
            shape,
            None,
            Bytes::from_elems(w.to_vec()),
        );
        let stored = quant::quantise(vec![t]).unwrap();
        let loaded = quant::dequantise(stored).unwrap();
        quant::f32s(&loaded[0]).unwrap()
    }

    #[test]
    fn panels_equal_the_plain_product_for_any_shape_batch_and_precision() {
        // H odd and even; 3H below, at and above one panel, not a multiple
        // of it; batches below, at and around the block sizes; every kernel
        // this CPU can run (on an AVX-512 host, the AVX2 and portable ones too).
        for rows in [1usize, 2, 5, 16, 22, 43] {
            let cols = 3 * rows;
            let raw: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.37).sin()).collect();
            for (w, int8) in [(raw.clone(), false), (int8_valued(&raw, cols), true)] {
                let panels = Panels::new(&w, rows, cols);
                // (One row is int8 products by chance: each column is ±127 × its scale.)
                if int8 || rows > 1 {
                    assert_eq!(panels.is_int8(), int8 && INT8, "rows {rows}");
                }
                for (batch, isa) in [1usize, 2, 3, 4, 5, 6, 7, 9, 13]
                    .into_iter()
                    .flat_map(|b| Isa::available().into_iter().map(move |isa| (b, isa)))
                {
                    let s: Vec<f32> = (0..batch * rows).map(|i| (i as f32 * 1.3).cos()).collect();
                    let mut y = vec![0.5f32; batch * cols];
                    panels.mul_add_on(isa, &mut y, &s, Shape { rows, cols, batch });
                    for (k, (&v, want)) in y.iter().zip(reference(&s, &w, rows, cols)).enumerate() {
                        assert!(
                            (v as f64 - 0.5 - want).abs() < 1e-5,
                            "rows {rows} int8 {int8} batch {batch} {isa:?} at {k}: {v} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn only_exact_int8_columns_are_kept_in_int8() {
        let (rows, cols) = (8, 5);
        let raw: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.71).sin()).collect();
        let mut w = int8_valued(&raw, cols);
        // A zero column is int8 (any scale).
        for row in w.chunks_exact_mut(cols) {
            row[2] = 0.0;
        }
        let scales = int8_scales(&w, rows, cols).expect("int8 products");
        assert_eq!(scales[2], 0.0);
        // One value a float off in one column: fp32 for the whole weight.
        let mut off = w.clone();
        off[3 * cols + 1] = off[3 * cols + 1].next_up();
        assert!(int8_scales(&off, rows, cols).is_none());
        for bad in [f32::NAN, f32::INFINITY] {
            let mut bad_w = w.clone();
            bad_w[cols] = bad;
            assert!(int8_scales(&bad_w, rows, cols).is_none());
        }
    }
}
