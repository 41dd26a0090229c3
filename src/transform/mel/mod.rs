//! Log-mel spectrogram, the paper's first comparison front end (§5: 96 bands,
//! hop 256 at 16 kHz, 1813 frames for 29 s).
//!
//! It is librosa's `melspectrogram` with its defaults except the padding:
//! - periodic Hann window of `n_fft` samples, frames centred on sample
//!   `t * hop` (librosa's `center=True`) with the signal reflected at both
//!   ends (`pad_mode="reflect"`, numpy semantics: the edge sample is not
//!   repeated; librosa ≥ 0.10 defaults to zero padding instead), so there are
//!   `1 + len / hop` frames;
//! - power spectrogram `|STFT|²`, unscaled (a full-scale sine has power
//!   `(n_fft / 4)²` in its bin);
//! - Slaney's mel scale (linear below 1 kHz, logarithmic above) with `n_mels`
//!   triangles whose edges are equally spaced in mel between `f_min` and
//!   `f_max`, each scaled to unit area (`norm="slaney"`).
//!
//! [`Mel::power`] gives these mel powers; [`Mel::transform`] gives their log,
//! `ln(LOG_OFFSET + power)` with [`LOG_OFFSET`] = 1e-6. The offset is fixed
//! (not relative to the clip's maximum, unlike `power_to_db(ref=np.max)`), so
//! a quiet clip stays quiet: a full-scale 1 kHz sine gives a mel power of
//! about 4.6·10² (librosa agrees), silence gives ln(1e-6) ≈ −13.8, a floor 87 dB
//! below it.
//! `tests/frontends.rs` checks the powers against librosa 0.11 (within 5e-4
//! relative on values within 60 dB of the peak; 2e-5 seen).
//!
//! As a [`FrontEndPlan`]: raw = the powers, normalised = their log, every row
//! standardised. Settings and their validation: [`config`].

pub mod config;

pub use config::MelConfig;

use super::coefficients::{Coefficients, RowInfo};
use super::front_end::{ConfigError, FrontEndPlan};
use super::signal::reflect_pad;
use realfft::{RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex;
use std::sync::Arc;

/// Added to the mel power before the logarithm in [`Mel::transform`].
pub const LOG_OFFSET: f32 = 1e-6;

/// Slaney's mel scale (librosa `hz_to_mel(htk=False)`).
pub fn hz_to_mel(hz: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / (6.4f64.ln() / 27.0)
    } else {
        hz / F_SP
    }
}

/// Inverse of [`hz_to_mel`].
pub fn mel_to_hz(mel: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * ((6.4f64.ln() / 27.0) * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// One mel triangle: weights on the FFT bins `start..start + weights.len()`.
struct Band {
    start: usize,
    weights: Vec<f32>,
}

/// A log-mel plan for inputs of one length: window, filter bank and FFT plan
/// are built once, scratch buffers reused.
pub struct Mel {
    config: MelConfig,
    input_len: usize,
    n_frames: usize,
    window: Vec<f32>,
    bands: Vec<Band>,
    centres: Vec<f64>,
    edges: Vec<f64>,
    fft: Arc<dyn RealToComplex<f32>>,
    padded: Vec<f32>,
    frame: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    power: Vec<f32>,
    scratch: Vec<Complex<f32>>,
}

impl Mel {
    pub fn new(config: &MelConfig, input_len: usize) -> Result<Self, ConfigError> {
        config.validate()?;
        let (f_min, f_max) = (config.f_min as f64, config.f_max as f64);
        let n_fft = config.n_fft;
        // Periodic Hann (scipy `get_window("hann", n_fft, fftbins=True)`).
        let window = (0..n_fft)
            .map(|i| {
                (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n_fft as f64).cos()) as f32
            })
            .collect();

        // Triangle edges equally spaced in mel; weights as librosa's
        // `filters.mel(norm="slaney")`.
        let n_bins = n_fft / 2 + 1;
        let (m_lo, m_hi) = (hz_to_mel(f_min), hz_to_mel(f_max));
        let n_edges = config.n_mels + 2;
        let edges: Vec<f64> = (0..n_edges)
            .map(|i| mel_to_hz(m_lo + (m_hi - m_lo) * i as f64 / (n_edges - 1) as f64))
            .collect();
        let bin_hz = config.sample_rate as f64 / n_fft as f64;
        let bands = (0..config.n_mels)
            .map(|m| {
                let (lo, mid, hi) = (edges[m], edges[m + 1], edges[m + 2]);
                let enorm = 2.0 / (hi - lo);
                let w: Vec<f32> = (0..n_bins)
                    .map(|k| {
                        let f = k as f64 * bin_hz;
                        let rise = (f - lo) / (mid - lo);
                        let fall = (hi - f) / (hi - mid);
                        (rise.min(fall).max(0.0) * enorm) as f32
                    })
                    .collect();
                let start = w.iter().position(|&v| v > 0.0).unwrap_or(0);
                let end = w.iter().rposition(|&v| v > 0.0).map_or(start, |e| e + 1);
                Band {
                    start,
                    weights: w[start..end].to_vec(),
                }
            })
            .collect();

        // Centred frames: `n_fft / 2` samples of reflection on each side.
        let half = n_fft / 2;
        let padded_len = (input_len + 2 * half).max(n_fft);
        let n_frames = 1 + (padded_len - n_fft) / config.hop;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n_fft);
        Ok(Mel {
            config: config.clone(),
            input_len,
            n_frames,
            window,
            bands,
            centres: edges[1..=config.n_mels].to_vec(),
            edges,
            padded: vec![0.0; padded_len],
            frame: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            power: vec![0.0; n_bins],
            scratch: fft.make_scratch_vec(),
            fft,
        })
    }

    pub fn config(&self) -> &MelConfig {
        &self.config
    }

    pub fn input_len(&self) -> usize {
        self.input_len
    }

    pub fn n_frames(&self) -> usize {
        self.n_frames
    }

    /// Centre (peak) frequency of each band, Hz, ascending: one per row.
    pub fn centre_frequencies(&self) -> &[f64] {
        &self.centres
    }

    /// Band edges, Hz: band `m` spans `edges[m]..edges[m + 2]`.
    pub fn band_edges(&self) -> &[f64] {
        &self.edges
    }

    /// Mel power spectrogram, `n_mels × frames`, row-major (band-major).
    ///
    /// # Panics
    /// If `x.len()` differs from the planned length (a programming error: the
    /// pipeline plans per length).
    pub fn power(&mut self, x: &[f32]) -> Coefficients {
        assert_eq!(
            x.len(),
            self.input_len,
            "signal length differs from the plan"
        );
        let n_fft = self.config.n_fft;
        let hop = self.config.hop;
        let frames = self.n_frames;
        let rows = self.bands.len();
        reflect_pad(x, n_fft / 2, &mut self.padded);
        let mut data = vec![0.0f32; rows * frames];
        for t in 0..frames {
            let seg = &self.padded[t * hop..t * hop + n_fft];
            for ((f, s), w) in self.frame.iter_mut().zip(seg).zip(&self.window) {
                *f = s * w;
            }
            self.fft
                .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.scratch)
                .expect("buffer sizes come from the plan");
            for (p, z) in self.power.iter_mut().zip(&self.spectrum) {
                *p = z.norm_sqr();
            }
            for (m, band) in self.bands.iter().enumerate() {
                let p = &self.power[band.start..band.start + band.weights.len()];
                data[m * frames + t] = p.iter().zip(&band.weights).map(|(a, b)| a * b).sum();
            }
        }
        Coefficients { rows, frames, data }
    }

    /// Log-mel spectrogram `ln(LOG_OFFSET + power)`, `n_mels × frames`.
    pub fn transform(&mut self, x: &[f32]) -> Coefficients {
        log_power(self.power(x))
    }
}

/// `ln(LOG_OFFSET + power)`, in place.
fn log_power(mut c: Coefficients) -> Coefficients {
    for v in &mut c.data {
        *v = (LOG_OFFSET + *v).ln();
    }
    c
}

/// The log is the normaliser: every row is standardised.
impl FrontEndPlan for Mel {
    fn input_len(&self) -> usize {
        self.input_len
    }

    fn rows(&self) -> Vec<RowInfo> {
        self.centres.iter().map(|&f| RowInfo::band(f)).collect()
    }

    fn raw(&mut self, x: &[f32]) -> Coefficients {
        self.power(x)
    }

    fn normalise(&mut self, _x: &[f32], raw: Coefficients) -> Coefficients {
        log_power(raw)
    }

    fn standardises(&self, _row: usize) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_round_trips_and_is_linear_below_1khz() {
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(200.0) - 3.0).abs() < 1e-12);
        for hz in [0.0, 123.0, 999.0, 1000.0, 2500.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9 * (1.0 + hz));
        }
    }

    #[test]
    fn triangles_partition_unity_between_the_outer_centres() {
        let cfg = MelConfig::default();
        let mel = Mel::new(&cfg, 1000).unwrap();
        let (centres, edges) = (mel.centre_frequencies(), mel.band_edges());
        assert_eq!(centres.len(), 96);
        assert!(centres.windows(2).all(|w| w[0] < w[1]));
        assert!(edges[0] == 0.0 && (edges[97] - 8000.0).abs() < 1e-6);
        assert!(mel.bands.iter().all(|b| !b.weights.is_empty()));
        // Undo the Slaney scaling 2 / (hi - lo): adjacent triangles sharing
        // their edges then sum to 1 at every FFT bin between the first and the
        // last centre (and each peaks at its own centre).
        let bin_hz = 16000.0 / 512.0;
        let mut sum = vec![0.0f64; 257];
        for (m, b) in mel.bands.iter().enumerate() {
            let scale = (edges[m + 2] - edges[m]) / 2.0;
            for (i, w) in b.weights.iter().enumerate() {
                sum[b.start + i] += *w as f64 * scale;
            }
        }
        let mut checked = 0;
        for (k, s) in sum.iter().enumerate() {
            let f = k as f64 * bin_hz;
            if f >= centres[0] && f <= centres[95] {
                assert!((s - 1.0).abs() < 1e-6, "bin {k} ({f} Hz): {s}");
                checked += 1;
            }
        }
        assert!(checked > 240, "{checked}");
    }

    #[test]
    fn full_scale_sine_level_is_as_documented() {
        let n = 32000;
        let x: Vec<f32> = (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 16000.0).sin() as f32)
            .collect();
        let mut mel = Mel::new(&MelConfig::default(), n).unwrap();
        let p = mel.power(&x);
        let peak = (0..p.rows).map(|r| p.row(r)[60]).fold(0.0f32, f32::max);
        // librosa 0.11 gives 458.18 for the same sine and parameters.
        assert!((peak - 458.18).abs() < 0.05, "{peak}");
    }

    #[test]
    fn invalid_configs_are_errors() {
        let bad = [
            MelConfig {
                hop: 0,
                ..MelConfig::default()
            },
            MelConfig {
                f_max: 9000.0,
                ..MelConfig::default()
            },
            MelConfig {
                f_min: f32::NAN,
                ..MelConfig::default()
            },
            MelConfig {
                n_mels: 0,
                ..MelConfig::default()
            },
            MelConfig {
                n_fft: 1,
                ..MelConfig::default()
            },
        ];
        for c in bad {
            assert!(Mel::new(&c, 100).is_err(), "{c:?}");
        }
    }

    #[test]
    fn tiny_and_empty_inputs_give_finite_frames() {
        for len in [0, 1, 2, 255, 256, 257] {
            let mut mel = Mel::new(&MelConfig::default(), len).unwrap();
            let x: Vec<f32> = (0..len).map(|i| (i as f32 * 0.3).sin()).collect();
            let c = mel.transform(&x);
            assert_eq!(c.frames, 1 + len / 256, "len {len}");
            assert_eq!(c.rows, 96);
            assert!(c.data.iter().all(|v| v.is_finite()));
        }
    }
}
