//! Constant-Q transform, the paper's second comparison front end (§5: 84
//! bins, hop 256, 1813 frames for 29 s at 16 kHz).
//!
//! Definition (ours, computed in the frequency domain):
//! - bin `b` has centre `f_b = f_min · 2^(b / B)` (`B` bins per octave; by
//!   default C1 = 32.70 Hz to B7 = 3951 Hz);
//! - its filter is an analytic band-pass, a Hann bump in frequency
//!   `H_b(f) = 1 + cos(π (f − f_b) / w_b)` for `|f − f_b| < w_b`, zero
//!   elsewhere and on negative frequencies, with `w_b = 2 f_b (2^(1/B) − 1)`:
//!   constant Q, the response falls to one half at the neighbouring bins'
//!   centres (librosa's Hann-windowed kernels fall to about one half there
//!   too) and the bumps of neighbouring bins sum to a nearly flat response;
//! - the output is `|x ⋆ h_b|` sampled at `t · hop`, i.e. frame `t` centred on
//!   sample `t · hop`, `1 + len / hop` frames (librosa's convention). A sine of
//!   amplitude `A` at a bin centre gives `A` in that bin (the peak of `H_b` is
//!   2 to count the negative frequency the filter drops);
//! - `⋆` is circular over a padded frame ([`Cqt::padding`]): `pad_left` =
//!   `4 / w_0` seconds (`w_0` the lowest bin's half-width, in Hz) rounded up
//!   to a multiple of the hop, then the signal, then reflection (numpy's
//!   `reflect`, repeated as needed) up to `padded_len`, the smallest multiple
//!   of the hop ≥ `len + 2 pad_left` whose number of hops is 5-smooth.
//!
//! Why that padding: the kernel's envelope has decayed to 6·10⁻⁴ of its peak
//! 4 / w seconds from its centre, so the wrap-around barely reaches the
//! frames. The padding still shapes the lowest bins in the first and last
//! second: with 16 times more reflection, values within 60 dB of a clip's
//! peak move by up to 3 % there (`cqt_padding_sensitivity` in the fixtures'
//! `meta.json`); everything else is fixed by the definition above.
//!
//! Computation: one real FFT of the padded signal; for each bin the product
//! `X · H_b` over the bump's support is folded onto `padded_len / hop`
//! frequencies (aliasing in frequency is sampling in time, so this gives the
//! exact samples at the frame times), then one inverse FFT of that small
//! length.
//!
//! It is not librosa's `cqt`, which uses time-domain Hann kernels normalised
//! differently (and scaled by the square root of their length) and recursive
//! downsampling; `tests/frontends.rs` checks ours against a float64 numpy
//! version of exactly this definition (within 5e-4 relative on values within
//! 60 dB of the peak; 9e-5 seen) and its peak bins on sines against
//! `librosa.cqt`.
//!
//! [`Cqt::transform`] gives `ln(LOG_OFFSET + |C|)` with [`LOG_OFFSET`] = 1e-5,
//! a floor at −100 dB relative to a full-scale sine; [`Cqt::magnitude`] the
//! linear magnitudes.
//!
//! As a [`FrontEndPlan`]: raw = the magnitudes, normalised = their log, every
//! row standardised. Settings and their validation: [`config`].

pub mod config;

pub use config::CqtConfig;

use super::coefficients::{Coefficients, RowInfo};
use super::front_end::{ConfigError, FrontEndPlan};
use super::signal::{is_5_smooth, reflect_pad};
use config::CQT_PAD_PERIODS;
use realfft::{RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Added to the magnitude before the logarithm in [`Cqt::transform`].
pub const LOG_OFFSET: f32 = 1e-5;

/// Where the signal sits in the padded FFT frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqtPadding {
    /// FFT length, a multiple of the hop with `padded_len / hop` 5-smooth.
    pub padded_len: usize,
    /// Samples of reflection before the signal, a multiple of the hop.
    pub pad_left: usize,
}

/// One band-pass: `values` on FFT bins `start..start + values.len()`.
struct BandPass {
    start: usize,
    values: Vec<f32>,
}

/// A CQT plan for inputs of one length: filters and FFT plans are built once,
/// scratch buffers reused.
pub struct Cqt {
    config: CqtConfig,
    input_len: usize,
    pad: CqtPadding,
    n_frames: usize,
    filters: Vec<BandPass>,
    centres: Vec<f64>,
    rfft: Arc<dyn RealToComplex<f32>>,
    ifft: Arc<dyn Fft<f32>>,
    padded: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    folded: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

impl Cqt {
    pub fn new(config: &CqtConfig, input_len: usize) -> Result<Self, ConfigError> {
        config.validate()?;
        let sr = config.sample_rate as f64;
        let f_min = config.f_min as f64;
        let ratio = config.ratio();
        let centres: Vec<f64> = (0..config.n_bins)
            .map(|b| f_min * ratio.powi(b as i32))
            .collect();
        let width = |f: f64| config.half_width(f);
        let hop = config.hop;
        let pad_blocks = (CQT_PAD_PERIODS * sr / width(f_min) / hop as f64).ceil() as usize;
        let pad_left = pad_blocks * hop;
        let mut blocks = (input_len + 2 * pad_left).div_ceil(hop);
        while !is_5_smooth(blocks) {
            blocks += 1;
        }
        let n = blocks * hop;

        let bin_hz = sr / n as f64;
        let nyquist_bin = n / 2;
        let filters = centres
            .iter()
            .map(|&f| {
                let w = width(f);
                let lo = (((f - w) / bin_hz).floor().max(0.0) as usize).min(nyquist_bin);
                let hi = (((f + w) / bin_hz).ceil() as usize).min(nyquist_bin);
                let values = (lo..=hi)
                    .map(|k| {
                        let d = (k as f64 * bin_hz - f) / w;
                        if d.abs() < 1.0 {
                            (1.0 + (std::f64::consts::PI * d).cos()) as f32
                        } else {
                            0.0
                        }
                    })
                    .collect();
                BandPass { start: lo, values }
            })
            .collect();

        let rfft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
        let ifft = FftPlanner::<f32>::new().plan_fft_inverse(blocks);
        let scratch_len = rfft.get_scratch_len().max(ifft.get_inplace_scratch_len());
        Ok(Cqt {
            config: config.clone(),
            input_len,
            pad: CqtPadding {
                padded_len: n,
                pad_left,
            },
            n_frames: 1 + input_len / hop,
            filters,
            centres,
            padded: vec![0.0; n],
            spectrum: rfft.make_output_vec(),
            folded: vec![Complex::default(); blocks],
            scratch: vec![Complex::default(); scratch_len],
            rfft,
            ifft,
        })
    }

    pub fn config(&self) -> &CqtConfig {
        &self.config
    }

    pub fn input_len(&self) -> usize {
        self.input_len
    }

    pub fn n_frames(&self) -> usize {
        self.n_frames
    }

    pub fn padding(&self) -> CqtPadding {
        self.pad
    }

    /// Centre frequency of each bin, Hz, ascending: one per row.
    pub fn centre_frequencies(&self) -> &[f64] {
        &self.centres
    }

    /// CQT magnitudes, `n_bins × frames`, row-major (bin-major).
    ///
    /// # Panics
    /// If `x.len()` differs from the planned length (a programming error: the
    /// pipeline plans per length).
    pub fn magnitude(&mut self, x: &[f32]) -> Coefficients {
        assert_eq!(
            x.len(),
            self.input_len,
            "signal length differs from the plan"
        );
        let n = self.pad.padded_len;
        let m = self.folded.len();
        let first = self.pad.pad_left / self.config.hop;
        let frames = self.n_frames;
        let rows = self.filters.len();
        reflect_pad(x, self.pad.pad_left, &mut self.padded);
        self.rfft
            .process_with_scratch(&mut self.padded, &mut self.spectrum, &mut self.scratch)
            .expect("buffer sizes come from the plan");
        let scale = 1.0 / n as f32;
        let mut data = vec![0.0f32; rows * frames];
        for (row, filter) in self.filters.iter().enumerate() {
            // Fold X·H onto m bins: the inverse FFT then gives the band-pass
            // signal at every hop-th sample.
            self.folded.fill(Complex::default());
            let mut dst = filter.start % m;
            for (z, &h) in self.spectrum[filter.start..].iter().zip(&filter.values) {
                self.folded[dst] += z * h;
                dst += 1;
                if dst == m {
                    dst = 0;
                }
            }
            self.ifft
                .process_with_scratch(&mut self.folded, &mut self.scratch);
            for (d, z) in data[row * frames..(row + 1) * frames]
                .iter_mut()
                .zip(&self.folded[first..first + frames])
            {
                *d = z.norm() * scale;
            }
        }
        Coefficients { rows, frames, data }
    }

    /// Log-magnitude CQT `ln(LOG_OFFSET + |C|)`, `n_bins × frames`.
    pub fn transform(&mut self, x: &[f32]) -> Coefficients {
        log_magnitude(self.magnitude(x))
    }
}

/// `ln(LOG_OFFSET + |C|)`, in place.
fn log_magnitude(mut c: Coefficients) -> Coefficients {
    for v in &mut c.data {
        *v = (LOG_OFFSET + *v).ln();
    }
    c
}

/// The log is the normaliser: every row is standardised.
impl FrontEndPlan for Cqt {
    fn input_len(&self) -> usize {
        self.input_len
    }

    fn rows(&self) -> Vec<RowInfo> {
        self.centres.iter().map(|&f| RowInfo::band(f)).collect()
    }

    fn raw(&mut self, x: &[f32]) -> Coefficients {
        self.magnitude(x)
    }

    fn normalise(&mut self, _x: &[f32], raw: Coefficients) -> Coefficients {
        log_magnitude(raw)
    }

    fn standardises(&self, _row: usize) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, amp: f64, len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / 16000.0).sin()) as f32)
            .collect()
    }

    #[test]
    fn default_bins_span_c1_to_b7() {
        let c = Cqt::new(&CqtConfig::default(), 16000).unwrap();
        let f = c.centre_frequencies();
        assert_eq!(f.len(), 84);
        assert!((f[0] - 32.7032).abs() < 1e-3);
        // A4 is 45 semitones above C1.
        assert!((f[45] - 440.0).abs() < 1e-3, "A4 {}", f[45]);
        assert!((f[83] - 3951.066).abs() < 1e-2);
    }

    #[test]
    fn sine_at_a_bin_centre_has_its_amplitude_there() {
        let len = 16000 * 3;
        let mut c = Cqt::new(&CqtConfig::default(), len).unwrap();
        for (bin, amp) in [(57usize, 0.5), (12, 0.25), (80, 1.0)] {
            let f = c.centre_frequencies()[bin];
            let out = c.magnitude(&tone(f, amp, len));
            assert_eq!(out.frames, 1 + len / 256);
            for t in [out.frames / 4, out.frames / 2] {
                let col: Vec<f32> = (0..out.rows).map(|r| out.row(r)[t]).collect();
                let peak = (0..out.rows)
                    .max_by(|&a, &b| col[a].total_cmp(&col[b]))
                    .unwrap();
                assert_eq!(peak, bin);
                let rel = (col[bin] as f64 - amp).abs() / amp;
                assert!(rel < 1e-3, "bin {bin}: {} vs {amp}", col[bin]);
                // Half-way between bins the neighbours respond about half.
                assert!(col[bin - 1] > 0.3 * amp as f32 && col[bin - 1] < 0.7 * amp as f32);
                // Two bins away: nothing (beyond the Hann bump).
                assert!(col[bin + 3] < 1e-3 * amp as f32, "{}", col[bin + 3]);
            }
        }
    }

    #[test]
    fn invalid_configs_are_errors() {
        let bad = [
            CqtConfig {
                hop: 0,
                ..CqtConfig::default()
            },
            CqtConfig {
                f_min: 0.0,
                ..CqtConfig::default()
            },
            CqtConfig {
                n_bins: 120,
                ..CqtConfig::default()
            },
            CqtConfig {
                bins_per_octave: 0,
                ..CqtConfig::default()
            },
            CqtConfig {
                f_min: f32::INFINITY,
                ..CqtConfig::default()
            },
            CqtConfig {
                f_min: 1e-9,
                ..CqtConfig::default()
            },
        ];
        for c in bad {
            assert!(Cqt::new(&c, 100).is_err(), "{c:?}");
        }
    }

    #[test]
    fn tiny_and_empty_inputs_give_finite_frames() {
        for len in [0, 1, 2, 255, 256, 257] {
            let mut c = Cqt::new(&CqtConfig::default(), len).unwrap();
            let out = c.transform(&tone(440.0, 0.5, len));
            assert_eq!(out.frames, 1 + len / 256, "len {len}");
            assert_eq!(out.rows, 84);
            assert!(out.data.iter().all(|v| v.is_finite()));
        }
    }
}
