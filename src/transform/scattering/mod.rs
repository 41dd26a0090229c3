//! The 1-D scattering transform (paper §3): orders 0, 1 and 2, averaged by a
//! Gaussian low-pass of width `T` and sampled every `hop` samples.
//!
//! [`Scattering`] is a plan for one input length: it designs the filters and
//! FFT plans once and owns its scratch buffers, so transforming clip after clip
//! costs only the FFTs.
//!
//! How it differs from Kymatio's algorithm (the results agree, see
//! `tests/kymatio.rs`):
//! - Each path is computed at the lowest sample rate that still represents
//!   what follows it (the next filters' support plus the modulus' spread), not
//!   at Kymatio's fixed `2^(j - oversampling)`. That is where most of the speed
//!   comes from.
//! - Coefficients are rate-independent, i.e. what a full-rate computation
//!   gives. Kymatio 0.3 divides order-1 paths by `2^k1` and order-2 paths by
//!   `2^(2 k1 + k2)`, its internal subsampling exponents (a side effect of
//!   averaging rather than summing when it periodises filters).
//! - Each path's inverse FFT (length `L`) runs as two FFTs of length `L/2`,
//!   prepared in the spectrum fold (`kernels::fold_halves`): their outputs,
//!   the even and the odd samples, are the packing the next real FFT wants,
//!   and only half lengths are planned (planning halved).
//! - Generic over `f32` (the product) and `f64`: [`Precision::Reference`]
//!   plans in `f64` at higher internal rates, to agree with the definition
//!   within 1e-4 (the default is within 1e-3; README, "Against the definition
//!   itself").
//! - The product padding is shorter and aligned so that frame `k` is centred on
//!   sample `k * hop` (`ceil(len / hop)` frames, 114 for 29 s at 16 kHz);
//!   [`Scattering::with_padding`] reproduces Kymatio's own padding for tests.
//!
//! The room: [`config`] (settings, validation, planner), this plan,
//! `kernels` (internal rates, frequency-domain folds), [`normalise`] (the
//! paper's normaliser and the [`FrontEndPlan`](super::FrontEndPlan) that
//! pairs it with this plan). This file (~500 lines) is the plan's core loop and
//! its per-path buffers, kept in one piece so the rates can be followed.

pub mod config;
mod kernels;
pub mod normalise;
#[cfg(test)]
pub(crate) mod tests;

pub use config::{Precision, ScatteringConfig};
pub use normalise::{
    NormaliserConfig, ScatteringFrontEnd, ScatteringPlan, normalise_scattering, plan_for,
};

use super::coefficients::Coefficients;
use super::fft::{Paired, Planner, Real};
use super::filters::{
    SparseFilter, WaveletParams, morlet, phi_sigma, phi_time_support, wavelet_params,
};
use super::signal::{is_5_smooth, reflect_pad};
use kernels::{
    Rates, bins_read, fold_halves, low_bins, lowpass, modulus, truncate, twiddles, zeroed,
};
use realfft::{RealFftPlanner, RealToComplex};
use rustfft::Fft;
use rustfft::num_complex::Complex;
use std::collections::HashMap;
use std::sync::Arc;

/// Where the signal sits inside the padded FFT frame and which output frames
/// are returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaddingSpec {
    /// Padded (FFT) length; a multiple of `hop`.
    pub padded_len: usize,
    /// Samples of reflection before the signal.
    pub pad_left: usize,
    /// Index of the first returned frame among the `padded_len / hop` outputs.
    pub first_frame: usize,
    /// Number of returned frames.
    pub n_frames: usize,
}

/// One row of the output: which filters produced it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Path {
    /// 0, 1 or 2.
    pub order: u8,
    /// First-order filter index and parameters (orders 1 and 2).
    pub psi1: Option<(usize, WaveletParams)>,
    /// Second-order filter index and parameters (order 2).
    pub psi2: Option<(usize, WaveletParams)>,
}

struct SecondOrder<T> {
    /// Index of the second-order filter, its first bin and the part of its
    /// values used (truncated to U1's band; filters are shared, not copied).
    i2: usize,
    start: i64,
    values: std::ops::Range<usize>,
    /// Sample count of U2 for this path (even).
    len: usize,
    /// Of half the length: the inverse FFT (a forward one of the conjugate,
    /// see [`fold_product`]) as two of these ([`fold_halves`]), then the low
    /// bins of U2's spectrum ([`low_bins`]).
    half_fft: Arc<dyn Paired<T>>,
    /// `W_len^k` up to `len / 2`, for both; shared by every path with this
    /// `len`.
    twiddles: Arc<Vec<Complex<T>>>,
}

struct FirstOrder<T> {
    psi: SparseFilter<T>,
    len: usize,
    /// As for U2; U1's spectrum is wanted up to `bins`, the highest bin the
    /// low-pass and the second-order filters read.
    half_fft: Arc<dyn Paired<T>>,
    twiddles: Arc<Vec<Complex<T>>>,
    bins: usize,
    second: Vec<SecondOrder<T>>,
}

/// A scattering plan for inputs of one length, computing in `T` (`f32`, or
/// `f64` for [`Precision::Reference`]); its output is `f32` either way.
pub struct Scattering<T: Real = f32> {
    config: ScatteringConfig,
    input_len: usize,
    pad: PaddingSpec,
    hop: usize,
    paths: Vec<Path>,
    rfft: Arc<dyn RealToComplex<T>>,
    phi: SparseFilter<T>,
    /// Second-order filters, shared by every first-order path.
    psi2: Vec<SparseFilter<T>>,
    /// Forward, of conjugated input, like every inverse FFT here.
    out_ifft: Arc<dyn Fft<T>>,
    first: Vec<FirstOrder<T>>,
    // Scratch, reused across calls.
    padded: Vec<T>,
    spectrum: Vec<Complex<T>>,
    band: Vec<Complex<T>>,
    /// U1 with even samples in the real parts and odd in the imaginary.
    u1: Vec<Complex<T>>,
    u1_hat: Vec<Complex<T>>,
    band2: Vec<Complex<T>>,
    /// U2 with even samples in the real parts and odd in the imaginary.
    u2: Vec<Complex<T>>,
    u2_hat: Vec<Complex<T>>,
    out: Vec<Complex<T>>,
    fft_scratch: Vec<Complex<T>>,
}

impl Scattering<f32> {
    /// Plan with the product padding: frame `k` centred on sample `k * hop`
    /// ([`Scattering::plan`] in `f32`).
    pub fn new(config: &ScatteringConfig, input_len: usize) -> Self {
        Self::plan(config, input_len)
    }

    /// Plan with an explicit padding (used to reproduce Kymatio's frames).
    pub fn with_padding(config: &ScatteringConfig, input_len: usize, pad: PaddingSpec) -> Self {
        Self::plan_padded(config, input_len, pad)
    }
}

impl<T: Real> Scattering<T> {
    /// Plan with the product padding, at the internal rates of
    /// `config.precision`; [`Precision::Reference`] is meant for `T = f64`
    /// (what [`ScatteringFrontEnd`] plans), since in `f32` the FFTs' rounding
    /// alone exceeds its bound on low-pass tails.
    pub fn plan(config: &ScatteringConfig, input_len: usize) -> Self {
        Self::plan_padded(config, input_len, Self::product_padding(config, input_len))
    }

    /// [`Scattering::with_padding`] in `T`.
    pub fn plan_padded(config: &ScatteringConfig, input_len: usize, pad: PaddingSpec) -> Self {
        Self::with_rates(config, input_len, pad, Rates::of(config.precision))
    }

    /// Frame `k` centred on sample `k * hop`, `ceil(len / hop)` frames.
    fn product_padding(config: &ScatteringConfig, input_len: usize) -> PaddingSpec {
        let hop = config.hop();
        // Reflection of twice the low-pass support keeps circular wrap-around
        // out of the returned frames.
        let pad_min = 2 * phi_time_support(config.t, 1e-3);
        let mut blocks = (input_len + 2 * pad_min).div_ceil(hop) + 1;
        while !is_5_smooth(blocks) {
            blocks += 1;
        }
        let padded_len = blocks * hop;
        let pad_left = ((padded_len - input_len) / 2) / hop * hop;
        PaddingSpec {
            padded_len,
            pad_left,
            first_frame: pad_left / hop,
            n_frames: input_len.div_ceil(hop).max(1),
        }
    }

    pub(crate) fn with_rates(
        config: &ScatteringConfig,
        input_len: usize,
        pad: PaddingSpec,
        rates: Rates,
    ) -> Self {
        let hop = config.hop();
        assert!(
            pad.padded_len.is_multiple_of(hop),
            "padded length must be a multiple of the hop"
        );
        assert!(pad.first_frame + pad.n_frames <= pad.padded_len / hop);
        let n = pad.padded_len;
        let mut real = RealFftPlanner::<T>::new();
        let mut cplx = Planner::new();

        let phi = morlet(n, None, phi_sigma(config.t));
        let phi_reach = phi.max_abs_bin() as usize;
        let p1 = wavelet_params(config.q1, config.j);
        let p2 = if config.max_order >= 2 {
            wavelet_params(config.q2, config.j)
        } else {
            Vec::new()
        };
        // Only the second-order filters some path uses (j2 > j1): the widest
        // ones never are, and cost most to design.
        let min_j1 = p1.iter().map(|w| w.j).min().unwrap_or(0);
        let psi2: Vec<SparseFilter<T>> = p2
            .iter()
            .map(|p| {
                if p.j > min_j1 {
                    morlet(n, Some(p.xi), p.sigma)
                } else {
                    SparseFilter {
                        start: 0,
                        values: Vec::new(),
                    }
                }
            })
            .collect();
        // One twiddle table per length, shared by the paths (first and second
        // order) that have it.
        let mut tables: HashMap<usize, Arc<Vec<Complex<T>>>> = HashMap::new();
        let mut table = |len: usize| {
            tables
                .entry(len)
                .or_insert_with(|| Arc::new(twiddles(len, len / 2 + 1)))
                .clone()
        };

        let mut paths = vec![Path {
            order: 0,
            psi1: None,
            psi2: None,
        }];
        let mut second_paths = Vec::new();
        let mut first = Vec::with_capacity(p1.len());
        for (i1, w1) in p1.iter().enumerate() {
            let psi = morlet(n, Some(w1.xi), w1.sigma);
            paths.push(Path {
                order: 1,
                psi1: Some((i1, *w1)),
                psi2: None,
            });
            // Second order only where it carries energy: the second wavelet
            // must be coarser than the first (Kymatio's j2 > j1).
            let used: Vec<usize> = (0..p2.len()).filter(|&i2| p2[i2].j > w1.j).collect();
            let reach = used
                .iter()
                .map(|&i2| psi2[i2].max_abs_bin() as usize)
                .chain([phi_reach])
                .max()
                .unwrap();
            let len = rates.len1(reach, psi.width(), phi_reach, n);
            let mut second = Vec::with_capacity(used.len());
            for &i2 in &used {
                // U1's spectrum exists only below its Nyquist bin.
                let (start, values) = truncate(&psi2[i2], len);
                let len2 = rates.len2(values.len(), phi_reach, len);
                second.push(SecondOrder {
                    i2,
                    start,
                    values,
                    len: len2,
                    half_fft: cplx.paired(len2 / 2),
                    twiddles: table(len2),
                });
                second_paths.push(Path {
                    order: 2,
                    psi1: Some((i1, *w1)),
                    psi2: Some((i2, p2[i2])),
                });
            }
            let bins = second
                .iter()
                .map(|s| bins_read(len, s.start, s.values.len()))
                .chain([bins_read(len, phi.start, phi.values.len())])
                .max()
                .unwrap();
            first.push(FirstOrder {
                psi,
                len,
                half_fft: cplx.paired(len / 2),
                twiddles: table(len),
                bins,
                second,
            });
        }
        paths.extend(second_paths);
        let out_len = n / hop;
        let max_len = first.iter().map(|f| f.len).max().unwrap_or(out_len);
        let max_len2 = first
            .iter()
            .flat_map(|f| f.second.iter().map(|s| s.len))
            .max()
            .unwrap_or(0);
        let max_bins = first.iter().map(|f| f.bins).max().unwrap_or(0);
        let out_ifft = cplx.forward(out_len);
        let rfft = real.plan_fft_forward(n);
        let scratch_len = first
            .iter()
            .flat_map(|f| {
                [f.half_fft.scratch_len()]
                    .into_iter()
                    .chain(f.second.iter().map(|s| s.half_fft.scratch_len()))
            })
            .chain([rfft.get_scratch_len(), out_ifft.get_inplace_scratch_len()])
            .max()
            .unwrap_or(0);
        Scattering {
            config: config.clone(),
            input_len,
            pad,
            hop,
            paths,
            phi,
            out_ifft,
            padded: vec![T::zero(); n],
            spectrum: rfft.make_output_vec(),
            rfft,
            band: zeroed(max_len),
            u1: zeroed(max_len / 2),
            u1_hat: zeroed(max_bins),
            band2: zeroed(max_len2),
            u2: zeroed(max_len2 / 2),
            u2_hat: zeroed(phi_reach + 1),
            out: zeroed(out_len),
            fft_scratch: zeroed(scratch_len),
            first,
            psi2,
        }
    }

    pub fn config(&self) -> &ScatteringConfig {
        &self.config
    }

    pub fn input_len(&self) -> usize {
        self.input_len
    }

    pub fn padding(&self) -> PaddingSpec {
        self.pad
    }

    /// Samples between output frames.
    pub fn hop(&self) -> usize {
        self.hop
    }

    /// The rows of the output, in order: S0, then S1 by decreasing frequency,
    /// then S2 grouped by first-order filter.
    pub fn paths(&self) -> &[Path] {
        &self.paths
    }

    pub fn n_frames(&self) -> usize {
        self.pad.n_frames
    }

    /// Transform one signal of the planned length.
    ///
    /// # Panics
    /// If `x.len()` differs from the planned length (a programming error: the
    /// pipeline plans per length).
    pub fn transform(&mut self, x: &[f32]) -> Coefficients {
        assert_eq!(
            x.len(),
            self.input_len,
            "signal length differs from the plan"
        );
        let Scattering {
            pad,
            paths,
            rfft,
            phi,
            out_ifft,
            first,
            psi2,
            padded,
            spectrum,
            band,
            u1,
            u1_hat,
            band2,
            u2,
            u2_hat,
            out,
            fft_scratch,
            ..
        } = self;
        let frames = pad.n_frames;
        let rows = paths.len();
        let mut data = vec![0.0f32; rows * frames];
        let n = pad.padded_len;
        // Inverse-FFT the folded low-pass spectrum in `out` into row `row`.
        let mut emit = |row: usize, out: &mut [Complex<T>], scratch: &mut [Complex<T>]| {
            out_ifft.process_with_scratch(out, scratch);
            for (d, o) in data[row * frames..(row + 1) * frames]
                .iter_mut()
                .zip(&out[pad.first_frame..pad.first_frame + frames])
            {
                *d = o.re.to_f32_lossy();
            }
        };

        reflect_pad(x, pad.pad_left, padded);
        rfft.process_with_scratch(padded, spectrum, fft_scratch)
            .expect("buffer sizes come from the plan");

        // Order 0: x * phi.
        let nt = T::of(n as f64);
        lowpass(spectrum, n, phi, out, T::one() / nt);
        emit(0, out, fft_scratch);

        let mut row2 = 1 + first.len();
        for (i1, f1) in first.iter().enumerate() {
            let len1 = f1.len;
            let k1 = nt / T::of(len1 as f64);
            // U1 = |x * psi1| sampled every n/len1 samples.
            let band = &mut band[..len1];
            fold_halves(
                spectrum,
                n,
                f1.psi.start,
                &f1.psi.values,
                &f1.twiddles,
                band,
            );
            // Even samples in band[..len1 / 2], odd ones after, each in the
            // plan's order: the modulus pairs them in place, and `low_bins`'
            // FFT reads that order.
            f1.half_fft.forward_scrambled(band, fft_scratch);
            let u1 = &mut u1[..len1 / 2];
            modulus(band, T::one() / nt, u1);
            let u1_hat = &mut u1_hat[..f1.bins];
            low_bins(u1, &*f1.half_fft, &f1.twiddles, fft_scratch, u1_hat);
            lowpass(u1_hat, len1, phi, out, k1 / nt);
            emit(1 + i1, out, fft_scratch);

            for s in &f1.second {
                let len2 = s.len;
                // U2 = |U1 * psi2| sampled every n/len2 samples.
                let band2 = &mut band2[..len2];
                fold_halves(
                    u1_hat,
                    len1,
                    s.start,
                    &psi2[s.i2].values[s.values.clone()],
                    &s.twiddles,
                    band2,
                );
                s.half_fft.forward_scrambled(band2, fft_scratch);
                let u2 = &mut u2[..len2 / 2];
                modulus(band2, k1 / nt, u2);
                low_bins(u2, &*s.half_fft, &s.twiddles, fft_scratch, u2_hat);
                let k2 = nt / T::of(len2 as f64);
                lowpass(u2_hat, len2, phi, out, k2 / nt);
                emit(row2, out, fft_scratch);
                row2 += 1;
            }
        }
        Coefficients { rows, frames, data }
    }

    /// `|x| * phi` on the output frames: the local loudness the normaliser
    /// divides order 1 by (the paper's `x * phi` is ~0 for zero-mean audio).
    pub fn envelope(&mut self, x: &[f32]) -> Vec<f32> {
        assert_eq!(
            x.len(),
            self.input_len,
            "signal length differs from the plan"
        );
        let abs: Vec<f32> = x.iter().map(|v| v.abs()).collect();
        reflect_pad(&abs, self.pad.pad_left, &mut self.padded);
        self.rfft
            .process_with_scratch(&mut self.padded, &mut self.spectrum, &mut self.fft_scratch)
            .expect("buffer sizes come from the plan");
        let n = self.pad.padded_len;
        let nt = T::of(n as f64);
        lowpass(&self.spectrum, n, &self.phi, &mut self.out, T::one() / nt);
        self.out_ifft
            .process_with_scratch(&mut self.out, &mut self.fft_scratch);
        let first = self.pad.first_frame;
        self.out[first..first + self.pad.n_frames]
            .iter()
            .map(|c| c.re.to_f32_lossy())
            .collect()
    }
}
